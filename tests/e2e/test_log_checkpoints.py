"""Signed log checkpoints on the public read API: the key, and the head as the read side
applied it, signed; the signature verifies with the published key and the hash is the
stored event's."""

from __future__ import annotations

import asyncpg
import orjson
import pytest
from e2e_helpers import E2E, assert_problem, read_seq, register_developer, root_token

from libs.eventlog.signing import CheckpointInvalid, check_signature, parse, read_public_key


async def stored_hash(reg: E2E, seq: int) -> str:
    conn = await asyncpg.connect(reg.dsn)
    try:
        body = await conn.fetchval(
            "SELECT body FROM log.events WHERE registry = $1 AND seq = $2",
            reg.settings.registry,
            seq,
        )
    finally:
        await conn.close()
    return str(orjson.loads(body)["hash"])


async def test_the_public_checkpoint_is_the_applied_head_signed(registry: E2E) -> None:
    r = await registry.client.get("/v1/public/log/key")
    assert r.status_code == 200, r.text
    key_info = r.json()
    assert key_info["algorithm"] == "Ed25519"
    key = read_public_key(key_info["public_key"])

    seq0 = await read_seq(registry)
    r = await registry.client.get("/v1/public/log/checkpoint")
    assert r.status_code == 200, r.text
    first = parse(r.content)
    assert first.seq == seq0 == int(r.headers["X-Registry-Seq"])
    assert first.registry == registry.settings.registry
    assert first.key_id == key_info["key_id"]
    assert first.hash == await stored_hash(registry, first.seq)
    check_signature(first, key)

    # After a command, a caller can ask for a checkpoint that covers it.
    developer = await register_developer(registry, await root_token(registry))
    r = await registry.client.get("/v1/public/log/checkpoint", params={"min_seq": developer.seq})
    later = parse(r.content)
    assert later.seq >= developer.seq > first.seq
    assert later.hash == await stored_hash(registry, later.seq)
    check_signature(later, key)
    # A checkpoint edited to claim another head does not verify.
    forged = orjson.loads(r.content)
    forged["hash"] = first.hash
    with pytest.raises(CheckpointInvalid, match="does not verify"):
        check_signature(parse(orjson.dumps(forged)), key)


async def test_without_a_signing_key_the_checkpoint_is_refused_clearly(registry: E2E) -> None:
    registry.running.query_deps.signing_key = None
    assert_problem(await registry.client.get("/v1/public/log/checkpoint"), 503, "log.unsigned")
    assert_problem(await registry.client.get("/v1/public/log/key"), 503, "log.unsigned")

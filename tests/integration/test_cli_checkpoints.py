"""`registry checkpoint` signs the verified head; `registry verify --checkpoint` later catches
a log cut short (which still chains) and refuses a forged or foreign checkpoint."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg
import orjson
import pytest

from libs.eventlog.signing import new_private_key_text, parse
from tests.integration.harness import run_cli
from tests.integration.test_projector_and_replay import fill_embedded_log

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, args, env)


async def test_a_signed_checkpoint_catches_a_log_cut_short(
    fresh_db: str, unique_registry: str, tmp_path: Path
) -> None:
    reg = unique_registry
    last = await fill_embedded_log(fresh_db, reg, n=10)  # 15 events
    env = {
        "DATABASE_URL": fresh_db,
        "REGISTRY_REGISTRY": reg,
        "REGISTRY_SIGNING_KEY": new_private_key_text(),
    }
    signed = await run(["checkpoint"], env)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    cp = parse(signed.stdout.strip().splitlines()[-1])
    assert (cp.registry, cp.seq) == (reg, last)
    path = tmp_path / "checkpoint.json"
    path.write_bytes(orjson.dumps(cp.to_json()))

    ok = await run(["verify", "--checkpoint", str(path)], env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "signed checkpoints checked: 1" in ok.stdout

    key = await run(["signing-key"], env)
    assert key.returncode == 0, key.stderr
    assert f"(key id {cp.key_id})" in key.stdout

    # The last two events disappear: what is left still chains...
    conn = await asyncpg.connect(fresh_db)
    try:
        await conn.execute("ALTER TABLE log.events DISABLE TRIGGER events_append_only")
        await conn.execute("DELETE FROM log.events WHERE registry = $1 AND seq > $2", reg, last - 2)
    finally:
        await conn.close()
    plain = await run(["verify"], env)
    assert plain.returncode == 0, plain.stdout
    # ...but not to the head that was signed.
    caught = await run(["verify", "--checkpoint", str(path)], env)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert f"ends at seq {last - 2}, before seq {last}" in caught.stdout
    assert "cut short" in caught.stdout

    # A checkpoint edited to match the shorter log does not verify.
    edited = {**cp.to_json(), "seq": last - 2}
    path.write_bytes(orjson.dumps(edited))
    forged = await run(["verify", "--checkpoint", str(path)], env)
    assert forged.returncode == 1
    assert "INVALID checkpoint" in forged.stdout
    assert "does not verify" in forged.stdout
    # Nor does one checked against another registry's key.
    path.write_bytes(orjson.dumps(cp.to_json()))
    other_key = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
    foreign = await run(["verify", "--checkpoint", str(path), "--public-key", other_key], env)
    assert foreign.returncode == 1
    assert "signed by key" in foreign.stdout

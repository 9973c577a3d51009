"""Read-your-writes: ``min_seq`` waits (bounded) for the read models, or says they are behind."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from e2e_helpers import (
    E2E,
    assert_problem,
    bearer,
    developer_body,
    login,
    read_seq,
    root_token,
)

FAR_FUTURE = 10**12


async def test_min_seq_in_the_future_is_503_read_behind(registry: E2E) -> None:
    client = registry.client
    headers = bearer(await root_token(registry))
    current = await read_seq(registry)

    for path, auth in [("/v1/programmes", headers), ("/v1/registry", {})]:
        t0 = time.monotonic()
        r = await client.get(path, params={"min_seq": FAR_FUTURE, "wait_ms": 200}, headers=auth)
        elapsed = time.monotonic() - t0
        problem = assert_problem(r, 503, "read.behind")
        assert problem["seq"] == current
        assert problem["min_seq"] == FAR_FUTURE
        assert 0.19 <= elapsed < 1.5, elapsed

    # wait_ms=0 answers at once; a min_seq already applied answers with data.
    t0 = time.monotonic()
    r = await client.get(
        "/v1/programmes", params={"min_seq": FAR_FUTURE, "wait_ms": 0}, headers=headers
    )
    assert_problem(r, 503, "read.behind")
    assert time.monotonic() - t0 < 1.0
    r = await client.get("/v1/programmes", params={"min_seq": current}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["seq"] == current


async def test_min_seq_waits_for_a_write_that_lands_meanwhile(registry: E2E) -> None:
    """A read for the next seq, sent before the write, answers as soon as it is applied."""
    client = registry.client
    root = await root_token(registry)
    current = await read_seq(registry)
    body = developer_body()

    read = asyncio.create_task(
        client.get(
            "/v1/organisations",
            params={"min_seq": current + 2, "wait_ms": 5000},
            headers=bearer(root),
        )
    )
    await asyncio.sleep(0.1)
    assert not read.done()
    r = await client.post("/v1/organisations", json=body, headers=bearer(root))
    assert r.status_code == 201, r.text
    assert r.json()["seq"] == current + 2
    page = await asyncio.wait_for(read, 5)
    assert page.status_code == 200, page.text
    assert page.json()["seq"] >= current + 2
    assert body["tax_id"] in {o["tax_id"] for o in page.json()["data"]}


async def test_new_user_reading_with_min_seq_waits_for_its_own_creation(registry: E2E) -> None:
    client = registry.client
    root = await root_token(registry)
    # Hold the projector back, as a busy projector would be: take the read-model writer
    # lock (projector_service/runner.py WRITER_LOCK) in a transaction for a moment.
    conn = await asyncpg.connect(registry.dsn)
    tx = conn.transaction()
    await tx.start()
    await conn.execute(
        "SELECT pg_advisory_xact_lock(7310003, hashtext($1))", registry.running.query_deps.schema
    )

    async def release_soon() -> None:
        await asyncio.sleep(0.3)
        await tx.rollback()
        await conn.close()

    releaser: asyncio.Task[None] | None = None
    try:
        body = developer_body()
        r = await client.post("/v1/organisations", json=body, headers=bearer(root))
        assert r.status_code == 201, r.text
        seq = r.json()["seq"]
        admin = await login(client, body["admin"]["email"], r.json()["admin_initial_password"])
        releaser = asyncio.create_task(release_soon())
        r = await client.get(
            "/v1/users", params={"min_seq": seq, "wait_ms": 3000}, headers=bearer(admin)
        )
        assert r.status_code == 200, r.text
        assert [u["email"] for u in r.json()["data"]] == [body["admin"]["email"]]
    finally:
        if releaser is None:
            await tx.rollback()
            await conn.close()
        else:
            await releaser

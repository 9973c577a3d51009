"""Replay: rebuild every read model from seq 0 into a fresh schema, then switch atomically.

Queries keep being served from the live schema while the new one is built. The switch takes
the projector's writer lock, catches the new schema up to the end of the log, renames it into
place and drops the old one, all in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg

from libs.eventlog.ports import EventSource
from projector_service.runner import WRITER_LOCK, Checkpoint, apply_batch, read_checkpoint
from projector_service.schema import create_schema

Progress = Callable[[int, int], None]


async def _fill(
    conn: asyncpg.Connection,
    source: EventSource,
    schema: str,
    start: Checkpoint,
    end: int,
    batch_size: int,
    progress: Progress | None,
) -> Checkpoint:
    cp = start
    await source.seek(cp.next_position)
    while cp.next_position < end:
        records = await source.next_batch(batch_size, 0.5)
        if not records:
            break
        cp = await apply_batch(conn, schema, records)
        if progress is not None:
            progress(cp.next_position, end)
    return cp


async def rebuild(
    dsn: str,
    source: EventSource,
    live: str,
    *,
    batch_size: int = 20_000,
    progress: Progress | None = None,
    switch: bool = True,
) -> tuple[str, Checkpoint, float]:
    """Rebuild into ``<live>__build``; if ``switch``, rename it to ``live`` atomically.

    Returns the schema now holding the rebuilt models, its checkpoint, and events/s.
    """
    build = f"{live}__build"
    old = f"{live}__old"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {build} CASCADE")
        await create_schema(conn, build)
        t0 = time.perf_counter()
        end = await source.end_position()
        cp = await _fill(conn, source, build, Checkpoint(0, 0, "0" * 64), end, batch_size, progress)
        elapsed = time.perf_counter() - t0
        rate = cp.last_seq / elapsed if elapsed > 0 else 0.0
        if not switch:
            return build, cp, rate
        async with conn.transaction():
            await conn.execute(WRITER_LOCK, live)
            # Catch up with whatever the live projector committed meanwhile.
            end = await source.end_position()
            cp = await _fill(conn, source, build, cp, end, batch_size, None)
            await conn.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")
            exists = await conn.fetchval(
                "SELECT count(*) FROM pg_namespace WHERE nspname = $1", live
            )
            if exists:
                await conn.execute(f"ALTER SCHEMA {live} RENAME TO {old}")
            await conn.execute(f"ALTER SCHEMA {build} RENAME TO {live}")
            await conn.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")
        return live, await read_checkpoint(conn, live), rate
    finally:
        await conn.close()

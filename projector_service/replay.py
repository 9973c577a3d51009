"""Replay: rebuild every read model from seq 0 into a fresh schema, then switch atomically.

Queries keep being served from the live schema while the new one is built:

1. ``<live>__build`` gets the tables without indexes (but for a few whose keys arrive in
   order, ``EARLY_INDEXES``).
2. The log is read in large batches, the next batch while the current one is folded. Each
   event must be the next seq and name the previous event's hash (``decode``; with
   ``verify_hashes`` every hash is recomputed too). Its writes (``projections``) are applied
   to rows held in memory (``fold``), in this process and, for large logs, for a share of
   the programmes in a second one (``replay_worker``). Rows no later event can change (the
   timeline, AEF actions, closed block versions, the clock) are streamed to PostgreSQL by
   COPY while the next events are folded; the rest is copied once at the end.
3. The other indexes are built, two at a time (autovacuum analyses the new tables).
4. The switch takes the projector's writer lock, catches the new schema up to the end of
   the log through the live path, renames it into place and drops the old one, all in one
   transaction.

The result is byte-equal to what the live projector builds: both apply the same writes with
the same ``fold`` rules, and tests compare both with the SQL reference engine.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

import asyncpg
import structlog

from libs.eventlog.ports import EventSource, RawRecord
from projector_service.bulk import CHUNK, SESSION_SETTINGS, CopyWriter, breathe, fold, no_gc
from projector_service.decode import START, Checkpoint, decode_batch
from projector_service.fold import Store
from projector_service.projections.history import event_time
from projector_service.projections.view import EventView
from projector_service.replay_worker import HERE, THERE, Helper, route
from projector_service.runner import (
    WRITER_LOCK,
    apply_batch,
    read_checkpoint,
    write_checkpoint,
)
from projector_service.schema import MODEL_VERSION, create_schema, index_statements, schema_version

log = structlog.get_logger("replay")

Progress = Callable[[int, int], None]

# Events whose final rows are handed to the COPY writer at once.
HANDOVER = 10_000
INDEX_SESSIONS = 2
# Indexes whose keys arrive in (nearly) ascending order: built before the fill, they are
# maintained cheaply by PostgreSQL while Python folds (its core is otherwise idle then).
# Every other index is built after the fill. The new tables are analysed by autovacuum.
EARLY_INDEXES = frozenset(
    {
        "programme_timeline_pkey",
        "timeline_type",
        "event_times_pkey",
        "event_times_at",
        "aef_actions_pkey",
        "aef_actions_at",
        "aef_actions_type",
        "history_frozen",  # partial: rows not frozen cost nothing to maintain
    }
)
# From this many events on, a second process folds a share of the programmes
# (``replay_worker``). It is forked (a few milliseconds to start), but it decodes its events a
# second time: on the benchmark's 50k-event log it was no faster than one process (about
# 33,000 events/s either way, PostgreSQL taking the rest of the two CPUs), so not below this.
PARALLEL_MIN_EVENTS = 100_000


class _Prefetch:
    """Reads the next batch from the log while the current one is folded."""

    def __init__(self, source: EventSource, batch_size: int, end: int) -> None:
        self._queue: asyncio.Queue[list[RawRecord]] = asyncio.Queue(2)
        self._task = asyncio.create_task(self._run(source, batch_size, end))

    async def _run(self, source: EventSource, batch_size: int, end: int) -> None:
        await source.seek(0)
        while True:
            records = await source.next_batch(batch_size, 0.5)
            await self._queue.put(records)
            if not records or records[-1].position + 1 >= end:
                return

    async def next(self) -> list[RawRecord]:
        if self._task.done() and self._queue.empty():
            self._task.result()  # re-raise the reader's failure, if any
            return []
        return await self._queue.get()

    def cancel(self) -> None:
        self._task.cancel()


async def _fast_fill(
    dsn: str,
    conn: asyncpg.Connection,
    writer_conn: asyncpg.Connection,
    source: EventSource,
    schema: str,
    end: int,
    batch_size: int,
    progress: Progress | None,
    verify_hashes: bool,
    parallel: bool,
) -> Checkpoint:
    store = Store()
    cp = START
    writer = CopyWriter(writer_conn, schema)
    helper = await Helper.start(dsn, schema) if parallel else None
    reader = _Prefetch(source, batch_size, end)
    try:
        with no_gc():
            while cp.next_position < end:
                records = await reader.next()
                if not records:
                    break
                for i in range(0, len(records), CHUNK):
                    raws: list[bytes] = []
                    views, cp = decode_batch(
                        records[i : i + CHUNK],
                        cp,
                        validate=False,
                        verify_hashes=verify_hashes,
                        raws=raws,
                    )
                    if helper is None:
                        fold(store, views)
                    else:
                        here: list[EventView] = []
                        for env, raw in zip(views, raws, strict=True):
                            where = route(env.type, env.payload)
                            if where != THERE:
                                here.append(env)
                            if where != HERE:
                                helper.add(raw)
                        # The log clock of every event, in log order (no other write reads it).
                        store.apply(map(event_time, views))
                        fold(store, here, clock=False)
                        await helper.send()
                    if (i + CHUNK) % HANDOVER == 0:
                        await writer.put(store.take_final())
                    await breathe()
                await writer.put(store.take_final())
                if progress is not None:
                    progress(cp.next_position, end)
            await writer.put(store.take_all())
            if helper is not None:
                await helper.finish()
            await writer.close()
    except BaseException:
        writer.cancel()
        reader.cancel()
        if helper is not None:
            helper.kill()
        raise
    reader.cancel()
    await write_checkpoint(conn, schema, cp)
    return cp


def _index_name(statement: str) -> str:
    return statement.split(" ON ", 1)[0].split()[-1]


async def _build_indexes(dsn: str, schema: str, names: frozenset[str] | None = None) -> None:
    """Build the schema's indexes (only ``names`` if given), two sessions side by side,
    largest tables first."""
    statements = [
        st for st in index_statements(schema) if names is None or _index_name(st) in names
    ]
    if names is None:
        statements = [st for st in statements if _index_name(st) not in EARLY_INDEXES]
    heavy = ["credit_block_history", "programme_timeline", "credit_blocks", "credit_requests"]
    statements.sort(key=lambda st: next((i for i, t in enumerate(heavy) if f".{t} " in st), 99))
    conns = [await asyncpg.connect(dsn) for _ in range(INDEX_SESSIONS)]
    try:
        for c in conns:
            await c.execute(SESSION_SETTINGS)

        async def run(c: asyncpg.Connection, stmts: list[str]) -> None:
            for stmt in stmts:
                await c.execute(stmt)

        await asyncio.gather(*(run(c, statements[i :: len(conns)]) for i, c in enumerate(conns)))
    finally:
        for c in conns:
            await c.close()


async def catch_up(
    conn: asyncpg.Connection,
    source: EventSource,
    schema: str,
    start: Checkpoint,
    end: int,
    batch_size: int,
) -> Checkpoint:
    """Apply to ``schema`` what the log holds from ``start`` up to position ``end``."""
    cp = start
    await source.seek(cp.next_position)
    while cp.next_position < end:
        records = await source.next_batch(batch_size, 0.5)
        if not records:
            break
        cp = await apply_batch(conn, schema, records)
    return cp


async def rebuild(
    dsn: str,
    source: EventSource,
    live: str,
    *,
    batch_size: int = 50_000,
    progress: Progress | None = None,
    switch: bool = True,
    verify_hashes: bool = False,
    parallel: bool | None = None,
    into: str | None = None,
) -> tuple[str, Checkpoint, float]:
    """Rebuild into ``<live>__build`` (or ``into``); if ``switch``, rename it to ``live``
    atomically.

    Returns the schema now holding the rebuilt models, its checkpoint, and events/s (events
    replayed over the time to read, fold, write and index them; the switch excluded).

    Every event must be the next seq and name the previous event's hash; with
    ``verify_hashes`` each hash is also recomputed from the event's bytes (about a fifth
    slower). ``registry verify`` recomputes them all; the live projector did when it first
    applied each event.

    ``parallel`` folds a share of the programmes in a second process (``replay_worker``);
    by default it does from ``PARALLEL_MIN_EVENTS`` events on when there are two CPUs.
    """
    build = into or f"{live}__build"
    old = f"{live}__old"
    conn = await asyncpg.connect(dsn)
    writer_conn = await asyncpg.connect(dsn)
    try:
        await writer_conn.execute(SESSION_SETTINGS)
        await conn.execute(f"DROP SCHEMA IF EXISTS {build} CASCADE")
        await create_schema(conn, build, indexes=False)
        t0 = time.perf_counter()
        await _build_indexes(dsn, build, EARLY_INDEXES)
        end = await source.end_position()
        if parallel is None:
            parallel = end >= PARALLEL_MIN_EVENTS and (os.cpu_count() or 1) >= 2
        cp = await _fast_fill(
            dsn,
            conn,
            writer_conn,
            source,
            build,
            end,
            batch_size,
            progress,
            verify_hashes,
            parallel,
        )
        await _build_indexes(dsn, build)
        elapsed = time.perf_counter() - t0
        rate = cp.last_seq / elapsed if elapsed > 0 else 0.0
        if not switch:
            return build, cp, rate
        async with conn.transaction():
            await conn.execute(WRITER_LOCK, live)
            # Catch up with whatever the live projector committed meanwhile.
            end = await source.end_position()
            cp = await catch_up(conn, source, build, cp, end, batch_size)
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
        await writer_conn.close()
        await conn.close()


async def ensure_current(
    dsn: str, source: EventSource, live: str, *, progress: Progress | None = None
) -> bool:
    """Rebuild ``live`` if it holds read models of another version (after an upgrade);
    returns whether it did. Queries keep being served from the old schema until the switch.
    """
    conn = await asyncpg.connect(dsn)
    try:
        version = await schema_version(conn, live)
    finally:
        await conn.close()
    if version in (None, MODEL_VERSION):
        return False
    log.warning("read_models_outdated", schema=live, version=version, current=MODEL_VERSION)
    _, cp, rate = await rebuild(dsn, source, live, progress=progress)
    log.info("read_models_rebuilt", schema=live, seq=cp.last_seq, events_per_s=round(rate))
    return True

"""Replay: rebuild every read model from seq 0 into a fresh schema, then switch atomically.

Queries keep being served from the live schema while the new one is built:

1. ``<live>__build`` gets the tables, without any index.
2. The log is read in large batches; each event is checked (dense seq, hash chain; see
   ``decode``), projected to its writes, and the writes are applied to rows held in memory
   (``fold``). Rows no later event can change (timeline, AEF actions, closed block versions,
   the clock) are streamed to PostgreSQL by COPY on a second connection while the next
   batch is folded; the rest is copied once at the end.
3. The indexes are built (two at a time) and the tables analysed.
4. The switch takes the projector's writer lock, catches the new schema up to the end of
   the log through the live path, renames it into place and drops the old one, all in one
   transaction.

The result is byte-equal to what the live projector builds (both apply the same writes with
the same ``fold`` rules; tests compare them with the SQL reference too).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Iterator

import asyncpg

from libs.eventlog.ports import EventSource, RawRecord
from projector_service.decode import START, Checkpoint, ProjectionStopped, decode_batch
from projector_service.fold import FoldError, Record, Store, copy_rows
from projector_service.projections.catalogue import project
from projector_service.runner import (
    WRITER_LOCK,
    apply_batch,
    read_checkpoint,
    write_checkpoint,
)
from projector_service.schema import create_schema, index_statements

Progress = Callable[[int, int], None]

# Rows handed to the COPY writer per table and round (bounded memory, steady overlap).
QUEUE_DEPTH = 4
# Events folded between two chances for the reader and the COPY writer to run (each chance
# lets the writer send one buffer; fewer events would starve PostgreSQL of COPY data).
CHUNK = 250
# Events whose final rows are handed to the writer at once.
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
    }
)
# Sessions that only fill or index the build schema: its commits need not wait for the disk
# (the switch commits synchronously, and WAL order makes everything before it durable).
SESSION_SETTINGS = (
    "SET synchronous_commit = off; SET maintenance_work_mem = '256MB';"
    " SET max_parallel_maintenance_workers = 0"
)


class _CopyWriter:
    """COPYs batches of rows on its own connection while the caller keeps folding."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self._conn = conn
        self._schema = schema
        self._queue: asyncio.Queue[dict[str, list[Record]] | None] = asyncio.Queue(QUEUE_DEPTH)
        self._task = asyncio.create_task(self._run())
        self.rows = 0

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            for table, rows in item.items():
                await copy_rows(self._conn, self._schema, table, rows)
                self.rows += len(rows)

    async def put(self, item: dict[str, list[Record]]) -> None:
        if self._task.done():
            self._task.result()  # re-raise the writer's failure here
        if item:
            await self._queue.put(item)

    async def close(self) -> None:
        await self._queue.put(None)
        await self._task

    def cancel(self) -> None:
        self._task.cancel()


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


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Millions of long-lived rows make every cyclic-GC pass slower; none are cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _fast_fill(
    conn: asyncpg.Connection,
    writer_conn: asyncpg.Connection,
    source: EventSource,
    schema: str,
    end: int,
    batch_size: int,
    progress: Progress | None,
    verify_hashes: bool,
) -> Checkpoint:
    store = Store()
    cp = START
    writer = _CopyWriter(writer_conn, schema)
    reader = _Prefetch(source, batch_size, end)
    try:
        with _no_gc():
            while cp.next_position < end:
                records = await reader.next()
                if not records:
                    break
                for i in range(0, len(records), CHUNK):
                    views, cp = decode_batch(
                        records[i : i + CHUNK], cp, validate=False, verify_hashes=verify_hashes
                    )
                    for env in views:
                        try:
                            store.apply(project(env))
                        except (FoldError, LookupError, TypeError, ValueError) as exc:
                            raise ProjectionStopped(f"seq {env.seq} ({env.type}): {exc}") from exc
                    if (i + CHUNK) % HANDOVER == 0:
                        await writer.put(store.take_final())
                    await asyncio.sleep(0)  # let the reader and the writer move on
                await writer.put(store.take_final())
                if progress is not None:
                    progress(cp.next_position, end)
            await writer.put(store.take_all())
            await writer.close()
    except BaseException:
        writer.cancel()
        reader.cancel()
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


async def _catch_up(
    conn: asyncpg.Connection,
    source: EventSource,
    schema: str,
    start: Checkpoint,
    end: int,
    batch_size: int,
) -> Checkpoint:
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
) -> tuple[str, Checkpoint, float]:
    """Rebuild into ``<live>__build``; if ``switch``, rename it to ``live`` atomically.

    Returns the schema now holding the rebuilt models, its checkpoint, and events/s (events
    replayed over the time to read, fold, write and index them; the switch excluded).

    Every event must be the next seq and name the previous event's hash; with
    ``verify_hashes`` each hash is also recomputed from the event's bytes (about a fifth
    slower). ``registry verify`` recomputes them all; the live projector did when it first
    applied each event.
    """
    build = f"{live}__build"
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
        cp = await _fast_fill(
            conn, writer_conn, source, build, end, batch_size, progress, verify_hashes
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
            cp = await _catch_up(conn, source, build, cp, end, batch_size)
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

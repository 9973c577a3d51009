"""Bulk folding for replay: rows folded in memory, streamed to PostgreSQL by COPY while the
next events are folded (used by ``replay`` and by its second process, ``replay_worker``)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator, Sequence

import asyncpg

from projector_service.decode import ProjectionStopped
from projector_service.fold import FoldError, Record, Store, copy_rows
from projector_service.projections.catalogue import project
from projector_service.projections.history import EVENT_TIME
from projector_service.projections.view import EventView

# Rows handed to the COPY writer per table and round (bounded memory, steady overlap).
QUEUE_DEPTH = 4
# Events folded between two chances for the other tasks (reader, COPY writer) to run: each
# chance lets the writer send one buffer, so fewer would starve PostgreSQL of COPY data.
CHUNK = 250
# Sessions that only fill or index the build schema: its commits need not wait for the disk
# (the switch commits synchronously, and WAL order makes everything before it durable).
SESSION_SETTINGS = (
    "SET synchronous_commit = off; SET maintenance_work_mem = '256MB';"
    " SET max_parallel_maintenance_workers = 0"
)


class CopyWriter:
    """COPYs batches of rows on its own connection while the caller keeps folding."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self._conn = conn
        self._schema = schema
        self._queue: asyncio.Queue[dict[str, list[Record]] | None] = asyncio.Queue(QUEUE_DEPTH)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            for table, rows in item.items():
                await copy_rows(self._conn, self._schema, table, rows)

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


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Millions of long-lived rows make every cyclic-GC pass slower; none are cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def fold(store: Store, views: Sequence[EventView], *, clock: bool = True) -> None:
    """Apply the events' writes to ``store`` (without the log clock's if not ``clock``)."""
    for env in views:
        try:
            writes = project(env)
            if not clock:
                writes = [w for w in writes if w.sql != EVENT_TIME]
            store.apply(writes)
        except (FoldError, LookupError, TypeError, ValueError) as exc:
            raise ProjectionStopped(f"seq {env.seq} ({env.type}): {exc}") from exc


async def breathe() -> None:
    """Let the reader and the COPY writer run (they only move at an await)."""
    await asyncio.sleep(0)

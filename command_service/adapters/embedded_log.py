"""The embedded log: the same processor over append-only PostgreSQL tables.

Commands reach the processor through an in-process queue (``CommandQueue``); the processor
commits events and results in one PostgreSQL transaction, then wakes the callers waiting for
those results. Leadership is an epoch row: a newer processor fences the older one, whose
next commit fails with ``Fenced``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator

import asyncpg

from command_service.application.ports import (
    Batch,
    CommandRecord,
    Committed,
    Fenced,
    LogUnavailable,
    ResultTimeout,
    Snapshot,
)
from libs.eventlog.pg_log import channel, ensure_log_tables
from libs.eventlog.ports import RawRecord
from schemas.codec import encode_command
from schemas.envelope import CommandEnvelope, ResultEnvelope

READ_BATCH = 5000


class CommandQueue:
    """In-process hand-over from API to processor, with the reply futures."""

    def __init__(self, max_pending: int = 10_000) -> None:
        self._queue: asyncio.Queue[CommandEnvelope] = asyncio.Queue(max_pending)
        self._waiters: dict[str, deque[asyncio.Future[ResultEnvelope]]] = defaultdict(deque)
        self._position = 0
        # Taken by a processor but not yet committed; handed out again to the next leader.
        self._inflight: list[CommandRecord] = []
        self._redeliver: deque[CommandRecord] = deque()
        self._closed: str | None = None

    def close(self, reason: str) -> None:
        """No processor serves this queue any more: fail every waiter, refuse new commands."""
        self._closed = reason
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(LogUnavailable(reason))
        self._waiters.clear()

    async def submit(self, command: CommandEnvelope, timeout_s: float) -> ResultEnvelope:
        if self._closed is not None:
            raise LogUnavailable(self._closed)
        fut: asyncio.Future[ResultEnvelope] = asyncio.get_running_loop().create_future()
        self._waiters[command.command_id].append(fut)
        try:
            self._queue.put_nowait(command)
        except asyncio.QueueFull:
            self._forget(command.command_id, fut)
            raise LogUnavailable("the command queue is full") from None
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout_s)
        except TimeoutError:
            self._forget(command.command_id, fut)
            raise ResultTimeout(command.command_id) from None

    def _forget(self, command_id: str, fut: asyncio.Future[ResultEnvelope]) -> None:
        waiters = self._waiters.get(command_id)
        if waiters and fut in waiters:
            waiters.remove(fut)
            if not waiters:
                del self._waiters[command_id]

    async def take(self, max_records: int, timeout_s: float) -> list[CommandRecord]:
        records: list[CommandRecord] = []
        while self._redeliver and len(records) < max_records:
            records.append(self._redeliver.popleft())
        if not records:
            try:
                first = await asyncio.wait_for(self._queue.get(), timeout_s)
            except TimeoutError:
                return []
            out = [first]
            while len(out) < max_records and not self._queue.empty():
                out.append(self._queue.get_nowait())
            for env in out:
                self._position += 1
                records.append(CommandRecord(self._position, encode_command(env), env))
        self._inflight.extend(records)
        return records

    def ack(self, next_position: int) -> None:
        """Commands below ``next_position`` are committed: never hand them out again."""
        self._inflight = [r for r in self._inflight if r.position >= next_position]

    def redeliver_inflight(self) -> None:
        """A new leader takes over: what the old one took but never committed comes first."""
        self._redeliver.extendleft(reversed(self._inflight))
        self._inflight = []

    def deliver(self, result: ResultEnvelope) -> None:
        waiters = self._waiters.get(result.command_id)
        if not waiters:
            return
        fut = waiters.popleft()
        if not waiters:
            del self._waiters[result.command_id]
        if not fut.done():
            fut.set_result(result)


class EmbeddedCommandBus:
    def __init__(self, queue: CommandQueue) -> None:
        self._queue = queue

    async def submit(self, command: CommandEnvelope, timeout_s: float) -> ResultEnvelope:
        return await self._queue.submit(command, timeout_s)

    async def close(self) -> None:
        return None


class EmbeddedProcessorLog:
    def __init__(self, dsn: str, registry: str, queue: CommandQueue) -> None:
        self._dsn = dsn
        self._registry = registry
        self._queue = queue
        self._conn: asyncpg.Connection | None = None
        self._epoch = 0

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            try:
                self._conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                raise LogUnavailable(str(exc)) from exc
        return self._conn

    async def acquire(self) -> None:
        conn = await self._connection()
        await ensure_log_tables(conn)
        self._epoch = await conn.fetchval(
            "INSERT INTO log.leader (registry, epoch) VALUES ($1, 1)"
            " ON CONFLICT (registry) DO UPDATE SET epoch = log.leader.epoch + 1"
            " RETURNING epoch",
            self._registry,
        )
        self._queue.redeliver_inflight()

    async def latest_snapshot(self) -> Snapshot | None:
        conn = await self._connection()
        row = await conn.fetchrow(
            "SELECT seq, events_position, results_position, state FROM log.snapshots"
            " WHERE registry = $1 ORDER BY seq DESC LIMIT 1",
            self._registry,
        )
        if row is None:
            return None
        return Snapshot(
            row["seq"], row["events_position"], row["results_position"], bytes(row["state"])
        )

    async def read_events(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        conn = await self._connection()
        pos = from_position
        while True:
            rows = await conn.fetch(
                "SELECT seq, body FROM log.events WHERE registry = $1 AND seq >= $2"
                " ORDER BY seq LIMIT $3",
                self._registry,
                pos,
                READ_BATCH,
            )
            if not rows:
                return
            yield [RawRecord(r["seq"], bytes(r["body"])) for r in rows]
            pos = rows[-1]["seq"] + 1

    async def read_results(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        conn = await self._connection()
        pos = from_position
        while True:
            rows = await conn.fetch(
                "SELECT id, body FROM log.results WHERE registry = $1 AND id >= $2"
                " ORDER BY id LIMIT $3",
                self._registry,
                pos,
                READ_BATCH,
            )
            if not rows:
                return
            yield [RawRecord(r["id"], bytes(r["body"])) for r in rows]
            pos = rows[-1]["id"] + 1

    async def next_commands(self, max_records: int, timeout_s: float) -> list[CommandRecord]:
        return await self._queue.take(max_records, timeout_s)

    async def commit(self, batch: Batch) -> Committed:
        conn = await self._connection()
        try:
            async with conn.transaction():
                still_leader = await conn.fetchval(
                    "SELECT epoch = $2 FROM log.leader WHERE registry = $1 FOR UPDATE",
                    self._registry,
                    self._epoch,
                )
                if not still_leader:
                    raise Fenced(f"registry {self._registry}: a newer processor took over")
                if batch.events:
                    await conn.execute(
                        "INSERT INTO log.events (registry, seq, body)"
                        " SELECT $1, s, b FROM unnest($2::bigint[], $3::bytea[]) AS t(s, b)",
                        self._registry,
                        [e.seq for e, _ in batch.events],
                        [raw for _, raw in batch.events],
                    )
                    await conn.execute(
                        "SELECT pg_notify($1, $2)",
                        channel(self._registry),
                        str(batch.events[-1][0].seq),
                    )
                last_result_id = await conn.fetchval(
                    "WITH ins AS (INSERT INTO log.results (registry, command_id, body)"
                    " SELECT $1, c, b FROM unnest($2::text[], $3::bytea[]) AS t(c, b)"
                    " RETURNING id) SELECT max(id) FROM ins",
                    self._registry,
                    [r.command_id for r, _ in batch.results],
                    [raw for _, raw in batch.results],
                )
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            raise LogUnavailable(str(exc)) from exc
        self._queue.ack(batch.commands_next_position)
        for res, _ in batch.results:
            self._queue.deliver(res)
        events_next = batch.events[-1][0].seq + 1 if batch.events else -1
        return Committed(events_next, int(last_result_id or 0) + 1)

    async def write_snapshot(self, snapshot: Snapshot) -> None:
        conn = await self._connection()
        await conn.execute(
            "INSERT INTO log.snapshots (registry, seq, events_position, results_position, state)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            self._registry,
            snapshot.seq,
            snapshot.events_position,
            snapshot.results_position,
            snapshot.state,
        )

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

"""Applying batches of events to the read models, with the checkpoint in the same transaction.

Per batch: lock the checkpoint row, drop events at or below its seq (re-deliveries), refuse a
gap or a broken hash chain, project every event to its writes, apply them and move the
checkpoint. An event that cannot be applied raises ``ProjectionStopped``: the projector stops
loudly rather than skip it, because every later balance would be wrong. ``Projector.run``
then applies the good events before it, records it as a dead letter and halts without
exiting, trying it again with a growing delay (``projector_service.dead_letters``).

Two engines apply the writes. ``memory`` (the default) loads the rows the batch touches,
applies every write to them in memory (``projector_service.fold``) and writes back only the
net result by COPY: a batch of thousands of events costs a handful of round trips. ``sql``
runs each write's statement (grouped with ``executemany``): slower, and the reference the
memory engine is tested against.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import structlog

from libs.eventlog.ports import EventSource, RawRecord
from libs.observability.metrics import PROJECTOR_HALTED, PROJECTOR_LAG, PROJECTOR_SEQ
from libs.runtime import DeferredGC
from projector_service import dead_letters
from projector_service.decode import START, Checkpoint, ProjectionStopped, decode_batch
from projector_service.fold import FoldError, Store, flush, keys_to_load, load
from projector_service.projections.catalogue import project
from projector_service.projections.view import EventView
from projector_service.projections.writes import Write
from projector_service.schema import (
    MODEL_VERSION,
    ReadModelsOutdated,
    create_schema,
    schema_version,
)

__all__ = [
    "PROJECTION",
    "WRITER_LOCK",
    "Checkpoint",
    "Engine",
    "Prepared",
    "ProjectionStopped",
    "Projector",
    "apply_batch",
    "commit_prepared",
    "prepare",
    "read_checkpoint",
]

log = structlog.get_logger("projector")

PROJECTION = "main"
# One advisory lock per read-model schema: the live projector and replay's switch take it.
WRITER_LOCK = "SELECT pg_advisory_xact_lock(7310003, hashtext($1))"

Engine = Literal["memory", "sql"]


async def read_checkpoint(
    conn: asyncpg.Connection, schema: str, *, lock: bool = False
) -> Checkpoint:
    row = await conn.fetchrow(
        f"SELECT last_seq, next_position, last_hash FROM {schema}.checkpoints"
        f" WHERE projection = $1{' FOR UPDATE' if lock else ''}",
        PROJECTION,
    )
    if row is None:
        return START
    return Checkpoint(row["last_seq"], row["next_position"], row["last_hash"])


async def write_checkpoint(conn: asyncpg.Connection, schema: str, cp: Checkpoint) -> None:
    await conn.execute(
        f"INSERT INTO {schema}.checkpoints (projection, last_seq, next_position, last_hash,"
        " updated_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (projection) DO UPDATE"
        " SET last_seq = $2, next_position = $3, last_hash = $4, updated_at = now()",
        PROJECTION,
        cp.last_seq,
        cp.next_position,
        cp.last_hash,
    )


def project_events(views: Sequence[EventView]) -> list[tuple[EventView, list[Write]]]:
    out = []
    for env in views:
        try:
            out.append((env, project(env)))
        except Exception as exc:
            raise ProjectionStopped(f"seq {env.seq} ({env.type}): {exc}") from exc
    return out


def _group(writes: Sequence[Write]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    groups: list[tuple[str, list[tuple[Any, ...]]]] = []
    for w in writes:
        if groups and groups[-1][0] == w.sql:
            groups[-1][1].append(w.args)
        else:
            groups.append((w.sql, [w.args]))
    return groups


async def _apply_sql(
    conn: asyncpg.Connection, schema: str, projected: list[tuple[EventView, list[Write]]]
) -> None:
    writes = [w for _, ws in projected for w in ws]
    for sql, rows in _group(writes):
        await conn.executemany(sql.format(s=schema), rows)


async def _apply_memory(
    conn: asyncpg.Connection, schema: str, projected: list[tuple[EventView, list[Write]]]
) -> None:
    store = Store()
    await load(conn, schema, store, keys_to_load([w for _, ws in projected for w in ws]))
    for env, writes in projected:
        try:
            store.apply(writes)
        except (FoldError, LookupError, TypeError, ValueError) as exc:
            raise ProjectionStopped(f"seq {env.seq} ({env.type}): {exc}") from exc
    try:
        await flush(conn, schema, store)
    except (
        asyncpg.IntegrityConstraintViolationError,
        asyncpg.DataError,
        TypeError,
        ValueError,
    ) as exc:
        raise ProjectionStopped(
            f"seqs {projected[0][0].seq}..{projected[-1][0].seq} cannot be written: {exc}"
        ) from exc


async def apply_batch(
    conn: asyncpg.Connection,
    schema: str,
    records: Sequence[RawRecord],
    *,
    engine: Engine = "memory",
    validate: bool = False,
) -> Checkpoint:
    """Apply committed events in one transaction; returns the new checkpoint.

    Every event's hash is recomputed (a reordered, missing or altered event stops the
    projector). ``validate`` also validates each envelope and payload with the published
    models: the processor only ever writes events it built from them, so this is off by
    default (it would double the projector's CPU per event); an event that does not fit
    its projection still stops the projector, and ``registry verify`` validates the log.
    """
    return await _commit(conn, schema, records, None, engine=engine, validate=validate)


async def _commit(
    conn: asyncpg.Connection,
    schema: str,
    records: Sequence[RawRecord],
    ahead: Prepared | None,
    *,
    engine: Engine = "memory",
    validate: bool = False,
) -> Checkpoint:
    """One transaction: lock, read the stored checkpoint, apply what follows it, move it.

    ``ahead`` (``records`` decoded and projected before the transaction) is used when it was
    prepared against the stored checkpoint; otherwise ``records`` are decoded from it here.
    """
    async with conn.transaction():
        await conn.execute(WRITER_LOCK, schema)
        cp = await read_checkpoint(conn, schema, lock=True)
        if ahead is not None and cp == ahead.start:
            new_cp, projected = ahead.end, ahead.projected
        else:
            views, new_cp = decode_batch(records, cp, validate=validate)
            projected = project_events(views)
        if projected:
            if engine == "sql":
                await _apply_sql(conn, schema, projected)
            else:
                await _apply_memory(conn, schema, projected)
        if new_cp != cp:
            await write_checkpoint(conn, schema, new_cp)
    return new_cp


# How often the running projector compares the log's end with its checkpoint (lag metric).
WATCH_EVERY_S = 1.0

# Events decoded and projected between two chances for a commit in flight to move.
PREPARE_CHUNK = 256


@dataclass(frozen=True)
class Prepared:
    """A batch decoded, checked and projected ahead of its transaction."""

    records: Sequence[RawRecord]
    start: Checkpoint  # the checkpoint it was decoded against
    end: Checkpoint
    projected: list[tuple[EventView, list[Write]]]


async def prepare(records: Sequence[RawRecord], start: Checkpoint) -> Prepared:
    """Decode, check and project ``records`` after ``start`` without touching the database.

    CPU only; it yields to the event loop every ``PREPARE_CHUNK`` events so that the previous
    batch's transaction (awaiting PostgreSQL meanwhile) keeps moving: the live projector
    prepares batch N+1 while batch N commits.
    """
    cp = start
    projected: list[tuple[EventView, list[Write]]] = []
    for i in range(0, len(records), PREPARE_CHUNK):
        views, cp = decode_batch(records[i : i + PREPARE_CHUNK], cp, validate=False)
        projected += project_events(views)
        if i + PREPARE_CHUNK < len(records):
            await asyncio.sleep(0)
    return Prepared(records, start, cp, projected)


async def commit_prepared(conn: asyncpg.Connection, schema: str, batch: Prepared) -> Checkpoint:
    """Apply a prepared batch in one transaction with its checkpoint; returns the new one.

    The stored checkpoint is read under the writer lock: if it is not the one the batch was
    prepared against (another writer moved it, e.g. replay's switch), the batch is decoded
    again from the stored one, so nothing is applied twice or skipped.
    """
    return await _commit(conn, schema, batch.records, batch)


class Projector:
    """Tails the log into the live read-model schema of one registry."""

    def __init__(
        self,
        source: EventSource,
        dsn: str,
        registry: str,
        schema: str,
        *,
        batch_size: int = 10_000,
        poll_timeout_s: float = 0.1,
        engine: Engine = "memory",
        halt_retry_s: float = 30.0,
        halt_retry_max_s: float = 600.0,
    ) -> None:
        self.source = source
        self.dsn = dsn
        self.registry = registry
        self.schema = schema
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.engine: Engine = engine
        self.halt_retry_s = halt_retry_s
        self.halt_retry_max_s = halt_retry_max_s
        self.checkpoint = START
        # Why the projector is halted (None while it applies), and where: the position of
        # the event it could not apply (None when the log itself is short, see _watch_log).
        self.halted: str | None = None
        self._halted_at: int | None = None
        self._watch_due = 0.0
        self.caught_up = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._ahead: Prepared | None = None  # the next batch, prepared while one committed
        self._gc = DeferredGC()

    async def start(self) -> None:
        """Connect, create what is missing of the schema, seek to the checkpoint. Refuses
        (``ReadModelsOutdated``) a schema built by another read-model version: applying
        events to it would mix two meanings; ``replay.ensure_current`` rebuilds it."""
        self._conn = await asyncpg.connect(self.dsn)
        version = await schema_version(self._conn, self.schema)
        if version not in (None, MODEL_VERSION):
            await self.close()
            raise ReadModelsOutdated(
                f"{self.schema} holds read models of version {version}, this build writes"
                f" version {MODEL_VERSION}: rebuild them with `registry replay`"
            )
        await create_schema(self._conn, self.schema)
        self.checkpoint = await read_checkpoint(self._conn, self.schema)
        await self.source.seek(self.checkpoint.next_position)
        log.info("projector_started", schema=self.schema, seq=self.checkpoint.last_seq)

    async def step(self) -> int:
        """Apply the next batch (waiting up to the poll timeout for one); returns its size.

        With the memory engine the batch after it, if already readable, is fetched, decoded
        and projected while this one's transaction waits on PostgreSQL (``prepare``), so the
        projector's CPU and the database's overlap.
        """
        assert self._conn is not None
        self._gc.pause()
        if self.engine != "memory":
            records = await self._poll()
            if records:
                self.checkpoint = await apply_batch(
                    self._conn, self.schema, records, engine=self.engine
                )
            return self._applied(records)
        batch, self._ahead = self._ahead, None
        if batch is None:
            records = await self._poll()
            if not records:
                return 0
            batch = await prepare(records, self.checkpoint)
        commit = asyncio.create_task(commit_prepared(self._conn, self.schema, batch))
        try:
            ahead = await self.source.next_batch(self.batch_size, 0)
            if ahead:
                self._ahead = await prepare(ahead, batch.end)
        except asyncio.CancelledError:
            commit.cancel()
            raise
        except BaseException:
            # The batch in flight is good: commit it before stopping on the next one.
            self.checkpoint = await commit
            raise
        try:
            self.checkpoint = await commit
        except BaseException:
            self._ahead = None  # prepared against a checkpoint that was not written
            raise
        return self._applied(batch.records)

    async def _poll(self) -> Sequence[RawRecord]:
        records = await self.source.next_batch(self.batch_size, self.poll_timeout_s)
        if not records:
            # An empty poll after the timeout: nothing committed is waiting.
            self.caught_up.set()
            self._gc.idle()
        return records

    def _applied(self, records: Sequence[RawRecord]) -> int:
        if not records:
            return 0
        self._gc.batch_done()
        PROJECTOR_SEQ.labels(self.registry, PROJECTION).set(self.checkpoint.last_seq)
        structlog.contextvars.bind_contextvars(seq=self.checkpoint.last_seq)
        return len(records)

    async def _watch_log(self) -> None:
        """At most once per ``WATCH_EVERY_S``: the lag metric, and whether the log still
        holds what was applied. A log that ends before the checkpoint lost events (a single
        broker's unflushed tail, a topic deleted and created again): the projector halts
        until the log reaches the checkpoint again, where the chain check decides."""
        now = time.monotonic()
        if now < self._watch_due:
            return
        self._watch_due = now + WATCH_EVERY_S
        end = await self.source.end_position()
        applied = self.checkpoint.next_position
        PROJECTOR_LAG.labels(self.registry, PROJECTION).set(max(0, end - applied))
        if end < applied and self.halted is None:
            self._halted(
                f"the log ends at position {end}, before the events already applied (up to"
                f" position {applied - 1}, seq {self.checkpoint.last_seq}): events were lost"
                " from the log",
                None,
            )
            log.error("projector_halted", schema=self.schema, reason=self.halted, log_end=end)
        elif end >= applied and self.halted is not None and self._halted_at is None:
            await self._resume()

    def _halted(self, reason: str, position: int | None) -> None:
        self.halted = reason
        self._halted_at = position
        self.caught_up.clear()
        PROJECTOR_HALTED.labels(self.registry, PROJECTION).set(1)

    async def run(self, stop: asyncio.Event) -> None:
        """Apply batches until ``stop``. On an event that cannot be applied: halt (see
        ``dead_letters``), then try again after ``halt_retry_s``, doubling up to
        ``halt_retry_max_s``; any other error (the database gone) ends the run."""
        if self._conn is None:
            await self.start()
        delay = self.halt_retry_s
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except ProjectionStopped as exc:
                    halted = await self._halt(exc, delay)
                    self._watch_due = 0.0
                    await self._watch_log()  # the lag grows while halted: show it
                    if halted:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), delay)
                        delay = min(delay * 2, self.halt_retry_max_s)
                    self._ahead = None
                    await self.source.seek(self.checkpoint.next_position)
                    continue
                if self._halted_at is not None and self.checkpoint.next_position > self._halted_at:
                    await self._resume()
                    delay = self.halt_retry_s
                await self._watch_log()
        finally:
            await self.close()

    async def _halt(self, exc: ProjectionStopped, retry_in_s: float) -> bool:
        """Apply the good events before the one that stopped a batch, record that one as a
        dead letter and mark the projector halted; False if no event fails any more."""
        assert self._conn is not None
        failure = await self._isolate(exc)
        if failure is None:
            return False
        record, error = failure
        seq = self.checkpoint.last_seq + 1
        attempts = await dead_letters.record(
            self._conn, self.schema, PROJECTION, record, seq, error
        )
        self._halted(f"seq {seq} cannot be applied: {error}", record.position)
        log.error(
            "projector_halted",
            schema=self.schema,
            seq=seq,
            position=record.position,
            error=error,
            attempts=attempts,
            retry_in_s=retry_in_s,
        )
        return True

    async def _isolate(self, first: ProjectionStopped) -> tuple[RawRecord, str] | None:
        """Find the first event that fails, applying every event before it.

        From the checkpoint, batches are applied with the size halved after each failure and
        doubled after each success, so the good events before the bad one are applied and
        the bad one ends up alone in a batch of one. Returns it and its error; None if a
        batch of the full size applies (nothing fails any more) or the log has no more.
        """
        assert self._conn is not None
        size = max(1, self.batch_size // 2)  # ``first`` came from a batch of at most this * 2
        while True:
            await self.source.seek(self.checkpoint.next_position)
            records = await self.source.next_batch(size, self.poll_timeout_s)
            if not records:
                return None
            try:
                self.checkpoint = await apply_batch(
                    self._conn, self.schema, records, engine=self.engine
                )
            except ProjectionStopped as exc:
                if len(records) == 1:
                    return records[0], str(exc)
                size = max(1, len(records) // 2)
                continue
            self._applied(records)
            if size >= self.batch_size:
                return None
            size *= 2

    async def _resume(self) -> None:
        assert self._conn is not None
        resolved = await dead_letters.resolve(
            self._conn, self.schema, PROJECTION, self.checkpoint.next_position
        )
        log.warning(
            "projector_resumed",
            schema=self.schema,
            seq=self.checkpoint.last_seq,
            was=self.halted,
            dead_letters_resolved=resolved,
        )
        self.halted = None
        self._halted_at = None
        PROJECTOR_HALTED.labels(self.registry, PROJECTION).set(0)

    async def close(self) -> None:
        self._gc.resume()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        await self.source.close()

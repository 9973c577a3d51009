"""Applying batches of events to the read models, with the checkpoint in the same transaction.

Per batch: lock the checkpoint row, drop events at or below its seq (re-deliveries), refuse a
gap, write the rows, move the checkpoint. An event that cannot be applied raises
``ProjectionStopped``: the projector stops loudly rather than skip it, because every later
balance would be wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
import structlog

from libs.eventlog.ports import EventSource, RawRecord
from libs.observability.metrics import PROJECTOR_LAG, PROJECTOR_SEQ
from projector_service.projections.catalogue import project
from projector_service.projections.writes import Write
from projector_service.schema import create_schema
from schemas.codec import decode_event, event_payload
from schemas.envelope import GENESIS_HASH
from schemas.hashing import chain_hash

log = structlog.get_logger("projector")

PROJECTION = "main"
# One advisory lock per read-model schema: the live projector and replay's switch take it.
WRITER_LOCK = "SELECT pg_advisory_xact_lock(7310003, hashtext($1))"


class ProjectionStopped(RuntimeError):
    """An event could not be applied; the projector must not go on."""


@dataclass(frozen=True)
class Checkpoint:
    last_seq: int
    next_position: int
    last_hash: str


async def read_checkpoint(
    conn: asyncpg.Connection, schema: str, *, lock: bool = False
) -> Checkpoint:
    row = await conn.fetchrow(
        f"SELECT last_seq, next_position, last_hash FROM {schema}.checkpoints"
        f" WHERE projection = $1{' FOR UPDATE' if lock else ''}",
        PROJECTION,
    )
    if row is None:
        return Checkpoint(0, 0, GENESIS_HASH)
    return Checkpoint(row["last_seq"], row["next_position"], row["last_hash"])


def _group(writes: Sequence[Write]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    groups: list[tuple[str, list[tuple[Any, ...]]]] = []
    for w in writes:
        if groups and groups[-1][0] == w.sql:
            groups[-1][1].append(w.args)
        else:
            groups.append((w.sql, [w.args]))
    return groups


async def apply_batch(
    conn: asyncpg.Connection, schema: str, records: Sequence[RawRecord]
) -> Checkpoint:
    """Apply committed events in one transaction; returns the new checkpoint."""
    async with conn.transaction():
        await conn.execute(WRITER_LOCK, schema)
        cp = await read_checkpoint(conn, schema, lock=True)
        last_seq, last_hash, next_position = cp.last_seq, cp.last_hash, cp.next_position
        writes: list[Write] = []
        for rec in records:
            try:
                body = orjson.loads(rec.raw)
                env = decode_event(rec.raw)
            except ValueError as exc:
                raise ProjectionStopped(
                    f"unreadable event at position {rec.position}: {exc}"
                ) from exc
            next_position = max(next_position, rec.position + 1)
            if env.seq <= last_seq:
                continue  # re-delivered: already applied
            if env.seq != last_seq + 1:
                raise ProjectionStopped(
                    f"gap in the log: expected seq {last_seq + 1}, got {env.seq}"
                )
            if env.prev_hash != last_hash or chain_hash(env.prev_hash, body) != env.hash:
                raise ProjectionStopped(f"seq {env.seq} does not chain to the event before it")
            try:
                writes.extend(project(env, event_payload(env)))
            except Exception as exc:
                raise ProjectionStopped(f"seq {env.seq} ({env.type}): {exc}") from exc
            last_seq, last_hash = env.seq, env.hash
        for sql, rows in _group(writes):
            await conn.executemany(sql.format(s=schema), rows)
        await conn.execute(
            f"INSERT INTO {schema}.checkpoints (projection, last_seq, next_position, last_hash,"
            " updated_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (projection) DO UPDATE"
            " SET last_seq = $2, next_position = $3, last_hash = $4, updated_at = now()",
            PROJECTION,
            last_seq,
            next_position,
            last_hash,
        )
    return Checkpoint(last_seq, next_position, last_hash)


class Projector:
    """Tails the log into the live read-model schema of one registry."""

    def __init__(
        self,
        source: EventSource,
        dsn: str,
        registry: str,
        schema: str,
        *,
        batch_size: int = 5000,
        poll_timeout_s: float = 0.1,
    ) -> None:
        self.source = source
        self.dsn = dsn
        self.registry = registry
        self.schema = schema
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.checkpoint = Checkpoint(0, 0, GENESIS_HASH)
        self.caught_up = asyncio.Event()
        self._conn: asyncpg.Connection | None = None

    async def start(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await create_schema(self._conn, self.schema)
        self.checkpoint = await read_checkpoint(self._conn, self.schema)
        await self.source.seek(self.checkpoint.next_position)
        log.info("projector_started", schema=self.schema, seq=self.checkpoint.last_seq)

    async def step(self) -> int:
        assert self._conn is not None
        records = await self.source.next_batch(self.batch_size, self.poll_timeout_s)
        if not records:
            # An empty poll after the timeout: nothing committed is waiting.
            self.caught_up.set()
            return 0
        self.checkpoint = await apply_batch(self._conn, self.schema, records)
        PROJECTOR_SEQ.labels(self.registry, PROJECTION).set(self.checkpoint.last_seq)
        structlog.contextvars.bind_contextvars(seq=self.checkpoint.last_seq)
        return len(records)

    async def update_lag(self) -> int:
        end = await self.source.end_position()
        lag = max(0, end - self.checkpoint.next_position)
        PROJECTOR_LAG.labels(self.registry, PROJECTION).set(lag)
        return lag

    async def run(self, stop: asyncio.Event) -> None:
        if self._conn is None:
            await self.start()
        try:
            while not stop.is_set():
                await self.step()
        except ProjectionStopped as exc:
            log.error("projector_stopped", error=str(exc), seq=self.checkpoint.last_seq)
            raise
        finally:
            await self.close()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        await self.source.close()

"""The notifications projector: events -> outbox rows, in the ``notify_<registry>`` schema.

Its own schema, directory and checkpoint, so rebuilding the read models (``rm_<registry>``)
never touches mail. Per batch, in one transaction with the checkpoint (the rules of
``projector_service.runner``): skip seq <= checkpoint, refuse a gap or a broken hash chain,
build each event's messages from the directory as it stood just before the event, insert
them ``ON CONFLICT (message_id) DO NOTHING``, store the directory rows that changed.

Replaying from seq 0 (``reset_for_replay``) clears the directory and the checkpoint and keeps
the outbox: the replay rebuilds the same message ids, so nothing is mailed twice. Events older
than ``stale_after`` when first seen (a first start on an old log) are recorded as dead rows,
not mailed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import structlog

from libs.eventlog.ports import EventSource, RawRecord
from projector_service.notifications.compose import MailContext
from projector_service.notifications.directory import Change, Directory, apply
from projector_service.notifications.messages import Message, NoMailRule, build_messages
from schemas.codec import decode_event, event_payload
from schemas.envelope import GENESIS_HASH
from schemas.hashing import chain_hash
from schemas.registry import UnknownType

log = structlog.get_logger("notifier")

PROJECTION = "notifications"
WRITER_LOCK = "SELECT pg_advisory_xact_lock(7310004, hashtext($1))"

TABLES = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.checkpoints (
    projection text PRIMARY KEY,
    last_seq bigint NOT NULL,
    next_position bigint NOT NULL,
    last_hash text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.directory (
    kind text NOT NULL,
    key text NOT NULL,
    data jsonb NOT NULL,
    updated_seq bigint NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS {s}.outbox (
    message_id text PRIMARY KEY,
    seq bigint NOT NULL,
    kind text NOT NULL,
    "to" text[] NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    dead_at timestamptz,
    last_error text
);
CREATE INDEX IF NOT EXISTS outbox_due ON {s}.outbox (next_attempt_at)
    WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_seq ON {s}.outbox (seq);
"""

INSERT_MESSAGE = (
    'INSERT INTO {s}.outbox (message_id, seq, kind, "to", subject, body, dead_at, last_error)'
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING"
)
UPSERT_DIRECTORY = (
    "INSERT INTO {s}.directory (kind, key, data, updated_seq) VALUES ($1, $2, $3::jsonb, $4)"
    " ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data,"
    " updated_seq = excluded.updated_seq"
)
DELETE_DIRECTORY = "DELETE FROM {s}.directory WHERE kind = $1 AND key = $2"


class NotifierStopped(RuntimeError):
    """An event could not be read or turned into mail; the notifier must not skip it."""


class CheckpointMoved(RuntimeError):
    """Someone else moved the checkpoint (another notifier, or a replay reset): this
    notifier's directory is stale, so it must reload and seek again before going on."""


@dataclass(frozen=True)
class Checkpoint:
    last_seq: int
    next_position: int
    last_hash: str


def notify_schema(registry: str) -> str:
    return "notify_" + re.sub(r"[^a-z0-9_]", "_", registry)


async def create_notify_schema(conn: asyncpg.Connection, schema: str) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7310002)")
        await conn.execute(TABLES.format(s=schema))


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


async def load_directory(conn: asyncpg.Connection, schema: str) -> Directory:
    rows = await conn.fetch(f"SELECT kind, data FROM {schema}.directory ORDER BY kind, key")
    return Directory.from_rows([(r["kind"], orjson.loads(r["data"])) for r in rows])


async def reset_for_replay(conn: asyncpg.Connection, schema: str) -> None:
    """Forget the checkpoint and the directory (both derived), keep every outbox row.

    A running notifier notices (``CheckpointMoved``), reloads and replays from seq 0."""
    async with conn.transaction():
        await conn.execute(WRITER_LOCK, schema)
        await conn.execute(f"DELETE FROM {schema}.checkpoints WHERE projection = $1", PROJECTION)
        await conn.execute(f"TRUNCATE {schema}.directory")


@dataclass
class BatchOutcome:
    checkpoint: Checkpoint
    messages: int


def _message_row(seq: int, m: Message, stale_at: datetime | None, note: str) -> tuple[Any, ...]:
    return (
        m.message_id,
        seq,
        m.kind,
        m.to,
        m.subject,
        m.body_text,
        stale_at,
        note if stale_at else None,
    )


async def apply_notify_batch(
    conn: asyncpg.Connection,
    schema: str,
    records: Sequence[RawRecord],
    directory: Directory,
    ctx: MailContext,
    *,
    now: datetime,
    stale_after: timedelta,
    expected: Checkpoint | None = None,
) -> BatchOutcome:
    """Apply committed events in one transaction. ``directory`` is updated in place: if this
    raises, the caller must reload it from the database.

    ``expected`` is the checkpoint ``directory`` belongs to; if the stored one differs, this
    raises ``CheckpointMoved`` before writing anything.
    """
    async with conn.transaction():
        await conn.execute(WRITER_LOCK, schema)
        cp = await read_checkpoint(conn, schema, lock=True)
        if expected is not None and cp.last_seq != expected.last_seq:
            raise CheckpointMoved(f"stored seq {cp.last_seq}, this notifier {expected.last_seq}")
        last_seq, last_hash, next_position = cp.last_seq, cp.last_hash, cp.next_position
        rows: list[tuple[Any, ...]] = []
        note = f"not sent: the event was older than {stale_after} when first seen"
        changes: dict[tuple[str, str], tuple[Change, int]] = {}
        for rec in records:
            try:
                body = orjson.loads(rec.raw)
                env = decode_event(rec.raw)
            except ValueError as exc:
                raise NotifierStopped(
                    f"unreadable event at position {rec.position}: {exc}"
                ) from exc
            next_position = max(next_position, rec.position + 1)
            if env.seq <= last_seq:
                continue  # re-delivered: already applied
            if env.seq != last_seq + 1:
                raise NotifierStopped(f"gap in the log: expected seq {last_seq + 1}, got {env.seq}")
            if env.prev_hash != last_hash or chain_hash(env.prev_hash, body) != env.hash:
                raise NotifierStopped(f"seq {env.seq} does not chain to the event before it")
            try:
                payload = event_payload(env)
            except (UnknownType, ValueError) as exc:
                raise NotifierStopped(f"seq {env.seq} ({env.type}): {exc!r}") from exc
            try:
                messages = build_messages(env, payload, directory, ctx)
            except NoMailRule:
                log.warning("notification_rule_missing", seq=env.seq, type=env.type)
                messages = []
            except Exception as exc:
                raise NotifierStopped(f"seq {env.seq} ({env.type}): {exc!r}") from exc
            stale_at = now if env.occurred_at < now - stale_after else None
            rows.extend(_message_row(env.seq, m, stale_at, note) for m in messages)
            for ch in apply(directory, env, payload):
                changes[(ch.kind, ch.key)] = (ch, env.seq)
            last_seq, last_hash = env.seq, env.hash
        if rows:
            await conn.executemany(INSERT_MESSAGE.format(s=schema), rows)
        upserts = [
            (ch.kind, ch.key, orjson.dumps(ch.data).decode(), seq)
            for ch, seq in changes.values()
            if ch.data is not None
        ]
        deletes = [(ch.kind, ch.key) for ch, _ in changes.values() if ch.data is None]
        if upserts:
            await conn.executemany(UPSERT_DIRECTORY.format(s=schema), upserts)
        if deletes:
            await conn.executemany(DELETE_DIRECTORY.format(s=schema), deletes)
        await conn.execute(
            f"INSERT INTO {schema}.checkpoints (projection, last_seq, next_position, last_hash,"
            " updated_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (projection) DO UPDATE"
            " SET last_seq = $2, next_position = $3, last_hash = $4, updated_at = now()",
            PROJECTION,
            last_seq,
            next_position,
            last_hash,
        )
    return BatchOutcome(Checkpoint(last_seq, next_position, last_hash), len(rows))


class Notifier:
    """Tails the log into the outbox of one registry.

    ``run`` never ends on its own with an error: a broken event (gap, bad chain, a builder
    bug) is logged loudly and the notifier waits, idle, for ``stop``; a database or log
    outage is retried with backoff. Either way the registry's commands go on.
    """

    def __init__(
        self,
        source_factory: Callable[[], EventSource],
        dsn: str,
        ctx: MailContext,
        *,
        schema: str | None = None,
        batch_size: int = 1000,
        poll_timeout_s: float = 0.5,
        stale_after: timedelta = timedelta(days=3),
        on_messages: Callable[[], None] | None = None,
    ) -> None:
        self.source_factory = source_factory
        self.dsn = dsn
        self.ctx = ctx
        self.schema = schema or notify_schema(ctx.registry)
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.stale_after = stale_after
        self.on_messages = on_messages
        self.checkpoint = Checkpoint(0, 0, GENESIS_HASH)
        self.caught_up = asyncio.Event()
        self.stopped: str | None = None  # why it stopped, if it did
        self._conn: asyncpg.Connection | None = None
        self._source: EventSource | None = None
        self._directory: Directory | None = None

    async def start(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await create_notify_schema(self._conn, self.schema)
        self.checkpoint = await read_checkpoint(self._conn, self.schema)
        self._directory = await load_directory(self._conn, self.schema)
        self._source = self.source_factory()
        await self._source.seek(self.checkpoint.next_position)
        log.info("notifier_started", schema=self.schema, seq=self.checkpoint.last_seq)

    async def step(self) -> int:
        """Apply the next batch; returns how many records it read (0: caught up)."""
        assert self._conn is not None
        assert self._source is not None
        assert self._directory is not None
        records = await self._source.next_batch(self.batch_size, self.poll_timeout_s)
        if not records:
            self.caught_up.set()
            return 0
        try:
            outcome = await apply_notify_batch(
                self._conn,
                self.schema,
                records,
                self._directory,
                self.ctx,
                now=datetime.now(UTC),
                stale_after=self.stale_after,
                expected=self.checkpoint,
            )
        except BaseException:
            self._directory = None  # half-applied in memory: reload on the next start
            raise
        self.checkpoint = outcome.checkpoint
        if outcome.messages and self.on_messages is not None:
            self.on_messages()
        return len(records)

    async def run(self, stop: asyncio.Event, *, max_retry_s: float = 30.0) -> None:
        delay = 0.5
        try:
            while not stop.is_set():
                try:
                    if self._conn is None or self._directory is None:
                        await self.close()
                        await self.start()
                    await self.step()
                    delay = 0.5
                except CheckpointMoved as exc:
                    log.info("notifier_reloading", reason=str(exc))
                    await self.close()
                except NotifierStopped as exc:
                    self.stopped = str(exc)
                    log.error("notifier_stopped", error=str(exc), seq=self.checkpoint.last_seq)
                    await stop.wait()
                except Exception as exc:  # database or log outage: retry, never end serve
                    log.warning("notifier_retrying", error=repr(exc), in_s=delay)
                    await self.close()
                    await _sleep_or_stop(stop, delay)
                    delay = min(delay * 2, max_retry_s)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except Exception:  # already broken
                conn.terminate()
        if self._source is not None:
            source, self._source = self._source, None
            try:
                await source.close()
            except Exception as exc:
                log.warning("notifier_source_close_failed", error=repr(exc))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

"""The embedded log: append-only tables in PostgreSQL, and a reader for them.

Used when no Kafka bootstrap is configured. The same envelopes and bytes as on Kafka; an
event's position is its ``seq``. Rows are only ever inserted (a trigger refuses UPDATE and
DELETE), so the table is as append-only as a topic.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from libs.eventlog.ports import RawRecord

DDL = """
CREATE SCHEMA IF NOT EXISTS log;
CREATE TABLE IF NOT EXISTS log.events (
    registry text NOT NULL,
    seq bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (registry, seq)
);
CREATE TABLE IF NOT EXISTS log.results (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    registry text NOT NULL,
    command_id text NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS results_registry_id ON log.results (registry, id);
CREATE TABLE IF NOT EXISTS log.snapshots (
    registry text NOT NULL,
    seq bigint NOT NULL,
    events_position bigint NOT NULL,
    results_position bigint NOT NULL,
    state bytea NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (registry, seq)
);
CREATE TABLE IF NOT EXISTS log.leader (
    registry text PRIMARY KEY,
    epoch bigint NOT NULL
);
CREATE OR REPLACE FUNCTION log.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the log is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'events_append_only') THEN
        CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON log.events
            FOR EACH ROW EXECUTE FUNCTION log.refuse_change();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'results_append_only') THEN
        CREATE TRIGGER results_append_only BEFORE UPDATE OR DELETE ON log.results
            FOR EACH ROW EXECUTE FUNCTION log.refuse_change();
    END IF;
END $$;
"""


def channel(registry: str) -> str:
    return f"log_events_{registry.replace('-', '_')}"


async def ensure_log_tables(conn: asyncpg.Connection) -> None:
    # Serialise concurrent creators (several processes starting at once).
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7310001)")
        await conn.execute(DDL)


class PgEventSource:
    """Reads ``log.events`` in seq order; wakes on NOTIFY instead of busy polling."""

    def __init__(self, dsn: str, registry: str) -> None:
        self._dsn = dsn
        self._registry = registry
        self._conn: asyncpg.Connection | None = None
        self._position = 0
        self._wake = asyncio.Event()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            self._conn = await asyncpg.connect(self._dsn)
            await ensure_log_tables(self._conn)
            await self._conn.add_listener(channel(self._registry), self._notified)
        return self._conn

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def seek(self, position: int) -> None:
        await self._connection()
        self._position = position

    async def next_batch(self, max_records: int, timeout_s: float) -> list[RawRecord]:
        conn = await self._connection()
        for attempt in range(2):
            self._wake.clear()
            rows = await conn.fetch(
                "SELECT seq, body FROM log.events WHERE registry = $1 AND seq >= $2"
                " ORDER BY seq LIMIT $3",
                self._registry,
                self._position,
                max_records,
            )
            if rows:
                self._position = rows[-1]["seq"] + 1
                return [RawRecord(r["seq"], bytes(r["body"])) for r in rows]
            if attempt == 0 and timeout_s > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout_s)
                except TimeoutError:
                    return []
        return []

    async def end_position(self) -> int:
        conn = await self._connection()
        last = await conn.fetchval(
            "SELECT coalesce(max(seq), 0) FROM log.events WHERE registry = $1", self._registry
        )
        return int(last) + 1

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

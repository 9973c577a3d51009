"""Do the live read models say what the log says? Rebuild, compare, report.

The read models are derived data anyone can get wrong: a projection bug fixed since, a
hand-made ``UPDATE`` in the database, a restore of the wrong backup. ``compare_with_log``
replays the whole log into a shadow schema (the live one is untouched and keeps serving),
brings both to the same seq, and compares every model table row for row (``EXCEPT ALL``
both ways, every column). ``registry compare`` prints the result and exits 1 on any
difference, naming the table and showing a few of the rows that differ.

While the final comparison runs it holds the projector's writer lock (the live projector
waits, queries do not); the shadow schema is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg

from libs.eventlog.ports import EventSource
from projector_service.replay import catch_up, rebuild
from projector_service.runner import WRITER_LOCK, read_checkpoint
from projector_service.schema import MODEL_TABLES

SAMPLE_ROWS = 3
# How long to wait for the live projector to reach the seq the shadow was rebuilt to.
LIVE_WAIT_S = 120.0


@dataclass
class TableDiff:
    table: str
    rows: int  # in the live table
    only_live: int  # rows the live table has and the rebuilt one has not (with duplicates)
    only_rebuilt: int
    samples: list[str] = field(default_factory=list)  # a few of them, as row text

    @property
    def equal(self) -> bool:
        return self.only_live == 0 and self.only_rebuilt == 0


@dataclass
class Comparison:
    seq: int
    tables: list[TableDiff]

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)


async def _columns(conn: asyncpg.Connection, schema: str, table: str) -> list[str]:
    """The table's columns as select expressions (``json`` has no equality: compared as
    its text, which is the event's exact JSON)."""
    rows = await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1"
        " AND table_name = $2 ORDER BY ordinal_position",
        schema,
        table,
    )
    return [f'"{r["column_name"]}"' + ("::text" if r["data_type"] == "json" else "") for r in rows]


async def _diff(conn: asyncpg.Connection, live: str, shadow: str, table: str) -> TableDiff:
    cols = ", ".join(await _columns(conn, shadow, table))

    def minus(a: str, b: str) -> str:
        return f"SELECT {cols} FROM {a}.{table} EXCEPT ALL SELECT {cols} FROM {b}.{table}"

    rows = await conn.fetchval(f"SELECT count(*) FROM {live}.{table}")
    only_live = await conn.fetchval(f"SELECT count(*) FROM ({minus(live, shadow)}) d")
    only_rebuilt = await conn.fetchval(f"SELECT count(*) FROM ({minus(shadow, live)}) d")
    samples: list[str] = []
    for label, query, n in (
        ("live", minus(live, shadow), only_live),
        ("rebuilt", minus(shadow, live), only_rebuilt),
    ):
        if n:
            got = await conn.fetch(f"SELECT d::text AS row FROM ({query}) d LIMIT {SAMPLE_ROWS}")
            samples += [f"{label}: {r['row']}" for r in got]
    return TableDiff(table, int(rows), int(only_live), int(only_rebuilt), samples)


async def compare_with_log(dsn: str, source: EventSource, live: str) -> Comparison:
    """Rebuild ``live``'s read models from the log into ``<live>__compare`` and compare
    them with ``live`` at the same seq (see the module docstring)."""
    shadow = f"{live}__compare"
    _, built, _ = await rebuild(dsn, source, live, switch=False, into=shadow)
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + LIVE_WAIT_S
        while (await read_checkpoint(conn, live)).last_seq < built.last_seq:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the live read models did not reach seq {built.last_seq} within"
                    f" {LIVE_WAIT_S:.0f} s: is the projector running?"
                )
            await asyncio.sleep(0.2)
        async with conn.transaction():
            await conn.execute(WRITER_LOCK, live)
            at = await read_checkpoint(conn, live)
            built = await catch_up(conn, source, shadow, built, at.next_position, 10_000)
            if built.last_seq != at.last_seq:
                raise RuntimeError(
                    f"the rebuilt models reached seq {built.last_seq}, the live ones are at"
                    f" {at.last_seq}"
                )
            tables = [await _diff(conn, live, shadow, t) for t in MODEL_TABLES]
        return Comparison(at.last_seq, tables)
    finally:
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {shadow} CASCADE")
        finally:
            await conn.close()

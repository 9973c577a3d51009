"""Running a list query: visibility AND filter AND keyset, ordered, one page (or a CSV).

``plan_*`` are pure (SQL text + bound values, unit-tested); ``fetch_*`` run them on a
connection that is already inside the caller's REPEATABLE READ snapshot.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from query_service.queries.collections import Collection, Row
from query_service.queries.filters import Node, Params, compile_node
from query_service.queries.keyset import (
    CursorError,
    SortKey,
    decode_cursor,
    encode_cursor,
    full_order,
    keyset_predicate,
    order_by,
)
from query_service.queries.visibility import Viewer

MAX_PAGE = 200
CSV_ROW_LIMIT = 100_000
CSV_BATCH = 1000
LEGACY_AFTER_MAX = 2**62


@dataclass(frozen=True)
class ListQuery:
    filter: Node | None = None
    sort: tuple[SortKey, ...] = ()
    limit: int = 50
    cursor: str | None = None
    count: bool = False


@dataclass(frozen=True)
class Plan:
    sql: str
    args: list[Any]
    keys: tuple[SortKey, ...] = ()


def _where(coll: Collection, viewer: Viewer | None, node: Node | None, p: Params) -> list[str]:
    parts = [coll.base_where] if coll.base_where else []
    visible = coll.visible(viewer, p.add)
    if visible is not None:
        parts.append(visible)
    if node is not None:
        parts.append(compile_node(node, p))
    return parts


def _sql_where(parts: Sequence[str]) -> str:
    return " WHERE " + " AND ".join(parts) if parts else ""


def cursor_values(keys: tuple[SortKey, ...], cursor: str) -> list[Any]:
    """A cursor's position. A bare number is the legacy ``after=<id>`` of the default order
    (a single integer tie-breaker)."""
    if cursor.isdigit() and cursor.isascii():
        if len(keys) != 1 or keys[0].field.type.value not in ("int", "bigint"):
            raise CursorError("a numeric cursor only works with the default order", "cursor")
        return [int(cursor)]
    return decode_cursor(keys, cursor)


def plan_page(coll: Collection, viewer: Viewer | None, q: ListQuery) -> Plan:
    p = Params()
    keys = full_order(q.sort, coll.tiebreak_fields)
    parts = _where(coll, viewer, q.filter, p)
    if q.cursor:
        parts.append(keyset_predicate(keys, cursor_values(keys, q.cursor), p))
    sort_cols = ", ".join(f"{k.field.sql} AS _k{i}" for i, k in enumerate(keys))
    limit = p.add(q.limit + 1, "int")  # one more row tells whether a next page exists
    sql = (
        f"SELECT {coll.select}, {sort_cols} FROM {coll.source}{_sql_where(parts)}"
        f" ORDER BY {order_by(keys)} LIMIT {limit}"
    )
    return Plan(sql, p.values, keys)


def plan_count(
    coll: Collection, viewer: Viewer | None, node: Node | None, cap: int | None = None
) -> Plan:
    p = Params()
    where = _sql_where(_where(coll, viewer, node, p))
    if cap is None:
        return Plan(f"SELECT count(*) FROM {coll.source}{where}", p.values)
    limit = p.add(cap, "int")
    return Plan(
        f"SELECT count(*) FROM (SELECT 1 FROM {coll.source}{where} LIMIT {limit}) n", p.values
    )


def plan_csv(coll: Collection, viewer: Viewer | None, q: ListQuery, limit: int) -> Plan:
    p = Params()
    keys = full_order(q.sort, coll.tiebreak_fields)
    where = _sql_where(_where(coll, viewer, q.filter, p))
    sql = (
        f"SELECT {coll.select} FROM {coll.source}{where}"
        f" ORDER BY {order_by(keys)} LIMIT {p.add(limit, 'int')}"
    )
    return Plan(sql, p.values, keys)


def _strip(coll: Collection, record: asyncpg.Record, n_keys: int) -> Row:
    d = dict(record)
    for i in range(n_keys):
        d.pop(f"_k{i}", None)
    return coll.row(d)


async def fetch_page(
    conn: asyncpg.Connection, coll: Collection, viewer: Viewer | None, q: ListQuery
) -> dict[str, Any]:
    """``{data, next_cursor, total}`` for one page (total only when asked for)."""
    plan = plan_page(coll, viewer, q)
    records = await conn.fetch(plan.sql, *plan.args)
    more = len(records) > q.limit
    records = records[: q.limit]
    nxt = None
    if more:
        last = records[-1]
        nxt = encode_cursor(plan.keys, [last[f"_k{i}"] for i in range(len(plan.keys))])
    total = None
    if q.count:
        c = plan_count(coll, viewer, q.filter)
        total = int(await conn.fetchval(c.sql, *c.args))
    data = [_strip(coll, r, len(plan.keys)) for r in records]
    return {"data": data, "next_cursor": nxt, "total": total}


async def fetch_one(
    conn: asyncpg.Connection, coll: Collection, viewer: Viewer | None, node: Node
) -> Row | None:
    page = await fetch_page(conn, coll, viewer, ListQuery(filter=node, limit=1))
    rows: list[Row] = page["data"]
    return rows[0] if rows else None


# ---- CSV ----------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """One cell; text that a spreadsheet would run as a formula is quoted with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, list):
        value = ";".join(csv_cell(v) for v in value)
    elif isinstance(value, dict):
        value = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


async def csv_chunks(
    conn: asyncpg.Connection, coll: Collection, plan: Plan
) -> AsyncIterator[bytes]:
    """The header and then the rows, a batch at a time, from a server-side cursor (the
    connection must stay inside its transaction until the iteration ends)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([name for name, _ in coll.csv])
    n = 0
    async for record in conn.cursor(plan.sql, *plan.args, prefetch=CSV_BATCH):
        row = coll.row(dict(record))
        writer.writerow([csv_cell(get(row)) for _, get in coll.csv])
        n += 1
        if n % CSV_BATCH == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()

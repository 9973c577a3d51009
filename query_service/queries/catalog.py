"""Reads of registry, organisations, users and programmes: plain SQL, keyset pagination."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from query_service.queries.callers import Caller

MAX_PAGE = 200


def _row(r: asyncpg.Record) -> dict[str, Any]:
    return dict(r)


async def registry_info(conn: asyncpg.Connection, s: str) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT * FROM {s}.registry_info WHERE id = 1")
    return None if r is None else _row(r)


async def organisations(
    conn: asyncpg.Connection, s: str, *, role: str | None, state: str | None, after: int, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT * FROM {s}.organisations WHERE company_id > $1"
        " AND ($2::text IS NULL OR role = $2) AND ($3::text IS NULL OR state = $3)"
        " ORDER BY company_id LIMIT $4",
        after,
        role,
        state,
        limit,
    )
    return [_row(r) for r in rows]


async def organisation(conn: asyncpg.Connection, s: str, company_id: int) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT * FROM {s}.organisations WHERE company_id = $1", company_id)
    return None if r is None else _row(r)


async def users(
    conn: asyncpg.Connection,
    s: str,
    caller: Caller,
    *,
    company_id: int | None,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    only_company = None if caller.sees_all_users else caller.company_id
    rows = await conn.fetch(
        f"SELECT * FROM {s}.users WHERE user_id > $1"
        " AND ($2::int IS NULL OR company_id = $2) AND ($3::int IS NULL OR company_id = $3)"
        " ORDER BY user_id LIMIT $4",
        after,
        only_company,
        company_id,
        limit,
    )
    return [_row(r) for r in rows]


def _programme(r: asyncpg.Record) -> dict[str, Any]:
    d = dict(r)
    d["properties"] = orjson.loads(d["properties"])
    d["proponent_percentages"] = [str(p) for p in d["proponent_percentages"]]
    return d


async def programmes(
    conn: asyncpg.Connection,
    s: str,
    *,
    stage: str | None,
    sector: str | None,
    company_id: int | None,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT * FROM {s}.programmes WHERE created_seq > $1"
        " AND ($2::text IS NULL OR stage = $2) AND ($3::text IS NULL OR sector = $3)"
        " AND ($4::int IS NULL OR proponent_company_ids @> ARRAY[$4::int])"
        " ORDER BY created_seq LIMIT $5",
        after,
        stage,
        sector,
        company_id,
        limit,
    )
    return [_programme(r) for r in rows]


async def programme(conn: asyncpg.Connection, s: str, programme_id: str) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT * FROM {s}.programmes WHERE programme_id = $1", programme_id)
    return None if r is None else _programme(r)


async def timeline(
    conn: asyncpg.Connection, s: str, programme_id: str, after: int, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT seq, type, actor_user_id, occurred_at, payload FROM {s}.programme_timeline"
        " WHERE programme_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        programme_id,
        after,
        limit,
    )
    out = []
    for r in rows:
        d = dict(r)
        d["payload"] = orjson.loads(d["payload"])
        out.append(d)
    return out

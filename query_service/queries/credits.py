"""Reads of the credit domain: blocks, holdings (derived from blocks), country accounts,
transfer and retirement requests, certifications, settings. Plain SQL, keyset pagination.

Unit numbers are unique country-wide, so a block's first unit orders and pages blocks.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from query_service.queries.callers import Caller

UNITS = "(range_end - range_start + 1)"
B_UNITS = "(b.range_end - b.range_start + 1)"
GOVERNMENT_ACCOUNTS = ("gov:local", "gov:international", "gov:omge")


def _block(r: asyncpg.Record) -> dict[str, Any]:
    d = dict(r)
    d["size"] = d["range_end"] - d["range_start"] + 1
    return d


async def blocks(
    conn: asyncpg.Connection,
    s: str,
    caller: Caller,
    *,
    programme_id: str | None,
    unit: int | None,
    company_id: int | None,
    account: str | None,
    state: str | None,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Blocks in serial order. Government, Ministry and Root see every block; other callers
    see their own organisation's blocks and retired ones (a retirement is a public record).
    With ``unit``: the one block holding it, found as the last block starting at or before
    it (blocks never overlap)."""
    source = f"{s}.credit_blocks"
    if unit is not None:
        source = (
            f"(SELECT * FROM {s}.credit_blocks WHERE range_start <= $3"
            f" ORDER BY range_start DESC LIMIT 1)"
        )
    rows = await conn.fetch(
        f"SELECT * FROM {source} b WHERE range_start > $1"
        " AND ($2::text IS NULL OR programme_id = $2)"
        " AND ($3::bigint IS NULL OR range_end >= $3)"
        " AND ($4::int IS NULL OR company_id = $4)"
        " AND ($5::text IS NULL OR account = $5)"
        " AND ($6::text IS NULL OR state = $6)"
        " AND ($7::int IS NULL OR company_id = $7 OR state = 'retired')"
        " ORDER BY range_start LIMIT $8",
        after,
        programme_id,
        unit,
        company_id,
        account,
        state,
        None if caller.sees_all_users else caller.company_id,
        limit,
    )
    return [_block(r) for r in rows]


async def holdings(conn: asyncpg.Connection, s: str, company_id: int) -> list[dict[str, Any]]:
    """What an organisation holds, per account and programme: sums over its live blocks."""
    rows = await conn.fetch(
        f"SELECT b.account, b.programme_id, p.title AS programme_title, p.serial_no,"
        f" sum({B_UNITS})::bigint AS total,"
        f" coalesce(sum({B_UNITS}) FILTER (WHERE b.state = 'active'), 0)::bigint AS available,"
        f" coalesce(sum({B_UNITS}) FILTER (WHERE b.state = 'frozen'), 0)::bigint AS frozen,"
        f" count(*)::int AS blocks"
        f" FROM {s}.credit_blocks b JOIN {s}.programmes p USING (programme_id)"
        f" WHERE b.company_id = $1 AND b.state <> 'retired'"
        f" GROUP BY b.account, b.programme_id, p.title, p.serial_no"
        f" ORDER BY b.programme_id, b.account",
        company_id,
    )
    return [dict(r) for r in rows]


async def country_accounts(conn: asyncpg.Connection, s: str) -> dict[str, Any]:
    """The country ledger: the unit counter, the Government's accounts, the totals."""
    programmes = await conn.fetchrow(
        f"SELECT coalesce(max(range_end), 0)::bigint AS serial_counter,"
        f" coalesce(sum(credit_issued), 0)::bigint AS issued,"
        f" count(*) FILTER (WHERE stage = 'Authorised')::int AS authorised_programmes"
        f" FROM {s}.programmes"
    )
    rows = await conn.fetch(
        f"SELECT account, sum({UNITS})::bigint AS total, count(*)::int AS blocks"
        f" FROM {s}.credit_blocks WHERE account = ANY($1::text[]) OR account = 'retired'"
        f" GROUP BY account",
        [*GOVERNMENT_ACCOUNTS],
    )
    by_account = {r["account"]: r for r in rows}
    accounts = [
        {
            "account": name,
            "total": int(by_account[name]["total"]) if name in by_account else 0,
            "blocks": int(by_account[name]["blocks"]) if name in by_account else 0,
        }
        for name in GOVERNMENT_ACCOUNTS
    ]
    retired = by_account.get("retired")
    return {
        "serial_counter": int(programmes["serial_counter"]),
        "issued": int(programmes["issued"]),
        "authorised_programmes": int(programmes["authorised_programmes"]),
        "retired": int(retired["total"]) if retired else 0,
        "accounts": accounts,
    }


def _request(r: asyncpg.Record) -> dict[str, Any]:
    d = dict(r)
    if d["omge_percentage"] is not None:
        d["omge_percentage"] = str(d["omge_percentage"])
    return d


async def credit_requests(
    conn: asyncpg.Connection,
    s: str,
    caller: Caller,
    *,
    kind: str,
    programme_id: str | None,
    status: str | None,
    company_id: int | None,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Requests of one kind. Government, Ministry and Root see all; others see those their
    organisation sends, receives or asked for."""
    own = None if caller.sees_all_users else caller.company_id
    rows = await conn.fetch(
        f"SELECT * FROM {s}.credit_requests WHERE kind = $1 AND request_id > $2"
        " AND ($3::text IS NULL OR programme_id = $3)"
        " AND ($4::text IS NULL OR status = $4)"
        " AND ($5::int IS NULL OR $5 IN (from_company_id, to_company_id, initiator_company_id))"
        " AND ($6::int IS NULL OR $6 IN (from_company_id, to_company_id, initiator_company_id))"
        " ORDER BY request_id LIMIT $7",
        kind,
        after,
        programme_id,
        status,
        company_id,
        own,
        limit,
    )
    return [_request(r) for r in rows]


async def credit_request(
    conn: asyncpg.Connection, s: str, caller: Caller, kind: str, request_id: int
) -> dict[str, Any] | None:
    rows = await credit_requests(
        conn,
        s,
        caller,
        kind=kind,
        programme_id=None,
        status=None,
        company_id=None,
        after=request_id - 1,
        limit=1,
    )
    return rows[0] if rows and rows[0]["request_id"] == request_id else None


async def certifications(
    conn: asyncpg.Connection, s: str, programme_id: str
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT c.*, o.name AS certifier_name FROM {s}.certifications c"
        f" JOIN {s}.organisations o ON o.company_id = c.certifier_id"
        f" WHERE c.programme_id = $1 ORDER BY c.certifier_id",
        programme_id,
    )
    return [dict(r) for r in rows]


async def settings(conn: asyncpg.Connection, s: str) -> dict[str, Any]:
    r = await conn.fetchrow(f"SELECT * FROM {s}.registry_settings WHERE id = 1")
    if r is None:
        return {"transfers_frozen": False, "omge_percentage": "0", "updated_seq": None}
    return {
        "transfers_frozen": r["transfers_frozen"],
        "omge_percentage": str(r["omge_percentage"]),
        "updated_seq": r["updated_seq"],
    }


async def mitigation_actions(
    conn: asyncpg.Connection, s: str, programme_id: str
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT * FROM {s}.mitigation_actions WHERE programme_id = $1 ORDER BY action_id",
        programme_id,
    )
    out = []
    for r in rows:
        d = dict(r)
        d["inputs"] = orjson.loads(d["inputs"])
        if d["system_estimated_credits"] is not None:
            d["system_estimated_credits"] = str(d["system_estimated_credits"])
        out.append(d)
    return out

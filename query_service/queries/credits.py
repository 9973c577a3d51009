"""Reads of the credit domain: holdings (derived from blocks), country accounts,
certifications, settings, mitigation actions. Blocks and requests are generic collections
(``collections.py``)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

UNITS = "(range_end - range_start + 1)"
B_UNITS = "(b.range_end - b.range_start + 1)"
GOVERNMENT_ACCOUNTS = ("gov:local", "gov:international", "gov:omge")


async def holdings(
    conn: asyncpg.Connection,
    s: str,
    company_id: int,
    limit: int | None = None,
    after: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """What an organisation holds, per account and programme: sums over its live blocks,
    by programme and account; with ``limit``, at most that many from after ``after``
    (a (programme_id, account) pair)."""
    args: list[Any] = [company_id]
    page = ""
    if after is not None:
        args += list(after)
        page = " AND (b.programme_id, b.account) > ($2::text, $3::text)"
    rows = await conn.fetch(
        f"SELECT b.account, b.programme_id, p.title AS programme_title, p.serial_no,"
        f" sum({B_UNITS})::bigint AS total,"
        f" coalesce(sum({B_UNITS}) FILTER (WHERE b.state = 'active'), 0)::bigint AS available,"
        f" coalesce(sum({B_UNITS}) FILTER (WHERE b.state = 'frozen'), 0)::bigint AS frozen,"
        f" count(*)::int AS blocks"
        f" FROM {s}.credit_blocks b JOIN {s}.programmes p USING (programme_id)"
        f" WHERE b.company_id = $1 AND b.state <> 'retired'{page}"
        f" GROUP BY b.programme_id, b.account, p.title, p.serial_no"
        f" ORDER BY b.programme_id, b.account"
        f"{'' if limit is None else f' LIMIT {int(limit)}'}",
        *args,
    )
    return [dict(r) for r in rows]


async def holding_totals(conn: asyncpg.Connection, s: str, company_id: int) -> dict[str, int]:
    """An organisation's live units: total, available (active) and frozen."""
    row = await conn.fetchrow(
        f"SELECT coalesce(sum({UNITS}), 0)::bigint AS total,"
        f" coalesce(sum({UNITS}) FILTER (WHERE state = 'active'), 0)::bigint AS available,"
        f" coalesce(sum({UNITS}) FILTER (WHERE state = 'frozen'), 0)::bigint AS frozen"
        f" FROM {s}.credit_blocks WHERE company_id = $1 AND state <> 'retired'",
        company_id,
    )
    return {k: int(row[k]) for k in ("total", "available", "frozen")}


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

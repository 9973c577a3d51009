"""Time travel: holdings, blocks, the country accounts and credit statistics as of a seq.

Answered from the history the projector keeps in the same transaction as the current read
models (projector_service/projections/history.py), never by replaying events:

* ``credit_block_history``: one row per version of a block, valid for
  ``valid_from_seq <= seq < valid_to_seq`` (``valid_to_seq`` NULL: still current). The
  blocks as of a seq are the versions valid at it; holdings and balances are sums over them.
* ``event_times``: the events that moved the log's clock forward. The state as of a time T
  is the state just before the first event that happened after T.
* ``aef_actions``: one row per block movement (issuance, transfer, retirement). Issued and
  retired totals as of a seq are sums over the rows up to it (units never disappear, and a
  retired unit never moves again), so statistics need no scan of every block.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from query_service.queries import visibility
from query_service.queries.filters import Params

UNITS = "(h.range_end - h.range_start + 1)"
GOVERNMENT_ACCOUNTS = ("gov:local", "gov:international", "gov:omge")
RETIRING_ACTIONS = ["retire", "crossBoarderTransfer"]


def valid_at(add: Any, seq: int, h: str = "h") -> str:
    """SQL: the version ``h`` is the one valid at ``seq``."""
    p = add(seq, "bigint")
    return f"{h}.valid_from_seq <= {p} AND ({h}.valid_to_seq IS NULL OR {h}.valid_to_seq > {p})"


async def seq_at_time(conn: asyncpg.Connection, s: str, at: datetime, applied: int) -> int:
    """The last seq of the state as of ``at``: just before the first event after it (the
    applied seq if none of the applied events happened after ``at``)."""
    first_after = await conn.fetchval(
        f"SELECT seq FROM {s}.event_times WHERE occurred_at > $1 ORDER BY occurred_at LIMIT 1",
        at,
    )
    return applied if first_after is None else int(first_after) - 1


async def time_of_seq(conn: asyncpg.Connection, s: str, seq: int) -> datetime | None:
    """The log's clock at ``seq`` (when its latest event up to ``seq`` happened)."""
    at: datetime | None = await conn.fetchval(
        f"SELECT occurred_at FROM {s}.event_times WHERE seq <= $1 ORDER BY seq DESC LIMIT 1",
        seq,
    )
    return at


async def holdings(
    conn: asyncpg.Connection, s: str, company_id: int, account: str | None, seq: int
) -> list[dict[str, Any]]:
    """What an organisation held at ``seq``, per account and programme."""
    q = Params()
    acc = q.add(account, "text")
    rows = await conn.fetch(
        f"SELECT h.account, h.programme_id, p.title AS programme_title, p.serial_no,"
        f" sum({UNITS})::bigint AS total,"
        f" coalesce(sum({UNITS}) FILTER (WHERE h.state = 'active'), 0)::bigint AS available,"
        f" coalesce(sum({UNITS}) FILTER (WHERE h.state = 'frozen'), 0)::bigint AS frozen,"
        f" count(*)::int AS blocks"
        f" FROM {s}.credit_block_history h JOIN {s}.programmes p USING (programme_id)"
        f" WHERE h.company_id = {q.add(company_id, 'int')} AND {valid_at(q.add, seq)}"
        f" AND h.state <> 'retired'"
        f" AND ({acc} IS NULL OR h.account = {acc})"
        f" GROUP BY h.account, h.programme_id, p.title, p.serial_no"
        f" ORDER BY h.programme_id, h.account",
        *q.values,
    )
    return [dict(r) for r in rows]


async def blocks(
    conn: asyncpg.Connection,
    s: str,
    viewer: visibility.Viewer,
    *,
    seq: int,
    programme_id: str | None,
    unit: int | None,
    company_id: int | None,
    state: str | None,
    after: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The blocks as they were at ``seq``, lowest serial first, with the visibility of the
    current blocks (one's own, retired ones; everything for the Government and Root). With
    ``unit``: the block that held it."""
    q = Params()
    where = [valid_at(q.add, seq), f"h.range_start > {q.add(after, 'bigint')}"]
    if unit is not None:
        # Units are unique country-wide: the unit's programme is the one whose range holds it.
        u = q.add(unit, "bigint")
        where.append(
            f"h.programme_id = (SELECT programme_id FROM {s}.programmes"
            f" WHERE range_start <= {u} AND range_end >= {u} LIMIT 1)"
        )
        where.append(f"h.range_start <= {u} AND h.range_end >= {u}")
    if programme_id is not None:
        where.append(f"h.programme_id = {q.add(programme_id, 'text')}")
    if company_id is not None:
        where.append(f"h.company_id = {q.add(company_id, 'int')}")
    if state is not None:
        where.append(f"h.state = {q.add(state, 'text')}")
    seen = visibility.blocks(viewer, q.add, "h")
    if seen is not None:
        where.append(seen)
    rows = await conn.fetch(
        f"SELECT h.block_id, h.programme_id, h.serial_no, h.range_start, h.range_end,"
        f" {UNITS} AS size, h.account, h.company_id, h.state, h.vintage, h.valid_from_seq,"
        f" h.valid_to_seq FROM {s}.credit_block_history h WHERE {' AND '.join(where)}"
        f" ORDER BY h.range_start LIMIT {q.add(limit, 'int')}",
        *q.values,
    )
    return [dict(r) for r in rows]


async def country_accounts(conn: asyncpg.Connection, s: str, seq: int) -> dict[str, Any]:
    """The country ledger as it stood at ``seq``."""
    info = await conn.fetchrow(f"SELECT government_company_id FROM {s}.registry_info")
    gov = int(info["government_company_id"]) if info else 0
    programmes = await conn.fetchrow(
        f"SELECT coalesce(max(range_end), 0)::bigint AS serial_counter,"
        f" count(*)::int AS authorised_programmes"
        f" FROM {s}.programmes WHERE authorised_seq <= $1",
        seq,
    )
    issued = await conn.fetchval(
        f"SELECT coalesce(sum(amount), 0)::bigint FROM {s}.aef_actions"
        f" WHERE action_type = 'authorization' AND seq <= $1",
        seq,
    )
    q = Params()
    rows = await conn.fetch(
        f"SELECT h.account, sum({UNITS})::bigint AS total, count(*)::int AS blocks"
        f" FROM {s}.credit_block_history h"
        f" WHERE (h.company_id = {q.add(gov, 'int')} OR h.company_id IS NULL)"
        f" AND {valid_at(q.add, seq)}"
        f" AND h.account = ANY({q.add([*GOVERNMENT_ACCOUNTS, 'retired'], 'text[]')})"
        f" GROUP BY h.account",
        *q.values,
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
        "issued": int(issued),
        "authorised_programmes": int(programmes["authorised_programmes"]),
        "retired": int(retired["total"]) if retired else 0,
        "accounts": accounts,
    }


async def credit_stats(
    conn: asyncpg.Connection, s: str, seq: int, programme_id: str | None
) -> list[dict[str, Any]]:
    """Issued, held (available and frozen) and retired units per programme at ``seq``.

    Issued and retired are sums of the AEF actions up to ``seq``; frozen is a sum over the
    frozen block versions valid at ``seq`` (frozen versions are few); held = issued -
    retired, available = held - frozen."""
    rows = await conn.fetch(
        f"WITH moved AS ("
        f" SELECT programme_id,"
        f" coalesce(sum(amount) FILTER (WHERE action_type = 'authorization'), 0) AS issued,"
        f" coalesce(sum(amount) FILTER (WHERE action_type = ANY($3::text[])), 0) AS retired,"
        f" coalesce(sum(amount) FILTER (WHERE action_type = 'transfer'), 0) AS transferred"
        f" FROM {s}.aef_actions WHERE seq <= $1 AND ($2::text IS NULL OR programme_id = $2)"
        f" GROUP BY programme_id),"
        f" frozen AS (SELECT programme_id, sum({UNITS}) AS frozen"
        f" FROM {s}.credit_block_history h WHERE h.state = 'frozen'"
        f" AND h.valid_from_seq <= $1 AND (h.valid_to_seq IS NULL OR h.valid_to_seq > $1)"
        f" AND ($2::text IS NULL OR h.programme_id = $2) GROUP BY programme_id)"
        f" SELECT m.programme_id, p.title AS programme_title, p.sector, p.sectoral_scope,"
        f" m.issued::bigint, m.transferred::bigint, m.retired::bigint,"
        f" (m.issued - m.retired)::bigint AS held,"
        f" coalesce(f.frozen, 0)::bigint AS frozen,"
        f" (m.issued - m.retired - coalesce(f.frozen, 0))::bigint AS available"
        f" FROM moved m JOIN {s}.programmes p USING (programme_id)"
        f" LEFT JOIN frozen f USING (programme_id) ORDER BY m.programme_id",
        seq,
        programme_id,
        RETIRING_ACTIONS,
    )
    return [dict(r) for r in rows]

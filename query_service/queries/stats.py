"""Dashboard statistics (domain.md 10.2): programme and credit aggregates by stage and by
sector, my credits, pending transfers, certifications, programme locations as GeoJSON and
cross-border retirement destinations.

Every statistic runs inside the caller's snapshot and sees only the programmes the caller
may see (``visibility.programmes``; the public ones when there is no caller). Credits are
whole units:

* ``credit_est`` / ``issued``: the programme's estimate and issued units;
* ``balance``: units held in blocks, not retired (active or frozen); ``frozen``: of those,
  the frozen ones;
* ``transferred``: units moved by executed transfers; ``retired``: units retired by
  recognised retirements (the OMGE share included).

``only_mine`` narrows to the caller's organisation: its programmes (as a proponent), its
share of the estimate (by proponent percentage), the units issued to it, its blocks, its
executed transfers and retirements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from query_service.queries import visibility as vis
from query_service.queries.filters import Params
from query_service.queries.regions import find_region

TimeGroup = Literal["day", "week", "month"]
UNITS = "(b.range_end - b.range_start + 1)"
AGGREGATES = ("count", "credit_est", "issued", "balance", "retired", "transferred", "frozen")


@dataclass(frozen=True)
class StatFilter:
    start: datetime | None = None  # inclusive, on the created / occurred time
    end: datetime | None = None  # exclusive
    time_group: TimeGroup | None = None
    only_mine: bool = False
    tz_offset_minutes: int = 0


Stat = Callable[[asyncpg.Connection, str, vis.Viewer | None, StatFilter], Any]


def visible_programmes(v: vis.Viewer | None, p: Params, alias: str = "p") -> list[str]:
    if v is None:
        return [vis.public_programmes(p.add, alias)]
    rule = vis.programmes(v, p.add, alias)
    return [] if rule is None else [rule]


def in_range(col: str, f: StatFilter, p: Params) -> list[str]:
    out = []
    if f.start is not None:
        out.append(f"{col} >= {p.add(f.start, 'timestamptz')}")
    if f.end is not None:
        out.append(f"{col} < {p.add(f.end, 'timestamptz')}")
    return out


def local_time(col: str, f: StatFilter, p: Params) -> str:
    """``col`` as a wall-clock time at the caller's UTC offset."""
    offset = p.add(f.tz_offset_minutes, "int")
    return f"(({col} AT TIME ZONE 'UTC') + make_interval(mins => {offset}))"


def period(col: str, f: StatFilter, p: Params) -> str:
    return f"date_trunc({p.add(f.time_group, 'text')}, {local_time(col, f, p)})::date"


def where(parts: list[str]) -> str:
    return " WHERE " + " AND ".join(parts) if parts else ""


def mine(v: vis.Viewer | None, f: StatFilter) -> int | None:
    return v.company_id if (v is not None and f.only_mine) else None


# ---- programme aggregates ---------------------------------------------------------------------


def programme_aggregates_sql(
    s: str,
    v: vis.Viewer | None,
    f: StatFilter,
    key: str,
    *,
    authorised_only: bool = False,
    series: bool = False,
) -> tuple[str, list[Any]]:
    """Aggregates per ``key`` (stage or sector), optionally per time period as well."""
    if key not in ("stage", "sector"):
        raise ValueError(key)
    p = Params()
    me = mine(v, f)
    conds = visible_programmes(v, p) + in_range("p.created_at", f, p)
    if authorised_only:
        conds.append("p.stage = 'Authorised'")
    est = "p.credit_est"
    request_mine = ""
    issued = "vp.credit_issued"
    issued_cte = ""
    # Everyone's units: held = issued - retired (units only ever leave by retirement), so
    # only the frozen blocks are read (a partial index); one organisation's: its blocks.
    blocks_where = " WHERE b.state = 'frozen'"
    balance = "vp.credit_issued - vp.credit_retired"
    # Everyone's transfers and retirements: the projector keeps them on the programme row.
    transferred, retired = "vp.credit_transferred", "vp.credit_retired"
    req_cte = ""
    if me is not None:
        m = p.add(me, "int")
        conds.append(f"p.proponent_company_ids @> ARRAY[{m}]")
        est = (
            f"round(p.credit_est * coalesce(p.proponent_percentages"
            f"[array_position(p.proponent_company_ids, {m})], 0) / 100)"
        )
        blocks_where = f" WHERE b.company_id = {m}"
        balance = "blk.balance"
        request_mine = f" AND r.from_company_id = {m}"
        transferred, retired = "req.transferred", "req.retired"
        issued = "coalesce(iss.issued, 0)"
        issued_cte = (
            f", iss AS (SELECT t.programme_id, sum((x->>'end')::bigint - (x->>'start')::bigint"
            f" + 1) AS issued FROM {s}.programme_timeline t JOIN vp USING (programme_id),"
            f" jsonb_array_elements((t.payload->'blocks')::jsonb) x WHERE t.type = 'CreditsIssued'"
            f" AND (x->>'company_id')::int = {m} GROUP BY t.programme_id)"
        )
    group = "vp.key"
    select_period = ""
    if series:
        select_period = f"{period('vp.created_at', f, p)} AS period, "
        group = "1, 2"
    # Everyone's: only frozen blocks are read, all of them frozen (an index-only scan of the
    # partial index credit_blocks_frozen); one organisation's: its blocks, by state.
    block_sums = f"NULL::bigint AS balance, sum({UNITS}) AS frozen"
    blocks_join = ""  # frozen blocks are few: all of them, then the join below
    if me is not None:
        blocks_join = " JOIN vp USING (programme_id)"
        block_sums = (
            f"sum({UNITS}) FILTER (WHERE b.state <> 'retired') AS balance,"
            f" sum({UNITS}) FILTER (WHERE b.state = 'frozen') AS frozen"
        )
        req_cte = (
            f", req AS (SELECT r.programme_id,"
            f" sum(r.amount) FILTER (WHERE r.kind = 'transfer' AND r.status = 'Approved')"
            f" AS transferred,"
            f" sum(r.amount) FILTER (WHERE r.kind = 'retirement' AND r.status = 'Recognised')"
            f" AS retired FROM {s}.credit_requests r JOIN vp USING (programme_id)"
            f" WHERE TRUE{request_mine} GROUP BY r.programme_id)"
        )
    sql = (
        f"WITH vp AS (SELECT p.programme_id, p.{key} AS key, p.created_at, p.credit_issued,"
        f" p.credit_transferred, p.credit_retired,"
        f" {est}::bigint AS credit_est FROM {s}.programmes p{where(conds)}),"
        f" blk AS (SELECT b.programme_id, {block_sums}"
        f" FROM {s}.credit_blocks b{blocks_join}"
        f"{blocks_where} GROUP BY b.programme_id){req_cte}{issued_cte}"
        f" SELECT {select_period}vp.key, count(*)::bigint AS count,"
        f" coalesce(sum(vp.credit_est), 0)::bigint AS credit_est,"
        f" coalesce(sum({issued}), 0)::bigint AS issued,"
        f" coalesce(sum({balance}), 0)::bigint AS balance,"
        f" coalesce(sum({retired}), 0)::bigint AS retired,"
        f" coalesce(sum({transferred}), 0)::bigint AS transferred,"
        f" coalesce(sum(blk.frozen), 0)::bigint AS frozen,"
        f" max(vp.created_at) AS last_created_at"
        f" FROM vp LEFT JOIN blk USING (programme_id)"
        f"{' LEFT JOIN req USING (programme_id)' if req_cte else ''}"
        f"{' LEFT JOIN iss USING (programme_id)' if issued_cte else ''}"
        f" GROUP BY {group} ORDER BY {group}"
    )
    return sql, p.values


def _totals(groups: list[dict[str, Any]]) -> dict[str, int]:
    return {a: sum(int(g[a]) for g in groups) for a in AGGREGATES}


async def programme_aggregates(
    conn: asyncpg.Connection,
    s: str,
    v: vis.Viewer | None,
    f: StatFilter,
    key: str,
    authorised_only: bool = False,
) -> dict[str, Any]:
    sql, args = programme_aggregates_sql(s, v, f, key, authorised_only=authorised_only)
    rows = [dict(r) for r in await conn.fetch(sql, *args)]
    last = max((r.pop("last_created_at") for r in rows), default=None)
    out: dict[str, Any] = {"groups": rows, "totals": _totals(rows), "last_created_at": last}
    if f.time_group is not None:
        sql, args = programme_aggregates_sql(
            s, v, f, key, authorised_only=authorised_only, series=True
        )
        series = [dict(r) for r in await conn.fetch(sql, *args)]
        for r in series:
            r.pop("last_created_at")
        out["series"] = series
    return out


async def programmes_by_status(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    return await programme_aggregates(conn, s, v, f, "stage")


async def programmes_by_sector(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    return await programme_aggregates(conn, s, v, f, "sector")


async def authorised_programmes(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """Authorised programmes only, by sector (with the totals of all of them)."""
    return await programme_aggregates(conn, s, v, f, "sector", authorised_only=True)


# ---- the caller's organisation ----------------------------------------------------------------


async def my_credits(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """What the caller's organisation holds per account (time filters do not apply: a
    holding is a state, not an event), and what it has sent, received and retired."""
    if v is None:
        raise ValueError("my-credits needs a caller")
    accounts = await conn.fetch(
        f"SELECT b.account, count(DISTINCT b.programme_id)::int AS programmes,"
        f" count(*)::int AS blocks, sum({UNITS})::bigint AS total,"
        f" coalesce(sum({UNITS}) FILTER (WHERE b.state = 'active'), 0)::bigint AS available,"
        f" coalesce(sum({UNITS}) FILTER (WHERE b.state = 'frozen'), 0)::bigint AS frozen"
        f" FROM {s}.credit_blocks b WHERE b.company_id = $1 AND b.state <> 'retired'"
        f" GROUP BY b.account ORDER BY b.account",
        v.company_id,
    )
    # Three sums, each an index-only scan of credit_requests_from / _to.
    moved = await conn.fetchrow(
        f"SELECT (SELECT coalesce(sum(amount), 0) FROM {s}.credit_requests"
        f"   WHERE from_company_id = $1 AND kind = 'transfer' AND status = 'Approved')::bigint"
        f"   AS sent,"
        f" (SELECT coalesce(sum(amount), 0) FROM {s}.credit_requests"
        f"   WHERE to_company_id = $1 AND kind = 'transfer' AND status = 'Approved')::bigint"
        f"   AS received,"
        f" (SELECT coalesce(sum(amount), 0) FROM {s}.credit_requests"
        f"   WHERE from_company_id = $1 AND kind = 'retirement' AND status = 'Recognised')::bigint"
        f"   AS retired",
        v.company_id,
    )
    rows = [dict(r) for r in accounts]
    return {
        "company_id": v.company_id,
        "accounts": rows,
        "total": sum(r["total"] for r in rows),
        "available": sum(r["available"] for r in rows),
        "frozen": sum(r["frozen"] for r in rows),
        **dict(moved),
    }


async def pending_transfers(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """Pending transfers the caller's organisation asked for, and those it must approve
    (it is the sender and someone else asked)."""
    if v is None:
        raise ValueError("pending-transfers needs a caller")
    p = Params()
    me = p.add(v.company_id, "int")
    conds = ["kind = 'transfer'", "status = 'Pending'", *in_range("created_at", f, p)]
    init = f"initiator_company_id = {me}"
    recv = f"from_company_id = {me} AND initiator_company_id <> {me}"
    row = await conn.fetchrow(
        f"SELECT count(*) FILTER (WHERE {init})::int AS initiated_count,"
        f" coalesce(sum(amount) FILTER (WHERE {init}), 0)::bigint AS initiated_amount,"
        f" count(*) FILTER (WHERE {recv})::int AS to_approve_count,"
        f" coalesce(sum(amount) FILTER (WHERE {recv}), 0)::bigint AS to_approve_amount,"
        f" max(created_at) FILTER (WHERE {init} OR {recv}) AS last_created_at"
        f" FROM {s}.credit_requests{where(conds)}",
        *p.values,
    )
    return {
        "initiated": {"count": row["initiated_count"], "amount": row["initiated_amount"]},
        "to_approve": {"count": row["to_approve_count"], "amount": row["to_approve_amount"]},
        "last_created_at": row["last_created_at"],
    }


async def certifications(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """Authorised programmes certified, revoked (no longer certified) and uncertified:
    by the caller's organisation (a Certifier, or ``only_mine``) or by anyone."""
    p = Params()
    by_me = v is not None and (f.only_mine or v.company_role == "Certifier")
    who = f" AND c.certifier_id = {p.add(v.company_id, 'int')}" if by_me and v else ""
    conds = ["p.stage = 'Authorised'", *visible_programmes(v, p), *in_range("p.created_at", f, p)]
    has = (
        "EXISTS (SELECT 1 FROM {s}.certifications c WHERE c.programme_id = p.programme_id"
        " AND c.state = '{state}'{who})"
    )
    row = await conn.fetchrow(
        f"SELECT"
        f" count(*) FILTER (WHERE cert)::int AS certified_count,"
        f" coalesce(sum(credit_est) FILTER (WHERE cert), 0)::bigint AS certified_credit_est,"
        f" count(*) FILTER (WHERE NOT cert AND rev)::int AS revoked_count,"
        f" coalesce(sum(credit_est) FILTER (WHERE NOT cert AND rev), 0)::bigint"
        f" AS revoked_credit_est,"
        f" count(*) FILTER (WHERE NOT cert AND NOT rev)::int AS uncertified_count,"
        f" coalesce(sum(credit_est) FILTER (WHERE NOT cert AND NOT rev), 0)::bigint"
        f" AS uncertified_credit_est"
        f" FROM (SELECT p.credit_est,"
        f" {has.format(s=s, state='certified', who=who)} AS cert,"
        f" {has.format(s=s, state='revoked', who=who)} AS rev"
        f" FROM {s}.programmes p{where(conds)}) x",
        *p.values,
    )
    return {
        "by": "mine" if by_me else "anyone",
        **{
            k: {"count": row[f"{k}_count"], "credit_est": row[f"{k}_credit_est"]}
            for k in ("certified", "revoked", "uncertified")
        },
    }


# ---- places -------------------------------------------------------------------------------


async def programme_locations(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one Point per (region, stage) with the number of
    programmes there. Locations that name no known region are left out."""
    p = Params()
    conds = visible_programmes(v, p) + in_range("p.created_at", f, p)
    me = mine(v, f)
    if me is not None:
        conds.append(f"p.proponent_company_ids @> ARRAY[{p.add(me, 'int')}]")
    rows = await conn.fetch(
        f"SELECT DISTINCT loc.name, p.stage, p.programme_id FROM {s}.programmes p,"
        f" jsonb_array_elements_text(p.properties->'geographical_location') AS loc(name)"
        f"{where(conds)}",
        *p.values,
    )
    groups: dict[tuple[str, str], set[str]] = {}
    places = {}
    for r in rows:
        region = find_region(r["name"])
        if region is None:
            continue
        places[region.name] = region
        groups.setdefault((region.name, r["stage"]), set()).add(r["programme_id"])
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [places[name].longitude, places[name].latitude],
            },
            "properties": {
                "region": name,
                "stage": stage,
                "count": len(ids),
                "programme_ids": sorted(ids),
            },
        }
        for (name, stage), ids in sorted(groups.items())
    ]
    return {"type": "FeatureCollection", "features": features}


async def retirement_destinations(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """Recognised cross-border retirements by destination country (count and units)."""
    p = Params()
    conds = [
        "r.kind = 'retirement'",
        "r.status = 'Recognised'",
        "r.retirement_type = 'cross_border'",
        *visible_programmes(v, p),
        *in_range("r.decided_at", f, p),
    ]
    me = mine(v, f)
    if me is not None:
        conds.append(f"r.from_company_id = {p.add(me, 'int')}")
    rows = await conn.fetch(
        f"SELECT r.country, count(*)::int AS count, sum(r.amount)::bigint AS credits,"
        f" coalesce(sum(r.omge_units), 0)::bigint AS omge, max(r.decided_at) AS last_at"
        f" FROM {s}.credit_requests r JOIN {s}.programmes p ON p.programme_id = r.programme_id"
        f"{where(conds)} GROUP BY r.country ORDER BY credits DESC, r.country",
        *p.values,
    )
    countries = [dict(r) for r in rows]
    return {
        "countries": countries,
        "count": sum(c["count"] for c in countries),
        "credits": sum(c["credits"] for c in countries),
    }

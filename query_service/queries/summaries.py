"""The summaries of domain.md 10.3: totals, the caller's pending actions, credits per local
day, and national accounting. Same visibility and filters as ``stats``."""

from __future__ import annotations

from typing import Any

import asyncpg

from libs.access_rules import Reach, write_reach
from query_service.queries import visibility as vis
from query_service.queries.filters import Params
from query_service.queries.stats import (
    StatFilter,
    in_range,
    local_time,
    mine,
    visible_programmes,
    where,
)

ITEM_LIMIT = 50
CREDIT_EVENTS = ("ProgrammeAuthorised", "CreditsIssued", "CreditsTransferred", "CreditsRetired")
DAY_COLUMNS = {
    "ProgrammeAuthorised": "authorised",
    "CreditsIssued": "issued",
    "CreditsTransferred": "transferred",
    "CreditsRetired": "retired",
}


async def summary(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """Programmes (by created time), credits issued and retired (by event time)."""
    p = Params()
    conds = visible_programmes(v, p)
    me = mine(v, f)
    m = p.add(me, "int") if me is not None else None
    prog = conds + in_range("p.created_at", f, p)
    issued_amount = "(t.payload->>'amount')::bigint"
    retired = ["r.kind = 'retirement'", "r.status = 'Recognised'", *conds]
    retired += in_range("r.decided_at", f, p)
    if m is not None:
        prog.append(f"p.proponent_company_ids @> ARRAY[{m}]")
        retired.append(f"r.from_company_id = {m}")
        issued_amount = (
            f"(SELECT coalesce(sum((x->>'end')::bigint - (x->>'start')::bigint + 1), 0)"
            f" FROM jsonb_array_elements((t.payload->'blocks')::jsonb) x"
            f" WHERE (x->>'company_id')::int = {m})"
        )
    issued = ["t.type = 'CreditsIssued'", *conds, *in_range("t.occurred_at", f, p)]
    # The programmes table is joined only when visibility needs it.
    join = f" JOIN {s}.programmes p USING (programme_id)" if conds else ""
    issued_sum = (
        f"(SELECT coalesce(sum({issued_amount}), 0)"
        f" FROM {s}.programme_timeline t{join}{where(issued)})"
    )
    if m is None and f.start is None and f.end is None:
        # Without a period, everything ever issued: the programmes' counters.
        issued_sum = (
            f"(SELECT coalesce(sum(p.credit_issued), 0) FROM {s}.programmes p{where(conds)})"
        )
    sql = (
        f"SELECT * FROM (SELECT count(*)::int AS programmes,"
        f" count(*) FILTER (WHERE p.stage = 'Authorised')::int AS authorised_programmes,"
        f" count(*) FILTER (WHERE p.stage IN ('AwaitingAuthorization', 'Approved'))::int"
        f" AS pending_programmes, max(p.created_at) AS last_programme_at"
        f" FROM {s}.programmes p{where(prog)}) a,"
        f" (SELECT {issued_sum}::bigint AS credits_issued,"
        f" (SELECT max(t.occurred_at) FROM {s}.programme_timeline t{join}{where(issued)})"
        f" AS last_issued_at) i,"
        f" (SELECT coalesce(sum(r.amount), 0)::bigint AS credits_retired,"
        f" max(r.decided_at) AS last_retired_at"
        f" FROM {s}.credit_requests r{join}{where(retired)}) r"
    )
    return dict(await conn.fetchrow(sql, *p.values))


async def credits_by_day(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """Per day (or ``time_group``: week, month; ``day`` is the period's first day) at the
    caller's UTC offset: units authorised (the reserved range), issued, transferred and
    retired, from the events' times."""
    p = Params()
    conds = [
        f"t.type = ANY({p.add(list(CREDIT_EVENTS), 'text[]')})",
        *visible_programmes(v, p),
        *in_range("t.occurred_at", f, p),
    ]
    amount = (
        "CASE t.type WHEN 'ProgrammeAuthorised' THEN (t.payload->>'range_end')::bigint"
        " - (t.payload->>'range_start')::bigint + 1 ELSE (t.payload->>'amount')::bigint END"
    )
    me = mine(v, f)
    if me is not None:
        m = p.add(me, "int")
        amount = (
            f"CASE t.type"
            f" WHEN 'ProgrammeAuthorised' THEN CASE WHEN p.proponent_company_ids @> ARRAY[{m}]"
            f" THEN (t.payload->>'range_end')::bigint - (t.payload->>'range_start')::bigint + 1"
            f" ELSE 0 END"
            f" WHEN 'CreditsIssued' THEN (SELECT coalesce(sum((x->>'end')::bigint"
            f" - (x->>'start')::bigint + 1), 0)"
            f" FROM jsonb_array_elements((t.payload->'blocks')::jsonb) x"
            f" WHERE (x->>'company_id')::int = {m})"
            f" ELSE CASE WHEN EXISTS (SELECT 1 FROM {s}.credit_requests r"
            f" WHERE r.request_id = (t.payload->>'request_id')::int AND (r.from_company_id = {m}"
            f" OR (t.type = 'CreditsTransferred' AND r.to_company_id = {m})))"
            f" THEN (t.payload->>'amount')::bigint ELSE 0 END END"
        )
    group = p.add(f.time_group or "day", "text")
    day = f"date_trunc({group}, {local_time('t.occurred_at', f, p)})::date"
    rows = await conn.fetch(
        f"SELECT {day} AS day, t.type, sum({amount})::bigint AS units"
        f" FROM {s}.programme_timeline t JOIN {s}.programmes p ON p.programme_id ="
        f" t.programme_id{where(conds)} GROUP BY 1, 2 ORDER BY 1, 2",
        *p.values,
    )
    days: dict[Any, dict[str, Any]] = {}
    for r in rows:
        entry = days.setdefault(
            r["day"], {"day": r["day"], **dict.fromkeys(DAY_COLUMNS.values(), 0)}
        )
        entry[DAY_COLUMNS[r["type"]]] += int(r["units"])
    series = list(days.values())
    totals = {c: sum(d[c] for d in series) for c in DAY_COLUMNS.values()}
    return {
        "tz_offset_minutes": f.tz_offset_minutes,
        "time_group": f.time_group or "day",
        "days": series,
        "totals": totals,
    }


async def pending_actions(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """What waits for the caller's organisation, newest first: Government and Ministry
    (Ministry: its sectoral scopes only) approve and authorise programmes, recognise
    retirements and approve transfers it sends; a developer approves transfers asked of
    it; a Certifier may certify programmes it has not certified. Who may act is
    ``libs.access_rules.WRITE_RULES`` (ViewOnly users act on nothing)."""
    if v is None:
        raise ValueError("pending-actions needs a caller")
    p = Params()
    me = p.add(v.company_id, "int")
    parts: list[str] = []
    programme = (
        "SELECT {kind}::text AS action, p.programme_id::text AS ref, p.programme_id,"
        " p.title, NULL::bigint AS amount, p.created_at AS since FROM {s}.programmes p"
    )

    def programmes_in(stages: str, extra: str = "") -> str:
        kind = p.add(stages.split("|")[0], "text")
        stage_list = p.add(stages.split("|")[1].split(","), "text[]")
        scope = ""
        if v is not None and v.company_role == "Ministry":
            scope = (
                f" AND p.sectoral_scope = ANY((SELECT sectoral_scopes FROM {s}.organisations"
                f" WHERE company_id = {me}))"
            )
        return (
            programme.format(kind=kind, s=s) + f" WHERE p.stage = ANY({stage_list}){scope}{extra}"
        )

    def requests(action: str, cond: str) -> str:
        return (
            f"SELECT {p.add(action, 'text')} AS action, r.request_id::text AS ref,"
            f" r.programme_id, pr.title, r.amount, r.created_at AS since"
            f" FROM {s}.credit_requests r JOIN {s}.programmes pr"
            f" ON pr.programme_id = r.programme_id WHERE r.status = 'Pending' AND {cond}"
        )

    def may(action: str) -> bool:
        return v is not None and write_reach(action, v.role, v.company_role) > Reach.NONE

    if may("programme.decide"):
        parts.append(programmes_in("programme.approve|AwaitingAuthorization"))
        parts.append(programmes_in("programme.authorise|Approved"))
    if may("credits.decide_retirement"):
        parts.append(requests("retirement.recognise", "r.kind = 'retirement'"))
    if may("credits.manage_transfer"):
        parts.append(
            requests(
                "transfer.approve",
                f"r.kind = 'transfer' AND r.from_company_id = {me}"
                f" AND r.initiator_company_id <> {me}",
            )
        )
    if may("programme.certify") and v.company_role == "Certifier":
        parts.append(
            programmes_in(
                "programme.certify|Authorised,Approved,AwaitingAuthorization",
                f" AND NOT EXISTS (SELECT 1 FROM {s}.certifications c WHERE"
                f" c.programme_id = p.programme_id AND c.certifier_id = {me}"
                f" AND c.state = 'certified')",
            )
        )
    if not parts:
        return {"counts": {}, "total": 0, "items": []}
    union = " UNION ALL ".join(f"({q})" for q in parts)
    counts = await conn.fetch(
        f"SELECT action, count(*)::int AS n FROM ({union}) a GROUP BY action ORDER BY action",
        *p.values,
    )
    items = await conn.fetch(
        f"SELECT * FROM ({union}) a ORDER BY since DESC, action, ref LIMIT {ITEM_LIMIT}",
        *p.values,
    )
    by_action = {r["action"]: r["n"] for r in counts}
    return {
        "counts": by_action,
        "total": sum(by_action.values()),
        "items": [dict(r) for r in items],
    }


async def national_accounting(
    conn: asyncpg.Connection, s: str, v: vis.Viewer | None, f: StatFilter
) -> dict[str, Any]:
    """The country's credit accounts over a period: units authorised (the estimates of
    authorised programmes), issued and retired, with the last time of each, and
    cross-border retirements by destination country. Government, Ministry and Root."""
    range_end = "(t.payload->>'range_end')::bigint"
    range_start = "(t.payload->>'range_start')::bigint"
    everything = f.start is None and f.end is None
    totals = {}
    for name, kind, amount, counter in (
        (
            "authorised",
            "ProgrammeAuthorised",
            f"{range_end} - {range_start} + 1",
            "range_end - range_start + 1",
        ),
        ("issued", "CreditsIssued", "(t.payload->>'amount')::bigint", "credit_issued"),
    ):
        p = Params()
        conds = [f"t.type = {p.add(kind, 'text')}", *in_range("t.occurred_at", f, p)]
        units = f"(SELECT coalesce(sum({amount}), 0) FROM {s}.programme_timeline t{where(conds)})"
        if everything:  # the programmes' own counters, instead of reading every event
            units = f"(SELECT coalesce(sum({counter}), 0) FROM {s}.programmes)"
        row = await conn.fetchrow(
            f"SELECT {units}::bigint AS units, (SELECT count(*) FROM {s}.programme_timeline t"
            f"{where(conds)})::int AS events, (SELECT max(t.occurred_at)"
            f" FROM {s}.programme_timeline t{where(conds)}) AS last_at",
            *p.values,
        )
        totals[name] = dict(row)
    p = Params()
    conds = ["r.kind = 'retirement'", "r.status = 'Recognised'"]
    conds += in_range("r.decided_at", f, p)
    retired_rows = await conn.fetch(
        f"SELECT r.retirement_type, r.country, count(*)::int AS count,"
        f" sum(r.amount)::bigint AS units, coalesce(sum(r.omge_units), 0)::bigint AS omge,"
        f" max(r.decided_at) AS last_at FROM {s}.credit_requests r{where(conds)}"
        f" GROUP BY 1, 2 ORDER BY 1, 2",
        *p.values,
    )
    rows = [dict(r) for r in retired_rows]
    by_type: dict[str, dict[str, Any]] = {}
    for r in rows:
        t = by_type.setdefault(r["retirement_type"], {"count": 0, "units": 0})
        t["count"] += r["count"]
        t["units"] += r["units"]
    return {
        "authorised": totals["authorised"],
        "issued": totals["issued"],
        "retired": {
            "units": sum(r["units"] for r in rows),
            "count": sum(r["count"] for r in rows),
            "omge": sum(r["omge"] for r in rows),
            "last_at": max((r["last_at"] for r in rows), default=None),
            "by_type": by_type,
        },
        "cross_border_by_country": [
            {k: r[k] for k in ("country", "count", "units", "omge", "last_at")}
            for r in rows
            if r["retirement_type"] == "cross_border"
        ],
    }

"""Statistics (domain.md 10.2 and 10.3): ``GET /v1/stats/<name>`` with query parameters,
``POST /v1/stats/<name>`` with the same as a JSON body, and ``POST /v1/stats`` for several
at once (all from one snapshot). Every answer says its ``seq``.

Filters: ``start`` / ``end`` (ISO 8601; on the created time of programmes and the time of
credit events), ``time_group`` (day, week or month: a series as well), ``only_mine`` (the
caller's organisation) and ``tz_offset_minutes`` (the caller's UTC offset, for days).
(No ``from __future__ import annotations``: the routes are built in a loop.)
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from libs.http.problems import Problem
from query_service.api.cached import cached_answer
from query_service.api.deps import CallerDep, ConsistencyDep, DepsDep
from query_service.api.seq import seq_header
from query_service.queries import stats, summaries, visibility
from query_service.queries.callers import Caller
from query_service.queries.reads import read_at_least
from query_service.queries.stats import StatFilter, TimeGroup

router = APIRouter(prefix="/v1/stats", tags=["statistics"])

StatFn = Callable[[asyncpg.Connection, str, visibility.Viewer | None, StatFilter], Awaitable[Any]]

STATS: dict[str, tuple[StatFn, str]] = {
    "programmes-by-status": (
        stats.programmes_by_status,
        "Programmes and their credits by stage: count, Σ estimate, issued, balance, retired, "
        "transferred, frozen.",
    ),
    "programmes-by-sector": (stats.programmes_by_sector, "The same aggregates by sector."),
    "authorised-programmes": (
        stats.authorised_programmes,
        "Authorised programmes only, by sector.",
    ),
    "my-credits": (stats.my_credits, "The caller's organisation's holdings per account."),
    "pending-transfers": (
        stats.pending_transfers,
        "Pending transfers the caller's organisation asked for / must approve.",
    ),
    "certifications": (
        stats.certifications,
        "Authorised programmes certified, revoked and uncertified (by me, for a Certifier).",
    ),
    "programme-locations": (
        stats.programme_locations,
        "Programme locations as a GeoJSON FeatureCollection (a point per region and stage).",
    ),
    "retirement-destinations": (
        stats.retirement_destinations,
        "Recognised cross-border retirements by destination country.",
    ),
    "summary": (summaries.summary, "Totals: programmes, credits issued, credits retired."),
    "pending-actions": (
        summaries.pending_actions,
        "What waits for the caller's organisation, newest first.",
    ),
    "credits-by-day": (
        summaries.credits_by_day,
        "Units authorised, issued, transferred and retired per day at `tz_offset_minutes`.",
    ),
    "national-accounting": (
        summaries.national_accounting,
        "Σ authorised estimate, issued, retired, cross-border by country (Government only).",
    ),
}
RESTRICTED = {"national-accounting": visibility.reads_national_accounting}
StatName = Literal[
    "programmes-by-status",
    "programmes-by-sector",
    "authorised-programmes",
    "my-credits",
    "pending-transfers",
    "certifications",
    "programme-locations",
    "retirement-destinations",
    "summary",
    "pending-actions",
    "credits-by-day",
    "national-accounting",
]


class StatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime | None = None
    end: datetime | None = None
    time_group: TimeGroup | None = None
    only_mine: bool = False
    tz_offset_minutes: Annotated[int, Field(ge=-840, le=840)] = 0

    def filter(self) -> StatFilter:
        def utc(t: datetime | None) -> datetime | None:
            return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t

        return StatFilter(
            utc(self.start), utc(self.end), self.time_group, self.only_mine, self.tz_offset_minutes
        )


class StatRequest(StatBody):
    type: StatName


class StatsBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stats: Annotated[list[StatRequest], Field(min_length=1, max_length=20)]


class StatAnswer(BaseModel):
    seq: int
    data: Any


def stat_params(
    start: Annotated[datetime | None, Query(description="From (ISO 8601, inclusive).")] = None,
    end: Annotated[datetime | None, Query(description="Until (ISO 8601, exclusive).")] = None,
    time_group: Annotated[TimeGroup | None, Query(description="day, week or month.")] = None,
    only_mine: Annotated[bool, Query(description="Only the caller's organisation.")] = False,
    tz_offset_minutes: Annotated[int, Query(ge=-840, le=840)] = 0,
) -> StatBody:
    return StatBody(
        start=start,
        end=end,
        time_group=time_group,
        only_mine=only_mine,
        tz_offset_minutes=tz_offset_minutes,
    )


def _allowed(name: str, caller: Caller) -> None:
    rule = RESTRICTED.get(name)
    if rule is not None and not rule(caller):
        raise Problem(403, "stats.forbidden", f"The {name} statistics are the Government's.")


async def _answer(
    deps: Any, c: Any, caller: Caller, wanted: list[tuple[str, StatFilter]], response: Response
) -> tuple[int, list[Any]]:
    for name, _ in wanted:
        _allowed(name, caller)

    async def run(conn: asyncpg.Connection) -> list[Any]:
        return [await STATS[name][0](conn, deps.schema, caller, f) for name, f in wanted]

    seq, results = await read_at_least(deps.pool, deps.schema, c.min_seq, c.wait_s, run)
    seq_header(response, seq)
    return seq, results


async def _cached(
    request: Request, deps: Any, c: Any, caller: Caller, name: str, f: StatFilter
) -> Response:
    """One statistic, from the per-seq answers: what a caller sees depends only on its role,
    its organisation and that organisation's role, so those (not the user) are the key."""
    _allowed(name, caller)
    fn = STATS[name][0]
    key = ("stat", name, caller.role, caller.company_id, caller.company_role, f)
    return await cached_answer(
        request,
        deps,
        c,
        key,
        lambda conn: fn(conn, deps.schema, caller, f),
        StatAnswer,
        lambda seq, data: {"seq": seq, "data": data},
        caller,
    )


def _routes(name: str, doc: str) -> None:
    async def get_stat(
        request: Request,
        deps: DepsDep,
        caller: CallerDep,
        c: ConsistencyDep,
        body: Annotated[StatBody, Depends(stat_params)],
    ) -> Response:
        return await _cached(request, deps, c, caller, name, body.filter())

    async def post_stat(
        request: Request, body: StatBody, deps: DepsDep, caller: CallerDep, c: ConsistencyDep
    ) -> Response:
        return await _cached(request, deps, c, caller, name, body.filter())

    for method, fn in (("GET", get_stat), ("POST", post_stat)):
        router.add_api_route(
            f"/{name}", fn, methods=[method], response_model=StatAnswer, description=doc
        )


for _name, (_, _doc) in STATS.items():
    _routes(_name, _doc)


@router.post("", response_model=StatAnswer)
async def many_stats(
    body: StatsBatch, deps: DepsDep, caller: CallerDep, c: ConsistencyDep, response: Response
) -> dict[str, Any]:
    """Several statistics, each with its own filters, from one snapshot:
    ``{"stats": [{"type": "summary"}, {"type": "credits-by-day", "tz_offset_minutes": 60}]}``
    answers ``{"seq", "data": {"summary": ..., "credits-by-day": ...}}`` (a type asked twice
    answers the last)."""
    wanted: list[tuple[str, StatFilter]] = [(s.type, s.filter()) for s in body.stats]
    seq, results = await _answer(deps, c, caller, wanted, response)
    return {"seq": seq, "data": {name: r for (name, _), r in zip(wanted, results, strict=True)}}

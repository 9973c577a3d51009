"""GET /v1/history/*: holdings, blocks, the country accounts and credit statistics as of a
past seq or time, from the history the projector keeps (never by replaying the log).

Ask with ``as_of_seq`` or ``as_of`` (an ISO 8601 time with its offset); with neither, the
answer is as of the seq the read models have applied. An ``as_of_seq`` the read models have
not applied yet is waited for like ``min_seq`` (bounded by ``wait_ms``), then refused with
503 ``read.behind``. Every answer says which seq it reflects (``as_of_seq``) and the log's
clock then (``as_of_time``), besides the applied ``seq``. Visibility is that of the current
endpoints: developers see their own organisation's holdings and blocks (and retired ones).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from libs.http.problems import Problem
from query_service.api.deps import CallerDep, ConsistencyDep, DepsDep
from query_service.api.seq import seq_header
from query_service.queries import time_travel, visibility
from query_service.queries.reads import read_at_least

router = APIRouter(prefix="/v1/history", tags=["history"])

AsOfSeq = Annotated[
    int | None,
    Query(ge=0, le=2**62, description="The seq to answer as of (waited for if not applied)."),
]
AsOf = Annotated[
    datetime | None,
    Query(description="The time to answer as of (ISO 8601 with offset, e.g. 2025-01-01T00:00Z)."),
]
ProgrammeIdQuery = Annotated[str, Query(pattern=r"^[0-9]{1,20}$")]
CompanyId = Annotated[int, Query(ge=1, le=2**31 - 1)]
Cursor = Annotated[int, Query(ge=0, le=2**62, description="Keyset cursor from next_cursor.")]
Limit = Annotated[int, Query(ge=1, le=500)]
Unit = Annotated[int, Query(ge=1, le=2**62, description="A unit (serial) number.")]
Account = Annotated[str, Query(max_length=40)]


class AsOfPoint(BaseModel):
    seq: int
    as_of_seq: int
    as_of_time: datetime | None


class HistoricalHolding(BaseModel):
    account: str
    programme_id: str
    programme_title: str
    serial_no: str | None
    total: int
    available: int
    frozen: int
    blocks: int


class HistoricalHoldings(BaseModel):
    company_id: int
    total: int
    available: int
    frozen: int
    holdings: list[HistoricalHolding]


class HistoricalBlock(BaseModel):
    block_id: str
    programme_id: str
    serial_no: str
    range_start: int
    range_end: int
    size: int
    account: str
    company_id: int | None
    state: str
    vintage: int
    valid_from_seq: int
    valid_to_seq: int | None


class CountryAccount(BaseModel):
    account: str
    total: int
    blocks: int


class HistoricalCountryAccounts(BaseModel):
    serial_counter: int
    issued: int
    retired: int
    authorised_programmes: int
    accounts: list[CountryAccount]


class ProgrammeCredits(BaseModel):
    programme_id: str
    programme_title: str
    sector: str
    sectoral_scope: str
    issued: int
    transferred: int
    retired: int
    held: int
    frozen: int
    available: int


class CreditTotals(BaseModel):
    issued: int
    transferred: int
    retired: int
    held: int
    frozen: int
    available: int
    programmes: list[ProgrammeCredits]


class HoldingsAnswer(AsOfPoint):
    data: HistoricalHoldings


class BlocksAnswer(AsOfPoint):
    data: list[HistoricalBlock]
    next_cursor: str | None


class CountryAnswer(AsOfPoint):
    data: HistoricalCountryAccounts


class StatsAnswer(AsOfPoint):
    data: CreditTotals


async def _as_of(
    deps: DepsDep,
    c: ConsistencyDep,
    as_of_seq: int | None,
    as_of: datetime | None,
    query: Any,
) -> tuple[int, tuple[int, datetime | None, Any]]:
    """Run ``query(conn, seq)`` in one snapshot that has applied the seq asked for."""
    if as_of_seq is not None and as_of is not None:
        raise Problem(422, "history.ambiguous", "Give as_of_seq or as_of, not both.")
    if as_of is not None and as_of.tzinfo is None:
        raise Problem(422, "history.naive_time", "as_of needs a UTC offset (e.g. Z).")
    min_seq = max(c.min_seq, as_of_seq or 0)

    async def run(conn: asyncpg.Connection) -> tuple[int, datetime | None, Any]:
        applied = await conn.fetchval(
            f"SELECT last_seq FROM {deps.schema}.checkpoints WHERE projection = 'main'"
        )
        applied = int(applied or 0)
        if as_of_seq is not None:
            seq = as_of_seq
        elif as_of is not None:
            seq = await time_travel.seq_at_time(conn, deps.schema, as_of, applied)
        else:
            seq = applied
        at = await time_travel.time_of_seq(conn, deps.schema, seq)
        return seq, at, await query(conn, seq)

    return await read_at_least(deps.pool, deps.schema, min_seq, c.wait_s, run)


@router.get("/holdings", response_model=HoldingsAnswer)
async def holdings_as_of(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    company_id: CompanyId | None = None,
    account: Account | None = None,
    as_of_seq: AsOfSeq = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """What an organisation held as of a seq or time, per account and programme.
    Government, Ministry and Root may ask for any organisation; others for their own."""
    target = company_id or caller.company_id
    if not visibility.may_read_holdings(caller, target):
        raise Problem(
            403, "holdings.forbidden", "You can only see the holdings of your own organisation."
        )
    seq, (point, at, rows) = await _as_of(
        deps,
        c,
        as_of_seq,
        as_of,
        lambda conn, s: time_travel.holdings(conn, deps.schema, target, account, s),
    )
    seq_header(response, seq)
    data = {
        "company_id": target,
        "total": sum(r["total"] for r in rows),
        "available": sum(r["available"] for r in rows),
        "frozen": sum(r["frozen"] for r in rows),
        "holdings": rows,
    }
    return {"seq": seq, "as_of_seq": point, "as_of_time": at, "data": data}


@router.get("/blocks", response_model=BlocksAnswer)
async def blocks_as_of(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    programme_id: ProgrammeIdQuery | None = None,
    unit: Unit | None = None,
    company_id: CompanyId | None = None,
    state: Literal["active", "frozen", "retired"] | None = None,
    as_of_seq: AsOfSeq = None,
    as_of: AsOf = None,
    after: Cursor = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """The blocks as they were at a seq or time, lowest serial first; with ``unit``, the
    block that held that unit then (who owned unit N on that day). Visibility as for the
    current blocks: one's own and retired blocks; everything for Government, Ministry and
    Root."""
    seq, (point, at, rows) = await _as_of(
        deps,
        c,
        as_of_seq,
        as_of,
        lambda conn, s: time_travel.blocks(
            conn,
            deps.schema,
            caller,
            seq=s,
            programme_id=programme_id,
            unit=unit,
            company_id=company_id,
            state=state,
            after=after,
            limit=limit,
        ),
    )
    seq_header(response, seq)
    nxt = str(rows[-1]["range_start"]) if len(rows) == limit else None
    return {"seq": seq, "as_of_seq": point, "as_of_time": at, "data": rows, "next_cursor": nxt}


@router.get("/country-accounts", response_model=CountryAnswer)
async def country_accounts_as_of(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    as_of_seq: AsOfSeq = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """The country ledger as of a seq or time: the unit counter, the Government's accounts,
    issued and retired."""
    seq, (point, at, data) = await _as_of(
        deps,
        c,
        as_of_seq,
        as_of,
        lambda conn, s: time_travel.country_accounts(conn, deps.schema, s),
    )
    seq_header(response, seq)
    return {"seq": seq, "as_of_seq": point, "as_of_time": at, "data": data}


@router.get("/stats/credits", response_model=StatsAnswer)
async def credit_stats_as_of(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    programme_id: ProgrammeIdQuery | None = None,
    as_of_seq: AsOfSeq = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """Issued, transferred, retired, held, frozen and available units per programme (and in
    total) as of a seq or time."""
    seq, (point, at, rows) = await _as_of(
        deps,
        c,
        as_of_seq,
        as_of,
        lambda conn, s: time_travel.credit_stats(conn, deps.schema, s, programme_id),
    )
    seq_header(response, seq)
    totals = {
        k: sum(r[k] for r in rows)
        for k in ("issued", "transferred", "retired", "held", "frozen", "available")
    }
    return {
        "seq": seq,
        "as_of_seq": point,
        "as_of_time": at,
        "data": {**totals, "programmes": rows},
    }

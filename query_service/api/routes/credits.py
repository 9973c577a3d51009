"""GET routes of the credit domain: blocks, holdings, country accounts, requests."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
import orjson
from fastapi import APIRouter, Path, Query, Request, Response

from libs.http.problems import Problem
from query_service.api.cached import cached_answer
from query_service.api.deps import CallerDep, Consistency, ConsistencyDep, DepsDep, QueryDeps
from query_service.api.list_requests import from_get
from query_service.api.routes.catalog import CompanyId, Int4, Limit, one_row
from query_service.api.routes.lists import (
    AfterParam,
    CountParam,
    CursorParam,
    FilterParam,
    FormatParam,
    SortParam,
    answer,
    collection_router,
    fixed_condition,
)
from query_service.api.seq import seq_header as _seq_header
from query_service.credit_responses import (
    Certification,
    CountryAccounts,
    CreditBlock,
    CreditRequest,
    Holdings,
    MitigationAction,
    Settings,
)
from query_service.queries import credits, visibility
from query_service.queries.collections import collections
from query_service.queries.listing import MAX_PAGE
from query_service.queries.reads import read_at_least
from query_service.responses import One, Page

T = TypeVar("T")

router = APIRouter(prefix="/v1", tags=["credits"])

ProgrammeIdPath = Annotated[str, Path(pattern=r"^[0-9]{1,20}$")]
Unit = Annotated[int, Query(ge=1, le=2**62, description="A unit (serial) number.")]
RequestIdPath = Annotated[int, Path(ge=1, le=Int4)]


@router.get("/programmes/{programme_id}/blocks", response_model=Page[CreditBlock])
async def programme_blocks(
    programme_id: ProgrammeIdPath,
    request: Request,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    limit: Limit = 100,
    cursor: CursorParam = None,
    after: AfterParam = None,
    sort: SortParam = None,
    count: CountParam = False,
    filter: FilterParam = None,
    format: FormatParam = "json",
) -> Any:
    """The credit blocks of a programme, lowest serial first (filters as in ``/v1/blocks``).
    Government, Ministry and Root see every block; others see their own organisation's
    blocks and retired ones."""
    coll = collections(deps.schema)["blocks"]
    q = from_get(
        coll,
        request.query_params,
        limit=limit,
        cursor=cursor,
        after=after,
        sort=sort,
        count=count,
        filter_json=filter,
        fixed=[fixed_condition(coll, "programme_id", "eq", programme_id)],
    )
    return await answer(deps, c, coll, caller, q, format, response)


def block_unit(unit: Unit | None = None) -> list[tuple[str, str, Any]]:
    """``unit=N``: the one block holding unit N (who holds it, and in what state)."""
    return [] if unit is None else [("unit", "eq", unit)]


list_routers = [
    collection_router(
        "blocks",
        "blocks",
        CreditBlock,
        "Credit blocks by programme, holder, account or state; with `unit`, the block that "
        "holds that unit. Government, Ministry and Root see every block; others see their "
        "own organisation's blocks and retired ones.",
        extra=block_unit,
    ),
    collection_router(
        "transfers",
        "transfers",
        CreditRequest,
        "Transfer requests. Government, Ministry and Root see all; others see those their "
        "organisation sends, receives or asked for. `company_id` matches any party.",
    ),
    collection_router(
        "retirements",
        "retirements",
        CreditRequest,
        "Retirement requests, with the same visibility as transfers.",
    ),
]


HoldingsLimit = Annotated[
    int | None, Query(ge=1, le=MAX_PAGE, description="Holdings per page (default: all).")
]


def _holdings_cursor(last: dict[str, Any]) -> str:
    raw = orjson.dumps([last["programme_id"], last["account"]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _holdings_after(cursor: str | None) -> tuple[str, str] | None:
    if cursor is None:
        return None
    try:
        pid, account = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(pid, str) and isinstance(account, str):
            return pid, account
    except (ValueError, TypeError, binascii.Error):
        pass
    raise Problem(400, "query.invalid_cursor", "The cursor is not one this endpoint gave.")


@router.get("/holdings", response_model=One[Holdings])
async def holdings(
    request: Request,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    company_id: CompanyId | None = None,
    limit: HoldingsLimit = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """What an organisation holds per account and programme (sums over its blocks), by
    programme; the totals are over every holding. With ``limit``, one page at a time
    (``next_cursor`` is the next page's ``cursor``). Government, Ministry and Root may ask
    for any organisation; others for their own."""
    target = company_id or caller.company_id
    if not visibility.may_read_holdings(caller, target):
        raise Problem(
            403,
            "holdings.forbidden",
            "You can only see the holdings of your own organisation.",
        )
    after = _holdings_after(cursor)

    async def query(conn: Any) -> dict[str, Any]:
        rows = await credits.holdings(
            conn, deps.schema, target, None if limit is None else limit + 1, after
        )
        more = limit is not None and len(rows) > limit
        rows = rows[:limit] if more else rows
        return {
            "company_id": target,
            **await credits.holding_totals(conn, deps.schema, target),
            "holdings": rows,
            "next_cursor": _holdings_cursor(rows[-1]) if more else None,
        }

    return await cached_answer(
        request,
        deps,
        c,
        ("holdings", target, limit, after),
        query,
        One[Holdings],
        lambda seq, data: {"seq": seq, "data": data},
        caller,
    )


async def _read(
    deps: QueryDeps,
    c: Consistency,
    response: Response,
    query: Callable[[asyncpg.Connection], Awaitable[T]],
) -> tuple[int, T]:
    """``query`` at a seq >= the caller's ``min_seq``; the answer's header names that seq."""
    seq, data = await read_at_least(deps.pool, deps.schema, c.min_seq, c.wait_s, query)
    _seq_header(response, seq)
    return seq, data


@router.get("/country-accounts", response_model=One[CountryAccounts])
async def country_accounts(
    deps: DepsDep, caller: CallerDep, c: ConsistencyDep, response: Response
) -> dict[str, Any]:
    """The country ledger: the unit counter, the Government's accounts, issued and retired."""
    seq, data = await _read(
        deps, c, response, lambda conn: credits.country_accounts(conn, deps.schema)
    )
    return {"seq": seq, "data": data}


async def _request(
    kind: str,
    request_id: int,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    out = await one_row(deps, c, caller, f"{kind}s", "request_id", request_id, response)
    if out is None:
        raise Problem(404, f"{kind}.not_found", f"No {kind} request {request_id}.")
    return out


@router.get("/transfers/{request_id}", response_model=One[CreditRequest])
async def get_transfer(
    request_id: RequestIdPath,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    return await _request("transfer", request_id, deps, caller, c, response)


@router.get("/retirements/{request_id}", response_model=One[CreditRequest])
async def get_retirement(
    request_id: RequestIdPath,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    return await _request("retirement", request_id, deps, caller, c, response)


@router.get("/programmes/{programme_id}/certifications", response_model=Page[Certification])
async def programme_certifications(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    """Who certified the programme, and which certifications were revoked."""
    seq, rows = await _read(
        deps, c, response, lambda conn: credits.certifications(conn, deps.schema, programme_id)
    )
    return {"seq": seq, "data": rows, "next_cursor": None}


@router.get("/programmes/{programme_id}/mitigation-actions", response_model=Page[MitigationAction])
async def programme_mitigation_actions(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    """The programme's mitigation actions with the user's and the calculator's estimates."""
    seq, rows = await _read(
        deps, c, response, lambda conn: credits.mitigation_actions(conn, deps.schema, programme_id)
    )
    return {"seq": seq, "data": rows, "next_cursor": None}


@router.get("/settings", response_model=One[Settings])
async def get_settings(
    deps: DepsDep, caller: CallerDep, c: ConsistencyDep, response: Response
) -> dict[str, Any]:
    """The registry settings that govern credits (transfer freeze, OMGE percentage)."""
    seq, data = await _read(deps, c, response, lambda conn: credits.settings(conn, deps.schema))
    return {"seq": seq, "data": data}

"""GET routes of the credit domain: blocks, holdings, country accounts, requests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from libs.http.problems import Problem
from query_service.api.deps import CallerDep, ConsistencyDep, DepsDep
from query_service.api.routes.catalog import CompanyId, Cursor, Int4, Limit, _page, _seq_header
from query_service.credit_responses import (
    Certification,
    CountryAccounts,
    CreditBlock,
    CreditRequest,
    Holdings,
    MitigationAction,
    Settings,
)
from query_service.queries import credits
from query_service.queries.reads import read_at_least
from query_service.responses import One, Page

router = APIRouter(prefix="/v1", tags=["credits"])

ProgrammeIdPath = Annotated[str, Path(pattern=r"^[0-9]{1,20}$")]
ProgrammeIdQuery = Annotated[str, Query(pattern=r"^[0-9]{1,20}$")]
BlockState = Literal["active", "frozen", "retired"]
Unit = Annotated[int, Query(ge=1, le=2**62, description="A unit (serial) number.")]
RequestIdPath = Annotated[int, Path(ge=1, le=Int4)]
Status = Literal["Pending", "Approved", "Rejected", "Cancelled", "Recognised", "NotRecognised"]


@router.get("/programmes/{programme_id}/blocks", response_model=Page[CreditBlock])
async def programme_blocks(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    state: BlockState | None = None,
    after: Cursor = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """The credit blocks of a programme, lowest serial first. Government, Ministry and Root
    see every block; others see their own organisation's blocks and retired ones."""
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.blocks(
            conn,
            deps.schema,
            caller,
            programme_id=programme_id,
            unit=None,
            company_id=None,
            account=None,
            state=state,
            after=after,
            limit=limit,
        ),
    )
    _seq_header(response, seq)
    return _page(seq, rows, limit, "range_start")


@router.get("/blocks", response_model=Page[CreditBlock])
async def list_blocks(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    programme_id: ProgrammeIdQuery | None = None,
    unit: Unit | None = None,
    company_id: CompanyId | None = None,
    account: Annotated[str | None, Query(max_length=40)] = None,
    state: BlockState | None = None,
    after: Cursor = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Credit blocks by programme, holder, account or state; with ``unit``, the block that
    holds that unit (who holds unit N, and in what state). Visibility as for a programme's
    blocks."""
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.blocks(
            conn,
            deps.schema,
            caller,
            programme_id=programme_id,
            unit=unit,
            company_id=company_id,
            account=account,
            state=state,
            after=after,
            limit=limit,
        ),
    )
    _seq_header(response, seq)
    return _page(seq, rows, limit, "range_start")


@router.get("/holdings", response_model=One[Holdings])
async def holdings(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    company_id: CompanyId | None = None,
) -> dict[str, Any]:
    """What an organisation holds per account and programme (sums over its blocks).
    Government, Ministry and Root may ask for any organisation; others for their own."""
    target = company_id or caller.company_id
    if target != caller.company_id and not caller.sees_all_users:
        raise Problem(
            403,
            "holdings.forbidden",
            "You can only see the holdings of your own organisation.",
        )
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.holdings(conn, deps.schema, target),
    )
    _seq_header(response, seq)
    data = {
        "company_id": target,
        "total": sum(r["total"] for r in rows),
        "available": sum(r["available"] for r in rows),
        "frozen": sum(r["frozen"] for r in rows),
        "holdings": rows,
    }
    return {"seq": seq, "data": data}


@router.get("/country-accounts", response_model=One[CountryAccounts])
async def country_accounts(
    deps: DepsDep, caller: CallerDep, c: ConsistencyDep, response: Response
) -> dict[str, Any]:
    """The country ledger: the unit counter, the Government's accounts, issued and retired."""
    seq, data = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.country_accounts(conn, deps.schema),
    )
    _seq_header(response, seq)
    return {"seq": seq, "data": data}


async def _requests(
    kind: str,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    programme_id: str | None,
    status: str | None,
    company_id: int | None,
    after: int,
    limit: int,
) -> dict[str, Any]:
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.credit_requests(
            conn,
            deps.schema,
            caller,
            kind=kind,
            programme_id=programme_id,
            status=status,
            company_id=company_id,
            after=after,
            limit=limit,
        ),
    )
    _seq_header(response, seq)
    return _page(seq, rows, limit, "request_id")


async def _request(
    kind: str,
    request_id: int,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    seq, row = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.credit_request(conn, deps.schema, caller, kind, request_id),
    )
    if row is None:
        raise Problem(404, f"{kind}.not_found", f"No {kind} request {request_id}.")
    _seq_header(response, seq)
    return {"seq": seq, "data": row}


@router.get("/transfers", response_model=Page[CreditRequest])
async def list_transfers(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    programme_id: ProgrammeIdQuery | None = None,
    status: Status | None = None,
    company_id: CompanyId | None = None,
    after: Cursor = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Transfer requests. Government, Ministry and Root see all; others see those their
    organisation sends, receives or asked for."""
    return await _requests(
        "transfer", deps, caller, c, response, programme_id, status, company_id, after, limit
    )


@router.get("/transfers/{request_id}", response_model=One[CreditRequest])
async def get_transfer(
    request_id: RequestIdPath,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    return await _request("transfer", request_id, deps, caller, c, response)


@router.get("/retirements", response_model=Page[CreditRequest])
async def list_retirements(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    programme_id: ProgrammeIdQuery | None = None,
    status: Status | None = None,
    company_id: CompanyId | None = None,
    after: Cursor = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Retirement requests, with the same visibility as transfers."""
    return await _requests(
        "retirement", deps, caller, c, response, programme_id, status, company_id, after, limit
    )


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
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.certifications(conn, deps.schema, programme_id),
    )
    _seq_header(response, seq)
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
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.mitigation_actions(conn, deps.schema, programme_id),
    )
    _seq_header(response, seq)
    return {"seq": seq, "data": rows, "next_cursor": None}


@router.get("/settings", response_model=One[Settings])
async def get_settings(
    deps: DepsDep, caller: CallerDep, c: ConsistencyDep, response: Response
) -> dict[str, Any]:
    """The registry settings that govern credits (transfer freeze, OMGE percentage)."""
    seq, data = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: credits.settings(conn, deps.schema),
    )
    _seq_header(response, seq)
    return {"seq": seq, "data": data}

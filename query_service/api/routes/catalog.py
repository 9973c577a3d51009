"""GET routes for the registry, organisations, users and programmes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from libs.http.problems import Problem
from query_service.api.deps import CallerDep, ConsistencyDep, DepsDep
from query_service.queries import catalog
from query_service.queries.catalog import MAX_PAGE
from query_service.queries.reads import read_at_least
from query_service.responses import (
    One,
    Organisation,
    Page,
    Programme,
    RegistryInfo,
    TimelineEntry,
    User,
)

router = APIRouter(prefix="/v1", tags=["read"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Int4 = 2**31 - 1
CompanyId = Annotated[int, Query(ge=1, le=Int4)]
Cursor = Annotated[int, Query(ge=0, le=2**62, description="Keyset cursor from next_cursor.")]


def _seq_header(response: Response, seq: int) -> None:
    response.headers["X-Registry-Seq"] = str(seq)


def _page(seq: int, rows: list[dict[str, Any]], limit: int, key: str) -> dict[str, Any]:
    nxt = str(rows[-1][key]) if len(rows) == limit else None
    return {"seq": seq, "data": rows, "next_cursor": nxt}


@router.get("/registry", response_model=One[RegistryInfo])
async def get_registry(deps: DepsDep, c: ConsistencyDep, response: Response) -> dict[str, Any]:
    """The registry's country and setup (public)."""
    seq, info = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: catalog.registry_info(conn, deps.schema),
    )
    if info is None:
        raise Problem(404, "registry.not_initialised", "The registry is not initialised yet.")
    _seq_header(response, seq)
    return {"seq": seq, "data": info}


@router.get("/organisations", response_model=Page[Organisation])
async def list_organisations(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    role: str | None = None,
    state: str | None = None,
    after: Cursor = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: catalog.organisations(
            conn, deps.schema, role=role, state=state, after=after, limit=limit
        ),
    )
    _seq_header(response, seq)
    return _page(seq, rows, limit, "company_id")


@router.get("/organisations/{company_id}", response_model=One[Organisation])
async def get_organisation(
    company_id: Annotated[int, Path(ge=1, le=Int4)],
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
        lambda conn: catalog.organisation(conn, deps.schema, company_id),
    )
    if row is None:
        raise Problem(404, "organisation.not_found", f"No organisation {company_id}.")
    _seq_header(response, seq)
    return {"seq": seq, "data": row}


@router.get("/users", response_model=Page[User])
async def list_users(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    company_id: CompanyId | None = None,
    after: Cursor = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Users (never their secrets). Government, Ministry and Root see every user; others
    see the users of their own organisation."""
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: catalog.users(
            conn, deps.schema, caller, company_id=company_id, after=after, limit=limit
        ),
    )
    _seq_header(response, seq)
    return _page(seq, rows, limit, "user_id")


@router.get("/programmes", response_model=Page[Programme])
async def list_programmes(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    stage: str | None = None,
    sector: str | None = None,
    company_id: CompanyId | None = None,
    after: Cursor = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: catalog.programmes(
            conn,
            deps.schema,
            stage=stage,
            sector=sector,
            company_id=company_id,
            after=after,
            limit=limit,
        ),
    )
    _seq_header(response, seq)
    return _page(seq, rows, limit, "created_seq")


@router.get("/programmes/{programme_id}", response_model=One[Programme])
async def get_programme(
    programme_id: Annotated[str, Path(max_length=20)],
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
        lambda conn: catalog.programme(conn, deps.schema, programme_id),
    )
    if row is None:
        raise Problem(404, "programme.not_found", f"No programme {programme_id}.")
    _seq_header(response, seq)
    return {"seq": seq, "data": row}


@router.get("/programmes/{programme_id}/timeline", response_model=Page[TimelineEntry])
async def programme_timeline(
    programme_id: Annotated[str, Path(max_length=20)],
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    after: Cursor = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every event of a programme, in order, with the user who caused it."""
    seq, rows = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: catalog.timeline(conn, deps.schema, programme_id, after, limit),
    )
    _seq_header(response, seq)
    return _page(seq, rows, limit, "seq")

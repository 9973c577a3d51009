"""Routes for the registry, organisations, users, programmes and their timeline.

The lists are the generic collection routes (``lists.py``); single rows go through the same
machinery, so a row a caller may not see answers 404 like a row that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from libs.http.problems import Problem
from query_service.api.deps import CallerDep, ConsistencyDep, DepsDep
from query_service.api.list_requests import from_get
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
from query_service.api.seq import seq_header
from query_service.credit_responses import Certification
from query_service.queries import catalog
from query_service.queries.callers import Caller
from query_service.queries.collections import collections
from query_service.queries.listing import MAX_PAGE, fetch_one
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
ProgrammeIdPath = Annotated[str, Path(max_length=20)]

list_routers = [
    collection_router(
        "organisations",
        "organisations",
        Organisation,
        "Organisations. Pending and Rejected registrations are shown to Government, Ministry "
        "and Root only (and to the organisation itself).",
    ),
    collection_router(
        "users",
        "users",
        User,
        "Users (never their secrets). Government, Ministry and Root see every user; others "
        "see the active users of their own organisation.",
    ),
    collection_router(
        "programmes",
        "programmes",
        Programme,
        "Programmes. Government, Ministry, Certifiers and Root see all; others see Approved "
        "and Authorised programmes and their own. `company_id` matches any proponent.",
    ),
    collection_router(
        "timeline",
        "timeline",
        TimelineEntry,
        "Every programme event with the user who caused it, for the programmes one may see.",
    ),
    collection_router(
        "certifications",
        "certifications",
        Certification,
        "Certifications of the programmes one may see (certified or revoked).",
    ),
]


async def one_row(
    deps: DepsDep,
    c: ConsistencyDep,
    caller: Caller | None,
    name: str,
    field: str,
    value: Any,
    response: Response,
) -> dict[str, Any] | None:
    """The one row of collection ``name`` where ``field = value``, if the caller may see it."""
    coll = collections(deps.schema)[name]
    node = fixed_condition(coll, field, "eq", value)
    seq, row = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: fetch_one(conn, coll, caller, node),
    )
    seq_header(response, seq)
    return None if row is None else {"seq": seq, "data": row}


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
    seq_header(response, seq)
    return {"seq": seq, "data": info}


@router.get("/organisations/{company_id}", response_model=One[Organisation])
async def get_organisation(
    company_id: Annotated[int, Path(ge=1, le=Int4)],
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    out = await one_row(deps, c, caller, "organisations", "company_id", company_id, response)
    if out is None:
        raise Problem(404, "organisation.not_found", f"No organisation {company_id}.")
    return out


@router.get("/programmes/{programme_id}", response_model=One[Programme])
async def get_programme(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    out = await one_row(deps, c, caller, "programmes", "programme_id", programme_id, response)
    if out is None:
        raise Problem(404, "programme.not_found", f"No programme {programme_id}.")
    return out


@router.get("/programmes/{programme_id}/timeline", response_model=Page[TimelineEntry])
async def programme_timeline(
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
    """Every event of a programme, in order, with the user who caused it (filters as in
    ``/v1/timeline``)."""
    coll = collections(deps.schema)["timeline"]
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

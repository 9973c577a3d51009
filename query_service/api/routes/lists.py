"""Generic list routes, three per collection:

* ``GET  /v1/<collection>``: ``field=value``, ``field[op]=value`` (ops eq ne lt le gt ge in
  contains ilike; ``in`` takes a,b,c), ``filter=<JSON tree>``, ``sort=-field,field``,
  ``limit``, ``cursor`` (the previous page's ``next_cursor``), ``count=true``,
  ``format=csv``;
* ``POST /v1/<collection>/query``: the same as a JSON body (AND/OR groups, QueryDto form);
* ``GET  /v1/<collection>.csv``: the GET form as a streamed CSV download.

Every answer reflects one snapshot and says its ``seq``. (No ``from __future__ import
annotations`` here: the routes are built in a function and FastAPI reads their annotations.)
"""

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from query_service.api.deps import CallerDep, Consistency, ConsistencyDep, DepsDep, QueryDeps
from query_service.api.list_requests import (
    Format,
    QueryBody,
    csv_response,
    from_body,
    from_get,
    invalid,
)
from query_service.api.seq import seq_header
from query_service.queries.collections import Collection, collections
from query_service.queries.filters import FilterError, Node, condition
from query_service.queries.listing import MAX_PAGE, ListQuery, fetch_page
from query_service.queries.reads import read_at_least
from query_service.queries.visibility import Viewer
from query_service.responses import Page

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")]
CursorParam = Annotated[
    str | None, Query(max_length=2048, description="The previous page's next_cursor.")
]
AfterParam = Annotated[str | None, Query(max_length=2048, description="Alias of cursor.")]
SortParam = Annotated[
    str | None, Query(max_length=300, description="Fields, a leading - sorts descending.")
]
CountParam = Annotated[bool, Query(description="Also answer the total number of matches.")]
FilterParam = Annotated[
    str | None, Query(max_length=20_000, description="A JSON filter tree (as in /query).")
]
FormatParam = Annotated[Format, Query(description="json, or csv for a download.")]
# A collection's own declared parameters, as (field, op, value) conditions.
Extra = Callable[..., list[tuple[str, str, Any]]]


def no_extra() -> list[tuple[str, str, Any]]:
    return []


def extra_names(extra: Extra) -> frozenset[str]:
    return frozenset(inspect.signature(extra).parameters)


def set_seq(response: Response, seq: int) -> None:
    seq_header(response, seq)


async def answer(
    deps: QueryDeps,
    c: Consistency,
    coll: Collection,
    viewer: Viewer | None,
    q: ListQuery,
    fmt: str,
    response: Response,
) -> Any:
    """A page as JSON (``seq``, ``data``, ``next_cursor``, ``total``), or the CSV."""
    if fmt == "csv":
        return await csv_response(deps, c, coll, viewer, q)
    try:
        seq, page = await read_at_least(
            deps.pool,
            deps.schema,
            c.min_seq,
            c.wait_s,
            lambda conn: fetch_page(conn, coll, viewer, q),
        )
    except FilterError as exc:  # a cursor that does not decode for this order
        raise invalid(exc) from None
    set_seq(response, seq)
    return {"seq": seq, **page}


def collection_router(
    name: str, path: str, model: type[BaseModel], summary: str, extra: Extra = no_extra
) -> APIRouter:
    """The list, query and CSV routes of collection ``name`` at ``/v1/<path>``."""
    router = APIRouter(prefix="/v1", tags=["lists"])
    skip = extra_names(extra)
    extra_dep = Annotated[list[tuple[str, str, Any]], Depends(extra)]

    async def list_get(
        request: Request,
        deps: DepsDep,
        caller: CallerDep,
        c: ConsistencyDep,
        response: Response,
        extra_conds: extra_dep,
        limit: Limit = 50,
        cursor: CursorParam = None,
        after: AfterParam = None,
        sort: SortParam = None,
        count: CountParam = False,
        filter: FilterParam = None,
        format: FormatParam = "json",
    ) -> Any:
        coll = collections(deps.schema)[name]
        q = from_get(
            coll,
            request.query_params,
            limit=limit,
            cursor=cursor,
            after=after,
            sort=sort,
            count=count,
            filter_json=filter,
            fixed=[fixed_condition(coll, *x) for x in extra_conds],
            skip=skip,
        )
        return await answer(deps, c, coll, caller, q, format, response)

    async def list_csv(
        request: Request,
        deps: DepsDep,
        caller: CallerDep,
        c: ConsistencyDep,
        response: Response,
        extra_conds: extra_dep,
        sort: SortParam = None,
        filter: FilterParam = None,
    ) -> Any:
        coll = collections(deps.schema)[name]
        q = from_get(
            coll,
            request.query_params,
            limit=1,
            cursor=None,
            after=None,
            sort=sort,
            count=False,
            filter_json=filter,
            fixed=[fixed_condition(coll, *x) for x in extra_conds],
            skip=skip,
        )
        return await answer(deps, c, coll, caller, q, "csv", response)

    async def list_post(
        body: QueryBody, deps: DepsDep, caller: CallerDep, c: ConsistencyDep, response: Response
    ) -> Any:
        coll = collections(deps.schema)[name]
        return await answer(deps, c, coll, caller, from_body(coll, body), body.format, response)

    doc = (
        f"{summary} Filters: `field=value`, `field[op]=value`, `filter=<JSON>`; "
        "`sort=-field`; keyset paging with `cursor`; `count=true`; `format=csv`."
    )
    page_model: Any = Page[model]  # type: ignore[valid-type]
    router.add_api_route(
        f"/{path}",
        list_get,
        methods=["GET"],
        response_model=page_model,
        description=doc,
        responses=CSV_TOO,
    )
    router.add_api_route(
        f"/{path}.csv",
        list_csv,
        methods=["GET"],
        response_class=Response,
        description=f"{summary} As CSV (at most 100,000 rows; see X-Truncated).",
    )
    router.add_api_route(
        f"/{path}/query",
        list_post,
        methods=["POST"],
        response_model=page_model,
        description=f"{summary} The JSON form (AND/OR groups, QueryDto).",
        responses=CSV_TOO,
    )
    return router


# With ``format=csv`` a list answers text/csv instead of the JSON page.
CSV_TOO: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


def fixed_condition(coll: Collection, field: str, op: str, value: Any) -> Node:
    """A condition the route itself adds (a path parameter), checked like any other."""
    try:
        return condition(coll.fields, field, op, value, field)
    except FilterError as exc:
        raise invalid(exc) from None

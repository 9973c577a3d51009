"""From an HTTP request to a :class:`ListQuery`: the GET form, the POST ``/query`` body, and
the CSV answer. Filter mistakes become 422 ``query.invalid_filter`` (``query.invalid_cursor``
for a cursor that does not fit)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import orjson
from fastapi import Response
from fastapi.responses import StreamingResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.datastructures import QueryParams

from libs.http.problems import Problem
from query_service.api.deps import Consistency, QueryDeps
from query_service.api.seq import SEQ_HEADER
from query_service.queries.collections import Collection
from query_service.queries.filters import (
    MAX_CONDITIONS,
    FilterError,
    Node,
    all_of,
    condition,
    count_conditions,
    lookup,
    parse_filter,
    parse_query_dto,
)
from query_service.queries.keyset import CursorError, parse_sort_json, parse_sort_param
from query_service.queries.listing import (
    CSV_ROW_LIMIT,
    LEGACY_AFTER_MAX,
    MAX_PAGE,
    ListQuery,
    csv_chunks,
    plan_count,
    plan_csv,
)
from query_service.queries.reads import open_snapshot
from query_service.queries.visibility import Viewer

# Query parameters that are not filters.
RESERVED = frozenset(
    {"min_seq", "wait_ms", "limit", "cursor", "after", "sort", "count", "format", "filter"}
)
KEY_RE = re.compile(r"^([a-z][a-z0-9_]{0,63})(?:\[([a-z]{2,8})\])?$")
Format = Literal["json", "csv"]


def invalid(exc: FilterError) -> Problem:
    if isinstance(exc, CursorError):
        return Problem(422, "query.invalid_cursor", exc.message, path=exc.path)
    return Problem(422, "query.invalid_filter", exc.message, path=exc.path)


class QueryBody(BaseModel):
    """The JSON form of a list query (``POST /v1/<collection>/query``).

    ``filter`` is a tree: ``{"and": [...]}`` / ``{"or": [...]}`` groups (at most 3 deep) of
    conditions ``{"field", "op", "value"}`` (at most 50). The original's QueryDto
    (``filterAnd``, ``filterOr`` of ``{key, operation, value}``, ``sort {key, order}``,
    ``size``) is accepted as well."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    filter: dict[str, Any] | None = None
    filter_and: list[Any] | None = Field(None, alias="filterAnd", max_length=MAX_CONDITIONS)
    filter_or: list[Any] | None = Field(None, alias="filterOr", max_length=MAX_CONDITIONS)
    sort: list[dict[str, Any]] | dict[str, Any] | str | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = Field(
        50, validation_alias=AliasChoices("limit", "size")
    )
    cursor: Annotated[str | None, Field(max_length=2048)] = None
    count: bool = False
    format: Format = "json"


def _cursor(cursor: str | None, after: str | None) -> str | None:
    token = cursor or after
    if token is not None and token.isdigit() and token.isascii() and int(token) > LEGACY_AFTER_MAX:
        raise Problem(422, "request.invalid", "The cursor is out of range.")
    return token or None


def _checked(node: Node | None) -> Node | None:
    if count_conditions(node) > MAX_CONDITIONS:
        raise invalid(FilterError(f"at most {MAX_CONDITIONS} conditions"))
    return node


def _simple(coll: Collection, key: str, value: str) -> Node:
    m = KEY_RE.fullmatch(key)
    if m is None:
        raise FilterError(f"unknown parameter {key[:70]!r}", key[:70])
    name, op = m.group(1), m.group(2) or "eq"
    f = lookup(coll.fields, name, key)
    many = op == "in" or (op == "contains" and f.type.is_array)
    return condition(coll.fields, name, op, value.split(",") if many else value, key)


def from_get(
    coll: Collection,
    params: QueryParams,
    *,
    limit: int,
    cursor: str | None,
    after: str | None,
    sort: str | None,
    count: bool,
    filter_json: str | None,
    fixed: Iterable[Node] = (),
    skip: Iterable[str] = (),
) -> ListQuery:
    """The GET form: ``field=value`` (equality), ``field[op]=value`` (``in``: a,b,c), an
    optional JSON ``filter``, ``sort=-field,other``; every condition is AND-ed."""
    skipped = RESERVED | set(skip)
    try:
        nodes = list(fixed)
        nodes += [_simple(coll, k, v) for k, v in params.multi_items() if k not in skipped]
        if filter_json:
            try:
                raw = orjson.loads(filter_json)
            except orjson.JSONDecodeError:
                raise FilterError("filter is not JSON", "filter") from None
            nodes.append(parse_filter(coll.fields, raw))
        keys = tuple(parse_sort_param(coll.fields, sort)) if sort else ()
    except FilterError as exc:
        raise invalid(exc) from None
    return ListQuery(_checked(all_of(nodes)), keys, limit, _cursor(cursor, after), count)


def from_body(coll: Collection, body: QueryBody, fixed: Iterable[Node] = ()) -> ListQuery:
    try:
        nodes = list(fixed)
        if body.filter is not None:
            nodes.append(parse_filter(coll.fields, body.filter))
        dto = parse_query_dto(coll.fields, body.filter_and, body.filter_or)
        if dto is not None:
            nodes.append(dto)
        keys = tuple(parse_sort_json(coll.fields, body.sort)) if body.sort else ()
    except FilterError as exc:
        raise invalid(exc) from None
    return ListQuery(
        _checked(all_of(nodes)), keys, body.limit, _cursor(body.cursor, None), body.count
    )


async def csv_response(
    deps: QueryDeps, c: Consistency, coll: Collection, viewer: Viewer | None, q: ListQuery
) -> Response:
    """The whole result (up to ``CSV_ROW_LIMIT`` rows) as CSV, streamed from one snapshot.
    ``X-Row-Limit``, ``X-Row-Count`` and ``X-Truncated`` say whether rows were left out."""
    try:
        plan = plan_csv(coll, viewer, q, CSV_ROW_LIMIT)
        counting = plan_count(coll, viewer, q.filter, cap=CSV_ROW_LIMIT + 1)
    except FilterError as exc:
        raise invalid(exc) from None
    snap = await open_snapshot(deps.pool, deps.schema, c.min_seq, c.wait_s)
    try:
        matched = int(await snap.conn.fetchval(counting.sql, *counting.args))
    except BaseException:
        await snap.close()
        raise

    async def body() -> Any:
        try:
            async for chunk in csv_chunks(snap.conn, coll, plan):
                yield chunk
        finally:
            await snap.close()

    headers = {
        SEQ_HEADER: str(snap.seq),
        "X-Row-Limit": str(CSV_ROW_LIMIT),
        "X-Row-Count": str(min(matched, CSV_ROW_LIMIT)),
        "X-Truncated": "true" if matched > CSV_ROW_LIMIT else "false",
        "Content-Disposition": f'attachment; filename="{coll.name}-{snap.seq}.csv"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers=headers,
        background=BackgroundTask(snap.close),
    )

"""Answers served from ``QueryDeps.answers`` (``query_service.cache.SeqCache``).

A miss reads in one snapshot at a seq >= the seq seen when the caller was resolved (so at
least ``min_seq``), validates the answer with its response model and keeps its JSON bytes;
a hit returns those bytes with the seq they were computed at (body and header agree).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from functools import cache
from typing import Any

import asyncpg
from fastapi import Request, Response
from pydantic import TypeAdapter

from query_service.api.deps import Consistency, QueryDeps, seen_seq
from query_service.api.seq import SEQ_HEADER
from query_service.queries.callers import Caller
from query_service.queries.reads import read_at_least


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


async def cached_answer(
    request: Request,
    deps: QueryDeps,
    c: Consistency,
    key: Hashable,
    query: Callable[[asyncpg.Connection], Awaitable[Any]],
    model: Any,
    shape: Callable[[int, Any], Any],
    caller: Caller,
) -> Response:
    """``shape(seq, query result)`` is the answer's content, validated against ``model``."""

    async def compute(seen: int) -> tuple[int, bytes]:
        seq, data = await read_at_least(deps.pool, deps.schema, seen, c.wait_s, query)
        adapter = _adapter(model)
        return seq, adapter.dump_json(adapter.validate_python(shape(seq, data)))

    seq, body = await deps.answers.get(key, seen_seq(request, c), compute)
    if request.method == "GET":
        note = (request.url.path, request.scope["query_string"], caller.role, caller.company_id)
        deps.notes.note((*note, caller.company_role), key, c.min_seq)
    return Response(body, media_type="application/json", headers={SEQ_HEADER: str(seq)})

"""Dependencies of the read API: the pool, the consistency window, the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from libs.auth.tokens import InvalidToken, verify_access_token
from libs.http.problems import Problem
from query_service.queries.callers import Caller, load_caller
from query_service.queries.reads import wait_for_seq


@dataclass
class QueryDeps:
    registry: str
    pool: asyncpg.Pool
    schema: str
    token_secret: str
    read_wait_max_s: float


def get_deps(request: Request) -> QueryDeps:
    deps: QueryDeps = request.app.state.query_deps
    return deps


DepsDep = Annotated[QueryDeps, Depends(get_deps)]
oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


@dataclass(frozen=True)
class Consistency:
    min_seq: int
    wait_s: float


def consistency(
    deps: DepsDep,
    min_seq: Annotated[
        int, Query(ge=0, le=2**62, description="Answer only once this seq is applied.")
    ] = 0,
    wait_ms: Annotated[
        int, Query(ge=0, le=60_000, description="How long to wait for min_seq (capped).")
    ] = 5000,
) -> Consistency:
    return Consistency(min_seq, min(wait_ms / 1000, deps.read_wait_max_s))


ConsistencyDep = Annotated[Consistency, Depends(consistency)]


async def current_caller(
    deps: DepsDep, c: ConsistencyDep, token: Annotated[str | None, Depends(oauth2)]
) -> Caller:
    if token is None:
        raise Problem(401, "auth.missing_token", "Sign in first: no bearer token was sent.")
    try:
        claims = verify_access_token(deps.token_secret, token, deps.registry)
    except InvalidToken as exc:
        raise Problem(
            401, "auth.invalid_token", "The access token is not valid.", str(exc)
        ) from exc
    # A user reading its own writes may not be projected yet: honour min_seq first.
    await wait_for_seq(deps.pool, deps.schema, c.min_seq, c.wait_s)
    caller = await load_caller(deps.pool, deps.schema, claims.user_id)
    if caller is None:
        raise Problem(401, "auth.unknown_user", "The signed-in user is not known (yet).")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]

"""Dependencies of the read API: the pool, the consistency window, the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from libs.auth.api_keys import HEADER as API_KEY_HEADER
from libs.auth.api_keys import user_for_api_key
from libs.auth.tokens import InvalidToken, TokenClaims, verify_access_token
from libs.http.problems import Problem
from query_service.api.ratelimit import TokenBucket
from query_service.cache import RequestNotes, SeqCache, TokenCache
from query_service.queries.callers import Caller, load_caller_at_seq
from query_service.queries.reads import wait_for_seq


@dataclass
class QueryDeps:
    registry: str
    pool: asyncpg.Pool
    schema: str
    token_secret: str
    read_wait_max_s: float
    # The public endpoints' per-client budget (100 requests a minute per IP).
    public_limiter: TokenBucket = field(default_factory=TokenBucket)
    # Answers (serialised) per question and seq; verified access tokens.
    answers: SeqCache[bytes] = field(default_factory=SeqCache)
    notes: RequestNotes = field(default_factory=RequestNotes)
    tokens: TokenCache[TokenClaims] = field(default_factory=TokenCache)
    # Signs log checkpoints (GET /v1/public/log/checkpoint); None: not offered.
    signing_key: Ed25519PrivateKey | None = None


async def get_deps(request: Request) -> QueryDeps:
    deps: QueryDeps = request.app.state.query_deps
    return deps


DepsDep = Annotated[QueryDeps, Depends(get_deps)]
oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="A machine client's API key, `crk_<id>_<secret>` (POST /v1/auth/api-keys).",
)


@dataclass(frozen=True)
class Consistency:
    min_seq: int
    wait_s: float


async def consistency(
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
    request: Request,
    deps: DepsDep,
    c: ConsistencyDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Caller:
    """The caller as the read models know it, at a seq >= ``min_seq``. That seq is kept in
    ``request.state.seen_seq``: a cached answer is served only for a seq at least as new."""
    user_id = await _authenticated_user(deps, token, api_key)
    # One round trip: the applied seq and the caller in the same statement (snapshot).
    seq, caller = await load_caller_at_seq(deps.pool, deps.schema, user_id)
    if seq < c.min_seq:
        # A user reading its own writes may not be projected yet: honour min_seq first.
        await wait_for_seq(deps.pool, deps.schema, c.min_seq, c.wait_s)
        seq, caller = await load_caller_at_seq(deps.pool, deps.schema, user_id)
    if caller is None:
        raise Problem(401, "auth.unknown_user", "The signed-in user is not known (yet).")
    request.state.seen_seq = seq
    return caller


def seen_seq(request: Request, c: Consistency) -> int:
    """The seq the read models had applied when the caller was resolved (>= min_seq)."""
    return max(int(getattr(request.state, "seen_seq", 0)), c.min_seq)


CallerDep = Annotated[Caller, Depends(current_caller)]


async def _authenticated_user(deps: QueryDeps, token: str | None, api_key: str | None) -> int:
    """The caller's user id: a bearer access token, or else an ``X-API-Key`` header."""
    if token is not None:
        claims = deps.tokens.get(token)
        if claims is None:
            try:
                claims = verify_access_token(deps.token_secret, token, deps.registry)
            except InvalidToken as exc:
                raise Problem(
                    401, "auth.invalid_token", "The access token is not valid.", str(exc)
                ) from exc
            deps.tokens.put(token, claims, claims.expires_at)
        return claims.user_id
    if api_key is not None:
        user_id = await user_for_api_key(deps.pool, deps.registry, api_key)
        if user_id is None:
            raise Problem(401, "auth.invalid_api_key", "The API key is not valid.")
        return user_id
    raise Problem(401, "auth.missing_token", "Sign in first: no bearer token was sent.")

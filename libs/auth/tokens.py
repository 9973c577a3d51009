"""Short-lived signed JWT access tokens. A token names the user and the registry, nothing
else: rights are looked up from current state on every command and query, so a token never
carries a stale role."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
ACCESS_TTL_S = 15 * 60
MIN_SECRET_BYTES = 32


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    registry: str
    expires_at: int


def issue_access_token(secret: str, user_id: int, registry: str, ttl_s: int = ACCESS_TTL_S) -> str:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "reg": registry,
        "iat": now,
        "exp": now + ttl_s,
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify_access_token(secret: str, token: str, registry: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "reg"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("typ") != "access" or claims.get("reg") != registry:
        raise InvalidToken("token is not an access token for this registry")
    try:
        return TokenClaims(int(claims["sub"]), str(claims["reg"]), int(claims["exp"]))
    except (TypeError, ValueError) as exc:
        raise InvalidToken("malformed subject") from exc

"""What routes need, gathered in one object the composition root builds."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from command_service.application.ports import CommandBus, Credentials
from libs.auth.api_keys import HEADER as API_KEY_HEADER
from libs.auth.reset_mail import PasswordResetNotifier
from libs.auth.throttle import LoginThrottle
from libs.auth.tokens import InvalidToken, TokenClaims, verify_access_token
from libs.http.problems import Problem
from libs.http.rate import RateLimiter
from schemas.envelope import Actor

# Bound on remembered access tokens per API node (cleared when full).
VERIFIED_TOKENS_MAX = 10_000


@dataclass
class CommandDeps:
    registry: str
    bus: CommandBus
    credentials: Credentials
    token_secret: str
    command_timeout_s: float
    # Delivers password-reset tokens; without one, reset requests are accepted and dropped.
    reset_notifier: PasswordResetNotifier | None = None
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # Unauthenticated writes (self-registration) per client IP.
    public_limiter: RateLimiter = field(default_factory=RateLimiter)
    _verified: dict[str, TokenClaims] = field(default_factory=dict, init=False, repr=False)

    def access_claims(self, token: str) -> TokenClaims:
        """``verify_access_token``, remembered per token until the token expires.

        A client sends the same token with every command for up to 15 minutes; checking its
        signature and claims each time was 7% of the API node's CPU under load. The check
        depends only on the token, the secret and the registry (both fixed here), and on the
        clock through ``exp``, which is re-checked on every use. Failures are not remembered.
        """
        claims = self._verified.get(token)
        if claims is not None:
            if time.time() < claims.expires_at:
                return claims
            del self._verified[token]
        claims = verify_access_token(self.token_secret, token, self.registry)
        if len(self._verified) >= VERIFIED_TOKENS_MAX:
            self._verified.clear()
        self._verified[token] = claims
        return claims


async def get_deps(request: Request) -> CommandDeps:
    deps: CommandDeps = request.app.state.command_deps
    return deps


DepsDep = Annotated[CommandDeps, Depends(get_deps)]

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="A machine client's API key, `crk_<id>_<secret>` (POST /v1/auth/api-keys).",
)


async def current_actor(
    deps: DepsDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Actor:
    """The signed-in user: a bearer access token, or else an ``X-API-Key`` header."""
    if token is not None:
        try:
            claims = deps.access_claims(token)
        except InvalidToken as exc:
            raise Problem(
                401, "auth.invalid_token", "The access token is not valid.", str(exc)
            ) from exc
        return Actor(kind="user", user_id=claims.user_id)
    if api_key is not None:
        user_id = await deps.credentials.user_for_api_key(api_key)
        if user_id is None:
            raise Problem(401, "auth.invalid_api_key", "The API key is not valid.")
        return Actor(kind="user", user_id=user_id)
    raise Problem(401, "auth.missing_token", "Sign in first: no bearer token was sent.")


ActorDep = Annotated[Actor, Depends(current_actor)]

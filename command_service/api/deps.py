"""What routes need, gathered in one object the composition root builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from command_service.application.ports import CommandBus, Credentials
from libs.auth.api_keys import HEADER as API_KEY_HEADER
from libs.auth.reset_mail import PasswordResetNotifier
from libs.auth.throttle import LoginThrottle
from libs.auth.tokens import InvalidToken, verify_access_token
from libs.http.problems import Problem
from libs.http.rate import RateLimiter
from schemas.envelope import Actor


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
            claims = verify_access_token(deps.token_secret, token, deps.registry)
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

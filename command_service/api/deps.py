"""What routes need, gathered in one object the composition root builds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from command_service.application.ports import CommandBus, Credentials
from libs.auth.tokens import InvalidToken, verify_access_token
from libs.http.problems import Problem
from schemas.envelope import Actor


@dataclass
class CommandDeps:
    registry: str
    bus: CommandBus
    credentials: Credentials
    token_secret: str
    command_timeout_s: float


def get_deps(request: Request) -> CommandDeps:
    deps: CommandDeps = request.app.state.command_deps
    return deps


DepsDep = Annotated[CommandDeps, Depends(get_deps)]

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


def current_actor(deps: DepsDep, token: Annotated[str | None, Depends(oauth2)]) -> Actor:
    if token is None:
        raise Problem(401, "auth.missing_token", "Sign in first: no bearer token was sent.")
    try:
        claims = verify_access_token(deps.token_secret, token, deps.registry)
    except InvalidToken as exc:
        raise Problem(
            401, "auth.invalid_token", "The access token is not valid.", str(exc)
        ) from exc
    return Actor(kind="user", user_id=claims.user_id)


ActorDep = Annotated[Actor, Depends(current_actor)]

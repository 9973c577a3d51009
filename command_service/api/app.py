"""The command API: routers and the app factory (the composition root passes its parts)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI

from command_service.api.deps import CommandDeps
from command_service.api.fastpath import FastCommands
from command_service.api.routes import (
    auth,
    credits,
    lifecycle,
    organisations,
    programmes,
    users,
)
from libs.http.health import health_router
from libs.http.limits import BodySizeLimit
from libs.http.problems import install_problem_handlers


def command_routers() -> list[APIRouter]:
    return [
        auth.router,
        organisations.router,
        organisations.public,
        users.router,
        programmes.router,
        lifecycle.router,
        credits.transfers,
        credits.retirements,
        credits.organisations,
        credits.settings,
    ]


def create_command_app(deps: CommandDeps, ready_checks: dict[str, Callable[[], bool]]) -> FastAPI:
    app = FastAPI(
        title="Carbon Registry: command API",
        version="1",
        description="Commands are decided by the registry's single writer; every accepted "
        "command answers with the seq of its last event.",
    )
    app.state.command_deps = deps
    install_problem_handlers(app)
    for router in command_routers():
        app.include_router(router)
    app.include_router(health_router(ready_checks))
    app.add_middleware(BodySizeLimit)
    app.add_middleware(FastCommands, routers=command_routers())  # the short way (fastpath.py)
    return app

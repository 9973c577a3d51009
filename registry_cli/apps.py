"""Composing HTTP apps from the services' routers (one app per process shape)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from command_service.api.app import command_routers
from command_service.api.deps import CommandDeps
from command_service.api.fastpath import FastCommands
from libs.http.health import health_router
from libs.http.limits import BodySizeLimit
from libs.http.problems import install_problem_handlers
from query_service.api.app import query_routers
from query_service.api.deps import QueryDeps
from query_service.api.fastpath import FastReads


def all_in_one_app(
    command: CommandDeps, query: QueryDeps, ready_checks: dict[str, Callable[[], bool]]
) -> FastAPI:
    """Commands and reads on one port: what ``registry serve`` runs."""
    app = FastAPI(
        title="Carbon Registry",
        version="1",
        description="National carbon credit registry. Commands (POST) are decided by the "
        "registry's single writer and answer with the seq of their last event; reads (GET) "
        "say which seq they reflect and accept `min_seq` to read your own writes.",
    )
    app.state.command_deps = command
    app.state.query_deps = query
    install_problem_handlers(app)
    for router in [*command_routers(), *query_routers()]:
        app.include_router(router)
    app.include_router(health_router(ready_checks))
    app.add_middleware(BodySizeLimit)
    app.add_middleware(FastReads, deps=query)  # cached reads the short way (fastpath.py)
    app.add_middleware(FastCommands, routers=command_routers())  # commands the short way
    return app

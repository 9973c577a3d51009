"""The read API's routers and app factory."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI

from libs.http.health import health_router
from libs.http.limits import BodySizeLimit
from libs.http.problems import install_problem_handlers
from query_service.api.deps import QueryDeps
from query_service.api.fastpath import FastReads
from query_service.api.routes import aef, catalog, credits, history, public, stats


def query_routers() -> list[APIRouter]:
    return [
        *catalog.list_routers,
        *credits.list_routers,
        catalog.router,
        credits.router,
        stats.router,
        public.router,
        history.router,
        aef.router,
    ]


def create_query_app(deps: QueryDeps, ready_checks: dict[str, Callable[[], bool]]) -> FastAPI:
    app = FastAPI(title="Carbon Registry: read API", version="1")
    app.state.query_deps = deps
    install_problem_handlers(app)
    app.add_middleware(FastReads, deps=deps)
    for router in query_routers():
        app.include_router(router)
    app.include_router(health_router(ready_checks))
    app.add_middleware(BodySizeLimit)  # POST /query bodies: the same 256 KiB as commands
    return app

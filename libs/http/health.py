"""/health (the process answers), /ready (it can do its job now) and /metrics."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response

from libs.http.problems import problem_response
from libs.observability.metrics import exposition


def health_router(ready_checks: dict[str, Callable[[], bool]]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready")
    async def ready() -> Response:
        results = {name: bool(check()) for name, check in ready_checks.items()}
        if all(results.values()):
            return Response(b'{"status":"ready"}', media_type="application/json")
        return problem_response(503, "service.not_ready", "Not ready yet.", checks=results)

    @router.get("/metrics")
    async def metrics() -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    return router

"""RFC 9457 problem+json responses with a stable machine-readable ``code``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE = "application/problem+json"

STATUS_BY_KIND = {
    "invalid": 422,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "unauthenticated": 401,
}


class Problem(Exception):
    """Raise anywhere in a route to answer with problem+json."""

    def __init__(
        self, status: int, code: str, title: str, detail: str | None = None, **extra: Any
    ) -> None:
        super().__init__(title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:registry:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(
        orjson.dumps(body, default=str),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(
            exc.status, exc.code, exc.title, exc.detail, headers=headers, **exc.extra
        )

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()[:50]
        ]
        return problem_response(422, "request.invalid", "The request is not valid.", errors=errors)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # Starlette's "error parsing the body" (bad UTF-8, bad form): a client error
            # like any other unreadable body.
            return problem_response(422, "request.invalid", "The request body cannot be read.")
        codes = {404: "request.not_found", 405: "request.method_not_allowed"}
        code = codes.get(exc.status_code, f"http.{exc.status_code}")
        return problem_response(exc.status_code, code, str(exc.detail))

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        return problem_response(500, "internal.error", "Internal error; nothing was changed.")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)

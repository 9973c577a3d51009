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


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable and machine-readable.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "description": "`urn:registry:problem:<code>`"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "code": {"type": "string", "description": "e.g. `request.invalid`, `auth.forbidden`"},
        "detail": {"type": "string"},
    },
    "additionalProperties": True,
}


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Say in the OpenAPI schema what refusals really look like.

    FastAPI documents a 422 ``HTTPValidationError`` as ``application/json``; this API
    answers every refusal and error as problem+json (see the handlers below). Every
    operation's 422 becomes a Problem, and a ``default`` response covers the other
    statuses (401, 403, 404, 409, 413, 429, 503...).
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if "422" in responses:
                responses["422"] = _problem_response(
                    "The request is not valid (`request.invalid`) or a rule refused it."
                )
            responses.setdefault(
                "default", _problem_response("Refused or failed: problem+json with a `code`.")
            )
    return schema


def install_problem_handlers(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

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

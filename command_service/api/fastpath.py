"""A short way to the command routes' endpoints.

Under load FastAPI's machinery cost more CPU than the command itself: the middleware
layers, routing (a scan of every route), dependency solving (the deps/token/API-key chain
behind ``ActorDep``), parameter and body validation. ``FastCommands`` sits in front of the
app and, for a request that goes to a command route, does the same steps directly: it
finds the route the router would pick (same routes, same order), buffers the body under the
same size limit, checks the caller as ``current_actor`` does, validates the path
parameters, the headers and the JSON body with the same pydantic types, then calls the
route's own endpoint function and sends the ``Response`` it returns. Exceptions the
endpoint raises go to the app's exception handlers as they would on the full route.

Anything not on that straight road goes down the full route, with the body replayed, and
gets exactly the answer it would have had: a route whose parameters this does not know, a
body that is not ``application/json`` or does not parse or validate, a missing or invalid
token or API key, a path or header parameter that does not validate, a mounted root path.
Nothing has been submitted at that point, so the full route decides from scratch. The
routes themselves (and so the OpenAPI document) are unchanged.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union

import orjson
from fastapi import APIRouter, params
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from command_service.api.deps import CommandDeps, current_actor, get_deps
from libs.auth.tokens import InvalidToken
from libs.http.json_keys import repeated_key
from libs.http.limits import (
    MAX_BODY_BYTES,
    declared_too_large,
    json_content,
    send_too_large,
)
from schemas.envelope import Actor

_API_KEY_HEADER = b"x-api-key"
_NO_VALUE: Any = object()


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str  # "deps" | "actor" | "path" | "header" | "body"
    adapter: TypeAdapter[Any] | None = None
    header: bytes = b""
    default: Any = _NO_VALUE
    model: type[BaseModel] | None = None


@dataclass(frozen=True)
class _Route:
    methods: frozenset[str]
    regex: re.Pattern[str]
    endpoint: Callable[..., Awaitable[Response]] | None  # None: take the full route
    params: tuple[_Param, ...] = ()


def _body_model(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """``Model`` -> (Model, False); ``Model | None`` -> (Model, True); else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = typing.get_args(annotation)
        models = [a for a in args if a is not type(None)]
        if len(args) == 2 and len(models) == 1:
            found = _body_model(models[0])
            if found is not None and not found[1]:
                return found[0], True
    return None


def _param(name: str, annotation: Any, default: Any) -> _Param | None:
    """How to get one endpoint parameter, or None when this does not know that kind."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        if len(meta) != 1:
            return None
        (info,) = meta
        if isinstance(info, params.Depends) and not isinstance(info, params.Security):
            if info.dependency is get_deps:
                return _Param(name, "deps")
            if info.dependency is current_actor:
                return _Param(name, "actor")
            return None
        if type(info) is params.Path:
            return _Param(name, "path", TypeAdapter(typing.Annotated[base, info]))
        if type(info) is params.Header:
            header = info.alias or (name.replace("_", "-") if info.convert_underscores else name)
            if default is inspect.Parameter.empty or info.default not in (PydanticUndefined, ...):
                return None  # required headers and Header(default=...) take the full route
            return _Param(
                name, "header", TypeAdapter(base), header.lower().encode("latin-1"), default
            )
        return None
    found = _body_model(annotation)
    if found is None:
        return None
    model, optional = found
    if optional and default is not None:
        return None
    if not optional and default is not inspect.Parameter.empty:
        return None
    return _Param(name, "body", default=None if optional else _NO_VALUE, model=model)


def _route(route: APIRoute) -> _Route:
    methods = frozenset(route.methods or ())
    full = _Route(methods, route.path_regex, None)
    endpoint = route.endpoint
    if route.dependencies or not inspect.iscoroutinefunction(endpoint):
        return full
    hints = typing.get_type_hints(endpoint, include_extras=True)
    returns = hints.get("return")
    if not (isinstance(returns, type) and issubclass(returns, Response)):
        return full
    got: list[_Param] = []
    for name, p in inspect.signature(endpoint).parameters.items():
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or name not in hints:
            return full
        param = _param(name, hints[name], p.default)
        if param is None:
            return full
        got.append(param)
    path_names = set(route.param_convertors)
    if {p.name for p in got if p.kind == "path"} != path_names:
        return full
    if sum(p.kind == "body" for p in got) > 1:
        return full
    if any(c.regex != "[^/]+" for c in route.param_convertors.values()):
        return full  # only plain {name} segments (strings), as FastAPI validates them
    return _Route(methods, route.path_regex, endpoint, tuple(got))


class FastCommands:
    """ASGI middleware in front of the command app; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        routers: Sequence[APIRouter],
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        routes = [_route(r) for router in routers for r in router.routes if isinstance(r, APIRoute)]
        self._methods = frozenset(m for r in routes for m in r.methods if r.endpoint is not None)
        # The router takes the first route whose path and method match; per method, the
        # routes in that order (a route without a fast endpoint stays there to be found).
        self._routes = {m: [r for r in routes if m in r.methods] for m in self._methods}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in self._methods
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        for route in self._routes[scope["method"]]:
            match = route.regex.match(path)
            if match is not None:
                break
        else:
            await self.app(scope, receive, send)
            return
        if route.endpoint is None:
            await self.app(scope, receive, send)
            return
        await self._handle(route, match.groupdict(), scope, receive, send)

    async def _handle(
        self, route: _Route, path_values: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name == b"content-length" and declared_too_large(value, self.max_body_bytes):
                await send_too_large(send, self.max_body_bytes)
                return
            headers.setdefault(name, value)
        messages: list[Message] = []
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":  # the client went away
                await self._full_route(messages, scope, receive, send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_body_bytes:
                await send_too_large(send, self.max_body_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        deps: CommandDeps = scope["app"].state.command_deps  # what get_deps answers
        kwargs = await self._arguments(deps, route, path_values, headers, body)
        if kwargs is None:
            replay: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
            await self._full_route(replay, scope, receive, send)
            return
        assert route.endpoint is not None
        try:
            response = await route.endpoint(**kwargs)
        except Exception as exc:
            handler = self._handler(scope, exc)
            if handler is None:
                raise  # the app's catch-all (ServerErrorMiddleware) answers and logs it
            request = Request(scope)
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)

    async def _arguments(
        self,
        deps: CommandDeps,
        route: _Route,
        path_values: dict[str, str],
        headers: dict[bytes, bytes],
        body: bytes,
    ) -> dict[str, Any] | None:
        """The endpoint's arguments, or None: the full route must answer this request."""
        kwargs: dict[str, Any] = {}
        try:
            for p in route.params:
                if p.kind == "body":
                    assert p.model is not None
                    if not body:
                        if p.default is _NO_VALUE:
                            return None
                        kwargs[p.name] = p.default
                        continue
                    if not json_content(headers.get(b"content-type")):
                        return None
                    data = orjson.loads(body)
                    if not isinstance(data, dict) or repeated_key(body, data) is not None:
                        return None  # the full route answers (422 for a repeated key)
                    kwargs[p.name] = p.model.model_validate(data)
                elif p.kind == "actor":
                    actor = await self._actor(deps, headers)
                    if actor is None:
                        return None
                    kwargs[p.name] = actor
                elif p.kind == "deps":
                    kwargs[p.name] = deps
                elif p.kind == "path":
                    assert p.adapter is not None
                    kwargs[p.name] = p.adapter.validate_python(path_values[p.name])
                else:  # header
                    assert p.adapter is not None
                    raw = headers.get(p.header)
                    kwargs[p.name] = (
                        p.default
                        if raw is None
                        else p.adapter.validate_python(raw.decode("latin-1"))
                    )
        except (ValidationError, orjson.JSONDecodeError):
            return None
        return kwargs

    @staticmethod
    async def _actor(deps: CommandDeps, headers: dict[bytes, bytes]) -> Actor | None:
        """``current_actor``'s answer when it has one; None where it would refuse."""
        authorization = headers.get(b"authorization")
        if authorization:
            scheme, _, token = authorization.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                try:
                    claims = deps.access_claims(token.strip())
                except InvalidToken:
                    return None
                return Actor(kind="user", user_id=claims.user_id)
        api_key = headers.get(_API_KEY_HEADER)
        if api_key:
            user_id = await deps.credentials.user_for_api_key(api_key.decode("latin-1"))
            if user_id is None:
                return None
            return Actor(kind="user", user_id=user_id)
        return None

    @staticmethod
    def _handler(scope: Scope, exc: Exception) -> Callable[..., Any] | None:
        """The handler Starlette's ExceptionMiddleware would pick for ``exc``; None for the
        catch-all (``Exception`` or 500), which ServerErrorMiddleware outside this applies."""
        handlers: dict[Any, Callable[..., Any]] = scope["app"].exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code != 500:
            by_status = handlers.get(exc.status_code)
            if by_status is not None:
                return by_status
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                return handlers[cls]
        return None

    async def _full_route(
        self, messages: list[Message], scope: Scope, receive: Receive, send: Send
    ) -> None:
        pending = list(messages)

        async def replay() -> Message:
            if pending:
                return pending.pop(0)
            return await receive()

        await self.app(scope, replay, send)

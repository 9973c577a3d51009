"""Checks on the raw request body before anything parses it: a hard cap on its size, and
no JSON object in it repeating a key (``json_keys``)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.http.json_keys import repeated_key

MAX_BODY_BYTES = 256 * 1024


async def send_problem(send: Send, status: int, code: str, title: str, **extra: Any) -> None:
    """Answer problem+json straight from ASGI middleware (no app behind it)."""
    body = orjson.dumps(
        {"type": f"urn:registry:problem:{code}", "title": title, "status": status, "code": code}
        | extra
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_too_large(send: Send, max_bytes: int) -> None:
    """Answer 413 problem+json: the body is larger than ``max_bytes``."""
    await send_problem(
        send,
        413,
        "request.too_large",
        f"The request body is larger than {max_bytes} bytes.",
        max_bytes=max_bytes,
    )


def declared_too_large(content_length: bytes, max_bytes: int) -> bool:
    """A ``content-length`` header over ``max_bytes``, or one that is not a number."""
    try:
        return int(content_length) > max_bytes
    except ValueError:
        return True


def json_content(value: bytes | None) -> bool:
    """``application/json`` or ``application/*+json`` (FastAPI's test), in the common form."""
    if value is None:
        return False
    kind = value.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (
        kind.startswith(b"application/") and kind.endswith(b"+json") and b" " not in kind
    )


async def send_repeated_key(send: Send, key: str) -> None:
    """Answer 422 problem+json: a JSON object of the body repeats ``key``."""
    await send_problem(
        send,
        422,
        "request.repeated_key",
        f"The JSON body repeats the key {key!r} in one object; each key may appear once.",
        key=key,
    )


def _repeated_key(headers: list[tuple[bytes, bytes]], body: bytes) -> str | None:
    content_type = next((v for k, v in headers if k == b"content-type"), None)
    if not body or not json_content(content_type):
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # the app answers what it answers to JSON it cannot read
    return repeated_key(body, parsed)


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        await send_too_large(send, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and declared_too_large(value, self.max_bytes):
                await self._reject(send)
                return
        # Buffer the body (at most max_bytes) before the app sees it, so a chunked body
        # that grows too large is refused with 413 before any parsing.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = b"".join(chunks)
        key = _repeated_key(scope.get("headers", []), whole)
        if key is not None:
            await send_repeated_key(send, key)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

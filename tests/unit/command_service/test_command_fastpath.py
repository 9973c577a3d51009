"""The command API's short way (``FastCommands``) answers exactly as the full FastAPI route.

Each request is sent to two apps over the same fake bus: the command app as built, and the
same app without ``FastCommands``. Status, body, the headers that matter and the commands
published must be identical; valid commands must not take the full route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from command_service.api.app import create_command_app
from command_service.api.deps import CommandDeps
from command_service.api.fastpath import FastCommands
from command_service.application.ports import LogUnavailable
from libs.auth.tokens import issue_access_token
from libs.http.limits import MAX_BODY_BYTES
from schemas.envelope import CommandEnvelope, ErrorBody, ResultEnvelope

SECRET = "unit-test-token-secret-" + "x" * 40
REGISTRY = "testland"
API_KEY = "crk_1_secret"


@dataclass
class FakeBus:
    sent: list[CommandEnvelope] = field(default_factory=list)

    async def submit(self, command: CommandEnvelope, timeout_s: float) -> ResultEnvelope:
        self.sent.append(command)
        body = command.payload
        if body.get("remarks") == "explode":
            raise RuntimeError("boom")
        if body.get("remarks") == "unavailable":
            raise LogUnavailable("down")
        rejected = body.get("remarks") == "refuse" or body.get("frozen") is False
        return ResultEnvelope(
            registry=REGISTRY,
            command_id=command.command_id,
            command_type=command.type,
            status="rejected" if rejected else "accepted",
            first_seq=None if rejected else 5,
            last_seq=None if rejected else 6,
            aggregate_id=None if rejected else "transfer-12",
            aggregate_ids=[] if rejected else ["transfer-12"],
            error=ErrorBody(kind="forbidden", code="auth.forbidden", message="no")
            if rejected
            else None,
            decided_at=datetime(2026, 1, 1, tzinfo=UTC),
        )

    async def close(self) -> None:
        return None


class FakeCredentials:
    async def user_for_api_key(self, value: str) -> int | None:
        return 9 if value == API_KEY else None


def _app(bus: FakeBus, fast: bool) -> FastAPI:
    credentials: Any = FakeCredentials()
    app = create_command_app(CommandDeps(REGISTRY, bus, credentials, SECRET, 1.0), {})
    if not fast:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not FastCommands]
    return app


@pytest.fixture
def full_routes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths FastCommands sent down the full route."""
    taken: list[str] = []
    original = FastCommands._full_route

    async def counted(
        self: FastCommands, messages: Any, scope: Any, receive: Any, send: Any
    ) -> None:
        taken.append(scope["path"])
        await original(self, messages, scope, receive, send)

    monkeypatch.setattr(FastCommands, "_full_route", counted)
    return taken


TOKEN = issue_access_token(SECRET, 7, REGISTRY)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}
TRANSFER = {
    "programme_id": "1",
    "from_company_id": 1,
    "to_company_id": 2,
    "amount": 10,
}
FREEZE = orjson.dumps({"frozen": True})

# (method, path, headers, body, goes the short way; None: a route it never takes)
REPEATED = b'{"frozen": true, "frozen": false}'
CASES: list[tuple[str, str, dict[str, str], bytes | None, bool | None]] = [
    ("PUT", "/v1/settings/transfer-freeze", {**AUTH, **JSON}, FREEZE, True),
    (
        "PUT",
        "/v1/settings/transfer-freeze",
        {**AUTH, **JSON, "Idempotency-Key": "k-1"},
        FREEZE,
        True,
    ),
    ("PUT", "/v1/settings/transfer-freeze", {"X-API-Key": API_KEY, **JSON}, FREEZE, True),
    ("PUT", "/v1/settings/transfer-freeze", {**AUTH, **JSON}, b'{"frozen": false}', True),
    (
        "PUT",
        "/v1/settings/transfer-freeze",
        {**AUTH, "Content-Type": "application/json; charset=utf-8"},
        FREEZE,
        True,
    ),
    (
        "PUT",
        "/v1/settings/transfer-freeze",
        {**AUTH, "Content-Type": "application/vnd.x+json"},
        FREEZE,
        True,
    ),
    ("POST", "/v1/transfers/12/cancel", AUTH, None, True),
    ("POST", "/v1/transfers/12/cancel", {**AUTH, **JSON}, b'{"comment": "no longer"}', True),
    ("POST", "/v1/organisations/3/suspend", {**AUTH, **JSON}, b'{"remarks": "refuse"}', True),
    ("POST", "/v1/organisations/3/suspend", {**AUTH, **JSON}, b'{"remarks": "unavailable"}', True),
    ("POST", "/v1/transfers", {**AUTH, **JSON}, orjson.dumps(TRANSFER), True),
    # everything below takes the full route
    ("PUT", "/v1/settings/transfer-freeze", JSON, FREEZE, False),
    (
        "PUT",
        "/v1/settings/transfer-freeze",
        {"Authorization": "Bearer nope", **JSON},
        FREEZE,
        False,
    ),
    ("PUT", "/v1/settings/transfer-freeze", {"Authorization": "Basic abc", **JSON}, FREEZE, False),
    ("PUT", "/v1/settings/transfer-freeze", {"X-API-Key": "crk_2_wrong", **JSON}, FREEZE, False),
    ("PUT", "/v1/settings/transfer-freeze", AUTH, FREEZE, False),
    ("PUT", "/v1/settings/transfer-freeze", {**AUTH, "Content-Type": "text/plain"}, FREEZE, False),
    ("PUT", "/v1/settings/transfer-freeze", {**AUTH, **JSON}, b"{not json", False),
    ("PUT", "/v1/settings/transfer-freeze", {**AUTH, **JSON}, b"[1, 2]", False),
    ("PUT", "/v1/settings/transfer-freeze", {**AUTH, **JSON}, b'{"frozen": "maybe"}', False),
    ("PUT", "/v1/settings/transfer-freeze", {**AUTH, **JSON}, b"", False),
    ("PUT", "/v1/settings/transfer-freeze", {**AUTH, **JSON}, b'{"frozen": NaN}', False),
    (
        "PUT",
        "/v1/settings/transfer-freeze",
        {**AUTH, **JSON, "Idempotency-Key": "bad key!"},
        FREEZE,
        False,
    ),
    ("POST", "/v1/transfers/0/cancel", AUTH, None, False),
    ("POST", "/v1/transfers/abc/cancel", AUTH, None, False),
    ("POST", "/v1/transfers/12/cancel", {**AUTH, **JSON}, b"null", False),
    ("POST", "/v1/transfers", {**AUTH, **JSON}, b"{}", False),
    # A repeated key: which value would count is the parser's choice; refused either way.
    (
        "PUT",
        "/v1/settings/transfer-freeze",
        {**AUTH, **JSON},
        b'{"frozen": true, "frozen": false}',
        False,
    ),
    ("POST", "/v1/auth/token", {}, b"username=a&password=b", None),  # never short
]


def _exchange(response: httpx.Response) -> tuple[int, Any, dict[str, str | None]]:
    body = response.json() if response.content else None
    if isinstance(body, dict) and body.get("command_id", "").startswith("auto-"):
        body["command_id"] = "auto"
    keep = ("content-type", "www-authenticate", "x-registry-seq")
    return response.status_code, body, {k: response.headers.get(k) for k in keep}


def _published(bus: FakeBus) -> list[dict[str, Any]]:
    out = []
    for env in bus.sent:
        d = env.model_dump(mode="json", exclude={"submitted_at"})
        if d["command_id"].startswith("auto-"):
            d["command_id"] = "auto"
        out.append(d)
    return out


@pytest.mark.parametrize(("method", "path", "headers", "body", "short"), CASES)
async def test_the_short_way_answers_as_the_full_route(
    full_routes: list[str],
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    short: bool,
) -> None:
    answers = []
    published = []
    for fast in (True, False):
        bus = FakeBus()
        transport = httpx.ASGITransport(app=_app(bus, fast), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.request(method, path, headers=headers, content=body)
        answers.append(_exchange(r))
        published.append(_published(bus))
    assert answers[0] == answers[1]
    assert published[0] == published[1]
    if short is not None:
        assert (full_routes == []) == short, full_routes


async def test_an_unexpected_error_is_a_problem_500_on_both_ways() -> None:
    for fast in (True, False):
        transport = httpx.ASGITransport(app=_app(FakeBus(), fast), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post(
                "/v1/organisations/3/suspend",
                headers={**AUTH, **JSON},
                content=b'{"remarks": "explode"}',
            )
        assert r.status_code == 500
        assert r.json()["code"] == "internal.error"


async def _raw(app: FastAPI, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> int:
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/v1/settings/transfer-freeze",
        "raw_path": b"/v1/settings/transfer-freeze",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"t"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    await app(scope, receive, send)
    status: int = sent[0]["status"]
    return status


async def test_the_body_limit_holds_on_the_short_way_also_for_chunked_bodies() -> None:
    bus = FakeBus()
    app = _app(bus, fast=True)
    auth = [(b"authorization", f"Bearer {TOKEN}".encode())]
    big = b" " * (MAX_BODY_BYTES // 2)
    # chunked (no Content-Length) and growing past the limit
    assert await _raw(app, [FREEZE[:5], big, big, FREEZE[5:]], auth) == 413
    # announced too large
    length = [(b"content-length", str(MAX_BODY_BYTES + 1).encode())]
    assert await _raw(app, [FREEZE], [*auth, *length]) == 413
    # chunked and within the limit: decided
    assert await _raw(app, [FREEZE[:5], FREEZE[5:]], auth) == 201
    assert len(bus.sent) == 1


async def test_a_repeated_key_is_refused_naming_it_and_publishes_nothing() -> None:
    bus = FakeBus()
    transport = httpx.ASGITransport(app=_app(bus, True), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.put(
            "/v1/settings/transfer-freeze",
            headers={**AUTH, **JSON},
            content=REPEATED,
        )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert (r.json()["code"], r.json()["key"]) == ("request.repeated_key", "frozen")
    assert bus.sent == []

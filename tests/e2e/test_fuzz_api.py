"""Property-based fuzzing of the whole HTTP surface (limits-and-faults B4 row 10).

Schemathesis reads the OpenAPI schema of the command API and of the read API (each app as
``registry serve --only commands|queries`` builds it, on a real registry: embedded
PostgreSQL and the embedded processor) and, for every operation, sends what its coverage
phase enumerates (boundary and schema-violating values, positive and negative) and what
its fuzzing phase draws (both modes). Each case goes out as the Root user, as a
ProgrammeDeveloper's admin, or with whatever credentials the fuzzer made up, in turn.
A second test sends hand-made raw bodies (deep nesting, huge integers, NaN/Infinity,
duplicate keys, bad UTF-8, oversize) to every operation that takes a body.

Every answer must be: never 5xx; every 4xx ``application/problem+json`` with a ``code``;
conforming to the documented schema (content type, headers, body of the documented
statuses); a schema-violating request refused; and a refused command appends nothing to the
log (the processor's ``last_seq`` does not move).

Generation is derandomized (same cases every run) and bounded; the cases run on a worker
thread and each request is awaited on the session loop, where the registry lives.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import hypothesis
import pytest
import pytest_asyncio
import schemathesis
from e2e_helpers import (
    PROBLEM,
    Developer,
    bearer,
    developer_body,
    open_registry,
    register_developer,
    root_token,
    settings_for,
)
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
)

from command_service.api.app import create_command_app
from libs.http.limits import MAX_BODY_BYTES
from libs.localinfra.postgres import create_database, drop_database
from query_service.api.app import create_query_app
from registry_cli.serve import Running

pytestmark = pytest.mark.postgres

MAX_EXAMPLES = 5  # fuzzing phase, per operation (the coverage phase adds its own cases)
REQUEST_TIMEOUT_S = 30.0
T = TypeVar("T")

CHECKS = [content_type_conformance, response_headers_conformance, response_schema_conformance]
# The command API refuses every schema-violating request. The read API parses query
# parameters leniently on purpose (pydantic's lax mode: `as_of=0.5` is a Unix time, `0`/`1`
# are booleans), so "violating the schema" is not "refused" there.
COMMAND_CHECKS = [*CHECKS, negative_data_rejection]

# The one 5xx a read may answer on purpose: `min_seq` ahead of the read models (503,
# retryable; the read API cannot tell a seq not yet projected from one never written).
RETRYABLE_5XX = {(503, "read.behind")}

# Headers schemathesis adds that say nothing about the request.
_NOISE = {"user-agent", "accept-encoding", "connection", "x-schemathesis-testcaseid"}


@dataclass
class Surface:
    """The registry under fuzz: one client per app, the tokens, the log head."""

    running: Running
    command: httpx.AsyncClient
    query: httpx.AsyncClient
    root: str
    developer: Developer
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)

    def last_seq(self) -> int:
        state = self.running.processor.state
        assert state is not None
        return state.last_seq

    def run(self, coro: Awaitable[T]) -> T:
        """Await ``coro`` on the registry's loop from the fuzzing thread."""
        return asyncio.run_coroutine_threadsafe(_wrap(coro), self.loop).result(REQUEST_TIMEOUT_S)


async def _wrap(coro: Awaitable[T]) -> T:
    return await coro


def _client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30.0)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def surface(
    pg_server_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Surface]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    dsn = await create_database(pg_server_dsn, name)
    registry_id = "t" + uuid.uuid4().hex[:10]
    # Reads with a min_seq ahead of the log wait at most 1 ms (not 10 s) per case.
    settings = settings_for(registry_id, Path(tmp_path_factory.mktemp("fuzz"))).model_copy(
        update={"read_wait_max_s": 0.001}
    )
    reg = await open_registry(settings, dsn)
    try:
        root = await root_token(reg)
        developer = await register_developer(reg, root)
        running = reg.running
        command = _client(create_command_app(running.command_deps, running.ready_checks()))
        query = _client(create_query_app(running.query_deps, running.ready_checks()))
        try:
            yield Surface(running, command, query, root, developer)
        finally:
            await command.aclose()
            await query.aclose()
    finally:
        await reg.close()
        try:
            await drop_database(pg_server_dsn, name)
        except Exception as exc:  # best effort; the server is throwaway
            print(f"[postgres] could not drop {name}: {exc!r}")


# -- checking one answer ---------------------------------------------------------------


def problems_in(response: httpx.Response, seq_before: int, seq_after: int) -> list[str]:
    """What is wrong with this answer, whatever the request was (empty: nothing)."""
    status = response.status_code
    found: list[str] = []
    if status >= 500 and (status, _code(response)) not in RETRYABLE_5XX:
        found.append(f"server error {status}: {response.text[:300]}")
    if 400 <= status < 600:
        ctype = response.headers.get("content-type", "")
        if not ctype.startswith(PROBLEM):
            found.append(f"{status} is {ctype!r}, not {PROBLEM}: {response.text[:200]}")
        else:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
            if not (isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"]):
                found.append(f"{status} problem without a code: {response.text[:200]}")
            elif body.get("status") != status:
                found.append(f"{status} problem says status {body.get('status')!r}")
        if seq_after != seq_before:
            found.append(f"refused ({status}) yet the log moved {seq_before} -> {seq_after}")
    return found


def _code(response: httpx.Response) -> str | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _describe(method: str, url: str, body: Any) -> str:
    shown = body if isinstance(body, bytes | str) else json.dumps(body, default=str)
    return f"{method} {url[:300]} body={str(shown)[:200]}"


# -- the schemathesis run ----------------------------------------------------------------


def _config() -> Any:
    return schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
            "phases": {
                "examples": {"enabled": True},
                # One unexpected method per operation is enough to see the 405 problem.
                "coverage": {"enabled": True, "unexpected-methods": ["patch"]},
                "fuzzing": {"enabled": True},
            },
        }
    )


@dataclass
class Fuzz:
    surface: Surface
    client: httpx.AsyncClient
    checks: list[Any]
    failures: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    unsendable: int = 0
    phases: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)

    def identity(self) -> dict[str, str] | None:
        """Root, the developer, or the fuzzer's own credentials, in turn."""
        turn = self.sent % 3
        if turn == 0:
            return bearer(self.surface.root)
        if turn == 1:
            return bearer(self.surface.developer.token)
        return None

    def send(self, case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://test")
        headers = {k: str(v) for k, v in kwargs["headers"].items() if k.lower() not in _NOISE}
        auth = self.identity()
        if auth is not None:
            headers = {
                k: v for k, v in headers.items() if k.lower() not in {"authorization", "x-api-key"}
            }
            headers.update(auth)
        if case.meta is not None and case.meta.generation.mode.name == "POSITIVE":
            # A fresh key per positive case, so a valid command is decided, not refused
            # as a reuse of an earlier case's key.
            for k in list(headers):
                if k.lower() == "idempotency-key":
                    headers[k] = f"{headers[k][:40]}-{self.sent}"
        request: dict[str, Any] = {
            "method": kwargs["method"],
            "url": kwargs["url"],
            "params": kwargs.get("params"),
            "headers": headers,
            "cookies": kwargs.get("cookies") or None,
        }
        body: Any = None
        if "json" in kwargs:
            body = kwargs["json"]
            request["content"] = json.dumps(body).encode()
        elif "data" in kwargs:
            body = kwargs["data"]
            if isinstance(body, dict):
                request["data"] = body
            else:
                request["content"] = body
        elif "content" in kwargs:
            body = request["content"] = kwargs["content"]
        before = self.surface.last_seq()
        try:
            response = self.surface.run(self.client.request(**request))
        except httpx.InvalidURL:  # the client cannot send it (e.g. a query over 64 KiB)
            self.unsendable += 1
            return
        after = self.surface.last_seq()
        self.sent += 1
        phase = case.meta.phase.name.value if case.meta is not None else "?"
        self.phases[phase] = self.phases.get(phase, 0) + 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        found = problems_in(response, before, after)
        try:
            case.validate_response(response, checks=self.checks)
        except BaseExceptionGroup as exc:  # schemathesis FailureGroup: one per failed check
            found.extend(
                f"{type(f).__name__}: {getattr(f, 'title', f)}"
                for f in getattr(exc, "exceptions", [exc])
            )
        for what in found:
            key = f"{case.operation.label} {what.split(':')[0]}"
            self.failures.setdefault(
                key, f"{what}\n    {_describe(kwargs['method'], str(response.url), body)}"
            )


def fuzz_schema(
    surface: Surface, client: httpx.AsyncClient, openapi: dict[str, Any], checks: list[Any]
) -> Fuzz:
    """Run every operation of ``openapi`` against ``client`` (on the calling thread)."""
    schema = schemathesis.openapi.from_dict(openapi, config=_config())
    fuzz = Fuzz(surface, client, checks)
    settings = hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/metrics":
            continue  # Prometheus text, documented as JSON by FastAPI's default
        test = build_operation_test(
            config=schema.config,
            operation=operation,
            test_func=fuzz.send,
            given_kwargs={},
            feedback=FeedbackSources(),
            explicit_settings=settings,
        )
        test()
    return fuzz


async def _fuzz(surface: Surface, client: httpx.AsyncClient, checks: list[Any]) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    started = time.monotonic()
    fuzz = await asyncio.to_thread(fuzz_schema, surface, client, app.openapi(), checks)
    took = time.monotonic() - started
    print(
        f"\n[fuzz] {fuzz.sent} requests ({fuzz.unsendable} unsendable) in {took:.1f} s; "
        f"phases {fuzz.phases}; statuses {sorted(fuzz.statuses.items())}"
    )
    assert fuzz.sent > 0
    assert not fuzz.failures, "\n".join(f"{k}\n  {v}" for k, v in sorted(fuzz.failures.items()))


async def test_fuzz_query_api(surface: Surface) -> None:
    await _fuzz(surface, surface.query, CHECKS)


# -- raw bodies no generator writes ------------------------------------------------------

DEEP = 50_000
RAW_BODIES: list[tuple[str, bytes, str]] = [
    ("deep arrays", b"[" * DEEP + b"]" * DEEP, "application/json"),
    ("deep objects", b'{"a":' * DEEP + b"1" + b"}" * DEEP, "application/json"),
    (
        "int over 2**63",
        b'{"amount": 9223372036854775808, "company_id": 9223372036854775808}',
        "application/json",
    ),
    ("int over 2**64", b'{"amount": 18446744073709551617123}', "application/json"),
    ("huge int literal", b'{"amount": 1' + b"0" * 5000 + b"}", "application/json"),
    ("huge exponent", b'{"amount": 1e400, "percentage": 1e400}', "application/json"),
    ("NaN", b'{"amount": NaN, "percentage": NaN, "frozen": NaN}', "application/json"),
    ("Infinity", b'{"amount": Infinity, "percentage": -Infinity}', "application/json"),
    (
        "duplicate keys",
        b'{"amount": 1, "amount": -1, "comment": "a", "comment": 2}',
        "application/json",
    ),
    ("repeated key", b'{"comment": "a", "comment": "b"}', "application/json"),
    (
        "bad UTF-8",
        b'{"name": "\xff\xfe", "comment": "\xc3\x28"}',
        "application/json",
    ),
    (
        "lone surrogate",
        rb'{"name": "\ud800", "comment": "\udfff"}',  # JSON escapes of lone surrogates
        "application/json",
    ),
    (
        "NUL in a string",
        rb'{"name": "a\u0000b", "comment": "\u0000"}',  # PostgreSQL text cannot hold NUL
        "application/json",
    ),
    ("truncated", b'{"name": "x", "amount": ', "application/json"),
    ("not an object", b'"just a string"', "application/json"),
    ("empty", b"", "application/json"),
    ("form to JSON", b"amount=1&comment=x", "application/x-www-form-urlencoded"),
    ("text", b"hello", "text/plain"),
    ("no content type", b'{"amount": 1}', ""),
    ("oversize", b'{"comment": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}', "application/json"),
]


def _body_operations(openapi: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, path) of every operation that takes a body, path parameters set to 1."""
    found = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                found.append((method.upper(), path.replace("{", "").replace("}", "").split("/")))
    return [(m, "/".join("1" if p.endswith("_id") else p for p in parts)) for m, parts in found]


async def test_raw_bodies(surface: Surface) -> None:
    failures: list[str] = []
    sent = 0
    for client in (surface.command, surface.query):
        app = client._transport.app  # type: ignore[attr-defined]
        for method, path in _body_operations(app.openapi()):
            for token in (surface.root, surface.developer.token):
                for name, body, ctype in RAW_BODIES:
                    headers = {**bearer(token), "Idempotency-Key": f"raw-{uuid.uuid4().hex}"}
                    if ctype:
                        headers["Content-Type"] = ctype
                    before = surface.last_seq()
                    r = await client.request(method, path, content=body, headers=headers)
                    sent += 1
                    if 200 <= r.status_code < 300:
                        failures.append(
                            f"{method} {path} {name}: accepted {r.status_code} {r.text[:200]}"
                        )
                    failures.extend(
                        f"{method} {path} {name}: {what}"
                        for what in problems_in(r, before, surface.last_seq())
                    )
                    if name == "oversize" and r.status_code != 413:
                        failures.append(f"{method} {path} oversize: {r.status_code}, not 413")
                    if name == "repeated key" and (
                        r.status_code != 422 or r.json().get("code") != "request.repeated_key"
                    ):
                        failures.append(f"{method} {path} repeated key: {r.status_code} {r.text}")
    assert sent > 0
    assert not failures, "\n".join(failures[:60])


# Last: Root's fuzzed commands may suspend the developer or delete its admin, which would
# turn the reads and raw bodies above into 401s.
async def test_fuzz_command_api(surface: Surface) -> None:
    await _fuzz(surface, surface.command, COMMAND_CHECKS)


async def test_poison_values_in_valid_bodies(surface: Surface) -> None:
    """Values JSON allows but PostgreSQL or the log cannot hold, inside otherwise valid bodies."""
    failures: list[str] = []
    for label, raw_name in [
        ("NUL", r'"Dev \u0000 Ltd"'),
        ("lone surrogate", r'"Dev \ud800 Ltd"'),
        ("huge int", "1" + "0" * 30),
    ]:
        valid = developer_body()
        body = json.dumps(valid).replace(json.dumps(valid["name"]), raw_name, 1)
        before = surface.last_seq()
        r = await surface.command.post(
            "/v1/organisations",
            content=body.encode(),
            headers={**bearer(surface.root), "Content-Type": "application/json"},
        )
        failures.extend(f"{label}: {w}" for w in problems_in(r, before, surface.last_seq()))
        if r.status_code < 400:
            failures.append(f"{label}: accepted {r.status_code}")
        elif r.json()["code"] == "request.invalid":
            assert any(e["loc"][-1] == "name" for e in r.json().get("errors", [])), r.text
    assert not failures, "\n".join(failures)

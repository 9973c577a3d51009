"""Helpers of the end-to-end suite: the registry handle, sign-in, request bodies, checks.

The transport does not re-raise application exceptions: a crash is observed as the
500 problem+json a real client would receive, so tests can assert "4xx, not 5xx".
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from libs.settings import RegistrySettings
from registry_cli.apps import all_in_one_app
from registry_cli.serve import Running, start_registry

ROOT_EMAIL = "root@registry.example.org"
ROOT_PASSWORD = "e2e-Root-password-0123456789"
COUNTRY_CODE = "KE"
COUNTRY_NAME = "Kenya"
PROBLEM = "application/problem+json"
READY_TIMEOUT_S = 15.0

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A short unique token for tax ids, e-mails and external ids."""
    return f"{prefix}{next(_counter)}x{uuid.uuid4().hex[:8]}"


@dataclass
class E2E:
    settings: RegistrySettings
    dsn: str
    running: Running
    client: httpx.AsyncClient
    root_email: str = ROOT_EMAIL
    root_password: str = ROOT_PASSWORD
    _closed: bool = field(default=False, repr=False)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.client.aclose()
        await self.running.close()

    async def restart(self) -> None:
        """Stop this registry and start a new one on the same database and settings."""
        await self.close()
        running, client = await _start(self.settings, self.dsn)
        self.running, self.client, self._closed = running, client, False


async def _wait_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        r = await client.get("/ready")
        if r.status_code == 200:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"/ready did not turn 200 in time: {r.status_code} {r.text}")
        await asyncio.sleep(0.02)


async def _start(settings: RegistrySettings, dsn: str) -> tuple[Running, httpx.AsyncClient]:
    running = await start_registry(settings, dsn)
    app = all_in_one_app(running.command_deps, running.query_deps, running.ready_checks())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30.0)
    try:
        await _wait_ready(client)
    except BaseException:
        await client.aclose()
        await running.close()
        raise
    return running, client


def settings_for(registry_id: str, data_dir: Path) -> RegistrySettings:
    return RegistrySettings(
        registry=registry_id,
        data_dir=data_dir,
        country_code=COUNTRY_CODE,
        country_name=COUNTRY_NAME,
        government_name=f"Government of {COUNTRY_NAME}",
        root_email=ROOT_EMAIL,
        root_password=ROOT_PASSWORD,
        token_secret="x" * 40,
    )


async def open_registry(settings: RegistrySettings, dsn: str) -> E2E:
    """Start a registry on ``dsn`` and wait until /ready says it has caught up."""
    running, client = await _start(settings, dsn)
    return E2E(settings, dsn, running, client)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    r = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    return str(body["access_token"])


async def root_token(reg: E2E) -> str:
    return await login(reg.client, reg.root_email, reg.root_password)


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is problem+json with this status (and code); returns the body."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    if code is not None:
        assert body["code"] == code, body
        assert body["type"] == f"urn:registry:problem:{code}"
    return body


def developer_body(tax_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid RegisterOrganisation body for a ProgrammeDeveloper."""
    tag = unique("d")
    body: dict[str, Any] = {
        "name": f"Developer {tag}",
        "role": "ProgrammeDeveloper",
        "tax_id": tax_id or f"TAX-{tag}",
        "payment_id": f"PAY-{tag}",
        "email": f"contact-{tag}@dev.example.com",
        "phone": "+254 700 000 000",
        "website": "https://dev.example.com",
        "address": "1 Green Road, Nairobi",
        "sectoral_scopes": ["1", "3"],
        "admin": {"email": f"admin-{tag}@dev.example.com", "name": f"Admin {tag}"},
    }
    body.update(overrides)
    return body


def programme_body(proponent_tax_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid CreateProgramme body with unique external id and assessment number."""
    tag = unique("p")
    body: dict[str, Any] = {
        "title": f"Solar mini-grids {tag}",
        "external_id": f"EXT-{tag}",
        "sector": "Energy",
        "sectoral_scope": "1",
        "start_time": 1_704_067_200,  # 2024-01-01
        "end_time": 2_019_686_400,  # 2034-01-01
        "credit_est": 150_000,
        "proponent_tax_ids": [proponent_tax_id],
        "proponent_percentages": ["100"],
        "environmental_assessment_registration_no": f"EIA-{tag}",
        "properties": {
            "estimated_programme_cost_usd": "1500000.00",
            "geographical_location": ["Nairobi", "Mombasa"],
            "greenhouse_gases": ["CO2", "CH4"],
            "crediting_period_years": 10,
            "source_of_funding": "Private",
        },
        "comment": "created by the e2e suite",
    }
    body.update(overrides)
    return body


@dataclass
class Developer:
    company_id: int
    admin_user_id: int
    tax_id: str
    admin_email: str
    admin_password: str
    seq: int
    token: str


async def register_developer(reg: E2E, token: str, body: dict[str, Any] | None = None) -> Developer:
    """Register a ProgrammeDeveloper as ``token``'s user and sign its first admin in."""
    body = body or developer_body()
    r = await reg.client.post("/v1/organisations", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    out = r.json()
    ids = out["aggregate_ids"]
    org = next(a for a in ids if a.startswith("organisation-"))
    user = next(a for a in ids if a.startswith("user-"))
    password = out["admin_initial_password"]
    admin_token = await login(reg.client, body["admin"]["email"], password)
    # Reads resolve the caller before honouring min_seq (see the xfail in
    # test_read_your_writes.py), so wait until the new admin is in the read model.
    await read_seq(reg, min_seq=out["seq"])
    return Developer(
        company_id=int(org.removeprefix("organisation-")),
        admin_user_id=int(user.removeprefix("user-")),
        tax_id=body["tax_id"],
        admin_email=body["admin"]["email"],
        admin_password=password,
        seq=out["seq"],
        token=admin_token,
    )


async def read_seq(reg: E2E, min_seq: int = 0) -> int:
    """The seq the read models have applied (the public registry endpoint reports it)."""
    r = await reg.client.get("/v1/registry", params={"min_seq": min_seq})
    assert r.status_code == 200, r.text
    seq = int(r.json()["seq"])
    assert int(r.headers["X-Registry-Seq"]) == seq
    return seq

"""Refusals over HTTP: problem+json, a stable code, the right status, and nothing written."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
from e2e_helpers import (
    E2E,
    assert_problem,
    bearer,
    developer_body,
    programme_body,
    read_seq,
    register_developer,
    root_token,
)

JSON = {"content-type": "application/json"}
TOO_BIG = 256 * 1024 + 1


def forged(secret: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "1", "reg": "x", "iat": now, "exp": now + 600, "typ": "access", **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def raw(body: dict[str, Any], path: list[str | int], token: str) -> str:
    """Serialise ``body`` with the value at ``path`` replaced by the literal JSON ``token``."""
    marker = "__E2E_LITERAL__"
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    return json.dumps(body).replace(f'"{marker}"', token)


async def test_refusals_are_problems_and_write_nothing(registry: E2E) -> None:
    client = registry.client
    root = await root_token(registry)
    dev = await register_developer(registry, root)
    secret = registry.settings.token_secret
    assert secret is not None
    reg_id = registry.settings.registry

    before = await read_seq(registry, min_seq=dev.seq)
    assert before == dev.seq
    state = registry.running.processor.state
    assert state is not None
    assert state.last_seq == before
    orgs_before = (await client.get("/v1/organisations", headers=bearer(root))).json()["data"]

    async def post(path: str, **kwargs: Any) -> httpx.Response:
        return await client.post(path, **kwargs)

    cases: list[tuple[str, httpx.Response, int, str | None]] = []

    async def case(
        name: str, status: int, code: str | None, method: str, path: str, **kwargs: Any
    ) -> None:
        r = await client.request(method, path, **kwargs)
        cases.append((name, r, status, code))

    dev_headers = bearer(dev.token)
    root_headers = bearer(root)

    # -- authentication ------------------------------------------------------------------
    for path, body in [
        ("/v1/organisations", developer_body()),
        ("/v1/programmes", programme_body(dev.tax_id)),
    ]:
        await case(f"no token {path}", 401, "auth.missing_token", "POST", path, json=body)
        for label, token in [
            ("garbage", "not-a-jwt"),
            ("wrong secret", forged("y" * 40, sub=str(dev.admin_user_id), reg=reg_id)),
            ("expired", forged(secret, sub="1", reg=reg_id, exp=int(time.time()) - 60)),
            ("other registry", forged(secret, sub="1", reg="someotherregistry")),
            ("not an access token", forged(secret, sub="1", reg=reg_id, typ="refresh")),
        ]:
            await case(
                f"{label} token {path}",
                401,
                "auth.invalid_token",
                "POST",
                path,
                json=body,
                headers=bearer(token),
            )
    for path in ["/v1/programmes", "/v1/organisations", "/v1/users", "/v1/programmes/001"]:
        await case(f"no token GET {path}", 401, "auth.missing_token", "GET", path)
        await case(
            f"bad token GET {path}",
            401,
            "auth.invalid_token",
            "GET",
            path,
            headers=bearer("not-a-jwt"),
        )
    # A correctly signed token for a user the registry does not know.
    ghost = forged(secret, sub="4242", reg=reg_id)
    await case(
        "unknown user command",
        403,
        "auth.unknown_actor",
        "POST",
        "/v1/programmes",
        json=programme_body(dev.tax_id),
        headers=bearer(ghost),
    )
    await case(
        "unknown user read",
        401,
        "auth.unknown_user",
        "GET",
        "/v1/programmes",
        headers=bearer(ghost),
    )

    # -- invalid bodies --------------------------------------------------------------------
    invalid_orgs = {
        "unknown role": developer_body(role="Wizard"),
        "bad e-mail": developer_body(email="not-an-email"),
        "no admin": {k: v for k, v in developer_body().items() if k != "admin"},
        "bad website": developer_body(website="javascript:alert(1)"),
        "name too long": developer_body(name="n" * 201),
        "bad tax id": developer_body(tax_id="tax id with spaces"),
    }
    for label, body in invalid_orgs.items():
        await case(
            f"invalid org: {label}",
            422,
            "request.invalid",
            "POST",
            "/v1/organisations",
            json=body,
            headers=root_headers,
        )
    invalid_programmes = {
        "unknown sector": programme_body(dev.tax_id, sector="Space"),
        "zero credits": programme_body(dev.tax_id, credit_est=0),
        "negative start": programme_body(dev.tax_id, start_time=-1),
        "no proponents": programme_body(dev.tax_id, proponent_tax_ids=[]),
        "credits as text": programme_body(dev.tax_id, credit_est="lots"),
        "percentage over 100": programme_body(dev.tax_id, proponent_percentages=["100.5"]),
    }
    for label, body in invalid_programmes.items():
        await case(
            f"invalid programme: {label}",
            422,
            "request.invalid",
            "POST",
            "/v1/programmes",
            json=body,
            headers=dev_headers,
        )

    # -- mass assignment: fields a client may not set ----------------------------------------
    org_extras: dict[str, dict[str, Any]] = {
        "state": developer_body(state="Active"),
        "actor": developer_body(actor={"kind": "system"}),
        "company_id": developer_body(company_id=1),
        "country_code": developer_body(country_code="US"),
        "admin.role": developer_body(admin={"email": "x@y.example", "name": "X", "role": "Root"}),
    }
    for label, body in org_extras.items():
        await case(
            f"org with {label}",
            422,
            "request.invalid",
            "POST",
            "/v1/organisations",
            json=body,
            headers=root_headers,
        )
    prog_extras: dict[str, dict[str, Any]] = {
        "stage": programme_body(dev.tax_id, stage="Authorised"),
        "actor": programme_body(dev.tax_id, actor={"kind": "user", "user_id": 1}),
        "programme_id": programme_body(dev.tax_id, programme_id="001"),
        "serial_no": programme_body(dev.tax_id, serial_no="NG-ITMO-1"),
    }
    bad_props = programme_body(dev.tax_id)
    bad_props["properties"]["carbon_price_usd_per_ton"] = "0.01"
    prog_extras["properties.carbon_price_usd_per_ton"] = bad_props
    for label, body in prog_extras.items():
        await case(
            f"programme with {label}",
            422,
            "request.invalid",
            "POST",
            "/v1/programmes",
            json=body,
            headers=dev_headers,
        )

    # -- domain refusals -------------------------------------------------------------------
    await case(
        "developer registers an organisation",
        403,
        "auth.forbidden",
        "POST",
        "/v1/organisations",
        json=developer_body(),
        headers=dev_headers,
    )
    for label, tax_id in [("same", dev.tax_id), ("other case", dev.tax_id.lower())]:
        await case(
            f"duplicate tax id ({label})",
            409,
            "organisation.tax_id_taken",
            "POST",
            "/v1/organisations",
            json=developer_body(tax_id=tax_id),
            headers=root_headers,
        )
    await case(
        "unknown proponent",
        404,
        "programme.proponent_not_found",
        "POST",
        "/v1/programmes",
        json=programme_body("UNKNOWN-TAX-ID"),
        headers=root_headers,
    )
    await case(
        "percentages do not sum to 100",
        422,
        "programme.percentages_sum",
        "POST",
        "/v1/programmes",
        json=programme_body(dev.tax_id, proponent_percentages=["60"]),
        headers=dev_headers,
    )

    # -- size, syntax and number limits --------------------------------------------------
    big = developer_body(address="a" * TOO_BIG)
    await case(
        "body over 256 KiB",
        413,
        "request.too_large",
        "POST",
        "/v1/organisations",
        json=big,
        headers=root_headers,
    )
    await case(
        "body over 256 KiB, not even signed in",
        413,
        "request.too_large",
        "POST",
        "/v1/programmes",
        content=b"x" * TOO_BIG,
        headers=JSON,
    )
    for label, content, ctype in [
        ("not JSON", b"this is not json", "application/json"),
        ("truncated JSON", b'{"name": "x", ', "application/json"),
        ("empty body", b"", "application/json"),
        ("JSON array", b"[1, 2, 3]", "application/json"),
        ("JSON string", b'"hello"', "application/json"),
        ("plain text", b"name=x&role=ProgrammeDeveloper", "text/plain"),
        ("form", b"name=x&role=ProgrammeDeveloper", "application/x-www-form-urlencoded"),
    ]:
        await case(
            f"non-JSON body: {label}",
            422,
            None,
            "POST",
            "/v1/organisations",
            content=content,
            headers={**root_headers, "content-type": ctype},
        )
    numbers = [
        (["credit_est"], str(2**64)),
        (["credit_est"], str(-(2**64))),
        (["credit_est"], str(10**300)),
        (["start_time"], str(2**63)),
        (["end_time"], str(2**63 + 1)),
        (["credit_est"], "NaN"),
        (["credit_est"], "Infinity"),
        (["credit_est"], "-Infinity"),
        (["credit_est"], "1e400"),
        (["start_time"], "NaN"),
        (["properties", "estimated_programme_cost_usd"], "NaN"),
        (["properties", "estimated_programme_cost_usd"], "Infinity"),
        (["properties", "estimated_programme_cost_usd"], str(2**70)),
        (["properties", "estimated_programme_cost_usd"], "1e999999"),
        (["properties", "crediting_period_years"], str(2**64)),
        (["proponent_percentages", 0], "NaN"),
        (["proponent_percentages", 0], "-Infinity"),
        (["proponent_percentages", 0], str(2**64)),
    ]
    for path, literal in numbers:
        content = raw(programme_body(dev.tax_id), path, literal)
        await case(
            f"number {'.'.join(map(str, path))}={literal[:20]}",
            422,
            None,
            "POST",
            "/v1/programmes",
            content=content,
            headers={**dev_headers, **JSON},
        )
    for params in [
        {"min_seq": str(2**64)},
        {"min_seq": "-1"},
        {"min_seq": "NaN"},
        {"wait_ms": "Infinity"},
        {"after": str(2**64)},
        {"limit": str(2**64)},
        {"limit": "0"},
    ]:
        await case(
            f"query {params}",
            422,
            "request.invalid",
            "GET",
            "/v1/programmes",
            params=params,
            headers=dev_headers,
        )
    for key in ["has space", "semi;colon", "slash/es", "quote'", "k" * 129, "", "a,b"]:
        await case(
            f"Idempotency-Key {key[:20]!r}",
            422,
            "request.invalid",
            "POST",
            "/v1/programmes",
            json=programme_body(dev.tax_id),
            headers={**dev_headers, "Idempotency-Key": key},
        )

    # -- every case: the expected problem+json ----------------------------------------------
    failures = []
    for name, r, status, code in cases:
        try:
            problem = assert_problem(r, status, code)
            if status == 401:
                assert r.headers.get("WWW-Authenticate") == "Bearer"
            if code is None:
                assert isinstance(problem["code"], str)
                assert problem["code"]
        except (AssertionError, KeyError, ValueError) as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)
    assert all(r.status_code < 500 for _, r, _, _ in cases)

    problem = next(r for n, r, _, _ in cases if n == "percentages do not sum to 100").json()
    assert problem["details"]["total"] == "60"
    problem = next(r for n, r, _, _ in cases if n == "body over 256 KiB").json()
    assert problem["max_bytes"] == 256 * 1024

    # -- and nothing was written -----------------------------------------------------------
    assert state.last_seq == before
    assert await read_seq(registry) == before
    orgs_after = (await client.get("/v1/organisations", headers=bearer(root))).json()["data"]
    assert orgs_after == orgs_before
    r = await client.get("/v1/programmes", headers=dev_headers)
    assert r.json()["data"] == []
    # The next accepted command takes the very next seq: no event slipped in between.
    r = await post("/v1/programmes", json=programme_body(dev.tax_id), headers=dev_headers)
    assert r.status_code == 201, r.text
    assert r.json()["first_seq"] == before + 1


async def test_out_of_range_ids_are_client_errors(registry: E2E) -> None:
    client = registry.client
    headers = bearer(await root_token(registry))
    statuses = {}
    for url in [
        "/v1/organisations/99999999999",  # fits int64, not int4
        f"/v1/organisations/{2**70}",
        f"/v1/users?company_id={2**40}",
        f"/v1/programmes?company_id={2**40}",
    ]:
        statuses[url] = (await client.get(url, headers=headers)).status_code
    assert all(400 <= s < 500 for s in statuses.values()), statuses


async def test_oversized_chunked_body_is_413(registry: E2E) -> None:
    headers = {**bearer(await root_token(registry)), **JSON}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(300):
            yield b" " * 1024

    r = await registry.client.post("/v1/organisations", content=chunks(), headers=headers)
    assert "content-length" not in r.request.headers
    assert r.status_code < 500
    assert_problem(r, 413, "request.too_large")


async def test_body_that_is_not_utf8_is_422(registry: E2E) -> None:
    headers = {**bearer(await root_token(registry)), **JSON}
    r = await registry.client.post(
        "/v1/organisations", content=b'{"name": "\xff\xfe"}', headers=headers
    )
    assert r.status_code < 500
    assert_problem(r, 422, "request.invalid")

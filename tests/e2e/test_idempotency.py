"""Idempotency over HTTP: a retried command is answered, never applied twice."""

from __future__ import annotations

import uuid

from e2e_helpers import (
    E2E,
    assert_problem,
    bearer,
    developer_body,
    login,
    programme_body,
    read_seq,
    register_developer,
    root_token,
)


async def test_same_key_same_body_applies_once(registry: E2E) -> None:
    client = registry.client
    root = await root_token(registry)
    key = f"org-{uuid.uuid4().hex}"
    body = developer_body()
    headers = {**bearer(root), "Idempotency-Key": key}

    first = await client.post("/v1/organisations", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post("/v1/organisations", json=body, headers=headers)
    assert again.status_code == 200, again.text

    a, b = first.json(), again.json()
    assert a["command_id"] == b["command_id"] == key
    assert a["duplicate"] is False
    assert b["duplicate"] is True
    assert b["status"] == "accepted"
    assert b["seq"] == a["seq"]
    assert b["first_seq"] == a["first_seq"]
    assert b["aggregate_ids"] == a["aggregate_ids"]
    assert again.headers["X-Registry-Seq"] == str(a["seq"])
    # The admin's password is shown once, and the retry does not reset it.
    assert "admin_initial_password" not in b
    await login(client, body["admin"]["email"], a["admin_initial_password"])

    # Exactly one organisation with that tax id exists in the read model.
    r = await client.get(
        "/v1/organisations",
        params={"min_seq": a["seq"], "role": "ProgrammeDeveloper"},
        headers=bearer(root),
    )
    assert r.status_code == 200, r.text
    developers = r.json()["data"]
    assert [o["tax_id"] for o in developers] == [body["tax_id"]]
    assert await read_seq(registry) == a["seq"]

    # The same key with another body is refused, and nothing is written.
    other = developer_body()
    r = await client.post("/v1/organisations", json=other, headers=headers)
    assert_problem(r, 409, "idempotency.key_reused")
    r = await client.get("/v1/organisations", headers=bearer(root))
    assert len(r.json()["data"]) == 2  # Government + the one developer
    assert registry.running.processor.state is not None
    assert registry.running.processor.state.last_seq == a["seq"]

    # Asking a third time with the original body still answers the original outcome.
    r = await client.post("/v1/organisations", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True
    assert r.json()["seq"] == a["seq"]


async def test_programme_retry_and_key_reuse(registry: E2E) -> None:
    client = registry.client
    dev = await register_developer(registry, await root_token(registry))
    body = programme_body(dev.tax_id)
    headers = {**bearer(dev.token), "Idempotency-Key": f"prog-{uuid.uuid4().hex}"}

    first = await client.post("/v1/programmes", json=body, headers=headers)
    again = await client.post("/v1/programmes", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
    assert again.json()["duplicate"] is True
    assert again.json()["seq"] == first.json()["seq"]
    assert again.json()["aggregate_id"] == first.json()["aggregate_id"]

    changed = {**body, "title": "Another title"}
    r = await client.post("/v1/programmes", json=changed, headers=headers)
    assert_problem(r, 409, "idempotency.key_reused")

    r = await client.get(
        "/v1/programmes", params={"min_seq": first.json()["seq"]}, headers=bearer(dev.token)
    )
    assert [p["external_id"] for p in r.json()["data"]] == [body["external_id"]]
    assert r.json()["seq"] == first.json()["seq"]


async def test_a_rejection_is_remembered_under_its_key(registry: E2E) -> None:
    """A refused command retried with its key gets the same refusal, not a new decision."""
    client = registry.client
    dev = await register_developer(registry, await root_token(registry))
    headers = {**bearer(dev.token), "Idempotency-Key": f"bad-{uuid.uuid4().hex}"}
    body = programme_body("NO-SUCH-TAX-ID")
    for _ in range(2):
        r = await client.post("/v1/programmes", json=body, headers=headers)
        problem = assert_problem(r, 404, "programme.proponent_not_found")
        assert problem["details"]["tax_id"] == "NO-SUCH-TAX-ID"
    assert await read_seq(registry, min_seq=dev.seq) == dev.seq

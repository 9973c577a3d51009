"""A restart on the same database keeps everything: data, credentials, seq, idempotency."""

from __future__ import annotations

import uuid

from e2e_helpers import (
    E2E,
    bearer,
    developer_body,
    login,
    programme_body,
    read_seq,
    root_token,
)


async def test_restart_keeps_everything(registry: E2E) -> None:
    client = registry.client
    root = await root_token(registry)

    org_key = f"org-{uuid.uuid4().hex}"
    org_body = developer_body()
    r = await client.post(
        "/v1/organisations",
        json=org_body,
        headers={**bearer(root), "Idempotency-Key": org_key},
    )
    assert r.status_code == 201, r.text
    org = r.json()
    admin_password = org["admin_initial_password"]
    admin = await login(client, org_body["admin"]["email"], admin_password)
    await read_seq(registry, min_seq=org["seq"])  # the admin is in the read model

    prog_key = f"prog-{uuid.uuid4().hex}"
    prog_body = programme_body(org_body["tax_id"])
    r = await client.post(
        "/v1/programmes",
        json=prog_body,
        headers={**bearer(admin), "Idempotency-Key": prog_key},
    )
    assert r.status_code == 201, r.text
    prog = r.json()
    programme_id = prog["aggregate_id"].removeprefix("programme-")
    last_seq = prog["seq"]
    r = await client.get(
        f"/v1/programmes/{programme_id}", params={"min_seq": last_seq}, headers=bearer(admin)
    )
    assert r.status_code == 200, r.text
    programme_before = r.json()["data"]
    users_before = (
        await client.get("/v1/users", params={"min_seq": last_seq}, headers=bearer(root))
    ).json()["data"]
    first_running = registry.running

    await registry.restart()
    client = registry.client
    assert registry.running is not first_running
    assert registry.running.root_password is None  # not initialised a second time

    # The read models survived and nothing was re-applied or lost.
    assert await read_seq(registry) == last_seq
    processor_state = registry.running.processor.state
    assert processor_state is not None
    assert processor_state.last_seq == last_seq

    # Root and the developer admin can still sign in with the same passwords; tokens signed
    # before the restart are still good (same secret).
    r = await client.get("/v1/users", headers=bearer(root))
    assert r.status_code == 200, r.text
    assert r.json()["data"] == users_before
    root = await root_token(registry)
    admin = await login(client, org_body["admin"]["email"], admin_password)
    r = await client.get(f"/v1/programmes/{programme_id}", headers=bearer(admin))
    assert r.status_code == 200, r.text
    assert r.json()["data"] == programme_before
    r = await client.get(f"/v1/programmes/{programme_id}/timeline", headers=bearer(admin))
    assert [e["seq"] for e in r.json()["data"]] == [prog["seq"]]

    # Replaying keys used before the restart: the original outcomes, nothing applied again.
    r = await client.post(
        "/v1/programmes",
        json=prog_body,
        headers={**bearer(admin), "Idempotency-Key": prog_key},
    )
    assert r.status_code == 200, r.text
    replay = r.json()
    assert replay["duplicate"] is True
    assert replay["seq"] == prog["seq"]
    assert replay["aggregate_id"] == prog["aggregate_id"]

    r = await client.post(
        "/v1/organisations",
        json=org_body,
        headers={**bearer(root), "Idempotency-Key": org_key},
    )
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is True
    assert r.json()["aggregate_ids"] == org["aggregate_ids"]
    assert "admin_initial_password" not in r.json()
    await login(client, org_body["admin"]["email"], admin_password)  # not reset

    # The same key with another body is still refused after the restart.
    r = await client.post(
        "/v1/programmes",
        json={**prog_body, "title": "changed"},
        headers={**bearer(admin), "Idempotency-Key": prog_key},
    )
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "idempotency.key_reused"

    # Uniqueness survived too: the external id is still taken.
    again = programme_body(org_body["tax_id"], external_id=prog_body["external_id"])
    r = await client.post("/v1/programmes", json=again, headers=bearer(admin))
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "programme.external_id_taken"
    assert r.json()["details"]["programme_id"] == programme_id

    # The next command continues the seq densely and the ids where they left off.
    r = await client.post(
        "/v1/programmes", json=programme_body(org_body["tax_id"]), headers=bearer(admin)
    )
    assert r.status_code == 201, r.text
    nxt = r.json()
    assert nxt["first_seq"] == last_seq + 1
    assert int(nxt["aggregate_id"].removeprefix("programme-")) == int(programme_id) + 1
    r = await client.get("/v1/programmes", params={"min_seq": nxt["seq"]}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    assert [p["created_seq"] for p in r.json()["data"]] == [prog["seq"], nxt["seq"]]


async def test_second_restart_after_more_writes(registry: E2E) -> None:
    """Two restarts in a row, with writes in between, keep a dense log."""
    root = await root_token(registry)
    seqs = []
    for _ in range(2):
        r = await registry.client.post(
            "/v1/organisations", json=developer_body(), headers=bearer(root)
        )
        assert r.status_code == 201, r.text
        seqs.append((r.json()["first_seq"], r.json()["seq"]))
        await registry.restart()
    assert seqs[1][0] == seqs[0][1] + 1
    assert await read_seq(registry) == seqs[1][1]
    r = await registry.client.get("/v1/organisations", headers=bearer(root))
    assert len(r.json()["data"]) == 3

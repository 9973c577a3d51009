"""Identity and access over HTTP: self-registration -> approval -> the admin sets a password
and signs in; rejection keeps the admin out; users created, updated and deleted with the
refusals of the rules; a deleted user can no longer sign in, read or act."""

from __future__ import annotations

import email
import re
from email.policy import default
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from e2e_helpers import (
    E2E,
    assert_problem,
    bearer,
    developer_body,
    login,
    read_seq,
    register_developer,
    root_token,
)

from libs.auth.reset_mail import CONFIRM_PATH, WELCOME_SUBJECT, OutboxFileNotifier
from libs.eventlog.pg_log import PgEventSource
from projector_service.replay import rebuild

PASSWORD = "a-fine-new-password-42"


def mail_tokens(outbox: Path) -> list[tuple[str, str, str]]:
    """(recipient, subject, token) of every password message in the outbox."""
    found = []
    for path in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=default)
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        m = re.search(re.escape(CONFIRM_PATH) + r"\?token=([A-Za-z0-9_-]{43})", body.get_content())
        assert m is not None
        found.append((str(msg["To"]), str(msg["Subject"]), m.group(1)))
    return found


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": username, "password": password})


async def self_register(reg: E2E, body: dict[str, Any]) -> tuple[int, int, int]:
    """Register without signing in; (company id, admin user id, seq)."""
    r = await reg.client.post("/v1/public/organisations/register", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["organisation_state"] == "Pending"
    assert "admin_initial_password" not in out
    ids = out["aggregate_ids"]
    cid = int(next(a for a in ids if a.startswith("organisation-")).removeprefix("organisation-"))
    uid = int(next(a for a in ids if a.startswith("user-")).removeprefix("user-"))
    return cid, uid, int(out["seq"])


async def set_password_by_link(reg: E2E, outbox: Path, to: str, subject: str | None) -> None:
    """Use the newest link mailed to ``to`` to set PASSWORD."""
    links = [(s, t) for rcpt, s, t in mail_tokens(outbox) if rcpt == to.lower()]
    assert links, mail_tokens(outbox)
    got_subject, token = links[-1]
    if subject is not None:
        assert got_subject == subject
    r = await reg.client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": PASSWORD}
    )
    assert r.status_code == 204, r.text


async def test_self_registration_then_approval_then_the_admin_signs_in(
    registry: E2E, tmp_path: Path
) -> None:
    client = registry.client
    outbox = tmp_path / "outbox"
    registry.running.command_deps.reset_notifier = OutboxFileNotifier(outbox)
    body = developer_body()
    admin_email = body["admin"]["email"]
    cid, admin_id, seq = await self_register(registry, body)

    # Pending: the registration is not public, the admin cannot sign in or get in.
    root = await root_token(registry)
    other = await register_developer(registry, root)
    r = await client.get(f"/v1/organisations/{cid}", params={"min_seq": seq}, headers=bearer(root))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["state"] == "Pending"
    r = await client.get(f"/v1/organisations/{cid}", headers=bearer(other.token))
    assert_problem(r, 404)
    assert_problem(await sign_in(client, admin_email, "any-password-at-all"), 401)
    # The same registration again is refused (tax id and e-mails are taken).
    r = await client.post("/v1/public/organisations/register", json=body)
    assert_problem(r, 409, "organisation.tax_id_taken")
    # Only a Government admin (or Root) approves.
    r = await client.post(f"/v1/organisations/{cid}/approve", headers=bearer(other.token))
    assert_problem(r, 403, "auth.forbidden")

    r = await client.post(
        f"/v1/organisations/{cid}/approve", json={"remarks": "welcome"}, headers=bearer(root)
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["activated_user_ids"] == [admin_id]
    assert out["password_links"] == "sent by e-mail"
    assert "initial_passwords" not in out
    await read_seq(registry, min_seq=out["seq"])

    # The admin sets its password with the link and signs in.
    await set_password_by_link(registry, outbox, admin_email, WELCOME_SUBJECT)
    token = await login(client, admin_email, PASSWORD)
    r = await client.get(f"/v1/organisations/{cid}", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["state"] == "Active"
    r = await client.post(
        "/v1/users",
        json={"email": f"m-{admin_id}@dev.example.com", "name": "Manager", "role": "Manager"},
        headers=bearer(token),
    )
    assert r.status_code == 201, r.text
    # Approving twice is refused.
    r = await client.post(f"/v1/organisations/{cid}/approve", headers=bearer(root))
    assert_problem(r, 409, "organisation.not_pending")


async def test_a_rejected_registration_keeps_its_admin_out(registry: E2E, tmp_path: Path) -> None:
    client = registry.client
    outbox = tmp_path / "outbox"
    registry.running.command_deps.reset_notifier = OutboxFileNotifier(outbox)
    body = developer_body(role="Certifier")
    admin_email = body["admin"]["email"]
    cid, _, seq = await self_register(registry, body)
    await read_seq(registry, min_seq=seq)

    # Even with a password (a reset link works for any known account) the admin of a
    # registration waiting for approval cannot sign in.
    r = await client.post("/v1/auth/password-reset", json={"email": admin_email})
    assert r.status_code == 202
    await set_password_by_link(registry, outbox, admin_email, None)
    assert_problem(await sign_in(client, admin_email, PASSWORD), 403, "auth.organisation_pending")

    root = await root_token(registry)
    r = await client.post(f"/v1/organisations/{cid}/reject", json={}, headers=bearer(root))
    assert_problem(r, 422)
    r = await client.post(
        f"/v1/organisations/{cid}/reject", json={"remarks": "unknown tax id"}, headers=bearer(root)
    )
    assert r.status_code == 201, r.text
    await read_seq(registry, min_seq=r.json()["seq"])
    assert_problem(await sign_in(client, admin_email, PASSWORD), 403, "auth.organisation_rejected")
    r = await client.get(f"/v1/organisations/{cid}", headers=bearer(root))
    assert r.json()["data"]["state"] == "Rejected"
    # Government-created roles cannot register themselves.
    r = await client.post("/v1/public/organisations/register", json=developer_body(role="Ministry"))
    assert_problem(r, 422, "organisation.self_registration_role")


async def test_users_are_created_updated_and_deleted_by_the_rules(registry: E2E) -> None:
    client = registry.client
    root = await root_token(registry)
    dev = await register_developer(registry, root)
    admin = bearer(dev.token)
    domain = dev.admin_email.split("@")[1]

    # Create: the initial password is answered once.
    r = await client.post(
        "/v1/users",
        json={"email": f"Max@{domain}", "name": "Max", "role": "Manager", "phone": "+254 1"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    max_id, max_password = created["user_id"], created["initial_password"]
    assert r.headers["Cache-Control"] == "no-store"
    max_token = await login(client, f"max@{domain}", max_password)
    for body, status, code in [
        ({"email": f"max@{domain}", "name": "Again", "role": "Manager"}, 409, "user.email_taken"),
        ({"email": f"r@{domain}", "name": "R", "role": "Root"}, 403, "user.root_creates_root"),
        (
            {"email": f"g@{domain}", "name": "G", "role": "Admin", "company_id": 1},
            403,
            "user.other_organisation",
        ),
    ]:
        assert_problem(await client.post("/v1/users", json=body, headers=admin), status, code)
    r = await client.post(
        "/v1/users",
        json={"email": f"x@{domain}", "name": "X", "role": "Manager"},
        headers=bearer(max_token),
    )
    assert_problem(r, 403, "auth.forbidden")

    # Update: oneself (not one's role); an Admin promotes; null is refused for a name.
    r = await client.patch(
        f"/v1/users/{max_id}", json={"name": "Maximilian", "phone": None}, headers=bearer(max_token)
    )
    assert r.status_code == 200, r.text
    r = await client.patch(f"/v1/users/{max_id}", json={"role": "Admin"}, headers=bearer(max_token))
    assert_problem(r, 403, "user.own_role")
    r = await client.patch(f"/v1/users/{max_id}", json={"name": None}, headers=admin)
    assert_problem(r, 422, "request.invalid")
    r = await client.patch(f"/v1/users/{max_id}", json={"role": "Admin"}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.get("/v1/users", params={"min_seq": r.json()["seq"]}, headers=admin)
    assert r.status_code == 200, r.text
    rows = {u["user_id"]: u for u in r.json()["data"]}
    assert rows[max_id]["role"] == "Admin"
    assert rows[max_id]["name"] == "Maximilian"
    assert rows[max_id]["phone"] is None
    assert {u["company_id"] for u in rows.values()} == {dev.company_id}
    r = await client.patch("/v1/users/1", json={"name": "Not Root"}, headers=admin)
    assert_problem(r, 403, "user.root_protected")

    # Delete: never oneself, never Root, never the last Admin.
    assert_problem(
        await client.delete(f"/v1/users/{dev.admin_user_id}", headers=admin),
        403,
        "user.self_delete",
    )
    assert_problem(
        await client.delete("/v1/users/1", headers=bearer(root)), 403, "user.root_delete"
    )
    session = (await sign_in(client, f"max@{domain}", max_password)).json()
    r = await client.delete(f"/v1/users/{max_id}", headers=admin)
    assert r.status_code == 200, r.text
    seq = r.json()["seq"]
    assert_problem(
        await client.delete(f"/v1/users/{dev.admin_user_id}", headers=bearer(root)),
        409,
        "user.last_admin",
    )

    # A deleted user cannot sign in, refresh, read or act; its e-mail is free again.
    assert_problem(await sign_in(client, f"max@{domain}", max_password), 401)
    r = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert_problem(r, 401)
    r = await client.get("/v1/users", params={"min_seq": seq}, headers=bearer(max_token))
    assert_problem(r, 401)
    r = await client.patch(f"/v1/users/{max_id}", json={"name": "Ghost"}, headers=bearer(max_token))
    assert_problem(r, 403, "auth.unknown_actor")
    r = await client.get("/v1/users", params={"min_seq": seq}, headers=admin)
    assert max_id not in {u["user_id"] for u in r.json()["data"]}
    r = await client.post(
        "/v1/users",
        json={"email": f"max@{domain}", "name": "Max II", "role": "ViewOnly"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["user_id"] != max_id
    await login(client, f"max@{domain}", r.json()["initial_password"])


async def test_an_admin_updates_its_own_organisation_only(registry: E2E) -> None:
    client = registry.client
    root = await root_token(registry)
    dev = await register_developer(registry, root)
    other = await register_developer(registry, root)
    admin = bearer(dev.token)
    new_email = f"office-{dev.company_id}@dev.example.com"
    r = await client.patch(
        f"/v1/organisations/{dev.company_id}",
        json={"email": new_email, "phone": None, "address": "2 Blue Road", "tax_id": dev.tax_id},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    r = await client.get(
        f"/v1/organisations/{dev.company_id}", params={"min_seq": r.json()["seq"]}, headers=admin
    )
    row = r.json()["data"]
    assert (row["email"], row["phone"], row["address"]) == (new_email, None, "2 Blue Road")
    assert row["tax_id"] == dev.tax_id
    for body, status, code in [
        ({"tax_id": "SOMETHING-ELSE"}, 422, "organisation.tax_id_immutable"),
        ({"email": new_email.upper()}, 200, None),  # its own e-mail: no change
    ]:
        r = await client.patch(f"/v1/organisations/{dev.company_id}", json=body, headers=admin)
        if code is None:
            assert r.status_code == status, r.text
        else:
            assert_problem(r, status, code)
    r = await client.patch(
        f"/v1/organisations/{other.company_id}",
        json={"email": new_email},
        headers=bearer(other.token),
    )
    assert_problem(r, 409, "organisation.email_taken")
    for token in (root, other.token):
        r = await client.patch(
            f"/v1/organisations/{dev.company_id}", json={"name": "Hijack"}, headers=bearer(token)
        )
        assert_problem(r, 403, "organisation.not_own")
    # Suspension: never one's own or the Government; the suspended cannot write.
    assert_problem(
        await client.post("/v1/organisations/1/suspend", headers=bearer(root)),
        403,
        "organisation.cannot_suspend_government",
    )
    r = await client.post(f"/v1/organisations/{dev.company_id}/suspend", headers=bearer(root))
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/organisations/{dev.company_id}", json={"name": "Renamed"}, headers=admin
    )
    assert_problem(r, 403, "organisation.not_active")


async def digests(dsn: str, schema: str) -> dict[str, tuple[int, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        for table, key in (("organisations", "company_id"), ("users", "user_id")):
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY {key}),''))"
                f" AS h FROM {schema}.{table} t"
            )
            out[table] = (int(row["n"]), str(row["h"]))
        return out
    finally:
        await conn.close()


async def test_identity_read_models_replay_to_the_live_ones(registry: E2E) -> None:
    """The in-memory fold (live batches) and a replay build the same rows."""
    client = registry.client
    root = await root_token(registry)
    dev = await register_developer(registry, root)
    admin = bearer(dev.token)
    cid, _, _ = await self_register(registry, developer_body())
    r = await client.post(f"/v1/organisations/{cid}/approve", headers=bearer(root))
    assert r.status_code == 201, r.text
    cid2, _, _ = await self_register(registry, developer_body())
    r = await client.post(
        f"/v1/organisations/{cid2}/reject", json={"remarks": "no"}, headers=bearer(root)
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/organisations/{dev.company_id}", json={"phone": None, "name": "Re"}, headers=admin
    )
    assert r.status_code == 200, r.text
    domain = dev.admin_email.split("@")[1]
    r = await client.post(
        "/v1/users", json={"email": f"a@{domain}", "name": "A", "role": "Manager"}, headers=admin
    )
    uid = r.json()["user_id"]
    r = await client.patch(f"/v1/users/{uid}", json={"role": "ViewOnly"}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.delete(f"/v1/users/{uid}", headers=admin)
    assert r.status_code == 200, r.text
    await read_seq(registry, min_seq=r.json()["seq"])

    schema = registry.running.query_deps.schema
    source = PgEventSource(registry.dsn, registry.settings.registry)
    try:
        oracle, _, _ = await rebuild(registry.dsn, source, f"oracle_{schema}", switch=False)
    finally:
        await source.close()
    live = await digests(registry.dsn, schema)
    assert live == await digests(registry.dsn, oracle)
    conn = await asyncpg.connect(registry.dsn)
    try:
        row = await conn.fetchrow(
            f"SELECT deleted, role FROM {schema}.users WHERE user_id = $1", uid
        )
        assert (row["deleted"], row["role"]) == (True, "ViewOnly")
        states = dict(
            await conn.fetch(
                f"SELECT company_id, state FROM {schema}.organisations"
                " WHERE company_id = ANY($1::int[])",
                [cid, cid2],
            )
        )
        assert states == {cid: "Active", cid2: "Rejected"}
    finally:
        await conn.close()

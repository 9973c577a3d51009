"""Sign-in and credentials over HTTP: refresh rotation, API keys, lockout, password change and
reset, who may sign in, and that no secret reaches the log, a log line or an answer twice."""

from __future__ import annotations

import email
import hashlib
import re
import statistics
import time
from collections.abc import AsyncIterator
from email.policy import default
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
import structlog
from e2e_helpers import (
    E2E,
    Developer,
    assert_problem,
    bearer,
    developer_body,
    login,
    programme_body,
    read_seq,
    register_developer,
    root_token,
)

from command_service.adapters.credentials import CredentialStore
from command_service.api.app import create_command_app
from command_service.api.deps import CommandDeps
from libs.auth.passwords import hash_password
from libs.auth.reset_mail import CONFIRM_PATH, OutboxFileNotifier
from libs.auth.throttle import LoginThrottle
from libs.auth.tokens import issue_access_token
from schemas.envelope import CommandEnvelope, ResultEnvelope

NEW_PASSWORD = "a-brand-new-password-42"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def fast_throttle(reg: E2E) -> None:
    """Keep the per-IP delays (unit-tested) short, so many failures stay quick here."""
    reg.running.command_deps.login_throttle = LoginThrottle(base_delay_s=0.001, max_delay_s=0.01)


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": username, "password": password})


async def pair(client: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    r = await sign_in(client, username, password)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest_asyncio.fixture(loop_scope="session")
async def db(registry: E2E) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(registry.dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def dev(registry: E2E) -> Developer:
    return await register_developer(registry, await root_token(registry))


async def test_login_refresh_rotation_reuse_and_logout(
    registry: E2E, db: asyncpg.Connection
) -> None:
    client = registry.client
    r = await sign_in(client, registry.root_email, registry.root_password)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    first = r.json()
    assert first["token_type"] == "bearer"
    assert first["expires_in"] == 15 * 60
    assert first["refresh_expires_in"] == 12 * 3600
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first["refresh_token"])
    stored = await db.fetch("SELECT token_hash FROM auth.refresh_tokens")
    assert [row["token_hash"] for row in stored] == [sha256(first["refresh_token"])]

    # Rotation: a new pair, and the new access token works on both APIs.
    r = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    r = await client.get("/v1/users", headers=bearer(second["access_token"]))
    assert r.status_code == 200, r.text
    r = await client.post(
        "/v1/organisations", json=developer_body(), headers=bearer(second["access_token"])
    )
    assert r.status_code == 201, r.text

    # Reuse of the rotated token revokes the whole family, including the newest token.
    r = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(r, 401, "auth.refresh_reused")
    r = await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(r, 401, "auth.refresh_revoked")

    # Another session is not affected by that family's revocation; logout ends it.
    third = await pair(client, registry.root_email, registry.root_password)
    other = await pair(client, registry.root_email, registry.root_password)
    r = await client.post("/v1/auth/logout", json={"refresh_token": third["refresh_token"]})
    assert r.status_code == 204, r.text
    r = await client.post("/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert_problem(r, 401, "auth.refresh_revoked")
    r = await client.post("/v1/auth/logout", json={"refresh_token": third["refresh_token"]})
    assert r.status_code == 204  # idempotent
    r = await client.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert r.status_code == 200, r.text
    # After a sign-out, an earlier token of that session is "revoked", not a "reuse".
    r = await client.post("/v1/auth/logout", json={"refresh_token": r.json()["refresh_token"]})
    assert r.status_code == 204
    r = await client.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert_problem(r, 401, "auth.refresh_revoked")

    # Garbage and expired tokens.
    for garbage in ["nope", "x" * 43, first["access_token"]]:
        r = await client.post("/v1/auth/refresh", json={"refresh_token": garbage})
        assert_problem(r, 401, "auth.invalid_refresh_token")
    expiring = await pair(client, registry.root_email, registry.root_password)
    await db.execute(
        "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second'"
        " WHERE token_hash = $1",
        sha256(expiring["refresh_token"]),
    )
    r = await client.post("/v1/auth/refresh", json={"refresh_token": expiring["refresh_token"]})
    assert_problem(r, 401, "auth.refresh_expired")
    r = await client.post("/v1/auth/refresh", json={})
    assert_problem(r, 422, "request.invalid")


async def test_access_token_expiry(registry: E2E) -> None:
    secret = registry.running.command_deps.token_secret
    expired = issue_access_token(secret, 1, registry.settings.registry, ttl_s=-1)
    r = await registry.client.get("/v1/users", headers=bearer(expired))
    body = assert_problem(r, 401, "auth.invalid_token")
    assert "expired" in body["detail"].lower()
    r = await registry.client.post(
        "/v1/organisations", json=developer_body(), headers=bearer(expired)
    )
    assert_problem(r, 401, "auth.invalid_token")
    fresh = issue_access_token(secret, 1, registry.settings.registry)
    r = await registry.client.get("/v1/users", headers=bearer(fresh))
    assert r.status_code == 200, r.text


async def test_api_key_on_both_apis_and_regenerate_revokes_old(
    registry: E2E, dev: Developer, db: asyncpg.Connection
) -> None:
    client = registry.client
    r = await client.post("/v1/auth/api-keys")
    assert_problem(r, 401, "auth.missing_token")
    r = await client.post("/v1/auth/api-keys", headers=bearer(dev.token))
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    first = r.json()
    assert re.fullmatch(r"crk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", first["api_key"])
    assert first["api_key"].startswith(f"crk_{first['key_id']}_")
    assert first["header"] == "X-API-Key"
    key = {"X-API-Key": first["api_key"]}

    # Reads: the key's user and its visibility.
    r = await client.get("/v1/users", headers=key)
    assert r.status_code == 200, r.text
    assert {u["email"] for u in r.json()["data"]} == {dev.admin_email}
    # Commands: as that user.
    r = await client.post("/v1/programmes", json=programme_body(dev.tax_id), headers=key)
    assert r.status_code == 201, r.text
    r = await client.get("/v1/programmes", params={"min_seq": r.json()["seq"]}, headers=key)
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 1

    # A key can regenerate itself; the old key stops working on both APIs at once.
    r = await client.post("/v1/auth/api-keys", headers=key)
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["api_key"] != first["api_key"]
    for method, path in [("GET", "/v1/users"), ("POST", "/v1/programmes")]:
        r = await client.request(method, path, json=programme_body(dev.tax_id), headers=key)
        assert_problem(r, 401, "auth.invalid_api_key")
    r = await client.get("/v1/users", headers={"X-API-Key": second["api_key"]})
    assert r.status_code == 200, r.text

    # Tampered and malformed keys.
    tampered = second["api_key"][:-1] + ("A" if second["api_key"][-1] != "A" else "B")
    for bad in [tampered, "crk_nope", "not a key"]:
        r = await client.get("/v1/users", headers={"X-API-Key": bad})
        assert_problem(r, 401, "auth.invalid_api_key")
        r = await client.post("/v1/programmes", json={}, headers={"X-API-Key": bad})
        assert_problem(r, 401, "auth.invalid_api_key")

    # Only hashes are stored, and only one key is live.
    rows = await db.fetch(
        "SELECT key_id, key_hash, revoked_at FROM auth.api_keys ORDER BY created_at"
    )
    assert [row["key_id"] for row in rows] == [first["key_id"], second["key_id"]]
    assert rows[0]["revoked_at"] is not None
    assert rows[1]["revoked_at"] is None
    secret = second["api_key"].split("_", 2)[2]
    assert rows[1]["key_hash"] == sha256(secret)


async def test_lockout_after_five_failures_then_429_and_success_resets(
    registry: E2E, dev: Developer, db: asyncpg.Connection
) -> None:
    fast_throttle(registry)
    client = registry.client
    for _ in range(4):
        assert_problem(await sign_in(client, dev.admin_email, "wrong-password!"), 401)
    # A success resets the count: four more failures do not lock.
    assert (await sign_in(client, dev.admin_email, dev.admin_password)).status_code == 200
    for _ in range(4):
        r = await sign_in(client, dev.admin_email, "wrong-password!")
        assert_problem(r, 401, "auth.invalid_credentials")
    # The fifth failure in a row locks the account: even the right password answers 429.
    assert_problem(await sign_in(client, dev.admin_email, "wrong-password!"), 401)
    for password in [dev.admin_password, "wrong-password!"]:
        r = await sign_in(client, dev.admin_email, password)
        body = assert_problem(r, 429, "auth.locked")
        assert 890 <= int(r.headers["Retry-After"]) <= 900
        assert body["retry_after_s"] == int(r.headers["Retry-After"])
    # Changing the password is locked too (the old password is checked like a sign-in).
    r = await client.post(
        "/v1/auth/password",
        json={"old_password": dev.admin_password, "new_password": NEW_PASSWORD},
        headers=bearer(dev.token),
    )
    assert_problem(r, 429, "auth.locked")
    # The lock ends after 15 minutes (moved into the past here); then a success resets.
    await db.execute(
        "UPDATE auth.credentials SET locked_until = now() - interval '1 second' WHERE user_id = $1",
        dev.admin_user_id,
    )
    assert (await sign_in(client, dev.admin_email, dev.admin_password)).status_code == 200
    row = await db.fetchrow(
        "SELECT failed_attempts, locked_until FROM auth.credentials WHERE user_id = $1",
        dev.admin_user_id,
    )
    assert row is not None
    assert row["failed_attempts"] == 0
    assert row["locked_until"] is None


async def test_unknown_email_answers_like_a_wrong_password(registry: E2E, dev: Developer) -> None:
    fast_throttle(registry)
    client = registry.client
    unknown = "nobody-" + dev.admin_email
    known_times: list[float] = []
    unknown_times: list[float] = []
    answers = []
    for _ in range(3):
        for user, times in [(dev.admin_email, known_times), (unknown, unknown_times)]:
            t0 = time.perf_counter()
            r = await sign_in(client, user, "wrong-password!")
            times.append(time.perf_counter() - t0)
            assert_problem(r, 401, "auth.invalid_credentials")
            answers.append((r.content, r.headers["content-type"], r.headers["www-authenticate"]))
    assert len(set(answers)) == 1
    # Both run one argon2 verification, so neither is much faster than the other.
    ratio = statistics.median(unknown_times) / statistics.median(known_times)
    assert 0.33 < ratio < 3, (known_times, unknown_times)
    # Unknown e-mails lock after five failures too, so a 429 reveals nothing either.
    for _ in range(2):
        assert_problem(await sign_in(client, unknown, "wrong-password!"), 401)
    r = await sign_in(client, unknown, "wrong-password!")
    assert_problem(r, 429, "auth.locked")
    assert 890 <= int(r.headers["Retry-After"]) <= 900
    # Over-long input is refused the same way, without hashing it.
    r = await sign_in(client, "x" * 300 + "@example.org", "p")
    assert_problem(r, 401, "auth.invalid_credentials")
    r = await sign_in(client, unknown.upper() + "x", "p" * 10_000)
    assert_problem(r, 401, "auth.invalid_credentials")


async def test_change_password(registry: E2E, dev: Developer) -> None:
    client = registry.client
    session = await pair(client, dev.admin_email, dev.admin_password)
    headers = bearer(session["access_token"])

    def change(old: str, new: str) -> dict[str, str]:
        return {"old_password": old, "new_password": new}

    r = await client.post("/v1/auth/password", json=change(dev.admin_password, NEW_PASSWORD))
    assert_problem(r, 401, "auth.missing_token")
    r = await client.post(
        "/v1/auth/password", json=change("not-the-password", NEW_PASSWORD), headers=headers
    )
    assert_problem(r, 401, "auth.wrong_password")
    for weak in ["short", "x" * 129, dev.admin_password]:
        r = await client.post(
            "/v1/auth/password", json=change(dev.admin_password, weak), headers=headers
        )
        assert_problem(r, 422, "auth.weak_password")
    r = await client.post("/v1/auth/password", json={"old_password": "x"}, headers=headers)
    assert_problem(r, 422, "request.invalid")

    r = await client.post(
        "/v1/auth/password", json=change(dev.admin_password, NEW_PASSWORD), headers=headers
    )
    assert r.status_code == 204, r.text
    # Every session ends; the old password no longer works, the new one does.
    r = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert_problem(r, 401, "auth.refresh_revoked")
    assert_problem(await sign_in(client, dev.admin_email, dev.admin_password), 401)
    await login(client, dev.admin_email, NEW_PASSWORD)
    # The e-mail is matched case-insensitively.
    await login(client, dev.admin_email.upper(), NEW_PASSWORD)


def outbox_tokens(outbox: Path) -> list[tuple[str, str]]:
    """(recipient, token) of every reset message in the outbox."""
    found = []
    for path in outbox.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=default)
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        m = re.search(re.escape(CONFIRM_PATH) + r"\?token=([A-Za-z0-9_-]{43})", body.get_content())
        assert m is not None, body.get_content()
        found.append((str(msg["To"]), m.group(1)))
    return found


async def test_password_reset_flow(
    registry: E2E, dev: Developer, db: asyncpg.Connection, tmp_path: Path
) -> None:
    client = registry.client
    outbox = tmp_path / "mail" / "outbox"
    registry.running.command_deps.reset_notifier = OutboxFileNotifier(outbox)
    session = await pair(client, dev.admin_email, dev.admin_password)

    # Known and unknown e-mails get the same answer; only the known one gets a message.
    r_unknown = await client.post("/v1/auth/password-reset", json={"email": "no@example.org"})
    r_known = await client.post("/v1/auth/password-reset", json={"email": dev.admin_email})
    assert r_unknown.status_code == r_known.status_code == 202
    assert r_unknown.content == r_known.content
    sent = outbox_tokens(outbox)
    assert [to for to, _ in sent] == [dev.admin_email.lower()]
    token = sent[0][1]
    rows = await db.fetch("SELECT token_hash FROM auth.reset_tokens")
    assert [row["token_hash"] for row in rows] == [sha256(token)]

    # The link can be checked without using it up; a weak password does not use it either.
    r = await client.get("/v1/auth/password-reset/confirm", params={"token": token})
    assert r.status_code == 200, r.text
    assert r.json() == {"valid": True}
    r = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": "short"}
    )
    assert_problem(r, 422, "auth.weak_password")
    r = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert r.status_code == 204, r.text
    # Single use.
    r = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert_problem(r, 400, "auth.reset_token_invalid")
    r = await client.get("/v1/auth/password-reset/confirm", params={"token": token})
    assert_problem(r, 400, "auth.reset_token_invalid")
    # The new password works, the old one and the old session do not.
    await login(client, dev.admin_email, NEW_PASSWORD)
    assert_problem(await sign_in(client, dev.admin_email, dev.admin_password), 401)
    r = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert_problem(r, 401, "auth.refresh_revoked")

    # Expiry after one hour (moved into the past here).
    r = await client.post("/v1/auth/password-reset", json={"email": dev.admin_email.upper()})
    assert r.status_code == 202
    [expiring] = {t for _, t in outbox_tokens(outbox)} - {token}
    await db.execute(
        "UPDATE auth.reset_tokens SET expires_at = now() - interval '1 second'"
        " WHERE token_hash = $1",
        sha256(expiring),
    )
    r = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": expiring, "new_password": NEW_PASSWORD}
    )
    assert_problem(r, 400, "auth.reset_token_expired")
    for garbage in ["nope", "x" * 43]:
        r = await client.post(
            "/v1/auth/password-reset/confirm", json={"token": garbage, "new_password": NEW_PASSWORD}
        )
        assert_problem(r, 400, "auth.reset_token_invalid")

    # At most five live links per account: further requests send nothing.
    for _ in range(6):
        await client.post("/v1/auth/password-reset", json={"email": dev.admin_email})
    assert len(outbox_tokens(outbox)) == 2 + 5

    # Without a notifier the request is still answered alike, and nothing is stored.
    registry.running.command_deps.reset_notifier = None
    count = await db.fetchval("SELECT count(*) FROM auth.reset_tokens")
    r = await client.post("/v1/auth/password-reset", json={"email": registry.root_email})
    assert r.status_code == 202
    assert r.content == r_known.content
    assert await db.fetchval("SELECT count(*) FROM auth.reset_tokens") == count


async def test_who_may_sign_in_follows_the_read_models(
    registry: E2E, dev: Developer, db: asyncpg.Connection
) -> None:
    client = registry.client
    schema = registry.running.query_deps.schema
    session = await pair(client, dev.admin_email, dev.admin_password)
    # The read models are derived data; editing them stands in for the events that will set
    # these states (self-registration, rejection).
    cases = [
        (f"UPDATE {schema}.users SET pending = true WHERE user_id = $1", "auth.user_pending"),
        (
            f"UPDATE {schema}.organisations SET state = 'Pending'"
            f" WHERE company_id = (SELECT company_id FROM {schema}.users WHERE user_id = $1)",
            "auth.organisation_pending",
        ),
        (
            f"UPDATE {schema}.organisations SET state = 'Rejected'"
            f" WHERE company_id = (SELECT company_id FROM {schema}.users WHERE user_id = $1)",
            "auth.organisation_rejected",
        ),
    ]
    restore = [
        f"UPDATE {schema}.users SET pending = false WHERE user_id = $1",
        f"UPDATE {schema}.organisations SET state = 'Active'"
        f" WHERE company_id = (SELECT company_id FROM {schema}.users WHERE user_id = $1)",
    ]
    for sql, code in cases:
        await db.execute(sql, dev.admin_user_id)
        assert_problem(await sign_in(client, dev.admin_email, dev.admin_password), 403, code)
        for undo in restore:
            await db.execute(undo, dev.admin_user_id)
    # A refresh checks again, and ends the session when refused.
    await db.execute(cases[0][0], dev.admin_user_id)
    r = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert_problem(r, 403, "auth.user_pending")
    await db.execute(restore[0], dev.admin_user_id)
    r = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert_problem(r, 401, "auth.refresh_revoked")

    # Users of a suspended organisation may still sign in (and read).
    root = await root_token(registry)
    r = await client.post(
        f"/v1/organisations/{dev.company_id}/suspend",
        json={"remarks": "audit"},
        headers=bearer(root),
    )
    assert r.status_code == 201, r.text
    await read_seq(registry, min_seq=r.json()["seq"])
    state = await db.fetchval(
        f"SELECT state FROM {schema}.organisations WHERE company_id = $1", dev.company_id
    )
    assert state == "Suspended"
    token = await login(client, dev.admin_email, dev.admin_password)
    r = await client.get("/v1/users", headers=bearer(token))
    assert r.status_code == 200, r.text


class _NoBus:
    async def submit(self, command: CommandEnvelope, timeout_s: float) -> ResultEnvelope:
        raise AssertionError("sign-in never submits a command")

    async def close(self) -> None:
        return None


async def test_without_read_models_only_root_signs_in(fresh_db: str) -> None:
    """A command API whose registry's read side never ran: Root may sign in, nobody else."""
    pool = await asyncpg.create_pool(fresh_db, min_size=1, max_size=4)
    try:
        store = CredentialStore(pool, "nors")
        await store.ensure()
        await store.ensure()  # idempotent
        await store.set_password(1, "root@example.org", hash_password("root-password-1"))
        await store.set_password(2, "user@example.org", hash_password("user-password-1"))
        deps = CommandDeps("nors", _NoBus(), store, "k" * 40, 5.0)
        app = create_command_app(deps, {})
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await sign_in(client, "root@example.org", "root-password-1")
            assert r.status_code == 200, r.text
            r = await sign_in(client, "user@example.org", "user-password-1")
            assert_problem(r, 503, "auth.account_not_ready")
    finally:
        await pool.close()


async def test_secrets_never_reach_the_log_or_the_log_lines(
    registry: E2E, dev: Developer, db: asyncpg.Connection, tmp_path: Path
) -> None:
    with structlog.testing.capture_logs() as logged:
        secrets = await _use_every_secret(registry, dev, db, tmp_path)
    log_bytes = b""
    for table in ("events", "results"):
        log_bytes += b"".join(r["body"] for r in await db.fetch(f"SELECT body FROM log.{table}"))
    schema = registry.running.query_deps.schema
    read_models = ""
    for table in ("users", "organisations"):
        read_models += repr([dict(r) for r in await db.fetch(f"SELECT * FROM {schema}.{table}")])
    lines = repr(logged)
    assert any(entry["event"] == "refresh_token_reused" for entry in logged), lines
    for secret in secrets:
        assert secret.encode() not in log_bytes
        assert secret not in read_models
        assert secret not in lines


async def _use_every_secret(
    registry: E2E, dev: Developer, db: asyncpg.Connection, tmp_path: Path
) -> list[str]:
    client = registry.client
    registry.running.command_deps.reset_notifier = OutboxFileNotifier(tmp_path / "outbox")
    session = await pair(client, dev.admin_email, dev.admin_password)
    r = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    rotated = r.json()
    await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    key = (await client.post("/v1/auth/api-keys", headers=bearer(dev.token))).json()["api_key"]
    await client.post("/v1/auth/password-reset", json={"email": dev.admin_email})
    reset = outbox_tokens(tmp_path / "outbox")[0][1]
    await client.post(
        "/v1/auth/password-reset/confirm", json={"token": reset, "new_password": NEW_PASSWORD}
    )
    r = await client.post(
        "/v1/programmes", json=programme_body(dev.tax_id), headers={"X-API-Key": key}
    )
    assert r.status_code == 201, r.text
    await read_seq(registry, min_seq=r.json()["seq"])
    hashes = [
        row["password_hash"] for row in await db.fetch("SELECT password_hash FROM auth.credentials")
    ]
    return [
        dev.admin_password,
        NEW_PASSWORD,
        registry.root_password,
        session["refresh_token"],
        rotated["refresh_token"],
        key,
        key.split("_", 2)[2],
        reset,
        *hashes,
    ]

"""The credentials tables, owned by the command side and never in the log.

``auth.credentials`` (password hashes, failed sign-ins, lock), ``auth.refresh_tokens``,
``auth.api_keys`` and ``auth.reset_tokens``. Every token and key is stored as a hash only.
Times are the database's ``now()``, so expiry and locks agree across API nodes.
"""

from __future__ import annotations

import uuid

import asyncpg

from libs.auth.accounts import (
    LOCK_S,
    MAX_FAILED_LOGINS,
    AccountStatus,
    LoginRecord,
    RefreshOutcome,
    RefreshResult,
    ResetOutcome,
    ResetResult,
)
from libs.auth.api_keys import user_for_api_key
from libs.readmodel_names import live_schema

DDL = """
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.credentials (
    registry text NOT NULL,
    user_id int NOT NULL,
    email text NOT NULL,
    password_hash text NOT NULL,
    failed_attempts int NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (registry, user_id),
    UNIQUE (registry, email)
);
ALTER TABLE auth.credentials ADD COLUMN IF NOT EXISTS locked_until timestamptz;
CREATE TABLE IF NOT EXISTS auth.refresh_tokens (
    token_hash text PRIMARY KEY,
    registry text NOT NULL,
    user_id int NOT NULL,
    family_id uuid NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text,
    FOREIGN KEY (registry, user_id) REFERENCES auth.credentials ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON auth.refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user ON auth.refresh_tokens (registry, user_id);
CREATE TABLE IF NOT EXISTS auth.api_keys (
    key_id text PRIMARY KEY,
    registry text NOT NULL,
    user_id int NOT NULL,
    key_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    FOREIGN KEY (registry, user_id) REFERENCES auth.credentials ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_one_live
    ON auth.api_keys (registry, user_id) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS auth.reset_tokens (
    token_hash text PRIMARY KEY,
    registry text NOT NULL,
    user_id int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    FOREIGN KEY (registry, user_id) REFERENCES auth.credentials ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS reset_tokens_user ON auth.reset_tokens (registry, user_id);
"""

_LOCKED_FOR = "GREATEST(0, EXTRACT(EPOCH FROM (locked_until - now())))::float8"
# Rows kept this long after expiry still answer "expired"/"reused" instead of "invalid".
_PURGE_AFTER = "interval '1 day'"


def _seconds(value: object) -> float:
    return 0.0 if value is None else float(str(value))


class CredentialStore:
    def __init__(self, pool: asyncpg.Pool, registry: str) -> None:
        self._pool = pool
        self._registry = registry
        self._schema = live_schema(registry)

    async def ensure(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7310004)")
            await conn.execute(DDL)

    # -- passwords -------------------------------------------------------------------------

    async def set_password(self, user_id: int, email: str, password_hash: str) -> None:
        """Set a user's password. Called only after the single writer accepted the user, so
        the e-mail is free: a row of another user with it belonged to a deleted user whose
        credentials were not removed yet, and goes (with its sessions and keys)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM auth.credentials WHERE registry = $1 AND email = $2 AND user_id <> $3",
                self._registry,
                email.lower(),
                user_id,
            )
            await conn.execute(
                "INSERT INTO auth.credentials (registry, user_id, email, password_hash)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (registry, user_id) DO UPDATE"
                " SET email = $3, password_hash = $4, failed_attempts = 0, locked_until = NULL,"
                " updated_at = now()",
                self._registry,
                user_id,
                email.lower(),
                password_hash,
            )

    async def delete_user(self, user_id: int) -> None:
        """Remove a deleted user's credentials: password, sessions, API keys, reset links."""
        await self._pool.execute(
            "DELETE FROM auth.credentials WHERE registry = $1 AND user_id = $2",
            self._registry,
            user_id,
        )

    async def email_of(self, user_id: int) -> str | None:
        """The user's sign-in e-mail: its credentials', else the read model's."""
        email = await self._pool.fetchval(
            "SELECT email FROM auth.credentials WHERE registry = $1 AND user_id = $2",
            self._registry,
            user_id,
        )
        if email is not None:
            return str(email)
        try:
            email = await self._pool.fetchval(
                f"SELECT email FROM {self._schema}.users WHERE user_id = $1", user_id
            )
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
            return None
        return None if email is None else str(email)

    async def find(self, email: str) -> tuple[int, str] | None:
        record = await self.login_record(email)
        return None if record is None else (record.user_id, record.password_hash)

    async def has_any(self) -> bool:
        return bool(
            await self._pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM auth.credentials WHERE registry = $1)",
                self._registry,
            )
        )

    async def login_record(self, email: str) -> LoginRecord | None:
        return self._record(
            await self._pool.fetchrow(
                f"SELECT user_id, email, password_hash, {_LOCKED_FOR} AS locked_for"
                " FROM auth.credentials WHERE registry = $1 AND email = $2",
                self._registry,
                email.lower(),
            )
        )

    async def login_record_by_id(self, user_id: int) -> LoginRecord | None:
        return self._record(
            await self._pool.fetchrow(
                f"SELECT user_id, email, password_hash, {_LOCKED_FOR} AS locked_for"
                " FROM auth.credentials WHERE registry = $1 AND user_id = $2",
                self._registry,
                user_id,
            )
        )

    @staticmethod
    def _record(row: asyncpg.Record | None) -> LoginRecord | None:
        if row is None:
            return None
        return LoginRecord(
            int(row["user_id"]),
            str(row["email"]),
            str(row["password_hash"]),
            _seconds(row["locked_for"]),
        )

    async def record_failure(self, user_id: int) -> float:
        """Count a wrong password. Returns the seconds the account was *already* locked for
        (the attempt then answers 429 like any other during the lock), else 0; the failure
        that reaches the limit starts the lock. An id without credentials does the same
        database work and changes nothing (sign-in uses that for unknown e-mails)."""
        async with self._pool.acquire() as conn, conn.transaction():
            locked_for = await conn.fetchval(
                f"SELECT {_LOCKED_FOR} FROM auth.credentials"
                " WHERE registry = $1 AND user_id = $2 FOR UPDATE",
                self._registry,
                user_id,
            )
            if _seconds(locked_for) > 0:
                return _seconds(locked_for)
            await conn.execute(
                "UPDATE auth.credentials SET"
                " failed_attempts = CASE WHEN failed_attempts + 1 >= $3 THEN 0"
                "   ELSE failed_attempts + 1 END,"
                " locked_until = CASE WHEN failed_attempts + 1 >= $3"
                "   THEN now() + make_interval(secs => $4) ELSE NULL END"
                " WHERE registry = $1 AND user_id = $2",
                self._registry,
                user_id,
                MAX_FAILED_LOGINS,
                float(LOCK_S),
            )
            return 0.0

    async def record_success(self, user_id: int) -> float:
        """Reset the failure count, unless a lock started meanwhile (returns its seconds)."""
        async with self._pool.acquire() as conn, conn.transaction():
            locked_for = _seconds(
                await conn.fetchval(
                    f"SELECT {_LOCKED_FOR} FROM auth.credentials"
                    " WHERE registry = $1 AND user_id = $2 FOR UPDATE",
                    self._registry,
                    user_id,
                )
            )
            if locked_for > 0:
                return locked_for
            await conn.execute(
                "UPDATE auth.credentials SET failed_attempts = 0, locked_until = NULL"
                " WHERE registry = $1 AND user_id = $2"
                " AND (failed_attempts <> 0 OR locked_until IS NOT NULL)",
                self._registry,
                user_id,
            )
            return 0.0

    async def change_password(self, user_id: int, password_hash: str) -> None:
        """Set a new password and end every session (refresh tokens, open reset tokens)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._set_hash(conn, user_id, password_hash)

    async def _set_hash(self, conn: asyncpg.Connection, user_id: int, password_hash: str) -> None:
        await conn.execute(
            "UPDATE auth.credentials SET password_hash = $3, failed_attempts = 0,"
            " locked_until = NULL, updated_at = now() WHERE registry = $1 AND user_id = $2",
            self._registry,
            user_id,
            password_hash,
        )
        await conn.execute(
            "UPDATE auth.refresh_tokens SET revoked_at = COALESCE(revoked_at, now()),"
            " revoked_reason = 'password' WHERE registry = $1 AND user_id = $2"
            " AND (revoked_at IS NULL OR revoked_reason = 'rotated')",
            self._registry,
            user_id,
        )
        await conn.execute(
            "UPDATE auth.reset_tokens SET used_at = now()"
            " WHERE registry = $1 AND user_id = $2 AND used_at IS NULL",
            self._registry,
            user_id,
        )

    # -- who may sign in (the read models) -------------------------------------------------

    async def account_status(self, user_id: int) -> AccountStatus:
        s = self._schema
        try:
            row = await self._pool.fetchrow(
                f"SELECT u.pending, u.deleted, o.state FROM {s}.users u"
                f" LEFT JOIN {s}.organisations o USING (company_id) WHERE u.user_id = $1",
                user_id,
            )
        except (
            asyncpg.UndefinedTableError,
            asyncpg.InvalidSchemaNameError,
            asyncpg.UndefinedColumnError,
        ):
            return AccountStatus(read_model=False)
        if row is None:
            return AccountStatus(read_model=True, found=False)
        state = row["state"]
        return AccountStatus(
            read_model=True,
            found=True,
            pending=bool(row["pending"]),
            organisation_state=None if state is None else str(state),
            deleted=bool(row["deleted"]),
        )

    # -- refresh tokens --------------------------------------------------------------------

    async def issue_refresh(
        self, user_id: int, token_hash: str, ttl_s: int, family_id: str | None = None
    ) -> str:
        """Store a new refresh token (a new session unless ``family_id``); returns its family."""
        family = family_id or str(uuid.uuid4())
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM auth.refresh_tokens WHERE registry = $1 AND user_id = $2"
                f" AND expires_at < now() - {_PURGE_AFTER}",
                self._registry,
                user_id,
            )
            await self._insert_refresh(conn, user_id, token_hash, ttl_s, family)
        return family

    async def _insert_refresh(
        self, conn: asyncpg.Connection, user_id: int, token_hash: str, ttl_s: int, family: str
    ) -> None:
        await conn.execute(
            "INSERT INTO auth.refresh_tokens (token_hash, registry, user_id, family_id,"
            " expires_at) VALUES ($1, $2, $3, $4::uuid, now() + make_interval(secs => $5))",
            token_hash,
            self._registry,
            user_id,
            family,
            float(ttl_s),
        )

    async def rotate_refresh(self, old_hash: str, new_hash: str, ttl_s: int) -> RefreshResult:
        """Exchange a live refresh token for a new one of the same family, atomically.

        A token that was already rotated coming back means it leaked (or two clients share
        it): the whole family is revoked.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT user_id, family_id::text AS family, revoked_reason,"
                " expires_at <= now() AS expired FROM auth.refresh_tokens"
                " WHERE token_hash = $1 AND registry = $2 FOR UPDATE",
                old_hash,
                self._registry,
            )
            if row is None:
                return RefreshResult(RefreshOutcome.INVALID)
            user_id, family = int(row["user_id"]), str(row["family"])
            reason = row["revoked_reason"]
            if reason == "rotated":
                await self._revoke_family(conn, family, "reuse", ended=False)
                return RefreshResult(RefreshOutcome.REUSED, user_id, family)
            if reason is not None:
                return RefreshResult(RefreshOutcome.REVOKED, user_id, family)
            if row["expired"]:
                return RefreshResult(RefreshOutcome.EXPIRED, user_id, family)
            await conn.execute(
                "UPDATE auth.refresh_tokens SET revoked_at = now(), revoked_reason = 'rotated'"
                " WHERE token_hash = $1",
                old_hash,
            )
            await self._insert_refresh(conn, user_id, new_hash, ttl_s, family)
            await conn.execute(
                "DELETE FROM auth.refresh_tokens WHERE family_id = $1::uuid"
                f" AND expires_at < now() - {_PURGE_AFTER}",
                family,
            )
            return RefreshResult(RefreshOutcome.OK, user_id, family)

    async def revoke_refresh(self, token_hash: str, reason: str = "logout") -> bool:
        """End the session (the token's whole family). False for an unknown token."""
        async with self._pool.acquire() as conn, conn.transaction():
            family = await conn.fetchval(
                "SELECT family_id::text FROM auth.refresh_tokens"
                " WHERE token_hash = $1 AND registry = $2",
                token_hash,
                self._registry,
            )
            if family is None:
                return False
            await self._revoke_family(conn, str(family), reason)
            return True

    async def revoke_family(self, family_id: str, reason: str) -> None:
        async with self._pool.acquire() as conn:
            await self._revoke_family(conn, family_id, reason)

    async def _revoke_family(
        self, conn: asyncpg.Connection, family: str, reason: str, *, ended: bool = True
    ) -> None:
        """Revoke a session's live tokens. When the session was ended on purpose (sign-out,
        refusal, password change), its earlier rotated tokens also answer "revoked" from then
        on rather than "reused": the session is over, nothing is left to protect."""
        await conn.execute(
            "UPDATE auth.refresh_tokens SET revoked_at = COALESCE(revoked_at, now()),"
            " revoked_reason = $3 WHERE family_id = $1::uuid AND registry = $2"
            " AND (revoked_at IS NULL OR ($4 AND revoked_reason = 'rotated'))",
            family,
            self._registry,
            reason,
            ended,
        )

    # -- API keys --------------------------------------------------------------------------

    async def replace_api_key(self, user_id: int, key_id: str, key_hash: str) -> None:
        """Make this the user's only live key (the previous one stops working at once)."""
        async with self._pool.acquire() as conn, conn.transaction():
            # Serialise regenerations of one user (the partial unique index backs this up).
            await conn.execute(
                "SELECT 1 FROM auth.credentials WHERE registry = $1 AND user_id = $2 FOR UPDATE",
                self._registry,
                user_id,
            )
            await conn.execute(
                "UPDATE auth.api_keys SET revoked_at = now()"
                " WHERE registry = $1 AND user_id = $2 AND revoked_at IS NULL",
                self._registry,
                user_id,
            )
            await conn.execute(
                "INSERT INTO auth.api_keys (key_id, registry, user_id, key_hash)"
                " VALUES ($1, $2, $3, $4)",
                key_id,
                self._registry,
                user_id,
                key_hash,
            )

    async def user_for_api_key(self, value: str) -> int | None:
        return await user_for_api_key(self._pool, self._registry, value)

    # -- password reset --------------------------------------------------------------------

    async def create_reset_token(
        self, email: str, token_hash: str, ttl_s: int, max_live: int
    ) -> tuple[int, str] | None:
        """Store a reset token for the account with this e-mail; its user id and stored
        e-mail. None (nothing stored) for an unknown e-mail, or when ``max_live`` unused,
        unexpired tokens already exist."""
        async with self._pool.acquire() as conn, conn.transaction():
            account = await conn.fetchrow(
                "SELECT user_id, email FROM auth.credentials WHERE registry = $1 AND email = $2"
                " FOR UPDATE",
                self._registry,
                email.lower(),
            )
            if account is None:
                return None
            user_id = int(account["user_id"])
            await conn.execute(
                "DELETE FROM auth.reset_tokens WHERE registry = $1 AND user_id = $2"
                f" AND expires_at < now() - {_PURGE_AFTER}",
                self._registry,
                user_id,
            )
            live = await conn.fetchval(
                "SELECT count(*) FROM auth.reset_tokens WHERE registry = $1 AND user_id = $2"
                " AND used_at IS NULL AND expires_at > now()",
                self._registry,
                user_id,
            )
            if int(live) >= max_live:
                return None
            await conn.execute(
                "INSERT INTO auth.reset_tokens (token_hash, registry, user_id, expires_at)"
                " VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
                token_hash,
                self._registry,
                user_id,
                float(ttl_s),
            )
            return user_id, str(account["email"])

    async def reset_token_state(self, token_hash: str) -> ResetResult:
        """Whether a reset token could be used now (it is not consumed)."""
        async with self._pool.acquire() as conn:
            return await self._reset_state(conn, token_hash, lock=False)

    async def reset_password(self, token_hash: str, password_hash: str) -> ResetResult:
        """Use a reset token once: set the password and end every session."""
        async with self._pool.acquire() as conn, conn.transaction():
            result = await self._reset_state(conn, token_hash, lock=True)
            if result.outcome is not ResetOutcome.OK or result.user_id is None:
                return result
            await self._set_hash(conn, result.user_id, password_hash)  # also uses this token
            return result

    async def _reset_state(
        self, conn: asyncpg.Connection, token_hash: str, *, lock: bool
    ) -> ResetResult:
        row = await conn.fetchrow(
            "SELECT user_id, used_at IS NOT NULL AS used, expires_at <= now() AS expired"
            " FROM auth.reset_tokens WHERE token_hash = $1 AND registry = $2"
            + (" FOR UPDATE" if lock else ""),
            token_hash,
            self._registry,
        )
        if row is None or row["used"]:
            return ResetResult(ResetOutcome.INVALID)
        if row["expired"]:
            return ResetResult(ResetOutcome.EXPIRED, int(row["user_id"]))
        return ResetResult(ResetOutcome.OK, int(row["user_id"]))

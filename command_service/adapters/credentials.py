"""The credentials table: password hashes, owned by the command side, never in the log."""

from __future__ import annotations

import asyncpg

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
"""


class CredentialStore:
    def __init__(self, pool: asyncpg.Pool, registry: str) -> None:
        self._pool = pool
        self._registry = registry

    async def ensure(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7310004)")
            await conn.execute(DDL)

    async def set_password(self, user_id: int, email: str, password_hash: str) -> None:
        await self._pool.execute(
            "INSERT INTO auth.credentials (registry, user_id, email, password_hash)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (registry, user_id) DO UPDATE"
            " SET email = $3, password_hash = $4, failed_attempts = 0, updated_at = now()",
            self._registry,
            user_id,
            email.lower(),
            password_hash,
        )

    async def find(self, email: str) -> tuple[int, str] | None:
        row = await self._pool.fetchrow(
            "SELECT user_id, password_hash FROM auth.credentials"
            " WHERE registry = $1 AND email = $2",
            self._registry,
            email.lower(),
        )
        return None if row is None else (int(row["user_id"]), str(row["password_hash"]))

    async def has_any(self) -> bool:
        return bool(
            await self._pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM auth.credentials WHERE registry = $1)",
                self._registry,
            )
        )

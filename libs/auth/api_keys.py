"""API keys for machine clients: ``crk_<id>_<secret>``, shown once, stored as a hash.

The id (16 hex digits) finds the row; the secret (256 random bits) is checked against its
SHA-256 in constant time. Both API nodes authenticate a key with :func:`user_for_api_key`
(the command side owns and creates the table, the read side only looks keys up).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import asyncpg

PREFIX = "crk"
HEADER = "X-API-Key"
_SHAPE = re.compile(r"crk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    secret: str

    @property
    def full(self) -> str:
        return f"{PREFIX}_{self.key_id}_{self.secret}"

    @property
    def secret_hash(self) -> str:
        return hash_secret(self.secret)


def generate_api_key() -> ApiKey:
    return ApiKey(secrets.token_hex(8), secrets.token_urlsafe(32))


def parse_api_key(value: str) -> ApiKey | None:
    """The key's parts, or None when the value is not shaped like a key."""
    m = _SHAPE.fullmatch(value)
    return None if m is None else ApiKey(m.group(1), m.group(2))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return secrets.compare_digest(hash_secret(secret), stored_hash)


async def user_for_api_key(pool: asyncpg.Pool, registry: str, value: str) -> int | None:
    """The user a live key of this registry belongs to, or None (also before the table exists)."""
    key = parse_api_key(value)
    if key is None:
        return None
    try:
        row = await pool.fetchrow(
            "SELECT user_id, key_hash FROM auth.api_keys"
            " WHERE key_id = $1 AND registry = $2 AND revoked_at IS NULL",
            key.key_id,
            registry,
        )
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        return None
    if row is None or not secret_matches(key.secret, str(row["key_hash"])):
        return None
    return int(row["user_id"])

"""Opaque one-time secrets: refresh tokens and password-reset tokens.

The client gets 256 random bits; the credentials tables keep only their SHA-256. A high-entropy
random secret needs no slow hash: nobody can guess it, and the digest is useless if stolen.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

REFRESH_TTL_S = 12 * 60 * 60
RESET_TTL_S = 60 * 60
TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Cheap shape check before any database look-up."""
    return bool(_SHAPE.fullmatch(token))


def expires_at(now: datetime, ttl_s: int) -> datetime:
    return now + timedelta(seconds=ttl_s)


def is_expired(expiry: datetime, now: datetime) -> bool:
    """A token is valid strictly before its expiry instant."""
    return now >= expiry


def retry_after_s(until: datetime, now: datetime) -> int:
    """Whole seconds to wait until ``until`` (at least 1 while it is in the future)."""
    remaining = (until - now).total_seconds()
    if remaining <= 0:
        return 0
    return max(1, int(-(-remaining // 1)))

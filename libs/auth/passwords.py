"""argon2id password hashing. Hashes live only in the command side's credentials table."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD = 10
MAX_PASSWORD = 128

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    # Same parameters as every real hash, so a verify against it costs the same time.
    return _hasher.hash(secrets.token_urlsafe(24))


def dummy_verify(password: str) -> bool:
    """Spend the time of a real verification and fail: used for unknown e-mails, so the
    answer's timing does not tell whether an account exists."""
    verify_password(_dummy_hash(), password)
    return False


def generate_password() -> str:
    """A random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def password_weakness(new: str, old: str | None = None) -> str | None:
    """Why ``new`` is not acceptable as a password, or None when it is."""
    if len(new) < MIN_PASSWORD:
        return f"The new password must have at least {MIN_PASSWORD} characters."
    if len(new) > MAX_PASSWORD:
        return f"The new password must have at most {MAX_PASSWORD} characters."
    if not new.strip():
        return "The new password must not be blank."
    if old is not None and secrets.compare_digest(new.encode(), old.encode()):
        return "The new password must differ from the old one."
    return None

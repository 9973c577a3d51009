"""Access tokens, refresh/reset token formats and the expiry maths."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from libs.auth.opaque import (
    REFRESH_TTL_S,
    RESET_TTL_S,
    expires_at,
    is_expired,
    new_token,
    retry_after_s,
    token_hash,
    well_formed,
)
from libs.auth.tokens import ACCESS_TTL_S, InvalidToken, issue_access_token, verify_access_token

SECRET = "s" * 40
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_access_token_round_trip_names_user_and_registry_only() -> None:
    token = issue_access_token(SECRET, 42, "ke")
    claims = verify_access_token(SECRET, token, "ke")
    assert (claims.user_id, claims.registry) == (42, "ke")
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(payload) == {"sub", "reg", "iat", "exp", "typ"}
    assert payload["exp"] - payload["iat"] == ACCESS_TTL_S == 15 * 60


def test_expired_access_token_is_refused() -> None:
    token = issue_access_token(SECRET, 42, "ke", ttl_s=-1)
    with pytest.raises(InvalidToken):
        verify_access_token(SECRET, token, "ke")


@pytest.mark.parametrize(
    ("secret", "registry"), [("t" * 40, "ke"), (SECRET, "ng")], ids=["other-secret", "other-reg"]
)
def test_access_token_is_bound_to_secret_and_registry(secret: str, registry: str) -> None:
    token = issue_access_token(SECRET, 42, "ke")
    with pytest.raises(InvalidToken):
        verify_access_token(secret, token, registry)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        issue_access_token("short", 1, "ke")


def test_opaque_tokens_are_random_url_safe_and_stored_as_sha256() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for t in tokens:
        assert well_formed(t)
        assert re.fullmatch(r"[0-9a-f]{64}", token_hash(t))
        assert token_hash(t) != t
    t = next(iter(tokens))
    assert token_hash(t) == token_hash(t)


@pytest.mark.parametrize(
    "bad", ["", "short", "x" * 42, "x" * 44, "a" * 42 + "!", "é" * 43, "x" * 43 + "\n"]
)
def test_malformed_opaque_tokens_are_recognised(bad: str) -> None:
    assert not well_formed(bad)


def test_lifetimes_are_twelve_hours_and_one_hour() -> None:
    assert REFRESH_TTL_S == 12 * 3600
    assert RESET_TTL_S == 3600
    assert expires_at(NOW, RESET_TTL_S) == NOW + timedelta(hours=1)


def test_a_token_is_valid_strictly_before_its_expiry() -> None:
    expiry = expires_at(NOW, 60)
    assert not is_expired(expiry, NOW)
    assert not is_expired(expiry, expiry - timedelta(microseconds=1))
    assert is_expired(expiry, expiry)
    assert is_expired(expiry, expiry + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(-5.0, 0), (0.0, 0), (0.001, 1), (1.0, 1), (1.2, 2), (899.5, 900), (900.0, 900)],
)
def test_retry_after_rounds_up_to_whole_seconds(remaining: float, expected: int) -> None:
    assert retry_after_s(NOW + timedelta(seconds=remaining), NOW) == expected

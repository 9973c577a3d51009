"""The command API remembers verified access tokens, but never past their expiry."""

from __future__ import annotations

import time
from typing import Any

import pytest

from command_service.api.deps import CommandDeps
from libs.auth.tokens import InvalidToken, issue_access_token

SECRET = "unit-test-token-secret-" + "x" * 40


def deps(registry: str = "testland") -> CommandDeps:
    unused: Any = None
    return CommandDeps(registry, unused, unused, SECRET, 1.0)


def test_a_remembered_token_still_expires() -> None:
    d = deps()
    token = issue_access_token(SECRET, 7, "testland", ttl_s=1)
    expires_at = d.access_claims(token).expires_at
    assert d.access_claims(token).user_id == 7  # from memory
    while time.time() < expires_at:
        time.sleep(0.05)
    with pytest.raises(InvalidToken):
        d.access_claims(token)


def test_invalid_tokens_are_refused_every_time() -> None:
    d = deps()
    other_registry = issue_access_token(SECRET, 7, "elsewhere")
    forged = issue_access_token("another-secret-" + "y" * 40, 7, "testland")
    for token in (other_registry, forged, other_registry, forged):
        with pytest.raises(InvalidToken):
            d.access_claims(token)

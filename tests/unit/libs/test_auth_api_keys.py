"""API keys: the ``crk_<id>_<secret>`` format, parsing and the stored hash."""

from __future__ import annotations

import re

import pytest

from libs.auth.api_keys import (
    ApiKey,
    generate_api_key,
    hash_secret,
    parse_api_key,
    secret_matches,
)


def test_generated_keys_have_the_documented_shape() -> None:
    key = generate_api_key()
    assert re.fullmatch(r"crk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", key.full)
    assert key.full == f"crk_{key.key_id}_{key.secret}"


def test_keys_are_unique() -> None:
    keys = [generate_api_key() for _ in range(200)]
    assert len({k.key_id for k in keys}) == 200
    assert len({k.secret for k in keys}) == 200


def test_parse_round_trips_even_with_underscores_in_the_secret() -> None:
    key = ApiKey("0123456789abcdef", "a_b-c" + "x" * 38)
    assert parse_api_key(key.full) == key
    generated = generate_api_key()
    assert parse_api_key(generated.full) == generated


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "crk_",
        "Bearer crk_0123456789abcdef_" + "x" * 43,
        "crk_0123456789ABCDEF_" + "x" * 43,  # upper-case id
        "crk_0123456789abcde_" + "x" * 43,  # short id
        "crk_0123456789abcdef_" + "x" * 42,  # short secret
        "crk_0123456789abcdef_" + "x" * 44,  # long secret
        "crx_0123456789abcdef_" + "x" * 43,  # wrong prefix
        "crk_0123456789abcdef_" + "x" * 42 + "!",
        "crk_0123456789abcdef_" + "x" * 43 + "\n",
    ],
)
def test_malformed_keys_are_refused_before_any_lookup(bad: str) -> None:
    assert parse_api_key(bad) is None


def test_only_the_secrets_sha256_is_stored_and_compared() -> None:
    key = generate_api_key()
    assert re.fullmatch(r"[0-9a-f]{64}", key.secret_hash)
    assert key.secret not in key.secret_hash
    assert key.secret_hash == hash_secret(key.secret)
    assert secret_matches(key.secret, key.secret_hash)
    tampered = key.secret[:-1] + ("A" if key.secret[-1] != "A" else "B")
    assert not secret_matches(tampered, key.secret_hash)
    assert not secret_matches(generate_api_key().secret, key.secret_hash)

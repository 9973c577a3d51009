"""Password hashing, the constant-time dummy check and the password policy."""

from __future__ import annotations

import time

import pytest

from libs.auth.passwords import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    dummy_verify,
    generate_password,
    hash_password,
    password_weakness,
    verify_password,
)


def test_hash_and_verify() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse battery" not in hashed
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse batterY")
    assert not verify_password("not a hash", "correct horse battery")


def test_dummy_verify_fails_and_costs_about_a_real_verify() -> None:
    hashed = hash_password("correct horse battery")
    dummy_verify("warm-up")  # the dummy hash is computed once, on first use
    rounds = 5
    t0 = time.perf_counter()
    for _ in range(rounds):
        verify_password(hashed, "wrong password!")
    real = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(rounds):
        assert dummy_verify("wrong password!") is False
    dummy = time.perf_counter() - t0
    assert 0.5 < dummy / real < 2.0, (dummy, real)


def test_generated_passwords_satisfy_the_policy() -> None:
    for _ in range(20):
        assert password_weakness(generate_password()) is None


@pytest.mark.parametrize(
    ("new", "old", "reason"),
    [
        ("a" * (MIN_PASSWORD - 1), None, "at least 10"),
        ("a" * (MAX_PASSWORD + 1), None, "at most 128"),
        (" " * 12, None, "blank"),
        ("same-password-1", "same-password-1", "differ"),
    ],
)
def test_weak_passwords_are_named(new: str, old: str | None, reason: str) -> None:
    weakness = password_weakness(new, old)
    assert weakness is not None
    assert reason in weakness


@pytest.mark.parametrize("new", ["a" * MIN_PASSWORD, "b" * MAX_PASSWORD, "Ünïcødé-pässwörd"])
def test_acceptable_passwords(new: str) -> None:
    assert password_weakness(new, "the-old-password") is None

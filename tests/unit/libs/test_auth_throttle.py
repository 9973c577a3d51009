"""Sign-in throttling: exponential per-IP delay and the lock of unknown e-mails."""

from __future__ import annotations

import pytest

from libs.auth.accounts import LOCK_S, MAX_FAILED_LOGINS
from libs.auth.throttle import LoginThrottle, backoff_s


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.0), (2, 0.0), (3, 0.25), (4, 0.5), (5, 1.0), (6, 2.0), (8, 8.0), (50, 8.0)],
)
def test_backoff_is_free_then_doubles_up_to_the_cap(failures: int, delay: float) -> None:
    assert backoff_s(failures, free=3, base_s=0.25, cap_s=8.0) == delay


def test_ip_delay_grows_with_failures_and_resets_on_success(clock: Clock) -> None:
    t = LoginThrottle(clock=clock)
    delays = []
    for _ in range(6):
        delays.append(t.delay_for("10.0.0.1"))
        t.ip_failed("10.0.0.1")
    assert delays == [0.0, 0.0, 0.0, 0.25, 0.5, 1.0]
    assert t.delay_for("10.0.0.2") == 0.0  # per IP
    t.ip_succeeded("10.0.0.1")
    assert t.delay_for("10.0.0.1") == 0.0


def test_ip_failures_are_forgotten_after_a_quiet_window(clock: Clock) -> None:
    t = LoginThrottle(clock=clock, window_s=60)
    for _ in range(5):
        t.ip_failed("10.0.0.1")
    assert t.delay_for("10.0.0.1") > 0
    clock.now += 61
    assert t.delay_for("10.0.0.1") == 0.0


def test_unknown_email_locks_like_a_real_account(clock: Clock) -> None:
    t = LoginThrottle(clock=clock)
    for _ in range(MAX_FAILED_LOGINS - 1):
        t.phantom_failed("Nobody@Example.org")
        assert t.phantom_retry_after("nobody@example.org") == 0.0
    t.phantom_failed("nobody@example.org")
    assert t.phantom_retry_after("NOBODY@example.org") == LOCK_S
    clock.now += LOCK_S - 1
    assert t.phantom_retry_after("nobody@example.org") == 1.0
    clock.now += 1
    assert t.phantom_retry_after("nobody@example.org") == 0.0
    # After the lock the count starts again.
    t.phantom_failed("nobody@example.org")
    assert t.phantom_retry_after("nobody@example.org") == 0.0


def test_memory_is_bounded(clock: Clock) -> None:
    t = LoginThrottle(clock=clock, max_entries=100)
    for i in range(1000):
        t.ip_failed(f"10.0.{i // 256}.{i % 256}")
        t.phantom_failed(f"user{i}@example.org")
    assert len(t._ips) == 100
    assert len(t._phantoms) == 100
    # The most recent entries are the ones kept.
    for _ in range(3):
        t.ip_failed("10.0.3.231")
    assert t.delay_for("10.0.3.231") > 0

"""The public endpoints' rate limit, and who may sign in (deleted users, registrations)."""

from __future__ import annotations

from libs.auth.accounts import AccountStatus, login_refusal
from libs.http.rate import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_a_few_requests_per_window() -> None:
    clock = Clock()
    limit = RateLimiter(max_requests=3, window_s=60, clock=clock)
    assert [limit.retry_after("a") for _ in range(3)] == [0, 0, 0]
    assert limit.retry_after("a") == 60
    assert limit.retry_after("b") == 0  # per client
    clock.now += 30
    assert limit.retry_after("a") == 30  # refused requests are not counted
    clock.now += 30.5
    assert limit.retry_after("a") == 0


def test_the_limiter_forgets_the_oldest_clients() -> None:
    limit = RateLimiter(max_requests=1, window_s=60, max_clients=2, clock=Clock())
    assert limit.retry_after("a") == 0
    assert limit.retry_after("b") == 0
    assert limit.retry_after("c") == 0  # "a" is forgotten
    assert limit.retry_after("a") == 0
    assert limit.retry_after("c") > 0


def test_deleted_users_and_registrations_cannot_sign_in() -> None:
    deleted = login_refusal(5, AccountStatus(True, True, deleted=True, organisation_state="Active"))
    assert deleted is not None
    assert deleted.code == "auth.user_deleted"
    # A registration's pending admin learns where the registration stands.
    for state, code in [
        ("Pending", "auth.organisation_pending"),
        ("Rejected", "auth.organisation_rejected"),
    ]:
        refusal = login_refusal(
            5, AccountStatus(True, True, pending=True, organisation_state=state)
        )
        assert refusal is not None
        assert refusal.code == code
    assert login_refusal(5, AccountStatus(True, True, organisation_state="Suspended")) is None

"""Who may sign in (pure policy over what the read models say), and the read-model name."""

from __future__ import annotations

import pytest

from libs.auth.accounts import ROOT_USER_ID, AccountStatus, login_refusal
from libs.readmodel_names import live_schema
from projector_service.schema import live_schema as projector_live_schema

USER = 7


def test_active_and_suspended_organisations_may_sign_in() -> None:
    for state in ("Active", "Suspended"):
        status = AccountStatus(read_model=True, found=True, organisation_state=state)
        assert login_refusal(USER, status) is None


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (AccountStatus(True, True, pending=True, organisation_state="Active"), "auth.user_pending"),
        (AccountStatus(True, True, organisation_state="Pending"), "auth.organisation_pending"),
        (AccountStatus(True, True, organisation_state="Rejected"), "auth.organisation_rejected"),
    ],
)
def test_pending_users_and_pending_or_rejected_organisations_are_refused(
    status: AccountStatus, code: str
) -> None:
    refusal = login_refusal(USER, status)
    assert refusal is not None
    assert (refusal.status, refusal.code) == (403, code)
    # Root is no exception to an explicit refusal.
    assert login_refusal(ROOT_USER_ID, status) is not None


def test_without_read_models_only_root_may_sign_in() -> None:
    status = AccountStatus(read_model=False)
    assert login_refusal(ROOT_USER_ID, status) is None
    refusal = login_refusal(USER, status)
    assert refusal is not None
    assert (refusal.status, refusal.code) == (503, "auth.account_not_ready")


def test_a_user_not_projected_yet_may_sign_in() -> None:
    assert login_refusal(USER, AccountStatus(read_model=True, found=False)) is None


@pytest.mark.parametrize("registry", ["demo", "ke", "t3f9a0c1b2d", "ng-2", "a_b", "x-y-z"])
def test_live_schema_matches_the_projectors(registry: str) -> None:
    assert live_schema(registry) == projector_live_schema(registry)
    assert live_schema(registry).startswith("rm_")

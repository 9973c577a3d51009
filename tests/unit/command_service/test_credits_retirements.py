"""Retirements (issue #4 rule 6; domain.md 6.5): a developer's cross-border retirement waits
for the Government; Government retirements execute at once; legal-action and other take the
full available amount; the OMGE share goes to gov:omge; retired units never move again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from command_service.domain.ledger import available, balance, company_account
from command_service.domain.retirements import omge_units
from schemas.commands.credits import (
    CancelRetirement,
    RecogniseRetirement,
    RefuseRetirement,
    RequestRetirement,
    RequestTransfer,
    SetOmgePercentage,
    SetTransferFreeze,
)
from schemas.enums import CancelReason, RequestStatus, RetirementType
from schemas.events.credits import CreditsRetired, RetirementCancelled, RetirementRequested
from tests.unit.command_service.helpers import (
    Outcome,
    World,
    authorised_programme,
    ok,
    refused,
    units_of,
    world,
)

CB = RetirementType.CROSS_BORDER


def issued_world(amount: int = 100) -> tuple[World, str]:
    w = world()
    return w, authorised_programme(w, issue=amount)


def retire(w: World, pid: str, actor: object, **kw: object) -> Outcome:
    kw.setdefault("retirement_type", CB)
    if kw["retirement_type"] is CB:
        kw.setdefault("country", "FR")
    return w.reg.when(RequestRetirement(programme_id=pid, **kw), actor)  # type: ignore[arg-type]


def test_developer_cross_border_waits_then_the_government_recognises() -> None:
    w, pid = issued_world(100)
    out = ok(retire(w, pid, w.pd1_admin, amount=30, organisation_name="Buyer SA"))
    assert out.types == ["RetirementRequested"]
    req = out.payloads[0]
    assert isinstance(req, RetirementRequested)
    assert (req.request_id, req.country, req.omge_percentage) == (1, "FR", Decimal(0))
    assert out.result.aggregate_id == "retirement-1"
    s = w.reg.state
    assert balance(s, company_account(w.pd1), pid) == 100  # nothing moves yet
    refused(
        w.reg.when(RecogniseRetirement(request_id=1), w.pd1_admin), "auth.forbidden", "forbidden"
    )
    out = ok(w.reg.when(RecogniseRetirement(request_id=1, comment="ITMO"), w.gov_manager))
    done = out.payloads[0]
    assert isinstance(done, CreditsRetired)
    assert (done.retired_units, done.omge_units) == (30, 0)
    assert units_of(s, company_account(w.pd1), pid) == [(1, 70)]
    assert units_of(s, "retired", pid) == [(71, 100)]
    assert s.credit_requests[1].status is RequestStatus.RECOGNISED
    refused(
        w.reg.when(RecogniseRetirement(request_id=1), w.gov_admin),
        "retirement.not_pending",
        "conflict",
    )


def test_omge_share_goes_to_the_omge_account_at_the_rate_fixed_when_asked() -> None:
    w, pid = issued_world(100)
    ok(w.reg.when(SetOmgePercentage(percentage=Decimal("10")), w.gov_admin))
    ok(retire(w, pid, w.pd1_admin, amount=25))  # 10 % fixed now
    ok(w.reg.when(SetOmgePercentage(percentage=Decimal("50")), w.gov_admin))
    out = ok(w.reg.when(RecogniseRetirement(request_id=1), w.gov_admin))
    done = out.payloads[0]
    assert isinstance(done, CreditsRetired)
    # 25 x 10 % = 2.5 -> 3 (half up): 3 to OMGE, 22 retired.
    assert (done.omge_units, done.retired_units) == (3, 22)
    s = w.reg.state
    assert units_of(s, "gov:omge", pid) == [(98, 100)]
    assert units_of(s, "retired", pid) == [(76, 97)]
    assert balance(s, company_account(w.pd1), pid) == 75


@pytest.mark.parametrize(
    ("amount", "pct", "expected"),
    [(100, "0", 0), (100, "2", 2), (25, "10", 3), (1, "2", 0), (1, "99", 1), (7, "50", 4)],
)
def test_omge_units_round_half_up(amount: int, pct: str, expected: int) -> None:
    assert omge_units(amount, Decimal(pct)) == expected


def test_government_retirement_executes_at_once_for_any_holder() -> None:
    w, pid = issued_world(100)
    out = ok(
        retire(
            w, pid, w.gov_admin, retirement_type=RetirementType.LEGAL_ACTION, from_company_id=w.pd1
        )
    )
    assert out.types == ["RetirementRequested", "CreditsRetired"]
    assert out.payloads[0].amount == 100  # type: ignore[attr-defined]  # the full available
    assert balance(w.reg.state, company_account(w.pd1), pid) == 0
    assert balance(w.reg.state, "retired", pid) == 100


def test_legal_action_and_other_take_the_full_available_amount() -> None:
    w, pid = issued_world(100)
    out = refused(
        retire(
            w,
            pid,
            w.gov_admin,
            retirement_type=RetirementType.OTHER,
            from_company_id=w.pd1,
            amount=40,
        ),
        "retirement.full_amount_required",
        "invalid",
    )
    assert out.result.error is not None
    assert out.result.error.details == {"available": 100, "requested": 40}
    ok(
        retire(
            w,
            pid,
            w.gov_admin,
            retirement_type=RetirementType.OTHER,
            from_company_id=w.pd1,
            amount=100,
        )
    )


def test_developer_rules() -> None:
    w, pid = issued_world(100)
    refused(
        retire(w, pid, w.pd1_admin, retirement_type=RetirementType.LEGAL_ACTION),
        "retirement.developer_cross_border_only",
        "forbidden",
    )
    refused(
        retire(w, pid, w.pd2_admin, from_company_id=w.pd1, amount=5),
        "retirement.other_organisation",
        "forbidden",
    )
    refused(
        retire(w, pid, w.pd1_admin, amount=5, country=None),
        "retirement.country_required",
        "invalid",
    )
    refused(
        retire(w, pid, w.pd1_admin, amount=5, country="TL"), "retirement.country_is_home", "invalid"
    )
    refused(retire(w, pid, w.pd1_viewer, amount=5), "auth.forbidden", "forbidden")
    out = refused(
        retire(w, pid, w.pd1_admin, amount=101), "credits.insufficient_balance", "conflict"
    )
    assert out.result.error is not None
    assert out.result.error.details["available"] == 100
    refused(retire(w, pid, w.pd2_admin, amount=1), "credits.insufficient_balance", "conflict")


def test_refuse_and_cancel_end_a_pending_retirement_without_moving_anything() -> None:
    w, pid = issued_world(100)
    ok(retire(w, pid, w.pd1_admin, amount=10))
    ok(retire(w, pid, w.pd1_admin, amount=20))
    out = ok(w.reg.when(RefuseRetirement(request_id=1, comment="not eligible"), w.gov_admin))
    assert out.types == ["RetirementRefused"]
    refused(
        w.reg.when(CancelRetirement(request_id=2), w.pd2_admin),
        "retirement.not_initiator",
        "forbidden",
    )
    out = ok(w.reg.when(CancelRetirement(request_id=2), w.pd1_manager))
    cancelled = out.payloads[0]
    assert isinstance(cancelled, RetirementCancelled)
    assert cancelled.reason is CancelReason.BY_INITIATOR
    s = w.reg.state
    assert s.credit_requests[1].status is RequestStatus.NOT_RECOGNISED
    assert s.credit_requests[2].status is RequestStatus.CANCELLED
    assert balance(s, company_account(w.pd1), pid) == 100
    refused(
        w.reg.when(RefuseRetirement(request_id=1), w.gov_admin),
        "retirement.not_pending",
        "conflict",
    )
    # A retirement id is not a transfer id and vice versa.
    refused(
        w.reg.when(RecogniseRetirement(request_id=99), w.gov_admin),
        "retirement.not_found",
        "not_found",
    )


def test_pending_retirement_exceeding_the_balance_after_a_transfer_is_cancelled() -> None:
    w, pid = issued_world(100)
    ok(retire(w, pid, w.pd1_admin, amount=60))
    out = ok(
        w.reg.when(RequestTransfer(programme_id=pid, to_company_id=w.pd2, amount=50), w.pd1_admin)
    )
    assert out.types[-1] == "RetirementCancelled"
    assert out.events[-1].actor.kind == "system"
    assert out.payloads[-1].reason is CancelReason.LOW_CREDIT  # type: ignore[attr-defined]


def test_retired_units_never_move_again() -> None:
    w, pid = issued_world(10)
    ok(retire(w, pid, w.gov_admin, retirement_type=RetirementType.OTHER, from_company_id=w.pd1))
    s = w.reg.state
    assert available(s, "retired", pid) == 10
    # Nobody holds anything to send; the retirement account is no organisation's.
    refused(
        w.reg.when(RequestTransfer(programme_id=pid, to_company_id=w.pd2, amount=1), w.pd1_admin),
        "credits.insufficient_balance",
        "conflict",
    )
    assert units_of(s, "retired", pid) == [(1, 10)]


def test_freeze_setting_blocks_retirement_and_recognition() -> None:
    w, pid = issued_world(10)
    ok(retire(w, pid, w.pd1_admin, amount=5))
    ok(w.reg.when(SetTransferFreeze(frozen=True), w.gov_admin))
    refused(retire(w, pid, w.pd1_admin, amount=1), "credits.transfers_frozen", "conflict")
    refused(
        w.reg.when(RecogniseRetirement(request_id=1), w.gov_admin),
        "credits.transfers_frozen",
        "conflict",
    )
    ok(w.reg.when(RefuseRetirement(request_id=1), w.gov_admin))


def test_omge_percentage_bounds_and_rights() -> None:
    w = world()
    out = w.reg.when({"percentage": "100"}, w.gov_admin, type_="SetOmgePercentage")
    refused(out, "command.invalid", "invalid")
    refused(
        w.reg.when(SetOmgePercentage(percentage=Decimal("2")), w.pd1_admin),
        "auth.forbidden",
        "forbidden",
    )
    ok(w.reg.when(SetOmgePercentage(percentage=Decimal("2.5")), w.gov_admin))
    assert w.reg.state.omge_percentage == Decimal("2.5")

"""Transfers (issue #4 rules 4-5; domain.md 6.4): blocks move whole or split at their high
end; requests execute at once for the sender, otherwise wait for it; low-credit requests are
cancelled by the registry; the transfer freeze stops movement."""

from __future__ import annotations

import pytest

from command_service.domain.ledger import available, balance, company_account
from schemas.commands.credits import (
    ApproveTransfer,
    CancelTransfer,
    IssueCredits,
    RejectTransfer,
    RequestTransfer,
    SetTransferFreeze,
    SuspendOrganisation,
)
from schemas.enums import CancelReason, RequestStatus
from schemas.events.credits import CreditsTransferred, TransferCancelled, TransferRequested
from tests.unit.command_service.helpers import (
    GOV_COMPANY_ID,
    Outcome,
    World,
    authorised_programme,
    ok,
    refused,
    units_of,
    world,
)


def issued_world(amount: int = 100) -> tuple[World, str]:
    """PD1 holds units 1..amount of programme 001 (estimate 1000)."""
    w = world()
    return w, authorised_programme(w, issue=amount)


def transfer(w: World, pid: str, amount: int, to: int, actor: object, **kw: object) -> Outcome:
    return w.reg.when(
        RequestTransfer(programme_id=pid, to_company_id=to, amount=amount, **kw),  # type: ignore[arg-type]
        actor,  # type: ignore[arg-type]
    )


def error_details(out: Outcome) -> dict[str, object]:
    assert out.result.error is not None
    return out.result.error.details


def test_sender_transfer_executes_at_once_moving_the_high_end() -> None:
    w, pid = issued_world(100)
    out = ok(transfer(w, pid, 30, w.pd2, w.pd1_admin, comment="sale"))
    assert out.types == ["TransferRequested", "CreditsTransferred"]
    req = out.payloads[0]
    assert isinstance(req, TransferRequested)
    assert (req.request_id, req.from_company_id, req.to_company_id) == (1, w.pd1, w.pd2)
    assert out.result.aggregate_id == "transfer-1"
    done = out.payloads[1]
    assert isinstance(done, CreditsTransferred)
    [move] = done.moves
    assert move.kept is not None
    assert (move.kept.start, move.kept.end) == (1, 70)
    assert (move.moved.start, move.moved.end) == (71, 100)
    assert move.moved.serial == "TL-ITMO-1-001-2024-0-71-100"
    s = w.reg.state
    assert units_of(s, company_account(w.pd1), pid) == [(1, 70)]
    assert units_of(s, company_account(w.pd2), pid) == [(71, 100)]
    assert s.blocks[f"{pid}-71"].parent == f"{pid}-1"
    assert s.credit_requests[1].status is RequestStatus.APPROVED


def test_whole_blocks_move_oldest_serial_first_then_one_split() -> None:
    w, pid = issued_world(10)
    ok(w.reg.when(IssueCredits(programme_id=pid, amount=10), w.gov_admin))  # units 11..20
    out = ok(transfer(w, pid, 15, w.pd2, w.pd1_admin))
    moves = out.payloads[1].moves  # type: ignore[attr-defined]
    assert (moves[0].source_block_id, moves[0].kept) == (f"{pid}-1", None)
    assert moves[0].moved.block_id == f"{pid}-1"  # a whole block keeps its id
    assert (moves[1].kept.start, moves[1].kept.end) == (11, 15)
    s = w.reg.state
    assert units_of(s, company_account(w.pd1), pid) == [(11, 15)]
    assert units_of(s, company_account(w.pd2), pid) == [(1, 10), (16, 20)]


def test_received_credits_can_be_transferred_on() -> None:
    w, pid = issued_world(50)
    ok(transfer(w, pid, 20, w.pd2, w.pd1_admin))
    ok(transfer(w, pid, 5, w.pd1, w.pd2_admin))
    s = w.reg.state
    assert balance(s, company_account(w.pd1), pid) == 35
    assert balance(s, company_account(w.pd2), pid) == 15


def test_receiver_asks_and_the_sender_approves() -> None:
    w, pid = issued_world(40)
    out = ok(transfer(w, pid, 10, w.pd2, w.pd2_admin, from_company_id=w.pd1))
    assert out.types == ["TransferRequested"]
    assert balance(w.reg.state, company_account(w.pd2), pid) == 0
    refused(
        w.reg.when(ApproveTransfer(request_id=1), w.pd2_admin), "transfer.not_sender", "forbidden"
    )
    refused(
        w.reg.when(ApproveTransfer(request_id=1), w.gov_admin), "transfer.not_sender", "forbidden"
    )
    out = ok(w.reg.when(ApproveTransfer(request_id=1, comment="ok"), w.pd1_manager))
    assert out.types == ["CreditsTransferred"]
    assert balance(w.reg.state, company_account(w.pd2), pid) == 10
    refused(
        w.reg.when(ApproveTransfer(request_id=1), w.pd1_admin), "transfer.not_pending", "conflict"
    )


def test_government_asks_between_others_and_the_sender_decides() -> None:
    w, pid = issued_world(40)
    ok(transfer(w, pid, 10, w.pd2, w.gov_admin, from_company_id=w.pd1))
    ok(transfer(w, pid, 5, w.pd2, w.gov_admin, from_company_id=w.pd1))
    out = ok(w.reg.when(RejectTransfer(request_id=1, comment="no"), w.pd1_admin))
    assert out.types == ["TransferRejected"]
    assert w.reg.state.credit_requests[1].status is RequestStatus.REJECTED
    # Only the initiator cancels; the sender cannot.
    refused(
        w.reg.when(CancelTransfer(request_id=2), w.pd1_admin), "transfer.not_initiator", "forbidden"
    )
    out = ok(w.reg.when(CancelTransfer(request_id=2), w.gov_admin))
    cancelled = out.payloads[0]
    assert isinstance(cancelled, TransferCancelled)
    assert cancelled.reason is CancelReason.BY_INITIATOR
    assert w.reg.state.pending_requests == {}
    assert balance(w.reg.state, company_account(w.pd1), pid) == 40


def test_insufficient_balance_names_the_available_amount() -> None:
    w, pid = issued_world(25)
    out = refused(
        transfer(w, pid, 26, w.pd2, w.pd1_admin), "credits.insufficient_balance", "conflict"
    )
    details = error_details(out)
    assert details["available"] == 25
    assert details["requested"] == 26
    assert "25" in (out.result.error.message if out.result.error else "")
    # A holder with nothing at all.
    out = refused(
        transfer(w, pid, 1, w.pd1, w.pd2_admin), "credits.insufficient_balance", "conflict"
    )
    assert error_details(out)["available"] == 0


def test_low_credit_requests_are_cancelled_by_the_registry() -> None:
    w, pid = issued_world(100)
    ok(transfer(w, pid, 60, w.pd2, w.pd2_admin, from_company_id=w.pd1))  # 1: pending
    ok(transfer(w, pid, 30, w.pd2, w.gov_admin, from_company_id=w.pd1))  # 2: pending
    out = ok(transfer(w, pid, 50, w.pd2, w.pd1_admin))  # 3: executes, 50 left
    assert out.types == ["TransferRequested", "CreditsTransferred", "TransferCancelled"]
    cancel_env = out.events[2]
    assert cancel_env.actor.kind == "system"
    assert out.events[0].actor == out.events[1].actor != cancel_env.actor
    cancelled = out.payloads[2]
    assert isinstance(cancelled, TransferCancelled)
    assert (cancelled.request_id, cancelled.reason) == (1, CancelReason.LOW_CREDIT)
    s = w.reg.state
    assert s.credit_requests[1].status is RequestStatus.CANCELLED
    assert s.credit_requests[2].status is RequestStatus.PENDING
    # Approving the surviving request leaves 20 available.
    ok(w.reg.when(ApproveTransfer(request_id=2), w.pd1_admin))
    assert available(s, company_account(w.pd1), pid) == 20


def test_transfer_freeze_stops_movement_but_not_issuance_or_withdrawal() -> None:
    w, pid = issued_world(100)
    ok(transfer(w, pid, 10, w.pd2, w.pd2_admin, from_company_id=w.pd1))
    out = ok(w.reg.when(SetTransferFreeze(frozen=True), w.gov_admin))
    assert out.types == ["TransferFreezeSet"]
    refused(transfer(w, pid, 5, w.pd2, w.pd1_admin), "credits.transfers_frozen", "conflict")
    refused(
        w.reg.when(ApproveTransfer(request_id=1), w.pd1_admin),
        "credits.transfers_frozen",
        "conflict",
    )
    ok(w.reg.when(IssueCredits(programme_id=pid, amount=5), w.gov_admin))
    ok(w.reg.when(CancelTransfer(request_id=1), w.pd2_admin))
    # Setting the same value again changes nothing.
    assert ok(w.reg.when(SetTransferFreeze(frozen=True), w.gov_admin)).events == []
    ok(w.reg.when(SetTransferFreeze(frozen=False), w.gov_admin))
    ok(transfer(w, pid, 5, w.pd2, w.pd1_admin))


@pytest.mark.parametrize("who", ["gov_manager", "pd1_admin", "ministry_admin", "certifier_admin"])
def test_only_government_admins_change_settings(who: str) -> None:
    w = world()
    actor = getattr(w, who)
    refused(w.reg.when(SetTransferFreeze(frozen=True), actor), "auth.forbidden", "forbidden")
    assert not w.reg.state.transfers_frozen


def test_request_rules() -> None:
    w, pid = issued_world(100)
    refused(transfer(w, pid, 5, w.pd1, w.pd1_admin), "transfer.same_organisation", "invalid")
    # A developer can only ask for transfers from or to itself.
    refused(
        transfer(w, pid, 5, w.pd1, w.pd2_admin, from_company_id=w.api),
        "transfer.other_organisation",
        "forbidden",
    )
    refused(
        transfer(w, pid, 5, w.certifier, w.pd1_admin), "transfer.receiver_cannot_hold", "invalid"
    )
    refused(transfer(w, pid, 5, 999, w.pd1_admin), "organisation.not_found", "not_found")
    refused(
        transfer(w, pid, 5, w.pd2, w.pd1_admin, to_account="international"),
        "credits.account_only_for_government",
        "invalid",
    )
    refused(transfer(w, pid, 5, w.pd2, w.pd1_viewer), "auth.forbidden", "forbidden")
    refused(transfer(w, pid, 5, w.pd2, w.certifier_admin), "auth.forbidden", "forbidden")
    refused(transfer(w, "999", 5, w.pd2, w.pd1_admin), "programme.not_found", "not_found")
    refused(
        w.reg.when(ApproveTransfer(request_id=42), w.pd1_admin), "transfer.not_found", "not_found"
    )


def test_transfers_need_an_authorised_programme() -> None:
    from tests.unit.command_service.helpers import new_programme

    w = world()
    pid = new_programme(w)
    refused(transfer(w, pid, 5, w.pd2, w.pd1_admin), "programme.not_authorised", "conflict")


def test_suspended_parties_cannot_send_or_receive() -> None:
    w, pid = issued_world(100)
    ok(w.reg.when(SuspendOrganisation(company_id=w.pd2), w.gov_admin))
    out = refused(
        transfer(w, pid, 5, w.pd2, w.pd1_admin), "transfer.receiver_suspended", "conflict"
    )
    assert error_details(out) == {"company_id": w.pd2}
    ok(w.reg.when(SuspendOrganisation(company_id=w.pd1), w.gov_admin))
    refused(
        transfer(w, pid, 5, w.pd2, w.gov_admin, from_company_id=w.pd1),
        "credits.holder_suspended",
        "conflict",
    )


def test_government_accounts_receive_and_send() -> None:
    w, pid = issued_world(100)
    ok(transfer(w, pid, 10, GOV_COMPANY_ID, w.pd1_admin, to_account="international"))
    ok(transfer(w, pid, 5, GOV_COMPANY_ID, w.pd1_admin))  # default: the local account
    s = w.reg.state
    assert balance(s, "gov:international", pid) == 10
    assert balance(s, "gov:local", pid) == 5
    out = ok(transfer(w, pid, 4, w.pd2, w.gov_admin, from_account="international"))
    assert out.types == ["TransferRequested", "CreditsTransferred"]  # the sender asked
    assert balance(s, "gov:international", pid) == 6
    assert balance(s, company_account(w.pd2), pid) == 4

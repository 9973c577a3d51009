"""Programme lifecycle after creation and issuance (issue #4 rules 1-3; domain.md 5.1, 6.2,
6.3, 8.1): approve, authorise (range from the country counter, serial), reject, issue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from command_service.domain.ledger import balance, company_account
from schemas.commands.credits import (
    ApproveProgramme,
    AuthoriseProgramme,
    IssueCredits,
    RejectProgramme,
)
from schemas.enums import ProgrammeStage
from schemas.envelope import SYSTEM_ACTOR
from schemas.events.credits import CreditsIssued, ProgrammeAuthorised, ProgrammeRejected
from tests.unit.command_service.helpers import (
    NOW,
    PD1_TAX,
    PD2_TAX,
    ROOT,
    authorised_programme,
    new_programme,
    ok,
    refused,
    units_of,
    world,
)


def test_approve_then_authorise_reserves_the_range_and_fixes_the_serial() -> None:
    w = world()
    pid = new_programme(w, credit_est=500)
    out = ok(w.reg.when(ApproveProgramme(programme_id=pid, comment="methodology ok"), w.gov_admin))
    assert out.types == ["ProgrammeApproved"]
    assert w.reg.state.programmes[pid].stage is ProgrammeStage.APPROVED
    out = ok(w.reg.when(AuthoriseProgramme(programme_id=pid), w.gov_manager))
    assert out.types == ["ProgrammeAuthorised"]
    auth = out.payloads[0]
    assert isinstance(auth, ProgrammeAuthorised)
    assert (auth.range_start, auth.range_end) == (1, 500)
    # <ISO2>-<unit>-<scope>-<id>-<year of start>-0-<start>-<end>
    assert auth.serial_no == "TL-ITMO-1-001-2024-0-1-500"
    p = w.reg.state.programmes[pid]
    assert p.stage is ProgrammeStage.AUTHORISED
    assert p.serial_no == auth.serial_no
    assert w.reg.state.serial_counter == 500
    assert w.reg.state.blocks == {}


def test_the_country_counter_runs_on_across_programmes() -> None:
    w = world()
    first = authorised_programme(w, 1, credit_est=300)
    second = authorised_programme(w, 2, credit_est=45)
    s = w.reg.state
    assert (s.programmes[first].range_start, s.programmes[first].range_end) == (1, 300)
    assert (s.programmes[second].range_start, s.programmes[second].range_end) == (301, 345)
    assert s.programmes[second].serial_no == "TL-ITMO-1-002-2024-0-301-345"
    assert s.serial_counter == 345


def test_authorise_with_issue_splits_units_by_largest_remainder() -> None:
    w = world()
    pid = authorised_programme(
        w, proponents=(PD1_TAX, PD2_TAX), percentages=["33.333333", "66.666667"], issue=10
    )
    out_types = [e.type for e, _ in w.reg.events[-2:]]
    assert out_types == ["ProgrammeAuthorised", "CreditsIssued"]
    s = w.reg.state
    # 10 x 1/3 = 3.33 and 10 x 2/3 = 6.67: the larger remainder gets the extra unit.
    assert units_of(s, company_account(w.pd1), pid) == [(1, 3)]
    assert units_of(s, company_account(w.pd2), pid) == [(4, 10)]
    assert s.programmes[pid].credit_issued == 10
    block = s.blocks[f"{pid}-4"]
    assert block.vintage == NOW.year
    assert not block.frozen


def test_issuance_takes_the_next_units_and_carries_block_serials() -> None:
    w = world()
    pid = authorised_programme(w, credit_est=100, issue=10)
    out = ok(w.reg.when(IssueCredits(programme_id=pid, amount=15, vintage=2024), w.gov_admin))
    issued = out.payloads[0]
    assert isinstance(issued, CreditsIssued)
    assert issued.amount == 15
    assert issued.issued_total == 25
    [block] = issued.blocks
    assert (block.start, block.end) == (11, 25)
    assert block.serial == "TL-ITMO-1-001-2024-0-11-25"
    assert block.account == company_account(w.pd1)
    assert balance(w.reg.state, company_account(w.pd1), pid) == 25


def test_issue_without_amount_issues_everything_left_then_refuses() -> None:
    w = world()
    pid = authorised_programme(w, credit_est=40, issue=15)
    out = ok(w.reg.when(IssueCredits(programme_id=pid), w.gov_admin))
    assert out.payloads[0].amount == 25  # type: ignore[attr-defined]
    out = refused(
        w.reg.when(IssueCredits(programme_id=pid), w.gov_admin),
        "programme.fully_issued",
        "conflict",
    )
    assert out.result.error is not None
    assert out.result.error.details == {"credit_est": 40}


def test_issue_never_beyond_the_estimate() -> None:
    w = world()
    pid = authorised_programme(w, credit_est=40, issue=30)
    out = refused(
        w.reg.when(IssueCredits(programme_id=pid, amount=11), w.gov_admin),
        "programme.issue_exceeds_estimate",
        "conflict",
    )
    assert out.result.error is not None
    assert out.result.error.details["remaining"] == 10
    assert out.result.error.details["requested"] == 11
    # Authorising with more than the estimate is refused the same way.
    pid2 = new_programme(w, 2, credit_est=5)
    ok(w.reg.when(ApproveProgramme(programme_id=pid2), w.gov_admin))
    refused(
        w.reg.when(AuthoriseProgramme(programme_id=pid2, issue_amount=6), w.gov_admin),
        "programme.issue_exceeds_estimate",
        "conflict",
    )
    assert w.reg.state.programmes[pid2].stage is ProgrammeStage.APPROVED


def test_issue_needs_an_authorised_programme() -> None:
    w = world()
    pid = new_programme(w)
    out = refused(
        w.reg.when(IssueCredits(programme_id=pid, amount=1), w.gov_admin),
        "programme.not_authorised",
        "conflict",
    )
    assert out.result.error is not None
    assert out.result.error.details["stage"] == "AwaitingAuthorization"


@pytest.mark.parametrize("vintage", [2023, 2025])
def test_vintage_lies_between_the_programme_start_and_now(vintage: int) -> None:
    w = world()
    pid = authorised_programme(w, credit_est=40)
    refused(
        w.reg.when(IssueCredits(programme_id=pid, amount=1, vintage=vintage), w.gov_admin),
        "credits.invalid_vintage",
        "invalid",
    )


def test_stage_rules_of_approve_and_authorise() -> None:
    w = world()
    pid = new_programme(w)
    refused(
        w.reg.when(AuthoriseProgramme(programme_id=pid), w.gov_admin),
        "programme.not_approved",
        "conflict",
    )
    ok(w.reg.when(ApproveProgramme(programme_id=pid), w.gov_admin))
    refused(
        w.reg.when(ApproveProgramme(programme_id=pid), w.gov_admin),
        "programme.not_awaiting_authorisation",
        "conflict",
    )
    ok(w.reg.when(AuthoriseProgramme(programme_id=pid), w.gov_admin))
    counter = w.reg.state.serial_counter
    refused(
        w.reg.when(AuthoriseProgramme(programme_id=pid), w.gov_admin),
        "programme.not_approved",
        "conflict",
    )
    assert w.reg.state.serial_counter == counter  # a refused authorisation reserves nothing


@pytest.mark.parametrize("approve_first", [False, True])
def test_reject_from_awaiting_or_approved(approve_first: bool) -> None:
    w = world()
    pid = new_programme(w)
    if approve_first:
        ok(w.reg.when(ApproveProgramme(programme_id=pid), w.gov_admin))
    out = ok(w.reg.when(RejectProgramme(programme_id=pid, comment="no LoA"), w.gov_admin))
    rejected = out.payloads[0]
    assert isinstance(rejected, ProgrammeRejected)
    assert rejected.comment == "no LoA"
    assert w.reg.state.programmes[pid].stage is ProgrammeStage.REJECTED
    refused(
        w.reg.when(RejectProgramme(programme_id=pid, comment="again"), w.gov_admin),
        "programme.already_rejected",
        "conflict",
    )
    refused(
        w.reg.when(ApproveProgramme(programme_id=pid), w.gov_admin),
        "programme.not_awaiting_authorisation",
        "conflict",
    )


def test_reject_needs_a_comment_and_an_unauthorised_programme() -> None:
    w = world()
    pid = authorised_programme(w)
    out = w.reg.when({"programme_id": pid, "comment": ""}, w.gov_admin, type_="RejectProgramme")
    refused(out, "command.invalid", "invalid")
    refused(
        w.reg.when(RejectProgramme(programme_id=pid, comment="late"), w.gov_admin),
        "programme.not_rejectable",
        "conflict",
    )


def test_unknown_programme() -> None:
    w = world()
    out = refused(
        w.reg.when(ApproveProgramme(programme_id="999"), w.gov_admin),
        "programme.not_found",
        "not_found",
    )
    assert out.result.error is not None
    assert out.result.error.details == {"programme_id": "999"}


@pytest.mark.parametrize("who", ["gov_viewer", "pd1_admin", "certifier_admin", "api_admin"])
def test_only_government_and_ministry_writers_decide(who: str) -> None:
    w = world()
    pid = new_programme(w)
    actor = getattr(w, who)
    refused(w.reg.when(ApproveProgramme(programme_id=pid), actor), "auth.forbidden", "forbidden")
    ok(w.reg.when(ApproveProgramme(programme_id=pid), ROOT))


def test_ministry_decides_only_within_its_scopes() -> None:
    w = world()  # the ministry covers scopes 1, 2 and 3
    inside = new_programme(w, 1)
    ok(w.reg.when(ApproveProgramme(programme_id=inside), w.ministry_admin))
    ok(w.reg.when(AuthoriseProgramme(programme_id=inside, issue_amount=5), w.ministry_admin))
    outside = new_programme(w, 2, sector="Transport", sectoral_scope="7")
    out = refused(
        w.reg.when(ApproveProgramme(programme_id=outside), w.ministry_admin),
        "programme.outside_ministry_scope",
        "forbidden",
    )
    assert out.result.error is not None
    assert out.result.error.details == {"sectoral_scope": "7"}


def test_issuance_to_a_suspended_proponent_arrives_frozen() -> None:
    from schemas.commands.credits import SuspendOrganisation

    w = world()
    pid = authorised_programme(
        w, proponents=(PD1_TAX, PD2_TAX), percentages=["50", "50"], credit_est=100
    )
    ok(w.reg.when(SuspendOrganisation(company_id=w.pd2), w.gov_admin))
    out = ok(w.reg.when(IssueCredits(programme_id=pid, amount=10), w.gov_admin))
    blocks = {b.company_id: b.frozen for b in out.payloads[0].blocks}  # type: ignore[attr-defined]
    assert blocks == {w.pd1: False, w.pd2: True}
    assert [w.reg.state.blocks[f"{pid}-6"].frozen] == [True]


def test_system_actor_may_decide_and_vintage_follows_the_decision_time() -> None:
    w = world()
    pid = new_programme(w)
    ok(w.reg.when(ApproveProgramme(programme_id=pid), SYSTEM_ACTOR))
    env = w.reg.envelope(AuthoriseProgramme(programme_id=pid, issue_amount=3), SYSTEM_ACTOR)
    out = w.reg.submit(env, now=datetime(2025, 3, 1, tzinfo=UTC))
    ok(out)
    assert out.payloads[1].vintage == 2025  # type: ignore[attr-defined]

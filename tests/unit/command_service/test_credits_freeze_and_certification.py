"""Suspension freezes credits and cancels pending requests; activation unfreezes; a
suspended certifier loses its certifications (issue #4 rules 8-9; domain.md 6.6, 6.7, 12.1)."""

from __future__ import annotations

import pytest

from command_service.domain.ledger import available, balance, company_account
from schemas.commands.credits import (
    ActivateOrganisation,
    ApproveProgramme,
    CertifyProgramme,
    RejectProgramme,
    RequestRetirement,
    RequestTransfer,
    RevokeCertification,
    SuspendOrganisation,
)
from schemas.enums import CancelReason, CompanyState, RequestStatus, RetirementType, RevokeReason
from schemas.events.credits import CertificationRevoked, CreditsFrozen, CreditsUnfrozen
from tests.unit.command_service.helpers import (
    GOV_COMPANY_ID,
    PD1_TAX,
    PD2_TAX,
    ROOT,
    authorised_programme,
    new_programme,
    ok,
    refused,
    world,
)


def test_suspending_a_developer_freezes_all_it_holds_and_cancels_its_requests() -> None:
    w = world()
    a = authorised_programme(w, 1, issue=100)
    b = authorised_programme(
        w, 2, proponents=(PD1_TAX, PD2_TAX), percentages=["50", "50"], issue=10
    )
    ok(w.reg.when(RequestTransfer(programme_id=a, to_company_id=w.pd2, amount=20), w.pd1_admin))
    # Pending: pd1 -> pd2 (asked by pd2), pd2 -> pd1 (asked by pd1), pd1's retirement.
    ok(
        w.reg.when(
            RequestTransfer(programme_id=a, to_company_id=w.pd2, amount=5, from_company_id=w.pd1),
            w.pd2_admin,
        )
    )
    ok(
        w.reg.when(
            RequestTransfer(programme_id=a, to_company_id=w.pd1, amount=5, from_company_id=w.pd2),
            w.pd1_admin,
        )
    )
    ok(
        w.reg.when(
            RequestRetirement(
                programme_id=b, retirement_type=RetirementType.CROSS_BORDER, amount=2, country="FR"
            ),
            w.pd1_admin,
        )
    )
    out = ok(w.reg.when(SuspendOrganisation(company_id=w.pd1, remarks="audit"), w.gov_admin))
    assert out.types == [
        "OrganisationSuspended",
        "CreditsFrozen",
        "TransferCancelled",
        "TransferCancelled",
        "RetirementCancelled",
    ]
    frozen = out.payloads[1]
    assert isinstance(frozen, CreditsFrozen)
    assert frozen.units == 80 + 5
    assert frozen.block_ids == [f"{a}-1", f"{b}-1001"]
    assert [e.actor.kind for e in out.events[2:]] == ["system"] * 3
    assert {p.reason for p in out.payloads[2:]} == {CancelReason.ORGANISATION_SUSPENDED}  # type: ignore[attr-defined]
    s = w.reg.state
    assert s.organisations[w.pd1].state is CompanyState.SUSPENDED
    assert available(s, company_account(w.pd1), a) == 0
    assert balance(s, company_account(w.pd1), a) == 80
    assert all(r.status is not RequestStatus.PENDING for r in s.credit_requests.values())
    assert s.pending_requests == {}
    # Its users can no longer change anything; its credits cannot be moved by anyone.
    refused(
        w.reg.when(RequestTransfer(programme_id=a, to_company_id=w.pd2, amount=1), w.pd1_admin),
        "organisation.not_active",
        "forbidden",
    )
    refused(
        w.reg.when(
            RequestRetirement(
                programme_id=a,
                retirement_type=RetirementType.LEGAL_ACTION,
                from_company_id=w.pd1,
            ),
            w.gov_admin,
        ),
        "credits.holder_suspended",
        "conflict",
    )
    # Activation unfreezes exactly what was frozen.
    out = ok(w.reg.when(ActivateOrganisation(company_id=w.pd1), w.gov_admin))
    unfrozen = out.payloads[1]
    assert isinstance(unfrozen, CreditsUnfrozen)
    assert unfrozen.block_ids == frozen.block_ids
    assert available(s, company_account(w.pd1), a) == 80
    ok(w.reg.when(RequestTransfer(programme_id=a, to_company_id=w.pd2, amount=1), w.pd1_admin))


def test_suspension_rules() -> None:
    w = world()
    refused(
        w.reg.when(SuspendOrganisation(company_id=GOV_COMPANY_ID), ROOT),
        "organisation.cannot_suspend_government",
        "forbidden",
    )
    refused(
        w.reg.when(SuspendOrganisation(company_id=w.pd1), w.gov_manager),
        "auth.forbidden",
        "forbidden",
    )
    refused(
        w.reg.when(SuspendOrganisation(company_id=w.pd2), w.ministry_admin),
        "auth.forbidden",
        "forbidden",
    )
    refused(
        w.reg.when(SuspendOrganisation(company_id=999), w.gov_admin),
        "organisation.not_found",
        "not_found",
    )
    refused(
        w.reg.when(ActivateOrganisation(company_id=w.pd1), w.gov_admin),
        "organisation.not_suspended",
        "conflict",
    )
    out = ok(w.reg.when(SuspendOrganisation(company_id=w.pd1), w.gov_admin))
    assert out.types == ["OrganisationSuspended"]  # nothing held, nothing pending
    refused(
        w.reg.when(SuspendOrganisation(company_id=w.pd1), w.gov_admin),
        "organisation.already_suspended",
        "conflict",
    )


def test_certify_and_revoke() -> None:
    w = world()
    pid = new_programme(w)
    out = ok(w.reg.when(CertifyProgramme(programme_id=pid), w.certifier_admin))
    assert out.types == ["ProgrammeCertified"]
    assert w.reg.state.programmes[pid].certifiers == [w.certifier]
    refused(
        w.reg.when(CertifyProgramme(programme_id=pid), w.certifier_admin),
        "certification.already_certified",
        "conflict",
    )
    # Government must name the certifier; a certifier may only revoke its own.
    refused(
        w.reg.when(RevokeCertification(programme_id=pid), w.gov_admin),
        "certification.certifier_required",
        "invalid",
    )
    refused(
        w.reg.when(RevokeCertification(programme_id=pid, certifier_id=w.pd1), w.certifier_admin),
        "certification.not_own",
        "forbidden",
    )
    refused(
        w.reg.when(RevokeCertification(programme_id=pid, certifier_id=w.pd1), w.gov_admin),
        "certification.not_certified",
        "conflict",
    )
    out = ok(
        w.reg.when(RevokeCertification(programme_id=pid, certifier_id=w.certifier), w.gov_admin)
    )
    revoked = out.payloads[0]
    assert isinstance(revoked, CertificationRevoked)
    assert revoked.reason is RevokeReason.BY_USER
    refused(
        w.reg.when(RevokeCertification(programme_id=pid), w.certifier_admin),
        "certification.not_certified",
        "conflict",
    )
    # Certified again after a revocation.
    ok(w.reg.when(CertifyProgramme(programme_id=pid), w.certifier_admin))
    ok(w.reg.when(RevokeCertification(programme_id=pid), w.certifier_admin))


@pytest.mark.parametrize("who", ["pd1_admin", "gov_admin", "ministry_admin"])
def test_only_certifiers_certify(who: str) -> None:
    w = world()
    pid = new_programme(w)
    out = w.reg.when(CertifyProgramme(programme_id=pid), getattr(w, who))
    assert not out.accepted
    assert out.kind == "forbidden"


def test_certify_needs_a_live_programme_stage() -> None:
    w = world()
    pid = new_programme(w)
    ok(w.reg.when(ApproveProgramme(programme_id=pid), w.gov_admin))
    ok(w.reg.when(CertifyProgramme(programme_id=pid), w.certifier_admin))  # Approved is fine
    rejected = new_programme(w, 2)
    ok(w.reg.when(RejectProgramme(programme_id=rejected, comment="x"), w.gov_admin))
    refused(
        w.reg.when(CertifyProgramme(programme_id=rejected), w.certifier_admin),
        "programme.not_certifiable",
        "conflict",
    )


def test_suspending_a_certifier_revokes_its_certifications() -> None:
    w = world()
    first = new_programme(w, 1)
    second = authorised_programme(w, 2)
    ok(w.reg.when(CertifyProgramme(programme_id=second), w.certifier_admin))
    ok(w.reg.when(CertifyProgramme(programme_id=first), w.certifier_admin))
    out = ok(w.reg.when(SuspendOrganisation(company_id=w.certifier), w.gov_admin))
    assert out.types == ["OrganisationSuspended", "CertificationRevoked", "CertificationRevoked"]
    assert [p.programme_id for p in out.payloads[1:]] == [first, second]  # type: ignore[attr-defined]
    assert {p.reason for p in out.payloads[1:]} == {RevokeReason.ORGANISATION_SUSPENDED}  # type: ignore[attr-defined]
    assert all(not p.certifiers for p in w.reg.state.programmes.values())
    refused(
        w.reg.when(CertifyProgramme(programme_id=first), w.certifier_admin),
        "organisation.not_active",
        "forbidden",
    )

"""Deciding a programme's lifecycle after creation: approve, authorise (reserving its serial
range), reject, issue credits, certify and revoke (domain.md 5.1, 6.2, 6.3, 6.7)."""

from __future__ import annotations

from datetime import datetime

from command_service.domain.errors import Conflict, Forbidden, Invalid, NotFound
from command_service.domain.events import NewEvent
from command_service.domain.events import programme_id as programme_aggregate
from command_service.domain.ledger import holder_account, new_block_id, programme_year, serial_for
from command_service.domain.permissions import Action, Principal, require
from command_service.domain.state import Organisation, Programme, RegistryState
from libs.serial_numbers import (
    UnitRange,
    allocate_largest_remainder,
    split_consecutive,
    take_next,
)
from schemas.commands.credits import (
    ApproveProgramme,
    AuthoriseProgramme,
    CertifyProgramme,
    IssueCredits,
    RejectProgramme,
    RevokeCertification,
)
from schemas.enums import CompanyRole, CompanyState, ProgrammeStage, RevokeReason
from schemas.events.credits import (
    CertificationRevoked,
    CreditsIssued,
    IssuedBlock,
    ProgrammeApproved,
    ProgrammeAuthorised,
    ProgrammeCertified,
    ProgrammeRejected,
)

GOVERNMENT_LIKE = frozenset({CompanyRole.GOVERNMENT, CompanyRole.MINISTRY})
CERTIFIABLE = frozenset(
    {ProgrammeStage.AWAITING_AUTHORIZATION, ProgrammeStage.APPROVED, ProgrammeStage.AUTHORISED}
)


# ---- shared checks ------------------------------------------------------------------------


def get_programme(state: RegistryState, pid: str) -> Programme:
    programme = state.programmes.get(pid)
    if programme is None:
        raise NotFound("programme.not_found", f"There is no programme {pid}.", programme_id=pid)
    return programme


def get_organisation(state: RegistryState, company_id: int) -> Organisation:
    org = state.organisations.get(company_id)
    if org is None:
        raise NotFound(
            "organisation.not_found",
            f"There is no organisation {company_id}.",
            company_id=company_id,
        )
    return org


def acting_company(state: RegistryState, principal: Principal) -> int:
    """The organisation a principal acts for (the registry itself acts as the Government)."""
    if principal.company is None:
        return state.government_company_id
    return principal.company.company_id


def is_government_like(principal: Principal) -> bool:
    return principal.kind == "system" or principal.company_role in GOVERNMENT_LIKE


def require_scope(principal: Principal, programme: Programme) -> None:
    """A Ministry acts only on programmes of its sectoral scopes (domain.md 4.2)."""
    company = principal.company
    if (
        company is not None
        and company.role is CompanyRole.MINISTRY
        and programme.sectoral_scope not in company.sectoral_scopes
    ):
        raise Forbidden(
            "programme.outside_ministry_scope",
            f"This ministry does not cover sectoral scope {programme.sectoral_scope} of "
            f"programme {programme.programme_id}.",
            sectoral_scope=programme.sectoral_scope,
        )


def require_stage(programme: Programme, allowed: frozenset[ProgrammeStage], code: str) -> None:
    if programme.stage not in allowed:
        wanted = " or ".join(sorted(s.value for s in allowed))
        raise Conflict(
            code,
            f"Programme {programme.programme_id} is {programme.stage.value}; this needs it "
            f"to be {wanted}.",
            programme_id=programme.programme_id,
            stage=programme.stage.value,
        )


def require_authorised(programme: Programme) -> None:
    require_stage(programme, frozenset({ProgrammeStage.AUTHORISED}), "programme.not_authorised")


def decided_programme(state: RegistryState, principal: Principal, pid: str) -> Programme:
    """The programme a Government/Ministry decision is about, after the common checks."""
    require(principal, Action.DECIDE_PROGRAMME)
    programme = get_programme(state, pid)
    require_scope(principal, programme)
    return programme


# ---- issuance ---------------------------------------------------------------------------


def vintage_of(programme: Programme, given: int | None, now: datetime) -> int:
    vintage = now.year if given is None else given
    first = programme_year(programme)
    if not first <= vintage <= now.year:
        raise Invalid(
            "credits.invalid_vintage",
            f"Vintage {vintage} must lie between the programme's first year {first} and the "
            f"current year {now.year}.",
            vintage=vintage,
            first_year=first,
            current_year=now.year,
        )
    return vintage


def issuance(
    state: RegistryState,
    programme: Programme,
    first_unit: int,
    issued_before: int,
    amount: int,
    vintage: int,
    comment: str | None,
) -> NewEvent:
    """New blocks for units ``first_unit..first_unit+amount-1``, split among the proponents
    by their percentages (largest remainder), lowest units to the first proponent."""
    parts = allocate_largest_remainder(amount, programme.percentages)
    ranges = split_consecutive(UnitRange(first_unit, first_unit + amount - 1), parts)
    blocks: list[IssuedBlock] = []
    for company_id, r in zip(programme.proponents, ranges, strict=True):
        if r is None:
            continue
        blocks.append(
            IssuedBlock(
                block_id=new_block_id(programme.programme_id, r.start),
                start=r.start,
                end=r.end,
                serial=serial_for(state, programme, r.start, r.end),
                company_id=company_id,
                account=holder_account(state, company_id, None),
                frozen=state.organisations[company_id].state is CompanyState.SUSPENDED,
            )
        )
    return NewEvent(
        CreditsIssued(
            programme_id=programme.programme_id,
            vintage=vintage,
            amount=amount,
            issued_total=issued_before + amount,
            blocks=blocks,
            comment=comment,
        ),
        programme_aggregate(programme.programme_id),
    )


def _exceeds(programme: Programme, remaining: int, requested: int) -> Conflict:
    return Conflict(
        "programme.issue_exceeds_estimate",
        f"Programme {programme.programme_id} can issue at most {remaining} more credits "
        f"(estimate {programme.credit_est}); {requested} were asked for.",
        remaining=remaining,
        requested=requested,
        credit_est=programme.credit_est,
    )


# ---- deciders ----------------------------------------------------------------------------


def approve_programme(
    state: RegistryState, principal: Principal, cmd: ApproveProgramme, now: datetime
) -> list[NewEvent]:
    p = decided_programme(state, principal, cmd.programme_id)
    require_stage(
        p,
        frozenset({ProgrammeStage.AWAITING_AUTHORIZATION}),
        "programme.not_awaiting_authorisation",
    )
    return [
        NewEvent(
            ProgrammeApproved(programme_id=p.programme_id, comment=cmd.comment),
            programme_aggregate(p.programme_id),
        )
    ]


def authorise_programme(
    state: RegistryState, principal: Principal, cmd: AuthoriseProgramme, now: datetime
) -> list[NewEvent]:
    p = decided_programme(state, principal, cmd.programme_id)
    require_stage(p, frozenset({ProgrammeStage.APPROVED}), "programme.not_approved")
    if cmd.issue_amount is not None and cmd.issue_amount > p.credit_est:
        raise _exceeds(p, p.credit_est, cmd.issue_amount)
    vintage = vintage_of(p, cmd.vintage, now) if cmd.issue_amount else None
    reserved = take_next(state.serial_counter, p.credit_est)
    events = [
        NewEvent(
            ProgrammeAuthorised(
                programme_id=p.programme_id,
                serial_no=serial_for(state, p, reserved.start, reserved.end),
                range_start=reserved.start,
                range_end=reserved.end,
                comment=cmd.comment,
            ),
            programme_aggregate(p.programme_id),
        )
    ]
    if cmd.issue_amount is not None and vintage is not None:
        events.append(issuance(state, p, reserved.start, 0, cmd.issue_amount, vintage, None))
    return events


def reject_programme(
    state: RegistryState, principal: Principal, cmd: RejectProgramme, now: datetime
) -> list[NewEvent]:
    p = decided_programme(state, principal, cmd.programme_id)
    if p.stage is ProgrammeStage.REJECTED:
        raise Conflict(
            "programme.already_rejected",
            f"Programme {p.programme_id} is already rejected.",
            programme_id=p.programme_id,
        )
    require_stage(
        p,
        frozenset({ProgrammeStage.AWAITING_AUTHORIZATION, ProgrammeStage.APPROVED}),
        "programme.not_rejectable",
    )
    return [
        NewEvent(
            ProgrammeRejected(
                programme_id=p.programme_id, previous_stage=p.stage, comment=cmd.comment
            ),
            programme_aggregate(p.programme_id),
        )
    ]


def issue_credits(
    state: RegistryState, principal: Principal, cmd: IssueCredits, now: datetime
) -> list[NewEvent]:
    p = decided_programme(state, principal, cmd.programme_id)
    require_authorised(p)
    remaining = p.credit_est - p.credit_issued
    if remaining == 0:
        raise Conflict(
            "programme.fully_issued",
            f"All {p.credit_est} estimated credits of programme {p.programme_id} are issued.",
            credit_est=p.credit_est,
        )
    amount = remaining if cmd.amount is None else cmd.amount
    if amount > remaining:
        raise _exceeds(p, remaining, amount)
    vintage = vintage_of(p, cmd.vintage, now)
    first = p.range_start + p.credit_issued
    return [issuance(state, p, first, p.credit_issued, amount, vintage, cmd.comment)]


def certify_programme(
    state: RegistryState, principal: Principal, cmd: CertifyProgramme, now: datetime
) -> list[NewEvent]:
    require(principal, Action.CERTIFY_PROGRAMME)
    if principal.company is None or principal.company.role is not CompanyRole.CERTIFIER:
        raise Forbidden(
            "certification.certifiers_only", "Only a certifier's users can certify programmes."
        )
    p = get_programme(state, cmd.programme_id)
    require_stage(p, CERTIFIABLE, "programme.not_certifiable")
    certifier = principal.company.company_id
    if certifier in p.certifiers:
        raise Conflict(
            "certification.already_certified",
            f"Your organisation already certified programme {p.programme_id}.",
            certifier_id=certifier,
        )
    return [
        NewEvent(
            ProgrammeCertified(
                programme_id=p.programme_id, certifier_id=certifier, comment=cmd.comment
            ),
            programme_aggregate(p.programme_id),
        )
    ]


def revoke_certification(
    state: RegistryState, principal: Principal, cmd: RevokeCertification, now: datetime
) -> list[NewEvent]:
    require(principal, Action.REVOKE_CERTIFICATION)
    p = get_programme(state, cmd.programme_id)
    if principal.company_role is CompanyRole.CERTIFIER and principal.company is not None:
        certifier = principal.company.company_id
        if cmd.certifier_id not in (None, certifier):
            raise Forbidden(
                "certification.not_own",
                "A certifier can only revoke its own certification.",
                certifier_id=cmd.certifier_id,
            )
    elif is_government_like(principal):
        if cmd.certifier_id is None:
            raise Invalid(
                "certification.certifier_required",
                "Name the certifier whose certification is to be revoked.",
            )
        require_scope(principal, p)
        certifier = cmd.certifier_id
    else:  # pragma: no cover - the permission table lets no one else through
        raise Forbidden("auth.forbidden", "You are not allowed to revoke certifications.")
    if certifier not in p.certifiers:
        raise Conflict(
            "certification.not_certified",
            f"Organisation {certifier} has not certified programme {p.programme_id}.",
            certifier_id=certifier,
        )
    return [
        NewEvent(
            CertificationRevoked(
                programme_id=p.programme_id,
                certifier_id=certifier,
                reason=RevokeReason.BY_USER,
                comment=cmd.comment,
            ),
            programme_aggregate(p.programme_id),
        )
    ]

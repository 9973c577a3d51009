"""Self-registration of organisations and its decision by the Government (domain.md 12.1).

A ProgrammeDeveloper or Certifier registers itself without signing in: the organisation is
Pending and its first Admin pending (neither may sign in or act). A Government admin (or
Root) approves it (Pending or Rejected -> Active, its pending users become active) or
rejects it (Pending -> Rejected). Its tax id, payment id and e-mails stay taken meanwhile,
so a rejected organisation is approved later rather than registered twice.
"""

from __future__ import annotations

from datetime import datetime

from command_service.domain.errors import Conflict, Invalid
from command_service.domain.events import NewEvent, organisation_id, user_id
from command_service.domain.lifecycle import get_organisation
from command_service.domain.organisations import NEEDS_TAX_ID, check_unique, new_organisation
from command_service.domain.permissions import Action, Principal, require
from command_service.domain.state import Organisation, RegistryState
from schemas.commands.organisation import (
    ApproveOrganisation,
    RejectOrganisation,
    SelfRegisterOrganisation,
)
from schemas.enums import CompanyState
from schemas.events.organisation import OrganisationApproved, OrganisationRejected, UserActivated

APPROVABLE = frozenset({CompanyState.PENDING, CompanyState.REJECTED})


def self_register_organisation(
    state: RegistryState, principal: Principal, cmd: SelfRegisterOrganisation, now: datetime
) -> list[NewEvent]:
    require(principal, Action.SELF_REGISTER_ORGANISATION)
    if not state.initialised:
        raise Conflict("registry.not_initialised", "The registry is not initialised yet.")
    if cmd.role not in NEEDS_TAX_ID:
        raise Invalid(
            "organisation.self_registration_role",
            "Only a ProgrammeDeveloper or a Certifier can register itself; other "
            "organisations are created by the Government.",
            role=cmd.role.value,
        )
    check_unique(state, cmd)
    return new_organisation(state, cmd, CompanyState.PENDING, None)


def _registration(state: RegistryState, principal: Principal, company_id: int) -> Organisation:
    require(principal, Action.DECIDE_REGISTRATION)
    return get_organisation(state, company_id)


def approve_organisation(
    state: RegistryState, principal: Principal, cmd: ApproveOrganisation, now: datetime
) -> list[NewEvent]:
    org = _registration(state, principal, cmd.company_id)
    if org.state not in APPROVABLE:
        raise Conflict(
            "organisation.not_pending",
            f"{org.name} is {org.state.value}; only a Pending or Rejected registration can "
            "be approved.",
            state=org.state.value,
        )
    cid = org.company_id
    pending = sorted(
        u.user_id
        for u in state.users.values()
        if u.company_id == cid and u.pending and not u.deleted
    )
    return [
        NewEvent(OrganisationApproved(company_id=cid, remarks=cmd.remarks), organisation_id(cid)),
        *(NewEvent(UserActivated(user_id=uid, company_id=cid), user_id(uid)) for uid in pending),
    ]


def reject_organisation(
    state: RegistryState, principal: Principal, cmd: RejectOrganisation, now: datetime
) -> list[NewEvent]:
    org = _registration(state, principal, cmd.company_id)
    if org.state is not CompanyState.PENDING:
        raise Conflict(
            "organisation.not_pending",
            f"{org.name} is {org.state.value}; only a Pending registration can be rejected.",
            state=org.state.value,
        )
    cid = org.company_id
    return [
        NewEvent(OrganisationRejected(company_id=cid, remarks=cmd.remarks), organisation_id(cid))
    ]

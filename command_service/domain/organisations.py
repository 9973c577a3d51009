"""Deciding organisation commands."""

from __future__ import annotations

from datetime import datetime

from command_service.domain.errors import Conflict, Forbidden, Invalid
from command_service.domain.events import NewEvent, organisation_id, user_id
from command_service.domain.permissions import Action, Principal, require
from command_service.domain.state import RegistryState
from schemas.commands.organisation import RegisterOrganisation, SelfRegisterOrganisation
from schemas.enums import CompanyRole, CompanyState, UserRole
from schemas.events.organisation import OrganisationRegistered, UserCreated

NEEDS_TAX_ID = frozenset({CompanyRole.PROGRAMME_DEVELOPER, CompanyRole.CERTIFIER})


def check_unique(
    state: RegistryState, cmd: RegisterOrganisation | SelfRegisterOrganisation
) -> None:
    if cmd.tax_id is not None and cmd.tax_id.lower() in state.tax_ids:
        raise Conflict(
            "organisation.tax_id_taken",
            f"An organisation with tax id {cmd.tax_id} already exists.",
            tax_id=cmd.tax_id,
        )
    if cmd.payment_id is not None and cmd.payment_id.lower() in state.payment_ids:
        raise Conflict(
            "organisation.payment_id_taken",
            f"An organisation with payment id {cmd.payment_id} already exists.",
            payment_id=cmd.payment_id,
        )
    if cmd.email in state.org_emails:
        raise Conflict(
            "organisation.email_taken",
            f"An organisation with e-mail {cmd.email} already exists.",
            email=cmd.email,
        )
    if cmd.admin.email in state.user_emails:
        raise Conflict(
            "user.email_taken",
            f"A user with e-mail {cmd.admin.email} already exists.",
            email=cmd.admin.email,
        )


def register_organisation(
    state: RegistryState, principal: Principal, cmd: RegisterOrganisation, now: datetime
) -> list[NewEvent]:
    require(principal, Action.REGISTER_ORGANISATION)
    if not state.initialised:
        raise Conflict("registry.not_initialised", "The registry is not initialised yet.")
    if cmd.role is CompanyRole.GOVERNMENT:
        raise Conflict(
            "organisation.government_exists",
            "The registry has exactly one Government organisation, created at setup.",
        )
    if cmd.role is CompanyRole.MINISTRY:
        if principal.company_role is CompanyRole.MINISTRY:
            raise Forbidden(
                "organisation.ministry_creates_ministry",
                "A Ministry cannot create another Ministry.",
            )
        if not cmd.sectoral_scopes or cmd.minister_name is None:
            raise Invalid(
                "organisation.ministry_fields_required",
                "A Ministry needs its sectoral scopes and the name of its minister.",
            )
    if cmd.role in NEEDS_TAX_ID and (cmd.tax_id is None or cmd.payment_id is None):
        raise Invalid(
            "organisation.tax_id_required",
            f"A {cmd.role.value} needs a tax id and a payment id.",
        )
    check_unique(state, cmd)
    return new_organisation(state, cmd, CompanyState.ACTIVE, cmd.minister_name)


def new_organisation(
    state: RegistryState,
    cmd: RegisterOrganisation | SelfRegisterOrganisation,
    org_state: CompanyState,
    minister_name: str | None,
) -> list[NewEvent]:
    """The organisation and its first Admin (pending while the organisation is)."""
    company_id = state.next_company_id
    admin_id = state.next_user_id
    return [
        NewEvent(
            OrganisationRegistered(
                company_id=company_id,
                name=cmd.name,
                role=cmd.role,
                state=org_state,
                tax_id=cmd.tax_id,
                payment_id=cmd.payment_id,
                email=cmd.email,
                phone=cmd.phone,
                website=cmd.website,
                address=cmd.address,
                country_code=state.country_code,
                sectoral_scopes=sorted(set(cmd.sectoral_scopes), key=int),
                minister_name=minister_name,
            ),
            organisation_id(company_id),
        ),
        NewEvent(
            UserCreated(
                user_id=admin_id,
                company_id=company_id,
                email=cmd.admin.email,
                name=cmd.admin.name,
                role=UserRole.ADMIN,
                phone=cmd.admin.phone,
                pending=org_state is CompanyState.PENDING,
            ),
            user_id(admin_id),
        ),
    ]

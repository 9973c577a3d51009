"""Deciding the one-time registry setup."""

from __future__ import annotations

from datetime import datetime

from command_service.domain.errors import Conflict, Forbidden
from command_service.domain.events import (
    REGISTRY_AGGREGATE,
    NewEvent,
    organisation_id,
    user_id,
)
from command_service.domain.permissions import Principal
from command_service.domain.state import RegistryState
from schemas.commands.registry import InitialiseRegistry
from schemas.enums import CompanyRole, CompanyState, UserRole
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.registry import RegistryInitialised


def initialise_registry(
    state: RegistryState, principal: Principal, cmd: InitialiseRegistry, now: datetime
) -> list[NewEvent]:
    if principal.kind != "system":
        raise Forbidden("auth.forbidden", "Only the operator can initialise the registry.")
    if state.initialised:
        raise Conflict(
            "registry.already_initialised",
            f"The registry is already initialised for {state.country_name}.",
            country_code=state.country_code,
        )
    gov_id = state.next_company_id
    root_id = state.next_user_id
    return [
        NewEvent(
            RegistryInitialised(
                country_code=cmd.country_code,
                country_name=cmd.country_name,
                credit_unit=cmd.credit_unit,
                government_company_id=gov_id,
                root_user_id=root_id,
            ),
            REGISTRY_AGGREGATE,
        ),
        NewEvent(
            OrganisationRegistered(
                company_id=gov_id,
                name=cmd.government_name,
                role=CompanyRole.GOVERNMENT,
                state=CompanyState.ACTIVE,
                tax_id=f"00000{cmd.country_code}",
                payment_id=None,
                email=cmd.government_email,
                phone=None,
                website=None,
                address=None,
                country_code=cmd.country_code,
                sectoral_scopes=[],
                minister_name=None,
            ),
            organisation_id(gov_id),
        ),
        NewEvent(
            UserCreated(
                user_id=root_id,
                company_id=gov_id,
                email=cmd.root_email,
                name=cmd.root_name,
                role=UserRole.ROOT,
                phone=None,
                pending=False,
            ),
            user_id(root_id),
        ),
    ]

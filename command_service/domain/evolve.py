"""Folding events into the registry state. One function per event type; no decisions here.

``evolve`` must accept every event the log can hold, in order, and never refuse one: the
decision was already made when the event was written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from command_service.domain.credit_evolve import CREDIT_HANDLERS
from command_service.domain.identity_evolve import IDENTITY_HANDLERS
from command_service.domain.state import Organisation, Programme, RegistryState, User
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.programme import ProgrammeCreated
from schemas.events.registry import RegistryInitialised


def _initialised(state: RegistryState, e: RegistryInitialised) -> None:
    state.initialised = True
    state.country_code = e.country_code
    state.country_name = e.country_name
    state.credit_unit = e.credit_unit
    state.government_company_id = e.government_company_id


def _organisation(state: RegistryState, e: OrganisationRegistered) -> None:
    state.organisations[e.company_id] = Organisation(
        company_id=e.company_id,
        name=e.name,
        role=e.role,
        state=e.state,
        tax_id=e.tax_id,
        payment_id=e.payment_id,
        email=e.email,
        country_code=e.country_code,
        sectoral_scopes=[s.value for s in e.sectoral_scopes],
        phone=e.phone,
        website=e.website,
        address=e.address,
        minister_name=e.minister_name,
    )
    state.next_company_id = max(state.next_company_id, e.company_id + 1)
    if e.tax_id is not None:
        state.tax_ids[e.tax_id.lower()] = e.company_id
    if e.payment_id is not None:
        state.payment_ids[e.payment_id.lower()] = e.company_id
    state.org_emails[e.email] = e.company_id


def _user(state: RegistryState, e: UserCreated) -> None:
    state.users[e.user_id] = User(
        user_id=e.user_id,
        company_id=e.company_id,
        email=e.email,
        name=e.name,
        role=e.role,
        pending=e.pending,
        phone=e.phone,
    )
    state.next_user_id = max(state.next_user_id, e.user_id + 1)
    state.user_emails[e.email] = e.user_id


def _programme(state: RegistryState, e: ProgrammeCreated) -> None:
    state.programmes[e.programme_id] = Programme(
        programme_id=e.programme_id,
        title=e.title,
        external_id=e.external_id,
        sector=e.sector.value,
        sectoral_scope=e.sectoral_scope.value,
        stage=e.stage,
        credit_est=e.credit_est,
        start_time=e.start_time,
        proponents=list(e.proponent_company_ids),
        percentages=list(e.proponent_percentages),
        eia_number=e.environmental_assessment_registration_no,
        end_time=e.end_time,
    )
    state.next_programme_id = max(state.next_programme_id, int(e.programme_id) + 1)
    state.external_ids[e.external_id] = e.programme_id
    state.eia_numbers[e.environmental_assessment_registration_no] = e.programme_id


_HANDLERS: dict[type[EventPayload], Callable[[RegistryState, Any], None]] = {
    RegistryInitialised: _initialised,
    OrganisationRegistered: _organisation,
    UserCreated: _user,
    ProgrammeCreated: _programme,
    **CREDIT_HANDLERS,
    **IDENTITY_HANDLERS,
}


def evolve(state: RegistryState, event: EventPayload) -> None:
    _HANDLERS[type(event)](state, event)

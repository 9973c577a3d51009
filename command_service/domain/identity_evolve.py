"""Folding registration decisions, profile updates and deletions into the state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from command_service.domain.state import RegistryState
from schemas.enums import CompanyState
from schemas.events.base import EventPayload
from schemas.events.organisation import (
    OrganisationApproved,
    OrganisationRejected,
    OrganisationUpdated,
    UserActivated,
    UserDeleted,
    UserUpdated,
)


def _approved(state: RegistryState, e: OrganisationApproved) -> None:
    state.organisations[e.company_id].state = CompanyState.ACTIVE


def _rejected(state: RegistryState, e: OrganisationRejected) -> None:
    state.organisations[e.company_id].state = CompanyState.REJECTED


def _reindex(index: dict[str, int], old: str | None, new: str | None, owner: int) -> None:
    if old is not None and index.get(old) == owner:
        del index[old]
    if new is not None:
        index[new] = owner


def _organisation_updated(state: RegistryState, e: OrganisationUpdated) -> None:
    org = state.organisations[e.company_id]
    _reindex(state.org_emails, org.email, e.email, org.company_id)
    old_payment = org.payment_id.lower() if org.payment_id else None
    new_payment = e.payment_id.lower() if e.payment_id else None
    _reindex(state.payment_ids, old_payment, new_payment, org.company_id)
    org.name = e.name
    org.email = e.email
    org.phone = e.phone
    org.website = e.website
    org.address = e.address
    org.payment_id = e.payment_id
    org.sectoral_scopes = [s.value for s in e.sectoral_scopes]
    org.minister_name = e.minister_name


def _user_activated(state: RegistryState, e: UserActivated) -> None:
    state.users[e.user_id].pending = False


def _user_updated(state: RegistryState, e: UserUpdated) -> None:
    user = state.users[e.user_id]
    user.name = e.name
    user.phone = e.phone
    user.role = e.role


def _user_deleted(state: RegistryState, e: UserDeleted) -> None:
    user = state.users[e.user_id]
    user.deleted = True
    if state.user_emails.get(user.email) == user.user_id:
        del state.user_emails[user.email]  # the e-mail is free for a new user


IDENTITY_HANDLERS: dict[type[EventPayload], Callable[[RegistryState, Any], None]] = {
    OrganisationApproved: _approved,
    OrganisationRejected: _rejected,
    OrganisationUpdated: _organisation_updated,
    UserActivated: _user_activated,
    UserUpdated: _user_updated,
    UserDeleted: _user_deleted,
}

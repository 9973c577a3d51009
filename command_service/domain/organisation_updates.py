"""Updating one's own organisation (domain.md 12.1): every Admin updates its own, nobody
another's (the Government and Root included). The tax id never changes; payment id and
e-mail stay unique across organisations."""

from __future__ import annotations

from datetime import datetime

from command_service.domain.errors import Conflict, Invalid
from command_service.domain.events import NewEvent, organisation_id
from command_service.domain.lifecycle import get_organisation
from command_service.domain.permissions import Action, Principal, require, require_reach
from command_service.domain.state import Organisation, RegistryState
from schemas.commands.organisation import UpdateOrganisation
from schemas.enums import CompanyRole, SectoralScope
from schemas.events.organisation import OrganisationUpdated


def _taken(index: dict[str, int], key: str | None, company_id: int) -> bool:
    """Whether another organisation already holds this unique value."""
    return key is not None and index.get(key, company_id) != company_id


def _check(state: RegistryState, org: Organisation, cmd: UpdateOrganisation) -> None:
    if cmd.tax_id is not None and cmd.tax_id != org.tax_id:
        raise Invalid(
            "organisation.tax_id_immutable",
            "An organisation's tax id cannot be changed.",
            tax_id=org.tax_id,
        )
    if _taken(state.org_emails, cmd.email, org.company_id):
        raise Conflict(
            "organisation.email_taken",
            f"An organisation with e-mail {cmd.email} already exists.",
            email=cmd.email,
        )
    payment_key = cmd.payment_id.lower() if cmd.payment_id else None
    if _taken(state.payment_ids, payment_key, org.company_id):
        raise Conflict(
            "organisation.payment_id_taken",
            f"An organisation with payment id {cmd.payment_id} already exists.",
            payment_id=cmd.payment_id,
        )
    if org.role is CompanyRole.MINISTRY and cmd.sectoral_scopes == []:
        raise Invalid(
            "organisation.ministry_fields_required",
            "A Ministry needs its sectoral scopes and the name of its minister.",
        )
    overlap = {f for f in cmd.clear if getattr(cmd, f) is not None}
    if overlap:
        raise Invalid(
            "organisation.clear_and_set",
            "A field cannot be both set and cleared.",
            fields=sorted(overlap),
        )


def update_organisation(
    state: RegistryState, principal: Principal, cmd: UpdateOrganisation, now: datetime
) -> list[NewEvent]:
    require(principal, Action.UPDATE_ORGANISATION)
    org = get_organisation(state, cmd.company_id)
    require_reach(principal, Action.UPDATE_ORGANISATION, org.company_id)
    _check(state, org, cmd)
    cleared = set(cmd.clear)

    def pick(field: str, current: str | None) -> str | None:
        if field in cleared:
            return None
        value: str | None = getattr(cmd, field)
        return current if value is None else value

    scopes = (
        sorted(set(cmd.sectoral_scopes), key=int)
        if cmd.sectoral_scopes is not None
        else [SectoralScope(s) for s in org.sectoral_scopes]
    )
    payment_id = cmd.payment_id if cmd.payment_id is not None else org.payment_id
    updated = OrganisationUpdated(
        company_id=org.company_id,
        name=cmd.name or org.name,
        email=cmd.email or org.email,
        phone=pick("phone", org.phone),
        website=pick("website", org.website),
        address=pick("address", org.address),
        payment_id=payment_id,
        sectoral_scopes=scopes,
        minister_name=cmd.minister_name or org.minister_name,
    )
    unchanged = (
        updated.name == org.name
        and updated.email == org.email
        and (updated.phone, updated.website, updated.address)
        == (org.phone, org.website, org.address)
        and updated.payment_id == org.payment_id
        and [s.value for s in updated.sectoral_scopes] == org.sectoral_scopes
        and updated.minister_name == org.minister_name
    )
    if unchanged:
        return []  # a PATCH that changes nothing writes nothing
    return [NewEvent(updated, organisation_id(org.company_id))]

"""Suspending and activating organisations, and the registry settings that govern credits
(domain.md 6.6, 12.1)."""

from __future__ import annotations

from datetime import datetime

from command_service.domain.errors import Conflict, Forbidden
from command_service.domain.events import (
    SETTINGS_AGGREGATE,
    NewEvent,
    organisation_id,
    programme_id,
)
from command_service.domain.ledger import cancellation, company_account
from command_service.domain.lifecycle import get_organisation
from command_service.domain.permissions import Action, Principal, require
from command_service.domain.state import Organisation, RegistryState
from schemas.commands.credits import (
    ActivateOrganisation,
    SetOmgePercentage,
    SetTransferFreeze,
    SuspendOrganisation,
)
from schemas.enums import CancelReason, CompanyRole, CompanyState, RevokeReason
from schemas.envelope import SYSTEM_ACTOR
from schemas.events.credits import (
    CertificationRevoked,
    CreditsFrozen,
    CreditsUnfrozen,
    OmgePercentageSet,
    TransferFreezeSet,
)
from schemas.events.organisation import OrganisationActivated, OrganisationSuspended


def _target(state: RegistryState, principal: Principal, company_id: int) -> Organisation:
    require(principal, Action.SUSPEND_ORGANISATION)
    org = get_organisation(state, company_id)
    if org.role is CompanyRole.GOVERNMENT:
        raise Forbidden(
            "organisation.cannot_suspend_government",
            "The Government organisation can never be suspended.",
        )
    if principal.company is not None and principal.company.company_id == company_id:
        raise Forbidden(
            "organisation.cannot_suspend_own",
            "You cannot suspend or activate your own organisation.",
        )
    return org


def _blocks_of(state: RegistryState, account: str, frozen: bool) -> list[str]:
    """Ids of the account's blocks in the given frozen state, by programme then serial."""
    by_programme = state.holdings.get(account, {})
    return [
        bid
        for pid in sorted(by_programme)
        for bid in by_programme[pid]
        if state.blocks[bid].frozen is frozen
    ]


def suspend_organisation(
    state: RegistryState, principal: Principal, cmd: SuspendOrganisation, now: datetime
) -> list[NewEvent]:
    org = _target(state, principal, cmd.company_id)
    if org.state is CompanyState.SUSPENDED:
        raise Conflict(
            "organisation.already_suspended",
            f"{org.name} is already suspended.",
            company_id=org.company_id,
        )
    if org.state is not CompanyState.ACTIVE:
        raise Conflict(
            "organisation.not_suspendable",
            f"{org.name} is {org.state.value}; only an active organisation can be suspended.",
            state=org.state.value,
        )
    cid = org.company_id
    events = [
        NewEvent(OrganisationSuspended(company_id=cid, remarks=cmd.remarks), organisation_id(cid))
    ]
    account = company_account(cid)
    blocks = _blocks_of(state, account, frozen=False)
    if blocks:
        units = sum(state.blocks[b].size for b in blocks)
        events.append(
            NewEvent(
                CreditsFrozen(company_id=cid, account=account, block_ids=blocks, units=units),
                organisation_id(cid),
            )
        )
    pending = sorted(
        rid
        for ids in state.pending_requests.values()
        for rid in ids
        if cid
        in (
            state.credit_requests[rid].from_company_id,
            state.credit_requests[rid].to_company_id,
            state.credit_requests[rid].initiator_company_id,
        )
    )
    events += [cancellation(rid, CancelReason.ORGANISATION_SUSPENDED, state) for rid in pending]
    if org.role is CompanyRole.CERTIFIER:
        events += [
            NewEvent(
                CertificationRevoked(
                    programme_id=pid,
                    certifier_id=cid,
                    reason=RevokeReason.ORGANISATION_SUSPENDED,
                ),
                programme_id(pid),
                actor=SYSTEM_ACTOR,
            )
            for pid in sorted(state.programmes)
            if cid in state.programmes[pid].certifiers
        ]
    return events


def activate_organisation(
    state: RegistryState, principal: Principal, cmd: ActivateOrganisation, now: datetime
) -> list[NewEvent]:
    org = _target(state, principal, cmd.company_id)
    if org.state is not CompanyState.SUSPENDED:
        raise Conflict(
            "organisation.not_suspended",
            f"{org.name} is {org.state.value}, not suspended.",
            state=org.state.value,
        )
    cid = org.company_id
    events = [
        NewEvent(OrganisationActivated(company_id=cid, remarks=cmd.remarks), organisation_id(cid))
    ]
    account = company_account(cid)
    blocks = _blocks_of(state, account, frozen=True)
    if blocks:
        units = sum(state.blocks[b].size for b in blocks)
        events.append(
            NewEvent(
                CreditsUnfrozen(company_id=cid, account=account, block_ids=blocks, units=units),
                organisation_id(cid),
            )
        )
    return events


def _settings(state: RegistryState, principal: Principal) -> None:
    require(principal, Action.CHANGE_SETTINGS)
    if not state.initialised:
        raise Conflict("registry.not_initialised", "The registry is not initialised yet.")


def set_transfer_freeze(
    state: RegistryState, principal: Principal, cmd: SetTransferFreeze, now: datetime
) -> list[NewEvent]:
    _settings(state, principal)
    if cmd.frozen == state.transfers_frozen:
        return []  # already so: a PUT changes nothing the second time
    return [NewEvent(TransferFreezeSet(frozen=cmd.frozen), SETTINGS_AGGREGATE)]


def set_omge_percentage(
    state: RegistryState, principal: Principal, cmd: SetOmgePercentage, now: datetime
) -> list[NewEvent]:
    _settings(state, principal)
    if cmd.percentage == state.omge_percentage:
        return []
    return [NewEvent(OmgePercentageSet(percentage=cmd.percentage), SETTINGS_AGGREGATE)]

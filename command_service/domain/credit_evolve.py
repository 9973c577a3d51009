"""Folding the credit domain's events into the registry state (no decisions here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from command_service.domain.ledger import add_pending, apply_moves, hold, remove_pending
from command_service.domain.state import Block, CreditRequest, RegistryState
from schemas.enums import CompanyState, ProgrammeStage, RequestStatus
from schemas.events import credits as ev
from schemas.events.base import EventPayload
from schemas.events.mitigation import MitigationActionAdded
from schemas.events.organisation import OrganisationActivated, OrganisationSuspended


def _approved(state: RegistryState, e: ev.ProgrammeApproved) -> None:
    state.programmes[e.programme_id].stage = ProgrammeStage.APPROVED


def _rejected(state: RegistryState, e: ev.ProgrammeRejected) -> None:
    state.programmes[e.programme_id].stage = ProgrammeStage.REJECTED


def _authorised(state: RegistryState, e: ev.ProgrammeAuthorised) -> None:
    p = state.programmes[e.programme_id]
    p.stage = ProgrammeStage.AUTHORISED
    p.serial_no = e.serial_no
    p.range_start = e.range_start
    p.range_end = e.range_end
    state.serial_counter = max(state.serial_counter, e.range_end)


def _issued(state: RegistryState, e: ev.CreditsIssued) -> None:
    state.programmes[e.programme_id].credit_issued = e.issued_total
    for b in e.blocks:
        block = Block(
            block_id=b.block_id,
            programme_id=e.programme_id,
            start=b.start,
            end=b.end,
            account=b.account,
            vintage=e.vintage,
            frozen=b.frozen,
        )
        state.blocks[block.block_id] = block
        hold(state, block)


def _transfer_requested(state: RegistryState, e: ev.TransferRequested) -> None:
    state.credit_requests[e.request_id] = CreditRequest(
        request_id=e.request_id,
        kind="transfer",
        programme_id=e.programme_id,
        from_company_id=e.from_company_id,
        from_account=e.from_account,
        amount=e.amount,
        initiator_company_id=e.initiator_company_id,
        to_company_id=e.to_company_id,
        to_account=e.to_account,
    )
    state.next_request_id = max(state.next_request_id, e.request_id + 1)
    add_pending(state, e.request_id)


def _retirement_requested(state: RegistryState, e: ev.RetirementRequested) -> None:
    state.credit_requests[e.request_id] = CreditRequest(
        request_id=e.request_id,
        kind="retirement",
        programme_id=e.programme_id,
        from_company_id=e.from_company_id,
        from_account=e.from_account,
        amount=e.amount,
        initiator_company_id=e.initiator_company_id,
        retirement_type=e.retirement_type,
        country=e.country,
        omge_percentage=e.omge_percentage,
    )
    state.next_request_id = max(state.next_request_id, e.request_id + 1)
    add_pending(state, e.request_id)


def _close(state: RegistryState, request_id: int, status: RequestStatus) -> None:
    remove_pending(state, request_id)
    state.credit_requests[request_id].status = status


def _transferred(state: RegistryState, e: ev.CreditsTransferred) -> None:
    apply_moves(state, e.moves)
    _close(state, e.request_id, RequestStatus.APPROVED)


def _retired(state: RegistryState, e: ev.CreditsRetired) -> None:
    apply_moves(state, e.moves)
    _close(state, e.request_id, RequestStatus.RECOGNISED)


def _transfer_rejected(state: RegistryState, e: ev.TransferRejected) -> None:
    _close(state, e.request_id, RequestStatus.REJECTED)


def _retirement_refused(state: RegistryState, e: ev.RetirementRefused) -> None:
    _close(state, e.request_id, RequestStatus.NOT_RECOGNISED)


def _cancelled(state: RegistryState, e: ev.TransferCancelled | ev.RetirementCancelled) -> None:
    _close(state, e.request_id, RequestStatus.CANCELLED)


def _certified(state: RegistryState, e: ev.ProgrammeCertified) -> None:
    state.programmes[e.programme_id].certifiers.append(e.certifier_id)


def _revoked(state: RegistryState, e: ev.CertificationRevoked) -> None:
    state.programmes[e.programme_id].certifiers.remove(e.certifier_id)


def _frozen(state: RegistryState, e: ev.CreditsFrozen) -> None:
    for bid in e.block_ids:
        state.blocks[bid].frozen = True


def _unfrozen(state: RegistryState, e: ev.CreditsUnfrozen) -> None:
    for bid in e.block_ids:
        state.blocks[bid].frozen = False


def _suspended(state: RegistryState, e: OrganisationSuspended) -> None:
    state.organisations[e.company_id].state = CompanyState.SUSPENDED


def _activated(state: RegistryState, e: OrganisationActivated) -> None:
    state.organisations[e.company_id].state = CompanyState.ACTIVE


def _mitigation(state: RegistryState, e: MitigationActionAdded) -> None:
    p = state.programmes[e.programme_id]
    p.mitigation_actions += 1
    p.user_estimated_total += e.user_estimated_credits


def _freeze_set(state: RegistryState, e: ev.TransferFreezeSet) -> None:
    state.transfers_frozen = e.frozen


def _omge_set(state: RegistryState, e: ev.OmgePercentageSet) -> None:
    state.omge_percentage = e.percentage


def _constants(state: RegistryState, e: ev.CalculatorConstantsUpdated) -> None:
    state.calculator_constants.setdefault(e.calculator, []).append(dict(e.constants))


CREDIT_HANDLERS: dict[type[EventPayload], Callable[[RegistryState, Any], None]] = {
    ev.ProgrammeApproved: _approved,
    ev.ProgrammeRejected: _rejected,
    ev.ProgrammeAuthorised: _authorised,
    ev.CreditsIssued: _issued,
    ev.TransferRequested: _transfer_requested,
    ev.CreditsTransferred: _transferred,
    ev.TransferRejected: _transfer_rejected,
    ev.TransferCancelled: _cancelled,
    ev.RetirementRequested: _retirement_requested,
    ev.CreditsRetired: _retired,
    ev.RetirementRefused: _retirement_refused,
    ev.RetirementCancelled: _cancelled,
    ev.ProgrammeCertified: _certified,
    ev.CertificationRevoked: _revoked,
    ev.CreditsFrozen: _frozen,
    ev.CreditsUnfrozen: _unfrozen,
    OrganisationSuspended: _suspended,
    OrganisationActivated: _activated,
    ev.TransferFreezeSet: _freeze_set,
    ev.OmgePercentageSet: _omge_set,
    ev.CalculatorConstantsUpdated: _constants,
    MitigationActionAdded: _mitigation,
}

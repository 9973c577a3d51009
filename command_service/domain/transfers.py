"""Deciding transfers: request, approve, reject, cancel (domain.md 6.4).

A request asked by a user of the sending organisation executes at once; any other request
(the receiver asking, or the Government asking between others) waits for the sender.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from command_service.domain.errors import Conflict, Forbidden, Invalid, NotFound
from command_service.domain.events import NewEvent, retirement_id, transfer_id
from command_service.domain.ledger import (
    free_blocks,
    holder_account,
    low_credit_cancellations,
    plan_moves,
    require_available,
)
from command_service.domain.lifecycle import (
    acting_company,
    get_organisation,
    get_programme,
    is_government_like,
    require_authorised,
    require_scope,
)
from command_service.domain.permissions import Action, Principal, require
from command_service.domain.state import CreditRequest, Organisation, Programme, RegistryState
from schemas.commands.credits import (
    ApproveTransfer,
    CancelTransfer,
    RejectTransfer,
    RequestTransfer,
)
from schemas.enums import (
    CancelReason,
    CompanyRole,
    CompanyState,
    GovernmentAccount,
    RequestStatus,
)
from schemas.events.credits import (
    CreditsTransferred,
    RetirementCancelled,
    TransferCancelled,
    TransferRejected,
    TransferRequested,
)

# Who may hold credits received by transfer.
HOLDERS = frozenset({CompanyRole.PROGRAMME_DEVELOPER, CompanyRole.GOVERNMENT})


# ---- checks shared with retirements ------------------------------------------------------


def require_movement_open(state: RegistryState) -> None:
    if state.transfers_frozen:
        raise Conflict(
            "credits.transfers_frozen",
            "Credit transfers and retirements are frozen registry-wide; only issuance goes on.",
        )


def require_active_holder(org: Organisation) -> None:
    if org.state is not CompanyState.ACTIVE:
        raise Conflict(
            "credits.holder_suspended",
            f"{org.name} is {org.state.value.lower()}: its credits are frozen and cannot move.",
            company_id=org.company_id,
        )


def require_active_receiver(org: Organisation) -> None:
    if org.state is not CompanyState.ACTIVE:
        raise Conflict(
            "transfer.receiver_suspended",
            f"{org.name} is {org.state.value.lower()} and cannot receive credits.",
            company_id=org.company_id,
        )


def require_account_choice(
    state: RegistryState, company_id: int, which: GovernmentAccount | None, role: str
) -> None:
    if which is not None and company_id != state.government_company_id:
        raise Invalid(
            "credits.account_only_for_government",
            f"Only the Government has several accounts; do not name a {role} account for "
            f"organisation {company_id}.",
            company_id=company_id,
        )


def get_request(state: RegistryState, request_id: int, kind: str) -> CreditRequest:
    req = state.credit_requests.get(request_id)
    if req is None or req.kind != kind:
        raise NotFound(f"{kind}.not_found", f"There is no {kind} request {request_id}.")
    return req


def require_pending(req: CreditRequest) -> None:
    if req.status is not RequestStatus.PENDING:
        raise Conflict(
            f"{req.kind}.not_pending",
            f"The {req.kind} request {req.request_id} is {req.status.value}, not Pending.",
            request_id=req.request_id,
            status=req.status.value,
        )


def require_initiator(state: RegistryState, principal: Principal, req: CreditRequest) -> None:
    if acting_company(state, principal) != req.initiator_company_id:
        raise Forbidden(
            f"{req.kind}.not_initiator",
            f"Only the organisation that asked for {req.kind} request {req.request_id} can "
            "cancel it.",
            request_id=req.request_id,
        )


CancelledEvent = type[TransferCancelled] | type[RetirementCancelled]
# The event and the aggregate id of a request withdrawn by its initiator, by kind.
_CANCELLED: dict[str, tuple[CancelledEvent, Callable[[int], str]]] = {
    "transfer": (TransferCancelled, transfer_id),
    "retirement": (RetirementCancelled, retirement_id),
}


def cancel_by_initiator(
    state: RegistryState, principal: Principal, kind: str, request_id: int, comment: str | None
) -> list[NewEvent]:
    """The organisation that asked withdraws its pending transfer or retirement request."""
    req = get_request(state, request_id, kind)
    require_pending(req)
    require_initiator(state, principal, req)
    event, aggregate_id = _CANCELLED[kind]
    return [
        NewEvent(
            event(
                request_id=req.request_id,
                programme_id=req.programme_id,
                reason=CancelReason.BY_INITIATOR,
                comment=comment,
            ),
            aggregate_id(req.request_id),
        )
    ]


# ---- execution ------------------------------------------------------------------------------


def execute_transfer(
    state: RegistryState,
    programme: Programme,
    request_id: int,
    from_account: str,
    to_account: str,
    to_company_id: int,
    amount: int,
    available_before: int,
    comment: str | None,
) -> list[NewEvent]:
    moves, _ = plan_moves(
        state,
        programme,
        free_blocks(state, from_account, programme.programme_id),
        amount,
        from_account,
        to_account,
        to_company_id,
    )
    done = NewEvent(
        CreditsTransferred(
            request_id=request_id,
            programme_id=programme.programme_id,
            from_account=from_account,
            to_account=to_account,
            amount=amount,
            moves=moves,
            comment=comment,
        ),
        transfer_id(request_id),
    )
    cancelled = low_credit_cancellations(
        state, from_account, programme.programme_id, available_before - amount, request_id
    )
    return [done, *cancelled]


# ---- deciders ---------------------------------------------------------------------------


def request_transfer(
    state: RegistryState, principal: Principal, cmd: RequestTransfer, now: datetime
) -> list[NewEvent]:
    require(principal, Action.REQUEST_TRANSFER)
    require_movement_open(state)
    p = get_programme(state, cmd.programme_id)
    require_authorised(p)
    require_scope(principal, p)
    actor_company = acting_company(state, principal)
    from_id = cmd.from_company_id or actor_company
    if from_id == cmd.to_company_id:
        raise Invalid(
            "transfer.same_organisation",
            "The sender and the receiver are the same organisation.",
            company_id=from_id,
        )
    if not is_government_like(principal) and actor_company not in (from_id, cmd.to_company_id):
        raise Forbidden(
            "transfer.other_organisation",
            "You can only ask for transfers from or to your own organisation.",
        )
    sender = get_organisation(state, from_id)
    receiver = get_organisation(state, cmd.to_company_id)
    if receiver.role not in HOLDERS:
        raise Invalid(
            "transfer.receiver_cannot_hold",
            f"{receiver.name} is a {receiver.role.value} and cannot hold credits.",
            company_id=receiver.company_id,
        )
    require_account_choice(state, from_id, cmd.from_account, "sending")
    require_account_choice(state, receiver.company_id, cmd.to_account, "receiving")
    require_active_holder(sender)
    require_active_receiver(receiver)
    from_account = holder_account(state, from_id, cmd.from_account)
    to_account = holder_account(state, receiver.company_id, cmd.to_account)
    avail = require_available(state, from_account, p.programme_id, cmd.amount, from_id)
    rid = state.next_request_id
    events = [
        NewEvent(
            TransferRequested(
                request_id=rid,
                programme_id=p.programme_id,
                from_company_id=from_id,
                from_account=from_account,
                to_company_id=receiver.company_id,
                to_account=to_account,
                amount=cmd.amount,
                initiator_company_id=actor_company,
                comment=cmd.comment,
            ),
            transfer_id(rid),
        )
    ]
    if actor_company == from_id:
        events += execute_transfer(
            state, p, rid, from_account, to_account, receiver.company_id, cmd.amount, avail, None
        )
    return events


def approve_transfer(
    state: RegistryState, principal: Principal, cmd: ApproveTransfer, now: datetime
) -> list[NewEvent]:
    require(principal, Action.MANAGE_TRANSFER)
    req = get_request(state, cmd.request_id, "transfer")
    require_pending(req)
    if acting_company(state, principal) != req.from_company_id:
        raise Forbidden(
            "transfer.not_sender",
            f"Only the sending organisation can approve transfer request {req.request_id}.",
            request_id=req.request_id,
        )
    require_movement_open(state)
    assert req.to_company_id is not None
    assert req.to_account is not None
    require_active_holder(state.organisations[req.from_company_id])
    require_active_receiver(state.organisations[req.to_company_id])
    p = state.programmes[req.programme_id]
    avail = require_available(
        state, req.from_account, p.programme_id, req.amount, req.from_company_id
    )
    return execute_transfer(
        state,
        p,
        req.request_id,
        req.from_account,
        req.to_account,
        req.to_company_id,
        req.amount,
        avail,
        cmd.comment,
    )


def reject_transfer(
    state: RegistryState, principal: Principal, cmd: RejectTransfer, now: datetime
) -> list[NewEvent]:
    require(principal, Action.MANAGE_TRANSFER)
    req = get_request(state, cmd.request_id, "transfer")
    require_pending(req)
    if acting_company(state, principal) != req.from_company_id:
        raise Forbidden(
            "transfer.not_sender",
            f"Only the sending organisation can reject transfer request {req.request_id}.",
            request_id=req.request_id,
        )
    return [
        NewEvent(
            TransferRejected(
                request_id=req.request_id, programme_id=req.programme_id, comment=cmd.comment
            ),
            transfer_id(req.request_id),
        )
    ]


def cancel_transfer(
    state: RegistryState, principal: Principal, cmd: CancelTransfer, now: datetime
) -> list[NewEvent]:
    require(principal, Action.MANAGE_TRANSFER)
    return cancel_by_initiator(state, principal, "transfer", cmd.request_id, cmd.comment)

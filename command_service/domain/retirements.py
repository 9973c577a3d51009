"""Deciding retirements: request, recognise, refuse, cancel (domain.md 6.5).

A developer may only ask for a cross-border retirement of its own credits; it waits for the
Government to recognise or refuse it. Government and Ministry retirements execute at once.
On execution the OMGE share of a cross-border retirement goes to ``gov:omge`` and the rest
to ``retired``; units in either never move again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from command_service.domain.errors import Forbidden, Invalid
from command_service.domain.events import NewEvent, retirement_id
from command_service.domain.ledger import (
    GOV_OMGE,
    RETIRED,
    available,
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
from command_service.domain.state import Programme, RegistryState
from command_service.domain.transfers import (
    cancel_by_initiator,
    get_request,
    require_account_choice,
    require_active_holder,
    require_movement_open,
    require_pending,
)
from schemas.commands.credits import (
    CancelRetirement,
    RecogniseRetirement,
    RefuseRetirement,
    RequestRetirement,
)
from schemas.enums import RetirementType
from schemas.events.credits import (
    BlockMove,
    CreditsRetired,
    RetirementRefused,
    RetirementRequested,
)

HUNDRED = Decimal(100)


def omge_units(amount: int, percentage: Decimal) -> int:
    """The OMGE share of a cross-border retirement, in whole units (half up)."""
    share = (Decimal(amount) * percentage / HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return min(amount, int(share))


def execute_retirement(
    state: RegistryState,
    programme: Programme,
    request_id: int,
    from_account: str,
    amount: int,
    omge: int,
    available_before: int,
    comment: str | None,
) -> list[NewEvent]:
    pid = programme.programme_id
    free = free_blocks(state, from_account, pid)
    moves: list[BlockMove] = []
    if omge:
        to_omge, free = plan_moves(
            state, programme, free, omge, from_account, GOV_OMGE, state.government_company_id
        )
        moves += to_omge
    if amount - omge:
        to_retired, _ = plan_moves(
            state, programme, free, amount - omge, from_account, RETIRED, None
        )
        moves += to_retired
    done = NewEvent(
        CreditsRetired(
            request_id=request_id,
            programme_id=pid,
            from_account=from_account,
            amount=amount,
            retired_units=amount - omge,
            omge_units=omge,
            moves=moves,
            comment=comment,
        ),
        retirement_id(request_id),
    )
    cancelled = low_credit_cancellations(
        state, from_account, pid, available_before - amount, request_id
    )
    return [done, *cancelled]


def request_retirement(
    state: RegistryState, principal: Principal, cmd: RequestRetirement, now: datetime
) -> list[NewEvent]:
    require(principal, Action.RETIRE_CREDITS)
    require_movement_open(state)
    p = get_programme(state, cmd.programme_id)
    require_authorised(p)
    require_scope(principal, p)
    actor_company = acting_company(state, principal)
    from_id = cmd.from_company_id or actor_company
    government = is_government_like(principal)
    if not government:
        if from_id != actor_company:
            raise Forbidden(
                "retirement.other_organisation",
                "A developer can only retire its own credits.",
            )
        if cmd.retirement_type is not RetirementType.CROSS_BORDER:
            raise Forbidden(
                "retirement.developer_cross_border_only",
                "A developer can only ask for cross-border retirements; the Government "
                "retires credits for legal action or other reasons.",
            )
    cross_border = cmd.retirement_type is RetirementType.CROSS_BORDER
    if cross_border and cmd.country is None:
        raise Invalid(
            "retirement.country_required",
            "A cross-border retirement needs the ISO 3166 code of the destination country.",
        )
    if cross_border and cmd.country == state.country_code:
        raise Invalid(
            "retirement.country_is_home",
            f"A cross-border retirement must go to another country than {state.country_code}.",
            country=cmd.country,
        )
    if not cross_border and cmd.country is not None:
        raise Invalid(
            "retirement.country_only_cross_border",
            "Only a cross-border retirement names a destination country.",
        )
    holder = get_organisation(state, from_id)
    require_account_choice(state, from_id, cmd.from_account, "sending")
    require_active_holder(holder)
    from_account = holder_account(state, from_id, cmd.from_account)
    avail = available(state, from_account, p.programme_id)
    amount = avail if cmd.amount is None else cmd.amount
    if not cross_border and avail and amount != avail:
        raise Invalid(
            "retirement.full_amount_required",
            f"A {cmd.retirement_type.value.replace('_', ' ')} retirement takes the holder's "
            f"full available amount, {avail} credits, not {amount}.",
            available=avail,
            requested=amount,
        )
    require_available(state, from_account, p.programme_id, amount, from_id)
    percentage = state.omge_percentage if cross_border else Decimal(0)
    rid = state.next_request_id
    events = [
        NewEvent(
            RetirementRequested(
                request_id=rid,
                programme_id=p.programme_id,
                from_company_id=from_id,
                from_account=from_account,
                retirement_type=cmd.retirement_type,
                amount=amount,
                country=cmd.country,
                organisation_name=cmd.organisation_name,
                omge_percentage=percentage,
                initiator_company_id=actor_company,
                comment=cmd.comment,
            ),
            retirement_id(rid),
        )
    ]
    if government:
        omge = omge_units(amount, percentage)
        events += execute_retirement(state, p, rid, from_account, amount, omge, avail, None)
    return events


def recognise_retirement(
    state: RegistryState, principal: Principal, cmd: RecogniseRetirement, now: datetime
) -> list[NewEvent]:
    require(principal, Action.DECIDE_RETIREMENT)
    req = get_request(state, cmd.request_id, "retirement")
    require_pending(req)
    p = state.programmes[req.programme_id]
    require_scope(principal, p)
    require_movement_open(state)
    require_active_holder(state.organisations[req.from_company_id])
    avail = require_available(
        state, req.from_account, p.programme_id, req.amount, req.from_company_id
    )
    omge = omge_units(req.amount, req.omge_percentage)
    return execute_retirement(
        state, p, req.request_id, req.from_account, req.amount, omge, avail, cmd.comment
    )


def refuse_retirement(
    state: RegistryState, principal: Principal, cmd: RefuseRetirement, now: datetime
) -> list[NewEvent]:
    require(principal, Action.DECIDE_RETIREMENT)
    req = get_request(state, cmd.request_id, "retirement")
    require_pending(req)
    require_scope(principal, state.programmes[req.programme_id])
    return [
        NewEvent(
            RetirementRefused(
                request_id=req.request_id, programme_id=req.programme_id, comment=cmd.comment
            ),
            retirement_id(req.request_id),
        )
    ]


def cancel_retirement(
    state: RegistryState, principal: Principal, cmd: CancelRetirement, now: datetime
) -> list[NewEvent]:
    require(principal, Action.RETIRE_CREDITS)
    return cancel_by_initiator(state, principal, "retirement", cmd.request_id, cmd.comment)

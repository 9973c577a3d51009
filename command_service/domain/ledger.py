"""The credit ledger: accounts, blocks, balances and how units move (pure).

Holdings are blocks of consecutive units; a balance is always derived from them. Moving
``amount`` units out of a holding takes its available (not frozen) blocks lowest serial
first, whole while they fit, and splits the next one, moving its high end
(``libs.serial_numbers.split_high``). Planning never touches the state: ``evolve`` applies
the planned moves from the events.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime

from command_service.domain.errors import Conflict
from command_service.domain.events import NewEvent, retirement_id, transfer_id
from command_service.domain.state import Block, Programme, RegistryState
from libs.serial_numbers import UnitRange, format_serial, split_high
from schemas.enums import CancelReason, GovernmentAccount
from schemas.envelope import SYSTEM_ACTOR
from schemas.events.credits import (
    OMGE_ACCOUNT,
    RETIRED_ACCOUNT,
    BlockMove,
    BlockRange,
    RetirementCancelled,
    TransferCancelled,
)

RETIRED = RETIRED_ACCOUNT
GOV_OMGE = OMGE_ACCOUNT


def company_account(company_id: int) -> str:
    return f"company:{company_id}"


def gov_account(which: GovernmentAccount) -> str:
    return f"gov:{which.value}"


def holder_account(state: RegistryState, company_id: int, which: GovernmentAccount | None) -> str:
    """The account a company holds credits in (the Government has two to choose from)."""
    if company_id == state.government_company_id:
        return gov_account(which or GovernmentAccount.LOCAL)
    return company_account(company_id)


def account_company(state: RegistryState, account: str) -> int | None:
    """The organisation holding an account (None for the retirement account)."""
    if account.startswith("company:"):
        return int(account.removeprefix("company:"))
    if account.startswith("gov:"):
        return state.government_company_id
    return None


def holding_key(account: str, programme_id: str) -> str:
    return f"{account}/{programme_id}"


def new_block_id(programme_id: str, start: int) -> str:
    # Unit numbers are unique country-wide and a block's first unit never changes (blocks
    # only split off their high end), so the first unit identifies a block for ever.
    return f"{programme_id}-{start}"


def programme_year(programme: Programme) -> int:
    return datetime.fromtimestamp(programme.start_time, UTC).year


def serial_for(state: RegistryState, programme: Programme, start: int, end: int) -> str:
    """The v1 serial of units ``start..end`` of a programme (domain.md 8.1); a programme's
    country and credit unit are always the registry's."""
    return format_serial(
        state.country_code,
        state.credit_unit,
        programme.sectoral_scope,
        programme.programme_id,
        programme_year(programme),
        start,
        end,
    )


def holding(state: RegistryState, account: str, programme_id: str) -> list[Block]:
    ids = state.holdings.get(account, {}).get(programme_id, [])
    return [state.blocks[b] for b in ids]


def balance(state: RegistryState, account: str, programme_id: str) -> int:
    return sum(b.size for b in holding(state, account, programme_id))


def available(state: RegistryState, account: str, programme_id: str) -> int:
    return sum(b.size for b in holding(state, account, programme_id) if not b.frozen)


def require_available(
    state: RegistryState, account: str, programme_id: str, amount: int, company_id: int
) -> int:
    """Refuse unless ``amount`` units can move out of the holding; returns what is available."""
    avail = available(state, account, programme_id)
    if amount > avail or avail == 0:
        raise Conflict(
            "credits.insufficient_balance",
            f"Only {avail} credits of programme {programme_id} are available to move from "
            f"this holder; {amount} were asked for."
            if avail
            else f"This holder has no credits of programme {programme_id} available to move.",
            available=avail,
            requested=amount,
            company_id=company_id,
            account=account,
            programme_id=programme_id,
        )
    return avail


@dataclass(frozen=True, slots=True)
class Free:
    """An available block as a plan sees it (the plan may already have shortened it)."""

    block_id: str
    start: int
    end: int
    vintage: int


def free_blocks(state: RegistryState, account: str, programme_id: str) -> list[Free]:
    return [
        Free(b.block_id, b.start, b.end, b.vintage)
        for b in holding(state, account, programme_id)
        if not b.frozen
    ]


def plan_moves(
    state: RegistryState,
    programme: Programme,
    free: list[Free],
    amount: int,
    from_account: str,
    to_account: str,
    to_company_id: int | None,
) -> tuple[list[BlockMove], list[Free]]:
    """Take ``amount`` units from ``free`` (lowest serial first); returns the moves and what
    is left free, so a second plan can follow the first within one decision."""
    rest = list(free)
    moves: list[BlockMove] = []
    need = amount
    while need > 0:
        if not rest:
            raise AssertionError("plan_moves: not enough free units (check available first)")
        b = rest[0]
        size = b.end - b.start + 1
        if size <= need:
            rest.pop(0)
            need -= size
            moved = BlockRange(
                block_id=b.block_id,
                start=b.start,
                end=b.end,
                serial=serial_for(state, programme, b.start, b.end),
            )
            kept = None
        else:
            kept_range, moved_range = split_high(UnitRange(b.start, b.end), need)
            assert kept_range is not None
            need = 0
            rest[0] = Free(b.block_id, kept_range.start, kept_range.end, b.vintage)
            kept = BlockRange(
                block_id=b.block_id,
                start=kept_range.start,
                end=kept_range.end,
                serial=serial_for(state, programme, kept_range.start, kept_range.end),
            )
            moved = BlockRange(
                block_id=new_block_id(programme.programme_id, moved_range.start),
                start=moved_range.start,
                end=moved_range.end,
                serial=serial_for(state, programme, moved_range.start, moved_range.end),
            )
        moves.append(
            BlockMove(
                source_block_id=b.block_id,
                from_account=from_account,
                to_account=to_account,
                to_company_id=to_company_id,
                vintage=b.vintage,
                kept=kept,
                moved=moved,
            )
        )
    return moves, rest


def low_credit_cancellations(
    state: RegistryState,
    from_account: str,
    programme_id: str,
    available_after: int,
    executed: int | None,
) -> list[NewEvent]:
    """Pending requests from a holding that now ask for more than it has available are
    cancelled by the registry itself (v1 LOW_CREDIT_AUTO_CANCEL)."""
    out: list[NewEvent] = []
    for rid in state.pending_requests.get(holding_key(from_account, programme_id), []):
        req = state.credit_requests[rid]
        if rid == executed or req.amount <= available_after:
            continue
        out.append(cancellation(rid, CancelReason.LOW_CREDIT, state))
    return out


def cancellation(request_id: int, reason: CancelReason, state: RegistryState) -> NewEvent:
    """The system's cancellation of a pending request (low credit, suspension)."""
    req = state.credit_requests[request_id]
    if req.kind == "transfer":
        return NewEvent(
            TransferCancelled(request_id=request_id, programme_id=req.programme_id, reason=reason),
            transfer_id(request_id),
            actor=SYSTEM_ACTOR,
        )
    return NewEvent(
        RetirementCancelled(request_id=request_id, programme_id=req.programme_id, reason=reason),
        retirement_id(request_id),
        actor=SYSTEM_ACTOR,
    )


# ---- folding (used by evolve only) --------------------------------------------------------


def hold(state: RegistryState, block: Block) -> None:
    ids = state.holdings.setdefault(block.account, {}).setdefault(block.programme_id, [])
    bisect.insort(ids, block.block_id, key=lambda b: state.blocks[b].start)


def unhold(state: RegistryState, block: Block) -> None:
    by_programme = state.holdings[block.account]
    ids = by_programme[block.programme_id]
    ids.remove(block.block_id)
    if not ids:
        del by_programme[block.programme_id]
        if not by_programme:
            del state.holdings[block.account]


def apply_moves(state: RegistryState, moves: list[BlockMove]) -> None:
    for m in moves:
        src = state.blocks[m.source_block_id]
        if m.kept is None:
            unhold(state, src)
            src.account = m.to_account
            hold(state, src)
        else:
            src.end = m.kept.end
            new = Block(
                block_id=m.moved.block_id,
                programme_id=src.programme_id,
                start=m.moved.start,
                end=m.moved.end,
                account=m.to_account,
                vintage=m.vintage,
                parent=src.block_id,
            )
            state.blocks[new.block_id] = new
            hold(state, new)


def add_pending(state: RegistryState, request_id: int) -> None:
    req = state.credit_requests[request_id]
    state.pending_requests.setdefault(holding_key(req.from_account, req.programme_id), []).append(
        request_id
    )


def remove_pending(state: RegistryState, request_id: int) -> None:
    req = state.credit_requests[request_id]
    key = holding_key(req.from_account, req.programme_id)
    ids = state.pending_requests.get(key)
    if ids is not None and request_id in ids:
        ids.remove(request_id)
        if not ids:
            del state.pending_requests[key]

"""Credit events into row writes: pure, parameterised, taken from the event alone."""

from __future__ import annotations

import re

from command_service.domain.ledger import company_account
from projector_service.projections import aef, credits, history
from projector_service.projections.catalogue import project
from projector_service.projections.view import EventView, view_of
from projector_service.projections.writes import Write
from schemas.codec import decode_event
from schemas.commands.credits import (
    RecogniseRetirement,
    RequestRetirement,
    RequestTransfer,
    SetOmgePercentage,
    SuspendOrganisation,
)
from schemas.enums import RetirementType
from tests.unit.command_service.helpers import Outcome, World, authorised_programme, ok, world


def placeholders(sql: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


def writes_of(out: Outcome) -> list[tuple[EventView, list[Write]]]:
    """Each event as the projector decodes it, with the writes it projects to."""
    result = []
    for raw in out.raws:
        env = view_of(decode_event(raw))
        result.append((env, project(env)))
    return result


def scenario() -> tuple[World, str, list[Outcome]]:
    w = world()
    pid = authorised_programme(w, issue=100)
    outs = [
        ok(
            w.reg.when(
                RequestTransfer(programme_id=pid, to_company_id=w.pd2, amount=30), w.pd1_admin
            )
        ),
        ok(w.reg.when(SetOmgePercentage(percentage=2), w.gov_admin)),  # type: ignore[arg-type]
        ok(
            w.reg.when(
                RequestRetirement(
                    programme_id=pid,
                    retirement_type=RetirementType.CROSS_BORDER,
                    amount=50,
                    country="FR",
                ),
                w.pd1_admin,
            )
        ),
        ok(w.reg.when(RecogniseRetirement(request_id=2), w.gov_admin)),
        ok(w.reg.when(SuspendOrganisation(company_id=w.pd2), w.gov_admin)),
    ]
    return w, pid, outs


def test_every_credit_write_is_a_fixed_parameterised_statement() -> None:
    w, _, _ = scenario()
    for env, raw in zip(w.reg.events, w.reg.raws, strict=True):
        for write in project(view_of(decode_event(raw))):
            assert placeholders(write.sql) == set(range(1, len(write.args) + 1)), (env.type, write)
            assert "'" not in write.sql, write.sql
            assert "{s}." in write.sql


def test_a_split_transfer_shrinks_the_source_and_inserts_the_high_end() -> None:
    w, pid, outs = scenario()
    (_, req_writes), (env, writes) = writes_of(outs[0])
    assert req_writes[0].sql == credits.INSERT_REQUEST
    assert req_writes[0].args[:3] == (1, "transfer", pid)
    aef_row, shrink, insert, close_old, open_new, close, total, timeline, clock = writes
    # The AEF row reads the source block before the move: units 71..100 change hands.
    assert aef_row.sql == aef.AEF_TRANSFER
    assert aef_row.args[3:8] == (
        "transfer",
        71,
        100,
        f"TL-ITMO-1-{pid}-2024-0-71",
        f"TL-ITMO-1-{pid}-2024-0-100",
    )
    assert shrink.sql == credits.SHRINK_BLOCK
    assert shrink.args == (f"{pid}-1", 70, f"TL-ITMO-1-{pid}-2024-0-1-70", env.seq)
    assert insert.sql == credits.INSERT_BLOCK
    assert insert.args == (
        f"{pid}-71",
        pid,
        f"TL-ITMO-1-{pid}-2024-0-71-100",
        71,
        100,
        company_account(w.pd2),
        w.pd2,
        "active",
        2024,
        f"{pid}-1",
        1,
        env.seq,
    )
    # Both blocks get a new version: the source's current one closes first.
    assert (close_old.sql, open_new.sql) == (history.CLOSE_VERSIONS, history.OPEN_VERSIONS)
    assert close_old.args == open_new.args == ([f"{pid}-1", f"{pid}-71"], env.seq)
    assert close.sql == credits.CLOSE_REQUEST
    assert close.args[:2] == (1, "Approved")
    assert (total.sql, total.args) == (credits.ADD_TRANSFERRED, (pid, 30, env.seq))
    assert timeline.args[1] == pid
    assert clock.sql == history.EVENT_TIME


def test_a_retirement_sends_omge_and_retired_blocks_and_closes_the_request() -> None:
    _, _, outs = scenario()
    [(_, writes)] = writes_of(outs[3])
    inserted = [wr.args for wr in writes if wr.sql == credits.INSERT_BLOCK]
    # 2 % of 50 = 1 unit to OMGE (the top unit), 49 retired below it.
    assert [(a[3], a[4], a[5], a[7]) for a in inserted] == [
        (70, 70, "gov:omge", "retired"),
        (21, 69, "retired", "retired"),
    ]
    close = next(wr for wr in writes if wr.sql == credits.CLOSE_REQUEST)
    assert close.args[:2] == (2, "Recognised")
    assert close.args[4] == 1  # omge units
    total = next(wr for wr in writes if wr.sql == credits.ADD_RETIRED)
    assert total.args[1] == 50


def test_suspension_freezes_blocks_and_the_organisation() -> None:
    w, pid, outs = scenario()
    (_, org), (_, frozen) = writes_of(outs[4])
    assert org[0].sql == credits.SET_ORG_STATE
    assert org[0].args[:2] == (w.pd2, "Suspended")
    assert frozen[0].sql == credits.SET_BLOCK_STATE
    assert frozen[0].args[:2] == ([f"{pid}-71"], "frozen")


def test_block_state_follows_the_account() -> None:
    assert credits.block_state("retired") == "retired"
    assert credits.block_state("gov:omge") == "retired"
    assert credits.block_state("gov:local") == "active"
    assert credits.block_state("company:3", frozen=True) == "frozen"

"""The credit ledger's invariants under random command sequences (issue #4).

A hypothesis state machine drives ``decide_one`` with valid and invalid commands from a
Government admin, two developers and a certifier, and checks after every step:

* per programme, issued units = held + retired units, and the blocks tile exactly the
  issued part of the programme's reserved range (no overlap, no gap, nothing outside);
* no block is empty and no balance is below zero; the holdings index matches the blocks;
* frozen and retired units never move (block by block, before and after the step);
* the country counter only grows and equals the end of the last reserved range;
* frozen blocks are exactly the live blocks of suspended organisations;
* every pending request still fits in its sender's available balance;
* a refused command changes nothing but its idempotency record;
* replaying every event into a fresh state gives the live state.
"""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from command_service.domain.ledger import account_company, available, holding_key
from command_service.domain.state import Block, RegistryState, dump_state, load_state
from schemas.commands import credits as c
from schemas.commands.base import CommandPayload
from schemas.enums import CompanyState, ProgrammeStage, RequestStatus, RetirementType
from schemas.envelope import Actor
from schemas.events.credits import TERMINAL_ACCOUNTS
from tests.unit.command_service.helpers import (
    GOV_COMPANY_ID,
    PD1_TAX,
    PD2_TAX,
    Outcome,
    authorised_programme,
    new_programme,
    same_state_but_processed,
    world,
)

# ---- the invariants (plain functions, so a test can show they catch a broken state) ---------


def check_ledger(s: RegistryState) -> None:
    ranges: list[tuple[int, int]] = []
    for pid, p in s.programmes.items():
        blocks = sorted(
            (b for b in s.blocks.values() if b.programme_id == pid), key=lambda b: b.start
        )
        if p.stage is not ProgrammeStage.AUTHORISED:
            assert p.serial_no is None
            assert blocks == []
            continue
        assert p.range_end - p.range_start + 1 == p.credit_est
        assert 0 <= p.credit_issued <= p.credit_est
        ranges.append((p.range_start, p.range_end))
        # The blocks tile [range_start, range_start + issued - 1] exactly.
        expected_next = p.range_start
        for b in blocks:
            assert b.start <= b.end, b
            assert b.start == expected_next, (pid, b, expected_next)
            expected_next = b.end + 1
        assert expected_next == p.range_start + p.credit_issued, pid
        held = sum(b.size for b in blocks if b.account not in TERMINAL_ACCOUNTS)
        retired = sum(b.size for b in blocks if b.account in TERMINAL_ACCOUNTS)
        assert held + retired == p.credit_issued
    # Reserved ranges never overlap and the counter is the last reserved unit.
    ranges.sort()
    for (_, end), (start, _) in itertools.pairwise(ranges):
        assert end < start
    assert s.serial_counter == (ranges[-1][1] if ranges else 0)
    # The holdings index lists every block exactly once, in serial order, and nothing else.
    indexed: list[str] = []
    for account, by_programme in s.holdings.items():
        for pid, ids in by_programme.items():
            assert ids, (account, pid)
            starts = [s.blocks[i].start for i in ids]
            assert starts == sorted(starts)
            for i in ids:
                assert (s.blocks[i].account, s.blocks[i].programme_id) == (account, pid)
            indexed += ids
            assert sum(s.blocks[i].size for i in ids) > 0  # no balance at or below zero
    assert sorted(indexed) == sorted(s.blocks)
    # Frozen blocks are exactly the live blocks of suspended organisations.
    for b in s.blocks.values():
        if b.account in TERMINAL_ACCOUNTS:
            assert not b.frozen, b
            continue
        company = account_company(s, b.account)
        assert company is not None
        suspended = s.organisations[company].state is CompanyState.SUSPENDED
        assert b.frozen is suspended, (b, suspended)
    # Pending requests are indexed and each still fits in its sender's available balance.
    pending = {
        r.request_id for r in s.credit_requests.values() if r.status is RequestStatus.PENDING
    }
    assert {rid for ids in s.pending_requests.values() for rid in ids} == pending
    for rid in pending:
        r = s.credit_requests[rid]
        assert rid in s.pending_requests[holding_key(r.from_account, r.programme_id)]
        assert r.amount <= available(s, r.from_account, r.programme_id), r


Fixed = dict[str, tuple[int, int, str]]


def fixed_blocks(s: RegistryState) -> Fixed:
    """Blocks that may not move: frozen ones and retired ones."""
    return {
        b.block_id: (b.start, b.end, b.account)
        for b in s.blocks.values()
        if b.frozen or b.account in TERMINAL_ACCOUNTS
    }


def check_step(before: Fixed, counter_before: int, after: RegistryState) -> None:
    for bid, (start, end, account) in before.items():
        b: Block = after.blocks[bid]
        assert (b.start, b.end, b.account) == (start, end, account), (bid, b)
        if account in TERMINAL_ACCOUNTS:
            assert b.account in TERMINAL_ACCOUNTS
    assert after.serial_counter >= counter_before


def without_processed(s: RegistryState) -> bytes:
    return dump_state(dataclasses.replace(s, processed={}))


# ---- the machine ------------------------------------------------------------------------------

ACTORS = ("gov", "pd1", "pd2", "cert")
AMOUNTS = st.integers(1, 12) | st.integers(1, 45)
MOVERS = ("pd1", "pd1", "pd2", "pd2", "gov", "cert")
REQUESTS = st.integers(1, 8)
PROGRAMMES = st.sampled_from((0, 0, 1, 1, 2))


class CreditMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.w = world()
        w = self.w
        # Two programmes authorised and partly issued, one still awaiting authorisation.
        self.pids = [
            authorised_programme(w, 1, credit_est=60, issue=40),
            authorised_programme(w, 2, (PD1_TAX, PD2_TAX), ["40", "60"], credit_est=35, issue=20),
            new_programme(w, 3, (PD2_TAX,), credit_est=20),
        ]
        self.actors: dict[str, Actor] = {
            "gov": w.gov_admin,
            "pd1": w.pd1_admin,
            "pd2": w.pd2_admin,
            "cert": w.certifier_admin,
        }
        self.companies = [w.pd1, w.pd2, GOV_COMPANY_ID, w.certifier]
        self.accepted: dict[str, int] = {}
        check_ledger(w.reg.state)

    def run(self, command: CommandPayload, actor: str) -> Outcome:
        s = self.w.reg.state
        fixed, counter, dumped = fixed_blocks(s), s.serial_counter, without_processed(s)
        out = self.w.reg.when(command, self.actors[actor])
        after = self.w.reg.state
        if out.accepted:
            self.accepted[command.TYPE] = self.accepted.get(command.TYPE, 0) + 1
        else:
            assert out.events == []
            assert out.code != "command.not_decidable", out.result  # a decider crashed
            assert without_processed(after) == dumped
        check_step(fixed, counter, after)
        check_ledger(after)
        assert same_state_but_processed(self.w.reg.replayed(), after)
        return out

    def pid(self, i: int) -> str:
        return self.pids[i % len(self.pids)]

    # ---- lifecycle ----

    @rule(i=st.integers(0, 2), actor=st.sampled_from(ACTORS))
    def approve(self, i: int, actor: str) -> None:
        self.run(c.ApproveProgramme(programme_id=self.pid(i)), actor)

    @rule(
        i=st.integers(0, 2),
        issue=st.none() | st.integers(1, 70),
        actor=st.sampled_from(("gov", "gov", "pd1")),
    )
    def authorise(self, i: int, issue: int | None, actor: str) -> None:
        self.run(c.AuthoriseProgramme(programme_id=self.pid(i), issue_amount=issue), actor)

    @rule(i=st.integers(0, 2))
    def reject(self, i: int) -> None:
        self.run(c.RejectProgramme(programme_id=self.pid(i), comment="no"), "gov")

    @rule(i=st.integers(0, 2), amount=st.none() | AMOUNTS, actor=st.sampled_from(("gov", "pd2")))
    def issue(self, i: int, amount: int | None, actor: str) -> None:
        self.run(c.IssueCredits(programme_id=self.pid(i), amount=amount), actor)

    @rule(i=st.integers(0, 2), actor=st.sampled_from(ACTORS), certifier=st.booleans())
    def certify_or_revoke(self, i: int, actor: str, certifier: bool) -> None:
        pid = self.pid(i)
        self.run(c.CertifyProgramme(programme_id=pid), actor)
        cid = self.w.certifier if certifier else None
        self.run(c.RevokeCertification(programme_id=pid, certifier_id=cid), actor)

    # ---- transfers ----

    @rule(
        i=PROGRAMMES,
        actor=st.sampled_from(MOVERS),
        sender=st.none() | st.integers(0, 3),
        receiver=st.sampled_from((0, 1, 0, 1, 2, 3)),
        amount=AMOUNTS,
        gov_account=st.sampled_from([None, "local", "international"]),
    )
    def transfer(
        self,
        i: int,
        actor: str,
        sender: int | None,
        receiver: int,
        amount: int,
        gov_account: str | None,
    ) -> None:
        """Any transfer request, valid or not."""
        from_id = None if sender is None else self.companies[sender]
        to_id = self.companies[receiver]
        kw: dict[str, Any] = {}
        if gov_account is not None and to_id == GOV_COMPANY_ID:
            kw["to_account"] = gov_account
        if gov_account is not None and from_id == GOV_COMPANY_ID:
            kw["from_account"] = gov_account
        cmd = c.RequestTransfer(
            programme_id=self.pid(i),
            to_company_id=to_id,
            amount=amount,
            from_company_id=from_id,
            **kw,
        )
        self.run(cmd, actor)

    @rule(
        i=PROGRAMMES,
        sender=st.sampled_from(("pd1", "pd2")),
        asker=st.sampled_from(("sender", "receiver", "gov")),
        amount=st.integers(1, 10),
    )
    def transfer_between_developers(self, i: int, sender: str, asker: str, amount: int) -> None:
        """A plausible transfer: executed at once by the sender, or pending for it."""
        receiver = "pd2" if sender == "pd1" else "pd1"
        ids = {"pd1": self.w.pd1, "pd2": self.w.pd2}
        cmd = c.RequestTransfer(
            programme_id=self.pid(i),
            to_company_id=ids[receiver],
            amount=amount,
            from_company_id=ids[sender],
        )
        self.run(cmd, {"sender": sender, "receiver": receiver, "gov": "gov"}[asker])

    def request_id(self, kind: str, n: int, existing: bool) -> int:
        """A pending request of this kind when there is one (else any id, maybe unknown)."""
        s = self.w.reg.state
        pending = sorted(
            r.request_id
            for r in s.credit_requests.values()
            if r.kind == kind and r.status is RequestStatus.PENDING
        )
        return pending[n % len(pending)] if existing and pending else n

    @rule(
        n=REQUESTS,
        existing=st.booleans(),
        action=st.sampled_from(["approve", "approve", "reject", "cancel"]),
        actor=st.sampled_from(ACTORS),
    )
    def decide_transfer(self, n: int, existing: bool, action: str, actor: str) -> None:
        cls = {"approve": c.ApproveTransfer, "reject": c.RejectTransfer, "cancel": c.CancelTransfer}
        self.run(cls[action](request_id=self.request_id("transfer", n, existing)), actor)

    @rule(n=REQUESTS, action=st.sampled_from(["accept", "accept", "decline", "cancel"]))
    def settle_pending(self, n: int, action: str) -> None:
        """The right party acts on a pending request (sender, Government or initiator)."""
        s = self.w.reg.state
        pending = sorted(
            r.request_id for r in s.credit_requests.values() if r.status is RequestStatus.PENDING
        )
        if not pending:
            return
        req = s.credit_requests[pending[n % len(pending)]]
        names = {self.w.pd1: "pd1", self.w.pd2: "pd2", GOV_COMPANY_ID: "gov"}
        rid = req.request_id
        if action == "cancel":
            command: CommandPayload = (
                c.CancelTransfer(request_id=rid)
                if req.kind == "transfer"
                else c.CancelRetirement(request_id=rid)
            )
            self.run(command, names[req.initiator_company_id])
        elif req.kind == "transfer":
            cls = c.ApproveTransfer if action == "accept" else c.RejectTransfer
            self.run(cls(request_id=rid), names[req.from_company_id])
        else:
            cls2 = c.RecogniseRetirement if action == "accept" else c.RefuseRetirement
            self.run(cls2(request_id=rid), "gov")

    # ---- retirements ----

    @rule(
        i=PROGRAMMES,
        actor=st.sampled_from(("gov", "pd1", "pd2", "pd1", "pd2")),
        kind=st.sampled_from([*RetirementType, RetirementType.CROSS_BORDER]),
        holder=st.none() | st.integers(0, 2),
        amount=st.none() | AMOUNTS,
    )
    def retire(
        self, i: int, actor: str, kind: RetirementType, holder: int | None, amount: int | None
    ) -> None:
        cross_border = kind is RetirementType.CROSS_BORDER
        cmd = c.RequestRetirement(
            programme_id=self.pid(i),
            retirement_type=kind,
            amount=amount,
            from_company_id=None if holder is None else self.companies[holder],
            country="FR" if cross_border else None,
        )
        self.run(cmd, actor)

    @rule(
        i=PROGRAMMES,
        holder=st.sampled_from(("pd1", "pd2")),
        by_government=st.booleans(),
        kind=st.sampled_from(list(RetirementType)),
        amount=st.integers(1, 8),
    )
    def retire_plausibly(
        self, i: int, holder: str, by_government: bool, kind: RetirementType, amount: int
    ) -> None:
        """A developer's own cross-border retirement, or the Government retiring for it."""
        holder_id = self.w.pd1 if holder == "pd1" else self.w.pd2
        if not by_government:
            kind = RetirementType.CROSS_BORDER
        cross_border = kind is RetirementType.CROSS_BORDER
        cmd = c.RequestRetirement(
            programme_id=self.pid(i),
            retirement_type=kind,
            amount=amount if cross_border else None,
            from_company_id=holder_id,
            country="KE" if cross_border else None,
        )
        self.run(cmd, "gov" if by_government else holder)

    @rule(
        n=REQUESTS,
        existing=st.booleans(),
        action=st.sampled_from(["recognise", "recognise", "refuse", "cancel"]),
        actor=st.sampled_from(("gov", "gov", "pd1", "pd2")),
    )
    def decide_retirement(self, n: int, existing: bool, action: str, actor: str) -> None:
        cls = {
            "recognise": c.RecogniseRetirement,
            "refuse": c.RefuseRetirement,
            "cancel": c.CancelRetirement,
        }
        self.run(cls[action](request_id=self.request_id("retirement", n, existing)), actor)

    # ---- suspension and settings ----

    @rule(who=st.integers(0, 3), actor=st.sampled_from(("gov", "gov", "pd1")))
    def suspend(self, who: int, actor: str) -> None:
        self.run(c.SuspendOrganisation(company_id=self.companies[who]), actor)

    @rule(who=st.integers(0, 3))
    def activate(self, who: int) -> None:
        """Activate a suspended organisation if there is one (else any, mostly refused)."""
        s = self.w.reg.state
        suspended = [
            cid for cid in self.companies if s.organisations[cid].state is CompanyState.SUSPENDED
        ]
        cid = suspended[who % len(suspended)] if suspended else self.companies[who]
        self.run(c.ActivateOrganisation(company_id=cid), "gov")

    @rule(pct=st.sampled_from(["0", "2", "10", "50"]))
    def change_omge(self, pct: str) -> None:
        self.run(c.SetOmgePercentage(percentage=Decimal(pct)), "gov")

    @rule(i=PROGRAMMES, amount=AMOUNTS, n=REQUESTS)
    def freeze_window(self, i: int, amount: int, n: int) -> None:
        """While transfers are frozen nothing moves (issuance still may)."""
        self.run(c.SetTransferFreeze(frozen=True), "gov")
        pid = self.pid(i)
        out = self.run(
            c.RequestTransfer(programme_id=pid, to_company_id=self.w.pd2, amount=amount), "pd1"
        )
        assert not out.accepted
        self.run(c.ApproveTransfer(request_id=self.request_id("transfer", n, True)), "pd1")
        self.run(c.RecogniseRetirement(request_id=self.request_id("retirement", n, True)), "gov")
        self.run(c.IssueCredits(programme_id=pid, amount=1), "gov")
        self.run(c.SetTransferFreeze(frozen=False), "gov")


CreditMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCreditInvariants = CreditMachine.TestCase


# ---- the checks can fail, and the machine reaches the interesting places ----------------------


def scripted() -> CreditMachine:
    """One fixed run through the machine's own steps (checked as it goes)."""
    m = CreditMachine()
    m.setup()
    m.approve(2, "gov")
    m.authorise(2, 20, "gov")
    m.transfer(0, "pd1", None, 1, 15, None)  # pd1 -> pd2 at once
    m.transfer(0, "pd2", 0, 1, 10, None)  # pd2 asks pd1: pending
    m.retire(0, "pd1", RetirementType.CROSS_BORDER, None, 5)  # pending
    m.change_omge("10")
    m.retire(0, "gov", RetirementType.CROSS_BORDER, 1, 10)  # executes, OMGE 1
    m.suspend(0, "gov")  # pd1 frozen, its pending cancelled
    m.issue(1, 5, "gov")  # pd1's share arrives frozen
    m.activate(0)
    m.transfer(1, "pd2", None, 2, 3, "international")
    m.transfer(2, "pd2", None, 2, 3, "local")
    m.freeze_window(0, 1, 1)
    return m


def test_the_scripted_run_exercises_every_kind_of_movement() -> None:
    m = scripted()
    assert m.accepted["RequestTransfer"] == 4
    assert m.accepted["RequestRetirement"] == 2
    assert m.accepted["SuspendOrganisation"] == 1
    s = m.w.reg.state
    assert any(b.account == "gov:omge" for b in s.blocks.values())
    assert any(b.account == "retired" for b in s.blocks.values())
    assert any(b.account == "gov:international" for b in s.blocks.values())
    assert all(r.status is not RequestStatus.PENDING for r in s.credit_requests.values())
    # The whole ledger survives a snapshot (the processor restores from one).
    assert load_state(dump_state(s)) == s
    m.teardown()


def test_the_ledger_checks_catch_an_overlap_a_gap_and_a_moved_retired_block() -> None:
    m = scripted()
    s = m.w.reg.state
    pid = m.pids[0]
    first = s.blocks[s.holdings[f"company:{m.w.pd1}"][pid][0]]
    first.end += 1  # now overlaps its neighbour
    with pytest.raises(AssertionError):
        check_ledger(s)
    first.end -= 2  # now leaves a gap
    with pytest.raises(AssertionError):
        check_ledger(s)
    first.end += 1
    check_ledger(s)
    fixed = fixed_blocks(s)
    retired = next(b for b in s.blocks.values() if b.account == "retired")
    retired.account = f"company:{m.w.pd2}"
    with pytest.raises(AssertionError):
        check_step(fixed, s.serial_counter, s)
    with pytest.raises(AssertionError):
        check_step({}, s.serial_counter + 1, s)  # the counter went backwards

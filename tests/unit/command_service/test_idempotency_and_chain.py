"""Idempotency, the dense hash chain, and replay equivalence of the write side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from command_service.application.decisions import Decided, decide_one
from command_service.application.ports import CommandRecord
from command_service.application.restore import CorruptLog, apply_event_bytes
from command_service.domain.state import RegistryState, dump_state
from schemas.codec import decode_event, decode_result
from schemas.enums import UserRole
from schemas.envelope import GENESIS_HASH, SYSTEM_ACTOR, Actor
from schemas.hashing import chain_hash
from tests.unit.command_service.helpers import (
    GOV_COMPANY_ID,
    NOW,
    REGISTRY,
    ROOT,
    UNKNOWN,
    Registry,
    initialise_cmd,
    org_cmd,
    programme_cmd,
    same_state_but_processed,
    world,
)

# ---- idempotency ------------------------------------------------------------------------


def test_same_command_twice_is_answered_once() -> None:
    w = world()
    env = w.reg.envelope(programme_cmd(["TAX-pd1"]), w.gov_admin, command_id="key-1")
    first = w.reg.submit(env)
    assert first.accepted
    assert not first.result.duplicate
    n_events = len(w.reg.events)
    before = dump_state(w.reg.state)

    second = w.reg.submit(env)
    assert second.accepted
    assert second.result.duplicate
    assert second.events == []
    assert len(w.reg.events) == n_events
    assert (second.result.first_seq, second.result.last_seq) == (
        first.result.first_seq,
        first.result.last_seq,
    )
    assert second.result.aggregate_id == first.result.aggregate_id
    assert second.result.aggregate_ids == first.result.aggregate_ids
    assert second.result.fingerprint == first.result.fingerprint
    assert dump_state(w.reg.state) == before


def test_duplicate_needs_the_same_body_not_the_same_envelope() -> None:
    """Only type, actor and payload count: a retry with a new submitted_at is the same."""
    w = world()
    env = w.reg.envelope(org_cmd("Certifier", "x"), ROOT, command_id="key-1")
    assert w.reg.submit(env).accepted
    retry = env.model_copy(update={"submitted_at": NOW.replace(year=2030)})
    out = w.reg.submit(retry)
    assert out.accepted
    assert out.result.duplicate


def test_same_id_with_another_body_is_refused_without_change() -> None:
    w = world()
    first = w.reg.when(programme_cmd(["TAX-pd1"], 1), w.gov_admin, command_id="key-1")
    assert first.accepted
    before = dump_state(w.reg.state)
    n_events = len(w.reg.events)

    for env in (
        w.reg.envelope(programme_cmd(["TAX-pd1"], 2), w.gov_admin, command_id="key-1"),
        w.reg.envelope(programme_cmd(["TAX-pd1"], 1), ROOT, command_id="key-1"),  # other actor
        w.reg.envelope(org_cmd("Certifier", 9), w.gov_admin, command_id="key-1"),  # other type
    ):
        out = w.reg.submit(env)
        assert out.result.status == "rejected"
        assert out.code == "idempotency.key_reused"
        assert out.kind == "conflict"
        assert out.result.duplicate
        assert out.result.fingerprint is None
        assert out.events == []
        assert len(w.reg.events) == n_events
        assert dump_state(w.reg.state) == before

    # The original is still answered as before.
    again = w.reg.when(programme_cmd(["TAX-pd1"], 1), w.gov_admin, command_id="key-1")
    assert again.accepted
    assert again.result.duplicate
    assert again.result.first_seq == first.result.first_seq


def test_rejected_command_retried_gets_the_same_rejection() -> None:
    w = world()
    env = w.reg.envelope(programme_cmd(["TAX-nobody"]), w.gov_admin, command_id="key-1")
    first = w.reg.submit(env)
    assert first.code == "programme.proponent_not_found"
    before = dump_state(w.reg.state)
    second = w.reg.submit(env)
    assert second.result.duplicate
    assert second.result.status == "rejected"
    assert second.result.error == first.result.error
    assert second.result.fingerprint == first.result.fingerprint
    assert second.events == []
    assert dump_state(w.reg.state) == before


def test_rejection_is_remembered_even_when_it_would_now_succeed() -> None:
    """A retried id gets its first outcome, even after the world has changed."""
    w = world()
    env = w.reg.envelope(programme_cmd(["TAX-late"]), ROOT, command_id="key-1")
    assert w.reg.submit(env).code == "programme.proponent_not_found"
    w.reg.register(ROOT, org_cmd("ProgrammeDeveloper", "late"))
    again = w.reg.submit(env)
    assert again.code == "programme.proponent_not_found"
    assert again.result.duplicate


def test_results_round_trip_through_their_bytes() -> None:
    w = world()
    outs = [
        w.reg.when(programme_cmd(["TAX-pd1"], 1), ROOT, command_id="a"),
        w.reg.when(programme_cmd(["TAX-pd1"], 1), ROOT, command_id="a"),
        w.reg.when(programme_cmd(["TAX-pd1"], 2), ROOT, command_id="a"),
        w.reg.when(programme_cmd(["TAX-x"], 3), ROOT, command_id="b"),
    ]
    for out in outs:
        decoded = decode_result(out.result_raw)
        assert decoded.model_dump(mode="json") == out.result.model_dump(mode="json")


def test_undecodable_command_is_refused_as_malformed() -> None:
    state = RegistryState(registry=REGISTRY)
    out = Decided()
    decide_one(state, CommandRecord(7, b"\xff", None, "bad json"), NOW, out)
    assert out.events == []
    [(res, _)] = out.results
    assert res.command_id == "undecodable-7"
    assert res.status == "rejected"
    assert res.error is not None
    assert res.error.code == "command.malformed"
    assert res.error.details == {"reason": "bad json"}
    assert state.processed == {}


# ---- the chain --------------------------------------------------------------------------


def assert_chain(reg: Registry) -> None:
    prev = GENESIS_HASH
    for i, (env, raw) in enumerate(reg.events, start=1):
        assert env.seq == i
        assert env.prev_hash == prev
        assert chain_hash(prev, decode_raw(raw)) == env.hash
        assert decode_event(raw) == env
        prev = env.hash
    assert reg.state.last_seq == len(reg.events)
    assert reg.state.last_hash == prev


def decode_raw(raw: bytes) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(raw)
    return body


def test_seq_is_dense_and_every_event_chains_to_the_one_before() -> None:
    w = world()
    for n in range(20):
        w.reg.when(programme_cmd(["TAX-pd1"], n), w.gov_admin)
        w.reg.when(programme_cmd(["TAX-nobody"], f"bad{n}"), w.gov_admin)  # refused: no event
        w.reg.when(org_cmd("ProgrammeDeveloper", f"x{n}"), ROOT)
        w.reg.when(org_cmd("ProgrammeDeveloper", f"x{n}"), w.gov_admin)  # taken: no event
    assert len(w.reg.state.programmes) == 20
    assert_chain(w.reg)
    seqs = [e.seq for e, _ in w.reg.events]
    assert seqs == list(range(1, len(seqs) + 1))


def test_aggregate_versions_follow_the_events() -> None:
    w = world()
    w.reg.when(programme_cmd(["TAX-pd1"], 1), ROOT)
    versions: dict[str, int] = {}
    for env, _ in w.reg.events:
        versions[env.aggregate_id] = versions.get(env.aggregate_id, 0) + 1
        assert env.aggregate_version == versions[env.aggregate_id]
    assert w.reg.state.aggregate_versions == versions


# ---- replay equivalence -----------------------------------------------------------------


def test_replaying_every_event_rebuilds_the_live_state() -> None:
    w = world()
    for n in range(5):
        w.reg.when(programme_cmd(["TAX-pd1", "TAX-pd2"], n), w.pd2_admin)
        w.reg.when(org_cmd("Ministry", f"m{n}", sectoral_scopes=["7", "1"]), ROOT)
    w.reg.when(programme_cmd(["TAX-pd1"], "dup", external_id="EXT-1"), ROOT)  # refused
    live = w.reg.state
    fresh = w.reg.replayed()
    assert fresh.processed == {}
    assert same_state_but_processed(fresh, live)


def test_restore_from_events_and_results_rebuilds_idempotency_too() -> None:
    w = world()
    w.reg.when(programme_cmd(["TAX-pd1"], 1), ROOT, command_id="ok")
    w.reg.when(programme_cmd(["TAX-nobody"], 2), ROOT, command_id="no")
    w.reg.when(programme_cmd(["TAX-pd1"], 1), ROOT, command_id="ok")  # duplicate
    w.reg.when(programme_cmd(["TAX-pd1"], 3), ROOT, command_id="ok")  # key reused
    w.reg.when({"credit_est": 0}, ROOT, command_id="bad", type_="CreateProgramme")  # invalid
    restored = w.reg.restored()
    assert dump_state(restored) == dump_state(w.reg.state)

    # The restored writer answers retries exactly as the live one does.
    live, again = w.reg, Registry(state=restored)
    for cid, body in [
        ("ok", programme_cmd(["TAX-pd1"], 1)),
        ("no", programme_cmd(["TAX-nobody"], 2)),
    ]:
        a = live.when(body, ROOT, command_id=cid).result.model_dump(mode="json")
        b = again.when(body, ROOT, command_id=cid).result.model_dump(mode="json")
        assert a == b


def test_replay_refuses_a_gap_an_alteration_or_a_foreign_chain() -> None:
    w = world()
    raws = w.reg.raws
    fresh = RegistryState(registry=REGISTRY)
    apply_event_bytes(fresh, raws[0])
    with pytest.raises(CorruptLog, match="expected seq 2, found 3"):
        apply_event_bytes(fresh, raws[2])
    altered = raws[1].replace(b"Government of Testland", b"Government of Testlanx")
    assert altered != raws[1]
    with pytest.raises(CorruptLog, match="seq 2: hash does not match"):
        apply_event_bytes(fresh, altered)
    other = Registry()
    other.when(initialise_cmd(country_name="Otherland"), SYSTEM_ACTOR)
    with pytest.raises(CorruptLog, match="seq 2: prev_hash does not match"):
        apply_event_bytes(fresh, other.raws[1])
    # Nothing was folded in by the refused events.
    assert fresh.last_seq == 1
    assert fresh.organisations == {}
    apply_event_bytes(fresh, raws[1])
    assert fresh.last_seq == 2


def test_replay_refuses_events_of_another_registry() -> None:
    other = Registry(state=RegistryState(registry="otherland"))
    other.when(initialise_cmd(), SYSTEM_ACTOR)
    mine = RegistryState(registry=REGISTRY)
    with pytest.raises(CorruptLog):
        apply_event_bytes(mine, other.raws[0])


# ---- property: random command sequences ---------------------------------------------------

ACTORS = ("root", "gov_admin", "pd_admin", "unknown", "system")
ROLES = (
    "ProgrammeDeveloper",
    "ProgrammeDeveloper",
    "ProgrammeDeveloper",
    "Certifier",
    "Ministry",
    "API",
    "Government",
)
# "t1" collides with "T1" (tax ids are unique case-insensitively); "C1" is for certifiers.
TAX_POOL = ("T1", "t1", "T2", "T3", "C1")


@dataclass(frozen=True)
class Step:
    kind: str  # "org" | "prog" | "retry"
    actor: str
    a: int
    b: int
    c: int
    d: int


step_strategy = st.builds(
    Step,
    kind=st.sampled_from(("org", "org", "prog", "prog", "prog", "retry")),
    actor=st.sampled_from(ACTORS),
    a=st.integers(0, 5),
    b=st.integers(0, 5),
    c=st.integers(0, 5),
    d=st.integers(0, 5),
)


class Run:
    """A registry with a Government admin; commands are built from small pools of ids so
    collisions (and therefore refusals) are frequent."""

    def __init__(self) -> None:
        self.reg = Registry()
        self.reg.initialise()
        self.gov_admin = self.reg.given_user(GOV_COMPANY_ID, UserRole.ADMIN)
        self.sent: list[tuple[str, Actor, str, dict[str, Any]]] = []
        self.first_outcome: dict[str, dict[str, Any]] = {}
        self.bodies: dict[str, tuple[str, Actor, dict[str, Any]]] = {}

    def actor(self, name: str) -> Actor:
        if name.startswith("root"):
            return ROOT
        if name.startswith("gov_admin"):
            return self.gov_admin
        if name.startswith("system"):
            return SYSTEM_ACTOR
        if name.startswith("pd_admin"):
            s = self.reg.state
            admins = [
                u.user_id
                for u in s.users.values()
                if s.organisations[u.company_id].role.value == "ProgrammeDeveloper"
            ]
            if admins:
                return Actor(kind="user", user_id=admins[int(name[-1]) % len(admins)])
        return UNKNOWN

    def command(self, step: Step) -> tuple[str, dict[str, Any]]:
        if step.kind == "org":
            role = ROLES[step.a % len(ROLES)]
            body = org_cmd(role, step.b)
            if role in ("ProgrammeDeveloper", "Certifier"):
                body["tax_id"] = TAX_POOL[step.c % len(TAX_POOL)]
                body["payment_id"] = f"P{step.d}"
            body["email"] = f"org{step.d}@orgs.example.org"
            return "RegisterOrganisation", body
        proponents = [TAX_POOL[step.a % len(TAX_POOL)]]
        if step.b % 3 == 0:
            proponents.append(TAX_POOL[(step.a + 3) % len(TAX_POOL)])
        body = programme_cmd(proponents, step.c)
        body["environmental_assessment_registration_no"] = f"EIA-{step.d}"
        if len(proponents) == 2 and step.d % 2:
            body["proponent_percentages"] = ["40", "50"]  # wrong sum
        return "CreateProgramme", body

    def do(self, i: int, step: Step) -> None:
        if step.kind == "retry" and self.sent:
            cid, actor, type_, payload = self.sent[step.a % len(self.sent)]
            if step.b == 0:  # same id, another body
                payload = {**payload, "name": "Changed", "title": "Changed"}
        else:  # a new command (a "retry" with nothing sent yet becomes a programme)
            cid = f"c{i}"
            type_, payload = self.command(step)
            actor = self.actor(f"{step.actor}{step.d}")
            self.sent.append((cid, actor, type_, payload))
        out = self.reg.when(payload, actor, command_id=cid, type_=type_)
        res = out.result.model_dump(mode="json")
        first = self.first_outcome.get(cid)
        if first is None:
            assert not out.result.duplicate
            self.first_outcome[cid] = res
            self.bodies[cid] = (type_, actor, payload)
            return
        assert out.result.duplicate
        assert out.events == []
        if (type_, actor, payload) == self.bodies[cid]:
            for key in ("status", "first_seq", "last_seq", "aggregate_ids", "error"):
                assert res.get(key) == first.get(key)
        else:
            assert out.code == "idempotency.key_reused"

    def check(self) -> None:
        s = self.reg.state
        # Seqs dense, every event chained.
        assert_chain(self.reg)
        # Tax ids, payment ids and e-mails unique among organisations.
        taxes = [o.tax_id.lower() for o in s.organisations.values() if o.tax_id is not None]
        assert len(taxes) == len(set(taxes))
        pays = [o.payment_id.lower() for o in s.organisations.values() if o.payment_id]
        assert len(pays) == len(set(pays))
        emails = [o.email for o in s.organisations.values()]
        assert len(emails) == len(set(emails))
        users = [u.email for u in s.users.values()]
        assert len(users) == len(set(users))
        # No two programmes share an external id or an assessment number.
        ext = [p.external_id for p in s.programmes.values()]
        assert len(ext) == len(set(ext))
        eia = [p.eia_number for p in s.programmes.values()]
        assert len(eia) == len(set(eia))
        # Percentages add up and proponents are developers.
        for p in s.programmes.values():
            assert sum(p.percentages) == 100
            assert all(s.organisations[c].role.value == "ProgrammeDeveloper" for c in p.proponents)
        # Exactly one idempotency record per command id (the initialise command included).
        assert set(s.processed) == set(self.first_outcome) | {"cmd-1"}
        for cid, first in self.first_outcome.items():
            assert s.processed[cid].status == first["status"]
            assert s.processed[cid].first_seq == first.get("first_seq")
        # The state rebuilt from the events equals the live one; with the results, exactly.
        assert same_state_but_processed(self.reg.replayed(), s)


# A few registrations first (any actor), so that later programmes often find their proponents.
setup_strategy = st.builds(
    Step,
    kind=st.just("org"),
    actor=st.sampled_from(ACTORS),
    a=st.integers(0, 2),  # a programme developer
    b=st.integers(0, 5),
    c=st.integers(0, 3),  # a developer's tax id
    d=st.integers(0, 5),
)
steps_strategy = st.tuples(
    st.lists(setup_strategy, max_size=4), st.lists(step_strategy, min_size=1, max_size=20)
).map(lambda t: t[0] + t[1])


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps_strategy)
def test_invariants_hold_after_every_step(steps: list[Step]) -> None:
    run = Run()
    for i, step in enumerate(steps):
        run.do(i, step)
        run.check()
    assert dump_state(run.reg.restored()) == dump_state(run.reg.state)

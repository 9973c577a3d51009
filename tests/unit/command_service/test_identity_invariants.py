"""No sequence of commands lets a user act outside its rights (issue #3).

A hypothesis state machine sends random identity commands (create, update, delete users;
register, self-register, approve, reject, update, suspend, activate organisations) from
random actors — every user ever created, deleted and pending ones included, Root, the public
— at random targets, through ``decide_one``. Per step it checks, against the state before:

* a ViewOnly user, a user of a suspended organisation, and a deleted, pending or unknown
  user never change anything (refused, state unchanged but for the idempotency record);
* a company (non-Government) user never creates, updates or deletes a user of another
  organisation, nor updates another organisation;
* nobody changes their own role, and nobody but Root changes the Root;

and after every step: there is exactly one Root and it is never deleted; every organisation
keeps at least one live Admin; e-mails, tax ids and payment ids index exactly the live
holders. At the end, replaying the events gives the live state.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from command_service.domain.state import RegistryState, User, dump_state
from schemas.commands.base import CommandPayload
from schemas.commands.credits import ActivateOrganisation, SuspendOrganisation
from schemas.commands.organisation import (
    ApproveOrganisation,
    RejectOrganisation,
    UpdateOrganisation,
)
from schemas.commands.users import CreateUser, DeleteUser, UpdateUser
from schemas.enums import CompanyRole, CompanyState, UserRole
from schemas.envelope import Actor
from tests.unit.command_service.cast import build_cast
from tests.unit.command_service.helpers import PUBLIC, ROOT_USER_ID, Outcome, org_cmd, user

BASE = build_cast()
ROLES = st.sampled_from(list(UserRole))
PICK = st.integers(0, 10_000)


def without_processed(s: RegistryState) -> bytes:
    return dump_state(dataclasses.replace(s, processed={}))


def live_admins(s: RegistryState, company_id: int) -> list[User]:
    return [
        u
        for u in s.users.values()
        if u.company_id == company_id
        and not u.deleted
        and u.role in (UserRole.ADMIN, UserRole.ROOT)
    ]


class IdentityMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.cast = copy.deepcopy(BASE)
        self.reg = self.cast.reg
        self.n = 0
        self.accepted: dict[str, int] = {}

    # ---- helpers ----

    @property
    def s(self) -> RegistryState:
        return self.reg.state

    def actor(self, i: int) -> Actor:
        """Any user ever created (deleted, pending included), sometimes an unknown one."""
        ids = sorted(self.s.users)
        if i % 17 == 16:
            return user(10_000 + i)
        if i % 7 == 0:  # the powerful ones, more often than their share
            return user(ROOT_USER_ID)
        if i % 7 == 1:
            return self.cast.actors[("Government", "Admin")]
        return user(ids[i % len(ids)])

    def company(self, i: int) -> int:
        ids = sorted(self.s.organisations)
        return ids[i % len(ids)]

    def target_user(self, i: int) -> int:
        ids = sorted(self.s.users)
        return ids[i % len(ids)]

    def email(self) -> str:
        self.n += 1
        return f"u{self.n}@machine.example.org"

    def run(self, command: CommandPayload | dict[str, Any], actor: Actor, **kw: Any) -> Outcome:
        before_state = copy.deepcopy(self.s)
        before = without_processed(self.s)
        out = self.reg.when(command, actor, **kw)
        if out.accepted:
            self.accepted[out.result.command_type] = (
                self.accepted.get(out.result.command_type, 0) + 1
            )
        self.check_step(before_state, actor, out)
        if not out.accepted:
            assert without_processed(self.s) == before, "a refused command changed the state"
        return out

    def check_step(self, before: RegistryState, actor: Actor, out: Outcome) -> None:
        if actor.kind != "user":
            return
        u = before.users.get(actor.user_id or 0)
        if u is None or u.deleted or u.pending:
            assert out.code == "auth.unknown_actor", out.result
            return
        org = before.organisations[u.company_id]
        if u.role is UserRole.VIEW_ONLY:
            assert not out.accepted, f"a ViewOnly user changed something: {out.types}"
        if org.state is not CompanyState.ACTIVE:
            assert not out.accepted, f"a user of a {org.state.value} organisation wrote"
        if not out.accepted:
            return
        government = org.role is CompanyRole.GOVERNMENT
        registered = {
            getattr(p, "company_id", None)
            for name, p in zip(out.types, out.payloads, strict=True)
            if name == "OrganisationRegistered"
        }
        for name, payload in zip(out.types, out.payloads, strict=True):
            company_id = getattr(payload, "company_id", None)
            # Users of other organisations: only the Government creates there (while it
            # has no Admin), only Root deletes there, nobody updates there (4.2).
            if name == "UserCreated" and not government and company_id not in registered:
                assert company_id == u.company_id, f"{u} created a user in {company_id}"
            if name == "UserDeleted" and u.role is not UserRole.ROOT:
                assert company_id == u.company_id, f"{u} deleted a user of {company_id}"
            if name in ("UserUpdated", "OrganisationUpdated"):
                assert company_id == u.company_id, f"{u} updated {name} of {company_id}"
            if name == "UserUpdated":
                target = before.users[payload.user_id]  # type: ignore[attr-defined]
                if target.user_id == u.user_id:
                    assert payload.role is target.role, "someone changed their own role"  # type: ignore[attr-defined]
                if target.role is UserRole.ROOT:
                    assert u.role is UserRole.ROOT, "someone but Root changed the Root"

    # ---- users ----

    @rule(a=PICK, c=PICK, role=ROLES, own=st.booleans())
    def create_user(self, a: int, c: int, role: UserRole, own: bool) -> None:
        company = None if own else self.company(c)
        cmd = CreateUser(email=self.email(), name="Someone", role=role, company_id=company)
        self.run(cmd, self.actor(a))

    @rule(a=PICK, t=PICK, role=st.none() | ROLES, rename=st.booleans(), myself=st.booleans())
    def update_user(
        self, a: int, t: int, role: UserRole | None, rename: bool, myself: bool
    ) -> None:
        actor = self.actor(a)
        target = actor.user_id if myself and actor.user_id else self.target_user(t)
        cmd = UpdateUser(user_id=target or 1, role=role, name=f"Name {self.n}" if rename else None)
        self.run(cmd, actor)

    @rule(a=PICK, t=PICK, myself=st.booleans())
    def delete_user(self, a: int, t: int, myself: bool) -> None:
        actor = self.actor(a)
        target = actor.user_id if myself and actor.user_id else self.target_user(t)
        self.run(DeleteUser(user_id=target or 1), actor)

    @rule(t=PICK)
    def delete_root(self, t: int) -> None:
        """Everyone, Root included, tries to delete the Root."""
        self.run(DeleteUser(user_id=ROOT_USER_ID), self.actor(t))

    # ---- organisations ----

    @rule(a=PICK, role=st.sampled_from(["ProgrammeDeveloper", "Certifier", "Ministry", "API"]))
    def register(self, a: int, role: str) -> None:
        self.n += 1
        self.run(org_cmd(role, f"m{self.n}"), self.actor(a), type_="RegisterOrganisation")

    @rule(role=st.sampled_from(["ProgrammeDeveloper", "Certifier", "Ministry"]))
    def self_register(self, role: str) -> None:
        self.n += 1
        body = org_cmd("ProgrammeDeveloper", f"s{self.n}")
        body["role"] = role
        self.run(body, PUBLIC, type_="SelfRegisterOrganisation")

    @rule(a=PICK, c=PICK, approve=st.booleans())
    def decide_registration(self, a: int, c: int, approve: bool) -> None:
        pending = sorted(
            o.company_id
            for o in self.s.organisations.values()
            if o.state in (CompanyState.PENDING, CompanyState.REJECTED)
        )
        cid = pending[c % len(pending)] if pending else self.company(c)
        cmd: CommandPayload = (
            ApproveOrganisation(company_id=cid)
            if approve
            else RejectOrganisation(company_id=cid, remarks="no")
        )
        self.run(cmd, self.actor(a))

    @rule(a=PICK, c=PICK, change=st.sampled_from(["name", "phone", "email", "clear"]))
    def update_organisation(self, a: int, c: int, change: str) -> None:
        cid = self.company(c)
        values: dict[str, Any] = {
            "name": {"name": f"Org {self.n}"},
            "phone": {"phone": "+1 555 0100"},
            "email": {"email": self.email()},
            "clear": {"clear": ["phone", "website"]},
        }[change]
        self.run(UpdateOrganisation(company_id=cid, **values), self.actor(a))

    @rule(a=PICK, c=PICK, suspend=st.booleans())
    def suspend_or_activate(self, a: int, c: int, suspend: bool) -> None:
        cid = self.company(c)
        cmd: CommandPayload = (
            SuspendOrganisation(company_id=cid) if suspend else ActivateOrganisation(company_id=cid)
        )
        self.run(cmd, self.actor(a))

    # ---- invariants ----

    @invariant()
    def one_root_never_deleted(self) -> None:
        roots = [u for u in self.s.users.values() if u.role is UserRole.ROOT]
        assert [u.user_id for u in roots] == [ROOT_USER_ID]
        assert not roots[0].deleted

    @invariant()
    def every_organisation_keeps_an_admin(self) -> None:
        for cid in self.s.organisations:
            assert live_admins(self.s, cid), f"organisation {cid} lost its last Admin"

    @invariant()
    def unique_values_index_exactly_the_live_holders(self) -> None:
        s = self.s
        live = {u.email: u.user_id for u in s.users.values() if not u.deleted}
        assert len(live) == len([u for u in s.users.values() if not u.deleted])
        assert s.user_emails == live
        assert s.org_emails == {o.email: o.company_id for o in s.organisations.values()}
        assert s.payment_ids == {
            o.payment_id.lower(): o.company_id
            for o in s.organisations.values()
            if o.payment_id is not None
        }

    def teardown(self) -> None:
        if hasattr(self, "reg"):
            replayed = self.reg.replayed()
            assert without_processed(replayed) == without_processed(self.s)


IdentityMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIdentityInvariants = IdentityMachine.TestCase


# ---- the machine reaches the interesting places, and its checks can fail ------------------


def scripted() -> IdentityMachine:
    m = IdentityMachine()
    m.setup()
    gov_admin = m.cast.actors[("Government", "Admin")]
    dev_admin = m.cast.actors[("ProgrammeDeveloper", "Admin")]
    dev = m.cast.companies["ProgrammeDeveloper"]
    staff = m.cast.staff[dev]
    m.self_register("ProgrammeDeveloper")
    cid = max(m.s.organisations)
    m.run(RejectOrganisation(company_id=cid, remarks="no"), gov_admin)
    m.run(ApproveOrganisation(company_id=cid), gov_admin)
    m.run(CreateUser(email=m.email(), name="N", role=UserRole.MANAGER), dev_admin)
    m.run(UpdateUser(user_id=staff, role=UserRole.ADMIN, name="Promoted"), dev_admin)
    m.run(DeleteUser(user_id=staff), dev_admin)
    m.run(UpdateOrganisation(company_id=dev, email=m.email()), dev_admin)
    return m


def test_the_scripted_run_reaches_every_kind_of_change() -> None:
    m = scripted()
    for kind in (
        "SelfRegisterOrganisation",
        "RejectOrganisation",
        "ApproveOrganisation",
        "CreateUser",
        "UpdateUser",
        "DeleteUser",
    ):
        assert m.accepted.get(kind) == 1, (kind, m.accepted)
    m.teardown()


def test_the_invariants_catch_a_lost_admin_and_a_stale_email() -> None:
    import pytest

    m = scripted()
    dev = m.cast.companies["ProgrammeDeveloper"]
    for u in live_admins(m.s, dev):
        u.deleted = True
    with pytest.raises(AssertionError):
        m.every_organisation_keeps_an_admin()
    m = scripted()
    m.s.user_emails["ghost@machine.example.org"] = 999
    with pytest.raises(AssertionError):
        m.unique_values_index_exactly_the_live_holders()

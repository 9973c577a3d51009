"""The whole permission matrix, decided by the single writer: actor role x organisation role
x action x target (own organisation / another one / the Government), and again with the
actor's organisation suspended.

The expected outcomes are written below from domain.md section 4 (4.1, 4.2, 12, 17), not
from the implementation; the cases are generated from that compact table and every one runs
a real command through ``decide_one`` on a copy of one registry. Deliberate choices where
the source leaves room (each noted in the table): ViewOnly changes nothing, not even its own
profile; nobody deletes themselves (README); suspension and settings stay with Government
admins as issue #4 decided (4.2 would also let Government Managers and Ministries suspend).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from command_service.domain.errors import Forbidden
from command_service.domain.permissions import Action, require, resolve
from schemas.commands.base import CommandPayload
from schemas.commands.credits import SuspendOrganisation
from schemas.commands.organisation import (
    ApproveOrganisation,
    RegisterOrganisation,
    RejectOrganisation,
    UpdateOrganisation,
)
from schemas.commands.users import CreateUser, DeleteUser, UpdateUser
from schemas.enums import UserRole
from schemas.envelope import Actor
from schemas.events.organisation import OrganisationSuspended
from tests.unit.command_service.cast import (
    API,
    CERT,
    COMPANY_ROLES,
    DEV,
    GOV,
    MIN,
    Cast,
    build_cast,
)
from tests.unit.command_service.helpers import GOV_COMPANY_ID, ROOT_USER_ID, org_cmd

USER_ROLES = ("Admin", "Manager", "ViewOnly")
ACTORS = [(GOV, "Root"), *itertools.product(COMPANY_ROLES, USER_ROLES)]

OK = "ok"
F = "auth.forbidden"
OTHER = "user.other_organisation"
SELF = "user.only_self"
NOT_OWN = "organisation.not_own"
HAS_ADMIN = "user.company_has_admin"
GOV_SUSPEND = "organisation.cannot_suspend_government"
F3 = (F, F, F)

# ---- the expected matrix (domain.md 4) --------------------------------------------------
# Actor patterns: "Root", "<company role>/<user role>", "*/<user role>" (most specific wins).
# Targeted actions give (own organisation, another organisation, the Government); for a
# Government actor its own organisation is the Government, so only (own, other) are used.
TARGETED: dict[str, dict[str, tuple[str, ...]]] = {
    # 4.1/12.2/17: Admins add users to their own organisation; the Government (Admin, Root)
    # also to another one, only while it has no Admin. Managers and ViewOnly never.
    "user.create": {
        "Root": (OK, HAS_ADMIN),
        "Government/Admin": (OK, HAS_ADMIN),
        "*/Admin": (OK, OTHER, OTHER),
        "*/Manager": F3,
        "*/ViewOnly": F3,
    },
    # 4.2: Admins update users of their own organisation only (Government and Ministry
    # Admins too); Root "manages all except updating users of other companies"; Managers
    # update only themselves; ViewOnly nothing.
    "user.update": {
        "Root": (OK, OTHER),
        "*/Admin": (OK, OTHER, OTHER),
        "*/Manager": (SELF, SELF, SELF),
        "*/ViewOnly": F3,
    },
    "user.promote": {
        "Root": (OK, OTHER),
        "*/Admin": (OK, OTHER, OTHER),
        "*/Manager": (SELF, SELF, SELF),
        "*/ViewOnly": F3,
    },
    # 4.2: Admins delete users of their own organisation; Root anyone's.
    "user.delete": {
        "Root": (OK, OK),
        "*/Admin": (OK, OTHER, OTHER),
        "*/Manager": F3,
        "*/ViewOnly": F3,
    },
    # 4.2/12.1: every Admin updates its own organisation; nobody another one (Root and the
    # Government included).
    "organisation.update": {
        "Root": (OK, NOT_OWN),
        "*/Admin": (OK, NOT_OWN, NOT_OWN),
        "*/Manager": F3,
        "*/ViewOnly": F3,
    },
    # 12.1: never one's own, never the Government. Who: Government admins (issue #4).
    "organisation.suspend": {
        "Root": (GOV_SUSPEND, OK),
        "Government/Admin": (GOV_SUSPEND, OK),
        "*/Admin": F3,
        "*/Manager": F3,
        "*/ViewOnly": F3,
    },
}

UNTARGETED: dict[str, dict[str, str]] = {
    # 4.2: everyone may edit its own profile but not its role; ViewOnly: read only.
    "user.update_self": {"Root": OK, "*/Admin": OK, "*/Manager": OK, "*/ViewOnly": F},
    "user.change_own_role": {
        "Root": "user.own_role",
        "*/Admin": "user.own_role",
        "*/Manager": "user.own_role",
        "*/ViewOnly": F,
    },
    # README: nobody deletes themselves; Root never.
    "user.delete_self": {
        "Root": "user.root_delete",
        "*/Admin": "user.self_delete",
        "*/Manager": F,
        "*/ViewOnly": F,
    },
    # 4.1: only Root manages the Root.
    "user.update_root": {
        "Root": OK,
        "*/Admin": "user.root_protected",
        "*/Manager": "user.root_protected",
        "*/ViewOnly": F,
    },
    "user.delete_root": {
        "Root": "user.root_delete",
        "*/Admin": "user.root_delete",
        "*/Manager": F,
        "*/ViewOnly": F,
    },
    # 12.1/17: Government, Ministry and API admins (and Root) create organisations.
    "organisation.register": {
        "Root": OK,
        "Government/Admin": OK,
        "Ministry/Admin": OK,
        "API/Admin": OK,
        "*/Admin": F,
        "*/Manager": F,
        "*/ViewOnly": F,
    },
    # 12.1: a Government admin (or Root) approves or rejects a self-registration.
    "organisation.approve": {
        "Root": OK,
        "Government/Admin": OK,
        "*/Admin": F,
        "*/Manager": F,
        "*/ViewOnly": F,
    },
    "organisation.reject": {
        "Root": OK,
        "Government/Admin": OK,
        "*/Admin": F,
        "*/Manager": F,
        "*/ViewOnly": F,
    },
}

# 4.2 role gates of the programme and credit actions (the decisions then narrow by target:
# ownership, Ministry scopes, stages; those are covered by the credit tests).
NON_VO = ("Admin", "Manager")
ROLE_GATES: dict[Action, set[tuple[str, str]]] = {
    Action.CREATE_PROGRAMME: {*itertools.product((GOV, MIN, DEV), NON_VO), (API, "Admin")},
    Action.DECIDE_PROGRAMME: set(itertools.product((GOV, MIN), NON_VO)),
    Action.CERTIFY_PROGRAMME: set(itertools.product((CERT,), NON_VO)),
    Action.REVOKE_CERTIFICATION: set(itertools.product((CERT, GOV, MIN), NON_VO)),
    Action.ADD_MITIGATION: set(itertools.product((GOV, MIN, DEV), NON_VO)),
    Action.REQUEST_TRANSFER: set(itertools.product((GOV, MIN, DEV), NON_VO)),
    Action.MANAGE_TRANSFER: set(itertools.product((GOV, MIN, DEV), NON_VO)),
    Action.RETIRE_CREDITS: set(itertools.product((GOV, MIN, DEV), NON_VO)),
    Action.DECIDE_RETIREMENT: set(itertools.product((GOV, MIN), NON_VO)),
    # 4.2 also names Ministry admins for settings; issue #4 kept them to the Government.
    Action.CHANGE_SETTINGS: {(GOV, "Admin")},
}


def expected_for(table: dict[str, Any], company_role: str, user_role: str) -> Any:
    if user_role == "Root":
        return table["Root"]
    for key in (f"{company_role}/{user_role}", f"*/{user_role}"):
        if key in table:
            return table[key]
    raise AssertionError(f"no expectation for {company_role}/{user_role}")


def when_suspended(expected: str) -> str:
    """4.2: a suspended organisation's users cannot write (after the role gate)."""
    return F if expected == F else "organisation.not_active"


BASE = build_cast()


def targeted_command(action: str, cast: Cast, target: int, n: int) -> CommandPayload:
    staff = cast.staff[target]
    match action:
        case "user.create":
            return CreateUser(
                email=f"new{n}@matrix.example.org",
                name="New",
                role=UserRole.MANAGER,
                company_id=target,
            )
        case "user.update":
            return UpdateUser(user_id=staff, name="Renamed")
        case "user.promote":
            return UpdateUser(user_id=staff, role=UserRole.ADMIN)
        case "user.delete":
            return DeleteUser(user_id=staff)
        case "organisation.update":
            return UpdateOrganisation(company_id=target, phone="+1 555 0100")
        case "organisation.suspend":
            return SuspendOrganisation(company_id=target)
    raise AssertionError(action)


def untargeted_command(action: str, cast: Cast, me: int) -> CommandPayload:
    match action:
        case "user.update_self":
            return UpdateUser(user_id=me, name="Me Myself")
        case "user.change_own_role":
            return UpdateUser(user_id=me, role=UserRole.VIEW_ONLY)
        case "user.delete_self":
            return DeleteUser(user_id=me)
        case "user.update_root":
            return UpdateUser(user_id=ROOT_USER_ID, name="Renamed Root")
        case "user.delete_root":
            return DeleteUser(user_id=ROOT_USER_ID)
        case "organisation.register":
            return RegisterOrganisation.model_validate(org_cmd(DEV, "registered"))
        case "organisation.approve":
            return ApproveOrganisation(company_id=cast.pending)
        case "organisation.reject":
            return RejectOrganisation(company_id=cast.pending, remarks="incomplete")
    raise AssertionError(action)


@dataclass(frozen=True)
class Case:
    company_role: str
    user_role: str
    action: str
    target: str | None
    suspended: bool
    expected: str

    @property
    def id(self) -> str:
        where = f"@{self.target}" if self.target else ""
        state = "[suspended]" if self.suspended else ""
        return f"{self.company_role}/{self.user_role}:{self.action}{where}{state}"


def cases() -> list[Case]:
    out: list[Case] = []
    for (cr, ur), suspended in itertools.product(ACTORS, (False, True)):
        if suspended and cr == GOV:
            continue  # the Government is never suspended
        for action, table in TARGETED.items():
            outcomes = expected_for(table, cr, ur)
            targets = ("own", "other") if cr == GOV else ("own", "other", "gov")
            for target, expected in zip(targets, outcomes, strict=False):
                exp = when_suspended(expected) if suspended else expected
                out.append(Case(cr, ur, action, target, suspended, exp))
        for action, table in UNTARGETED.items():
            expected = expected_for(table, cr, ur)
            exp = when_suspended(expected) if suspended else expected
            out.append(Case(cr, ur, action, None, suspended, exp))
    return out


CASES = cases()


def test_the_matrix_covers_every_actor_action_and_target() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    per_actor = {(c.company_role, c.user_role) for c in CASES}
    assert per_actor == set(ACTORS)
    # Every outcome of the table occurs, and each refusal code is a real one.
    assert {c.expected for c in CASES} >= {OK, F, OTHER, SELF, NOT_OWN, HAS_ADMIN}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_permission_matrix(case: Case) -> None:
    cast = copy.deepcopy(BASE)
    reg = cast.reg
    actor = cast.actors[(case.company_role, case.user_role)]
    own = cast.companies[case.company_role]
    if case.suspended:
        reg.given(OrganisationSuspended(company_id=own, remarks="matrix"))
    if case.target is None:
        assert actor.user_id is not None
        command = untargeted_command(case.action, cast, actor.user_id)
    else:
        target = {"own": own, "other": cast.other, "gov": GOV_COMPANY_ID}[case.target]
        command = targeted_command(case.action, cast, target, len(reg.events))
    before = len(reg.events)
    out = reg.when(command, actor)
    if case.expected == OK:
        assert out.accepted, out.result
        assert out.events, "an allowed change writes events"
    else:
        assert not out.accepted, f"expected {case.expected}, was accepted: {out.types}"
        assert out.code == case.expected, out.result
        assert len(reg.events) == before


@pytest.mark.parametrize(
    ("action", "company_role", "user_role", "suspended"),
    [
        (a, cr, ur, s)
        for a in ROLE_GATES
        for cr, ur in ACTORS
        for s in (False, True)
        if not (s and cr == GOV)
    ],
    ids=lambda v: str(v),
)
def test_credit_role_gates(
    action: Action, company_role: str, user_role: str, suspended: bool
) -> None:
    cast = copy.deepcopy(BASE)
    if suspended:
        cast.reg.given(OrganisationSuspended(company_id=cast.companies[company_role]))
    principal = resolve(cast.reg.state, cast.actors[(company_role, user_role)])
    granted = user_role == "Root" or (company_role, user_role) in ROLE_GATES[action]
    expected = OK if granted else F
    if suspended:
        expected = when_suspended(expected)
    try:
        require(principal, action)
        got = OK
    except Forbidden as exc:
        got = exc.code
    assert got == expected


def test_a_government_admin_adds_the_first_admin_of_an_adminless_organisation() -> None:
    """The one case where the Government reaches into another organisation (17)."""
    from schemas.enums import CompanyRole, CompanyState
    from schemas.events.organisation import OrganisationRegistered

    cast = copy.deepcopy(BASE)
    cast.reg.given(
        OrganisationRegistered(
            company_id=cast.reg.state.next_company_id,
            name="Imported",
            role=CompanyRole.CERTIFIER,
            state=CompanyState.ACTIVE,
            tax_id="TAX-IMPORTED",
            payment_id="PAY-IMPORTED",
            email="imported@matrix.example.org",
            phone=None,
            website=None,
            address=None,
            country_code="TL",
            sectoral_scopes=[],
            minister_name=None,
        )
    )
    target = cast.reg.state.next_company_id - 1
    cmd = CreateUser(
        email="first@imported.example.org", name="F", role=UserRole.ADMIN, company_id=target
    )
    for cr, ur in ACTORS:
        out = copy.deepcopy(cast.reg).when(cmd, cast.actors[(cr, ur)])
        if (cr, ur) in {(GOV, "Root"), (GOV, "Admin")}:
            assert out.accepted, out.result
        else:
            assert out.code == (F if ur != "Admin" else OTHER), (cr, ur, out.code)


@pytest.mark.parametrize("kind", ["pending", "deleted", "unknown"])
def test_users_who_are_not_active_never_act(kind: str) -> None:
    cast = copy.deepcopy(BASE)
    reg = cast.reg
    if kind == "pending":
        actor = reg.given_user(cast.companies[DEV], UserRole.ADMIN, pending=True)
    elif kind == "deleted":
        actor = cast.actors[(DEV, "Manager")]
        out = reg.when(DeleteUser(user_id=actor.user_id or 0), cast.actors[(DEV, "Admin")])
        assert out.accepted
    else:
        actor = Actor(kind="user", user_id=10_000)
    for action in UNTARGETED:
        out = reg.when(untargeted_command(action, cast, actor.user_id or 0), actor)
        assert out.code == "auth.unknown_actor", (action, out.result)

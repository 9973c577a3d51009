"""Registry setup and organisation registration: given past events, when a command, then
events or a refusal (domain.md sections 4 and 12.1)."""

from __future__ import annotations

import pytest

from command_service.domain.state import dump_state
from schemas.enums import CompanyRole, CompanyState, SectoralScope, UserRole
from schemas.envelope import SYSTEM_ACTOR, Actor
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.registry import RegistryInitialised
from tests.unit.command_service.helpers import (
    COUNTRY,
    GOV_COMPANY_ID,
    PUBLIC,
    ROOT,
    ROOT_USER_ID,
    UNKNOWN,
    Registry,
    initialise_cmd,
    org_cmd,
    user,
    world,
)

# ---- InitialiseRegistry -----------------------------------------------------------------


def test_initialise_creates_registry_government_and_root() -> None:
    reg = Registry()
    out = reg.when(initialise_cmd(), SYSTEM_ACTOR)
    assert out.accepted
    assert out.types == ["RegistryInitialised", "OrganisationRegistered", "UserCreated"]
    assert [e.seq for e in out.events] == [1, 2, 3]
    assert (out.result.first_seq, out.result.last_seq) == (1, 3)
    assert out.result.aggregate_id == "registry"
    assert out.result.aggregate_ids == ["registry", "organisation-1", "user-1"]
    init, gov, root = out.payloads
    assert init == RegistryInitialised(
        country_code=COUNTRY,
        country_name="Testland",
        credit_unit="ITMO",
        government_company_id=GOV_COMPANY_ID,
        root_user_id=ROOT_USER_ID,
    )
    assert isinstance(gov, OrganisationRegistered)
    assert gov.role is CompanyRole.GOVERNMENT
    assert gov.state is CompanyState.ACTIVE
    assert gov.tax_id == f"00000{COUNTRY}"
    assert gov.country_code == COUNTRY
    assert isinstance(root, UserCreated)
    assert root.role is UserRole.ROOT
    assert root.company_id == GOV_COMPANY_ID
    assert root.email == "root@testland.example.org"
    s = reg.state
    assert s.initialised
    assert s.government_company_id == GOV_COMPANY_ID
    assert s.users[ROOT_USER_ID].role is UserRole.ROOT
    assert s.next_company_id == 2
    assert s.next_user_id == 2


def test_initialise_twice_is_refused() -> None:
    reg = Registry()
    reg.initialise()
    before = dump_state(reg.state)
    out = reg.when(initialise_cmd(country_name="Elsewhere"), SYSTEM_ACTOR)
    assert not out.accepted
    assert out.code == "registry.already_initialised"
    assert out.kind == "conflict"
    assert out.result.error is not None
    assert out.result.error.details == {"country_code": COUNTRY}
    assert out.events == []
    # Only the idempotency record was added.
    reg.state.processed.pop(out.result.command_id)
    assert dump_state(reg.state) == before


@pytest.mark.parametrize("actor", [ROOT, PUBLIC, UNKNOWN], ids=["root", "public", "unknown"])
def test_initialise_by_non_system_actor_is_refused(actor: Actor) -> None:
    reg = Registry()
    out = reg.when(initialise_cmd(), actor)
    assert not out.accepted
    assert out.events == []
    assert not reg.state.initialised
    # A user actor is unknown before setup; anyone else is simply not the operator.
    expected = "auth.unknown_actor" if actor.kind == "user" else "auth.forbidden"
    assert out.code == expected
    assert out.kind == "forbidden"


def test_root_cannot_initialise_an_initialised_registry() -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(initialise_cmd(), ROOT)
    assert out.code == "auth.forbidden"


def test_initialise_with_invalid_body_is_refused_as_invalid() -> None:
    reg = Registry()
    out = reg.when(initialise_cmd(country_code="tl"), SYSTEM_ACTOR, type_="InitialiseRegistry")
    assert out.code == "command.invalid"
    assert out.kind == "invalid"
    assert out.result.error is not None
    assert tuple(out.result.error.details["errors"][0]["loc"]) == ("country_code",)
    assert not reg.state.initialised


def test_unknown_command_type_is_refused() -> None:
    reg = Registry()
    out = reg.when({}, SYSTEM_ACTOR, type_="LaunchRocket")
    assert out.code == "command.unknown_type"


def test_command_for_another_registry_is_refused() -> None:
    reg = Registry()
    out = reg.when(initialise_cmd(), SYSTEM_ACTOR, type_="InitialiseRegistry", registry="other")
    assert out.code == "command.wrong_registry"
    assert not reg.state.initialised


# ---- RegisterOrganisation: who may ------------------------------------------------------


def test_root_registers_a_programme_developer_with_its_first_admin() -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(org_cmd("ProgrammeDeveloper", 1, phone="+678 555"), ROOT)
    assert out.accepted
    assert out.types == ["OrganisationRegistered", "UserCreated"]
    org, admin = out.payloads
    assert isinstance(org, OrganisationRegistered)
    assert isinstance(admin, UserCreated)
    assert org.company_id == 2
    assert org.role is CompanyRole.PROGRAMME_DEVELOPER
    assert org.state is CompanyState.ACTIVE
    assert org.tax_id == "TAX-1"
    assert org.payment_id == "PAY-1"
    assert org.phone == "+678 555"
    assert org.country_code == COUNTRY
    assert admin.user_id == 2
    assert admin.company_id == 2
    assert admin.role is UserRole.ADMIN
    assert not admin.pending
    assert out.result.aggregate_ids == ["organisation-2", "user-2"]
    assert out.result.aggregate_id == "organisation-2"
    assert [e.aggregate_version for e in out.events] == [1, 1]
    assert all(e.actor == ROOT for e in out.events)
    assert reg.state.tax_ids == {"00000tl": 1, "tax-1": 2}


def test_government_admin_registers_an_organisation() -> None:
    reg = Registry()
    reg.initialise()
    gov_admin = reg.given_user(GOV_COMPANY_ID, UserRole.ADMIN)
    out = reg.when(org_cmd("Certifier", 1), gov_admin)
    assert out.accepted
    assert reg.state.organisations[2].role is CompanyRole.CERTIFIER


@pytest.mark.parametrize(
    "who", ["ministry_admin", "api_admin"], ids=["ministry-admin", "api-admin"]
)
def test_ministry_and_api_admins_may_register_organisations(who: str) -> None:
    w = world()
    out = w.reg.when(org_cmd("ProgrammeDeveloper", "new"), getattr(w, who))
    assert out.accepted


@pytest.mark.parametrize(
    "who",
    ["pd1_admin", "pd1_manager", "gov_viewer", "gov_manager", "certifier_admin"],
)
def test_other_users_may_not_register_organisations(who: str) -> None:
    w = world()
    before = dump_state(w.reg.state)
    out = w.reg.when(org_cmd("ProgrammeDeveloper", "new"), getattr(w, who))
    assert not out.accepted
    assert out.code == "auth.forbidden"
    assert out.kind == "forbidden"
    assert out.result.error is not None
    assert out.result.error.details == {"action": "organisation.register"}
    assert out.events == []
    w.reg.state.processed.pop(out.result.command_id)
    assert dump_state(w.reg.state) == before


def test_public_actor_may_not_register_an_organisation() -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(org_cmd("ProgrammeDeveloper", 1), PUBLIC)
    assert out.code == "auth.forbidden"


@pytest.mark.parametrize("actor", [UNKNOWN, Actor(kind="user")], ids=["unknown-id", "no-id"])
def test_unknown_actor_is_refused(actor: Actor) -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(org_cmd("ProgrammeDeveloper", 1), actor)
    assert out.code == "auth.unknown_actor"
    assert out.kind == "forbidden"
    assert out.events == []


def test_pending_user_is_an_unknown_actor() -> None:
    reg = Registry()
    reg.initialise()
    pending = reg.given_user(GOV_COMPANY_ID, UserRole.ADMIN, pending=True)
    out = reg.when(org_cmd("ProgrammeDeveloper", 1), pending)
    assert out.code == "auth.unknown_actor"


# ---- RegisterOrganisation: what ---------------------------------------------------------


def test_government_role_is_refused() -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(org_cmd("Government", 1), ROOT)
    assert out.code == "organisation.government_exists"
    assert out.kind == "conflict"


def test_ministry_may_not_create_a_ministry() -> None:
    w = world()
    out = w.reg.when(org_cmd("Ministry", "min2"), w.ministry_admin)
    assert out.code == "organisation.ministry_creates_ministry"
    assert out.kind == "forbidden"


def test_government_admin_creates_a_ministry_with_sorted_distinct_scopes() -> None:
    reg = Registry()
    reg.initialise()
    gov_admin = reg.given_user(GOV_COMPANY_ID, UserRole.ADMIN)
    out = reg.when(org_cmd("Ministry", 1, sectoral_scopes=["10", "2", "10", "1"]), gov_admin)
    assert out.accepted
    org = out.payloads[0]
    assert isinstance(org, OrganisationRegistered)
    assert org.sectoral_scopes == [
        SectoralScope.ENERGY_INDUSTRY,
        SectoralScope.ENERGY_DISTRIBUTION,
        SectoralScope.FUGITIVE_EMISSIONS_FROM_FUELS,
    ]
    assert org.minister_name == "Minister 1"
    assert reg.state.organisations[org.company_id].sectoral_scopes == ["1", "2", "10"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"sectoral_scopes": []},
        {"minister_name": None},
        {"sectoral_scopes": [], "minister_name": None},
    ],
    ids=["no-scopes", "no-minister", "neither"],
)
def test_ministry_needs_scopes_and_minister(overrides: dict[str, object]) -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(org_cmd("Ministry", 1, **overrides), ROOT)
    assert out.code == "organisation.ministry_fields_required"
    assert out.kind == "invalid"


@pytest.mark.parametrize("role", ["ProgrammeDeveloper", "Certifier"])
@pytest.mark.parametrize("missing", ["tax_id", "payment_id"])
def test_developer_and_certifier_need_tax_and_payment_ids(role: str, missing: str) -> None:
    reg = Registry()
    reg.initialise()
    body = org_cmd(role, 1)
    del body[missing]
    out = reg.when(body, ROOT, type_="RegisterOrganisation")
    assert out.code == "organisation.tax_id_required"
    assert out.kind == "invalid"


def test_api_organisation_needs_no_tax_id() -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(org_cmd("API", 1), ROOT)
    assert out.accepted
    org = out.payloads[0]
    assert isinstance(org, OrganisationRegistered)
    assert org.tax_id is None
    assert org.payment_id is None


@pytest.mark.parametrize(
    ("overrides", "code", "detail"),
    [
        ({"tax_id": "tax-1"}, "organisation.tax_id_taken", {"tax_id": "tax-1"}),
        ({"tax_id": "TAX-1"}, "organisation.tax_id_taken", {"tax_id": "TAX-1"}),
        ({"payment_id": "pay-1"}, "organisation.payment_id_taken", {"payment_id": "pay-1"}),
        (
            {"email": "ORG1@orgs.example.org"},
            "organisation.email_taken",
            {"email": "org1@orgs.example.org"},
        ),
        (
            {"admin": {"email": "Admin1@Orgs.Example.org", "name": "Other"}},
            "user.email_taken",
            {"email": "admin1@orgs.example.org"},
        ),
    ],
    ids=["tax-id-case", "tax-id-exact", "payment-id-case", "org-email-case", "admin-email-case"],
)
def test_uniqueness(overrides: dict[str, object], code: str, detail: dict[str, str]) -> None:
    reg = Registry()
    reg.initialise()
    reg.register(ROOT, org_cmd("ProgrammeDeveloper", 1))
    before = dump_state(reg.state)
    out = reg.when(org_cmd("ProgrammeDeveloper", 2, **overrides), ROOT)
    assert out.code == code
    assert out.kind == "conflict"
    assert out.result.error is not None
    assert out.result.error.details == detail
    assert out.events == []
    reg.state.processed.pop(out.result.command_id)
    assert dump_state(reg.state) == before


def test_government_tax_id_and_email_are_taken_by_setup() -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(org_cmd("ProgrammeDeveloper", 1, tax_id=f"00000{COUNTRY.lower()}"), ROOT)
    assert out.code == "organisation.tax_id_taken"
    out = reg.when(org_cmd("ProgrammeDeveloper", 2, email="gov@testland.example.org"), ROOT)
    assert out.code == "organisation.email_taken"
    out = reg.when(
        org_cmd("ProgrammeDeveloper", 3, admin={"email": "root@testland.example.org", "name": "R"}),
        ROOT,
    )
    assert out.code == "user.email_taken"


def test_ids_are_allocated_in_order() -> None:
    reg = Registry()
    reg.initialise()
    gov_admin = reg.given_user(GOV_COMPANY_ID, UserRole.ADMIN)  # user 2
    a, a_admin = reg.register(gov_admin, org_cmd("ProgrammeDeveloper", 1))
    b, b_admin = reg.register(ROOT, org_cmd("Certifier", 2))
    assert (a, b) == (2, 3)
    assert (a_admin, b_admin) == (user(3), user(4))
    assert reg.state.next_company_id == 4
    assert reg.state.next_user_id == 5


def test_a_new_admin_acts_at_once() -> None:
    """The first admin of a Ministry created in this batch may already register others."""
    reg = Registry()
    reg.initialise()
    _, ministry_admin = reg.register(ROOT, org_cmd("Ministry", 1))
    out = reg.when(org_cmd("ProgrammeDeveloper", 2), ministry_admin)
    assert out.accepted


def test_invalid_body_is_refused_before_permissions() -> None:
    reg = Registry()
    reg.initialise()
    out = reg.when(
        org_cmd("ProgrammeDeveloper", 1, email="not-an-email", unexpected="x"),
        UNKNOWN,
        type_="RegisterOrganisation",
    )
    assert out.code == "command.invalid"
    assert out.result.error is not None
    locs = {tuple(e["loc"]) for e in out.result.error.details["errors"]}
    assert locs == {("email",), ("unexpected",)}


def test_register_before_initialise_is_refused_not_crashing() -> None:
    reg = Registry()
    out = reg.when(org_cmd("Ministry", 1), SYSTEM_ACTOR)
    assert out.code == "registry.not_initialised"

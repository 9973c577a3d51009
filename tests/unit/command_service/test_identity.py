"""Identity commands decided by the single writer: self-registration and its approval or
rejection, updates of one's own organisation, and creating, updating and deleting users
(domain.md 4, 12, 17). The full role x target grid is in test_permission_matrix.py."""

from __future__ import annotations

import copy

import pytest

from schemas.commands.credits import SuspendOrganisation
from schemas.commands.organisation import (
    ApproveOrganisation,
    RejectOrganisation,
    UpdateOrganisation,
)
from schemas.commands.users import CreateUser, DeleteUser, UpdateUser
from schemas.enums import CompanyRole, CompanyState, SectoralScope, UserRole
from schemas.events.organisation import (
    OrganisationApproved,
    OrganisationRegistered,
    OrganisationRejected,
    OrganisationUpdated,
    UserActivated,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from tests.unit.command_service.helpers import (
    GOV_COMPANY_ID,
    PUBLIC,
    ROOT,
    ROOT_USER_ID,
    World,
    ok,
    org_cmd,
    refused,
    same_state_but_processed,
    user,
    world,
)


def self_registration(
    n: str, role: str = "ProgrammeDeveloper", **overrides: object
) -> dict[str, object]:
    body: dict[str, object] = org_cmd("ProgrammeDeveloper", n)
    body["role"] = role
    body.update(overrides)
    return body


def register_pending(w: World, n: str = "new") -> tuple[int, int]:
    out = ok(w.reg.when(self_registration(n), PUBLIC, type_="SelfRegisterOrganisation"))
    org, admin = out.payloads
    assert isinstance(org, OrganisationRegistered)
    assert isinstance(admin, UserCreated)
    return org.company_id, admin.user_id


# ---- self-registration ------------------------------------------------------------------


def test_self_registration_creates_a_pending_organisation_and_pending_admin() -> None:
    w = world()
    out = ok(w.reg.when(self_registration("new"), PUBLIC, type_="SelfRegisterOrganisation"))
    assert out.types == ["OrganisationRegistered", "UserCreated"]
    org, admin = out.payloads
    assert isinstance(org, OrganisationRegistered)
    assert isinstance(admin, UserCreated)
    assert org.state is CompanyState.PENDING
    assert admin.pending
    assert admin.role is UserRole.ADMIN
    assert all(e.actor == PUBLIC for e in out.events)
    s = w.reg.state
    assert s.organisations[org.company_id].state is CompanyState.PENDING
    assert s.users[admin.user_id].pending
    # Neither may act: the admin is not an actor yet.
    refused(
        w.reg.when(
            CreateUser(email="x@new.example.org", name="X", role=UserRole.MANAGER),
            user(admin.user_id),
        ),
        "auth.unknown_actor",
        "forbidden",
    )


@pytest.mark.parametrize("role", ["Ministry", "API", "Government"])
def test_only_developers_and_certifiers_register_themselves(role: str) -> None:
    w = world()
    body = self_registration("x", role=role)
    refused(
        w.reg.when(body, PUBLIC, type_="SelfRegisterOrganisation"),
        "organisation.self_registration_role",
        "invalid",
    )


def test_certifier_registers_itself() -> None:
    w = world()
    ok(
        w.reg.when(
            self_registration("c2", role="Certifier"), PUBLIC, type_="SelfRegisterOrganisation"
        )
    )


@pytest.mark.parametrize("who", ["gov_admin", "pd1_admin"])
def test_self_registration_is_for_the_public_only(who: str) -> None:
    w = world()
    out = w.reg.when(self_registration("x"), getattr(w, who), type_="SelfRegisterOrganisation")
    refused(out, "auth.forbidden", "forbidden")


def test_self_registration_keeps_ids_and_emails_unique() -> None:
    w = world()
    refused(
        w.reg.when(self_registration("pd1"), PUBLIC, type_="SelfRegisterOrganisation"),
        "organisation.tax_id_taken",
        "conflict",
    )
    register_pending(w, "new")
    # A pending registration holds its tax id and its admin's e-mail.
    refused(
        w.reg.when(self_registration("new"), PUBLIC, type_="SelfRegisterOrganisation"),
        "organisation.tax_id_taken",
        "conflict",
    )
    body = self_registration("other", admin={"email": "adminnew@orgs.example.org", "name": "A"})
    refused(
        w.reg.when(body, PUBLIC, type_="SelfRegisterOrganisation"), "user.email_taken", "conflict"
    )


def test_self_registration_needs_tax_and_payment_ids() -> None:
    w = world()
    body = self_registration("x")
    del body["tax_id"]
    out = w.reg.when(body, PUBLIC, type_="SelfRegisterOrganisation")
    assert out.code == "command.invalid"


# ---- approve / reject -------------------------------------------------------------------


def test_government_admin_approves_and_pending_users_become_active() -> None:
    w = world()
    cid, admin_id = register_pending(w)
    out = ok(w.reg.when(ApproveOrganisation(company_id=cid, remarks="welcome"), w.gov_admin))
    assert out.types == ["OrganisationApproved", "UserActivated"]
    approved, activated = out.payloads
    assert approved == OrganisationApproved(company_id=cid, remarks="welcome")
    assert activated == UserActivated(user_id=admin_id, company_id=cid)
    assert out.result.aggregate_ids == [f"organisation-{cid}", f"user-{admin_id}"]
    assert w.reg.state.organisations[cid].state is CompanyState.ACTIVE
    assert not w.reg.state.users[admin_id].pending
    # The new admin acts at once.
    ok(
        w.reg.when(
            CreateUser(email="m@new.example.org", name="M", role=UserRole.MANAGER), user(admin_id)
        )
    )
    refused(
        w.reg.when(ApproveOrganisation(company_id=cid), w.gov_admin),
        "organisation.not_pending",
        "conflict",
    )


def test_reject_then_approve_later() -> None:
    w = world()
    cid, admin_id = register_pending(w)
    out = ok(w.reg.when(RejectOrganisation(company_id=cid, remarks="no documents"), ROOT))
    assert out.payloads == [OrganisationRejected(company_id=cid, remarks="no documents")]
    assert w.reg.state.organisations[cid].state is CompanyState.REJECTED
    assert w.reg.state.users[admin_id].pending
    refused(
        w.reg.when(RejectOrganisation(company_id=cid, remarks="again"), ROOT),
        "organisation.not_pending",
        "conflict",
    )
    # A rejected organisation can still be approved (v1: PENDING or REJECTED).
    ok(w.reg.when(ApproveOrganisation(company_id=cid), w.gov_admin))
    assert w.reg.state.organisations[cid].state is CompanyState.ACTIVE


def test_reject_needs_remarks() -> None:
    w = world()
    cid, _ = register_pending(w)
    out = w.reg.when({"company_id": cid, "remarks": ""}, ROOT, type_="RejectOrganisation")
    assert out.code == "command.invalid"


@pytest.mark.parametrize(
    "who", ["gov_manager", "gov_viewer", "ministry_admin", "pd1_admin", "certifier_admin"]
)
def test_only_government_admins_decide_registrations(who: str) -> None:
    w = world()
    cid, _ = register_pending(w)
    refused(
        w.reg.when(ApproveOrganisation(company_id=cid), getattr(w, who)),
        "auth.forbidden",
        "forbidden",
    )
    refused(
        w.reg.when(RejectOrganisation(company_id=cid, remarks="r"), getattr(w, who)),
        "auth.forbidden",
        "forbidden",
    )


def test_active_organisations_are_not_registrations() -> None:
    w = world()
    refused(
        w.reg.when(ApproveOrganisation(company_id=w.pd1), w.gov_admin),
        "organisation.not_pending",
        "conflict",
    )
    refused(
        w.reg.when(RejectOrganisation(company_id=w.pd1, remarks="r"), w.gov_admin),
        "organisation.not_pending",
        "conflict",
    )
    refused(
        w.reg.when(ApproveOrganisation(company_id=999), w.gov_admin),
        "organisation.not_found",
        "not_found",
    )


def test_pending_organisations_cannot_be_suspended_or_given_users() -> None:
    w = world()
    cid, _ = register_pending(w)
    refused(
        w.reg.when(SuspendOrganisation(company_id=cid), w.gov_admin),
        "organisation.not_suspendable",
        "conflict",
    )
    refused(
        w.reg.when(
            CreateUser(email="z@x.example.org", name="Z", role=UserRole.ADMIN, company_id=cid),
            ROOT,
        ),
        "user.company_has_admin",
        "forbidden",
    )


# ---- update organisation ----------------------------------------------------------------


def test_admin_updates_its_own_organisation() -> None:
    w = world()
    cmd = UpdateOrganisation(
        company_id=w.pd1,
        name="Renamed Ltd",
        email="new@pd1.example.org",
        phone="+1 555 0100",
        website="https://pd1.example.org",
        payment_id="PAY-NEW",
        tax_id="TAX-pd1",  # the current one: harmless
    )
    out = ok(w.reg.when(cmd, w.pd1_admin))
    [updated] = out.payloads
    assert isinstance(updated, OrganisationUpdated)
    assert updated.name == "Renamed Ltd"
    assert updated.email == "new@pd1.example.org"
    assert updated.payment_id == "PAY-NEW"
    s = w.reg.state
    assert s.org_emails["new@pd1.example.org"] == w.pd1
    assert "orgpd1@orgs.example.org" not in s.org_emails
    assert s.payment_ids["pay-new"] == w.pd1
    assert "pay-pd1" not in s.payment_ids
    # The freed e-mail and payment id may be taken by another organisation now.
    ok(w.reg.when(UpdateOrganisation(company_id=w.pd2, payment_id="PAY-PD1"), w.pd2_admin))
    # Clearing optional fields; a no-op writes nothing.
    out = ok(
        w.reg.when(UpdateOrganisation(company_id=w.pd1, clear=["phone", "website"]), w.pd1_admin)
    )
    [cleared] = out.payloads
    assert isinstance(cleared, OrganisationUpdated)
    assert (cleared.phone, cleared.website) == (None, None)
    assert (
        ok(w.reg.when(UpdateOrganisation(company_id=w.pd1, name="Renamed Ltd"), w.pd1_admin)).events
        == []
    )


def test_update_keeps_unique_values_and_the_tax_id() -> None:
    w = world()
    refused(
        w.reg.when(UpdateOrganisation(company_id=w.pd1, tax_id="TAX-other"), w.pd1_admin),
        "organisation.tax_id_immutable",
        "invalid",
    )
    refused(
        w.reg.when(
            UpdateOrganisation(company_id=w.pd1, email="orgpd2@orgs.example.org"), w.pd1_admin
        ),
        "organisation.email_taken",
        "conflict",
    )
    refused(
        w.reg.when(UpdateOrganisation(company_id=w.pd1, payment_id="pay-PD2"), w.pd1_admin),
        "organisation.payment_id_taken",
        "conflict",
    )
    refused(
        w.reg.when(
            UpdateOrganisation(company_id=w.pd1, phone="+1 555", clear=["phone"]), w.pd1_admin
        ),
        "organisation.clear_and_set",
        "invalid",
    )


def test_nobody_updates_another_organisation_not_even_root() -> None:
    w = world()
    for actor in (ROOT, w.gov_admin, w.ministry_admin, w.pd2_admin):
        refused(
            w.reg.when(UpdateOrganisation(company_id=w.pd1, name="Hijacked"), actor),
            "organisation.not_own",
            "forbidden",
        )
    ok(w.reg.when(UpdateOrganisation(company_id=GOV_COMPANY_ID, phone="+1 555 0199"), ROOT))
    refused(
        w.reg.when(UpdateOrganisation(company_id=w.pd1, name="X"), w.pd1_manager),
        "auth.forbidden",
        "forbidden",
    )


def test_ministry_updates_its_scopes_but_keeps_some() -> None:
    w = world()
    out = ok(
        w.reg.when(
            UpdateOrganisation(company_id=w.ministry, sectoral_scopes=[SectoralScope.TRANSPORT]),
            w.ministry_admin,
        )
    )
    assert w.reg.state.organisations[w.ministry].sectoral_scopes == ["7"]
    assert isinstance(out.payloads[0], OrganisationUpdated)
    refused(
        w.reg.when(UpdateOrganisation(company_id=w.ministry, sectoral_scopes=[]), w.ministry_admin),
        "organisation.ministry_fields_required",
        "invalid",
    )


# ---- users ------------------------------------------------------------------------------


def test_admin_creates_a_user_of_its_own_organisation() -> None:
    w = world()
    out = ok(
        w.reg.when(
            CreateUser(email="New@PD1.example.org", name="New", role=UserRole.MANAGER), w.pd1_admin
        )
    )
    [created] = out.payloads
    assert isinstance(created, UserCreated)
    assert created.company_id == w.pd1
    assert created.email == "new@pd1.example.org"
    assert not created.pending
    refused(
        w.reg.when(
            CreateUser(email="new@pd1.example.org", name="Again", role=UserRole.MANAGER),
            w.pd1_admin,
        ),
        "user.email_taken",
        "conflict",
    )


def test_nobody_creates_a_root() -> None:
    w = world()
    for actor in (ROOT, w.gov_admin, w.pd1_admin):
        refused(
            w.reg.when(CreateUser(email="r2@x.example.org", name="R", role=UserRole.ROOT), actor),
            "user.root_creates_root",
            "forbidden",
        )


def test_government_adds_users_elsewhere_only_while_there_is_no_admin() -> None:
    w = world()
    refused(
        w.reg.when(
            CreateUser(email="a@x.example.org", name="A", role=UserRole.ADMIN, company_id=w.pd1),
            w.gov_admin,
        ),
        "user.company_has_admin",
        "forbidden",
    )
    # An organisation without an Admin (e.g. imported): the Government gives it one.
    w.reg.given(
        OrganisationRegistered(
            company_id=50,
            name="Imported",
            role=CompanyRole.PROGRAMME_DEVELOPER,
            state=CompanyState.ACTIVE,
            tax_id="TAX-50",
            payment_id="PAY-50",
            email="imported@x.example.org",
            phone=None,
            website=None,
            address=None,
            country_code="TL",
            sectoral_scopes=[],
            minister_name=None,
        )
    )
    for actor in (w.gov_admin, ROOT):
        ok(
            w.reg.when(
                CreateUser(
                    email=f"m{actor.user_id}@x.example.org",
                    name="M",
                    role=UserRole.MANAGER,
                    company_id=50,
                ),
                actor,
            )
        )
    ok(
        w.reg.when(
            CreateUser(email="a@x.example.org", name="A", role=UserRole.ADMIN, company_id=50),
            w.gov_admin,
        )
    )
    refused(
        w.reg.when(
            CreateUser(email="b@x.example.org", name="B", role=UserRole.ADMIN, company_id=50),
            w.gov_admin,
        ),
        "user.company_has_admin",
        "forbidden",
    )
    # A Ministry admin, with the Government's rights otherwise, adds only to its own.
    refused(
        w.reg.when(
            CreateUser(email="c@x.example.org", name="C", role=UserRole.ADMIN, company_id=w.pd2),
            w.ministry_admin,
        ),
        "user.other_organisation",
        "forbidden",
    )


def test_update_user_rules() -> None:
    w = world()
    mgr = w.pd1_manager.user_id
    assert mgr is not None
    # An Admin promotes and renames a user of its own organisation.
    out = ok(w.reg.when(UpdateUser(user_id=mgr, role=UserRole.ADMIN, name="Promoted"), w.pd1_admin))
    [updated] = out.payloads
    assert updated == UserUpdated(
        user_id=mgr, company_id=w.pd1, name="Promoted", phone=None, role=UserRole.ADMIN
    )
    # Nobody changes their own role (no self-promotion, no self-demotion).
    refused(
        w.reg.when(UpdateUser(user_id=mgr, role=UserRole.MANAGER), user(mgr)),
        "user.own_role",
        "forbidden",
    )
    # A Manager edits only itself, and may do so.
    viewer = w.pd1_viewer.user_id
    assert viewer is not None
    w2 = world()
    refused(
        w2.reg.when(UpdateUser(user_id=viewer, name="X"), w2.pd1_manager),
        "user.only_self",
        "forbidden",
    )
    ok(
        w2.reg.when(
            UpdateUser(user_id=w2.pd1_manager.user_id or 0, phone="+1 555 0123"), w2.pd1_manager
        )
    )
    # ViewOnly users change nothing, not even themselves.
    refused(
        w2.reg.when(UpdateUser(user_id=viewer, name="Me"), w2.pd1_viewer),
        "auth.forbidden",
        "forbidden",
    )
    # Other organisations' users are out of reach (Root included: update only own, 4.2).
    for actor in (w2.gov_admin, ROOT, w2.pd2_admin):
        refused(
            w2.reg.when(UpdateUser(user_id=viewer, name="X"), actor),
            "user.other_organisation",
            "forbidden",
        )
    refused(
        w2.reg.when(UpdateUser(user_id=ROOT_USER_ID, name="Not Root"), w2.gov_admin),
        "user.root_protected",
        "forbidden",
    )
    refused(
        w2.reg.when(UpdateUser(user_id=viewer, role=UserRole.ROOT), w2.pd1_admin),
        "user.root_creates_root",
        "forbidden",
    )
    ok(w2.reg.when(UpdateUser(user_id=ROOT_USER_ID, name="The Root"), ROOT))


def test_the_last_admin_stays() -> None:
    w = world()
    admin = w.pd1_admin.user_id
    assert admin is not None
    refused(
        w.reg.when(UpdateUser(user_id=admin, role=UserRole.MANAGER), ROOT),
        "user.other_organisation",
        "forbidden",
    )
    refused(w.reg.when(DeleteUser(user_id=admin), ROOT), "user.last_admin", "conflict")
    # With a second Admin the first may go (demoted or deleted), never the last.
    second = w.pd1_manager.user_id
    assert second is not None
    ok(w.reg.when(UpdateUser(user_id=second, role=UserRole.ADMIN), w.pd1_admin))
    ok(w.reg.when(UpdateUser(user_id=admin, role=UserRole.MANAGER), user(second)))
    refused(
        w.reg.when(UpdateUser(user_id=second, role=UserRole.MANAGER), w.pd1_admin),
        "user.only_self",
        "forbidden",
    )
    refused(w.reg.when(DeleteUser(user_id=second), ROOT), "user.last_admin", "conflict")


def test_delete_user_rules() -> None:
    w = world()
    viewer = w.pd1_viewer.user_id
    assert viewer is not None
    before = copy.deepcopy(w.reg.state)
    for actor, code in [
        (w.pd1_viewer, "auth.forbidden"),
        (w.pd1_manager, "auth.forbidden"),
        (w.pd2_admin, "user.other_organisation"),
        (w.gov_admin, "user.other_organisation"),
    ]:
        refused(w.reg.when(DeleteUser(user_id=viewer), actor), code, "forbidden")
    assert same_state_but_processed(before, w.reg.state)
    for actor in (ROOT, w.gov_admin, w.pd1_admin):
        refused(
            w.reg.when(DeleteUser(user_id=ROOT_USER_ID), actor), "user.root_delete", "forbidden"
        )
    refused(
        w.reg.when(DeleteUser(user_id=w.pd1_admin.user_id or 0), w.pd1_admin),
        "user.self_delete",
        "forbidden",
    )
    out = ok(w.reg.when(DeleteUser(user_id=viewer), w.pd1_admin))
    assert out.payloads == [UserDeleted(user_id=viewer, company_id=w.pd1)]
    assert w.reg.state.users[viewer].deleted
    refused(w.reg.when(DeleteUser(user_id=viewer), w.pd1_admin), "user.not_found", "not_found")
    refused(
        w.reg.when(UpdateUser(user_id=viewer, name="Back"), w.pd1_admin),
        "user.not_found",
        "not_found",
    )
    # Root deletes users of any organisation.
    ok(w.reg.when(DeleteUser(user_id=w.pd1_manager.user_id or 0), ROOT))


def test_a_deleted_user_cannot_act_and_its_email_is_free() -> None:
    w = world()
    mgr = w.pd1_manager
    email = w.reg.state.users[mgr.user_id or 0].email
    ok(w.reg.when(DeleteUser(user_id=mgr.user_id or 0), w.pd1_admin))
    refused(
        w.reg.when(UpdateUser(user_id=mgr.user_id or 0, name="Ghost"), mgr),
        "auth.unknown_actor",
        "forbidden",
    )
    assert email not in w.reg.state.user_emails
    out = ok(
        w.reg.when(CreateUser(email=email, name="Successor", role=UserRole.MANAGER), w.pd1_admin)
    )
    [created] = out.payloads
    assert isinstance(created, UserCreated)
    assert created.user_id != mgr.user_id
    assert w.reg.state.user_emails[email] == created.user_id


def test_suspended_organisation_users_change_nothing() -> None:
    w = world()
    ok(w.reg.when(SuspendOrganisation(company_id=w.pd1), w.gov_admin))
    for cmd in (
        CreateUser(email="s@x.example.org", name="S", role=UserRole.MANAGER),
        UpdateUser(user_id=w.pd1_admin.user_id or 0, name="Self"),
        DeleteUser(user_id=w.pd1_viewer.user_id or 0),
        UpdateOrganisation(company_id=w.pd1, name="Renamed"),
    ):
        refused(w.reg.when(cmd, w.pd1_admin), "organisation.not_active", "forbidden")


def test_identity_events_replay_to_the_same_state() -> None:
    w = world()
    cid, _ = register_pending(w)
    ok(w.reg.when(ApproveOrganisation(company_id=cid), w.gov_admin))
    cid2, _ = register_pending(w, "late")
    ok(w.reg.when(RejectOrganisation(company_id=cid2, remarks="r"), w.gov_admin))
    ok(
        w.reg.when(
            UpdateOrganisation(company_id=w.pd1, email="x@pd1.example.org", phone="+1 555"),
            w.pd1_admin,
        )
    )
    ok(
        w.reg.when(
            CreateUser(email="u@pd1.example.org", name="U", role=UserRole.VIEW_ONLY), w.pd1_admin
        )
    )
    ok(
        w.reg.when(
            UpdateUser(user_id=w.pd1_viewer.user_id or 0, role=UserRole.MANAGER), w.pd1_admin
        )
    )
    ok(w.reg.when(DeleteUser(user_id=w.pd1_manager.user_id or 0), w.pd1_admin))
    assert same_state_but_processed(w.reg.replayed(), w.reg.state)
    assert same_state_but_processed(w.reg.restored(), w.reg.state)

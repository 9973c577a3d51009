"""Mail of the identity events: a registration waits for the Government, its approval
welcomes the organisation and its admin, a rejection tells the applicant why; profile
updates and deletions send nothing, and the directory follows every change."""

from __future__ import annotations

from projector_service.notifications.messages import MAIL
from schemas.enums import CompanyRole, CompanyState, SectoralScope, UserRole
from schemas.events.organisation import (
    OrganisationApproved,
    OrganisationRejected,
    OrganisationUpdated,
    UserActivated,
    UserDeleted,
    UserUpdated,
)
from tests.unit.notifications.helpers import DEV, World, org, populated, user

NEW = 9


def registered() -> World:
    w = populated()
    w.feed(
        org(
            NEW,
            "Newcomer Ltd",
            CompanyRole.PROGRAMME_DEVELOPER,
            "hello@new.example.org",
            state=CompanyState.PENDING,
        )
    )
    w.feed(user(40, NEW, "nia@new.example.org", "Nia", UserRole.ADMIN, pending=True))
    return w


def test_every_identity_event_is_decided_on() -> None:
    for cls in (
        OrganisationApproved,
        OrganisationRejected,
        OrganisationUpdated,
        UserActivated,
        UserUpdated,
        UserDeleted,
    ):
        assert cls in MAIL


def test_a_registration_waits_for_the_government_and_its_admin_hears_nothing_yet() -> None:
    w = populated()
    msgs = w.feed(
        org(
            NEW,
            "Newcomer Ltd",
            CompanyRole.PROGRAMME_DEVELOPER,
            "hello@new.example.org",
            state=CompanyState.PENDING,
        )
    )
    assert {(m.kind, m.to[0]) for m in msgs} == {
        ("ORGANISATION_REGISTRATION", "root@example.org"),
        ("ORGANISATION_REGISTRATION", "officer@example.org"),
    }
    assert w.feed(user(40, NEW, "nia@new.example.org", "Nia", UserRole.ADMIN, pending=True)) == []


def test_approval_welcomes_the_organisation_and_its_admin_without_a_password() -> None:
    w = registered()
    [org_mail] = w.feed(OrganisationApproved(company_id=NEW, remarks="Welcome aboard"))
    assert org_mail.kind == "ORGANISATION_CREATE"
    assert org_mail.to == ["hello@new.example.org"]
    assert "approved" in org_mail.body_text
    assert "Remarks: Welcome aboard" in org_mail.body_text
    [welcome] = w.feed(UserActivated(user_id=40, company_id=NEW))
    assert welcome.kind == "USER_CREATE"
    assert welcome.to == ["nia@new.example.org"]
    assert "no password" in welcome.body_text
    d = w.directory
    assert d.companies[NEW].state == "Active"
    assert not d.users[40].pending
    assert [u.email for u in d.admins_of(NEW)] == ["nia@new.example.org"]


def test_rejection_tells_the_organisation_and_its_pending_admin_why() -> None:
    w = registered()
    msgs = w.feed(OrganisationRejected(company_id=NEW, remarks="Tax id not found"))
    assert {(m.kind, m.to[0]) for m in msgs} == {
        ("ORGANISATION_REGISTRATION_REJECTED", "hello@new.example.org"),
        ("ORGANISATION_REGISTRATION_REJECTED", "nia@new.example.org"),
    }
    assert all("Reason: Tax id not found" in m.body_text for m in msgs)
    assert w.directory.companies[NEW].state == "Rejected"


def test_updates_and_deletions_send_nothing_but_move_the_directory() -> None:
    w = populated()
    assert (
        w.feed(
            OrganisationUpdated(
                company_id=DEV,
                name="Developer Group",
                email="group@example.org",
                phone=None,
                website=None,
                address=None,
                payment_id=None,
                sectoral_scopes=[SectoralScope.ENERGY_INDUSTRY],
                minister_name=None,
            )
        )
        == []
    )
    assert w.directory.companies[DEV].name == "Developer Group"
    assert w.directory.companies[DEV].email == "group@example.org"
    assert (
        w.feed(
            UserUpdated(user_id=5, company_id=DEV, name="Vic", phone=None, role=UserRole.MANAGER)
        )
        == []
    )
    assert [u.user_id for u in w.directory.admins_of(DEV)] == [3, 4, 5]
    assert w.feed(UserDeleted(user_id=4, company_id=DEV)) == []
    assert 4 not in w.directory.users
    assert [u.user_id for u in w.directory.admins_of(DEV)] == [3, 5]
    assert [u.user_id for u in w.directory.users_of(DEV)] == [3, 5]

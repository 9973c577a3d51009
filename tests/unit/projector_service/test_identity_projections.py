"""Identity events into the organisations and users tables: fixed parameterised updates,
one per event, carrying exactly the event's facts."""

from __future__ import annotations

import re

from projector_service.projections import identity
from projector_service.projections.catalogue import PROJECTIONS, project
from projector_service.projections.view import view_of
from projector_service.projections.writes import Write
from schemas.codec import decode_event
from schemas.commands.organisation import (
    ApproveOrganisation,
    RejectOrganisation,
    UpdateOrganisation,
)
from schemas.commands.users import CreateUser, DeleteUser, UpdateUser
from schemas.enums import UserRole
from tests.unit.command_service.helpers import PUBLIC, ok, org_cmd, world


def placeholders(sql: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


def writes_of(out_raws: list[bytes]) -> list[tuple[str, Write]]:
    """The projection's own writes of each event (without the log clock's)."""
    found = []
    for raw in out_raws:
        view = view_of(decode_event(raw))
        for w in project(view)[:-1]:
            found.append((view.type, w))
    return found


def test_every_identity_event_type_has_a_projection() -> None:
    assert set(identity.IDENTITY_PROJECTIONS) <= set(PROJECTIONS)
    assert set(identity.IDENTITY_PROJECTIONS) == {
        "OrganisationApproved",
        "OrganisationRejected",
        "OrganisationUpdated",
        "UserActivated",
        "UserUpdated",
        "UserDeleted",
    }


def test_identity_events_become_row_updates() -> None:
    w = world()
    body = org_cmd("ProgrammeDeveloper", "new")
    reg = ok(w.reg.when(body, PUBLIC, type_="SelfRegisterOrganisation"))
    cid = int((reg.result.aggregate_id or "").removeprefix("organisation-"))
    raws = reg.raws
    raws += ok(w.reg.when(RejectOrganisation(company_id=cid, remarks="why"), w.gov_admin)).raws
    raws += ok(w.reg.when(ApproveOrganisation(company_id=cid), w.gov_admin)).raws
    raws += ok(
        w.reg.when(
            UpdateOrganisation(company_id=w.pd1, email="new@pd1.example.org", clear=["phone"]),
            w.pd1_admin,
        )
    ).raws
    created = ok(
        w.reg.when(
            CreateUser(email="v@pd1.example.org", name="V", role=UserRole.VIEW_ONLY), w.pd1_admin
        )
    )
    uid = int((created.result.aggregate_id or "").removeprefix("user-"))
    raws += ok(w.reg.when(UpdateUser(user_id=uid, role=UserRole.MANAGER), w.pd1_admin)).raws
    raws += ok(w.reg.when(DeleteUser(user_id=uid), w.pd1_admin)).raws

    writes = writes_of(raws)
    for _, wr in writes:
        assert placeholders(wr.sql) == set(range(1, len(wr.args) + 1))
        assert "'" not in wr.sql
    by_type = {t: wr for t, wr in writes if t in identity.IDENTITY_PROJECTIONS}
    assert by_type["OrganisationRejected"].args[:3] == (cid, "Rejected", "why")
    assert by_type["OrganisationApproved"].args[:3] == (cid, "Active", None)
    assert by_type["UserActivated"].sql == identity.SET_ACTIVE_USER
    profile = by_type["OrganisationUpdated"].args
    assert profile[0] == w.pd1
    assert profile[2] == "new@pd1.example.org"
    assert profile[3] is None  # phone cleared
    assert by_type["UserUpdated"].args[:4] == (uid, "V", None, "Manager")
    assert by_type["UserDeleted"].args[0] == uid
    assert by_type["UserDeleted"].sql == identity.SET_DELETED_USER


def test_new_columns_are_added_to_existing_schemas() -> None:
    sql = identity.IDENTITY_COLUMNS
    assert "ADD COLUMN IF NOT EXISTS remarks" in sql
    assert "ADD COLUMN IF NOT EXISTS deleted boolean NOT NULL DEFAULT false" in sql

"""Registration decisions, profile updates and deleted users into the organisations and
users tables (the rows themselves are inserted by ``registry``)."""

from __future__ import annotations

from collections.abc import Callable

from projector_service.projections.view import EventView, JsonDict
from projector_service.projections.writes import Write

IDENTITY_COLUMNS = """
ALTER TABLE {s}.organisations ADD COLUMN IF NOT EXISTS remarks text;
ALTER TABLE {s}.users ADD COLUMN IF NOT EXISTS deleted boolean NOT NULL DEFAULT false;
"""

SET_REGISTRATION = (
    "UPDATE {s}.organisations SET state = $2, remarks = $3, updated_seq = $4 WHERE company_id = $1"
)
SET_PROFILE = (
    "UPDATE {s}.organisations SET name = $2, email = $3, phone = $4, website = $5,"
    " address = $6, payment_id = $7, sectoral_scopes = $8, minister_name = $9,"
    " updated_seq = $10 WHERE company_id = $1"
)
SET_ACTIVE_USER = "UPDATE {s}.users SET pending = false, updated_seq = $2 WHERE user_id = $1"
SET_USER = (
    "UPDATE {s}.users SET name = $2, phone = $3, role = $4, updated_seq = $5 WHERE user_id = $1"
)
SET_DELETED_USER = "UPDATE {s}.users SET deleted = true, updated_seq = $2 WHERE user_id = $1"


def organisation_approved(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_REGISTRATION, (e["company_id"], "Active", e.get("remarks"), env.seq))]


def organisation_rejected(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_REGISTRATION, (e["company_id"], "Rejected", e["remarks"], env.seq))]


def organisation_updated(env: EventView, e: JsonDict) -> list[Write]:
    args = (
        e["company_id"],
        e["name"],
        e["email"],
        e["phone"],
        e["website"],
        e["address"],
        e["payment_id"],
        list(e["sectoral_scopes"]),
        e["minister_name"],
        env.seq,
    )
    return [Write(SET_PROFILE, args)]


def user_activated(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_ACTIVE_USER, (e["user_id"], env.seq))]


def user_updated(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_USER, (e["user_id"], e["name"], e["phone"], e["role"], env.seq))]


def user_deleted(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_DELETED_USER, (e["user_id"], env.seq))]


IDENTITY_PROJECTIONS: dict[str, Callable[[EventView, JsonDict], list[Write]]] = {
    "OrganisationApproved": organisation_approved,
    "OrganisationRejected": organisation_rejected,
    "OrganisationUpdated": organisation_updated,
    "UserActivated": user_activated,
    "UserUpdated": user_updated,
    "UserDeleted": user_deleted,
}

"""Which decider handles which identity command (merged into ``decide``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from command_service.domain import organisation_updates, registrations, users
from command_service.domain.events import NewEvent
from command_service.domain.permissions import Principal
from command_service.domain.state import RegistryState
from schemas.commands import organisation as o
from schemas.commands import users as u
from schemas.commands.base import CommandPayload

Decider = Callable[[RegistryState, Principal, Any, datetime], list[NewEvent]]

IDENTITY_DECIDERS: dict[type[CommandPayload], Decider] = {
    o.SelfRegisterOrganisation: registrations.self_register_organisation,
    o.ApproveOrganisation: registrations.approve_organisation,
    o.RejectOrganisation: registrations.reject_organisation,
    o.UpdateOrganisation: organisation_updates.update_organisation,
    u.CreateUser: users.create_user,
    u.UpdateUser: users.update_user,
    u.DeleteUser: users.delete_user,
}

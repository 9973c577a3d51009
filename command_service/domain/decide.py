"""The single writer's decision function: one command against the current state.

``decide`` is pure with respect to the state: it reads it and returns new events (or raises
a DomainError); it never mutates. The processor folds the events in with ``evolve``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from command_service.domain.credit_decide import CREDIT_DECIDERS
from command_service.domain.events import NewEvent
from command_service.domain.identity_decide import IDENTITY_DECIDERS
from command_service.domain.organisations import register_organisation
from command_service.domain.permissions import Principal
from command_service.domain.programmes import create_programme
from command_service.domain.setup import initialise_registry
from command_service.domain.state import RegistryState
from schemas.commands.base import CommandPayload
from schemas.commands.organisation import RegisterOrganisation
from schemas.commands.programme import CreateProgramme
from schemas.commands.registry import InitialiseRegistry

Decider = Callable[[RegistryState, Principal, Any, datetime], list[NewEvent]]

DECIDERS: dict[type[CommandPayload], Decider] = {
    InitialiseRegistry: initialise_registry,
    RegisterOrganisation: register_organisation,
    CreateProgramme: create_programme,
    **CREDIT_DECIDERS,
    **IDENTITY_DECIDERS,
}


def decide(
    state: RegistryState, principal: Principal, command: CommandPayload, now: datetime
) -> list[NewEvent]:
    return DECIDERS[type(command)](state, principal, command, now)

"""The one place stable type names are bound to classes.

A renamed class keeps its stored name here; a new version of an event adds an upcaster in
``schemas.upcasters`` and bumps the class's VERSION.
"""

from __future__ import annotations

from schemas.commands.base import CommandPayload
from schemas.commands.organisation import RegisterOrganisation
from schemas.commands.programme import CreateProgramme
from schemas.commands.registry import InitialiseRegistry
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.programme import ProgrammeCreated
from schemas.events.registry import RegistryInitialised

EVENT_TYPES: dict[str, type[EventPayload]] = {
    cls.TYPE: cls
    for cls in (
        RegistryInitialised,
        OrganisationRegistered,
        UserCreated,
        ProgrammeCreated,
    )
}

COMMAND_TYPES: dict[str, type[CommandPayload]] = {
    cls.TYPE: cls
    for cls in (
        InitialiseRegistry,
        RegisterOrganisation,
        CreateProgramme,
    )
}


class UnknownType(KeyError):
    """A stored or submitted type name that this build does not know."""


def event_class(type_name: str) -> type[EventPayload]:
    try:
        return EVENT_TYPES[type_name]
    except KeyError:
        raise UnknownType(type_name) from None


def command_class(type_name: str) -> type[CommandPayload]:
    try:
        return COMMAND_TYPES[type_name]
    except KeyError:
        raise UnknownType(type_name) from None

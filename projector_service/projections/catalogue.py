"""Which projection handles which event type. Every event type must be listed: an event
with no entry stops the projector (it would otherwise be silently skipped)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projector_service.projections import programmes, registry
from projector_service.projections.credits import CREDIT_PROJECTIONS
from projector_service.projections.writes import Write
from schemas.envelope import EventEnvelope
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.programme import ProgrammeCreated
from schemas.events.registry import RegistryInitialised

Projection = Callable[[EventEnvelope, Any], list[Write]]

PROJECTIONS: dict[type[EventPayload], Projection] = {
    RegistryInitialised: registry.registry_initialised,
    OrganisationRegistered: registry.organisation_registered,
    UserCreated: registry.user_created,
    ProgrammeCreated: programmes.programme_created,
    **CREDIT_PROJECTIONS,
}


class NoProjection(LookupError):
    pass


def project(env: EventEnvelope, payload: EventPayload) -> list[Write]:
    try:
        handler = PROJECTIONS[type(payload)]
    except KeyError:
        raise NoProjection(f"no projection for event type {env.type}") from None
    return handler(env, payload)

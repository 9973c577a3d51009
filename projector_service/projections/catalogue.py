"""Which projection handles which event type. Every event type must be listed: an event
with no entry stops the projector (it would otherwise be silently skipped)."""

from __future__ import annotations

from projector_service.projections import programmes, registry
from projector_service.projections.credits import CREDIT_PROJECTIONS, Projection
from projector_service.projections.history import event_time
from projector_service.projections.identity import IDENTITY_PROJECTIONS
from projector_service.projections.view import EventView
from projector_service.projections.writes import Write

PROJECTIONS: dict[str, Projection] = {
    "RegistryInitialised": registry.registry_initialised,
    "OrganisationRegistered": registry.organisation_registered,
    "UserCreated": registry.user_created,
    "ProgrammeCreated": programmes.programme_created,
    **CREDIT_PROJECTIONS,
    **IDENTITY_PROJECTIONS,
}


class NoProjection(LookupError):
    pass


def project(env: EventView) -> list[Write]:
    """The writes of one event: its projection's, then its place on the log's clock."""
    try:
        handler = PROJECTIONS[env.type]
    except KeyError:
        raise NoProjection(f"no projection for event type {env.type}") from None
    writes = handler(env, env.payload)
    writes.append(event_time(env))
    return writes

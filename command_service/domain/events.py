"""What a decision returns: new events, each with the aggregate it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.envelope import Actor
from schemas.events.base import EventPayload


@dataclass(frozen=True, slots=True)
class NewEvent:
    payload: EventPayload
    aggregate_id: str
    # Who the event is attributed to when not the command's actor: the registry itself
    # (SYSTEM_ACTOR) for automatic consequences such as low-credit cancellations.
    actor: Actor | None = None


def organisation_id(company_id: int) -> str:
    return f"organisation-{company_id}"


def user_id(user_id: int) -> str:
    return f"user-{user_id}"


def programme_id(programme_id: str) -> str:
    return f"programme-{programme_id}"


def transfer_id(request_id: int) -> str:
    return f"transfer-{request_id}"


def retirement_id(request_id: int) -> str:
    return f"retirement-{request_id}"


REGISTRY_AGGREGATE = "registry"
SETTINGS_AGGREGATE = "settings"

"""What a decision returns: new events, each with the aggregate it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events.base import EventPayload


@dataclass(frozen=True, slots=True)
class NewEvent:
    payload: EventPayload
    aggregate_id: str


def organisation_id(company_id: int) -> str:
    return f"organisation-{company_id}"


def user_id(user_id: int) -> str:
    return f"user-{user_id}"


def programme_id(programme_id: str) -> str:
    return f"programme-{programme_id}"


REGISTRY_AGGREGATE = "registry"

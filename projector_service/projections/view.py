"""What a projection sees of one event: its envelope facts and its payload in JSON form.

Projections read the payload as the plain JSON the processor wrote (``model_dump(mode="json")``
of the typed event), not as a pydantic model: the bytes are hash-chained, so they are exactly
what the typed event produced, and skipping model construction is what lets replay fold a
million events in seconds. An event stored at an older version is upcast and normalised
through its model first (``normal_payload``), so projections only ever see current versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from schemas.envelope import EventEnvelope
from schemas.registry import EVENT_TYPES, event_class
from schemas.upcasters import upcast

JsonDict = dict[str, Any]


class EventView(NamedTuple):
    seq: int
    type: str
    actor_user_id: int | None
    occurred_at: datetime
    payload: JsonDict


def normal_payload(type_name: str, version: int, payload: JsonDict) -> JsonDict:
    """The payload at the current version of its type, in JSON form.

    Raises ``UnknownType`` for a type this build does not know, ``MissingUpcaster`` for a
    version it cannot lift, and a pydantic ``ValidationError`` for an upcast payload that
    does not validate.
    """
    cls = event_class(type_name)
    if version == cls.VERSION:
        return payload
    lifted = upcast(type_name, version, cls.VERSION, payload)
    normal: JsonDict = cls.model_validate(lifted).model_dump(mode="json")
    return normal


# The current version of every event type: an event stored at it (nearly all) is used as is.
_CURRENT: dict[str, int] = {name: cls.VERSION for name, cls in EVENT_TYPES.items()}
# EventView from a plain tuple: a NamedTuple's keyword ``__new__`` costs three times as much,
# and replay builds one view per event.
_new_view = tuple.__new__


def view_of_body(body: JsonDict, seq: int, occurred_at: datetime) -> EventView:
    """The view of a decoded envelope (``body``: its JSON; ``seq`` and ``occurred_at``
    already read from it). Raises what ``normal_payload`` raises, and ``KeyError``."""
    type_name: str = body["type"]
    version = body["version"]
    payload: JsonDict = body["payload"]
    if _CURRENT.get(type_name) != version:
        payload = normal_payload(type_name, version, payload)
    view: EventView = _new_view(
        EventView, (seq, type_name, body["actor"].get("user_id"), occurred_at, payload)
    )
    return view


def view_of(env: EventEnvelope) -> EventView:
    """The view of a validated envelope (tests and callers holding pydantic envelopes)."""
    return EventView(
        seq=env.seq,
        type=env.type,
        actor_user_id=env.actor.user_id,
        occurred_at=env.occurred_at,
        payload=normal_payload(env.type, env.version, env.payload),
    )

"""orjson bytes <-> envelopes; typed payloads; the event factory that extends the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from schemas.commands.base import CommandPayload
from schemas.envelope import Actor, CommandEnvelope, EventEnvelope, ResultEnvelope
from schemas.events.base import EventPayload
from schemas.hashing import chain_hash
from schemas.registry import command_class, event_class
from schemas.upcasters import upcast


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def encode_command(env: CommandEnvelope) -> bytes:
    return orjson.dumps(env.model_dump(mode="json"))


def decode_command(raw: bytes) -> CommandEnvelope:
    return CommandEnvelope.model_validate(orjson.loads(raw))


def encode_result(env: ResultEnvelope) -> bytes:
    return orjson.dumps(env.model_dump(mode="json", exclude_none=True))


def decode_result(raw: bytes) -> ResultEnvelope:
    return ResultEnvelope.model_validate(orjson.loads(raw))


def encode_event(env: EventEnvelope) -> bytes:
    return orjson.dumps(env.model_dump(mode="json"))


def decode_event(raw: bytes) -> EventEnvelope:
    return EventEnvelope.model_validate(orjson.loads(raw))


def command_payload(env: CommandEnvelope) -> CommandPayload:
    """Validate a command envelope's payload as its typed command (raises on bad input)."""
    return command_class(env.type).model_validate(env.payload)


def event_payload(env: EventEnvelope) -> EventPayload:
    """The typed payload of an event, upcast from whatever version was stored."""
    cls = event_class(env.type)
    data = upcast(env.type, env.version, cls.VERSION, env.payload)
    return cls.model_validate(data)


def make_event(
    *,
    registry: str,
    seq: int,
    payload: EventPayload,
    aggregate_id: str,
    aggregate_version: int,
    command_id: str,
    actor: Actor,
    occurred_at: datetime,
    prev_hash: str,
) -> tuple[EventEnvelope, bytes]:
    """Build the next event of the chain and its canonical wire bytes."""
    body: dict[str, Any] = {
        "envelope_version": 1,
        "registry": registry,
        "seq": seq,
        "type": payload.TYPE,
        "version": payload.VERSION,
        "aggregate_type": payload.AGGREGATE,
        "aggregate_id": aggregate_id,
        "aggregate_version": aggregate_version,
        "command_id": command_id,
        "actor": actor.model_dump(mode="json"),
        "occurred_at": occurred_at,
        "payload": payload.model_dump(mode="json"),
        "prev_hash": prev_hash,
    }
    # Hash exactly the JSON form every reader (and the codec) produces for this envelope.
    draft = EventEnvelope.model_validate({**body, "hash": "0" * 64})
    normal: dict[str, Any] = draft.model_dump(mode="json")
    digest = chain_hash(prev_hash, normal)
    normal["hash"] = digest
    return draft.model_copy(update={"hash": digest}), orjson.dumps(normal)

"""orjson bytes <-> envelopes; typed payloads; the event factory that extends the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter

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


_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)
_ACTOR_JSON: dict[Actor, dict[str, Any]] = {}


def json_datetime(value: datetime) -> str:
    """A datetime exactly as pydantic writes it in JSON (so hashes survive re-encoding)."""
    out: str = _DATETIME.dump_python(value, mode="json")
    return out


def _actor_json(actor: Actor) -> dict[str, Any]:
    cached = _ACTOR_JSON.get(actor)
    if cached is None:
        cached = actor.model_dump(mode="json")
        if len(_ACTOR_JSON) < 10_000:
            _ACTOR_JSON[actor] = cached
    return dict(cached)


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
    occurred_at_json: str | None = None,
) -> tuple[EventEnvelope, bytes]:
    """Build the next event of the chain and its canonical wire bytes.

    The hashed body is exactly the envelope's JSON form (``model_dump(mode="json")`` of the
    decoded event), built directly: one payload dump per event, no validation round trip.
    """
    payload_json = payload.model_dump(mode="json")
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
        "actor": _actor_json(actor),
        "occurred_at": occurred_at_json or json_datetime(occurred_at),
        "payload": payload_json,
        "prev_hash": prev_hash,
    }
    digest = chain_hash(prev_hash, body)
    body["hash"] = digest
    raw = orjson.dumps(body)
    envelope = EventEnvelope.model_construct(
        envelope_version=1,
        registry=registry,
        seq=seq,
        type=payload.TYPE,
        version=payload.VERSION,
        aggregate_type=payload.AGGREGATE,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        command_id=command_id,
        actor=actor,
        occurred_at=occurred_at,
        payload=payload_json,
        prev_hash=prev_hash,
        hash=digest,
    )
    return envelope, raw

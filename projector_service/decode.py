"""Reading committed event bytes into what projections see, checking the log on the way.

Every event must be the next seq (re-deliveries at or below the checkpoint are dropped, but
the one at the checkpoint must be the event applied there; a gap stops the projector) and
must chain to the one before it (``hash = sha256(prev_hash ||
canonical bytes)``): a reordered, missing or altered event stops the projector loudly.

``validate=True`` (the live projector) also validates each envelope and payload with the
published pydantic models. Replay passes ``validate=False``: the chain check already proves
every byte is what the processor wrote (and it wrote them from validated models), so replay
spends its time on orjson and sha256 only; ``registry verify`` validates every envelope and
payload of the log end to end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from libs.eventlog.ports import RawRecord
from projector_service.projections.view import EventView, view_of_body
from schemas.codec import event_payload
from schemas.envelope import GENESIS_HASH, EventEnvelope
from schemas.registry import UnknownType
from schemas.upcasters import MissingUpcaster


class ProjectionStopped(RuntimeError):
    """An event could not be applied; the projector must not go on."""


@dataclass(frozen=True)
class Checkpoint:
    last_seq: int
    next_position: int
    last_hash: str


START = Checkpoint(0, 0, GENESIS_HASH)

_SORT = orjson.OPT_SORT_KEYS


def decode_batch(
    records: Sequence[RawRecord],
    start: Checkpoint,
    *,
    validate: bool,
    verify_hashes: bool = True,
    raws: list[bytes] | None = None,
) -> tuple[list[EventView], Checkpoint]:
    """The events of ``records`` that follow ``start``, and the checkpoint after them
    (with ``raws``, the bytes of each returned event are appended to it).

    ``verify_hashes=False`` checks that every event names the previous event's stored hash
    (so nothing is missing, reordered or spliced in) without recomputing each hash from the
    event's content; replay uses it for speed, ``registry verify`` recomputes them all.
    """
    last_seq, last_hash, next_position = start.last_seq, start.last_hash, start.next_position
    views: list[EventView] = []
    at_text: str | None = None
    at: datetime | None = None
    loads = orjson.loads
    for rec in records:
        position = rec.position
        try:
            body: dict[str, Any] = loads(rec.raw)
            seq = int(body["seq"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProjectionStopped(f"unreadable event at position {position}: {exc}") from exc
        if position >= next_position:
            next_position = position + 1
        if seq <= last_seq:
            if seq == last_seq and body.get("hash") != last_hash:
                raise ProjectionStopped(
                    f"seq {seq} in the log is not the seq {seq} already applied (another hash):"
                    " the log was rewritten"
                )
            continue  # re-delivered: already applied
        if seq != last_seq + 1:
            raise ProjectionStopped(f"gap in the log: expected seq {last_seq + 1}, got {seq}")
        digest = body.pop("hash", None)
        if body.get("prev_hash") != last_hash or not isinstance(digest, str):
            raise ProjectionStopped(f"seq {seq} does not chain to the event before it")
        if (
            verify_hashes
            and hashlib.sha256(
                last_hash.encode("ascii") + orjson.dumps(body, option=_SORT)
            ).hexdigest()
            != digest
        ):
            raise ProjectionStopped(f"seq {seq} does not match its hash (altered)")
        try:
            if validate:
                body["hash"] = digest
                event_payload(EventEnvelope.model_validate(body))
            text = body["occurred_at"]
            if text != at_text:
                at_text, at = text, datetime.fromisoformat(text)
            assert at is not None
            views.append(view_of_body(body, seq, at))
        except (ValidationError, UnknownType, MissingUpcaster, ValueError, KeyError) as exc:
            raise ProjectionStopped(f"seq {seq} is not a readable event: {exc}") from exc
        last_seq, last_hash = seq, digest
        if raws is not None:
            raws.append(rec.raw)
    return views, Checkpoint(last_seq, next_position, last_hash)


def decode_checked(raws: Sequence[bytes]) -> list[EventView]:
    """Views of events another reader has already checked (seq and chain): replay's
    second process gets its share of the log this way."""
    views: list[EventView] = []
    at_text: str | None = None
    at: datetime | None = None
    for raw in raws:
        body = orjson.loads(raw)
        text = body["occurred_at"]
        if text != at_text:
            at_text, at = text, datetime.fromisoformat(text)
        assert at is not None
        views.append(view_of_body(body, body["seq"], at))
    return views

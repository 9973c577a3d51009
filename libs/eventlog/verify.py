"""Walking the log: dense seq from 1, every hash chaining to the one before, every envelope
valid and readable as its typed event, and, for every signed checkpoint given (their
signatures checked by the caller), the checkpoint's seq still in the log with the checkpoint's
hash: a log cut short or rewritten from some seq on is a valid chain, but not the one signed.
Anyone holding the log can run it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
from pydantic import ValidationError

from libs.eventlog.ports import EventSource
from libs.eventlog.signing import SignedCheckpoint
from schemas.codec import event_payload
from schemas.envelope import GENESIS_HASH, EventEnvelope
from schemas.hashing import chain_hash
from schemas.registry import UnknownType
from schemas.upcasters import MissingUpcaster


@dataclass(frozen=True)
class Break:
    position: int
    seq: int | None
    reason: str


@dataclass
class Report:
    events: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    breaks: list[Break] = field(default_factory=list)
    types: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.breaks


class Verifier:
    """Feed records in log order; collects every break (continuing from what was found)."""

    def __init__(
        self,
        max_breaks: int = 100,
        registry: str | None = None,
        checkpoints: Sequence[SignedCheckpoint] = (),
    ) -> None:
        self.report = Report()
        self.max_breaks = max_breaks
        self.registry = registry
        self.pins = {cp.seq: cp for cp in checkpoints}

    def _break(self, position: int, seq: int | None, reason: str) -> None:
        if len(self.report.breaks) < self.max_breaks:
            self.report.breaks.append(Break(position, seq, reason))

    def feed(self, position: int, raw: bytes) -> None:
        r = self.report
        r.events += 1
        try:
            body = orjson.loads(raw)
            env = EventEnvelope.model_validate(body)
        except (orjson.JSONDecodeError, ValidationError) as exc:
            self._break(position, None, f"invalid envelope: {str(exc)[:200]}")
            return
        if self.registry is not None and env.registry != self.registry:
            self._break(position, env.seq, f"event of registry {env.registry}, not {self.registry}")
        if env.seq != r.last_seq + 1:
            kind = "missing" if env.seq > r.last_seq + 1 else "duplicated or reordered"
            self._break(
                position, env.seq, f"expected seq {r.last_seq + 1}, found {env.seq} ({kind})"
            )
        if env.prev_hash != r.last_hash:
            self._break(position, env.seq, "prev_hash does not match the previous event's hash")
        if chain_hash(env.prev_hash, body) != env.hash:
            self._break(position, env.seq, "hash does not match the event's content (altered)")
        try:
            event_payload(env)
        except (ValidationError, UnknownType, MissingUpcaster) as exc:
            self._break(position, env.seq, f"payload not valid as {env.type}: {str(exc)[:200]}")
        pin = self.pins.get(env.seq)
        if pin is not None and pin.hash != env.hash:
            self._break(
                position,
                env.seq,
                f"hash differs from the checkpoint signed at {pin.signed_at} (rewritten)",
            )
        r.types[env.type] = r.types.get(env.type, 0) + 1
        r.last_seq = env.seq
        r.last_hash = env.hash

    def finish(self) -> Report:
        """The report, with a break for every checkpoint past the log's end."""
        for seq, pin in sorted(self.pins.items()):
            if seq > self.report.last_seq:
                self._break(
                    -1,
                    seq,
                    f"the log ends at seq {self.report.last_seq}, before seq {seq} of the"
                    f" checkpoint signed at {pin.signed_at} (cut short)",
                )
        return self.report


async def verify_log(
    source: EventSource,
    progress: Callable[[int, int], None] | None = None,
    registry: str | None = None,
    checkpoints: Sequence[SignedCheckpoint] = (),
) -> Report:
    verifier = Verifier(registry=registry, checkpoints=checkpoints)
    end = await source.end_position()
    await source.seek(0)
    pos = 0
    while pos < end:
        batch = await source.next_batch(10_000, 0.5)
        if not batch:
            break
        for rec in batch:
            verifier.feed(rec.position, rec.raw)
            pos = rec.position + 1
        if progress is not None:
            progress(pos, end)
    return verifier.finish()

"""Rebuilding the processor's state: latest snapshot, then every event and result after it.

The chain is checked while folding: a gap in seq or a broken hash stops the restore, since
deciding on top of a damaged log would extend the damage. So does a log that no longer holds
the event the snapshot was taken after (``check_snapshot_event``): events the processor
committed are gone (a single broker that lost its unflushed tail, a topic deleted and
created again), and writing on would hand out their seqs a second time.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import structlog
from pydantic import ValidationError

from command_service.application.ports import ProcessorLog, Snapshot
from command_service.domain.evolve import evolve
from command_service.domain.state import Processed, RegistryState, SnapshotOutdated, load_state
from schemas.codec import decode_event, decode_result, event_payload
from schemas.hashing import chain_hash

logger = structlog.get_logger("restore")


class CorruptLog(RuntimeError):
    """The log does not chain: a missing, reordered or altered event."""


@dataclass
class Restored:
    state: RegistryState
    events_position: int
    results_position: int
    events_replayed: int


def apply_event_bytes(state: RegistryState, raw: bytes) -> None:
    body = orjson.loads(raw)
    env = decode_event(raw)
    if env.registry != state.registry:
        raise CorruptLog(f"seq {env.seq} belongs to registry {env.registry}, not {state.registry}")
    if env.seq != state.last_seq + 1:
        raise CorruptLog(f"expected seq {state.last_seq + 1}, found {env.seq}")
    if env.prev_hash != state.last_hash:
        raise CorruptLog(f"seq {env.seq}: prev_hash does not match the event before it")
    if chain_hash(env.prev_hash, body) != env.hash:
        raise CorruptLog(f"seq {env.seq}: hash does not match its content")
    evolve(state, event_payload(env))
    state.aggregate_versions[env.aggregate_id] = env.aggregate_version
    state.last_seq = env.seq
    state.last_hash = env.hash


def _from_snapshot(snap: Snapshot | None, registry: str) -> tuple[RegistryState, int, int]:
    """The snapshot's state and log positions, or the empty state at position 0 when there
    is no snapshot or it cannot be used (another state version, unreadable, another
    registry): snapshots are a shortcut, the log alone is always enough."""
    if snap is not None:
        try:
            state = load_state(snap.state)
        except (SnapshotOutdated, ValidationError) as exc:
            logger.warning("snapshot_ignored", seq=snap.seq, reason=str(exc)[:200])
        else:
            if state.registry == registry:
                return state, snap.events_position, snap.results_position
            logger.warning("snapshot_ignored", seq=snap.seq, reason=f"registry {state.registry}")
    return RegistryState(registry=registry), 0, 0


def check_snapshot_event(state: RegistryState, raw: bytes | None, position: int) -> None:
    """``raw`` (the log's record at ``position``, None past its end) must be the event the
    snapshot of ``state`` was taken after: same seq, same hash."""
    if raw is None:
        raise CorruptLog(
            f"the events log ends before position {position}, where seq {state.last_seq} was"
            " when the latest snapshot was taken: events the processor committed are missing"
            " (a single broker that lost its unflushed tail, or the topic was deleted and"
            " created again). Refusing to write on top of it; restore the log, or remove the"
            " snapshots to accept the loss (see the README)"
        )
    body = orjson.loads(raw)
    if body.get("seq") != state.last_seq or body.get("hash") != state.last_hash:
        raise CorruptLog(
            f"the event at position {position} is seq {body.get('seq')} with another hash"
            f" than seq {state.last_seq} of the latest snapshot: the log was rewritten"
        )


async def restore(log: ProcessorLog, registry: str) -> Restored:
    state, events_pos, results_pos = _from_snapshot(await log.latest_snapshot(), registry)
    replayed = 0
    # From a snapshot, read from its last event on: it must still be there, unchanged.
    snapshot_event = events_pos - 1 if events_pos > 0 else None
    async for batch in log.read_events(events_pos if snapshot_event is None else snapshot_event):
        for rec in batch:
            if snapshot_event is not None:
                check_snapshot_event(state, rec.raw, snapshot_event)
                snapshot_event = None
                continue
            apply_event_bytes(state, rec.raw)
            events_pos = rec.position + 1
            replayed += 1
    if snapshot_event is not None:
        check_snapshot_event(state, None, snapshot_event)
    async for batch in log.read_results(results_pos):
        for rec in batch:
            res = decode_result(rec.raw)
            results_pos = rec.position + 1
            if res.duplicate or res.fingerprint is None:
                continue
            state.processed[res.command_id] = Processed(
                fingerprint=res.fingerprint,
                command_type=res.command_type,
                status=res.status,
                first_seq=res.first_seq,
                last_seq=res.last_seq,
                aggregate_id=res.aggregate_id,
                aggregate_ids=list(res.aggregate_ids),
                error=res.error.model_dump(mode="json") if res.error else None,
            )
    return Restored(state, events_pos, results_pos, replayed)

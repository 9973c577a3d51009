"""Deciding a batch of commands against the in-memory state: the heart of the single writer.

Per command: refuse a reused idempotency key, answer a duplicate with its first result,
otherwise validate, resolve the actor, decide, and fold the new events into the state while
extending the hash chain. No I/O: the processor commits what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import orjson
import structlog
from pydantic import ValidationError

from command_service.application.fingerprint import fingerprint
from command_service.application.ports import CommandRecord
from command_service.domain.decide import decide
from command_service.domain.errors import DomainError, Invalid
from command_service.domain.evolve import evolve
from command_service.domain.permissions import resolve
from command_service.domain.state import Processed, RegistryState
from schemas.codec import command_payload, encode_result, json_datetime, make_event
from schemas.envelope import ErrorBody, EventEnvelope, ResultEnvelope
from schemas.registry import UnknownType

log = structlog.get_logger("processor")


@dataclass
class Decided:
    events: list[tuple[EventEnvelope, bytes]] = field(default_factory=list)
    results: list[tuple[ResultEnvelope, bytes]] = field(default_factory=list)


def _result_from(
    processed: Processed, registry: str, command_id: str, now: datetime, duplicate: bool
) -> tuple[ResultEnvelope, bytes]:
    """The result envelope and its bytes, built directly (no validation round trip)."""
    status: Literal["accepted", "rejected"] = (
        "accepted" if processed.status == "accepted" else "rejected"
    )
    body: dict[str, object] = {
        "envelope_version": 1,
        "registry": registry,
        "command_id": command_id,
        "command_type": processed.command_type,
        "status": status,
        "aggregate_ids": processed.aggregate_ids,
        "decided_at": json_datetime(now),
        "duplicate": duplicate,
    }
    for key, value in (
        ("first_seq", processed.first_seq),
        ("last_seq", processed.last_seq),
        ("aggregate_id", processed.aggregate_id),
        ("error", processed.error),
        ("fingerprint", processed.fingerprint),
    ):
        if value is not None:
            body[key] = value
    raw = orjson.dumps(body, default=str)
    envelope = ResultEnvelope.model_construct(
        registry=registry,
        command_id=command_id,
        command_type=processed.command_type,
        status=status,
        first_seq=processed.first_seq,
        last_seq=processed.last_seq,
        aggregate_id=processed.aggregate_id,
        aggregate_ids=list(processed.aggregate_ids),
        error=ErrorBody.model_validate(processed.error) if processed.error else None,
        decided_at=now,
        duplicate=duplicate,
        fingerprint=processed.fingerprint,
    )
    return envelope, raw


def _error(exc: DomainError) -> dict[str, object]:
    return {"code": exc.code, "kind": exc.kind, "message": exc.message, "details": exc.details}


def decide_one(state: RegistryState, rec: CommandRecord, now: datetime, out: Decided) -> None:
    env = rec.envelope
    if env is None:
        # Unreadable bytes on the commands topic (not sent by an API node): refuse, record.
        res = ResultEnvelope(
            registry=state.registry,
            command_id=f"undecodable-{rec.position}",
            command_type="unknown",
            status="rejected",
            error=ErrorBody(
                code="command.malformed",
                kind="invalid",
                message="The command could not be read.",
                details={"reason": (rec.decode_error or "")[:500]},
            ),
            decided_at=now,
        )
        out.results.append((res, encode_result(res)))
        return
    fp = fingerprint(env)
    prev = state.processed.get(env.command_id)
    if prev is not None:
        if prev.fingerprint != fp:
            res = ResultEnvelope(
                registry=state.registry,
                command_id=env.command_id,
                command_type=env.type,
                status="rejected",
                error=ErrorBody(
                    code="idempotency.key_reused",
                    kind="conflict",
                    message="This Idempotency-Key was already used for a different command.",
                ),
                decided_at=now,
                duplicate=True,
            )
        else:
            out.results.append(
                _result_from(prev, state.registry, env.command_id, now, duplicate=True)
            )
            return
        out.results.append((res, encode_result(res)))
        return

    try:
        if env.registry != state.registry:
            raise Invalid(
                "command.wrong_registry",
                f"This processor serves registry {state.registry}, not {env.registry}.",
            )
        try:
            command = command_payload(env)
        except UnknownType:
            raise Invalid("command.unknown_type", f"Unknown command type {env.type}.") from None
        except ValidationError as exc:
            raise Invalid(
                "command.invalid",
                "The command is not valid.",
                errors=exc.errors(include_url=False, include_context=False)[:20],
            ) from None
        principal = resolve(state, env.actor)
        try:
            new_events = decide(state, principal, command, now)
        except DomainError:
            raise
        except Exception as exc:
            # A bug in a decider must not poison the log: refuse the command, loudly.
            log.exception("decision_failed")
            raise Invalid(
                "command.not_decidable",
                "The registry could not decide this command; nothing was changed.",
                reason=type(exc).__name__,
            ) from exc
    except DomainError as exc:
        processed = Processed(
            fingerprint=fp, command_type=env.type, status="rejected", error=_error(exc)
        )
        state.processed[env.command_id] = processed
        out.results.append(
            _result_from(processed, state.registry, env.command_id, now, duplicate=False)
        )
        log.info("command_rejected", code=exc.code, command_id=env.command_id)
        return

    first_seq = state.last_seq + 1
    for new in new_events:
        seq = state.last_seq + 1
        version = state.next_aggregate_version(new.aggregate_id)
        envelope, raw = make_event(
            registry=state.registry,
            seq=seq,
            payload=new.payload,
            aggregate_id=new.aggregate_id,
            aggregate_version=version,
            command_id=env.command_id,
            actor=new.actor or env.actor,
            occurred_at=now,
            prev_hash=state.last_hash,
        )
        evolve(state, new.payload)
        state.aggregate_versions[new.aggregate_id] = version
        state.last_seq = seq
        state.last_hash = envelope.hash
        out.events.append((envelope, raw))
    processed = Processed(
        fingerprint=fp,
        command_type=env.type,
        status="accepted",
        first_seq=first_seq if new_events else None,
        last_seq=state.last_seq if new_events else None,
        aggregate_id=new_events[0].aggregate_id if new_events else None,
        aggregate_ids=list(dict.fromkeys(n.aggregate_id for n in new_events)),
    )
    state.processed[env.command_id] = processed
    out.results.append(
        _result_from(processed, state.registry, env.command_id, now, duplicate=False)
    )
    log.debug(
        "command_accepted",
        command_id=env.command_id,
        aggregate_id=processed.aggregate_id,
        first_seq=processed.first_seq,
        last_seq=processed.last_seq,
    )

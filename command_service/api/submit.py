"""Turning a validated request into a command envelope, and its result into a response."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from fastapi import Response

from command_service.api.deps import CommandDeps
from command_service.application.ports import LogUnavailable, ResultTimeout
from libs.http.problems import STATUS_BY_KIND, Problem
from schemas.commands.base import CommandPayload
from schemas.envelope import Actor, CommandEnvelope, ResultEnvelope

log = structlog.get_logger("command_api")


def new_command_id(idempotency_key: str | None) -> str:
    return idempotency_key if idempotency_key else f"auto-{uuid.uuid4().hex}"


async def submit(
    deps: CommandDeps, actor: Actor, payload: CommandPayload, idempotency_key: str | None
) -> ResultEnvelope:
    command_id = new_command_id(idempotency_key)
    env = CommandEnvelope(
        registry=deps.registry,
        command_id=command_id,
        type=payload.TYPE,
        actor=actor,
        submitted_at=datetime.now(UTC),
        payload=payload.model_dump(mode="json"),
    )
    with structlog.contextvars.bound_contextvars(command_id=command_id, command=payload.TYPE):
        try:
            result = await deps.bus.submit(env, deps.command_timeout_s)
        except LogUnavailable as exc:
            log.warning("log_unavailable", error=str(exc))
            raise Problem(
                503,
                "log.unavailable",
                "The registry's log cannot be reached; nothing was recorded. Retry later.",
            ) from exc
        except ResultTimeout as exc:
            raise Problem(
                504,
                "command.timeout",
                "The command was sent but its outcome is not known yet. Retry with the same "
                "Idempotency-Key to get the outcome; it will not apply twice.",
                command_id=command_id,
            ) from exc
    return result


def raise_if_rejected(result: ResultEnvelope) -> None:
    if result.status == "accepted":
        return
    err = result.error
    assert err is not None
    raise Problem(
        STATUS_BY_KIND.get(err.kind, 422),
        err.code,
        err.message,
        command_id=result.command_id,
        details=err.details,
    )


def accepted_response(result: ResultEnvelope, **extra: Any) -> Response:
    body = {
        "command_id": result.command_id,
        "status": result.status,
        "duplicate": result.duplicate,
        "first_seq": result.first_seq,
        "seq": result.last_seq,
        "aggregate_id": result.aggregate_id,
        "aggregate_ids": result.aggregate_ids,
        **extra,
    }
    headers = {"X-Registry-Seq": str(result.last_seq)} if result.last_seq else {}
    return Response(
        orjson.dumps(body),
        status_code=200 if result.duplicate else 201,
        media_type="application/json",
        headers=headers,
    )

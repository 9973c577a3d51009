"""Programme commands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from command_service.api.deps import ActorDep, DepsDep
from command_service.api.submit import accepted_response, raise_if_rejected, submit
from schemas.commands.programme import CreateProgramme
from schemas.types import CommandId

router = APIRouter(prefix="/v1/programmes", tags=["programmes"])

IdempotencyKey = Annotated[CommandId | None, Header(alias="Idempotency-Key")]


@router.post("", status_code=201)
async def create_programme(
    body: CreateProgramme,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record a mitigation programme; it waits for authorisation."""
    result = await submit(deps, actor, body, idempotency_key)
    raise_if_rejected(result)
    return accepted_response(result)

"""Organisation commands."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Response

from command_service.api.deps import ActorDep, DepsDep
from command_service.api.submit import accepted_response, raise_if_rejected, submit
from libs.auth.passwords import generate_password, hash_password
from schemas.commands.organisation import RegisterOrganisation
from schemas.types import CommandId

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])

IdempotencyKey = Annotated[CommandId | None, Header(alias="Idempotency-Key")]


@router.post("", status_code=201)
async def register_organisation(
    body: RegisterOrganisation,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register an organisation and its first Admin user.

    The first Admin's initial password is returned once in this response (and never logged
    or stored in the log); it should be changed at first sign-in.
    """
    result = await submit(deps, actor, body, idempotency_key)
    raise_if_rejected(result)
    extra = {}
    admin_ids = [a for a in result.aggregate_ids if a.startswith("user-")]
    if admin_ids and not result.duplicate:
        password = generate_password()
        hashed = await asyncio.to_thread(hash_password, password)
        await deps.credentials.set_password(int(admin_ids[0][5:]), body.admin.email, hashed)
        extra = {"admin_initial_password": password}
    return accepted_response(result, **extra)

"""Credit movements (transfers, retirements), organisation suspension and the settings
that govern credits. Every command is a resource; path parameters go into the payload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from command_service.api.deps import ActorDep, DepsDep
from command_service.api.routes.lifecycle import IdempotencyKey, run
from command_service.api.submit import accepted_response, raise_if_rejected, submit
from schemas.commands.credits import (
    ActivateOrganisation,
    ApproveTransfer,
    CancelRetirement,
    CancelTransfer,
    CommentBody,
    RecogniseRetirement,
    RefuseRetirement,
    RejectTransfer,
    RemarksBody,
    RequestRetirement,
    RequestTransfer,
    SetOmgePercentage,
    SetTransferFreeze,
    SuspendOrganisation,
)

transfers = APIRouter(prefix="/v1/transfers", tags=["transfers"])
retirements = APIRouter(prefix="/v1/retirements", tags=["retirements"])
organisations = APIRouter(prefix="/v1/organisations", tags=["organisations"])
settings = APIRouter(prefix="/v1/settings", tags=["settings"])

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _requested(
    deps: DepsDep,
    actor: ActorDep,
    command: RequestTransfer | RequestRetirement,
    idempotency_key: str | None,
) -> Response:
    result = await submit(deps, actor, command, idempotency_key)
    raise_if_rejected(result)
    # The first event names the new request: transfer-<id> or retirement-<id>.
    request_id = int((result.aggregate_id or "-0").rsplit("-", 1)[1])
    return accepted_response(result, request_id=request_id)


@transfers.post("", status_code=201)
async def request_transfer(
    body: RequestTransfer, deps: DepsDep, actor: ActorDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Ask to move credits of a programme. Executed at once when a user of the sending
    organisation asks; otherwise pending until the sender approves. Answers ``request_id``."""
    return await _requested(deps, actor, body, idempotency_key)


@transfers.post("/{request_id}/approve", status_code=201)
async def approve_transfer(
    request_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: CommentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The sender approves a pending transfer: the credits move now."""
    cmd = ApproveTransfer(request_id=request_id, **(body or CommentBody()).model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@transfers.post("/{request_id}/reject", status_code=201)
async def reject_transfer(
    request_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: CommentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    cmd = RejectTransfer(request_id=request_id, **(body or CommentBody()).model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@transfers.post("/{request_id}/cancel", status_code=201)
async def cancel_transfer(
    request_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: CommentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    cmd = CancelTransfer(request_id=request_id, **(body or CommentBody()).model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@retirements.post("", status_code=201)
async def request_retirement(
    body: RequestRetirement,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Retire credits. A developer's cross-border retirement waits for the Government;
    Government retirements execute at once. Answers ``request_id``."""
    return await _requested(deps, actor, body, idempotency_key)


@retirements.post("/{request_id}/recognise", status_code=201)
async def recognise_retirement(
    request_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: CommentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    cmd = RecogniseRetirement(request_id=request_id, **(body or CommentBody()).model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@retirements.post("/{request_id}/refuse", status_code=201)
async def refuse_retirement(
    request_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: CommentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    cmd = RefuseRetirement(request_id=request_id, **(body or CommentBody()).model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@retirements.post("/{request_id}/cancel", status_code=201)
async def cancel_retirement(
    request_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: CommentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    cmd = CancelRetirement(request_id=request_id, **(body or CommentBody()).model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@organisations.post("/{company_id}/suspend", status_code=201)
async def suspend_organisation(
    company_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: RemarksBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Suspend an organisation: its credits freeze and its pending requests are cancelled;
    a certifier's certifications are revoked."""
    cmd = SuspendOrganisation(company_id=company_id, **(body or RemarksBody()).model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@organisations.post("/{company_id}/activate", status_code=201)
async def activate_organisation(
    company_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: RemarksBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Activate a suspended organisation again: its credits unfreeze."""
    cmd = ActivateOrganisation(company_id=company_id, **(body or RemarksBody()).model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@settings.put("/transfer-freeze", status_code=201)
async def set_transfer_freeze(
    body: SetTransferFreeze, deps: DepsDep, actor: ActorDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Freeze (``{"frozen": true}``) or unfreeze every credit movement except issuance."""
    return await run(deps, actor, body, idempotency_key)


@settings.put("/omge-percentage", status_code=201)
async def set_omge_percentage(
    body: SetOmgePercentage, deps: DepsDep, actor: ActorDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """The percentage of each cross-border retirement that goes to the OMGE account."""
    return await run(deps, actor, body, idempotency_key)

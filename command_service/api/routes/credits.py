"""Credit movements (transfers, retirements), organisation suspension and the settings
that govern credits. Every command is a resource; path parameters go into the payload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Response

from command_service.api.deps import ActorDep, DepsDep
from command_service.api.routes.lifecycle import IdempotencyKey, run
from command_service.api.submit import accepted_response, raise_if_rejected, submit
from schemas.commands.base import CommandPayload
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
    UpdateCalculatorConstants,
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


RequestActionCommand = Callable[..., CommandPayload]


def _request_action(router: APIRouter, verb: str, command: RequestActionCommand, doc: str) -> None:
    """One route per decision on a pending request: the request id from the path, an
    optional comment from the body."""

    async def action(
        request_id: IdPath,
        deps: DepsDep,
        actor: ActorDep,
        body: CommentBody | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        cmd = command(request_id=request_id, **(body or CommentBody()).model_dump())
        return await run(deps, actor, cmd, idempotency_key)

    action.__name__ = f"{verb}_{router.prefix.rsplit('/', 1)[-1].rstrip('s')}"
    action.__doc__ = doc
    router.post(f"/{{request_id}}/{verb}", status_code=201)(action)


for _router, _verb, _command, _doc in (
    (
        transfers,
        "approve",
        ApproveTransfer,
        "The sender approves a pending transfer: the credits move now.",
    ),
    (transfers, "reject", RejectTransfer, "The sender rejects a pending transfer."),
    (transfers, "cancel", CancelTransfer, "The initiator cancels a pending transfer."),
    (
        retirements,
        "recognise",
        RecogniseRetirement,
        "The Government recognises a pending retirement: the credits retire now.",
    ),
    (retirements, "refuse", RefuseRetirement, "The Government refuses a pending retirement."),
    (retirements, "cancel", CancelRetirement, "The requester cancels a pending retirement."),
):
    _request_action(_router, _verb, _command, _doc)


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


@settings.put("/calculator-constants", status_code=201)
async def update_calculator_constants(
    body: UpdateCalculatorConstants,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Store a new version of a calculator's constants (Government Admin, Root); new
    mitigation-action estimates use it and record its version. Identical to the version in
    force -> 422 ``calculator.no_change``."""
    return await run(deps, actor, body, idempotency_key)

"""Programme lifecycle and certification commands: each a resource under its programme.

The path names the programme; the body carries the rest of the command.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from command_service.api.deps import ActorDep, DepsDep
from command_service.api.submit import accepted_response, raise_if_rejected, submit
from schemas.commands.base import CommandPayload
from schemas.commands.credits import (
    ApproveProgramme,
    AuthoriseBody,
    AuthoriseProgramme,
    CertifyProgramme,
    CommentBody,
    IssueBody,
    IssueCredits,
    RejectBody,
    RejectProgramme,
    RevokeBody,
    RevokeCertification,
)
from schemas.commands.mitigation import AddMitigationAction, MitigationBody
from schemas.types import CommandId

router = APIRouter(prefix="/v1/programmes", tags=["programmes"])

IdempotencyKey = Annotated[CommandId | None, Header(alias="Idempotency-Key")]
ProgrammeIdPath = Annotated[str, Path(pattern=r"^[0-9]{1,20}$")]


async def run(
    deps: DepsDep, actor: ActorDep, command: CommandPayload, idempotency_key: str | None
) -> Response:
    """Submit one command and answer with its accepted result (or its refusal)."""
    result = await submit(deps, actor, command, idempotency_key)
    raise_if_rejected(result)
    return accepted_response(result)


@router.post("/{programme_id}/approve", status_code=201)
async def approve_programme(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: CommentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """AwaitingAuthorization -> Approved (Government, or a Ministry within its scopes)."""
    body = body or CommentBody()
    cmd = ApproveProgramme(programme_id=programme_id, **body.model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@router.post("/{programme_id}/authorise", status_code=201)
async def authorise_programme(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: AuthoriseBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Approved -> Authorised: reserve the programme's serial range from the country
    counter; with ``issue_amount``, issue that many credits at once."""
    body = body or AuthoriseBody()
    cmd = AuthoriseProgramme(programme_id=programme_id, **body.model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@router.post("/{programme_id}/reject", status_code=201)
async def reject_programme(
    programme_id: ProgrammeIdPath,
    body: RejectBody,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """AwaitingAuthorization or Approved -> Rejected; a comment is required."""
    cmd = RejectProgramme(programme_id=programme_id, **body.model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@router.post("/{programme_id}/issue", status_code=201)
async def issue_credits(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: IssueBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Issue the next units of the programme's range to its proponents (without
    ``amount``: everything not issued yet)."""
    body = body or IssueBody()
    cmd = IssueCredits(programme_id=programme_id, **body.model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@router.post("/{programme_id}/certify", status_code=201)
async def certify_programme(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: CommentBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A certifier's user certifies the programme for its organisation."""
    body = body or CommentBody()
    cmd = CertifyProgramme(programme_id=programme_id, **body.model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@router.post("/{programme_id}/revoke", status_code=201)
async def revoke_certification(
    programme_id: ProgrammeIdPath,
    deps: DepsDep,
    actor: ActorDep,
    body: RevokeBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Revoke a certification: a certifier its own, Government or Ministry naming the
    certifier."""
    body = body or RevokeBody()
    cmd = RevokeCertification(programme_id=programme_id, **body.model_dump())
    return await run(deps, actor, cmd, idempotency_key)


@router.post("/{programme_id}/mitigation-actions", status_code=201)
async def add_mitigation_action(
    programme_id: ProgrammeIdPath,
    body: MitigationBody,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Attach a mitigation action; for Agriculture and Solar the calculator's estimate is
    recorded next to the user's."""
    cmd = AddMitigationAction(programme_id=programme_id, **body.model_dump())
    return await run(deps, actor, cmd, idempotency_key)

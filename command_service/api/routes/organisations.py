"""Organisation commands: registration by the Government, self-registration and its
approval or rejection, and updates of one's own organisation."""

from __future__ import annotations

import asyncio
import hashlib
import math
from typing import Annotated

import structlog
from fastapi import APIRouter, BackgroundTasks, Header, Path, Request, Response

from command_service.api.deps import ActorDep, CommandDeps, DepsDep
from command_service.api.submit import accepted_response, raise_if_rejected, submit
from libs.auth.opaque import new_token, token_hash
from libs.auth.passwords import generate_password, hash_password
from libs.http.problems import Problem
from schemas.commands.credits import RemarksBody
from schemas.commands.organisation import (
    ApproveOrganisation,
    OrganisationPatch,
    RegisterOrganisation,
    RejectionBody,
    RejectOrganisation,
    SelfRegisterOrganisation,
    UpdateOrganisation,
)
from schemas.envelope import Actor
from schemas.types import CommandId

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])
public = APIRouter(prefix="/v1/public/organisations", tags=["organisations"])
log = structlog.get_logger("organisations")

IdempotencyKey = Annotated[CommandId | None, Header(alias="Idempotency-Key")]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
PUBLIC_ACTOR = Actor(kind="public")
# A new account's password link stays valid this long (a reset link: one hour).
WELCOME_TTL_S = 3 * 24 * 60 * 60
WELCOME_MAX_LIVE = 5
CLEARABLE = frozenset({"phone", "website", "address"})


def _user_ids(aggregate_ids: list[str]) -> list[int]:
    return [int(a.removeprefix("user-")) for a in aggregate_ids if a.startswith("user-")]


async def _unknown_password(deps: CommandDeps, user_id: int, email: str) -> None:
    """Credentials nobody knows: the account exists for password links, not for sign-in."""
    hashed = await asyncio.to_thread(hash_password, generate_password() + new_token())
    await deps.credentials.set_password(user_id, email, hashed)


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
    admin_ids = _user_ids(result.aggregate_ids)
    if admin_ids and not result.duplicate:
        password = generate_password()
        hashed = await asyncio.to_thread(hash_password, password)
        await deps.credentials.set_password(admin_ids[0], body.admin.email, hashed)
        extra = {"admin_initial_password": password}
    return accepted_response(result, **extra)


def _public_key(idempotency_key: str | None) -> str | None:
    """Public callers get their own idempotency namespace: they cannot take a user's key."""
    if idempotency_key is None:
        return None
    return "public:" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:48]


@public.post("/register", status_code=201)
async def self_register_organisation(
    body: SelfRegisterOrganisation,
    request: Request,
    deps: DepsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Ask to join the registry as a ProgrammeDeveloper or Certifier (no sign-in).

    The organisation stays Pending, and its Admin cannot sign in, until a Government admin
    approves it; the Admin then receives an e-mail with a link to set a password.
    """
    wait = deps.public_limiter.retry_after(request.client.host if request.client else "-")
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise Problem(
            429,
            "request.rate_limited",
            "Too many registrations from this address; try again later.",
            retry_after_s=seconds,
        )
    result = await submit(deps, PUBLIC_ACTOR, body, _public_key(idempotency_key))
    raise_if_rejected(result)
    admin_ids = _user_ids(result.aggregate_ids)
    if admin_ids and not result.duplicate:
        await _unknown_password(deps, admin_ids[0], body.admin.email)
    return accepted_response(result, organisation_state="Pending")


async def _send_links(deps: CommandDeps, emails: list[str]) -> None:
    """Runs after the answer: each activated user gets a link to set a password."""
    notifier = deps.reset_notifier
    assert notifier is not None
    for email in emails:
        token = new_token()
        try:
            account = await deps.credentials.create_reset_token(
                email, token_hash(token), WELCOME_TTL_S, WELCOME_MAX_LIVE
            )
            if account is not None:
                await notifier.send_reset(account[1], token, welcome=True)
                log.info("password_link_sent", user_id=account[0])
        except Exception as exc:  # a background task has no caller to tell
            log.warning("password_link_failed", error=type(exc).__name__)


@router.post("/{company_id}/approve", status_code=201)
async def approve_organisation(
    company_id: IdPath,
    deps: DepsDep,
    actor: ActorDep,
    background: BackgroundTasks,
    body: RemarksBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Approve a Pending (or Rejected) registration: the organisation becomes Active and its
    pending users active. Each of them is e-mailed a link to set a password (valid three
    days); without a mail notifier their initial passwords are returned here, once."""
    cmd = ApproveOrganisation(company_id=company_id, **(body or RemarksBody()).model_dump())
    result = await submit(deps, actor, cmd, idempotency_key)
    raise_if_rejected(result)
    activated = _user_ids(result.aggregate_ids)
    extra: dict[str, object] = {"activated_user_ids": activated}
    if result.duplicate:
        return accepted_response(result, **extra)
    emails: list[str] = []
    passwords: dict[str, str] = {}
    for uid in activated:
        email = await deps.credentials.email_of(uid)
        if email is None:
            log.warning("activated_user_without_email", user_id=uid)
            continue
        if deps.reset_notifier is None:
            password = generate_password()
            hashed = await asyncio.to_thread(hash_password, password)
            await deps.credentials.set_password(uid, email, hashed)
            passwords[str(uid)] = password
            continue
        if await deps.credentials.login_record_by_id(uid) is None:
            await _unknown_password(deps, uid, email)
        emails.append(email)
    if emails:
        background.add_task(_send_links, deps, emails)
        extra["password_links"] = "sent by e-mail"
    if passwords:
        extra["initial_passwords"] = passwords
    return accepted_response(result, **extra)


@router.post("/{company_id}/reject", status_code=201)
async def reject_organisation(
    company_id: IdPath,
    body: RejectionBody,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Reject a Pending registration, saying why (mailed to the organisation)."""
    cmd = RejectOrganisation(company_id=company_id, remarks=body.remarks)
    result = await submit(deps, actor, cmd, idempotency_key)
    raise_if_rejected(result)
    return accepted_response(result)


def update_command(company_id: int, body: OrganisationPatch) -> UpdateOrganisation:
    """PATCH semantics: the named fields change; ``null`` clears phone, website, address."""
    values: dict[str, object] = {}
    clear: list[str] = []
    for name in sorted(body.model_fields_set):
        value = getattr(body, name)
        if value is not None:
            values[name] = value
        elif name in CLEARABLE:
            clear.append(name)
        else:
            raise Problem(
                422,
                "request.invalid",
                "The request is not valid.",
                errors=[{"loc": ["body", name], "msg": "cannot be null", "type": "null"}],
            )
    return UpdateOrganisation.model_validate({"company_id": company_id, **values, "clear": clear})


@router.patch("/{company_id}", status_code=200)
async def update_organisation(
    company_id: IdPath,
    body: OrganisationPatch,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Update one's own organisation (its Admins; nobody updates another organisation).
    The tax id never changes; e-mail and payment id stay unique."""
    result = await submit(deps, actor, update_command(company_id, body), idempotency_key)
    raise_if_rejected(result)
    response = accepted_response(result)
    response.status_code = 200
    return response

"""Sign-in and credentials: tokens, sessions, API keys, password change and reset.

Secrets (passwords, refresh and reset tokens, API keys) live only as hashes in the command
side's credentials tables; they never enter the log, a log line or an error answer.
"""

from __future__ import annotations

import asyncio
import math
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from command_service.api.deps import ActorDep, CommandDeps, DepsDep
from libs.auth.accounts import LoginRecord, RefreshOutcome, ResetOutcome, login_refusal
from libs.auth.api_keys import HEADER as API_KEY_HEADER
from libs.auth.api_keys import generate_api_key
from libs.auth.opaque import REFRESH_TTL_S, RESET_TTL_S, new_token, token_hash, well_formed
from libs.auth.passwords import (
    MAX_PASSWORD,
    dummy_verify,
    hash_password,
    password_weakness,
    verify_password,
)
from libs.auth.tokens import ACCESS_TTL_S, issue_access_token
from libs.http.problems import Problem, problem_response
from schemas.envelope import Actor

router = APIRouter(prefix="/v1/auth", tags=["auth"])
log = structlog.get_logger("auth")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# At most this many unused reset links per account at a time (no mailbox flooding).
RESET_MAX_LIVE = 5
MAX_EMAIL = 254
NO_USER = -1  # matches no credentials row
SECRET_FIELD = 1024  # bodies bigger than any valid secret are refused before any hashing


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = ACCESS_TTL_S
    refresh_token: str
    refresh_expires_in: int = REFRESH_TTL_S


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=SECRET_FIELD)


class PasswordChange(BaseModel):
    old_password: str = Field(max_length=SECRET_FIELD)
    new_password: str = Field(max_length=SECRET_FIELD)


class ResetRequest(BaseModel):
    email: str = Field(max_length=MAX_EMAIL)


class ResetConfirm(BaseModel):
    token: str = Field(max_length=SECRET_FIELD)
    new_password: str = Field(max_length=SECRET_FIELD)


class ApiKeyResponse(BaseModel):
    api_key: str = Field(description="Shown once: send it as the X-API-Key header.")
    key_id: str
    header: str = API_KEY_HEADER


class _Locked(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__("locked")
        self.seconds = seconds


def _locked_response(seconds: float) -> Response:
    wait = max(1, math.ceil(seconds))
    return problem_response(
        429,
        "auth.locked",
        "Too many failed sign-ins: this account is locked for a while.",
        headers={"Retry-After": str(wait)},
        retry_after_s=wait,
    )


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _user_id(actor: Actor) -> int:
    if actor.kind != "user" or actor.user_id is None:
        raise Problem(403, "auth.forbidden", "Only a signed-in user has credentials.")
    return actor.user_id


async def _check_password(
    deps: CommandDeps, record: LoginRecord, password: str, ip: str, code: str, title: str
) -> None:
    """Verify a password against an account, counting failures and honouring its lock."""
    if record.locked_for_s > 0:
        raise _Locked(record.locked_for_s)
    ok = len(password) <= MAX_PASSWORD and await asyncio.to_thread(
        verify_password, record.password_hash, password
    )
    if not ok:
        deps.login_throttle.ip_failed(ip)
        locked = await deps.credentials.record_failure(record.user_id)
        if locked > 0:
            raise _Locked(locked)
        raise Problem(401, code, title)
    locked = await deps.credentials.record_success(record.user_id)
    if locked > 0:
        raise _Locked(locked)
    deps.login_throttle.ip_succeeded(ip)


async def _refuse_if_inactive(deps: CommandDeps, user_id: int) -> None:
    """Pending users and users of Pending/Rejected organisations may not sign in."""
    refusal = login_refusal(user_id, await deps.credentials.account_status(user_id))
    if refusal is not None:
        raise Problem(refusal.status, refusal.code, refusal.title)


async def _new_pair(deps: CommandDeps, user_id: int, response: Response) -> TokenResponse:
    refresh = new_token()
    await deps.credentials.issue_refresh(user_id, token_hash(refresh), REFRESH_TTL_S)
    response.headers.update(NO_STORE)
    return TokenResponse(
        access_token=issue_access_token(deps.token_secret, user_id, deps.registry),
        refresh_token=refresh,
    )


INVALID_CREDENTIALS = ("auth.invalid_credentials", "Wrong e-mail or password.")
LOCKED_DOC: dict[int | str, dict[str, Any]] = {
    429: {"description": "auth.locked: too many failed attempts (see Retry-After)."}
}


@router.post("/token", response_model=TokenResponse, responses=LOCKED_DOC)
async def token(
    request: Request,
    response: Response,
    deps: DepsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenResponse | Response:
    """Exchange an e-mail and password for an access token (15 min) and a refresh token
    (12 h). After 5 wrong passwords in a row the account is locked for 15 minutes."""
    ip = _client_ip(request)
    delay = deps.login_throttle.delay_for(ip)
    if delay > 0:
        await asyncio.sleep(delay)
    email, password = form.username.strip(), form.password
    if len(email) > MAX_EMAIL:
        deps.login_throttle.ip_failed(ip)
        raise Problem(401, *INVALID_CREDENTIALS)
    record = await deps.credentials.login_record(email)
    try:
        if record is None:
            # Same answer, same lock and same time as for a wrong password of a real account.
            phantom_lock = deps.login_throttle.phantom_retry_after(email)
            if phantom_lock > 0:
                raise _Locked(phantom_lock)
            if len(password) <= MAX_PASSWORD:
                await asyncio.to_thread(dummy_verify, password)
            await deps.credentials.record_failure(NO_USER)  # the same database round trips
            deps.login_throttle.ip_failed(ip)
            deps.login_throttle.phantom_failed(email)
            raise Problem(401, *INVALID_CREDENTIALS)
        await _check_password(deps, record, password, ip, *INVALID_CREDENTIALS)
    except _Locked as exc:
        return _locked_response(exc.seconds)
    await _refuse_if_inactive(deps, record.user_id)
    return await _new_pair(deps, record.user_id, response)


@router.post("/refresh", response_model=TokenResponse)
async def refresh(body: RefreshRequest, response: Response, deps: DepsDep) -> TokenResponse:
    """Exchange a refresh token for a new pair; the old refresh token stops working.

    Presenting an already exchanged refresh token again revokes the whole session
    (``auth.refresh_reused``): one of the two holders is not the user.
    """
    if not well_formed(body.refresh_token):
        raise Problem(401, "auth.invalid_refresh_token", "The refresh token is not valid.")
    new = new_token()
    result = await deps.credentials.rotate_refresh(
        token_hash(body.refresh_token), token_hash(new), REFRESH_TTL_S
    )
    match result.outcome:
        case RefreshOutcome.INVALID:
            raise Problem(401, "auth.invalid_refresh_token", "The refresh token is not valid.")
        case RefreshOutcome.EXPIRED:
            raise Problem(401, "auth.refresh_expired", "The session has expired: sign in again.")
        case RefreshOutcome.REVOKED:
            raise Problem(401, "auth.refresh_revoked", "The session has ended: sign in again.")
        case RefreshOutcome.REUSED:
            log.warning("refresh_token_reused", user_id=result.user_id, family=result.family_id)
            raise Problem(
                401,
                "auth.refresh_reused",
                "This refresh token was already used; the session is revoked. Sign in again.",
            )
    assert result.user_id is not None
    assert result.family_id is not None
    try:
        await _refuse_if_inactive(deps, result.user_id)
    except Problem:
        await deps.credentials.revoke_family(result.family_id, "inactive")
        raise
    response.headers.update(NO_STORE)
    return TokenResponse(
        access_token=issue_access_token(deps.token_secret, result.user_id, deps.registry),
        refresh_token=new,
    )


@router.post("/logout", status_code=204)
async def logout(body: RefreshRequest, deps: DepsDep) -> Response:
    """End the session of a refresh token (idempotent: unknown tokens answer 204 too).
    Access tokens already issued stay valid until they expire (at most 15 minutes)."""
    if well_formed(body.refresh_token):
        await deps.credentials.revoke_refresh(token_hash(body.refresh_token))
    return Response(status_code=204)


@router.post("/api-keys", status_code=201, response_model=ApiKeyResponse)
async def regenerate_api_key(deps: DepsDep, actor: ActorDep, response: Response) -> ApiKeyResponse:
    """Create the signed-in user's API key, revoking the previous one. The key is shown
    in this answer only; the registry keeps just its hash."""
    user_id = _user_id(actor)
    if await deps.credentials.login_record_by_id(user_id) is None:
        raise Problem(403, "auth.no_credentials", "This user has no credentials to extend.")
    key = generate_api_key()
    await deps.credentials.replace_api_key(user_id, key.key_id, key.secret_hash)
    log.info("api_key_regenerated", user_id=user_id, key_id=key.key_id)
    response.headers.update(NO_STORE)
    return ApiKeyResponse(api_key=key.full, key_id=key.key_id)


@router.post("/password", status_code=204, responses=LOCKED_DOC)
async def change_password(
    request: Request, body: PasswordChange, deps: DepsDep, actor: ActorDep
) -> Response:
    """Change the signed-in user's password (the old one is required). Ends every session:
    all refresh tokens are revoked."""
    user_id = _user_id(actor)
    weakness = password_weakness(body.new_password, body.old_password)
    if weakness is not None:
        raise Problem(422, "auth.weak_password", "The new password is not acceptable.", weakness)
    record = await deps.credentials.login_record_by_id(user_id)
    if record is None:
        raise Problem(401, "auth.wrong_password", "The old password is wrong.")
    try:
        await _check_password(
            deps,
            record,
            body.old_password,
            _client_ip(request),
            "auth.wrong_password",
            "The old password is wrong.",
        )
    except _Locked as exc:
        return _locked_response(exc.seconds)
    hashed = await asyncio.to_thread(hash_password, body.new_password)
    await deps.credentials.change_password(user_id, hashed)
    log.info("password_changed", user_id=user_id)
    return Response(status_code=204)


async def _send_reset(deps: CommandDeps, email: str) -> None:
    """Runs after the 202 is sent, so known and unknown e-mails answer alike."""
    notifier = deps.reset_notifier
    if notifier is None:
        log.warning("password_reset_not_delivered", reason="no reset notifier is configured")
        return
    token = new_token()
    try:
        account = await deps.credentials.create_reset_token(
            email, token_hash(token), RESET_TTL_S, RESET_MAX_LIVE
        )
        if account is None:
            return
        await notifier.send_reset(account[1], token)
        log.info("password_reset_sent", user_id=account[0])
    except Exception as exc:  # a background task has no caller to tell
        log.warning("password_reset_failed", error=type(exc).__name__)


@router.post("/password-reset", status_code=202)
async def request_password_reset(
    body: ResetRequest, deps: DepsDep, background: BackgroundTasks
) -> dict[str, str]:
    """Send a single-use reset link (valid one hour) if an account has this e-mail. The
    answer is the same whether or not it has one."""
    if len(body.email) <= MAX_EMAIL:
        background.add_task(_send_reset, deps, body.email.strip())
    return {"status": "accepted", "detail": "If an account has this e-mail, a link was sent."}


def _reset_problem(outcome: ResetOutcome) -> Problem:
    if outcome is ResetOutcome.EXPIRED:
        return Problem(400, "auth.reset_token_expired", "The reset link has expired.")
    return Problem(400, "auth.reset_token_invalid", "The reset link is not valid (any more).")


@router.get("/password-reset/confirm")
async def check_password_reset(
    deps: DepsDep, token: Annotated[str, Query(max_length=SECRET_FIELD)]
) -> dict[str, bool]:
    """Whether a reset link can still be used (it is not used up by this check)."""
    if not well_formed(token):
        raise _reset_problem(ResetOutcome.INVALID)
    state = await deps.credentials.reset_token_state(token_hash(token))
    if state.outcome is not ResetOutcome.OK:
        raise _reset_problem(state.outcome)
    return {"valid": True}


@router.post("/password-reset/confirm", status_code=204)
async def confirm_password_reset(body: ResetConfirm, deps: DepsDep) -> Response:
    """Set a new password with a reset link's token (once). Ends every session."""
    if not well_formed(body.token):
        raise _reset_problem(ResetOutcome.INVALID)
    hashed_token = token_hash(body.token)
    state = await deps.credentials.reset_token_state(hashed_token)
    if state.outcome is not ResetOutcome.OK:
        raise _reset_problem(state.outcome)
    weakness = password_weakness(body.new_password)
    if weakness is not None:
        raise Problem(422, "auth.weak_password", "The new password is not acceptable.", weakness)
    hashed = await asyncio.to_thread(hash_password, body.new_password)
    result = await deps.credentials.reset_password(hashed_token, hashed)
    if result.outcome is not ResetOutcome.OK:
        raise _reset_problem(result.outcome)
    log.info("password_reset", user_id=result.user_id)
    return Response(status_code=204)

"""User commands: create (answers the initial password once), update, delete.

Who may do which to whom is decided by the single writer (``libs.access_rules``); the
routes only turn requests into commands and keep the credentials store in step.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Response

from command_service.api.deps import ActorDep, DepsDep
from command_service.api.routes.organisations import IdempotencyKey
from command_service.api.submit import accepted_response, raise_if_rejected, submit
from libs.auth.passwords import generate_password, hash_password
from libs.http.problems import Problem
from schemas.commands.users import CreateUser, DeleteUser, UpdateUser, UserPatch

router = APIRouter(prefix="/v1/users", tags=["users"])

UserIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post("", status_code=201)
async def create_user(
    body: CreateUser, deps: DepsDep, actor: ActorDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Add a user to an organisation (the caller's own unless ``company_id`` names another).

    The initial password is returned once, here (never logged, never in the log); the user
    should change it at first sign-in. A retried request does not return it again.
    """
    result = await submit(deps, actor, body, idempotency_key)
    raise_if_rejected(result)
    user_id = int((result.aggregate_id or "user-0").removeprefix("user-"))
    if result.duplicate:
        return accepted_response(result, user_id=user_id)
    password = generate_password()
    hashed = await asyncio.to_thread(hash_password, password)
    await deps.credentials.set_password(user_id, body.email, hashed)
    response = accepted_response(result, user_id=user_id, initial_password=password)
    response.headers.update(NO_STORE)
    return response


def update_command(user_id: int, body: UserPatch) -> UpdateUser:
    """PATCH semantics: the named fields change; ``null`` clears the phone."""
    values: dict[str, object] = {}
    clear: list[str] = []
    for name in sorted(body.model_fields_set):
        value = getattr(body, name)
        if value is not None:
            values[name] = value
        elif name == "phone":
            clear.append(name)
        else:
            raise Problem(
                422,
                "request.invalid",
                "The request is not valid.",
                errors=[{"loc": ["body", name], "msg": "cannot be null", "type": "null"}],
            )
    return UpdateUser.model_validate({"user_id": user_id, **values, "clear": clear})


@router.patch("/{user_id}", status_code=200)
async def update_user(
    user_id: UserIdPath,
    body: UserPatch,
    deps: DepsDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Change a user's name, phone or role. Nobody changes their own role; e-mail, password
    and API key have their own flows."""
    result = await submit(deps, actor, update_command(user_id, body), idempotency_key)
    raise_if_rejected(result)
    response = accepted_response(result)
    response.status_code = 200
    return response


@router.delete("/{user_id}", status_code=200)
async def delete_user(
    user_id: UserIdPath, deps: DepsDep, actor: ActorDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Delete a user: it can no longer sign in (its sessions and API key end at once) and
    its e-mail may be used again. Never the Root, never an organisation's last Admin,
    never oneself."""
    result = await submit(deps, actor, DeleteUser(user_id=user_id), idempotency_key)
    raise_if_rejected(result)
    await deps.credentials.delete_user(user_id)
    response = accepted_response(result)
    response.status_code = 200
    return response

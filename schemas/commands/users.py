"""Commands on users: create, update, delete (domain.md 4, 12.2). Passwords never appear
here: the API sets them in the credentials store after the command is accepted."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.base import Frozen
from schemas.commands.base import CommandPayload
from schemas.enums import UserRole
from schemas.types import Email, Name, Phone

UserId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class CreateUser(CommandPayload):
    """A new user of an organisation (the actor's own unless ``company_id`` says otherwise)."""

    TYPE = "CreateUser"

    email: Email
    name: Name
    role: UserRole
    phone: Phone | None = None
    company_id: UserId | None = None


class UserPatch(Frozen):
    """What a client sends to update a user: only the fields it names change; ``null``
    clears the phone. E-mail, password and API key are not part of it."""

    name: Name | None = None
    phone: Phone | None = None
    role: UserRole | None = None


class UpdateUser(CommandPayload):
    TYPE = "UpdateUser"

    user_id: UserId
    name: Name | None = None
    phone: Phone | None = None
    role: UserRole | None = None
    clear: Annotated[list[Literal["phone"]], Field(max_length=1)] = []


class DeleteUser(CommandPayload):
    """Remove a user: it can no longer sign in or act, and its e-mail is free again."""

    TYPE = "DeleteUser"

    user_id: UserId

"""Creating, updating and deleting users (domain.md 4.1, 4.2, 12.2, 17).

Who reaches which user is the rules table (``libs.access_rules``); what a reach cannot say
is here: nobody creates or becomes Root, Root is never deleted, nobody changes its own role
(no self-promotion) or deletes itself, every organisation keeps an Admin, and the
Government adds users to another organisation only while it has no Admin.
"""

from __future__ import annotations

from datetime import datetime

from command_service.domain.errors import Conflict, Forbidden, Invalid, NotFound
from command_service.domain.events import NewEvent, user_id
from command_service.domain.lifecycle import get_organisation
from command_service.domain.permissions import Action, Principal, require, require_reach
from command_service.domain.state import RegistryState, User
from schemas.commands.users import CreateUser, DeleteUser, UpdateUser
from schemas.enums import CompanyState, UserRole
from schemas.events.organisation import UserCreated, UserDeleted, UserUpdated

ADMIN_ROLES = frozenset({UserRole.ROOT, UserRole.ADMIN})
NOT_APPROVED = frozenset({CompanyState.PENDING, CompanyState.REJECTED})


def get_user(state: RegistryState, uid: int) -> User:
    user = state.users.get(uid)
    if user is None or user.deleted:
        raise NotFound("user.not_found", f"There is no user {uid}.", user_id=uid)
    return user


def admins_of(state: RegistryState, company_id: int) -> list[User]:
    """The organisation's live Admins (its Root, for the Government)."""
    return [
        u
        for u in state.users.values()
        if u.company_id == company_id and u.role in ADMIN_ROLES and not u.deleted
    ]


def _never_root(role: UserRole) -> None:
    if role is UserRole.ROOT:
        raise Forbidden(
            "user.root_creates_root",
            "There is exactly one Root, created at setup; nobody can create or become one.",
        )


def _keeps_an_admin(state: RegistryState, target: User) -> None:
    if target.role in ADMIN_ROLES and len(admins_of(state, target.company_id)) <= 1:
        raise Conflict(
            "user.last_admin",
            "This is the last Admin of the organisation; add another Admin first.",
            user_id=target.user_id,
            company_id=target.company_id,
        )


def create_user(
    state: RegistryState, principal: Principal, cmd: CreateUser, now: datetime
) -> list[NewEvent]:
    require(principal, Action.CREATE_USER)
    _never_root(cmd.role)
    company_id = cmd.company_id or principal.company_id or state.government_company_id
    org = get_organisation(state, company_id)
    require_reach(principal, Action.CREATE_USER, org.company_id)
    if principal.company_id not in (None, org.company_id) and admins_of(state, org.company_id):
        raise Forbidden(
            "user.company_has_admin",
            f"{org.name} has an Admin, who adds its users; the Government adds users to "
            "another organisation only while it has none.",
            company_id=org.company_id,
        )
    if org.state in NOT_APPROVED:
        raise Conflict(
            "organisation.not_approved",
            f"{org.name} is {org.state.value}; users are added once it is approved.",
            state=org.state.value,
        )
    if cmd.email in state.user_emails:
        raise Conflict(
            "user.email_taken",
            f"A user with e-mail {cmd.email} already exists.",
            email=cmd.email,
        )
    uid = state.next_user_id
    created = UserCreated(
        user_id=uid,
        company_id=org.company_id,
        email=cmd.email,
        name=cmd.name,
        role=cmd.role,
        phone=cmd.phone,
        pending=False,
    )
    return [NewEvent(created, user_id(uid))]


def update_user(
    state: RegistryState, principal: Principal, cmd: UpdateUser, now: datetime
) -> list[NewEvent]:
    require(principal, Action.UPDATE_USER)
    target = get_user(state, cmd.user_id)
    is_self = principal.user_id == target.user_id
    if target.role is UserRole.ROOT and not is_self:
        raise Forbidden("user.root_protected", "Only the Root itself may change the Root.")
    require_reach(principal, Action.UPDATE_USER, target.company_id, target.user_id)
    role = cmd.role or target.role
    if role is not target.role:
        if is_self:
            raise Forbidden(
                "user.own_role",
                "Nobody changes their own role; ask another Admin.",
                role=target.role.value,
            )
        _never_root(role)
        _keeps_an_admin(state, target)
    if cmd.clear and cmd.phone is not None:
        raise Invalid(
            "user.clear_and_set", "A field cannot be both set and cleared.", fields=["phone"]
        )
    phone = None if "phone" in cmd.clear else (cmd.phone or target.phone)
    updated = UserUpdated(
        user_id=target.user_id,
        company_id=target.company_id,
        name=cmd.name or target.name,
        phone=phone,
        role=role,
    )
    if (updated.name, updated.phone, updated.role) == (target.name, target.phone, target.role):
        return []  # a PATCH that changes nothing writes nothing
    return [NewEvent(updated, user_id(target.user_id))]


def delete_user(
    state: RegistryState, principal: Principal, cmd: DeleteUser, now: datetime
) -> list[NewEvent]:
    require(principal, Action.DELETE_USER)
    target = get_user(state, cmd.user_id)
    if target.role is UserRole.ROOT:
        raise Forbidden("user.root_delete", "The Root user can never be deleted.")
    if principal.user_id == target.user_id:
        raise Forbidden("user.self_delete", "Nobody deletes their own account; ask another Admin.")
    require_reach(principal, Action.DELETE_USER, target.company_id, target.user_id)
    _keeps_an_admin(state, target)
    deleted = UserDeleted(user_id=target.user_id, company_id=target.company_id)
    return [NewEvent(deleted, user_id(target.user_id))]

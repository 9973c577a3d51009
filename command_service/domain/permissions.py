"""Who may do what: the single writer's side of ``libs.access_rules``.

The rules themselves (a table of grants, each with a reach) live in ``libs.access_rules``,
which the read side also uses for its row filters; this module resolves the acting user
against the in-memory state and refuses with stable codes. A decision never re-implements
a rule: it calls ``require`` (may this actor take this action at all, and may its
organisation write now) and ``require_reach`` (does the grant reach this target).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from command_service.domain.errors import Forbidden
from command_service.domain.state import Organisation, RegistryState, User
from libs.access_rules import PUBLIC_ACTIONS, WRITE_RULES, Reach, covers, write_reach
from schemas.enums import CompanyRole, CompanyState, UserRole
from schemas.envelope import Actor


class Action(StrEnum):
    REGISTER_ORGANISATION = "organisation.register"
    SELF_REGISTER_ORGANISATION = "organisation.self_register"
    DECIDE_REGISTRATION = "organisation.decide_registration"  # approve, reject
    UPDATE_ORGANISATION = "organisation.update"
    SUSPEND_ORGANISATION = "organisation.suspend"  # suspend, activate
    CREATE_USER = "user.create"
    UPDATE_USER = "user.update"
    DELETE_USER = "user.delete"
    CREATE_PROGRAMME = "programme.create"
    # The credit domain (domain.md 4.2, 6).
    DECIDE_PROGRAMME = "programme.decide"  # approve, authorise, reject, issue
    CERTIFY_PROGRAMME = "programme.certify"
    REVOKE_CERTIFICATION = "programme.revoke_certification"
    REQUEST_TRANSFER = "credits.request_transfer"
    MANAGE_TRANSFER = "credits.manage_transfer"  # approve, reject, cancel (then narrowed)
    RETIRE_CREDITS = "credits.retire"
    DECIDE_RETIREMENT = "credits.decide_retirement"  # recognise, refuse
    CHANGE_SETTINGS = "settings.change"
    ADD_MITIGATION = "programme.add_mitigation"


assert {a.value for a in Action} == set(WRITE_RULES), "every action has rules, and only those"

# The code a refusal carries when a grant does not reach the target.
OUTSIDE_REACH: dict[Action, dict[Reach, str]] = {
    Action.UPDATE_ORGANISATION: {Reach.OWN: "organisation.not_own"},
    Action.CREATE_USER: {Reach.OWN: "user.other_organisation"},
    Action.UPDATE_USER: {Reach.OWN: "user.other_organisation", Reach.SELF: "user.only_self"},
    Action.DELETE_USER: {Reach.OWN: "user.other_organisation"},
}


@dataclass(frozen=True)
class Principal:
    """A resolved actor: the user and organisation as the single writer knows them now."""

    kind: str
    user: User | None = None
    company: Organisation | None = None

    @property
    def is_root(self) -> bool:
        return self.user is not None and self.user.role is UserRole.ROOT

    @property
    def company_role(self) -> CompanyRole | None:
        return self.company.role if self.company else None

    @property
    def company_id(self) -> int | None:
        return self.company.company_id if self.company else None

    @property
    def user_id(self) -> int | None:
        return self.user.user_id if self.user else None


def resolve(state: RegistryState, actor: Actor) -> Principal:
    if actor.kind != "user":
        return Principal(kind=actor.kind)
    user = state.users.get(actor.user_id or 0)
    if user is None or user.pending or user.deleted:
        raise Forbidden("auth.unknown_actor", "The acting user does not exist or is not active.")
    return Principal(kind="user", user=user, company=state.organisations.get(user.company_id))


def reach(principal: Principal, action: Action) -> Reach:
    """How far the principal's grants for ``action`` reach (NONE: not at all)."""
    if principal.kind == "system":
        return Reach.ANY
    if principal.kind == "public":
        return Reach.ANY if action.value in PUBLIC_ACTIONS else Reach.NONE
    if principal.user is None or principal.company is None:
        return Reach.NONE
    return write_reach(action.value, principal.user.role.value, principal.company.role.value)


def allowed(principal: Principal, action: Action) -> bool:
    return reach(principal, action) is not Reach.NONE


def require(principal: Principal, action: Action) -> None:
    """Refuse unless the principal may do the action and its organisation may write."""
    if not allowed(principal, action):
        raise Forbidden(
            "auth.forbidden",
            f"You are not allowed to {action.value.replace('.', ' ')}.",
            action=action.value,
        )
    company = principal.company
    if company is not None and company.state is not CompanyState.ACTIVE:
        raise Forbidden(
            "organisation.not_active",
            "Your organisation is not active, so its users cannot change anything.",
            state=company.state.value,
        )


def require_reach(
    principal: Principal, action: Action, company_id: int, user_id: int | None = None
) -> None:
    """Refuse unless the principal's grant for ``action`` reaches this target: an
    organisation, or a user (``user_id``) of that organisation."""
    r = reach(principal, action)
    own = principal.company_id == company_id
    is_self = user_id is not None and principal.user_id == user_id
    if covers(r, own_company=own, is_self=is_self):
        return
    code = OUTSIDE_REACH.get(action, {}).get(r, "auth.outside_reach")
    where = "yourself" if r is Reach.SELF else "your own organisation"
    raise Forbidden(
        code,
        f"You may {action.value.replace('.', ' ')} only for {where}.",
        action=action.value,
        company_id=company_id,
    )

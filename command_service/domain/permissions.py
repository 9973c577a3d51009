"""Who may do what: one table of data plus small predicates.

The processor refuses commands with it; the query side builds row filters from the same
grants. A route never re-implements a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from command_service.domain.errors import Forbidden
from command_service.domain.state import Organisation, RegistryState, User
from schemas.enums import CompanyRole, CompanyState, UserRole
from schemas.envelope import Actor

CR = CompanyRole
UR = UserRole
WRITERS = frozenset({UR.ROOT, UR.ADMIN, UR.MANAGER})
ADMINS = frozenset({UR.ROOT, UR.ADMIN})


class Action(StrEnum):
    REGISTER_ORGANISATION = "organisation.register"
    CREATE_PROGRAMME = "programme.create"
    # The credit domain (domain.md 4.2, 6).
    DECIDE_PROGRAMME = "programme.decide"  # approve, authorise, reject, issue
    CERTIFY_PROGRAMME = "programme.certify"
    REVOKE_CERTIFICATION = "programme.revoke_certification"
    REQUEST_TRANSFER = "credits.request_transfer"
    MANAGE_TRANSFER = "credits.manage_transfer"  # approve, reject, cancel (then narrowed)
    RETIRE_CREDITS = "credits.retire"
    DECIDE_RETIREMENT = "credits.decide_retirement"  # recognise, refuse
    SUSPEND_ORGANISATION = "organisation.suspend"
    CHANGE_SETTINGS = "settings.change"
    ADD_MITIGATION = "programme.add_mitigation"


@dataclass(frozen=True)
class Grant:
    company_roles: frozenset[CompanyRole]
    user_roles: frozenset[UserRole]


PERMISSIONS: dict[Action, tuple[Grant, ...]] = {
    Action.REGISTER_ORGANISATION: (Grant(frozenset({CR.GOVERNMENT, CR.MINISTRY, CR.API}), ADMINS),),
    Action.CREATE_PROGRAMME: (
        Grant(frozenset({CR.GOVERNMENT, CR.MINISTRY, CR.PROGRAMME_DEVELOPER}), WRITERS),
        Grant(frozenset({CR.API}), ADMINS),
    ),
    Action.DECIDE_PROGRAMME: (Grant(frozenset({CR.GOVERNMENT, CR.MINISTRY}), WRITERS),),
    Action.CERTIFY_PROGRAMME: (Grant(frozenset({CR.CERTIFIER}), WRITERS),),
    Action.REVOKE_CERTIFICATION: (
        Grant(frozenset({CR.CERTIFIER, CR.GOVERNMENT, CR.MINISTRY}), WRITERS),
    ),
    Action.REQUEST_TRANSFER: (
        Grant(frozenset({CR.GOVERNMENT, CR.MINISTRY, CR.PROGRAMME_DEVELOPER}), WRITERS),
    ),
    Action.MANAGE_TRANSFER: (
        Grant(frozenset({CR.GOVERNMENT, CR.MINISTRY, CR.PROGRAMME_DEVELOPER}), WRITERS),
    ),
    Action.RETIRE_CREDITS: (
        Grant(frozenset({CR.GOVERNMENT, CR.MINISTRY, CR.PROGRAMME_DEVELOPER}), WRITERS),
    ),
    Action.DECIDE_RETIREMENT: (Grant(frozenset({CR.GOVERNMENT, CR.MINISTRY}), WRITERS),),
    Action.SUSPEND_ORGANISATION: (Grant(frozenset({CR.GOVERNMENT}), ADMINS),),
    Action.CHANGE_SETTINGS: (Grant(frozenset({CR.GOVERNMENT}), ADMINS),),
    Action.ADD_MITIGATION: (
        Grant(frozenset({CR.GOVERNMENT, CR.MINISTRY, CR.PROGRAMME_DEVELOPER}), WRITERS),
    ),
}


@dataclass(frozen=True)
class Principal:
    """A resolved actor: the user and organisation as the single writer knows them now."""

    kind: str
    user: User | None = None
    company: Organisation | None = None

    @property
    def is_root(self) -> bool:
        return self.user is not None and self.user.role is UR.ROOT

    @property
    def company_role(self) -> CompanyRole | None:
        return self.company.role if self.company else None


def resolve(state: RegistryState, actor: Actor) -> Principal:
    if actor.kind != "user":
        return Principal(kind=actor.kind)
    user = state.users.get(actor.user_id or 0)
    if user is None or user.pending:
        raise Forbidden("auth.unknown_actor", "The acting user does not exist or is not active.")
    return Principal(kind="user", user=user, company=state.organisations.get(user.company_id))


def allowed(principal: Principal, action: Action) -> bool:
    if principal.kind == "system":
        return True
    if principal.user is None or principal.company is None:
        return False
    if principal.is_root:
        return True
    return any(
        principal.company.role in g.company_roles and principal.user.role in g.user_roles
        for g in PERMISSIONS[action]
    )


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

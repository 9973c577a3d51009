"""Who may do what, and who sees which rows: the registry's one table of access rules.

Pure data and small predicates over plain strings (the role names of domain.md section 2),
so both sides use the same rule: the single writer refuses commands with ``WRITE_RULES``
(``command_service.domain.permissions`` wraps it), and the read API turns ``READ_RULES``
into row filters. No service imports, no I/O.

A rule grants an action to users of some organisation roles with some user roles, up to a
*reach*: the actor itself (``SELF``), its own organisation (``OWN``) or any organisation
(``ANY``). Targets the reach does not cover are refused. What a reach cannot say (Root is
never deleted, the last Admin stays, Government adds users elsewhere only while there is no
Admin, ...) are predicates next to the decisions; the tests list them beside the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

# ---- the vocabulary (values of schemas.enums, as stored in the read models) ---------------

ROOT, ADMIN, MANAGER, VIEW_ONLY = "Root", "Admin", "Manager", "ViewOnly"
GOVERNMENT, MINISTRY, DEVELOPER, CERTIFIER, API = (
    "Government",
    "Ministry",
    "ProgrammeDeveloper",
    "Certifier",
    "API",
)

COMPANY_ROLES = frozenset({GOVERNMENT, MINISTRY, DEVELOPER, CERTIFIER, API})
GOVERNMENT_LIKE = frozenset({GOVERNMENT, MINISTRY})
NOT_GOVERNMENT = COMPANY_ROLES - {GOVERNMENT}
ADMINS = frozenset({ROOT, ADMIN})  # a Root counts as its organisation's (the Government's) admin
WRITERS = frozenset({ROOT, ADMIN, MANAGER})  # "non-VO"
EVERYONE = frozenset({ROOT, ADMIN, MANAGER, VIEW_ONLY})
ROOT_ONLY = frozenset({ROOT})
GOV = frozenset({GOVERNMENT})

# Organisation states whose rows anyone signed in may read (registrations are not public).
PUBLIC_ORGANISATION_STATES = frozenset({"Active", "Suspended"})
PUBLIC_PROGRAMME_STAGES = frozenset({"Approved", "Authorised"})
PUBLIC_REQUEST_STATUSES = frozenset({"Approved", "Recognised"})
PUBLIC_BLOCK_STATES = frozenset({"retired"})  # a retirement is a public record


class Reach(IntEnum):
    """How far a grant reaches; a wider reach includes the narrower ones."""

    NONE = 0
    SELF = 1
    OWN = 2
    ANY = 3


@dataclass(frozen=True)
class Rule:
    company_roles: frozenset[str]
    user_roles: frozenset[str]
    reach: Reach = Reach.ANY
    # Reads only: rows in these states are visible whatever the reach.
    public_states: frozenset[str] = frozenset()


# ---- writes (commands), domain.md 4.1, 4.2, 12, 17 -------------------------------------

# Actions an unauthenticated caller may take (the registry itself, ``system``, may do all).
PUBLIC_ACTIONS = frozenset({"organisation.self_register"})

_ROOT = Rule(GOV, ROOT_ONLY)
_ROOT_OWN = Rule(GOV, ROOT_ONLY, Reach.OWN)
_GOV_MIN_DEV = frozenset({GOVERNMENT, MINISTRY, DEVELOPER})

WRITE_RULES: dict[str, tuple[Rule, ...]] = {
    # ---- organisations ----
    "organisation.register": (_ROOT, Rule(frozenset({GOVERNMENT, MINISTRY, API}), ADMINS)),
    "organisation.self_register": (),  # public only (PUBLIC_ACTIONS)
    # Approve or reject a self-registration (a Government admin, or Root).
    "organisation.decide_registration": (_ROOT, Rule(GOV, ADMINS)),
    # Gov/Root may not update other organisations (12.1): every Admin updates its own only.
    "organisation.update": (_ROOT_OWN, Rule(COMPANY_ROLES, ADMINS, Reach.OWN)),
    # Suspend / activate: never one's own, never the Government (predicates in the domain).
    "organisation.suspend": (_ROOT, Rule(GOV, ADMINS)),
    # ---- users ----
    # Own company for every Admin; the Government (Admin, Root) also elsewhere, but only
    # while that organisation has no Admin (17). Nobody creates a Root.
    "user.create": (_ROOT, Rule(GOV, ADMINS), Rule(NOT_GOVERNMENT, ADMINS, Reach.OWN)),
    # Admins update their own organisation's users; Root only the Government's (4.2);
    # Managers only themselves; ViewOnly nothing. Own role and e-mail never.
    "user.update": (
        _ROOT_OWN,
        Rule(COMPANY_ROLES, ADMINS, Reach.OWN),
        Rule(COMPANY_ROLES, frozenset({MANAGER}), Reach.SELF),
    ),
    # Root deletes anyone; Admins their own organisation's users. Never Root, never the
    # last Admin of an organisation, never oneself.
    "user.delete": (_ROOT, Rule(COMPANY_ROLES, ADMINS, Reach.OWN)),
    # ---- programmes and credits (domain.md 4.2, 6) ----
    "programme.create": (_ROOT, Rule(_GOV_MIN_DEV, WRITERS), Rule(frozenset({API}), ADMINS)),
    "programme.decide": (_ROOT, Rule(GOVERNMENT_LIKE, WRITERS)),
    "programme.certify": (_ROOT, Rule(frozenset({CERTIFIER}), WRITERS)),
    "programme.revoke_certification": (
        _ROOT,
        Rule(frozenset({CERTIFIER, GOVERNMENT, MINISTRY}), WRITERS),
    ),
    "programme.add_mitigation": (_ROOT, Rule(_GOV_MIN_DEV, WRITERS)),
    "credits.request_transfer": (_ROOT, Rule(_GOV_MIN_DEV, WRITERS)),
    "credits.manage_transfer": (_ROOT, Rule(_GOV_MIN_DEV, WRITERS)),
    "credits.retire": (_ROOT, Rule(_GOV_MIN_DEV, WRITERS)),
    "credits.decide_retirement": (_ROOT, Rule(GOVERNMENT_LIKE, WRITERS)),
    "settings.change": (_ROOT, Rule(GOV, ADMINS)),
}


def _reach(rules: Iterable[Rule], user_role: str, company_role: str) -> Rule | None:
    matching = [r for r in rules if company_role in r.company_roles and user_role in r.user_roles]
    return max(matching, key=lambda r: r.reach, default=None)


def write_reach(action: str, user_role: str, company_role: str) -> Reach:
    """How far a user of this role in an organisation of this role may take ``action``."""
    rule = _reach(WRITE_RULES[action], user_role, company_role)
    return Reach.NONE if rule is None else rule.reach


def covers(reach: Reach, *, own_company: bool, is_self: bool) -> bool:
    """Whether a reach covers a target in the actor's organisation or not, itself or not."""
    if reach is Reach.ANY:
        return True
    if reach is Reach.OWN:
        return own_company
    if reach is Reach.SELF:
        return is_self
    return False


# ---- reads (row visibility), domain.md 4.2 ---------------------------------------------

_ALL_SEE = Rule(GOVERNMENT_LIKE, EVERYONE)

READ_RULES: dict[str, tuple[Rule, ...]] = {
    # Government and Ministry users (every role) read every user; others their own org's.
    "users": (_ALL_SEE, Rule(COMPANY_ROLES, EVERYONE, Reach.OWN)),
    # Everyone reads organisations; registrations (Pending, Rejected) only the Government
    # side and the organisation itself.
    "organisations": (
        _ALL_SEE,
        Rule(COMPANY_ROLES, EVERYONE, Reach.OWN, PUBLIC_ORGANISATION_STATES),
    ),
    # Developers read Approved/Authorised programmes and their own; others read all.
    "programmes": (
        Rule(frozenset({GOVERNMENT, MINISTRY, CERTIFIER, API}), EVERYONE),
        Rule(frozenset({DEVELOPER}), EVERYONE, Reach.OWN, PUBLIC_PROGRAMME_STAGES),
    ),
    # Transfer and retirement requests: Government side all; developers those they send,
    # receive or asked for; developers and certifiers the accepted/recognised ones.
    "credit_requests": (
        _ALL_SEE,
        Rule(frozenset({DEVELOPER}), EVERYONE, Reach.OWN, PUBLIC_REQUEST_STATUSES),
        Rule(frozenset({CERTIFIER, API}), EVERYONE, Reach.NONE, PUBLIC_REQUEST_STATUSES),
    ),
    # Credit blocks and holdings: the Government side all; others their own and retired.
    "credit_blocks": (_ALL_SEE, Rule(COMPANY_ROLES, EVERYONE, Reach.OWN, PUBLIC_BLOCK_STATES)),
    "holdings": (_ALL_SEE, Rule(COMPANY_ROLES, EVERYONE, Reach.OWN)),
}


@dataclass(frozen=True)
class RowFilter:
    """A row is visible iff ``everything``, or it is linked to ``company_id``, or its
    state is one of ``public_states``. The query side maps "linked" and "state" to columns.
    """

    everything: bool
    company_id: int | None = None
    public_states: frozenset[str] = frozenset()

    @property
    def only_company(self) -> int | None:
        """The company the rows must be linked to, or None when every row is visible."""
        return None if self.everything else self.company_id

    @property
    def states(self) -> list[str] | None:
        """The public states as a SQL array parameter (None when every row is visible)."""
        return None if self.everything else sorted(self.public_states)


NOTHING = RowFilter(everything=False)


def row_filter(subject: str, user_role: str, company_role: str, company_id: int) -> RowFilter:
    """What a signed-in user of this role and organisation may read of ``subject``."""
    if user_role == ROOT:
        return RowFilter(everything=True)
    rule = _reach(READ_RULES[subject], user_role, company_role)
    if rule is None:
        return NOTHING
    if rule.reach is Reach.ANY:
        return RowFilter(everything=True)
    own = company_id if rule.reach >= Reach.OWN else None
    return RowFilter(everything=False, company_id=own, public_states=rule.public_states)


def visible(f: RowFilter, linked_company_ids: Iterable[int], state: str | None) -> bool:
    """The predicate a row filter stands for (the SQL the query side builds must agree)."""
    if f.everything:
        return True
    if f.company_id is not None and f.company_id in set(linked_company_ids):
        return True
    return state is not None and state in f.public_states

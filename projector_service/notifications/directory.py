"""Who to mail: organisations, users, programmes and open requests, kept from the events.

Pure: ``apply`` folds one event into the ``Directory`` and returns the rows it changed, which
the notifier stores in ``notify_<registry>.directory`` in the same transaction as its
checkpoint, so a restart reloads exactly the directory the next event expects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from schemas.envelope import EventEnvelope
from schemas.events import credits as cr
from schemas.events.base import EventPayload
from schemas.events.organisation import (
    OrganisationActivated,
    OrganisationApproved,
    OrganisationRegistered,
    OrganisationRejected,
    OrganisationSuspended,
    OrganisationUpdated,
    UserActivated,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from schemas.events.programme import ProgrammeCreated
from schemas.events.registry import RegistryInitialised

# "Organisation admins" (domain.md 13): Admin and Manager users; Root counts for the Government.
ADMIN_ROLES = frozenset({"Root", "Admin", "Manager"})


@dataclass(frozen=True, slots=True)
class RegistryInfo:
    country_name: str
    credit_unit: str
    government_company_id: int


@dataclass(frozen=True, slots=True)
class Company:
    company_id: int
    name: str
    email: str
    role: str
    state: str


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    company_id: int
    email: str
    name: str
    role: str
    pending: bool


@dataclass(frozen=True, slots=True)
class Programme:
    programme_id: str
    title: str
    proponents: tuple[int, ...]
    serial_no: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """An open transfer or retirement request (dropped from the directory once decided)."""

    request_id: int
    kind: str  # "transfer" | "retirement"
    programme_id: str
    from_company_id: int
    to_company_id: int | None
    initiator_company_id: int
    amount: int


@dataclass(frozen=True, slots=True)
class Change:
    """One directory row to upsert (``data``) or delete (``data is None``)."""

    kind: str
    key: str
    data: dict[str, Any] | None


@dataclass
class Directory:
    registry: RegistryInfo | None = None
    companies: dict[int, Company] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    programmes: dict[str, Programme] = field(default_factory=dict)
    requests: dict[int, Request] = field(default_factory=dict)
    _by_company: dict[int, set[int]] = field(default_factory=dict, repr=False)

    # ---- lookups -------------------------------------------------------------------------

    def admins_of(self, company_id: int | None) -> list[User]:
        """Active Root/Admin/Manager users of a company, in user id order."""
        if company_id is None:
            return []
        ids = sorted(self._by_company.get(company_id, ()))
        return [u for u in (self.users[i] for i in ids) if u.role in ADMIN_ROLES and not u.pending]

    def users_of(self, company_id: int) -> list[User]:
        """Every user of a company (pending ones too), in user id order."""
        return [self.users[i] for i in sorted(self._by_company.get(company_id, ()))]

    def government_id(self) -> int | None:
        return self.registry.government_company_id if self.registry else None

    def company_name(self, company_id: int | None) -> str:
        c = self.companies.get(company_id) if company_id is not None else None
        return c.name if c else f"organisation {company_id}"

    def programme_title(self, programme_id: str) -> str:
        p = self.programmes.get(programme_id)
        return p.title if p else programme_id

    def proponents(self, programme_id: str) -> tuple[int, ...]:
        p = self.programmes.get(programme_id)
        return p.proponents if p else ()

    @property
    def credit_unit(self) -> str:
        return self.registry.credit_unit if self.registry else "credits"

    # ---- persistence ---------------------------------------------------------------------

    def _put(self, kind: str, key: str, obj: Any) -> Change:
        match obj:
            case RegistryInfo():
                self.registry = obj
            case Company():
                self.companies[obj.company_id] = obj
            case User():
                self.users[obj.user_id] = obj
                self._by_company.setdefault(obj.company_id, set()).add(obj.user_id)
            case Programme():
                self.programmes[obj.programme_id] = obj
            case Request():
                self.requests[obj.request_id] = obj
        data = asdict(obj)
        if isinstance(obj, Programme):
            data["proponents"] = list(obj.proponents)
        return Change(kind, key, data)

    def load(self, kind: str, data: dict[str, Any]) -> None:
        """Restore one stored row (see ``Change``)."""
        cls = KINDS[kind]
        if cls is Programme:
            data = {**data, "proponents": tuple(data["proponents"])}
        obj = cls(**data)
        self._put(kind, "", obj)

    @classmethod
    def from_rows(cls, rows: list[tuple[str, dict[str, Any]]]) -> Directory:
        d = cls()
        for kind, data in rows:
            d.load(kind, data)
        return d


KINDS: dict[str, type[Any]] = {
    "registry": RegistryInfo,
    "company": Company,
    "user": User,
    "programme": Programme,
    "request": Request,
}


def _company_state(d: Directory, company_id: int, state: str) -> list[Change]:
    c = d.companies.get(company_id)
    if c is None:
        return []
    return [d._put("company", str(company_id), replace(c, state=state))]


def _user_change(d: Directory, user_id: int, **changes: Any) -> list[Change]:
    u = d.users.get(user_id)
    if u is None:
        return []
    return [d._put("user", str(user_id), replace(u, **changes))]


def _drop_user(d: Directory, user_id: int) -> list[Change]:
    u = d.users.pop(user_id, None)
    if u is None:
        return []
    d._by_company.get(u.company_id, set()).discard(user_id)
    return [Change("user", str(user_id), None)]


def _identity(d: Directory, e: EventPayload) -> list[Change]:
    """Registration decisions, profile updates and deletions (issue 3)."""
    match e:
        case OrganisationApproved():
            return _company_state(d, e.company_id, "Active")
        case OrganisationRejected():
            return _company_state(d, e.company_id, "Rejected")
        case OrganisationUpdated():
            c = d.companies.get(e.company_id)
            if c is None:
                return []
            return [d._put("company", str(c.company_id), replace(c, name=e.name, email=e.email))]
        case UserActivated():
            return _user_change(d, e.user_id, pending=False)
        case UserUpdated():
            return _user_change(d, e.user_id, name=e.name, role=e.role.value)
        case UserDeleted():
            return _drop_user(d, e.user_id)
    return []


def _close_request(d: Directory, request_id: int) -> list[Change]:
    if d.requests.pop(request_id, None) is None:
        return []
    return [Change("request", str(request_id), None)]


def apply(d: Directory, env: EventEnvelope, e: EventPayload) -> list[Change]:
    """Fold one event into the directory; returns the rows to store."""
    match e:
        case RegistryInitialised():
            info = RegistryInfo(e.country_name, e.credit_unit, e.government_company_id)
            return [d._put("registry", "registry", info)]
        case OrganisationRegistered():
            c = Company(e.company_id, e.name, e.email, e.role.value, e.state.value)
            return [d._put("company", str(e.company_id), c)]
        case UserCreated():
            u = User(e.user_id, e.company_id, e.email, e.name, e.role.value, e.pending)
            return [d._put("user", str(e.user_id), u)]
        case OrganisationSuspended():
            return _company_state(d, e.company_id, "Suspended")
        case OrganisationActivated():
            return _company_state(d, e.company_id, "Active")
        case ProgrammeCreated():
            p = Programme(e.programme_id, e.title, tuple(e.proponent_company_ids))
            return [d._put("programme", e.programme_id, p)]
        case cr.ProgrammeAuthorised():
            known = d.programmes.get(e.programme_id)
            if known is None:
                return []
            return [d._put("programme", e.programme_id, replace(known, serial_no=e.serial_no))]
        case cr.TransferRequested():
            r = Request(
                e.request_id,
                "transfer",
                e.programme_id,
                e.from_company_id,
                e.to_company_id,
                e.initiator_company_id,
                e.amount,
            )
            return [d._put("request", str(e.request_id), r)]
        case cr.RetirementRequested():
            r = Request(
                e.request_id,
                "retirement",
                e.programme_id,
                e.from_company_id,
                d.government_id(),
                e.initiator_company_id,
                e.amount,
            )
            return [d._put("request", str(e.request_id), r)]
        case (
            cr.CreditsTransferred()
            | cr.TransferRejected()
            | cr.TransferCancelled()
            | cr.CreditsRetired()
            | cr.RetirementRefused()
            | cr.RetirementCancelled()
        ):
            return _close_request(d, e.request_id)
    return _identity(d, e)

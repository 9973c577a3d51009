"""Row-level visibility: which read-model rows a caller may see (domain.md 4.2 and 10.1).

The rules are ``libs.access_rules`` (the same table the single writer decides with); this
module turns each rule's ``RowFilter`` into SQL over one collection's columns, with every
value bound (``add(value, cast)`` answers the placeholder). ``None`` means "no restriction".

* Root, Government and Ministry see every row.
* Programmes: Certifiers (and API companies, the MRV integration) read all; developers read
  Approved and Authorised programmes plus the ones their organisation proposes.
* Organisations: Pending and Rejected registrations are hidden from non-government callers
  (their own organisation stays visible).
* Users: deleted users are never listed; a non-government caller sees the users of its own
  organisation, never pending ones.
* Credit blocks: one's own blocks, and retired blocks (a retirement is a public record).
* Transfers and retirements: those one's organisation sends, receives or asked for;
  developers and certifiers also read the executed ones (Approved, Recognised).
* Certifications and the programme timeline follow the visibility of their programme.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from libs.access_rules import PUBLIC_PROGRAMME_STAGES, RowFilter, row_filter

Add = Callable[[Any, str], str]

PUBLIC_STAGES = tuple(sorted(PUBLIC_PROGRAMME_STAGES))


class Viewer(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def company_id(self) -> int: ...

    @property
    def company_role(self) -> str: ...


def _filter(subject: str, v: Viewer) -> RowFilter:
    return row_filter(subject, v.role, v.company_role, v.company_id)


def _sql(f: RowFilter, add: Add, linked: Callable[[str], str], state: str | None) -> str | None:
    """A filter as SQL: ``linked(param)`` says a row belongs to the company, ``state`` is
    the column the public states are read from."""
    if f.everything:
        return None
    parts = []
    if f.company_id is not None:
        parts.append(linked(add(f.company_id, "int")))
    if f.public_states and state is not None:
        parts.append(f"{state} = ANY({add(sorted(f.public_states), 'text[]')})")
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def sees_everything(v: Viewer) -> bool:
    return _filter("users", v).everything


def programmes(v: Viewer, add: Add, p: str = "p") -> str | None:
    return _sql(
        _filter("programmes", v),
        add,
        lambda c: f"{p}.proponent_company_ids @> ARRAY[{c}]",
        f"{p}.stage",
    )


def public_programmes(add: Add, p: str = "p") -> str:
    """What anyone may read without signing in: programmes past approval."""
    return f"{p}.stage = ANY({add(list(PUBLIC_STAGES), 'text[]')})"


def organisations(v: Viewer, add: Add, o: str = "o") -> str | None:
    return _sql(_filter("organisations", v), add, lambda c: f"{o}.company_id = {c}", f"{o}.state")


def users(v: Viewer, add: Add, u: str = "u") -> str:
    seen = _sql(_filter("users", v), add, lambda c: f"{u}.company_id = {c}", None)
    if seen is None:
        return f"NOT {u}.deleted"
    return f"(NOT {u}.deleted AND NOT {u}.pending AND {seen})"


def blocks(v: Viewer, add: Add, b: str = "b") -> str | None:
    return _sql(_filter("credit_blocks", v), add, lambda c: f"{b}.company_id = {c}", f"{b}.state")


def credit_requests(v: Viewer, add: Add, r: str = "r") -> str | None:
    return _sql(
        _filter("credit_requests", v),
        add,
        lambda c: f"{c} IN ({r}.from_company_id, {r}.to_company_id, {r}.initiator_company_id)",
        f"{r}.status",
    )


def may_read_holdings(v: Viewer, company_id: int) -> bool:
    f = _filter("holdings", v)
    return f.everything or f.company_id == company_id


def reads_national_accounting(v: Viewer) -> bool:
    return sees_everything(v)

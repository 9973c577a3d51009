"""What a builder returns (``Draft``) and the helpers that pick recipients and words."""

from __future__ import annotations

from dataclasses import dataclass

from projector_service.notifications.directory import Directory, User


@dataclass(frozen=True, slots=True)
class MailContext:
    """Fixed per deployment. Changing ``message_id_domain`` changes future message ids."""

    registry: str
    subject_prefix: str = "Carbon Registry: "
    public_url: str = "http://127.0.0.1:8000"
    message_id_domain: str = "registry"


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Draft:
    """One text for an audience; it becomes one message per recipient (no shared To lines)."""

    kind: str
    to: tuple[Recipient, ...]
    subject: str
    body: str


def people(users: list[User]) -> tuple[Recipient, ...]:
    return tuple(Recipient(u.email, u.name) for u in users)


def org_admins(d: Directory, company_id: int | None) -> tuple[Recipient, ...]:
    return people(d.admins_of(company_id))


def gov_admins(d: Directory) -> tuple[Recipient, ...]:
    return org_admins(d, d.government_id())


def owners_admins(d: Directory, programme_id: str) -> tuple[Recipient, ...]:
    out: list[Recipient] = []
    for company_id in d.proponents(programme_id):
        out.extend(org_admins(d, company_id))
    return tuple(out)


def account_company(d: Directory, account: str) -> int | None:
    """``company:<id>`` -> id; a ``gov:*`` account -> the Government; else None."""
    kind, _, rest = account.partition(":")
    if kind == "company" and rest.isdigit():
        return int(rest)
    if kind == "gov":
        return d.government_id()
    return None


def amount(d: Directory, units: int) -> str:
    return f"{units:,} {d.credit_unit}"


def quoted(label: str, text: str | None) -> str:
    return f"\n\n{label}: {text}" if text else ""


def draft(kind: str, to: tuple[Recipient, ...], subject: str, body: str) -> list[Draft]:
    """A one-draft list, or none when nobody is there to read it."""
    return [Draft(kind, to, subject, body)] if to else []

"""One registry with every kind of actor and target, shared by the permission tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.enums import UserRole
from schemas.envelope import Actor
from tests.unit.command_service.helpers import GOV_COMPANY_ID, PUBLIC, ROOT, Registry, org_cmd

GOV, MIN, DEV, CERT, API = "Government", "Ministry", "ProgrammeDeveloper", "Certifier", "API"
COMPANY_ROLES = (GOV, MIN, DEV, CERT, API)


@dataclass
class Cast:
    reg: Registry
    companies: dict[str, int] = field(default_factory=dict)
    actors: dict[tuple[str, str], Actor] = field(default_factory=dict)
    staff: dict[int, int] = field(default_factory=dict)  # company -> a Manager to act on
    other: int = 0
    pending: int = 0


def build_cast() -> Cast:
    reg = Registry()
    reg.initialise()
    cast = Cast(reg)
    cast.companies[GOV] = GOV_COMPANY_ID
    cast.actors[(GOV, "Root")] = ROOT
    cast.actors[(GOV, "Admin")] = reg.given_user(GOV_COMPANY_ID, UserRole.ADMIN)
    for role, tag in ((MIN, "min"), (DEV, "dev"), (CERT, "cert"), (API, "api")):
        cid, admin = reg.register(ROOT, org_cmd(role, tag))
        cast.companies[role] = cid
        cast.actors[(role, "Admin")] = admin
    cast.other, _ = reg.register(ROOT, org_cmd(DEV, "other"))
    for role, cid in cast.companies.items():
        cast.actors[(role, "Manager")] = reg.given_user(cid, UserRole.MANAGER)
        cast.actors[(role, "ViewOnly")] = reg.given_user(cid, UserRole.VIEW_ONLY)
    for cid in [*cast.companies.values(), cast.other]:
        staff = reg.given_user(cid, UserRole.MANAGER)
        assert staff.user_id is not None
        cast.staff[cid] = staff.user_id
    body = org_cmd(DEV, "pending")
    out = reg.when(body, PUBLIC, type_="SelfRegisterOrganisation")
    assert out.accepted, out.result
    cast.pending = int((out.result.aggregate_id or "").removeprefix("organisation-"))
    return cast

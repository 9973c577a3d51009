"""Given/when helpers for unit tests of the single writer. No I/O: only ``decide_one``.

``Registry`` wraps one ``RegistryState``. ``given`` appends past events to the hash chain and
folds them in exactly as a restore would (``apply_event_bytes``); ``when`` submits one command
from one actor through ``decide_one`` and returns its result and new events. Every event the
registry ever produced (given or decided) is kept, so a test can rebuild the state from the
raw bytes and compare it with the live one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from command_service.application.decisions import Decided, decide_one
from command_service.application.ports import Batch, CommandRecord, Committed, Snapshot
from command_service.application.restore import apply_event_bytes, restore
from command_service.domain.events import (
    REGISTRY_AGGREGATE,
    organisation_id,
    programme_id,
    user_id,
)
from command_service.domain.state import RegistryState, dump_state
from libs.eventlog.ports import RawRecord
from schemas.codec import event_payload, make_event
from schemas.commands.base import CommandPayload
from schemas.enums import CompanyRole, UserRole
from schemas.envelope import (
    SYSTEM_ACTOR,
    Actor,
    CommandEnvelope,
    EventEnvelope,
    ResultEnvelope,
)
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.programme import ProgrammeCreated
from schemas.events.registry import RegistryInitialised

REGISTRY = "testland"
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
COUNTRY = "TL"
GOV_COMPANY_ID = 1
ROOT_USER_ID = 1

# 2024-01-01T00:00:00Z and 2030-01-01T00:00:00Z
START = 1704067200
END = 1893456000


def user(uid: int) -> Actor:
    return Actor(kind="user", user_id=uid)


ROOT = user(ROOT_USER_ID)
PUBLIC = Actor(kind="public")
UNKNOWN = user(9999)


def infer_type(body: dict[str, Any]) -> str:
    """The command type of a body built by the ``*_cmd`` helpers below."""
    if "government_name" in body:
        return "InitialiseRegistry"
    if "admin" in body:
        return "RegisterOrganisation"
    if "proponent_tax_ids" in body:
        return "CreateProgramme"
    raise AssertionError(f"give type_ for {sorted(body)}")


def aggregate_of(payload: EventPayload) -> str:
    if isinstance(payload, RegistryInitialised):
        return REGISTRY_AGGREGATE
    if isinstance(payload, OrganisationRegistered):
        return organisation_id(payload.company_id)
    if isinstance(payload, UserCreated):
        return user_id(payload.user_id)
    if isinstance(payload, ProgrammeCreated):
        return programme_id(payload.programme_id)
    # Credit-domain events: the aggregate follows from the payload's identifying field.
    if payload.AGGREGATE in ("transfer", "retirement"):
        return f"{payload.AGGREGATE}-{getattr(payload, 'request_id')}"  # noqa: B009
    if payload.AGGREGATE == "programme":
        return programme_id(getattr(payload, "programme_id"))  # noqa: B009
    if payload.AGGREGATE == "organisation":
        return organisation_id(getattr(payload, "company_id"))  # noqa: B009
    if payload.AGGREGATE == "settings":
        return "settings"
    if payload.AGGREGATE == "user":
        return user_id(getattr(payload, "user_id"))  # noqa: B009
    raise AssertionError(f"no aggregate for {type(payload).__name__}")


@dataclass
class Outcome:
    """What one command produced: its single result and the events it appended."""

    result: ResultEnvelope
    result_raw: bytes
    events: list[EventEnvelope]
    raws: list[bytes]

    @property
    def accepted(self) -> bool:
        return self.result.status == "accepted"

    @property
    def code(self) -> str | None:
        return self.result.error.code if self.result.error else None

    @property
    def kind(self) -> str | None:
        return self.result.error.kind if self.result.error else None

    @property
    def payloads(self) -> list[EventPayload]:
        return [event_payload(e) for e in self.events]

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]


@dataclass
class Registry:
    state: RegistryState = field(default_factory=lambda: RegistryState(registry=REGISTRY))
    events: list[tuple[EventEnvelope, bytes]] = field(default_factory=list)
    results: list[tuple[ResultEnvelope, bytes]] = field(default_factory=list)
    position: int = 0
    counter: int = 0

    # ---- given -------------------------------------------------------------------------

    def given(self, *payloads: EventPayload, actor: Actor = SYSTEM_ACTOR) -> None:
        """Past events: chained after the current head and folded in as a restore would."""
        for payload in payloads:
            agg = aggregate_of(payload)
            seq = self.state.last_seq + 1
            env, raw = make_event(
                registry=self.state.registry,
                seq=seq,
                payload=payload,
                aggregate_id=agg,
                aggregate_version=self.state.next_aggregate_version(agg),
                command_id=f"given-{seq}",
                actor=actor,
                occurred_at=NOW,
                prev_hash=self.state.last_hash,
            )
            apply_event_bytes(self.state, raw)
            self.events.append((env, raw))

    def given_user(self, company_id: int, role: UserRole, *, pending: bool = False) -> Actor:
        """A user of an existing organisation (e.g. a Government Admin or a ViewOnly)."""
        uid = self.state.next_user_id
        self.given(
            UserCreated(
                user_id=uid,
                company_id=company_id,
                email=f"user{uid}@people.example.org",
                name=f"User {uid}",
                role=role,
                phone=None,
                pending=pending,
            )
        )
        return user(uid)

    # ---- when --------------------------------------------------------------------------

    def envelope(
        self,
        command: CommandPayload | dict[str, Any],
        actor: Actor,
        *,
        command_id: str | None = None,
        type_: str | None = None,
        registry: str | None = None,
    ) -> CommandEnvelope:
        if isinstance(command, CommandPayload):
            payload = command.model_dump(mode="json")
            type_ = type_ or command.TYPE
        else:
            payload = command
            type_ = type_ or infer_type(command)
        if command_id is None:
            self.counter += 1
            command_id = f"cmd-{self.counter}"
        return CommandEnvelope(
            registry=registry or self.state.registry,
            command_id=command_id,
            type=type_,
            actor=actor,
            submitted_at=NOW,
            payload=payload,
        )

    def submit(self, env: CommandEnvelope, now: datetime = NOW) -> Outcome:
        out = Decided()
        decide_one(self.state, CommandRecord(self.position, b"", env), now, out)
        self.position += 1
        assert len(out.results) == 1, out.results
        self.events.extend(out.events)
        self.results.extend(out.results)
        res, res_raw = out.results[0]
        return Outcome(res, res_raw, [e for e, _ in out.events], [r for _, r in out.events])

    def when(
        self,
        command: CommandPayload | dict[str, Any],
        actor: Actor,
        *,
        command_id: str | None = None,
        type_: str | None = None,
        registry: str | None = None,
    ) -> Outcome:
        env = self.envelope(command, actor, command_id=command_id, type_=type_, registry=registry)
        return self.submit(env)

    # ---- shortcuts ---------------------------------------------------------------------

    def initialise(self) -> Outcome:
        out = self.when(initialise_cmd(), SYSTEM_ACTOR)
        assert out.accepted, out.result
        return out

    def register(self, actor: Actor, payload: dict[str, Any]) -> tuple[int, Actor]:
        """Register an organisation that must be accepted; its company id and first admin."""
        out = self.when(payload, actor, type_="RegisterOrganisation")
        assert out.accepted, out.result
        org, admin = out.payloads
        assert isinstance(org, OrganisationRegistered)
        assert isinstance(admin, UserCreated)
        return org.company_id, user(admin.user_id)

    # ---- replay ------------------------------------------------------------------------

    @property
    def raws(self) -> list[bytes]:
        return [raw for _, raw in self.events]

    def replayed(self) -> RegistryState:
        """A fresh state rebuilt from the raw bytes of every event (no idempotency records)."""
        fresh = RegistryState(registry=self.state.registry)
        for raw in self.raws:
            apply_event_bytes(fresh, raw)
        return fresh

    def restored(self) -> RegistryState:
        """A fresh state through ``restore`` over an in-memory log of events and results."""
        log = MemoryLog(self.raws, [raw for _, raw in self.results])
        return asyncio.run(restore(log, self.state.registry)).state


def same_state_but_processed(a: RegistryState, b: RegistryState) -> bool:
    return dump_state(dataclasses.replace(a, processed=b.processed)) == dump_state(b)


class MemoryLog:
    """The read half of ``ProcessorLog`` over lists of bytes (for ``restore``)."""

    def __init__(self, events: list[bytes], results: list[bytes]) -> None:
        self._events = events
        self._results = results

    async def latest_snapshot(self) -> Snapshot | None:
        return None

    async def read_events(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        yield [RawRecord(i, r) for i, r in enumerate(self._events) if i >= from_position]

    async def read_results(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        yield [RawRecord(i, r) for i, r in enumerate(self._results) if i >= from_position]

    async def acquire(self) -> None:  # pragma: no cover - not used by restore
        raise NotImplementedError

    async def next_commands(self, max_records: int, timeout_s: float) -> list[CommandRecord]:
        raise NotImplementedError  # pragma: no cover

    async def commit(self, batch: Batch) -> Committed:
        raise NotImplementedError  # pragma: no cover

    async def write_snapshot(self, snapshot: Snapshot) -> None:
        raise NotImplementedError  # pragma: no cover

    async def close(self) -> None:  # pragma: no cover
        return None


# ---- command bodies (JSON form, as the API would put them on the log) -------------------


def initialise_cmd(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "country_code": COUNTRY,
        "country_name": "Testland",
        "credit_unit": "ITMO",
        "government_name": "Government of Testland",
        "government_email": "gov@testland.example.org",
        "root_email": "root@testland.example.org",
    }
    body.update(overrides)
    return body


def org_cmd(role: CompanyRole | str, n: int | str, **overrides: Any) -> dict[str, Any]:
    """A valid RegisterOrganisation body whose unique fields are derived from ``n``."""
    role = CompanyRole(role)
    body: dict[str, Any] = {
        "name": f"Organisation {n}",
        "role": role.value,
        "email": f"org{n}@orgs.example.org",
        "admin": {"email": f"admin{n}@orgs.example.org", "name": f"Admin {n}"},
    }
    if role in (CompanyRole.PROGRAMME_DEVELOPER, CompanyRole.CERTIFIER):
        body["tax_id"] = f"TAX-{n}"
        body["payment_id"] = f"PAY-{n}"
    if role is CompanyRole.MINISTRY:
        body["sectoral_scopes"] = ["1", "2", "3"]
        body["minister_name"] = f"Minister {n}"
    body.update(overrides)
    return body


def programme_cmd(proponents: list[str], n: int | str = 1, **overrides: Any) -> dict[str, Any]:
    """A valid CreateProgramme body (Energy / scope 1, 2024-2030)."""
    body: dict[str, Any] = {
        "title": f"Programme {n}",
        "external_id": f"EXT-{n}",
        "sector": "Energy",
        "sectoral_scope": "1",
        "start_time": START,
        "end_time": END,
        "credit_est": 1000,
        "proponent_tax_ids": proponents,
        "environmental_assessment_registration_no": f"EIA-{n}",
        "properties": {
            "estimated_programme_cost_usd": "123456.78",
            "geographical_location": ["North"],
            "greenhouse_gases": ["CO2"],
        },
    }
    if len(proponents) > 1:
        share = (Decimal(100) / len(proponents)).quantize(Decimal("0.000001"))
        shares = [share] * len(proponents)
        shares[-1] = Decimal(100) - share * (len(proponents) - 1)
        body["proponent_percentages"] = [str(s) for s in shares]
    body.update(overrides)
    return body


@dataclass
class World:
    """An initialised registry with the usual cast of organisations and users."""

    reg: Registry
    gov_admin: Actor
    gov_manager: Actor
    gov_viewer: Actor
    pd1: int
    pd1_admin: Actor
    pd1_manager: Actor
    pd1_viewer: Actor
    pd2: int
    pd2_admin: Actor
    ministry: int
    ministry_admin: Actor
    certifier: int
    certifier_admin: Actor
    api: int
    api_admin: Actor


def world() -> World:
    reg = Registry()
    reg.initialise()
    gov_admin = reg.given_user(GOV_COMPANY_ID, UserRole.ADMIN)
    gov_manager = reg.given_user(GOV_COMPANY_ID, UserRole.MANAGER)
    gov_viewer = reg.given_user(GOV_COMPANY_ID, UserRole.VIEW_ONLY)
    pd1, pd1_admin = reg.register(gov_admin, org_cmd("ProgrammeDeveloper", "pd1"))
    pd1_manager = reg.given_user(pd1, UserRole.MANAGER)
    pd1_viewer = reg.given_user(pd1, UserRole.VIEW_ONLY)
    pd2, pd2_admin = reg.register(gov_admin, org_cmd("ProgrammeDeveloper", "pd2"))
    ministry, ministry_admin = reg.register(gov_admin, org_cmd("Ministry", "min"))
    certifier, certifier_admin = reg.register(gov_admin, org_cmd("Certifier", "cert"))
    api, api_admin = reg.register(gov_admin, org_cmd("API", "api"))
    return World(
        reg=reg,
        gov_admin=gov_admin,
        gov_manager=gov_manager,
        gov_viewer=gov_viewer,
        pd1=pd1,
        pd1_admin=pd1_admin,
        pd1_manager=pd1_manager,
        pd1_viewer=pd1_viewer,
        pd2=pd2,
        pd2_admin=pd2_admin,
        ministry=ministry,
        ministry_admin=ministry_admin,
        certifier=certifier,
        certifier_admin=certifier_admin,
        api=api,
        api_admin=api_admin,
    )


# ---- the credit domain ------------------------------------------------------------------

PD1_TAX = "TAX-pd1"
PD2_TAX = "TAX-pd2"


def ok(out: Outcome) -> Outcome:
    """The command was accepted (shows the refusal otherwise)."""
    assert out.accepted, out.result
    return out


def refused(out: Outcome, code: str, kind: str) -> Outcome:
    """The command was refused with ``code`` and wrote nothing."""
    assert not out.accepted, out.types
    assert out.code == code, out.result
    assert out.kind == kind, out.result
    assert out.events == []
    return out


def new_programme(
    w: World,
    n: int | str = 1,
    proponents: tuple[str, ...] = (PD1_TAX,),
    percentages: list[str] | None = None,
    credit_est: int = 1000,
    **overrides: Any,
) -> str:
    """A programme awaiting authorisation (created by the Government admin); its id."""
    body = programme_cmd(list(proponents), n, credit_est=credit_est, **overrides)
    if percentages is not None:
        body["proponent_percentages"] = percentages
    out = ok(w.reg.when(body, w.gov_admin))
    created = out.payloads[0]
    assert isinstance(created, ProgrammeCreated)
    return created.programme_id


def authorised_programme(
    w: World,
    n: int | str = 1,
    proponents: tuple[str, ...] = (PD1_TAX,),
    percentages: list[str] | None = None,
    credit_est: int = 1000,
    issue: int | None = None,
) -> str:
    """A programme approved and authorised by the Government admin (optionally issuing)."""
    from schemas.commands.credits import ApproveProgramme, AuthoriseProgramme

    pid = new_programme(w, n, proponents, percentages, credit_est)
    ok(w.reg.when(ApproveProgramme(programme_id=pid), w.gov_admin))
    ok(w.reg.when(AuthoriseProgramme(programme_id=pid, issue_amount=issue), w.gov_admin))
    return pid


def units_of(state: RegistryState, account: str, pid: str) -> list[tuple[int, int]]:
    """The ranges an account holds in a programme, lowest first."""
    ids = state.holdings.get(account, {}).get(pid, [])
    return [(state.blocks[b].start, state.blocks[b].end) for b in ids]

"""Pure projections: each event becomes the expected parameterised row writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

import orjson
import pytest

from projector_service.projections import catalogue, history, programmes, registry
from projector_service.projections.catalogue import PROJECTIONS, NoProjection, project
from projector_service.projections.view import EventView, view_of
from projector_service.projections.writes import Write
from schemas.codec import decode_event, make_event
from schemas.enums import CompanyRole, CompanyState, ProgrammeStage, Sector, SectoralScope, UserRole
from schemas.envelope import GENESIS_HASH, Actor
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.programme import ProgrammeCreated, ProgrammeProperties
from schemas.events.registry import RegistryInitialised
from schemas.registry import EVENT_TYPES

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
ACTOR = Actor(kind="user", user_id=7)


def envelope(payload: EventPayload, seq: int = 42) -> EventView:
    """The event as the projector sees it: decoded from the wire bytes."""
    _, raw = make_event(
        registry="testland",
        seq=seq,
        payload=payload,
        aggregate_id=f"{payload.AGGREGATE}-x",
        aggregate_version=1,
        command_id="cmd-1",
        actor=ACTOR,
        occurred_at=NOW,
        prev_hash=GENESIS_HASH,
    )
    return view_of(decode_event(raw))


def placeholders(sql: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


def check_write(w: Write, table: str) -> None:
    assert isinstance(w, Write)
    assert f"{{s}}.{table} " in w.sql or f"{{s}}.{table}(" in w.sql
    # Every argument is bound to a placeholder and no placeholder is left without one.
    assert placeholders(w.sql) == set(range(1, len(w.args) + 1))
    # The SQL is a fixed template: no value is formatted into it.
    assert "'" not in w.sql


INIT = RegistryInitialised(
    country_code="TL",
    country_name="Testland",
    credit_unit="ITMO",
    government_company_id=1,
    root_user_id=1,
)
ORG = OrganisationRegistered(
    company_id=3,
    name="Ministry of Energy",
    role=CompanyRole.MINISTRY,
    state=CompanyState.ACTIVE,
    tax_id=None,
    payment_id=None,
    email="energy@example.org",
    phone="+1 555",
    website="https://energy.example.org",
    address="2 Main St",
    country_code="TL",
    sectoral_scopes=[SectoralScope.ENERGY_INDUSTRY, SectoralScope.FUGITIVE_EMISSIONS_FROM_FUELS],
    minister_name="Minister",
)
USER = UserCreated(
    user_id=4,
    company_id=3,
    email="admin@example.org",
    name="Admin",
    role=UserRole.ADMIN,
    phone=None,
    pending=False,
)
PROG = ProgrammeCreated(
    programme_id="001",
    title="Solar",
    external_id="EXT-1",
    sector=Sector.ENERGY,
    sectoral_scope=SectoralScope.ENERGY_INDUSTRY,
    country_code="TL",
    stage=ProgrammeStage.AWAITING_AUTHORIZATION,
    start_time=1704067200,
    end_time=1893456000,
    credit_est=1000,
    credit_unit="ITMO",
    proponent_company_ids=[2, 5],
    proponent_percentages=[Decimal("40"), Decimal("60")],
    environmental_assessment_registration_no="EIA-1",
    properties=ProgrammeProperties(
        estimated_programme_cost_usd=Decimal("123456.78"),
        geographical_location=["North"],
        greenhouse_gases=["CO2"],
        carbon_price_usd_per_ton=Decimal("123.46"),
        credit_year=2024,
    ),
    comment="hello",
)


def test_registry_initialised() -> None:
    env = envelope(INIT, seq=1)
    [w] = registry.registry_initialised(env, env.payload)
    check_write(w, "registry_info")
    assert w.sql.startswith("INSERT INTO {s}.registry_info")
    assert w.args == ("TL", "Testland", "ITMO", 1, 1, 1, NOW)


def test_organisation_registered() -> None:
    env = envelope(ORG, seq=2)
    [w] = registry.organisation_registered(env, env.payload)
    check_write(w, "organisations")
    assert w.args == (
        3,
        "Ministry of Energy",
        "Ministry",
        "Active",
        None,
        None,
        "energy@example.org",
        "+1 555",
        "https://energy.example.org",
        "2 Main St",
        "TL",
        ["1", "10"],
        "Minister",
        2,
        NOW,
    )
    # created_seq and updated_seq are both the event's seq.
    assert w.sql.rstrip().endswith("$14,$15,$14)")


def test_user_created() -> None:
    env = envelope(USER, seq=3)
    [w] = registry.user_created(env, env.payload)
    check_write(w, "users")
    assert w.args == (4, 3, "admin@example.org", "Admin", "Admin", None, False, 3, NOW)
    # No secret column is ever written by a projection.
    assert "password" not in w.sql
    assert "api_key" not in w.sql


def test_programme_created_writes_the_programme_and_its_timeline() -> None:
    env = envelope(PROG, seq=9)
    rows = programmes.programme_created(env, env.payload)
    assert len(rows) == 2
    prog, timeline = rows
    check_write(prog, "programmes")
    assert prog.args[:15] == (
        "001",
        "Solar",
        "EXT-1",
        "Energy",
        "1",
        "TL",
        "AwaitingAuthorization",
        1704067200,
        1893456000,
        1000,
        "ITMO",
        [2, 5],
        [Decimal("40"), Decimal("60")],
        "EIA-1",
        orjson.dumps(PROG.properties.model_dump(mode="json")).decode(),
    )
    assert prog.args[15:] == (9, NOW)
    assert orjson.loads(prog.args[14])["carbon_price_usd_per_ton"] == "123.46"
    check_write(timeline, "programme_timeline")
    assert timeline.args[:5] == (9, "001", "ProgrammeCreated", 7, NOW)
    assert orjson.loads(timeline.args[5]) == env.payload


def test_timeline_of_a_system_event_has_no_user() -> None:
    env = envelope(PROG)._replace(actor_user_id=None)
    assert programmes.timeline(env, "001").args[3] is None


@pytest.mark.parametrize("payload", [INIT, ORG, USER, PROG], ids=lambda p: p.TYPE)
def test_catalogue_dispatches_on_the_type_and_adds_the_clock(payload: EventPayload) -> None:
    env = envelope(payload)
    # The view's payload is the JSON form of the typed event.
    assert type(payload).model_validate(env.payload) == payload
    assert project(env) == [
        *PROJECTIONS[payload.TYPE](env, env.payload),
        Write(history.EVENT_TIME, (env.seq, NOW)),
    ]


def test_project_refuses_an_unlisted_payload_type() -> None:
    class Unlisted(EventPayload):
        TYPE: ClassVar[str] = "Unlisted"
        AGGREGATE: ClassVar[str] = "test"

        note: str

    env = envelope(INIT)._replace(type=Unlisted.TYPE, payload={"note": "x"})
    with pytest.raises(NoProjection, match="no projection for event type Unlisted"):
        project(env)


def test_every_event_type_has_a_projection() -> None:
    missing = {name for name in EVENT_TYPES if name not in catalogue.PROJECTIONS}
    assert missing == set()
    # ...and nothing is listed that the registry does not know.
    assert set(catalogue.PROJECTIONS) <= set(EVENT_TYPES)

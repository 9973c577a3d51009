"""Creating programmes: given past events, when CreateProgramme, then ProgrammeCreated or a
refusal (domain.md sections 4.2 and 5.2; every error code in command_service.domain.programmes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from command_service.domain.state import dump_state
from schemas.enums import GreenHouseGas, ProgrammeStage, Sector, SectoralScope, UserRole
from schemas.envelope import SYSTEM_ACTOR
from schemas.events.programme import ProgrammeCreated
from tests.unit.command_service.helpers import (
    COUNTRY,
    END,
    ROOT,
    START,
    UNKNOWN,
    Outcome,
    Registry,
    org_cmd,
    programme_cmd,
    world,
)

PD1 = "TAX-pd1"
PD2 = "TAX-pd2"

YEAR_2000 = 946684800


def created(out: Outcome) -> ProgrammeCreated:
    assert out.accepted, out.result
    assert out.types == ["ProgrammeCreated"]
    payload = out.payloads[0]
    assert isinstance(payload, ProgrammeCreated)
    return payload


def refused(out: Outcome, code: str, kind: str) -> None:
    """The command was refused with ``code`` and nothing but its idempotency record changed."""
    assert not out.accepted
    assert out.code == code, out.result
    assert out.kind == kind
    assert out.events == []
    assert out.result.first_seq is None
    assert out.result.last_seq is None


# ---- success ----------------------------------------------------------------------------


def test_government_admin_creates_a_programme_awaiting_authorisation() -> None:
    w = world()
    out = w.reg.when(programme_cmd([PD1], 1, comment="first"), w.gov_admin)
    p = created(out)
    assert p.programme_id == "001"
    assert p.title == "Programme 1"
    assert p.external_id == "EXT-1"
    assert p.sector is Sector.ENERGY
    assert p.sectoral_scope is SectoralScope.ENERGY_INDUSTRY
    assert p.country_code == COUNTRY
    assert p.stage is ProgrammeStage.AWAITING_AUTHORIZATION
    assert (p.start_time, p.end_time) == (START, END)
    assert p.credit_est == 1000
    assert p.credit_unit == "ITMO"
    assert p.proponent_company_ids == [w.pd1]
    assert p.proponent_percentages == [Decimal(100)]
    assert p.environmental_assessment_registration_no == "EIA-1"
    assert p.properties.estimated_programme_cost_usd == Decimal("123456.78")
    assert p.properties.geographical_location == ["North"]
    assert p.properties.greenhouse_gases == [GreenHouseGas.CO2]
    assert p.properties.carbon_price_usd_per_ton == Decimal("123.46")
    assert p.properties.credit_year == 2024
    assert p.comment == "first"
    env = out.events[0]
    assert env.aggregate_id == "programme-001"
    assert env.aggregate_type == "programme"
    assert env.aggregate_version == 1
    assert env.actor == w.gov_admin
    assert out.result.aggregate_id == "programme-001"
    assert out.result.first_seq == out.result.last_seq == env.seq

    s = w.reg.state
    assert s.programmes["001"].proponents == [w.pd1]
    assert s.programmes["001"].stage is ProgrammeStage.AWAITING_AUTHORIZATION
    assert s.external_ids == {"EXT-1": "001"}
    assert s.eia_numbers == {"EIA-1": "001"}
    assert s.next_programme_id == 2


def test_programme_ids_are_sequential_and_zero_padded() -> None:
    w = world()
    ids = [created(w.reg.when(programme_cmd([PD1], n), ROOT)).programme_id for n in range(1, 4)]
    assert ids == ["001", "002", "003"]
    # A refusal does not consume an id.
    assert w.reg.when(programme_cmd([PD1], 1), ROOT).code == "programme.external_id_taken"
    assert created(w.reg.when(programme_cmd([PD1], 4), ROOT)).programme_id == "004"


@pytest.mark.parametrize(
    ("cost", "credit_est", "price"),
    [
        ("100.05", 10, "10.01"),  # 10.005: half-up, not half-even (10.00)
        ("100.15", 10, "10.02"),  # 10.015
        ("123456.78", 1000, "123.46"),
        ("1", 3, "0.33"),
        ("2", 3, "0.67"),
        ("0.01", 1000, "0.00"),
        ("1000000000000000", 1, "1000000000000000.00"),
    ],
)
def test_carbon_price_is_cost_per_credit_rounded_half_up(
    cost: str, credit_est: int, price: str
) -> None:
    w = world()
    body = programme_cmd([PD1], credit_est=credit_est)
    body["properties"]["estimated_programme_cost_usd"] = cost
    p = created(w.reg.when(body, ROOT))
    assert p.properties.carbon_price_usd_per_ton == Decimal(price)
    assert str(p.properties.carbon_price_usd_per_ton) == price


@pytest.mark.parametrize(
    ("start", "year"),
    [
        (YEAR_2000, 2000),
        (1735689599, 2024),  # 2024-12-31T23:59:59Z
        (1735689600, 2025),  # 2025-01-01T00:00:00Z
    ],
)
def test_credit_year_is_the_utc_year_of_the_start(start: int, year: int) -> None:
    w = world()
    p = created(w.reg.when(programme_cmd([PD1], start_time=start, end_time=END), ROOT))
    assert p.properties.credit_year == year


def test_two_proponents_with_their_percentages() -> None:
    w = world()
    body = programme_cmd([PD2, PD1], proponent_percentages=["30.5", "69.5"])
    p = created(w.reg.when(body, w.pd1_admin))
    assert p.proponent_company_ids == [w.pd2, w.pd1]
    assert p.proponent_percentages == [Decimal("30.5"), Decimal("69.5")]
    assert w.reg.state.programmes["001"].percentages == [Decimal("30.5"), Decimal("69.5")]


def test_proponent_tax_ids_match_case_insensitively() -> None:
    w = world()
    p = created(w.reg.when(programme_cmd(["tax-PD1"]), w.pd1_admin))
    assert p.proponent_company_ids == [w.pd1]


def test_open_sector_accepts_any_scope() -> None:
    w = world()
    body = programme_cmd([PD1], sector="Health", sectoral_scope="7")
    assert created(w.reg.when(body, ROOT)).sector is Sector.HEALTH


@pytest.mark.parametrize(
    "who",
    ["gov_admin", "gov_manager", "ministry_admin", "pd1_admin", "pd1_manager", "api_admin"],
)
def test_who_may_create(who: str) -> None:
    w = world()
    assert created(w.reg.when(programme_cmd([PD1]), getattr(w, who)))


def test_root_and_system_may_create() -> None:
    w = world()
    assert created(w.reg.when(programme_cmd([PD1], 1), ROOT)).programme_id == "001"
    assert created(w.reg.when(programme_cmd([PD1], 2), SYSTEM_ACTOR)).programme_id == "002"


# ---- who may not ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["gov_viewer", "pd1_viewer", "certifier_admin"])
def test_view_only_and_certifier_may_not_create(who: str) -> None:
    w = world()
    out = w.reg.when(programme_cmd([PD1]), getattr(w, who))
    refused(out, "auth.forbidden", "forbidden")
    assert out.result.error is not None
    assert out.result.error.details == {"action": "programme.create"}


def test_api_manager_may_not_create() -> None:
    """API organisations create through their Admin only."""
    w = world()
    manager = w.reg.given_user(w.api, UserRole.MANAGER)
    refused(w.reg.when(programme_cmd([PD1]), manager), "auth.forbidden", "forbidden")


def test_unknown_actor_may_not_create() -> None:
    w = world()
    refused(w.reg.when(programme_cmd([PD1]), UNKNOWN), "auth.unknown_actor", "forbidden")


def test_developer_may_not_create_for_another_developer() -> None:
    w = world()
    out = w.reg.when(programme_cmd([PD2]), w.pd1_admin)
    refused(out, "programme.creator_not_proponent", "forbidden")


def test_ministry_outside_its_scopes_is_refused() -> None:
    w = world()  # the ministry covers scopes 1, 2, 3
    out = w.reg.when(programme_cmd([PD1], sector="Transport", sectoral_scope="7"), w.ministry_admin)
    refused(out, "programme.outside_ministry_scope", "forbidden")
    assert out.result.error is not None
    assert out.result.error.details == {"sectoral_scope": "7"}
    # The same programme from the Government is fine.
    body = programme_cmd([PD1], sector="Transport", sectoral_scope="7")
    assert created(w.reg.when(body, w.gov_admin))


def test_not_initialised_registry_refuses_programmes() -> None:
    reg = Registry()
    out = reg.when(programme_cmd([PD1]), SYSTEM_ACTOR)
    assert out.code == "registry.not_initialised"
    assert out.kind == "conflict"


# ---- validations ------------------------------------------------------------------------


def _refusals() -> list[Any]:
    p = pytest.param
    return [
        p([PD1, "tax-pd1"], {}, "programme.duplicated_proponent", "invalid", id="duplicated"),
        p(["TAX-nobody"], {}, "programme.proponent_not_found", "not_found", id="not-found"),
        p(["TAX-cert"], {}, "programme.proponent_not_developer", "invalid", id="certifier"),
        p([f"00000{COUNTRY}"], {}, "programme.proponent_not_developer", "invalid", id="gov"),
        p(
            [PD1, PD2],
            {"proponent_percentages": None},
            "programme.percentages_required",
            "invalid",
            id="required",
        ),
        p(
            [PD1, PD2],
            {"proponent_percentages": ["100"]},
            "programme.percentages_mismatch",
            "invalid",
            id="fewer",
        ),
        p(
            [PD1],
            {"proponent_percentages": ["50", "50"]},
            "programme.percentages_mismatch",
            "invalid",
            id="more",
        ),
        p(
            [PD1],
            {"proponent_percentages": []},
            "programme.percentages_mismatch",
            "invalid",
            id="empty",
        ),
        p(
            [PD1, PD2],
            {"proponent_percentages": ["60", "50"]},
            "programme.percentages_sum",
            "invalid",
            id="sum-over",
        ),
        p(
            [PD1, PD2],
            {"proponent_percentages": ["33.333333", "66.666666"]},
            "programme.percentages_sum",
            "invalid",
            id="sum-under",
        ),
        p(
            [PD1],
            {"proponent_percentages": ["99"]},
            "programme.percentages_sum",
            "invalid",
            id="single-not-100",
        ),
        p(
            [PD1],
            {"sector": "Energy", "sectoral_scope": "7"},
            "programme.wrong_sector_scope",
            "invalid",
            id="wrong-scope",
        ),
        p(
            [PD1],
            {"sector": "Forestry", "sectoral_scope": "15"},
            "programme.wrong_sector_scope",
            "invalid",
            id="wrong-scope-forestry",
        ),
        p([PD1], {"end_time": START}, "programme.end_before_start", "invalid", id="end-eq"),
        p([PD1], {"end_time": START - 1}, "programme.end_before_start", "invalid", id="end-lt"),
        p(
            [PD1],
            {"start_time": YEAR_2000 - 1},
            "programme.dates_out_of_range",
            "invalid",
            id="before-2000",
        ),
        p(
            [PD1],
            {"end_time": START + 100 * 366 * 86400 + 1},
            "programme.dates_out_of_range",
            "invalid",
            id="over-100-years",
        ),
    ]


@pytest.mark.parametrize(("proponents", "overrides", "code", "kind"), _refusals())
def test_refusals(proponents: list[str], overrides: dict[str, Any], code: str, kind: str) -> None:
    w = world()
    before = dump_state(w.reg.state)
    out = w.reg.when(programme_cmd(proponents, **overrides), ROOT)
    refused(out, code, kind)
    w.reg.state.processed.pop(out.result.command_id)
    assert dump_state(w.reg.state) == before


def test_refusal_details_name_the_tax_id_and_total() -> None:
    w = world()
    out = w.reg.when(programme_cmd(["TAX-nobody"]), ROOT)
    assert out.result.error is not None
    assert out.result.error.details == {"tax_id": "TAX-nobody"}
    out = w.reg.when(programme_cmd([PD1, PD2], proponent_percentages=["60", "50"]), ROOT)
    assert out.result.error is not None
    assert out.result.error.details == {"total": "110"}


def test_exactly_100_years_is_allowed() -> None:
    w = world()
    body = programme_cmd([PD1], end_time=START + 100 * 366 * 86400)
    assert created(w.reg.when(body, ROOT))


def test_external_id_taken() -> None:
    w = world()
    created(w.reg.when(programme_cmd([PD1], 1), ROOT))
    out = w.reg.when(programme_cmd([PD1], 2, external_id="EXT-1"), ROOT)
    refused(out, "programme.external_id_taken", "conflict")
    assert out.result.error is not None
    assert out.result.error.details == {"programme_id": "001"}


def test_assessment_number_taken() -> None:
    w = world()
    created(w.reg.when(programme_cmd([PD1], 1), ROOT))
    created(w.reg.when(programme_cmd([PD1], 2), ROOT))
    out = w.reg.when(
        programme_cmd([PD1], 3, environmental_assessment_registration_no="EIA-2"), ROOT
    )
    refused(out, "programme.assessment_number_taken", "conflict")
    assert out.result.error is not None
    assert out.result.error.details == {"programme_id": "002"}


def test_unique_checks_come_before_proponent_checks() -> None:
    w = world()
    created(w.reg.when(programme_cmd([PD1], 1), ROOT))
    out = w.reg.when(programme_cmd(["TAX-nobody"], 2, external_id="EXT-1"), ROOT)
    assert out.code == "programme.external_id_taken"


@pytest.mark.parametrize(
    "overrides",
    [
        {"credit_est": 0},
        {"proponent_tax_ids": []},
        {"proponent_percentages": ["33.3333333", "66.6666667"]},
        {"sectoral_scope": "16"},
        {"start_time": -1},
        {"properties": {"geographical_location": [], "greenhouse_gases": ["CO2"]}},
    ],
    ids=["zero-credits", "no-proponents", "7-decimals", "scope-16", "negative-time", "no-cost"],
)
def test_schema_violations_are_refused_as_command_invalid(overrides: dict[str, Any]) -> None:
    w = world()
    out = w.reg.when(programme_cmd([PD1, PD2], **overrides), ROOT)
    refused(out, "command.invalid", "invalid")


def test_registering_a_developer_later_makes_it_a_valid_proponent() -> None:
    w = world()
    assert w.reg.when(programme_cmd(["TAX-late"]), ROOT).code == "programme.proponent_not_found"
    w.reg.register(ROOT, org_cmd("ProgrammeDeveloper", "late"))
    assert created(w.reg.when(programme_cmd(["TAX-late"], 2), ROOT))

"""Mitigation actions with the calculator's estimate recorded (domain.md 5.5, 9)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schemas.commands.credits import RejectProgramme
from schemas.events.mitigation import MitigationActionAdded
from tests.unit.command_service.helpers import (
    PD2_TAX,
    World,
    new_programme,
    ok,
    refused,
    world,
)


def add(w: World, pid: str, actor: Any, **body: Any) -> Any:
    return w.reg.when({"programme_id": pid, **body}, actor, type_="AddMitigationAction")


def added(out: Any) -> MitigationActionAdded:
    ok(out)
    payload = out.payloads[0]
    assert isinstance(payload, MitigationActionAdded)
    return payload


def test_agriculture_estimate_uses_the_programme_duration_by_default() -> None:
    w = world()
    pid = new_programme(w, sector="Agriculture", sectoral_scope="15")
    e = added(
        add(
            w,
            pid,
            w.pd1_admin,
            type_of_mitigation="Agriculture",
            user_estimated_credits=120,
            agriculture={"land_area": "1", "land_area_unit": "ha"},
        )
    )
    # 0.046 tCO2e/ha/d x 1 ha x 2192 d (2024-01-01 .. 2030-01-01) = 100.832 -> 100.83
    assert e.system_estimated_credits == Decimal("100.83")
    assert (e.action_id, e.calculator, e.constant_version) == (
        f"{pid}-M-001",
        "agriculture",
        "default",
    )
    assert e.inputs["duration_unit"] == "s"
    e = added(
        add(
            w,
            pid,
            w.gov_admin,
            type_of_mitigation="Agriculture",
            user_estimated_credits=90,
            agriculture={
                "land_area": "16",
                "land_area_unit": "ha",
                "duration": "120",
                "duration_unit": "d",
            },
        )
    )
    assert e.system_estimated_credits == Decimal("88.32")
    assert e.action_id == f"{pid}-M-002"
    p = w.reg.state.programmes[pid]
    assert (p.mitigation_actions, p.user_estimated_total) == (2, 210)


def test_solar_estimate_and_types_without_a_calculator() -> None:
    w = world()
    pid = new_programme(w)  # Energy
    e = added(
        add(
            w,
            pid,
            w.gov_admin,
            type_of_mitigation="Solar",
            user_estimated_credits=1,
            solar={
                "energy_generation": "20",
                "energy_generation_unit": "kWh/year/unit",
                "building_type": "Household",
            },
        )
    )
    assert e.system_estimated_credits == Decimal("0.14")
    e = added(add(w, pid, w.gov_admin, type_of_mitigation="Wind", user_estimated_credits=5))
    assert (e.system_estimated_credits, e.calculator, e.inputs) == (None, None, {})


def test_refusals() -> None:
    w = world()
    pid = new_programme(w, credit_est=100)
    refused(
        add(w, pid, w.gov_admin, type_of_mitigation="Forestry", user_estimated_credits=1),
        "mitigation.wrong_sector",
        "invalid",
    )
    refused(
        add(w, pid, w.gov_admin, type_of_mitigation="Solar", user_estimated_credits=1),
        "mitigation.calculator_inputs_required",
        "invalid",
    )
    refused(
        add(
            w,
            pid,
            w.gov_admin,
            type_of_mitigation="Hydro",
            user_estimated_credits=1,
            agriculture={"land_area": "1", "land_area_unit": "ha"},
        ),
        "mitigation.no_calculator",
        "invalid",
    )
    refused(
        add(
            w,
            pid,
            w.gov_admin,
            type_of_mitigation="Solar",
            user_estimated_credits=1,
            solar={
                "energy_generation": "20",
                "energy_generation_unit": "kWh/year/unit",
                "building_type": "Castle",
            },
        ),
        "calculator.invalid_building_type",
        "invalid",
    )
    ok(add(w, pid, w.gov_admin, type_of_mitigation="Wind", user_estimated_credits=60))
    out = refused(
        add(w, pid, w.gov_admin, type_of_mitigation="Hydro", user_estimated_credits=41),
        "mitigation.estimates_exceed_credit_est",
        "conflict",
    )
    assert out.result.error is not None
    assert out.result.error.details == {"total": 101, "credit_est": 100}
    # Only proponents among developers; never on a rejected programme.
    refused(
        add(w, pid, w.pd2_admin, type_of_mitigation="Wind", user_estimated_credits=1),
        "programme.not_proponent",
        "forbidden",
    )
    ok(w.reg.when(RejectProgramme(programme_id=pid, comment="no"), w.gov_admin))
    refused(
        add(w, pid, w.gov_admin, type_of_mitigation="Wind", user_estimated_credits=1),
        "mitigation.programme_closed",
        "conflict",
    )
    other = new_programme(w, 2, proponents=(PD2_TAX,))
    ok(add(w, other, w.pd2_admin, type_of_mitigation="Wind", user_estimated_credits=1))

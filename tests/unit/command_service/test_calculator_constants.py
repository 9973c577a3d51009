"""Versioned calculator constants: an update stores a new version, new estimates use the
latest and record it, identical sets and developers are refused (domain.md section 9)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from command_service.application.restore import apply_event_bytes
from command_service.domain.state import RegistryState
from schemas.events.credits import CalculatorConstantsUpdated
from schemas.events.mitigation import MitigationActionAdded
from tests.unit.command_service.helpers import ROOT, World, new_programme, ok, refused, world


def update(w: World, actor: Any, **body: Any) -> Any:
    return w.reg.when(body, actor, type_="UpdateCalculatorConstants")


def agriculture_action(w: World, pid: str) -> MitigationActionAdded:
    out = w.reg.when(
        {
            "programme_id": pid,
            "type_of_mitigation": "Agriculture",
            "user_estimated_credits": 10,
            "agriculture": {
                "land_area": "16",
                "land_area_unit": "ha",
                "duration": "120",
                "duration_unit": "d",
            },
        },
        w.gov_admin,
        type_="AddMitigationAction",
    )
    ok(out)
    payload = out.payloads[0]
    assert isinstance(payload, MitigationActionAdded)
    return payload


def test_new_constants_apply_to_new_estimates_and_are_recorded() -> None:
    w = world()
    pid = new_programme(w, sector="Agriculture", sectoral_scope="15")
    first = agriculture_action(w, pid)
    assert (first.system_estimated_credits, first.constant_version) == (
        Decimal("88.32"),
        "default",
    )
    out = update(
        w,
        w.gov_admin,
        calculator="Agriculture",
        agriculture={"emission_factor": "0.05", "emission_factor_unit": "tCO2e/ha/d"},
    )
    ok(out)
    event = out.payloads[0]
    assert isinstance(event, CalculatorConstantsUpdated)
    assert (event.calculator, event.version) == ("Agriculture", "1")
    second = agriculture_action(w, pid)
    # 0.05 x 16 ha x 120 d = 96.00, recorded with version 1; the first action is unchanged.
    assert (second.system_estimated_credits, second.constant_version) == (Decimal("96.00"), "1")
    # The same set again is no change; back to the default values is a new version 2.
    refused(
        update(
            w,
            w.gov_admin,
            calculator="Agriculture",
            agriculture={"emission_factor": "0.05", "emission_factor_unit": "tCO2e/ha/d"},
        ),
        "calculator.no_change",
        "invalid",
    )
    ok(
        update(
            w,
            ROOT,
            calculator="Agriculture",
            agriculture={"emission_factor": "0.046", "emission_factor_unit": "tCO2e/ha/d"},
        )
    )
    third = agriculture_action(w, pid)
    assert (third.system_estimated_credits, third.constant_version) == (Decimal("88.32"), "2")


def test_refusals() -> None:
    w = world()
    body = {"emission_factor": "0.05", "emission_factor_unit": "tCO2e/ha/d"}
    refused(
        update(w, w.pd1_admin, calculator="Agriculture", agriculture=body),
        "auth.forbidden",
        "forbidden",
    )
    refused(
        update(
            w,
            w.gov_admin,
            calculator="Agriculture",
            agriculture={"emission_factor": "1", "emission_factor_unit": "tCO2e/ha"},
        ),
        "calculator.invalid_emission_factor_unit",
        "invalid",
    )
    refused(
        update(w, w.gov_admin, calculator="Solar", agriculture=body),
        "calculator.constants_mismatch",
        "invalid",
    )
    ok(
        update(
            w,
            w.gov_admin,
            calculator="Solar",
            solar={
                "thresholds": {"Household": "60", "School": "300"},
                "emission_factor_below_threshold": "6.8",
                "emission_factor_above_threshold": "1.3",
            },
        )
    )


def test_replay_restores_the_versions() -> None:
    w = world()
    ok(
        update(
            w,
            w.gov_admin,
            calculator="Agriculture",
            agriculture={"emission_factor": "0.05", "emission_factor_unit": "tCO2e/ha/d"},
        )
    )
    fresh = RegistryState(registry=w.reg.state.registry)
    for _, raw in w.reg.events:
        apply_event_bytes(fresh, raw)
    assert fresh.calculator_constants == w.reg.state.calculator_constants

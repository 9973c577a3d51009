"""Versioned calculator constants: an update stores a new version; new estimates use the
latest and record its version, so changing constants never changes history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from command_service.domain.errors import Invalid
from command_service.domain.events import NewEvent
from command_service.domain.permissions import Action, Principal, require
from command_service.domain.state import RegistryState
from libs.credit_calculator import (
    AgricultureConstants,
    CalculatorError,
    ConstantsBook,
    SolarConstants,
)
from libs.credit_calculator.constants import DEFAULT_VERSION
from schemas.commands.credits import UpdateCalculatorConstants
from schemas.events.credits import CalculatorConstantsUpdated

SETTINGS_AGGREGATE = "settings"
Constants = AgricultureConstants | SolarConstants


def constants_from_json(calculator: str, data: dict[str, Any]) -> Constants:
    if calculator == "Agriculture":
        return AgricultureConstants(
            emission_factor=Decimal(data["emission_factor"]),
            emission_factor_unit=data["emission_factor_unit"],
        )
    base = SolarConstants(
        threshold_unit=data["threshold_unit"],
        emission_factor_below_threshold=Decimal(data["emission_factor_below_threshold"]),
        emission_factor_above_threshold=Decimal(data["emission_factor_above_threshold"]),
        emission_factor_unit=data["emission_factor_unit"],
    )
    return base.replace_thresholds({k: Decimal(v) for k, v in data["thresholds"].items()})


def book(state: RegistryState) -> ConstantsBook:
    """The constants book as of now, rebuilt from the stored versions (few, small)."""
    out = ConstantsBook()
    for calculator, versions in state.calculator_constants.items():
        for data in versions:
            out = out.with_new_version(calculator, constants_from_json(calculator, data))
    return out


def latest(state: RegistryState, calculator: str) -> tuple[str, Constants | None]:
    versions = state.calculator_constants.get(calculator)
    if not versions:
        return DEFAULT_VERSION, None
    return str(len(versions)), constants_from_json(calculator, versions[-1])


def update_calculator_constants(
    state: RegistryState, principal: Principal, cmd: UpdateCalculatorConstants, now: datetime
) -> list[NewEvent]:
    require(principal, Action.CHANGE_SETTINGS)
    if cmd.calculator == "Agriculture":
        if cmd.agriculture is None or cmd.solar is not None:
            raise Invalid(
                "calculator.constants_mismatch", "Send `agriculture` constants (only) here."
            )
        data: dict[str, Any] = cmd.agriculture.model_dump(mode="json")
    else:
        if cmd.solar is None or cmd.agriculture is not None:
            raise Invalid("calculator.constants_mismatch", "Send `solar` constants (only) here.")
        data = cmd.solar.model_dump(mode="json")
    try:
        constants = constants_from_json(cmd.calculator, data)
        book(state).with_new_version(cmd.calculator, constants)
    except CalculatorError as exc:
        raise Invalid(exc.code, exc.message) from None
    version = str(len(state.calculator_constants.get(cmd.calculator, [])) + 1)
    return [
        NewEvent(
            CalculatorConstantsUpdated(calculator=cmd.calculator, version=version, constants=data),
            SETTINGS_AGGREGATE,
        )
    ]

"""Calculator constant sets: frozen, validated on construction, with the original's defaults.

A constant set is a value: two sets with equal fields are the same set. Numeric fields accept
int, decimal str or Decimal (see :mod:`libs.credit_calculator.inputs`; floats are refused) and
are stored as Decimal; they must be >= 0. Unit strings are checked when the set is built, with
the calculator's messages (``Invalid emission factor unit X``, ``Invalid threshold unit X``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Final

from libs.credit_calculator.errors import CalculatorError
from libs.credit_calculator.inputs import NumberInput, to_non_negative_decimal
from libs.credit_calculator.units import (
    AREA_UNITS,
    ENERGY_UNITS,
    TIME_UNITS,
    parse_energy_rate_unit,
)

__all__ = [
    "DEFAULT_AGRICULTURE_CONSTANTS",
    "DEFAULT_SOLAR_CONSTANTS",
    "DEFAULT_VERSION",
    "AgricultureConstants",
    "BuildingType",
    "CalculatorType",
    "Constants",
    "SolarConstants",
]

DEFAULT_VERSION: Final = "default"
"""Version label of the built-in constant sets (recorded as ``constantVersion``)."""


class CalculatorType(StrEnum):
    """The mitigation types (``TypeOfMitigation`` values) that have a calculator."""

    AGRICULTURE = "Agriculture"
    SOLAR = "Solar"


class BuildingType(StrEnum):
    """Solar consumer groups with a default threshold."""

    HOUSEHOLD = "Household"
    HEALTH_CENTER = "HealthCenter"
    DISPENSARY = "Dispensary"
    SCHOOL = "School"
    PRIMARY_SCHOOL = "PrimarySchool"
    SECONDARY_SCHOOL = "SecondarySchool"
    PUBLIC_ADMINISTRATION = "PublicAdministration"
    TRADING_PLACE = "TradingPlace"
    BUS_STOP = "BusStop"


def _set(instance: object, name: str, value: object) -> None:
    object.__setattr__(instance, name, value)


@dataclass(frozen=True, slots=True)
class AgricultureConstants:
    """``credits = emission_factor x area x duration``.

    ``emission_factor_unit`` is ``<mass>/<area unit>/<time unit>`` (exactly three parts);
    the area and duration are converted to its area and time units.
    """

    emission_factor: Decimal = Decimal("0.046")
    emission_factor_unit: str = "tCO2e/ha/d"

    def __post_init__(self) -> None:
        _set(
            self,
            "emission_factor",
            to_non_negative_decimal(self.emission_factor, "emission factor"),
        )
        unit = self.emission_factor_unit
        parts = unit.split("/") if isinstance(unit, str) else []
        if (
            len(parts) != 3
            or not parts[0]
            or parts[1] not in AREA_UNITS
            or parts[2] not in TIME_UNITS
        ):
            raise CalculatorError(
                "calculator.invalid_emission_factor_unit", f"Invalid emission factor unit {unit}"
            )

    @property
    def area_unit(self) -> str:
        """Area unit the emission factor is expressed per (``ha`` by default)."""
        return self.emission_factor_unit.split("/")[1]

    @property
    def time_unit(self) -> str:
        """Time unit the emission factor is expressed per (``d`` by default)."""
        return self.emission_factor_unit.split("/")[2]


_DEFAULT_THRESHOLDS: Final[tuple[tuple[str, Decimal], ...]] = tuple(
    sorted(
        {
            BuildingType.HOUSEHOLD: Decimal(55),
            BuildingType.HEALTH_CENTER: Decimal(825),
            BuildingType.DISPENSARY: Decimal(825),
            BuildingType.SCHOOL: Decimal(275),
            BuildingType.PRIMARY_SCHOOL: Decimal(275),
            BuildingType.SECONDARY_SCHOOL: Decimal(275),
            BuildingType.PUBLIC_ADMINISTRATION: Decimal(55),
            BuildingType.TRADING_PLACE: Decimal(825),
            BuildingType.BUS_STOP: Decimal(200),
        }.items()
    )
)


@dataclass(frozen=True, slots=True)
class SolarConstants:
    """Solar PV: a per-building-type threshold Y and two emission factors A (below) and B (above).

    ``thresholds`` pairs a building type name with Y in ``threshold_unit``
    (``<energy>/<time>/unit``); it is stored sorted by name so order never matters. Use
    :meth:`replace_thresholds` to build a set from a mapping. ``emission_factor_unit`` is
    ``<mass>/<energy unit>`` (exactly two parts).
    """

    thresholds: tuple[tuple[str, Decimal], ...] = field(default=_DEFAULT_THRESHOLDS)
    threshold_unit: str = "kWh/year/unit"
    emission_factor_below_threshold: Decimal = Decimal("6.8")
    emission_factor_above_threshold: Decimal = Decimal("1.3")
    emission_factor_unit: str = "tCO2/MWh"

    def __post_init__(self) -> None:
        thresholds: dict[str, Decimal] = {}
        for name, value in self.thresholds:
            if not isinstance(name, str) or not name:
                raise CalculatorError(
                    "calculator.invalid_building_type", f"Invalid building type {name}"
                )
            if name in thresholds:
                raise CalculatorError(
                    "calculator.duplicate_building_type", f"Duplicate building type {name}"
                )
            thresholds[str(name)] = to_non_negative_decimal(value, f"threshold of {name}")
        if not thresholds:
            raise CalculatorError(
                "calculator.no_building_types", "At least one building type threshold is required"
            )
        _set(self, "thresholds", tuple(sorted(thresholds.items())))
        parse_energy_rate_unit(
            self.threshold_unit, "calculator.invalid_threshold_unit", "Invalid threshold unit"
        )
        for name in ("emission_factor_below_threshold", "emission_factor_above_threshold"):
            _set(self, name, to_non_negative_decimal(getattr(self, name), "emission factor"))
        unit = self.emission_factor_unit
        parts = unit.split("/") if isinstance(unit, str) else []
        if len(parts) != 2 or not parts[0] or parts[1] not in ENERGY_UNITS:
            raise CalculatorError(
                "calculator.invalid_emission_factor_unit", f"Invalid emission factor unit {unit}"
            )

    def replace_thresholds(self, thresholds: Mapping[str, NumberInput]) -> SolarConstants:
        """A copy of this set with its thresholds taken from a ``{building type: Y}`` mapping."""
        pairs = tuple(
            (name, to_non_negative_decimal(value, f"threshold of {name}"))
            for name, value in thresholds.items()
        )
        return replace(self, thresholds=pairs)

    def threshold_for(self, building_type: str) -> Decimal:
        """Y for ``building_type``; unknown types raise ``Invalid building type X``."""
        for name, value in self.thresholds:
            if name == building_type:
                return value
        raise CalculatorError(
            "calculator.invalid_building_type", f"Invalid building type {building_type}"
        )


Constants = AgricultureConstants | SolarConstants
"""Any calculator constant set."""

DEFAULT_AGRICULTURE_CONSTANTS: Final = AgricultureConstants()
DEFAULT_SOLAR_CONSTANTS: Final = SolarConstants()

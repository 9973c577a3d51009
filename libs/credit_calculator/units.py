"""Area, time and energy units and exact Decimal conversions between them.

Unit names and the month/year lengths follow the ``convert-units`` npm package used by the
original calculator (month = 365.25/12 days, year = 365.25 days). Imperial areas use the exact
international definitions (1 ft = 0.3048 m); ``convert-units`` uses the rounded ratio
10.7639 ft2/m2, which differs by about 1 part in 10^6.

Compound units:

* energy generation (measured) and threshold units: ``<energy>/<time>/unit``, e.g.
  ``kWh/year/unit`` (energy per unit of time per installed unit);
* agriculture emission factor unit: ``<mass>/<area>/<time>``, e.g. ``tCO2e/ha/d``;
* solar emission factor unit: ``<mass>/<energy>``, e.g. ``tCO2/MWh``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from libs.credit_calculator.errors import CalculatorError

__all__ = [
    "AREA_UNITS",
    "ENERGY_UNITS",
    "TIME_UNITS",
    "EnergyRateUnit",
    "convert_area",
    "convert_energy",
    "convert_time",
    "parse_energy_rate_unit",
]

_DAY: Final = Decimal(86400)
_YEAR: Final = Decimal("365.25") * _DAY

AREA_UNITS: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        "mm2": Decimal("0.000001"),
        "cm2": Decimal("0.0001"),
        "m2": Decimal(1),
        "ha": Decimal(10000),
        "km2": Decimal(1000000),
        "in2": Decimal("0.00064516"),
        "ft2": Decimal("0.09290304"),
        "yd2": Decimal("0.83612736"),
        "ac": Decimal("4046.8564224"),
        "mi2": Decimal("2589988.110336"),
    }
)
"""Square metres per area unit."""

TIME_UNITS: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        "s": Decimal(1),
        "min": Decimal(60),
        "h": Decimal(3600),
        "d": _DAY,
        "week": 7 * _DAY,
        "month": _YEAR / 12,
        "year": _YEAR,
    }
)
"""Seconds per time unit (month = 2 629 800 s, year = 31 557 600 s)."""

ENERGY_UNITS: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        "J": Decimal(1),
        "kJ": Decimal(1000),
        "mWh": Decimal("3.6"),
        "Wh": Decimal(3600),
        "kWh": Decimal(3600000),
        "MWh": Decimal(3600000000),
        "GWh": Decimal(3600000000000),
    }
)
"""Joules per energy unit (``mWh`` is the milliwatt-hour)."""


def _convert(
    value: Decimal, from_unit: str, to_unit: str, table: Mapping[str, Decimal], kind: str
) -> Decimal:
    for unit in (from_unit, to_unit):
        if unit not in table:
            raise CalculatorError(f"calculator.invalid_{kind}_unit", f"Invalid {kind} unit {unit}")
    if from_unit == to_unit:
        return value
    return value * table[from_unit] / table[to_unit]


def convert_area(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """Convert an area; unknown units raise ``calculator.invalid_area_unit``."""
    return _convert(value, from_unit, to_unit, AREA_UNITS, "area")


def convert_time(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """Convert a duration; unknown units raise ``calculator.invalid_time_unit``."""
    return _convert(value, from_unit, to_unit, TIME_UNITS, "time")


def convert_energy(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """Convert an energy; unknown units raise ``calculator.invalid_energy_unit``."""
    return _convert(value, from_unit, to_unit, ENERGY_UNITS, "energy")


@dataclass(frozen=True, slots=True)
class EnergyRateUnit:
    """A parsed ``<energy>/<time>/unit`` string."""

    energy: str
    time: str

    def __str__(self) -> str:
        return f"{self.energy}/{self.time}/unit"


def parse_energy_rate_unit(text: str, code: str, message: str) -> EnergyRateUnit:
    """Parse ``<energy>/<time>/unit``; else raise ``CalculatorError(code, f"{message} {text}")``."""
    parts = text.split("/") if isinstance(text, str) else []
    if (
        len(parts) != 3
        or parts[0] not in ENERGY_UNITS
        or parts[1] not in TIME_UNITS
        or parts[2] != "unit"
    ):
        raise CalculatorError(code, f"{message} {text}")
    return EnergyRateUnit(parts[0], parts[1])

"""Agriculture credits (``@undp/carbon-credit-calculator`` ``AgricultureCreationRequest``).

``credits = emission_factor x area x duration`` with the area converted to the emission factor's
area unit and the duration to its time unit (defaults: 0.046 tCO2e/ha/d, so
16 ha over 120 d gives 88.32). The programme service passes ``endTime - startTime`` in ``s``.
"""

from __future__ import annotations

from decimal import Decimal, DecimalException, localcontext

from libs.credit_calculator.constants import DEFAULT_AGRICULTURE_CONSTANTS, AgricultureConstants
from libs.credit_calculator.errors import CalculatorError
from libs.credit_calculator.inputs import NumberInput, quantize_result, to_positive_decimal
from libs.credit_calculator.units import AREA_UNITS, TIME_UNITS, convert_area, convert_time

__all__ = ["agriculture_credits"]

WORKING_PRECISION = 60
"""Significant digits used for intermediate Decimal arithmetic."""


def agriculture_credits(
    land_area: NumberInput,
    land_area_unit: str,
    duration: NumberInput,
    duration_unit: str,
    constants: AgricultureConstants | None = None,
) -> Decimal:
    """Estimated credits (tCO2e) for a land area over a duration, rounded to 2 places half up.

    ``land_area`` and ``duration`` must be > 0 (int, decimal str or Decimal; never float).
    ``land_area_unit`` is one of ``AREA_UNITS`` (else ``Invalid land area unit X``);
    ``duration_unit`` one of ``TIME_UNITS`` (else ``Invalid duration unit X``).
    ``constants`` defaults to :data:`DEFAULT_AGRICULTURE_CONSTANTS`.
    """
    ef = DEFAULT_AGRICULTURE_CONSTANTS if constants is None else constants
    area = to_positive_decimal(land_area, "land area")
    if land_area_unit not in AREA_UNITS:
        raise CalculatorError(
            "calculator.invalid_land_area_unit", f"Invalid land area unit {land_area_unit}"
        )
    time = to_positive_decimal(duration, "duration")
    if duration_unit not in TIME_UNITS:
        raise CalculatorError(
            "calculator.invalid_duration_unit", f"Invalid duration unit {duration_unit}"
        )
    try:
        with localcontext() as ctx:
            ctx.prec = WORKING_PRECISION
            area_in_unit = convert_area(area, land_area_unit, ef.area_unit)
            time_in_unit = convert_time(time, duration_unit, ef.time_unit)
            return quantize_result(ef.emission_factor * area_in_unit * time_in_unit)
    except DecimalException as exc:
        raise CalculatorError(
            "calculator.out_of_range", "Agriculture inputs are too large to calculate"
        ) from exc

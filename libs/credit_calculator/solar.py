"""Solar PV credits (``@undp/carbon-credit-calculator`` ``SolarCreationRequest``).

With X the measured generation and Y the building type's threshold, both in the measured unit
(``<energy>/<time>/unit``), and A/B the emission factors below/above the threshold converted
from per-MWh to per measured energy unit::

    credits = X * A                  if X < Y
    credits = Y * A + (X - Y) * B    otherwise

Defaults: A = 6.8, B = 1.3 tCO2/MWh; Household Y = 55 kWh/year/unit, so 20 kWh/year/unit gives
0.136 -> 0.14 and 105 kWh/year/unit gives 0.439 -> 0.44.
"""

from __future__ import annotations

from decimal import Decimal, DecimalException, localcontext

from libs.credit_calculator.constants import DEFAULT_SOLAR_CONSTANTS, SolarConstants
from libs.credit_calculator.errors import CalculatorError
from libs.credit_calculator.inputs import NumberInput, quantize_result, to_positive_decimal
from libs.credit_calculator.units import convert_energy, convert_time, parse_energy_rate_unit

__all__ = ["solar_credits"]

WORKING_PRECISION = 60
"""Significant digits used for intermediate Decimal arithmetic."""


def solar_credits(
    energy_generation: NumberInput,
    energy_generation_unit: str,
    building_type: str,
    constants: SolarConstants | None = None,
) -> Decimal:
    """Estimated credits (tCO2 per measured time per unit), rounded to 2 places half up.

    ``energy_generation`` must be > 0 (int, decimal str or Decimal; never float).
    ``energy_generation_unit`` must be ``<energy>/<time>/unit`` with known units (else
    ``Invalid measured unit X``); ``building_type`` must have a threshold in ``constants``
    (else ``Invalid building type X``). ``constants`` defaults to
    :data:`DEFAULT_SOLAR_CONSTANTS`.
    """
    c = DEFAULT_SOLAR_CONSTANTS if constants is None else constants
    x = to_positive_decimal(energy_generation, "energy generation")
    measured = parse_energy_rate_unit(
        energy_generation_unit, "calculator.invalid_measured_unit", "Invalid measured unit"
    )
    threshold = c.threshold_for(building_type)
    threshold_unit = parse_energy_rate_unit(
        c.threshold_unit, "calculator.invalid_threshold_unit", "Invalid threshold unit"
    )
    factor_energy_unit = c.emission_factor_unit.split("/")[1]
    try:
        with localcontext() as ctx:
            ctx.prec = WORKING_PRECISION
            # Y in measured energy per measured time.
            y = convert_energy(threshold, threshold_unit.energy, measured.energy) / convert_time(
                Decimal(1), threshold_unit.time, measured.time
            )
            # Emission factors per one measured energy unit.
            per_measured = convert_energy(Decimal(1), measured.energy, factor_energy_unit)
            a = c.emission_factor_below_threshold * per_measured
            b = c.emission_factor_above_threshold * per_measured
            value = x * a if x < y else y * a + (x - y) * b
            return quantize_result(value)
    except DecimalException as exc:
        raise CalculatorError(
            "calculator.out_of_range", "Solar inputs are too large to calculate"
        ) from exc

"""Carbon credit estimates per methodology, after ``@undp/carbon-credit-calculator`` 1.0.0.

Pure and standard-library only: every number is a :class:`~decimal.Decimal`, results are rounded
to 2 places half up, floats are refused. Modules:

* :mod:`.units`: area/time/energy units and exact conversions;
* :mod:`.inputs`: the accepted number forms and the sign rules;
* :mod:`.constants`: the constant sets with the original defaults;
* :mod:`.book`: versioned custom constant sets per mitigation type;
* :mod:`.agriculture`, :mod:`.solar`: the two calculators.

Every rejection is a :class:`CalculatorError` (a ``ValueError``) with a stable ``code``.
"""

from libs.credit_calculator.agriculture import agriculture_credits
from libs.credit_calculator.book import ConstantsBook
from libs.credit_calculator.constants import (
    DEFAULT_AGRICULTURE_CONSTANTS,
    DEFAULT_SOLAR_CONSTANTS,
    DEFAULT_VERSION,
    AgricultureConstants,
    BuildingType,
    CalculatorType,
    Constants,
    SolarConstants,
)
from libs.credit_calculator.errors import CalculatorError
from libs.credit_calculator.inputs import PRECISION, NumberInput, quantize_result, to_decimal
from libs.credit_calculator.solar import solar_credits
from libs.credit_calculator.units import (
    AREA_UNITS,
    ENERGY_UNITS,
    TIME_UNITS,
    EnergyRateUnit,
    convert_area,
    convert_energy,
    convert_time,
    parse_energy_rate_unit,
)

__all__ = [
    "AREA_UNITS",
    "DEFAULT_AGRICULTURE_CONSTANTS",
    "DEFAULT_SOLAR_CONSTANTS",
    "DEFAULT_VERSION",
    "ENERGY_UNITS",
    "PRECISION",
    "TIME_UNITS",
    "AgricultureConstants",
    "BuildingType",
    "CalculatorError",
    "CalculatorType",
    "Constants",
    "ConstantsBook",
    "EnergyRateUnit",
    "NumberInput",
    "SolarConstants",
    "agriculture_credits",
    "convert_area",
    "convert_energy",
    "convert_time",
    "parse_energy_rate_unit",
    "quantize_result",
    "solar_credits",
    "to_decimal",
]

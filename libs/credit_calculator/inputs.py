"""Turning caller-supplied numbers into finite Decimals, and rounding results.

Rules for every numeric input (quantities and constants):

* ``int``, ``str`` and ``Decimal`` are accepted; ``str`` must be a plain decimal literal
  (optional sign, digits, optional fraction, optional exponent; surrounding spaces ignored).
* ``float`` is refused with ``calculator.float_not_allowed`` (binary floats are inexact);
  ``bool`` and anything else with ``calculator.invalid_number``.
* NaN and infinities are refused with ``calculator.not_finite``.
* Quantities that describe a project (area, duration, energy) must be > 0: negatives give
  ``calculator.negative_value`` and zero gives ``calculator.zero_value``. Constants may be 0.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from libs.credit_calculator.errors import CalculatorError

__all__ = [
    "PRECISION",
    "NumberInput",
    "quantize_result",
    "to_decimal",
    "to_non_negative_decimal",
    "to_positive_decimal",
]

NumberInput = int | str | Decimal
"""What callers may pass for a number."""

PRECISION: Final = 2
"""Decimal places in every calculator result (the original's ``toFixed(2)``)."""

_QUANTUM: Final = Decimal(1).scaleb(-PRECISION)
_LITERAL_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE_RE: Final = re.compile(r"[+-]?(?:nan|snan|inf|infinity)", re.IGNORECASE)


def to_decimal(value: object, name: str) -> Decimal:
    """Convert an int, decimal string or Decimal to a finite Decimal (no sign check)."""
    if isinstance(value, bool):
        raise CalculatorError("calculator.invalid_number", f"Invalid {name} {value!r}")
    if isinstance(value, float):
        raise CalculatorError(
            "calculator.float_not_allowed",
            f"Invalid {name} {value!r}: floats are not allowed, pass a str or Decimal",
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if _NON_FINITE_RE.fullmatch(text):
            raise CalculatorError("calculator.not_finite", f"Invalid {name} {value!r}")
        if not _LITERAL_RE.fullmatch(text):
            raise CalculatorError("calculator.invalid_number", f"Invalid {name} {value!r}")
        return Decimal(text)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CalculatorError("calculator.not_finite", f"Invalid {name} {value}")
        return value
    raise CalculatorError("calculator.invalid_number", f"Invalid {name} {value!r}")


def to_non_negative_decimal(value: object, name: str) -> Decimal:
    """Like :func:`to_decimal` but refuses negatives (used for constants)."""
    number = to_decimal(value, name)
    if number < 0:
        raise CalculatorError(
            "calculator.negative_value", f"Invalid {name} {number}: must not be negative"
        )
    return number


def to_positive_decimal(value: object, name: str) -> Decimal:
    """Like :func:`to_decimal` but refuses negatives and zero (used for project quantities)."""
    number = to_non_negative_decimal(value, name)
    if number == 0:
        raise CalculatorError(
            "calculator.zero_value", f"Invalid {name} {number}: must be greater than 0"
        )
    return number


def quantize_result(value: Decimal) -> Decimal:
    """Round a credit estimate to :data:`PRECISION` places, half up."""
    return value.quantize(_QUANTUM, rounding=ROUND_HALF_UP)

"""Credit serial numbers and inclusive unit-range arithmetic (pure, standard library only).

Serial format (v1, ``@undp/serial-number-gen``)::

    <ISO2>-<creditUnit>-<sectoralScope>-<programmeId>-<year>-0-<start>-<end>
    e.g. VU-ITMO-11-356-2022-0-27-35

* ``ISO2``: two uppercase ASCII letters (the registry's country).
* ``creditUnit``: 1-16 ASCII letters or digits (e.g. ``ITMO``); never contains ``-``.
* ``sectoralScope``: the CDM sectoral scope ``1`` .. ``15`` written in decimal, no leading zero.
* ``programmeId``: 1-20 ASCII digits; never contains ``-``.
* ``year``: 1900 .. 9999 (the year of the programme start time).
* ``0``: a fixed literal.
* ``start``/``end``: the inclusive block of unit numbers, ``1 <= start <= end``.

Because no field may contain ``-``, a serial always has exactly eight ``-``-separated parts and
parsing is unambiguous. Numbers must be written canonically (no sign, no leading zero), so
``str(parse_serial(text)) == text`` for every accepted ``text``.

Ranges are inclusive: ``UnitRange(27, 35)`` holds the nine units 27, 28, ..., 35. The block of
a new programme is reserved from a running counter with :func:`take_next`. A partial transfer
or retirement moves the *high* end of a block (:func:`split_high`), as the v2 registry does:
``[start, end - a]`` stays and ``[end - a + 1, end]`` moves.

Every failure raises :class:`SerialNumberError`, a :class:`ValueError` carrying a stable
machine-readable ``code`` (``serial.<reason>``) and a human-readable message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

__all__ = [
    "Serial",
    "SerialNumberError",
    "UnitRange",
    "allocate_largest_remainder",
    "format_serial",
    "parse_serial",
    "split_consecutive",
    "split_high",
    "take_next",
]

MIN_YEAR: Final = 1900
MAX_YEAR: Final = 9999
MAX_SECTORAL_SCOPE: Final = 15

_COUNTRY_RE: Final = re.compile(r"[A-Z]{2}")
_CREDIT_UNIT_RE: Final = re.compile(r"[A-Za-z0-9]{1,16}")
_PROGRAMME_ID_RE: Final = re.compile(r"[0-9]{1,20}")
_CANONICAL_INT_RE: Final = re.compile(r"0|[1-9][0-9]*")


class SerialNumberError(ValueError):
    """A serial number or unit range rule was broken; ``code`` is stable, ``message`` is prose."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _require_int(value: object, name: str, code: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SerialNumberError(code, f"{name} must be an integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class UnitRange:
    """An inclusive range of credit unit numbers, ``1 <= start <= end``."""

    start: int
    end: int

    def __post_init__(self) -> None:
        start = _require_int(self.start, "start", "serial.invalid_range")
        end = _require_int(self.end, "end", "serial.invalid_range")
        if start < 1:
            raise SerialNumberError("serial.invalid_range", f"start must be >= 1, got {start}")
        if end < start:
            raise SerialNumberError(
                "serial.invalid_range", f"end must be >= start, got {start}-{end}"
            )

    @property
    def size(self) -> int:
        """Number of units in the range (``end - start + 1``)."""
        return self.end - self.start + 1

    def contains(self, unit: int) -> bool:
        """True when ``unit`` lies inside the range."""
        return self.start <= unit <= self.end

    def overlaps(self, other: UnitRange) -> bool:
        """True when the two ranges share at least one unit."""
        return self.start <= other.end and other.start <= self.end

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True, slots=True)
class Serial:
    """A parsed v1 serial number; ``str(serial)`` gives the canonical text back."""

    country: str
    credit_unit: str
    sectoral_scope: str
    programme_id: str
    year: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if not isinstance(self.country, str) or not _COUNTRY_RE.fullmatch(self.country):
            raise SerialNumberError(
                "serial.invalid_country",
                f"country must be two uppercase letters (ISO 3166-1 alpha-2), got {self.country!r}",
            )
        if not isinstance(self.credit_unit, str) or not _CREDIT_UNIT_RE.fullmatch(self.credit_unit):
            raise SerialNumberError(
                "serial.invalid_credit_unit",
                f"credit unit must be 1-16 letters or digits, got {self.credit_unit!r}",
            )
        scope = self.sectoral_scope
        if (
            not isinstance(scope, str)
            or not _CANONICAL_INT_RE.fullmatch(scope)
            or not 1 <= int(scope) <= MAX_SECTORAL_SCOPE
        ):
            raise SerialNumberError(
                "serial.invalid_sectoral_scope",
                f"sectoral scope must be a number from 1 to {MAX_SECTORAL_SCOPE}, got {scope!r}",
            )
        if not isinstance(self.programme_id, str) or not _PROGRAMME_ID_RE.fullmatch(
            self.programme_id
        ):
            raise SerialNumberError(
                "serial.invalid_programme_id",
                f"programme id must be 1-20 digits, got {self.programme_id!r}",
            )
        year = _require_int(self.year, "year", "serial.invalid_year")
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise SerialNumberError(
                "serial.invalid_year", f"year must be {MIN_YEAR}..{MAX_YEAR}, got {year}"
            )
        UnitRange(self.start, self.end)  # validates the block

    @property
    def size(self) -> int:
        """Number of units the serial covers (``end - start + 1``)."""
        return self.end - self.start + 1

    @property
    def units(self) -> UnitRange:
        """The serial's block as a :class:`UnitRange`."""
        return UnitRange(self.start, self.end)

    def __str__(self) -> str:
        return (
            f"{self.country}-{self.credit_unit}-{self.sectoral_scope}-{self.programme_id}"
            f"-{self.year}-0-{self.start}-{self.end}"
        )


def format_serial(
    country: str,
    credit_unit: str,
    sectoral_scope: str,
    programme_id: str,
    year: int,
    start: int,
    end: int,
) -> str:
    """Build a v1 serial, e.g. ``VU-ITMO-11-356-2022-0-27-35``; validates every field."""
    return str(Serial(country, credit_unit, sectoral_scope, programme_id, year, start, end))


def parse_serial(text: str) -> Serial:
    """Parse a canonical v1 serial; raises ``serial.malformed`` or a field error."""
    if not isinstance(text, str):
        raise SerialNumberError("serial.malformed", f"serial must be a string, got {text!r}")
    parts = text.split("-")
    if len(parts) != 8:
        raise SerialNumberError(
            "serial.malformed", f"serial must have 8 '-'-separated parts, got {text!r}"
        )
    country, credit_unit, scope, programme_id, year, zero, start, end = parts
    if zero != "0":
        raise SerialNumberError("serial.malformed", f"sixth part of serial must be 0: {text!r}")
    for value in (year, start, end):
        if not _CANONICAL_INT_RE.fullmatch(value):
            raise SerialNumberError(
                "serial.malformed", f"{value!r} is not a canonical number in serial {text!r}"
            )
    return Serial(country, credit_unit, scope, programme_id, int(year), int(start), int(end))


def _require_amount(amount: object, low: int, high: int) -> int:
    value = _require_int(amount, "amount", "serial.invalid_amount")
    if not low <= value <= high:
        raise SerialNumberError(
            "serial.invalid_amount", f"amount must be {low}..{high}, got {value}"
        )
    return value


def split_high(r: UnitRange, amount: int) -> tuple[UnitRange | None, UnitRange]:
    """Split off the top ``amount`` units: returns ``(kept, moved)``.

    ``moved = [end - amount + 1, end]``; ``kept = [start, end - amount]``, or ``None`` when the
    whole range moves. ``amount`` must be 1..size.
    """
    amount = _require_amount(amount, 1, r.size)
    moved = UnitRange(r.end - amount + 1, r.end)
    kept = None if amount == r.size else UnitRange(r.start, r.end - amount)
    return kept, moved


def take_next(counter: int, amount: int) -> UnitRange:
    """Reserve the ``amount`` units after a running ``counter``: ``[counter+1, counter+amount]``.

    The caller stores ``result.end`` as the new counter. ``counter >= 0``, ``amount >= 1``.
    """
    counter = _require_int(counter, "counter", "serial.invalid_counter")
    if counter < 0:
        raise SerialNumberError("serial.invalid_counter", f"counter must be >= 0, got {counter}")
    amount = _require_int(amount, "amount", "serial.invalid_amount")
    if amount < 1:
        raise SerialNumberError("serial.invalid_amount", f"amount must be >= 1, got {amount}")
    return UnitRange(counter + 1, counter + amount)


def allocate_largest_remainder(total: int, weights: Sequence[Decimal | int]) -> list[int]:
    """Split a whole ``total`` among parties in proportion to ``weights`` (largest remainder).

    Each party first gets ``floor(total * w / sum(w))``; the units still missing go, one each,
    to the parties with the largest fractional remainders, ties to the lower index. The parts
    are >= 0, sum exactly to ``total`` and each differs from its exact share by less than 1.
    Weights must be finite, non-negative ints or Decimals (no floats) with a positive sum;
    all-zero weights are accepted only when ``total`` is 0.
    """
    total = _require_int(total, "total", "serial.invalid_total")
    if total < 0:
        raise SerialNumberError("serial.invalid_total", f"total must be >= 0, got {total}")
    if len(weights) == 0:
        raise SerialNumberError("serial.invalid_weights", "at least one weight is required")
    exact: list[Fraction] = []
    for weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, int | Decimal):
            raise SerialNumberError(
                "serial.invalid_weights", f"weights must be int or Decimal, got {weight!r}"
            )
        if isinstance(weight, Decimal) and not weight.is_finite():
            raise SerialNumberError("serial.invalid_weights", f"weight {weight} is not finite")
        if weight < 0:
            raise SerialNumberError("serial.invalid_weights", f"weight {weight} is negative")
        exact.append(Fraction(weight))
    weight_sum = sum(exact, Fraction(0))
    if weight_sum == 0:
        if total == 0:
            return [0] * len(exact)
        raise SerialNumberError("serial.invalid_weights", "weights must not all be zero")
    shares = [total * w / weight_sum for w in exact]
    parts = [share.numerator // share.denominator for share in shares]
    missing = total - sum(parts)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - parts[i]), i))
    for index in by_remainder[:missing]:
        parts[index] += 1
    return parts


def split_consecutive(r: UnitRange, amounts: Sequence[int]) -> list[UnitRange | None]:
    """Carve ``r`` into consecutive sub-ranges of the given sizes, lowest units first.

    A zero amount yields ``None``. Amounts must be ints >= 0 summing exactly to ``r.size``.
    """
    checked = [_require_amount(amount, 0, r.size) for amount in amounts]
    if sum(checked) != r.size:
        raise SerialNumberError(
            "serial.amounts_mismatch",
            f"amounts sum to {sum(checked)} but the range {r} holds {r.size} units",
        )
    result: list[UnitRange | None] = []
    next_start = r.start
    for amount in checked:
        if amount == 0:
            result.append(None)
        else:
            result.append(UnitRange(next_start, next_start + amount - 1))
            next_start += amount
    return result

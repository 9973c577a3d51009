"""Versioned custom constant sets per mitigation type (``POST /programme/updateConfigs``).

A :class:`ConstantsBook` is an immutable value: adding a version returns a new book. For each
calculator type the versions are numbered ``"1"``, ``"2"``, ... in the order they were added;
when none has been added the built-in set is in force under the version ``"default"``. A new
set identical to the one in force is refused (``calculator.no_change``), mirroring the
original's ``noDiffInConfigFromThePrevVersion``. The latest version is the one calculations
use, and its label is what a programme records as ``constantVersion``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from libs.credit_calculator.constants import (
    DEFAULT_AGRICULTURE_CONSTANTS,
    DEFAULT_SOLAR_CONSTANTS,
    DEFAULT_VERSION,
    AgricultureConstants,
    CalculatorType,
    Constants,
    SolarConstants,
)
from libs.credit_calculator.errors import CalculatorError

__all__ = ["ConstantsBook"]

_DEFAULTS: Final[dict[CalculatorType, Constants]] = {
    CalculatorType.AGRICULTURE: DEFAULT_AGRICULTURE_CONSTANTS,
    CalculatorType.SOLAR: DEFAULT_SOLAR_CONSTANTS,
}
_CLASSES: Final[dict[CalculatorType, type[AgricultureConstants] | type[SolarConstants]]] = {
    CalculatorType.AGRICULTURE: AgricultureConstants,
    CalculatorType.SOLAR: SolarConstants,
}


def _calculator_type(mitigation_type: str) -> CalculatorType:
    try:
        return CalculatorType(mitigation_type)
    except ValueError:
        raise CalculatorError(
            "calculator.unsupported_mitigation_type",
            f"No calculator for mitigation type {mitigation_type}",
        ) from None


def _require_class(kind: CalculatorType, constants: object) -> None:
    if not isinstance(constants, _CLASSES[kind]):
        raise CalculatorError(
            "calculator.constants_type_mismatch",
            f"{type(constants).__name__} cannot be stored for mitigation type {kind}",
        )


@dataclass(frozen=True, slots=True)
class ConstantsBook:
    """Every stored constant set, in the order added, as ``(type, constants)`` pairs."""

    entries: tuple[tuple[CalculatorType, Constants], ...] = ()

    def __post_init__(self) -> None:
        checked: list[tuple[CalculatorType, Constants]] = []
        for mitigation_type, constants in self.entries:
            kind = _calculator_type(mitigation_type)
            _require_class(kind, constants)
            checked.append((kind, constants))
        object.__setattr__(self, "entries", tuple(checked))

    def versions(self, mitigation_type: str) -> tuple[Constants, ...]:
        """The stored sets of one type, oldest first (version ``"1"`` is index 0)."""
        kind = _calculator_type(mitigation_type)
        return tuple(constants for entry_type, constants in self.entries if entry_type == kind)

    def latest(self, mitigation_type: str) -> tuple[str, Constants]:
        """``(version, constants)`` in force: newest stored set, else ``("default", built-in)``."""
        kind = _calculator_type(mitigation_type)
        stored = self.versions(kind)
        if not stored:
            return DEFAULT_VERSION, _DEFAULTS[kind]
        return str(len(stored)), stored[-1]

    def get(self, mitigation_type: str, version: str) -> Constants:
        """The set recorded under ``version`` (``"default"`` or ``"1"``, ``"2"``, ...)."""
        kind = _calculator_type(mitigation_type)
        if version == DEFAULT_VERSION:
            return _DEFAULTS[kind]
        stored = self.versions(kind)
        if version.isascii() and version.isdigit() and not version.startswith("0"):
            index = int(version) - 1
            if index < len(stored):
                return stored[index]
        raise CalculatorError(
            "calculator.unknown_constants_version",
            f"No constants version {version} for mitigation type {kind}",
        )

    def with_new_version(self, mitigation_type: str, constants: Constants) -> ConstantsBook:
        """A new book with ``constants`` stored as the next version of ``mitigation_type``.

        Raises ``calculator.constants_type_mismatch`` when the set does not belong to the type
        and ``calculator.no_change`` when it equals the set currently in force.
        """
        kind = _calculator_type(mitigation_type)
        _require_class(kind, constants)
        _, current = self.latest(kind)
        if constants == current:
            raise CalculatorError(
                "calculator.no_change",
                f"No difference from the previous constants version of {kind}",
            )
        return ConstantsBook((*self.entries, (kind, constants)))

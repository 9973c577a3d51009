"""The calculator's single error type."""

from __future__ import annotations

__all__ = ["CalculatorError"]


class CalculatorError(ValueError):
    """A calculator input or constant set was rejected.

    ``code`` is stable and machine-readable (``calculator.<reason>``); ``str(error)`` is the
    message, worded like the original ``@undp/carbon-credit-calculator`` where one exists
    (``Invalid building type X``, ``Invalid measured unit X``, ...).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

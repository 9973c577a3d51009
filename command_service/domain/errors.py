"""Domain refusals. Each has a stable code, a kind (mapped to an HTTP status at the edge),
a sentence a person understands, and the numbers that matter."""

from __future__ import annotations

from typing import Any, Literal

Kind = Literal["invalid", "forbidden", "not_found", "conflict", "unauthenticated"]


class DomainError(Exception):
    kind: Kind = "invalid"

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class Invalid(DomainError):
    kind: Kind = "invalid"


class Forbidden(DomainError):
    kind: Kind = "forbidden"


class NotFound(DomainError):
    kind: Kind = "not_found"


class Conflict(DomainError):
    kind: Kind = "conflict"

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Write:
    """One parameterised statement; ``{s}`` in the SQL is the read-model schema."""

    sql: str
    args: tuple[Any, ...]

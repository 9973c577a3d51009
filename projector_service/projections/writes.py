from __future__ import annotations

from typing import Any, NamedTuple


class Write(NamedTuple):
    """One parameterised statement; ``{s}`` in the SQL is the read-model schema.

    The SQL is the meaning of the write: the ``sql`` engine runs it as is, and
    ``projector_service.fold`` applies the same effect to rows in memory.
    """

    sql: str
    args: tuple[Any, ...]

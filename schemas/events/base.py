from __future__ import annotations

from typing import ClassVar

from schemas.base import Frozen


class EventPayload(Frozen):
    """Base of every event body. ``TYPE`` is the stable name stored in the log."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str]

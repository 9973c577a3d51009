from __future__ import annotations

from typing import ClassVar

from schemas.base import Frozen


class CommandPayload(Frozen):
    """Base of every command body. ``TYPE`` is the stable name on the commands topic."""

    TYPE: ClassVar[str]

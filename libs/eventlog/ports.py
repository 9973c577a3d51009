"""The read port of the log: committed events in order, for projectors, replay and verify."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A stored event or result: its position in the log and its exact bytes."""

    position: int
    raw: bytes


class EventSource(Protocol):
    async def seek(self, position: int) -> None:
        """Continue reading at this position (the ``next_position`` of a stored checkpoint)."""

    async def next_batch(self, max_records: int, timeout_s: float) -> list[RawRecord]: ...

    async def end_position(self) -> int:
        """The position after the last committed event right now."""

    async def close(self) -> None: ...

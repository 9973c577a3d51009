"""Ports of the write side: the processor's log and the API nodes' command bus.

Two adapters implement them (Kafka, embedded Postgres) and pass one contract suite
(tests/contract). Positions are opaque integers: Kafka offsets, or table sequence numbers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from libs.eventlog.ports import RawRecord
from schemas.envelope import CommandEnvelope, EventEnvelope, ResultEnvelope


class LogUnavailable(Exception):
    """The log cannot be reached or refused the write; nothing was decided or applied."""


class Fenced(Exception):
    """Another processor took over this registry; this one must stop writing at once."""


class ResultTimeout(Exception):
    """The command was published but its result did not arrive in time (it may still apply)."""


@dataclass(frozen=True, slots=True)
class CommandRecord:
    position: int
    raw: bytes
    envelope: CommandEnvelope | None
    decode_error: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """What one transaction commits: events, results, and how far commands were consumed."""

    events: list[tuple[EventEnvelope, bytes]]
    results: list[tuple[ResultEnvelope, bytes]]
    commands_next_position: int


@dataclass(frozen=True, slots=True)
class Committed:
    events_next_position: int
    results_next_position: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    seq: int
    events_position: int
    results_position: int
    state: bytes


class ProcessorLog(Protocol):
    """The log as the single writer of one registry sees it."""

    async def acquire(self) -> None:
        """Become the only writer (fencing any other), positioned after the last commit."""

    async def latest_snapshot(self) -> Snapshot | None: ...

    def read_events(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        """Committed events from a position to the end of the log as it is now."""

    def read_results(self, from_position: int) -> AsyncIterator[list[RawRecord]]: ...

    async def next_commands(self, max_records: int, timeout_s: float) -> list[CommandRecord]: ...

    async def commit(self, batch: Batch) -> Committed:
        """Atomically append events and results and consume the commands (all or nothing).

        Raises LogUnavailable or Fenced; after either, the caller must drop its state.
        """

    async def write_snapshot(self, snapshot: Snapshot) -> None: ...

    async def close(self) -> None: ...


class CommandBus(Protocol):
    """How an API node hands a command to its registry's processor and awaits the outcome."""

    async def submit(self, command: CommandEnvelope, timeout_s: float) -> ResultEnvelope: ...

    async def close(self) -> None: ...


class Credentials(Protocol):
    """Password hashes, kept apart from the log (never in an event)."""

    async def set_password(self, user_id: int, email: str, password_hash: str) -> None: ...

    async def find(self, email: str) -> tuple[int, str] | None: ...

    async def has_any(self) -> bool: ...

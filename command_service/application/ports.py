"""Ports of the write side: the processor's log and the API nodes' command bus.

Two adapters implement them (Kafka, embedded Postgres) and pass one contract suite
(tests/contract). Positions are opaque integers: Kafka offsets, or table sequence numbers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from libs.auth.accounts import AccountStatus, LoginRecord, RefreshResult, ResetResult
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
    """Passwords, sessions, API keys and reset tokens, kept apart from the log (never in an
    event): secrets are stored only as hashes."""

    async def set_password(self, user_id: int, email: str, password_hash: str) -> None: ...

    async def delete_user(self, user_id: int) -> None:
        """Remove every credential of a deleted user (sessions and keys stop working)."""

    async def email_of(self, user_id: int) -> str | None: ...

    async def find(self, email: str) -> tuple[int, str] | None: ...

    async def has_any(self) -> bool: ...

    async def login_record(self, email: str) -> LoginRecord | None: ...

    async def login_record_by_id(self, user_id: int) -> LoginRecord | None: ...

    async def record_failure(self, user_id: int) -> float:
        """Count a wrong password; the seconds of a lock already in force, else 0."""

    async def record_success(self, user_id: int) -> float:
        """Reset the failure count; the seconds of a lock that started meanwhile, else 0."""

    async def change_password(self, user_id: int, password_hash: str) -> None:
        """Set a new password and revoke every refresh and reset token of the user."""

    async def account_status(self, user_id: int) -> AccountStatus: ...

    async def issue_refresh(
        self, user_id: int, token_hash: str, ttl_s: int, family_id: str | None = None
    ) -> str: ...

    async def rotate_refresh(self, old_hash: str, new_hash: str, ttl_s: int) -> RefreshResult: ...

    async def revoke_refresh(self, token_hash: str, reason: str = "logout") -> bool: ...

    async def revoke_family(self, family_id: str, reason: str) -> None: ...

    async def replace_api_key(self, user_id: int, key_id: str, key_hash: str) -> None: ...

    async def user_for_api_key(self, value: str) -> int | None: ...

    async def create_reset_token(
        self, email: str, token_hash: str, ttl_s: int, max_live: int
    ) -> tuple[int, str] | None: ...

    async def reset_token_state(self, token_hash: str) -> ResetResult: ...

    async def reset_password(self, token_hash: str, password_hash: str) -> ResetResult: ...

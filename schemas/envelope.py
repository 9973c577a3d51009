"""Envelopes: what travels on the log. Commands in, events and results out.

An envelope carries routing and provenance; its ``payload`` is the typed body of one
command or event type, stored as plain JSON so old versions can be upcast before validation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from schemas.base import Frozen
from schemas.types import CommandId, RegistryId, Sha256Hex

ENVELOPE_VERSION = 1
GENESIS_HASH = "0" * 64

Seq = Annotated[int, Field(ge=1)]


class Actor(Frozen):
    """Who asked. Only ever set from a verified credential, never from a request body.

    ``system`` is the registry itself (setup, automatic cancellations); ``public`` is an
    unauthenticated caller (self-registration). A user actor's rights are looked up by the
    processor in its own state, so a stale token never grants a revoked right.
    """

    kind: Literal["user", "system", "public"]
    user_id: int | None = None


SYSTEM_ACTOR = Actor(kind="system")


class CommandEnvelope(Frozen):
    envelope_version: Literal[1] = 1
    registry: RegistryId
    command_id: CommandId
    type: Annotated[str, Field(min_length=1, max_length=64)]
    actor: Actor
    submitted_at: datetime
    payload: dict[str, Any]


class EventEnvelope(Frozen):
    """One immutable fact in the log of record.

    ``seq`` is dense and registry-wide; ``hash = sha256(prev_hash || canonical(envelope
    without hash))`` chains every event to the one before it (see ``schemas.hashing``).
    """

    envelope_version: Literal[1] = 1
    registry: RegistryId
    seq: Seq
    type: Annotated[str, Field(min_length=1, max_length=64)]
    version: Annotated[int, Field(ge=1)]
    aggregate_type: Annotated[str, Field(min_length=1, max_length=32)]
    aggregate_id: Annotated[str, Field(min_length=1, max_length=64)]
    aggregate_version: Annotated[int, Field(ge=1)]
    command_id: CommandId
    actor: Actor
    occurred_at: datetime
    payload: dict[str, Any]
    prev_hash: Sha256Hex
    hash: Sha256Hex


class ErrorBody(Frozen):
    """A refusal: a stable machine-readable ``code``, a sentence for people, the numbers."""

    code: Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)+$")]
    kind: Literal["invalid", "forbidden", "not_found", "conflict", "unauthenticated"]
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ResultEnvelope(Frozen):
    """The one outcome of one command id. A retried command gets the same result again."""

    envelope_version: Literal[1] = 1
    registry: RegistryId
    command_id: CommandId
    command_type: str
    status: Literal["accepted", "rejected"]
    first_seq: int | None = None
    last_seq: int | None = None
    aggregate_id: str | None = None
    # Every aggregate the command created or changed, in order (e.g. an organisation and
    # its first admin user).
    aggregate_ids: list[str] = Field(default_factory=list)
    error: ErrorBody | None = None
    decided_at: datetime
    duplicate: bool = False
    # sha256 of the command's type, actor and payload: a reused id with another body is refused.
    fingerprint: Sha256Hex | None = None

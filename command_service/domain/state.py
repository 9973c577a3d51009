"""The in-memory state of one registry, held by its single writer.

Plain dataclasses, mutated only by ``evolve`` (one event at a time), read by the decide
functions. The whole state round-trips through JSON for snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from schemas.enums import (
    CompanyRole,
    CompanyState,
    ProgrammeStage,
    RequestStatus,
    RetirementType,
    UserRole,
)
from schemas.envelope import GENESIS_HASH


@dataclass
class Organisation:
    company_id: int
    name: str
    role: CompanyRole
    state: CompanyState
    tax_id: str | None
    payment_id: str | None
    email: str
    country_code: str
    sectoral_scopes: list[str] = field(default_factory=list)
    # The rest of the profile, kept so an update event can carry the whole profile.
    phone: str | None = None
    website: str | None = None
    address: str | None = None
    minister_name: str | None = None


@dataclass
class User:
    user_id: int
    company_id: int
    email: str
    name: str
    role: UserRole
    pending: bool = False
    phone: str | None = None
    # A deleted user is kept as a tombstone: it can no longer act, its e-mail is free again.
    deleted: bool = False


@dataclass
class Programme:
    programme_id: str
    title: str
    external_id: str
    sector: str
    sectoral_scope: str
    stage: ProgrammeStage
    credit_est: int
    start_time: int
    proponents: list[int]
    percentages: list[Decimal]
    eia_number: str
    end_time: int = 0
    # Fixed at authorisation: the serial and the reserved range [range_start, range_end].
    serial_no: str | None = None
    range_start: int = 0
    range_end: int = 0
    credit_issued: int = 0
    certifiers: list[int] = field(default_factory=list)
    mitigation_actions: int = 0
    user_estimated_total: int = 0


@dataclass
class Block:
    """Units ``start..end`` (inclusive) of one programme, held by one account.

    A block in a terminal account (``retired``, ``gov:omge``) is retired and never moves; a
    frozen block (its holder is suspended) cannot move until it is unfrozen.
    """

    block_id: str
    programme_id: str
    start: int
    end: int
    account: str
    vintage: int
    frozen: bool = False
    parent: str | None = None

    @property
    def size(self) -> int:
        return self.end - self.start + 1


@dataclass
class CreditRequest:
    """A transfer or retirement request (one id sequence for both, as in v1)."""

    request_id: int
    kind: str  # "transfer" | "retirement"
    programme_id: str
    from_company_id: int
    from_account: str
    amount: int
    initiator_company_id: int
    status: RequestStatus = RequestStatus.PENDING
    to_company_id: int | None = None
    to_account: str | None = None
    retirement_type: RetirementType | None = None
    country: str | None = None
    omge_percentage: Decimal = Decimal(0)


@dataclass
class Processed:
    """What became of one command id: the idempotency record."""

    fingerprint: str
    command_type: str
    status: str
    first_seq: int | None = None
    last_seq: int | None = None
    aggregate_id: str | None = None
    aggregate_ids: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


@dataclass
class RegistryState:
    registry: str
    initialised: bool = False
    country_code: str = ""
    country_name: str = ""
    credit_unit: str = "ITMO"
    government_company_id: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    next_company_id: int = 1
    next_user_id: int = 1
    next_programme_id: int = 1
    organisations: dict[int, Organisation] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    programmes: dict[str, Programme] = field(default_factory=dict)
    aggregate_versions: dict[str, int] = field(default_factory=dict)
    tax_ids: dict[str, int] = field(default_factory=dict)
    payment_ids: dict[str, int] = field(default_factory=dict)
    org_emails: dict[str, int] = field(default_factory=dict)
    user_emails: dict[str, int] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    eia_numbers: dict[str, str] = field(default_factory=dict)
    processed: dict[str, Processed] = field(default_factory=dict)
    # ---- the credit ledger ----
    # The country-wide unit counter: the last unit reserved by an authorisation. Only grows.
    serial_counter: int = 0
    blocks: dict[str, Block] = field(default_factory=dict)
    # account -> programme id -> ids of the blocks it holds there, lowest serial first.
    holdings: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    credit_requests: dict[int, CreditRequest] = field(default_factory=dict)
    # "<account>/<programme id>" -> ids of the pending requests sending from it, oldest first.
    pending_requests: dict[str, list[int]] = field(default_factory=dict)
    next_request_id: int = 1
    transfers_frozen: bool = False
    omge_percentage: Decimal = Decimal(0)
    # Calculator type -> stored constant sets (JSON), version n is index n-1.
    calculator_constants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def next_aggregate_version(self, aggregate_id: str) -> int:
        return self.aggregate_versions.get(aggregate_id, 0) + 1


_ADAPTER: TypeAdapter[RegistryState] = TypeAdapter(RegistryState)

# The shape of the state in snapshots. Bump it whenever ``RegistryState`` (or anything in it)
# changes shape or meaning: a snapshot of another version is not loaded, and the processor
# restores from the log instead (snapshots are only a shortcut). ``STATE_SCHEMA_SHA256``
# makes a test fail when the shape changes without a bump.
STATE_VERSION = 1
STATE_SCHEMA_SHA256 = "22ee2bffc789254612606a6cbf6d2e2a4a4f6e9bbfd3950a3eec3f795dd4ec0e"
_SNAPSHOT_HEAD = b'{"state_version":%d,"state":' % STATE_VERSION


class SnapshotOutdated(ValueError):
    """A snapshot written for another state version (or before versions were written)."""


def dump_state(state: RegistryState) -> bytes:
    """The state as a versioned snapshot: ``{"state_version": n, "state": {...}}``."""
    return _SNAPSHOT_HEAD + _ADAPTER.dump_json(state) + b"}"


def load_state(raw: bytes) -> RegistryState:
    """The state of a snapshot of this ``STATE_VERSION``; ``SnapshotOutdated`` otherwise."""
    if not (raw.startswith(_SNAPSHOT_HEAD) and raw.endswith(b"}")):
        raise SnapshotOutdated(f"not a state snapshot of version {STATE_VERSION}")
    return _ADAPTER.validate_json(raw[len(_SNAPSHOT_HEAD) : -1])

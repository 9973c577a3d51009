"""Response models of the read API (rows never leave ``queries/``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    seq: int
    data: list[T]
    next_cursor: str | None = None
    total: int | None = None  # with count=true: every match, not just this page


class One(BaseModel, Generic[T]):
    seq: int
    data: T


class RegistryInfo(BaseModel):
    country_code: str
    country_name: str
    credit_unit: str
    government_company_id: int
    initialised_seq: int
    initialised_at: datetime


class Organisation(BaseModel):
    company_id: int
    name: str
    role: str
    state: str
    tax_id: str | None
    payment_id: str | None
    email: str
    phone: str | None
    website: str | None
    address: str | None
    country_code: str
    sectoral_scopes: list[str]
    minister_name: str | None
    created_seq: int
    created_at: datetime
    updated_seq: int


class User(BaseModel):
    user_id: int
    company_id: int
    email: str
    name: str
    role: str
    phone: str | None
    pending: bool
    created_at: datetime
    company_role: str | None = None
    company_name: str | None = None


class Programme(BaseModel):
    programme_id: str
    title: str
    external_id: str
    sector: str
    sectoral_scope: str
    country_code: str
    stage: str
    start_time: int
    end_time: int
    credit_est: int
    credit_unit: str
    proponent_company_ids: list[int]
    proponent_percentages: list[str]
    environmental_assessment_registration_no: str
    properties: dict[str, Any]
    serial_no: str | None
    range_start: int | None = None
    range_end: int | None = None
    credit_issued: int = 0
    created_seq: int
    created_at: datetime
    updated_seq: int


class TimelineEntry(BaseModel):
    seq: int
    programme_id: str | None = None
    type: str
    actor_user_id: int | None
    occurred_at: datetime
    payload: dict[str, Any]


class Proponent(BaseModel):
    company_id: int
    name: str
    percentage: str


class PublicProgramme(BaseModel):
    """A programme as the public sees it: no e-mails, phones or user ids."""

    programme_id: str
    title: str
    external_id: str
    sector: str
    sectoral_scope: str
    country_code: str
    stage: str
    start_time: int
    end_time: int
    credit_est: int
    credit_issued: int
    credit_unit: str
    serial_no: str | None
    range_start: int | None
    range_end: int | None
    geographical_location: list[str]
    greenhouse_gases: list[str]
    proponents: list[Proponent]
    created_at: datetime


class LogCheckpoint(BaseModel):
    """The log's head as the read side has verified and applied it, signed by the registry
    (Ed25519 over the canonical JSON of kind, registry, seq, hash and signed_at). Keep it:
    ``registry verify --checkpoint`` later proves the log still holds that seq with that
    hash. Verify with the key from ``/v1/public/log/key``, pinned, never from here."""

    kind: str
    registry: str
    seq: int
    hash: str
    signed_at: str
    key_id: str
    signature: str


class LogKey(BaseModel):
    """The public key that signs this registry's log checkpoints."""

    algorithm: str
    key_id: str
    public_key: str

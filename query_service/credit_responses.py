"""Response models of the credit reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class CreditBlock(BaseModel):
    block_id: str
    programme_id: str
    serial_no: str
    range_start: int
    range_end: int
    size: int
    account: str
    company_id: int | None
    state: str  # active | frozen | retired
    vintage: int
    parent_block_id: str | None
    request_id: int | None
    created_seq: int
    updated_seq: int


class Holding(BaseModel):
    account: str
    programme_id: str
    programme_title: str
    serial_no: str | None
    total: int
    available: int
    frozen: int
    blocks: int


class Holdings(BaseModel):
    company_id: int
    total: int
    available: int
    frozen: int
    holdings: list[Holding]
    # With ``limit``: the ``cursor`` of the next page (None on the last one).
    next_cursor: str | None = None


class CountryAccount(BaseModel):
    account: str
    total: int
    blocks: int


class CountryAccounts(BaseModel):
    serial_counter: int
    issued: int
    retired: int
    authorised_programmes: int
    accounts: list[CountryAccount]


class CreditRequest(BaseModel):
    request_id: int
    kind: str
    programme_id: str
    from_company_id: int
    from_account: str
    to_company_id: int | None
    to_account: str | None
    amount: int
    initiator_company_id: int
    initiator_user_id: int | None
    status: str
    retirement_type: str | None
    country: str | None
    organisation_name: str | None
    omge_percentage: str | None
    omge_units: int | None
    comment: str | None
    decision_comment: str | None
    cancel_reason: str | None
    created_seq: int
    created_at: datetime
    updated_seq: int
    decided_at: datetime | None


class Certification(BaseModel):
    programme_id: str
    certifier_id: int
    certifier_name: str
    state: str
    certified_seq: int
    certified_at: datetime
    revoked_seq: int | None
    revoked_at: datetime | None
    revoke_reason: str | None


class Settings(BaseModel):
    transfers_frozen: bool
    omge_percentage: str
    updated_seq: int | None


class MitigationAction(BaseModel):
    action_id: str
    programme_id: str
    type_of_mitigation: str
    user_estimated_credits: int
    system_estimated_credits: str | None
    calculator: str | None
    inputs: dict[str, Any]
    constant_version: str | None
    comment: str | None
    created_seq: int
    created_at: datetime

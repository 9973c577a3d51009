"""Events of the credit domain.

Every event that creates or moves credits carries its exact block effects (ranges, serials,
accounts), so folding it into the state or a read model never decides anything again.
Account ids: ``company:<id>``, ``gov:local``, ``gov:international``, ``gov:omge``, ``retired``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schemas.base import Frozen
from schemas.enums import CancelReason, ProgrammeStage, RetirementType, RevokeReason
from schemas.events.base import EventPayload

RETIRED_ACCOUNT = "retired"
OMGE_ACCOUNT = "gov:omge"
# Units in these accounts are retired (cancelled) and never move again.
TERMINAL_ACCOUNTS = frozenset({RETIRED_ACCOUNT, OMGE_ACCOUNT})


class ProgrammeApproved(EventPayload):
    TYPE = "ProgrammeApproved"
    AGGREGATE = "programme"

    programme_id: str
    comment: str | None = None


class ProgrammeRejected(EventPayload):
    TYPE = "ProgrammeRejected"
    AGGREGATE = "programme"

    programme_id: str
    previous_stage: ProgrammeStage
    comment: str


class ProgrammeAuthorised(EventPayload):
    """The programme's range ``[range_start, range_end]`` is reserved from the country
    counter (which becomes ``range_end``) and its serial number is fixed."""

    TYPE = "ProgrammeAuthorised"
    AGGREGATE = "programme"

    programme_id: str
    serial_no: str
    range_start: int
    range_end: int
    comment: str | None = None


class IssuedBlock(Frozen):
    block_id: str
    start: int
    end: int
    serial: str
    company_id: int
    account: str
    frozen: bool


class CreditsIssued(EventPayload):
    TYPE = "CreditsIssued"
    AGGREGATE = "programme"

    programme_id: str
    vintage: int
    amount: int
    issued_total: int  # the programme's issued units after this issuance
    blocks: list[IssuedBlock]
    comment: str | None = None


class BlockRange(Frozen):
    block_id: str
    start: int
    end: int
    serial: str


class BlockMove(Frozen):
    """Units leaving ``source_block_id``: the whole block (``kept`` is None, ``moved`` keeps
    the block id) or its high end (``kept`` is what stays, ``moved`` is a new block)."""

    source_block_id: str
    from_account: str
    to_account: str
    to_company_id: int | None
    vintage: int
    kept: BlockRange | None
    moved: BlockRange


class TransferRequested(EventPayload):
    TYPE = "TransferRequested"
    AGGREGATE = "transfer"

    request_id: int
    programme_id: str
    from_company_id: int
    from_account: str
    to_company_id: int
    to_account: str
    amount: int
    initiator_company_id: int
    comment: str | None = None


class CreditsTransferred(EventPayload):
    """A transfer request executed (status Approved)."""

    TYPE = "CreditsTransferred"
    AGGREGATE = "transfer"

    request_id: int
    programme_id: str
    from_account: str
    to_account: str
    amount: int
    moves: list[BlockMove]
    comment: str | None = None


class TransferRejected(EventPayload):
    TYPE = "TransferRejected"
    AGGREGATE = "transfer"

    request_id: int
    programme_id: str
    comment: str | None = None


class TransferCancelled(EventPayload):
    TYPE = "TransferCancelled"
    AGGREGATE = "transfer"

    request_id: int
    programme_id: str
    reason: CancelReason
    comment: str | None = None


class RetirementRequested(EventPayload):
    TYPE = "RetirementRequested"
    AGGREGATE = "retirement"

    request_id: int
    programme_id: str
    from_company_id: int
    from_account: str
    retirement_type: RetirementType
    amount: int
    country: str | None
    organisation_name: str | None
    omge_percentage: Decimal  # fixed when asked, applied on execution (cross-border only)
    initiator_company_id: int
    comment: str | None = None


class CreditsRetired(EventPayload):
    """A retirement executed (status Recognised): ``omge_units`` went to ``gov:omge``, the
    rest to ``retired``; neither ever moves again."""

    TYPE = "CreditsRetired"
    AGGREGATE = "retirement"

    request_id: int
    programme_id: str
    from_account: str
    amount: int
    retired_units: int
    omge_units: int
    moves: list[BlockMove]
    comment: str | None = None


class RetirementRefused(EventPayload):
    """The Government did not recognise a cross-border retirement (status NotRecognised)."""

    TYPE = "RetirementRefused"
    AGGREGATE = "retirement"

    request_id: int
    programme_id: str
    comment: str | None = None


class RetirementCancelled(EventPayload):
    TYPE = "RetirementCancelled"
    AGGREGATE = "retirement"

    request_id: int
    programme_id: str
    reason: CancelReason
    comment: str | None = None


class ProgrammeCertified(EventPayload):
    TYPE = "ProgrammeCertified"
    AGGREGATE = "programme"

    programme_id: str
    certifier_id: int
    comment: str | None = None


class CertificationRevoked(EventPayload):
    TYPE = "CertificationRevoked"
    AGGREGATE = "programme"

    programme_id: str
    certifier_id: int
    reason: RevokeReason
    comment: str | None = None


class CreditsFrozen(EventPayload):
    """Blocks of a suspended organisation's account that can no longer move."""

    TYPE = "CreditsFrozen"
    AGGREGATE = "organisation"

    company_id: int
    account: str
    block_ids: list[str]
    units: int


class CreditsUnfrozen(EventPayload):
    TYPE = "CreditsUnfrozen"
    AGGREGATE = "organisation"

    company_id: int
    account: str
    block_ids: list[str]
    units: int


class TransferFreezeSet(EventPayload):
    TYPE = "TransferFreezeSet"
    AGGREGATE = "settings"

    frozen: bool


class OmgePercentageSet(EventPayload):
    TYPE = "OmgePercentageSet"
    AGGREGATE = "settings"

    percentage: Decimal


class CalculatorConstantsUpdated(EventPayload):
    TYPE = "CalculatorConstantsUpdated"
    AGGREGATE = "settings"

    calculator: str
    version: str
    constants: dict[str, Any]

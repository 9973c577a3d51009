"""Commands of the credit domain: programme lifecycle after creation, issuance, transfers,
retirements, certification, suspension and the registry settings that govern credits.

Commands addressed to a resource (``POST /v1/programmes/{id}/approve``) come with a body
model: the command minus the path parameter, which the route puts into the payload.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.base import Frozen
from schemas.commands.base import CommandPayload
from schemas.enums import GovernmentAccount, RetirementType
from schemas.types import CountryCode, Credits, Name, Text

ProgrammeId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]
EntityId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Vintage = Annotated[int, Field(ge=1900, le=9999)]
Comment = Annotated[str, StringConstraints(max_length=2000)]
RequiredComment = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
OmgePercentage = Annotated[Decimal, Field(ge=0, le=99, max_digits=4, decimal_places=2)]


# ---- bodies (what a client sends; the path parameter is added by the route) -------------


class CommentBody(Frozen):
    comment: Comment | None = None


class AuthoriseBody(Frozen):
    issue_amount: Credits | None = None
    vintage: Vintage | None = None
    comment: Comment | None = None


class RejectBody(Frozen):
    comment: RequiredComment


class IssueBody(Frozen):
    # None issues everything still unissued (domain.md 6.3).
    amount: Credits | None = None
    vintage: Vintage | None = None
    comment: Comment | None = None


class RevokeBody(Frozen):
    # Required for Government and Ministry users; a Certifier revokes its own.
    certifier_id: EntityId | None = None
    comment: Comment | None = None


class RemarksBody(Frozen):
    remarks: Text | None = None


# ---- programme lifecycle ----------------------------------------------------------------


class ApproveProgramme(CommandPayload, CommentBody):
    """AwaitingAuthorization -> Approved (Government / Ministry in scope, non-ViewOnly)."""

    TYPE = "ApproveProgramme"
    programme_id: ProgrammeId


class AuthoriseProgramme(CommandPayload, AuthoriseBody):
    """Approved -> Authorised: reserve the serial range, optionally issue at once."""

    TYPE = "AuthoriseProgramme"
    programme_id: ProgrammeId


class RejectProgramme(CommandPayload, RejectBody):
    """AwaitingAuthorization or Approved -> Rejected, with a comment."""

    TYPE = "RejectProgramme"
    programme_id: ProgrammeId


class IssueCredits(CommandPayload, IssueBody):
    """Issue the next units of an Authorised programme's range to its proponents."""

    TYPE = "IssueCredits"
    programme_id: ProgrammeId


class CertifyProgramme(CommandPayload, CommentBody):
    """A Certifier certifies a programme (domain.md 6.7)."""

    TYPE = "CertifyProgramme"
    programme_id: ProgrammeId


class RevokeCertification(CommandPayload, RevokeBody):
    TYPE = "RevokeCertification"
    programme_id: ProgrammeId


# ---- transfers (domain.md 6.4) ------------------------------------------------------------


class RequestTransfer(CommandPayload):
    """Move credits of a programme from one holder to another.

    Executed at once when the sender's own user asks; otherwise pending until the sender
    approves. ``from_account`` / ``to_account`` only apply when that party is the Government.
    """

    TYPE = "RequestTransfer"

    programme_id: ProgrammeId
    to_company_id: EntityId
    amount: Credits
    from_company_id: EntityId | None = None
    from_account: GovernmentAccount | None = None
    to_account: GovernmentAccount | None = None
    comment: Comment | None = None


class ApproveTransfer(CommandPayload, CommentBody):
    TYPE = "ApproveTransfer"
    request_id: EntityId


class RejectTransfer(CommandPayload, CommentBody):
    TYPE = "RejectTransfer"
    request_id: EntityId


class CancelTransfer(CommandPayload, CommentBody):
    TYPE = "CancelTransfer"
    request_id: EntityId


# ---- retirements (domain.md 6.5) ----------------------------------------------------------


class RequestRetirement(CommandPayload):
    """Retire credits of a holder. A developer may only ask for a cross-border retirement
    of its own credits, which waits for the Government; Government retirements execute at
    once. Legal-action and other retirements take the holder's full available amount."""

    TYPE = "RequestRetirement"

    programme_id: ProgrammeId
    retirement_type: RetirementType
    # None retires the holder's full available amount in the programme.
    amount: Credits | None = None
    from_company_id: EntityId | None = None
    from_account: GovernmentAccount | None = None
    country: CountryCode | None = None  # required for cross-border
    organisation_name: Name | None = None
    comment: Comment | None = None


class RecogniseRetirement(CommandPayload, CommentBody):
    TYPE = "RecogniseRetirement"
    request_id: EntityId


class RefuseRetirement(CommandPayload, CommentBody):
    TYPE = "RefuseRetirement"
    request_id: EntityId


class CancelRetirement(CommandPayload, CommentBody):
    TYPE = "CancelRetirement"
    request_id: EntityId


# ---- organisations and settings -----------------------------------------------------------


class SuspendOrganisation(CommandPayload, RemarksBody):
    """Suspend an organisation: its credits freeze, its pending requests are cancelled, a
    Certifier's certifications are revoked."""

    TYPE = "SuspendOrganisation"
    company_id: EntityId


class ActivateOrganisation(CommandPayload, RemarksBody):
    TYPE = "ActivateOrganisation"
    company_id: EntityId


class SetTransferFreeze(CommandPayload):
    """Stop (or allow again) every credit movement except issuance, registry-wide."""

    TYPE = "SetTransferFreeze"
    frozen: bool


class SetOmgePercentage(CommandPayload):
    """The share of each cross-border retirement that goes to the Government's OMGE account."""

    TYPE = "SetOmgePercentage"
    percentage: OmgePercentage


class AgricultureConstantsInput(Frozen):
    emission_factor: Annotated[Decimal, Field(ge=0, le=Decimal("1e6"), decimal_places=9)]
    emission_factor_unit: Annotated[str, Field(min_length=5, max_length=40)] = "tCO2e/ha/d"


class SolarConstantsInput(Frozen):
    thresholds: Annotated[
        dict[Annotated[str, Field(min_length=1, max_length=60)], Decimal],
        Field(min_length=1, max_length=50),
    ]
    threshold_unit: Annotated[str, Field(min_length=5, max_length=40)] = "kWh/year/unit"
    emission_factor_below_threshold: Annotated[Decimal, Field(ge=0, le=Decimal("1e6"))]
    emission_factor_above_threshold: Annotated[Decimal, Field(ge=0, le=Decimal("1e6"))]
    emission_factor_unit: Annotated[str, Field(min_length=3, max_length=40)] = "tCO2/MWh"


class UpdateCalculatorConstants(CommandPayload):
    """Store a new version of the calculator constants of one mitigation type; the latest is
    used for new estimates and recorded with them (domain.md section 9)."""

    TYPE = "UpdateCalculatorConstants"
    calculator: Literal["Agriculture", "Solar"]
    agriculture: AgricultureConstantsInput | None = None
    solar: SolarConstantsInput | None = None

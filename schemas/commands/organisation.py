from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.base import Frozen
from schemas.commands.base import CommandPayload
from schemas.enums import CompanyRole, SectoralScope
from schemas.types import Email, Name, Phone, TaxId, Text, Url


class FirstAdmin(Frozen):
    email: Email
    name: Name
    phone: Phone | None = None


class RegisterOrganisation(CommandPayload):
    """Create an organisation with its first Admin user (Root, Government/Ministry/API Admin)."""

    TYPE = "RegisterOrganisation"

    name: Name
    role: CompanyRole
    tax_id: TaxId | None = None
    payment_id: TaxId | None = None
    email: Email
    phone: Phone | None = None
    website: Url | None = None
    address: Text | None = None
    sectoral_scopes: Annotated[list[SectoralScope], Field(max_length=15)] = []
    minister_name: Name | None = None
    admin: FirstAdmin


class SelfRegisterOrganisation(CommandPayload):
    """A ProgrammeDeveloper or Certifier asks to join (public, no sign-in). The organisation
    stays Pending, and its first Admin pending, until the Government approves it."""

    TYPE = "SelfRegisterOrganisation"

    name: Name
    role: CompanyRole
    tax_id: TaxId
    payment_id: TaxId
    email: Email
    phone: Phone | None = None
    website: Url | None = None
    address: Text | None = None
    sectoral_scopes: Annotated[list[SectoralScope], Field(max_length=15)] = []
    admin: FirstAdmin


class RejectionBody(Frozen):
    """Why a registration is rejected (mailed to the organisation)."""

    remarks: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ApproveOrganisation(CommandPayload):
    """Pending or Rejected -> Active; its pending users become active (Government, Root)."""

    TYPE = "ApproveOrganisation"

    company_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    remarks: Text | None = None


class RejectOrganisation(CommandPayload):
    """Pending -> Rejected, with the reason (Government, Root)."""

    TYPE = "RejectOrganisation"

    company_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    remarks: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


ClearableOrganisationField = Literal["phone", "website", "address"]


class OrganisationPatch(Frozen):
    """What a client sends to update its organisation: only the fields it names change;
    ``null`` clears phone, website or address. The tax id never changes (sending the
    current one is harmless)."""

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    website: Url | None = None
    address: Text | None = None
    payment_id: TaxId | None = None
    sectoral_scopes: Annotated[list[SectoralScope], Field(max_length=15)] | None = None
    minister_name: Name | None = None
    tax_id: TaxId | None = None


class UpdateOrganisation(CommandPayload):
    """Update one's own organisation. ``None`` leaves a field as it is; ``clear`` empties
    the named optional fields."""

    TYPE = "UpdateOrganisation"

    company_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    website: Url | None = None
    address: Text | None = None
    payment_id: TaxId | None = None
    sectoral_scopes: Annotated[list[SectoralScope], Field(max_length=15)] | None = None
    minister_name: Name | None = None
    tax_id: TaxId | None = None
    clear: Annotated[list[ClearableOrganisationField], Field(max_length=3)] = []

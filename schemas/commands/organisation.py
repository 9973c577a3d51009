from __future__ import annotations

from typing import Annotated

from pydantic import Field

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

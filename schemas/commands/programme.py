from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from schemas.base import Frozen
from schemas.commands.base import CommandPayload
from schemas.enums import GreenHouseGas, Sector, SectoralScope
from schemas.types import Credits, EpochSeconds, Name, ShortText, TaxId, Text

Money = Annotated[Decimal, Field(gt=0, le=Decimal("1e15"), max_digits=20, decimal_places=2)]
Percentage = Annotated[Decimal, Field(gt=0, le=100, max_digits=9, decimal_places=6)]


class ProgrammePropertiesInput(Frozen):
    estimated_programme_cost_usd: Money
    geographical_location: Annotated[list[ShortText], Field(min_length=1, max_length=100)]
    greenhouse_gases: Annotated[list[GreenHouseGas], Field(min_length=1, max_length=6)]
    crediting_period_years: Annotated[int, Field(ge=1, le=100)] | None = None
    source_of_funding: ShortText | None = None
    grant_equivalent_amount: Money | None = None
    buyer_country_eligibility: ShortText | None = None


class CreateProgramme(CommandPayload):
    """Record a mitigation programme; it waits for authorisation (domain.md section 5.2)."""

    TYPE = "CreateProgramme"

    title: Name
    external_id: ShortText
    sector: Sector
    sectoral_scope: SectoralScope
    start_time: EpochSeconds
    end_time: EpochSeconds
    credit_est: Credits
    proponent_tax_ids: Annotated[list[TaxId], Field(min_length=1, max_length=20)]
    proponent_percentages: Annotated[list[Percentage], Field(max_length=20)] | None = None
    environmental_assessment_registration_no: ShortText
    properties: ProgrammePropertiesInput
    comment: Text | None = None

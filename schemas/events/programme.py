"""Events of mitigation programmes."""

from __future__ import annotations

from decimal import Decimal

from schemas.base import Frozen
from schemas.enums import GreenHouseGas, ProgrammeStage, Sector, SectoralScope
from schemas.events.base import EventPayload
from schemas.types import CountryCode, CreditUnit, EpochSeconds, Name, ShortText, Text


class ProgrammeProperties(Frozen):
    estimated_programme_cost_usd: Decimal
    geographical_location: list[ShortText]
    greenhouse_gases: list[GreenHouseGas]
    crediting_period_years: int | None = None
    source_of_funding: ShortText | None = None
    grant_equivalent_amount: Decimal | None = None
    buyer_country_eligibility: ShortText | None = None
    carbon_price_usd_per_ton: Decimal
    credit_year: int


class ProgrammeCreated(EventPayload):
    TYPE = "ProgrammeCreated"
    AGGREGATE = "programme"

    programme_id: str
    title: Name
    external_id: ShortText
    sector: Sector
    sectoral_scope: SectoralScope
    country_code: CountryCode
    stage: ProgrammeStage
    start_time: EpochSeconds
    end_time: EpochSeconds
    credit_est: int
    credit_unit: CreditUnit
    proponent_company_ids: list[int]
    proponent_percentages: list[Decimal]
    environmental_assessment_registration_no: ShortText
    properties: ProgrammeProperties
    comment: Text | None = None

"""Events of the registry itself (its one-time setup and its settings)."""

from __future__ import annotations

from schemas.events.base import EventPayload
from schemas.types import CountryCode, CreditUnit, Name


class RegistryInitialised(EventPayload):
    TYPE = "RegistryInitialised"
    AGGREGATE = "registry"

    country_code: CountryCode
    country_name: Name
    credit_unit: CreditUnit
    government_company_id: int
    root_user_id: int

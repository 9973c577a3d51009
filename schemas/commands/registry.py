from __future__ import annotations

from schemas.commands.base import CommandPayload
from schemas.types import CountryCode, CreditUnit, Email, Name


class InitialiseRegistry(CommandPayload):
    """One-time setup: the country, its Government organisation and the Root user."""

    TYPE = "InitialiseRegistry"

    country_code: CountryCode
    country_name: Name
    credit_unit: CreditUnit = "ITMO"
    government_name: Name
    government_email: Email
    root_email: Email
    root_name: Name = "Root"

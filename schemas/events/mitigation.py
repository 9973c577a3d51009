"""Events of programmes' mitigation actions."""

from __future__ import annotations

from decimal import Decimal

from schemas.enums import TypeOfMitigation
from schemas.events.base import EventPayload


class MitigationActionAdded(EventPayload):
    TYPE = "MitigationActionAdded"
    AGGREGATE = "programme"

    programme_id: str
    action_id: str  # <programme id>-M-<nnn>
    type_of_mitigation: TypeOfMitigation
    user_estimated_credits: int
    # The calculator's estimate (tCO2e, 2 places); None for types without a calculator.
    system_estimated_credits: Decimal | None
    calculator: str | None
    inputs: dict[str, str]
    constant_version: str | None
    comment: str | None = None

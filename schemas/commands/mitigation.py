"""Mitigation actions of a programme, with the inputs of the credit calculator (domain.md
5.5, 9): the user's estimate is recorded next to the system's own."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from schemas.base import Frozen
from schemas.commands.base import CommandPayload
from schemas.commands.credits import Comment, ProgrammeId
from schemas.enums import TypeOfMitigation
from schemas.types import Credits

Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("1e12"), max_digits=20, decimal_places=6)]
Unit = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class AgricultureInputs(Frozen):
    land_area: Quantity
    land_area_unit: Unit  # e.g. ha, km2, ac
    # Defaults to the programme's duration (end - start), as the original does.
    duration: Quantity | None = None
    duration_unit: Unit | None = None


class SolarInputs(Frozen):
    energy_generation: Quantity
    energy_generation_unit: Unit  # <energy>/<time>/unit, e.g. kWh/year/unit
    building_type: Unit  # Household, School, HealthCenter, ...


class MitigationBody(Frozen):
    type_of_mitigation: TypeOfMitigation
    user_estimated_credits: Credits
    agriculture: AgricultureInputs | None = None
    solar: SolarInputs | None = None
    comment: Comment | None = None


class AddMitigationAction(CommandPayload, MitigationBody):
    """Attach a mitigation action to a programme; the calculator's estimate is recorded."""

    TYPE = "AddMitigationAction"
    programme_id: ProgrammeId

"""Deciding mitigation actions: the user's estimate next to the calculator's (domain.md 5.5,
9). The estimate is computed once, here, and recorded in the event with its inputs and the
constants version, so a later change of constants never changes history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from command_service.domain.calculator_settings import latest
from command_service.domain.errors import Conflict, Forbidden, Invalid
from command_service.domain.events import NewEvent
from command_service.domain.events import programme_id as programme_aggregate
from command_service.domain.lifecycle import (
    CERTIFIABLE,
    get_programme,
    require_scope,
    require_stage,
)
from command_service.domain.permissions import Action, Principal, require
from command_service.domain.state import Programme, RegistryState
from libs.credit_calculator import (
    AgricultureConstants,
    CalculatorError,
    SolarConstants,
    agriculture_credits,
    solar_credits,
)
from schemas.commands.mitigation import AddMitigationAction
from schemas.enums import MITIGATION_SECTORS, CompanyRole, Sector, TypeOfMitigation
from schemas.events.mitigation import MitigationActionAdded

Estimate = tuple[Decimal | None, str | None, dict[str, str]]


def _estimate(state: RegistryState, programme: Programme, cmd: AddMitigationAction) -> Estimate:
    """(system estimate, calculator, inputs) for the action; refuses unusable inputs."""
    kind = cmd.type_of_mitigation
    if kind is TypeOfMitigation.AGRICULTURE and cmd.agriculture is not None:
        a = cmd.agriculture
        if (a.duration is None) != (a.duration_unit is None):
            raise Invalid(
                "mitigation.duration_incomplete", "Give both a duration and its unit, or neither."
            )
        duration = a.duration or Decimal(programme.end_time - programme.start_time)
        unit = a.duration_unit or "s"
        _, agri = latest(state, "Agriculture")
        value = agriculture_credits(
            a.land_area,
            a.land_area_unit,
            duration,
            unit,
            constants=agri if isinstance(agri, AgricultureConstants) else None,
        )
        inputs = {
            "land_area": str(a.land_area),
            "land_area_unit": a.land_area_unit,
            "duration": str(duration),
            "duration_unit": unit,
        }
        return value, "agriculture", inputs
    if kind is TypeOfMitigation.SOLAR and cmd.solar is not None:
        sol = cmd.solar
        _, solar = latest(state, "Solar")
        value = solar_credits(
            sol.energy_generation,
            sol.energy_generation_unit,
            sol.building_type,
            constants=solar if isinstance(solar, SolarConstants) else None,
        )
        inputs = {
            "energy_generation": str(sol.energy_generation),
            "energy_generation_unit": sol.energy_generation_unit,
            "building_type": sol.building_type,
        }
        return value, "solar", inputs
    if kind in (TypeOfMitigation.AGRICULTURE, TypeOfMitigation.SOLAR):
        raise Invalid(
            "mitigation.calculator_inputs_required",
            f"A {kind.value} action needs the calculator's inputs "
            f"({'agriculture' if kind is TypeOfMitigation.AGRICULTURE else 'solar'}).",
        )
    if cmd.agriculture is not None or cmd.solar is not None:
        raise Invalid(
            "mitigation.no_calculator",
            f"There is no calculator for {kind.value} actions; send no calculator inputs.",
        )
    return None, None, {}


def add_mitigation_action(
    state: RegistryState, principal: Principal, cmd: AddMitigationAction, now: datetime
) -> list[NewEvent]:
    require(principal, Action.ADD_MITIGATION)
    p = get_programme(state, cmd.programme_id)
    require_scope(principal, p)
    company = principal.company
    if (
        company is not None
        and company.role is CompanyRole.PROGRAMME_DEVELOPER
        and company.company_id not in p.proponents
    ):
        raise Forbidden(
            "programme.not_proponent",
            f"Only the proponents of programme {p.programme_id} can add mitigation actions.",
        )
    require_stage(p, CERTIFIABLE, "mitigation.programme_closed")
    allowed = MITIGATION_SECTORS[Sector(p.sector)]
    if allowed is not None and cmd.type_of_mitigation not in allowed:
        raise Invalid(
            "mitigation.wrong_sector",
            f"A {cmd.type_of_mitigation.value} action does not belong to sector {p.sector}.",
            sector=p.sector,
        )
    total = p.user_estimated_total + cmd.user_estimated_credits
    if total > p.credit_est:
        raise Conflict(
            "mitigation.estimates_exceed_credit_est",
            f"The actions' estimates would add up to {total} credits, more than the "
            f"programme's estimate of {p.credit_est}.",
            total=total,
            credit_est=p.credit_est,
        )
    try:
        estimate, calculator, inputs = _estimate(state, p, cmd)
    except CalculatorError as exc:
        raise Invalid(exc.code, exc.message) from None
    n = p.mitigation_actions + 1
    return [
        NewEvent(
            MitigationActionAdded(
                programme_id=p.programme_id,
                action_id=f"{p.programme_id}-M-{n:03d}",
                type_of_mitigation=cmd.type_of_mitigation,
                user_estimated_credits=cmd.user_estimated_credits,
                system_estimated_credits=estimate,
                calculator=calculator,
                inputs=inputs,
                constant_version=(
                    latest(state, calculator.capitalize())[0] if calculator else None
                ),
                comment=cmd.comment,
            ),
            programme_aggregate(p.programme_id),
        )
    ]

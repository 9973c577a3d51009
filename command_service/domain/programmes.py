"""Deciding programme commands (domain.md section 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from command_service.domain.errors import Conflict, Forbidden, Invalid, NotFound
from command_service.domain.events import NewEvent, programme_id
from command_service.domain.permissions import Action, Principal, require
from command_service.domain.state import RegistryState
from schemas.commands.programme import CreateProgramme
from schemas.enums import SECTOR_SCOPES, CompanyRole, ProgrammeStage
from schemas.events.programme import ProgrammeCreated, ProgrammeProperties

HUNDRED = Decimal(100)
EARLIEST_START = 946684800  # 2000-01-01T00:00:00Z
MAX_DURATION_S = 100 * 366 * 86400


def _proponents(
    state: RegistryState, principal: Principal, cmd: CreateProgramme
) -> tuple[list[int], list[Decimal]]:
    seen: set[str] = set()
    company_ids: list[int] = []
    for tax_id in cmd.proponent_tax_ids:
        key = tax_id.lower()
        if key in seen:
            raise Invalid(
                "programme.duplicated_proponent",
                f"Proponent tax id {tax_id} is listed more than once.",
                tax_id=tax_id,
            )
        seen.add(key)
        cid = state.tax_ids.get(key)
        if cid is None:
            raise NotFound(
                "programme.proponent_not_found",
                f"No organisation with tax id {tax_id} is registered.",
                tax_id=tax_id,
            )
        if state.organisations[cid].role is not CompanyRole.PROGRAMME_DEVELOPER:
            raise Invalid(
                "programme.proponent_not_developer",
                f"The organisation with tax id {tax_id} is not a programme developer.",
                tax_id=tax_id,
            )
        company_ids.append(cid)
    percentages = cmd.proponent_percentages
    if percentages is None:
        if len(company_ids) > 1:
            raise Invalid(
                "programme.percentages_required",
                "Give an ownership percentage for every proponent.",
            )
        percentages = [HUNDRED]
    if len(percentages) != len(company_ids):
        raise Invalid(
            "programme.percentages_mismatch",
            f"{len(company_ids)} proponents but {len(percentages)} percentages.",
        )
    total = sum(percentages, Decimal(0))
    if total != HUNDRED:
        raise Invalid(
            "programme.percentages_sum",
            f"Ownership percentages must add up to 100, not {total}.",
            total=str(total),
        )
    if (
        principal.company_role is CompanyRole.PROGRAMME_DEVELOPER
        and principal.company is not None
        and principal.company.company_id not in company_ids
    ):
        raise Forbidden(
            "programme.creator_not_proponent",
            "A programme developer can only create programmes it is a proponent of.",
        )
    return company_ids, list(percentages)


def create_programme(
    state: RegistryState, principal: Principal, cmd: CreateProgramme, now: datetime
) -> list[NewEvent]:
    require(principal, Action.CREATE_PROGRAMME)
    if not state.initialised:
        raise Conflict("registry.not_initialised", "The registry is not initialised yet.")
    if (
        principal.company_role is CompanyRole.MINISTRY
        and principal.company is not None
        and cmd.sectoral_scope.value not in principal.company.sectoral_scopes
    ):
        raise Forbidden(
            "programme.outside_ministry_scope",
            "This ministry does not cover the programme's sectoral scope.",
            sectoral_scope=cmd.sectoral_scope.value,
        )
    scopes = SECTOR_SCOPES[cmd.sector]
    if scopes is not None and cmd.sectoral_scope not in scopes:
        raise Invalid(
            "programme.wrong_sector_scope",
            f"Sectoral scope {cmd.sectoral_scope.name} does not belong to sector "
            f"{cmd.sector.value}.",
        )
    if cmd.end_time <= cmd.start_time:
        raise Invalid("programme.end_before_start", "The programme must end after it starts.")
    if cmd.start_time < EARLIEST_START or cmd.end_time - cmd.start_time > MAX_DURATION_S:
        raise Invalid(
            "programme.dates_out_of_range",
            "The programme must start after 2000-01-01 and last at most 100 years.",
        )
    if cmd.external_id in state.external_ids:
        raise Conflict(
            "programme.external_id_taken",
            f"A programme with external id {cmd.external_id} already exists.",
            programme_id=state.external_ids[cmd.external_id],
        )
    eia = cmd.environmental_assessment_registration_no
    if eia in state.eia_numbers:
        raise Conflict(
            "programme.assessment_number_taken",
            f"A programme with environmental assessment number {eia} already exists.",
            programme_id=state.eia_numbers[eia],
        )
    company_ids, percentages = _proponents(state, principal, cmd)
    pid = f"{state.next_programme_id:03d}"
    props = cmd.properties
    price = (props.estimated_programme_cost_usd / cmd.credit_est).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    created = ProgrammeCreated(
        programme_id=pid,
        title=cmd.title,
        external_id=cmd.external_id,
        sector=cmd.sector,
        sectoral_scope=cmd.sectoral_scope,
        country_code=state.country_code,
        stage=ProgrammeStage.AWAITING_AUTHORIZATION,
        start_time=cmd.start_time,
        end_time=cmd.end_time,
        credit_est=cmd.credit_est,
        credit_unit=state.credit_unit,
        proponent_company_ids=company_ids,
        proponent_percentages=percentages,
        environmental_assessment_registration_no=eia,
        properties=ProgrammeProperties(
            estimated_programme_cost_usd=props.estimated_programme_cost_usd,
            geographical_location=props.geographical_location,
            greenhouse_gases=props.greenhouse_gases,
            crediting_period_years=props.crediting_period_years,
            source_of_funding=props.source_of_funding,
            grant_equivalent_amount=props.grant_equivalent_amount,
            buyer_country_eligibility=props.buyer_country_eligibility,
            carbon_price_usd_per_ton=price,
            credit_year=datetime.fromtimestamp(cmd.start_time, UTC).year,
        ),
        comment=cmd.comment,
    )
    return [NewEvent(created, programme_id(pid))]

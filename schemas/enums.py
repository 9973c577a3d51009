"""Enumerations of the registry domain (values are the original's, see domain.md section 2)."""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    ROOT = "Root"
    ADMIN = "Admin"
    MANAGER = "Manager"
    VIEW_ONLY = "ViewOnly"


class CompanyRole(StrEnum):
    GOVERNMENT = "Government"
    MINISTRY = "Ministry"
    PROGRAMME_DEVELOPER = "ProgrammeDeveloper"
    CERTIFIER = "Certifier"
    API = "API"


class CompanyState(StrEnum):
    ACTIVE = "Active"
    SUSPENDED = "Suspended"
    PENDING = "Pending"
    REJECTED = "Rejected"


class ProgrammeStage(StrEnum):
    AWAITING_AUTHORIZATION = "AwaitingAuthorization"
    APPROVED = "Approved"
    AUTHORISED = "Authorised"
    REJECTED = "Rejected"


class Sector(StrEnum):
    ENERGY = "Energy"
    HEALTH = "Health"
    EDUCATION = "Education"
    TRANSPORT = "Transport"
    MANUFACTURING = "Manufacturing"
    HOSPITALITY = "Hospitality"
    FORESTRY = "Forestry"
    WASTE = "Waste"
    AGRICULTURE = "Agriculture"
    OTHER = "Other"


class SectoralScope(StrEnum):
    """CDM sectoral scopes; the value is the number used in serial numbers."""

    ENERGY_INDUSTRY = "1"
    ENERGY_DISTRIBUTION = "2"
    ENERGY_DEMAND = "3"
    MANUFACTURING_INDUSTRIES = "4"
    CHEMICAL_INDUSTRIES = "5"
    CONSTRUCTION = "6"
    TRANSPORT = "7"
    MINING_AND_MINERAL = "8"
    METAL_PRODUCTION = "9"
    FUGITIVE_EMISSIONS_FROM_FUELS = "10"
    FUGITIVE_EMISSIONS_FROM_PRODUCTION_CONSUMPTION = "11"
    SOLVENT_USE = "12"
    WASTE_HANDLING_DISPOSAL = "13"
    AFFORESTATION_AND_REFORESTATION = "14"
    AGRICULTURE = "15"


class GreenHouseGas(StrEnum):
    CO2 = "CO2"
    CH4 = "CH4"
    N2O = "N2O"
    HFCS = "HFCs"
    PFCS = "PFCs"
    SF6 = "SF6"


# Which scopes a sector may use (v1 create check; Health, Education and Hospitality are open).
S = SectoralScope
SECTOR_SCOPES: dict[Sector, frozenset[SectoralScope] | None] = {
    Sector.ENERGY: frozenset({S.ENERGY_INDUSTRY, S.ENERGY_DISTRIBUTION, S.ENERGY_DEMAND}),
    Sector.TRANSPORT: frozenset({S.TRANSPORT}),
    Sector.MANUFACTURING: frozenset(
        {S.MANUFACTURING_INDUSTRIES, S.CHEMICAL_INDUSTRIES, S.METAL_PRODUCTION}
    ),
    Sector.FORESTRY: frozenset({S.AFFORESTATION_AND_REFORESTATION}),
    Sector.WASTE: frozenset({S.WASTE_HANDLING_DISPOSAL, S.FUGITIVE_EMISSIONS_FROM_FUELS}),
    Sector.AGRICULTURE: frozenset({S.AGRICULTURE}),
    Sector.OTHER: frozenset(
        {
            S.MINING_AND_MINERAL,
            S.CONSTRUCTION,
            S.FUGITIVE_EMISSIONS_FROM_PRODUCTION_CONSUMPTION,
            S.SOLVENT_USE,
        }
    ),
    Sector.HEALTH: None,
    Sector.EDUCATION: None,
    Sector.HOSPITALITY: None,
}
del S

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


class RequestStatus(StrEnum):
    """Status of a transfer or retirement request (v1 TransferStatus values)."""

    PENDING = "Pending"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    CANCELLED = "Cancelled"
    RECOGNISED = "Recognised"
    NOT_RECOGNISED = "NotRecognised"


class RetirementType(StrEnum):
    CROSS_BORDER = "cross_border"
    LEGAL_ACTION = "legal_action"
    OTHER = "other"


class GovernmentAccount(StrEnum):
    """The Government's holding accounts a transfer may name (OMGE is never a party)."""

    LOCAL = "local"
    INTERNATIONAL = "international"


class CancelReason(StrEnum):
    """Why a pending request was cancelled: by its initiator, or by the registry itself."""

    BY_INITIATOR = "by_initiator"
    LOW_CREDIT = "low_credit"
    ORGANISATION_SUSPENDED = "organisation_suspended"


class RevokeReason(StrEnum):
    BY_USER = "by_user"
    ORGANISATION_SUSPENDED = "organisation_suspended"


class TypeOfMitigation(StrEnum):
    AGRICULTURE = "Agriculture"
    BIOMASS_ENERGY = "BiomassEnergy"
    CCS = "CCS"
    CEMENT = "Cement"
    COAL_MINE = "Coal/Mine"
    EE_HOUSEHOLDS = "EEHouseholds"
    EE_INDUSTRY = "EEIndustry"
    EE_OWN_GENERATION = "EEOwnGeneration"
    EE_SERVICE = "EEService"
    EE_SUPPLY_SIDE = "EESupplySide"
    ENERGY_DISTRIBUTION = "EnergyDistribution"
    FORESTRY = "Forestry"
    FOSSIL_FUEL = "FossilFuel"
    FUGITIVE = "Fugitive"
    GEOTHERMAL = "Geothermal"
    HFC_PFCS_SF6 = "HFC_PFCs_SF6"
    HYDRO = "Hydro"
    LANDFILLS = "Landfills"
    MARINE = "Marine"
    METHANE_AVOIDANCE = "MethaneAvoidance"
    N2O = "N20"
    SOLAR = "Solar"
    TRANSPORT = "Transport"
    WIND = "Wind"


# Which mitigation types a programme's sector allows (None: any; domain.md section 2).
M = TypeOfMitigation
MITIGATION_SECTORS: dict[Sector, frozenset[TypeOfMitigation] | None] = {
    Sector.ENERGY: frozenset(
        {
            M.BIOMASS_ENERGY,
            M.COAL_MINE,
            M.EE_HOUSEHOLDS,
            M.EE_INDUSTRY,
            M.EE_OWN_GENERATION,
            M.EE_SERVICE,
            M.EE_SUPPLY_SIDE,
            M.ENERGY_DISTRIBUTION,
            M.FOSSIL_FUEL,
            M.GEOTHERMAL,
            M.HYDRO,
            M.SOLAR,
            M.WIND,
        }
    ),
    Sector.TRANSPORT: frozenset({M.TRANSPORT}),
    Sector.MANUFACTURING: frozenset({M.CEMENT, M.CCS, M.HFC_PFCS_SF6}),
    Sector.FORESTRY: frozenset({M.FORESTRY}),
    Sector.WASTE: frozenset({M.LANDFILLS, M.FUGITIVE, M.METHANE_AVOIDANCE}),
    Sector.AGRICULTURE: frozenset({M.AGRICULTURE}),
    Sector.OTHER: frozenset({M.MARINE, M.N2O}),
    Sector.HEALTH: None,
    Sector.EDUCATION: None,
    Sector.HOSPITALITY: None,
}
del M

"""Events of organisations (companies) and their users. No secret ever appears here."""

from __future__ import annotations

from schemas.enums import CompanyRole, CompanyState, SectoralScope, UserRole
from schemas.events.base import EventPayload
from schemas.types import CountryCode, Email, Name, Phone, TaxId, Text, Url


class OrganisationRegistered(EventPayload):
    TYPE = "OrganisationRegistered"
    AGGREGATE = "organisation"

    company_id: int
    name: Name
    role: CompanyRole
    state: CompanyState
    tax_id: TaxId | None
    payment_id: TaxId | None
    email: Email
    phone: Phone | None
    website: Url | None
    address: Text | None
    country_code: CountryCode
    sectoral_scopes: list[SectoralScope]
    minister_name: Name | None


class UserCreated(EventPayload):
    TYPE = "UserCreated"
    AGGREGATE = "user"

    user_id: int
    company_id: int
    email: Email
    name: Name
    role: UserRole
    phone: Phone | None
    pending: bool


class OrganisationSuspended(EventPayload):
    TYPE = "OrganisationSuspended"
    AGGREGATE = "organisation"

    company_id: int
    remarks: Text | None = None


class OrganisationActivated(EventPayload):
    TYPE = "OrganisationActivated"
    AGGREGATE = "organisation"

    company_id: int
    remarks: Text | None = None


class OrganisationApproved(EventPayload):
    """A self-registered organisation was approved: it is Active from now on."""

    TYPE = "OrganisationApproved"
    AGGREGATE = "organisation"

    company_id: int
    remarks: Text | None = None


class OrganisationRejected(EventPayload):
    TYPE = "OrganisationRejected"
    AGGREGATE = "organisation"

    company_id: int
    remarks: Text


class OrganisationUpdated(EventPayload):
    """The organisation's whole editable profile after an update (tax id never changes)."""

    TYPE = "OrganisationUpdated"
    AGGREGATE = "organisation"

    company_id: int
    name: Name
    email: Email
    phone: Phone | None
    website: Url | None
    address: Text | None
    payment_id: TaxId | None
    sectoral_scopes: list[SectoralScope]
    minister_name: Name | None


class UserActivated(EventPayload):
    """A pending user (of an approved registration) may sign in and act from now on."""

    TYPE = "UserActivated"
    AGGREGATE = "user"

    user_id: int
    company_id: int


class UserUpdated(EventPayload):
    """The user's editable profile after an update (e-mail never changes here)."""

    TYPE = "UserUpdated"
    AGGREGATE = "user"

    user_id: int
    company_id: int
    name: Name
    phone: Phone | None
    role: UserRole


class UserDeleted(EventPayload):
    """The user can no longer sign in or act; its e-mail may be used again."""

    TYPE = "UserDeleted"
    AGGREGATE = "user"

    user_id: int
    company_id: int

"""The one place stable type names are bound to classes.

A renamed class keeps its stored name here; a new version of an event adds an upcaster in
``schemas.upcasters`` and bumps the class's VERSION.
"""

from __future__ import annotations

from schemas.commands import credits as credit_commands
from schemas.commands.base import CommandPayload
from schemas.commands.mitigation import AddMitigationAction
from schemas.commands.organisation import (
    ApproveOrganisation,
    RegisterOrganisation,
    RejectOrganisation,
    SelfRegisterOrganisation,
    UpdateOrganisation,
)
from schemas.commands.programme import CreateProgramme
from schemas.commands.registry import InitialiseRegistry
from schemas.commands.users import CreateUser, DeleteUser, UpdateUser
from schemas.events import credits as credit_events
from schemas.events.base import EventPayload
from schemas.events.mitigation import MitigationActionAdded
from schemas.events.organisation import (
    OrganisationActivated,
    OrganisationApproved,
    OrganisationRegistered,
    OrganisationRejected,
    OrganisationSuspended,
    OrganisationUpdated,
    UserActivated,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from schemas.events.programme import ProgrammeCreated
from schemas.events.registry import RegistryInitialised

EVENT_TYPES: dict[str, type[EventPayload]] = {
    cls.TYPE: cls
    for cls in (
        RegistryInitialised,
        OrganisationRegistered,
        UserCreated,
        ProgrammeCreated,
        OrganisationSuspended,
        OrganisationActivated,
        credit_events.ProgrammeApproved,
        credit_events.ProgrammeRejected,
        credit_events.ProgrammeAuthorised,
        credit_events.CreditsIssued,
        credit_events.TransferRequested,
        credit_events.CreditsTransferred,
        credit_events.TransferRejected,
        credit_events.TransferCancelled,
        credit_events.RetirementRequested,
        credit_events.CreditsRetired,
        credit_events.RetirementRefused,
        credit_events.RetirementCancelled,
        credit_events.ProgrammeCertified,
        credit_events.CertificationRevoked,
        credit_events.CreditsFrozen,
        credit_events.CreditsUnfrozen,
        credit_events.TransferFreezeSet,
        credit_events.OmgePercentageSet,
        credit_events.CalculatorConstantsUpdated,
        MitigationActionAdded,
        # identity and access (issue 3)
        OrganisationApproved,
        OrganisationRejected,
        OrganisationUpdated,
        UserActivated,
        UserUpdated,
        UserDeleted,
    )
}

COMMAND_TYPES: dict[str, type[CommandPayload]] = {
    cls.TYPE: cls
    for cls in (
        InitialiseRegistry,
        RegisterOrganisation,
        CreateProgramme,
        credit_commands.ApproveProgramme,
        credit_commands.AuthoriseProgramme,
        credit_commands.RejectProgramme,
        credit_commands.IssueCredits,
        credit_commands.CertifyProgramme,
        credit_commands.RevokeCertification,
        credit_commands.RequestTransfer,
        credit_commands.ApproveTransfer,
        credit_commands.RejectTransfer,
        credit_commands.CancelTransfer,
        credit_commands.RequestRetirement,
        credit_commands.RecogniseRetirement,
        credit_commands.RefuseRetirement,
        credit_commands.CancelRetirement,
        credit_commands.SuspendOrganisation,
        credit_commands.ActivateOrganisation,
        credit_commands.SetTransferFreeze,
        credit_commands.SetOmgePercentage,
        credit_commands.UpdateCalculatorConstants,
        AddMitigationAction,
        # identity and access (issue 3)
        SelfRegisterOrganisation,
        ApproveOrganisation,
        RejectOrganisation,
        UpdateOrganisation,
        CreateUser,
        UpdateUser,
        DeleteUser,
    )
}


class UnknownType(KeyError):
    """A stored or submitted type name that this build does not know."""


def event_class(type_name: str) -> type[EventPayload]:
    try:
        return EVENT_TYPES[type_name]
    except KeyError:
        raise UnknownType(type_name) from None


def command_class(type_name: str) -> type[CommandPayload]:
    try:
        return COMMAND_TYPES[type_name]
    except KeyError:
        raise UnknownType(type_name) from None

"""Which decider handles which command of the credit domain (merged into ``decide``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from command_service.domain import (
    calculator_settings,
    lifecycle,
    mitigation,
    retirements,
    suspension,
    transfers,
)
from command_service.domain.events import NewEvent
from command_service.domain.permissions import Principal
from command_service.domain.state import RegistryState
from schemas.commands import credits as c
from schemas.commands.base import CommandPayload
from schemas.commands.mitigation import AddMitigationAction

Decider = Callable[[RegistryState, Principal, Any, datetime], list[NewEvent]]

CREDIT_DECIDERS: dict[type[CommandPayload], Decider] = {
    c.ApproveProgramme: lifecycle.approve_programme,
    c.AuthoriseProgramme: lifecycle.authorise_programme,
    c.RejectProgramme: lifecycle.reject_programme,
    c.IssueCredits: lifecycle.issue_credits,
    c.CertifyProgramme: lifecycle.certify_programme,
    c.RevokeCertification: lifecycle.revoke_certification,
    c.RequestTransfer: transfers.request_transfer,
    c.ApproveTransfer: transfers.approve_transfer,
    c.RejectTransfer: transfers.reject_transfer,
    c.CancelTransfer: transfers.cancel_transfer,
    c.RequestRetirement: retirements.request_retirement,
    c.RecogniseRetirement: retirements.recognise_retirement,
    c.RefuseRetirement: retirements.refuse_retirement,
    c.CancelRetirement: retirements.cancel_retirement,
    c.SuspendOrganisation: suspension.suspend_organisation,
    c.ActivateOrganisation: suspension.activate_organisation,
    c.SetTransferFreeze: suspension.set_transfer_freeze,
    c.SetOmgePercentage: suspension.set_omge_percentage,
    c.UpdateCalculatorConstants: calculator_settings.update_calculator_constants,
    AddMitigationAction: mitigation.add_mitigation_action,
}

"""Events -> e-mail messages: pure, deterministic, one table entry per event type.

A message's id is ``<registry.seq.n@domain>``: the n-th message built from the event at
``seq``. Building is a function of the event and the directory as it stood just before the
event, both fixed by the log, so a replay rebuilds the same ids and the outbox (keyed by
id) never gets a second copy. Each recipient gets a message of its own (no shared To lines).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from libs.mail.message import one_line
from projector_service.notifications import credit_mail, org_mail, programme_mail
from projector_service.notifications.compose import Draft, MailContext
from projector_service.notifications.directory import Directory
from schemas.envelope import EventEnvelope
from schemas.events import credits as cr
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


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    to: list[str]
    subject: str
    body_text: str
    kind: str


Builder = Callable[[EventEnvelope, Any, Directory, MailContext], list[Draft]]

# Every event type is listed; None means "no mail" (said explicitly, so a new event type
# without an entry is noticed by the unit tests instead of silently never mailed).
MAIL: dict[type[EventPayload], Builder | None] = {
    RegistryInitialised: None,  # the Government gets ORGANISATION_CREATE right after it
    OrganisationRegistered: org_mail.organisation_registered,
    UserCreated: org_mail.user_created,
    OrganisationSuspended: org_mail.organisation_suspended,
    OrganisationActivated: org_mail.organisation_activated,
    ProgrammeCreated: programme_mail.programme_created,
    cr.ProgrammeApproved: programme_mail.programme_approved,
    cr.ProgrammeRejected: programme_mail.programme_rejected,
    cr.ProgrammeAuthorised: programme_mail.programme_authorised,
    cr.CreditsIssued: programme_mail.credits_issued,
    cr.ProgrammeCertified: programme_mail.programme_certified,
    cr.CertificationRevoked: programme_mail.certification_revoked,
    cr.TransferRequested: credit_mail.transfer_requested,
    cr.CreditsTransferred: credit_mail.credits_transferred,
    cr.TransferRejected: credit_mail.transfer_rejected,
    cr.TransferCancelled: credit_mail.transfer_cancelled,
    cr.RetirementRequested: credit_mail.retirement_requested,
    cr.CreditsRetired: credit_mail.credits_retired,
    cr.RetirementRefused: credit_mail.retirement_refused,
    cr.RetirementCancelled: credit_mail.retirement_cancelled,
    cr.CreditsFrozen: None,  # told in the deactivation mail
    cr.CreditsUnfrozen: None,  # told in the reactivation mail
    cr.TransferFreezeSet: None,
    cr.CalculatorConstantsUpdated: None,
    cr.OmgePercentageSet: None,
    MitigationActionAdded: None,  # v1 sends no mail for mitigation actions
    OrganisationApproved: org_mail.organisation_approved,
    OrganisationRejected: org_mail.organisation_rejected,
    UserActivated: org_mail.user_activated,  # the password link is sent by the API
    OrganisationUpdated: None,  # v1 sends no mail for profile updates
    UserUpdated: None,
    UserDeleted: None,
}


class NoMailRule(LookupError):
    """An event type the table does not list (neither a builder nor an explicit None)."""


def message_id(ctx: MailContext, seq: int, n: int) -> str:
    return f"<{ctx.registry}.{seq}.{n}@{ctx.message_id_domain}>"


def _body(name: str, text: str, d: Directory, ctx: MailContext) -> str:
    where = f" of {d.registry.country_name}" if d.registry else ""
    return (
        f"Dear {name},\n\n{text}\n\n-- \nThis is an automatic message from the carbon credit "
        f"registry{where}. Please do not reply to it.\n{ctx.public_url}\n"
    )


def render(
    env: EventEnvelope, drafts: list[Draft], d: Directory, ctx: MailContext
) -> list[Message]:
    """One message per distinct recipient of each draft, numbered in order."""
    out: list[Message] = []
    for dr in drafts:
        seen: set[str] = set()
        for r in dr.to:
            if r.email in seen:
                continue
            seen.add(r.email)
            out.append(
                Message(
                    message_id=message_id(ctx, env.seq, len(out)),
                    to=[r.email],
                    subject=one_line(ctx.subject_prefix + dr.subject),
                    body_text=_body(r.name, dr.body, d, ctx),
                    kind=dr.kind,
                )
            )
    return out


def build_messages(
    env: EventEnvelope, payload: EventPayload, d: Directory, ctx: MailContext
) -> list[Message]:
    """The messages of one event, given the directory as it was just before the event."""
    try:
        builder = MAIL[type(payload)]
    except KeyError:
        raise NoMailRule(f"no mail rule for event type {env.type}") from None
    if builder is None:
        return []
    return render(env, builder(env, payload, d, ctx), d, ctx)

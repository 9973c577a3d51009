"""Mail about programmes (PROGRAMME_*, CREDIT_ISSUANCE), to the owners' admins."""

from __future__ import annotations

from collections import defaultdict

from projector_service.notifications.compose import (
    Draft,
    MailContext,
    amount,
    draft,
    org_admins,
    owners_admins,
    quoted,
)
from projector_service.notifications.directory import Directory
from schemas.envelope import EventEnvelope
from schemas.events import credits as cr
from schemas.events.programme import ProgrammeCreated


def programme_created(
    env: EventEnvelope, e: ProgrammeCreated, d: Directory, ctx: MailContext
) -> list[Draft]:
    owners = ", ".join(d.company_name(c) for c in e.proponent_company_ids)
    return draft(
        "PROGRAMME_CREATE",
        tuple(r for c in e.proponent_company_ids for r in org_admins(d, c)),
        f"Programme created: {e.title}",
        f"The programme {e.title} (external id {e.external_id}, registry id {e.programme_id}) "
        f"was created for {owners} with an estimate of {amount(d, e.credit_est)}. It awaits "
        "authorisation by the Government.",
    )


def programme_approved(
    env: EventEnvelope, e: cr.ProgrammeApproved, d: Directory, ctx: MailContext
) -> list[Draft]:
    title = d.programme_title(e.programme_id)
    return draft(
        "PROGRAMME_APPROVED",
        owners_admins(d, e.programme_id),
        f"Programme approved: {title}",
        f"The programme {title} ({e.programme_id}) was approved and can now be authorised."
        + quoted("Comment", e.comment),
    )


def programme_rejected(
    env: EventEnvelope, e: cr.ProgrammeRejected, d: Directory, ctx: MailContext
) -> list[Draft]:
    title = d.programme_title(e.programme_id)
    return draft(
        "PROGRAMME_REJECTION",
        owners_admins(d, e.programme_id),
        f"Programme rejected: {title}",
        f"The programme {title} ({e.programme_id}) was rejected." + quoted("Reason", e.comment),
    )


def programme_authorised(
    env: EventEnvelope, e: cr.ProgrammeAuthorised, d: Directory, ctx: MailContext
) -> list[Draft]:
    title = d.programme_title(e.programme_id)
    return draft(
        "PROGRAMME_AUTHORISATION",
        owners_admins(d, e.programme_id),
        f"Programme authorised: {title}",
        f"The programme {title} ({e.programme_id}) was authorised by the Government. Its "
        f"serial number is {e.serial_no}." + quoted("Comment", e.comment),
    )


def credits_issued(
    env: EventEnvelope, e: cr.CreditsIssued, d: Directory, ctx: MailContext
) -> list[Draft]:
    title = d.programme_title(e.programme_id)
    units: dict[int, int] = defaultdict(int)
    for b in e.blocks:
        units[b.company_id] += b.end - b.start + 1
    out: list[Draft] = []
    for company_id in sorted(units):
        out += draft(
            "CREDIT_ISSUANCE",
            org_admins(d, company_id),
            f"Credits issued: {title}",
            f"{amount(d, units[company_id])} of vintage {e.vintage} were issued to "
            f"{d.company_name(company_id)} for the programme {title} ({e.programme_id})."
            + quoted("Comment", e.comment),
        )
    return out


def programme_certified(
    env: EventEnvelope, e: cr.ProgrammeCertified, d: Directory, ctx: MailContext
) -> list[Draft]:
    title = d.programme_title(e.programme_id)
    return draft(
        "PROGRAMME_CERTIFICATION",
        owners_admins(d, e.programme_id),
        f"Programme certified: {title}",
        f"{d.company_name(e.certifier_id)} certified the programme {title} "
        f"({e.programme_id})." + quoted("Comment", e.comment),
    )


def certification_revoked(
    env: EventEnvelope, e: cr.CertificationRevoked, d: Directory, ctx: MailContext
) -> list[Draft]:
    title = d.programme_title(e.programme_id)
    by_system = e.reason.value == "organisation_suspended"
    why = "because the certifier was deactivated" if by_system else "by the certifier"
    return draft(
        "PROGRAMME_CERTIFICATION_REVOKE_BY_SYSTEM"
        if by_system
        else "PROGRAMME_CERTIFICATION_REVOKE_BY_CERT",
        owners_admins(d, e.programme_id),
        f"Certification revoked: {title}",
        f"The certification of the programme {title} ({e.programme_id}) by "
        f"{d.company_name(e.certifier_id)} was revoked {why}." + quoted("Comment", e.comment),
    )

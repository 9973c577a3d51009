"""Mail about organisations and users (ORGANISATION_*, USER_CREATE, *_ORG_DEACTIVATION, ...)."""

from __future__ import annotations

from projector_service.notifications.compose import (
    Draft,
    MailContext,
    Recipient,
    draft,
    gov_admins,
    org_admins,
    people,
    quoted,
)
from projector_service.notifications.directory import Directory
from schemas.envelope import EventEnvelope
from schemas.events.organisation import (
    OrganisationActivated,
    OrganisationApproved,
    OrganisationRegistered,
    OrganisationRejected,
    OrganisationSuspended,
    UserActivated,
    UserCreated,
)


def organisation_registered(
    env: EventEnvelope, e: OrganisationRegistered, d: Directory, ctx: MailContext
) -> list[Draft]:
    if e.state.value == "Pending":
        return draft(
            "ORGANISATION_REGISTRATION",
            gov_admins(d),
            f"New organisation awaiting approval: {e.name}",
            f"{e.name} ({e.role.value}, {e.email}) asked to join the registry and waits for "
            f"your approval.\n\nReview the request at {ctx.public_url}.",
        )
    return draft(
        "ORGANISATION_CREATE",
        (Recipient(e.email, e.name),),
        f"{e.name} is registered",
        f"Your organisation {e.name} is now registered in the carbon credit registry as a "
        f"{e.role.value} organisation (organisation id {e.company_id}).\n\nIts first "
        "administrator receives a separate welcome e-mail with the sign-in details.",
    )


def user_created(env: EventEnvelope, e: UserCreated, d: Directory, ctx: MailContext) -> list[Draft]:
    if e.pending:  # mailed when the organisation is approved, not before
        return []
    company = d.company_name(e.company_id)
    return draft(
        "USER_CREATE",
        (Recipient(e.email, e.name),),
        "Welcome to the carbon credit registry",
        f"An account was created for you in the carbon credit registry: {e.role.value} of "
        f"{company}.\n\nSign-in e-mail: {e.email}\nSign in at: {ctx.public_url}\n\n"
        "For your security this e-mail contains no password. Your password reaches you "
        "separately (a password-setting link, or from the administrator who created your "
        "account); please change it when you first sign in. You can also choose one yourself "
        'at any time with "Forgot password" on the sign-in page.',
    )


DEACTIVATION = {
    "ProgrammeDeveloper": (
        "PROGRAMME_DEVELOPER_ORG_DEACTIVATION",
        "Its credits are frozen and its pending transfer requests were cancelled. ",
    ),
    "Certifier": (
        "CERTIFIER_ORG_DEACTIVATION",
        "Its programme certifications were revoked. ",
    ),
}


def organisation_suspended(
    env: EventEnvelope, e: OrganisationSuspended, d: Directory, ctx: MailContext
) -> list[Draft]:
    company = d.companies.get(e.company_id)
    role = company.role if company else ""
    kind, effect = DEACTIVATION.get(role, ("ORG_DEACTIVATION", ""))
    name = d.company_name(e.company_id)
    return draft(
        kind,
        org_admins(d, e.company_id),
        f"{name} has been deactivated",
        f"Your organisation {name} has been deactivated by the registry administrators. "
        f"{effect}Your users keep read-only access." + quoted("Remarks", e.remarks),
    )


def organisation_activated(
    env: EventEnvelope, e: OrganisationActivated, d: Directory, ctx: MailContext
) -> list[Draft]:
    name = d.company_name(e.company_id)
    return draft(
        "ORG_REACTIVATION",
        org_admins(d, e.company_id),
        f"{name} has been reactivated",
        f"Your organisation {name} is active again; frozen credits can move again."
        + quoted("Remarks", e.remarks),
    )


def organisation_approved(
    env: EventEnvelope, e: OrganisationApproved, d: Directory, ctx: MailContext
) -> list[Draft]:
    company = d.companies.get(e.company_id)
    if company is None:
        return []
    return draft(
        "ORGANISATION_CREATE",
        (Recipient(company.email, company.name),),
        f"{company.name} is registered",
        f"The registration of {company.name} in the carbon credit registry was approved: it "
        f"is now an active {company.role} organisation (organisation id {e.company_id}).\n\n"
        "Its administrator receives a separate e-mail with a link to set a password."
        + quoted("Remarks", e.remarks),
    )


def organisation_rejected(
    env: EventEnvelope, e: OrganisationRejected, d: Directory, ctx: MailContext
) -> list[Draft]:
    company = d.companies.get(e.company_id)
    if company is None:
        return []
    applicants = (Recipient(company.email, company.name), *people(d.users_of(e.company_id)))
    return draft(
        "ORGANISATION_REGISTRATION_REJECTED",
        applicants,
        f"The registration of {company.name} was not approved",
        f"The registry administrators did not approve the registration of {company.name}."
        + quoted("Reason", e.remarks),
    )


def user_activated(
    env: EventEnvelope, e: UserActivated, d: Directory, ctx: MailContext
) -> list[Draft]:
    u = d.users.get(e.user_id)
    if u is None:
        return []
    return draft(
        "USER_CREATE",
        (Recipient(u.email, u.name),),
        "Welcome to the carbon credit registry",
        f"Your organisation {d.company_name(e.company_id)} was approved and your account is "
        f"active: {u.role} of {d.company_name(e.company_id)}.\n\nSign-in e-mail: {u.email}\n"
        f"Sign in at: {ctx.public_url}\n\nFor your security this e-mail contains no "
        "password: a separate e-mail brings a link to set yours. You can also ask for a new "
        'link at any time with "Forgot password" on the sign-in page.',
    )

"""Mail about transfers and retirements (CREDIT_TRANSFER_*, CREDIT_RETIREMENT_*, ...).

A request asked by the sending organisation executes at once, so only its execution is
mailed; a request asked by someone else is mailed to whoever must decide it, and its outcome
to whoever asked. The request itself comes from the directory (it is dropped once decided).
"""

from __future__ import annotations

from projector_service.notifications.compose import (
    Draft,
    MailContext,
    account_company,
    amount,
    draft,
    gov_admins,
    org_admins,
    quoted,
)
from projector_service.notifications.directory import Directory, Request
from schemas.envelope import EventEnvelope
from schemas.events import credits as cr


def _describe(d: Directory, r: Request) -> str:
    return (
        f"request {r.request_id}: {amount(d, r.amount)} of {d.programme_title(r.programme_id)} "
        f"from {d.company_name(r.from_company_id)} to {d.company_name(r.to_company_id)}"
    )


def _third_party(r: Request) -> bool:
    """Asked by neither party (the Government or a Ministry acting for others)."""
    return r.initiator_company_id not in (r.from_company_id, r.to_company_id)


def transfer_requested(
    env: EventEnvelope, e: cr.TransferRequested, d: Directory, ctx: MailContext
) -> list[Draft]:
    if e.initiator_company_id == e.from_company_id:
        return []  # executes at once: CreditsTransferred follows
    third = e.initiator_company_id != e.to_company_id
    title = d.programme_title(e.programme_id)
    return draft(
        "CREDIT_TRANSFER_GOV" if third else "CREDIT_TRANSFER_REQUISITIONS",
        org_admins(d, e.from_company_id),
        f"Transfer request awaiting your decision: {title}",
        f"{d.company_name(e.initiator_company_id)} asks to transfer {amount(d, e.amount)} of "
        f"the programme {title} from {d.company_name(e.from_company_id)} to "
        f"{d.company_name(e.to_company_id)} (request {e.request_id}).\n\nApprove or reject "
        f"it at {ctx.public_url}." + quoted("Comment", e.comment),
    )


def credits_transferred(
    env: EventEnvelope, e: cr.CreditsTransferred, d: Directory, ctx: MailContext
) -> list[Draft]:
    r = d.requests.get(e.request_id)
    sender = r.from_company_id if r else account_company(d, e.from_account)
    receiver = r.to_company_id if r else account_company(d, e.to_account)
    title = d.programme_title(e.programme_id)
    what = f"{amount(d, e.amount)} of the programme {title}"
    if r is None or r.initiator_company_id == sender:
        return draft(
            "CREDIT_SEND_DEVELOPER",
            org_admins(d, receiver),
            f"Credits received: {title}",
            f"{d.company_name(sender)} transferred {what} to {d.company_name(receiver)} "
            f"(request {e.request_id})." + quoted("Comment", e.comment),
        )
    third = _third_party(r)
    out = draft(
        "CREDIT_TRANSFER_GOV_ACCEPTED_TO_INITIATOR" if third else "CREDIT_TRANSFER_ACCEPTED",
        org_admins(d, r.initiator_company_id),
        f"Transfer approved: {title}",
        f"{d.company_name(sender)} approved {_describe(d, r)}; the credits have moved."
        + quoted("Comment", e.comment),
    )
    if third:
        out += draft(
            "CREDIT_TRANSFER_GOV_ACCEPTED_TO_RECEIVER",
            org_admins(d, receiver),
            f"Credits received: {title}",
            f"{d.company_name(receiver)} received {what} from {d.company_name(sender)} "
            f"(request {e.request_id}).",
        )
    return out


def transfer_rejected(
    env: EventEnvelope, e: cr.TransferRejected, d: Directory, ctx: MailContext
) -> list[Draft]:
    r = d.requests.get(e.request_id)
    if r is None:
        return []
    title = d.programme_title(e.programme_id)
    return draft(
        "CREDIT_TRANSFER_GOV_REJECTED" if _third_party(r) else "CREDIT_TRANSFER_REJECTED",
        org_admins(d, r.initiator_company_id),
        f"Transfer rejected: {title}",
        f"{d.company_name(r.from_company_id)} rejected {_describe(d, r)}."
        + quoted("Reason", e.comment),
    )


def transfer_cancelled(
    env: EventEnvelope, e: cr.TransferCancelled, d: Directory, ctx: MailContext
) -> list[Draft]:
    r = d.requests.get(e.request_id)
    if r is None:
        return []
    title = d.programme_title(e.programme_id)
    if e.reason.value == "by_initiator":
        return draft(
            "CREDIT_TRANSFER_GOV_CANCELLATION"
            if _third_party(r)
            else "CREDIT_TRANSFER_CANCELLATION",
            org_admins(d, r.from_company_id),
            f"Transfer request cancelled: {title}",
            f"{d.company_name(r.initiator_company_id)} cancelled {_describe(d, r)}; nothing "
            "is left for you to decide." + quoted("Comment", e.comment),
        )
    why = (
        "the sender no longer holds enough credits"
        if e.reason.value == "low_credit"
        else "an organisation taking part was deactivated"
    )
    text = f"The registry cancelled {_describe(d, r)}, because {why}."
    out = draft(
        "CREDIT_TRANSFER_CANCELLATION_SYS_TO_INITIATOR",
        org_admins(d, r.initiator_company_id),
        f"Transfer request cancelled: {title}",
        text,
    )
    if r.from_company_id != r.initiator_company_id:
        out += draft(
            "CREDIT_TRANSFER_CANCELLATION_SYS_TO_SENDER",
            org_admins(d, r.from_company_id),
            f"Transfer request cancelled: {title}",
            text,
        )
    return out


def retirement_requested(
    env: EventEnvelope, e: cr.RetirementRequested, d: Directory, ctx: MailContext
) -> list[Draft]:
    if e.initiator_company_id != e.from_company_id:
        return []  # asked by the Government: executes at once, CreditsRetired follows
    title = d.programme_title(e.programme_id)
    where = f" towards {e.country}" if e.country else ""
    return draft(
        "CREDIT_RETIREMENT_BY_DEV",
        gov_admins(d),
        f"Retirement awaiting recognition: {title}",
        f"{d.company_name(e.from_company_id)} asks to retire {amount(d, e.amount)} of the "
        f"programme {title} ({e.retirement_type.value}{where}; request {e.request_id}).\n\n"
        f"Recognise or refuse it at {ctx.public_url}." + quoted("Comment", e.comment),
    )


def credits_retired(
    env: EventEnvelope, e: cr.CreditsRetired, d: Directory, ctx: MailContext
) -> list[Draft]:
    r = d.requests.get(e.request_id)
    holder = r.from_company_id if r else account_company(d, e.from_account)
    title = d.programme_title(e.programme_id)
    by_holder = r is not None and r.initiator_company_id == holder
    return draft(
        "CREDIT_RETIREMENT_RECOGNITION" if by_holder else "CREDIT_RETIREMENT_BY_GOV",
        org_admins(d, holder),
        f"Credits retired: {title}",
        f"{amount(d, e.amount)} of the programme {title} held by {d.company_name(holder)} "
        f"were retired (request {e.request_id}"
        + (", recognised by the Government" if by_holder else ", by the Government")
        + ")."
        + quoted("Comment", e.comment),
    )


def retirement_refused(
    env: EventEnvelope, e: cr.RetirementRefused, d: Directory, ctx: MailContext
) -> list[Draft]:
    r = d.requests.get(e.request_id)
    if r is None:
        return []
    title = d.programme_title(e.programme_id)
    return draft(
        "CREDIT_RETIREMENT_NOT_RECOGNITION",
        org_admins(d, r.from_company_id),
        f"Retirement not recognised: {title}",
        f"The Government did not recognise the retirement of {amount(d, r.amount)} of the "
        f"programme {title} (request {e.request_id}); the credits stay in your account."
        + quoted("Reason", e.comment),
    )


def retirement_cancelled(
    env: EventEnvelope, e: cr.RetirementCancelled, d: Directory, ctx: MailContext
) -> list[Draft]:
    r = d.requests.get(e.request_id)
    if r is None:
        return []
    title = d.programme_title(e.programme_id)
    what = (
        f"the retirement of {amount(d, r.amount)} of the programme {title} (request {e.request_id})"
    )
    if e.reason.value == "by_initiator":
        return draft(
            "CREDIT_RETIREMENT_CANCEL",
            gov_admins(d),
            f"Retirement request cancelled: {title}",
            f"{d.company_name(r.from_company_id)} cancelled {what}." + quoted("Comment", e.comment),
        )
    why = (
        "the holder no longer holds enough credits"
        if e.reason.value == "low_credit"
        else "the holder was deactivated"
    )
    text = f"The registry cancelled {what}, because {why}."
    return draft(
        "CREDIT_RETIREMENT_CANCEL_SYS_TO_INITIATOR",
        org_admins(d, r.from_company_id),
        f"Retirement request cancelled: {title}",
        text,
    ) + draft(
        "CREDIT_RETIREMENT_CANCEL_SYS_TO_GOV",
        gov_admins(d),
        f"Retirement request cancelled: {title}",
        text,
    )

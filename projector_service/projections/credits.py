"""The credit domain into its read models: programme stages and ranges, credit blocks,
transfer and retirement requests, certifications, organisation states and settings.

Every write follows from the event alone (the events carry their exact block effects);
every programme-scoped event also gets a timeline entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from projector_service.projections.programmes import timeline
from projector_service.projections.writes import Write
from schemas.enums import RequestStatus
from schemas.envelope import EventEnvelope
from schemas.events import credits as ev
from schemas.events.base import EventPayload
from schemas.events.mitigation import MitigationActionAdded
from schemas.events.organisation import OrganisationActivated, OrganisationSuspended

SET_STAGE = "UPDATE {s}.programmes SET stage = $2, updated_seq = $3 WHERE programme_id = $1"
SET_AUTHORISED = (
    "UPDATE {s}.programmes SET stage = $2, serial_no = $3, range_start = $4, range_end = $5,"
    " updated_seq = $6 WHERE programme_id = $1"
)
SET_ISSUED = (
    "UPDATE {s}.programmes SET credit_issued = $2, updated_seq = $3 WHERE programme_id = $1"
)
INSERT_BLOCK = (
    "INSERT INTO {s}.credit_blocks (block_id, programme_id, serial_no, range_start, range_end,"
    " account, company_id, state, vintage, parent_block_id, request_id, created_seq,"
    " updated_seq) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12)"
)
MOVE_BLOCK = (
    "UPDATE {s}.credit_blocks SET account = $2, company_id = $3, state = $4, request_id = $5,"
    " updated_seq = $6 WHERE block_id = $1"
)
SHRINK_BLOCK = (
    "UPDATE {s}.credit_blocks SET range_end = $2, serial_no = $3, updated_seq = $4"
    " WHERE block_id = $1"
)
SET_BLOCK_STATE = (
    "UPDATE {s}.credit_blocks SET state = $2, updated_seq = $3 WHERE block_id = ANY($1::text[])"
)
INSERT_REQUEST = (
    "INSERT INTO {s}.credit_requests (request_id, kind, programme_id, from_company_id,"
    " from_account, to_company_id, to_account, amount, initiator_company_id,"
    " initiator_user_id, status, retirement_type, country, organisation_name,"
    " omge_percentage, comment, created_seq, created_at, updated_seq)"
    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$17)"
)
CLOSE_REQUEST = (
    "UPDATE {s}.credit_requests SET status = $2, decision_comment = $3, cancel_reason = $4,"
    " omge_units = $5, decided_at = $6, updated_seq = $7 WHERE request_id = $1"
)
CERTIFY = (
    "INSERT INTO {s}.certifications (programme_id, certifier_id, state, certified_seq,"
    " certified_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (programme_id, certifier_id)"
    " DO UPDATE SET state = $3, certified_seq = $4, certified_at = $5, revoked_seq = NULL,"
    " revoked_at = NULL, revoke_reason = NULL"
)
REVOKE = (
    "UPDATE {s}.certifications SET state = $3, revoked_seq = $4, revoked_at = $5,"
    " revoke_reason = $6 WHERE programme_id = $1 AND certifier_id = $2"
)
SET_ORG_STATE = "UPDATE {s}.organisations SET state = $2, updated_seq = $3 WHERE company_id = $1"
INSERT_MITIGATION = (
    "INSERT INTO {s}.mitigation_actions (action_id, programme_id, type_of_mitigation,"
    " user_estimated_credits, system_estimated_credits, calculator, inputs, constant_version,"
    " comment, created_seq, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb,$8,$9,$10,$11)"
)
SET_FREEZE = (
    "INSERT INTO {s}.registry_settings (id, transfers_frozen, omge_percentage, updated_seq)"
    " VALUES (1, $1, 0, $2) ON CONFLICT (id) DO UPDATE SET transfers_frozen = $1,"
    " updated_seq = $2"
)
SET_OMGE = (
    "INSERT INTO {s}.registry_settings (id, transfers_frozen, omge_percentage, updated_seq)"
    " VALUES (1, false, $1, $2) ON CONFLICT (id) DO UPDATE SET omge_percentage = $1,"
    " updated_seq = $2"
)


def block_state(account: str, frozen: bool = False) -> str:
    if account in ev.TERMINAL_ACCOUNTS:
        return "retired"
    return "frozen" if frozen else "active"


# ---- programme lifecycle ----------------------------------------------------------------


def programme_approved(env: EventEnvelope, e: ev.ProgrammeApproved) -> list[Write]:
    return [Write(SET_STAGE, (e.programme_id, "Approved", env.seq)), timeline(env, e.programme_id)]


def programme_rejected(env: EventEnvelope, e: ev.ProgrammeRejected) -> list[Write]:
    return [Write(SET_STAGE, (e.programme_id, "Rejected", env.seq)), timeline(env, e.programme_id)]


def programme_authorised(env: EventEnvelope, e: ev.ProgrammeAuthorised) -> list[Write]:
    return [
        Write(
            SET_AUTHORISED,
            (e.programme_id, "Authorised", e.serial_no, e.range_start, e.range_end, env.seq),
        ),
        timeline(env, e.programme_id),
    ]


def credits_issued(env: EventEnvelope, e: ev.CreditsIssued) -> list[Write]:
    writes = [Write(SET_ISSUED, (e.programme_id, e.issued_total, env.seq))]
    writes += [
        Write(
            INSERT_BLOCK,
            (
                b.block_id,
                e.programme_id,
                b.serial,
                b.start,
                b.end,
                b.account,
                b.company_id,
                block_state(b.account, b.frozen),
                e.vintage,
                None,
                None,
                env.seq,
            ),
        )
        for b in e.blocks
    ]
    return [*writes, timeline(env, e.programme_id)]


def programme_certified(env: EventEnvelope, e: ev.ProgrammeCertified) -> list[Write]:
    return [
        Write(CERTIFY, (e.programme_id, e.certifier_id, "certified", env.seq, env.occurred_at)),
        timeline(env, e.programme_id),
    ]


def certification_revoked(env: EventEnvelope, e: ev.CertificationRevoked) -> list[Write]:
    return [
        Write(
            REVOKE,
            (e.programme_id, e.certifier_id, "revoked", env.seq, env.occurred_at, e.reason.value),
        ),
        timeline(env, e.programme_id),
    ]


# ---- blocks and requests ------------------------------------------------------------------


def moves(
    env: EventEnvelope, programme_id: str, request_id: int, ms: list[ev.BlockMove]
) -> list[Write]:
    writes: list[Write] = []
    for m in ms:
        state = block_state(m.to_account)
        if m.kept is None:
            writes.append(
                Write(
                    MOVE_BLOCK,
                    (m.source_block_id, m.to_account, m.to_company_id, state, request_id, env.seq),
                )
            )
            continue
        writes.append(Write(SHRINK_BLOCK, (m.source_block_id, m.kept.end, m.kept.serial, env.seq)))
        writes.append(
            Write(
                INSERT_BLOCK,
                (
                    m.moved.block_id,
                    programme_id,
                    m.moved.serial,
                    m.moved.start,
                    m.moved.end,
                    m.to_account,
                    m.to_company_id,
                    state,
                    m.vintage,
                    m.source_block_id,
                    request_id,
                    env.seq,
                ),
            )
        )
    return writes


def close(
    env: EventEnvelope,
    request_id: int,
    status: RequestStatus,
    comment: str | None,
    reason: str | None = None,
    omge_units: int | None = None,
) -> Write:
    return Write(
        CLOSE_REQUEST,
        (request_id, status.value, comment, reason, omge_units, env.occurred_at, env.seq),
    )


def transfer_requested(env: EventEnvelope, e: ev.TransferRequested) -> list[Write]:
    return [
        Write(
            INSERT_REQUEST,
            (
                e.request_id,
                "transfer",
                e.programme_id,
                e.from_company_id,
                e.from_account,
                e.to_company_id,
                e.to_account,
                e.amount,
                e.initiator_company_id,
                env.actor.user_id,
                RequestStatus.PENDING.value,
                None,
                None,
                None,
                None,
                e.comment,
                env.seq,
                env.occurred_at,
            ),
        ),
        timeline(env, e.programme_id),
    ]


def retirement_requested(env: EventEnvelope, e: ev.RetirementRequested) -> list[Write]:
    return [
        Write(
            INSERT_REQUEST,
            (
                e.request_id,
                "retirement",
                e.programme_id,
                e.from_company_id,
                e.from_account,
                None,
                None,
                e.amount,
                e.initiator_company_id,
                env.actor.user_id,
                RequestStatus.PENDING.value,
                e.retirement_type.value,
                e.country,
                e.organisation_name,
                e.omge_percentage,
                e.comment,
                env.seq,
                env.occurred_at,
            ),
        ),
        timeline(env, e.programme_id),
    ]


def credits_transferred(env: EventEnvelope, e: ev.CreditsTransferred) -> list[Write]:
    return [
        *moves(env, e.programme_id, e.request_id, e.moves),
        close(env, e.request_id, RequestStatus.APPROVED, e.comment),
        timeline(env, e.programme_id),
    ]


def credits_retired(env: EventEnvelope, e: ev.CreditsRetired) -> list[Write]:
    return [
        *moves(env, e.programme_id, e.request_id, e.moves),
        close(env, e.request_id, RequestStatus.RECOGNISED, e.comment, omge_units=e.omge_units),
        timeline(env, e.programme_id),
    ]


def transfer_rejected(env: EventEnvelope, e: ev.TransferRejected) -> list[Write]:
    return [
        close(env, e.request_id, RequestStatus.REJECTED, e.comment),
        timeline(env, e.programme_id),
    ]


def retirement_refused(env: EventEnvelope, e: ev.RetirementRefused) -> list[Write]:
    return [
        close(env, e.request_id, RequestStatus.NOT_RECOGNISED, e.comment),
        timeline(env, e.programme_id),
    ]


def request_cancelled(
    env: EventEnvelope, e: ev.TransferCancelled | ev.RetirementCancelled
) -> list[Write]:
    return [
        close(env, e.request_id, RequestStatus.CANCELLED, e.comment, e.reason.value),
        timeline(env, e.programme_id),
    ]


def mitigation_action_added(env: EventEnvelope, e: MitigationActionAdded) -> list[Write]:
    return [
        Write(
            INSERT_MITIGATION,
            (
                e.action_id,
                e.programme_id,
                e.type_of_mitigation.value,
                e.user_estimated_credits,
                e.system_estimated_credits,
                e.calculator,
                orjson.dumps(e.inputs, option=orjson.OPT_SORT_KEYS).decode(),
                e.constant_version,
                e.comment,
                env.seq,
                env.occurred_at,
            ),
        ),
        timeline(env, e.programme_id),
    ]


# ---- organisations and settings -----------------------------------------------------------


def credits_frozen(env: EventEnvelope, e: ev.CreditsFrozen) -> list[Write]:
    return [Write(SET_BLOCK_STATE, (e.block_ids, "frozen", env.seq))]


def credits_unfrozen(env: EventEnvelope, e: ev.CreditsUnfrozen) -> list[Write]:
    return [Write(SET_BLOCK_STATE, (e.block_ids, "active", env.seq))]


def organisation_suspended(env: EventEnvelope, e: OrganisationSuspended) -> list[Write]:
    return [Write(SET_ORG_STATE, (e.company_id, "Suspended", env.seq))]


def organisation_activated(env: EventEnvelope, e: OrganisationActivated) -> list[Write]:
    return [Write(SET_ORG_STATE, (e.company_id, "Active", env.seq))]


def transfer_freeze_set(env: EventEnvelope, e: ev.TransferFreezeSet) -> list[Write]:
    return [Write(SET_FREEZE, (e.frozen, env.seq))]


def omge_percentage_set(env: EventEnvelope, e: ev.OmgePercentageSet) -> list[Write]:
    return [Write(SET_OMGE, (e.percentage, env.seq))]


CREDIT_PROJECTIONS: dict[type[EventPayload], Callable[[EventEnvelope, Any], list[Write]]] = {
    ev.ProgrammeApproved: programme_approved,
    ev.ProgrammeRejected: programme_rejected,
    ev.ProgrammeAuthorised: programme_authorised,
    ev.CreditsIssued: credits_issued,
    ev.TransferRequested: transfer_requested,
    ev.CreditsTransferred: credits_transferred,
    ev.TransferRejected: transfer_rejected,
    ev.TransferCancelled: request_cancelled,
    ev.RetirementRequested: retirement_requested,
    ev.CreditsRetired: credits_retired,
    ev.RetirementRefused: retirement_refused,
    ev.RetirementCancelled: request_cancelled,
    ev.ProgrammeCertified: programme_certified,
    ev.CertificationRevoked: certification_revoked,
    ev.CreditsFrozen: credits_frozen,
    ev.CreditsUnfrozen: credits_unfrozen,
    OrganisationSuspended: organisation_suspended,
    OrganisationActivated: organisation_activated,
    ev.TransferFreezeSet: transfer_freeze_set,
    ev.OmgePercentageSet: omge_percentage_set,
    MitigationActionAdded: mitigation_action_added,
}

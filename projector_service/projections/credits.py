"""The credit domain into its read models: programme stages and ranges, credit blocks and
their history, transfer and retirement requests, certifications, organisation states,
settings and the Article 6.2 (AEF) actions.

Every write follows from the event alone (the events carry their exact block effects);
every programme-scoped event also gets a timeline entry, and every event that changes
blocks closes their current versions and opens new ones (``history``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from decimal import Decimal

import orjson

from projector_service.projections import aef, history
from projector_service.projections.programmes import timeline
from projector_service.projections.view import EventView, JsonDict
from projector_service.projections.writes import Write
from schemas.enums import RequestStatus
from schemas.events.credits import TERMINAL_ACCOUNTS

SET_STAGE = "UPDATE {s}.programmes SET stage = $2, updated_seq = $3 WHERE programme_id = $1"
SET_AUTHORISED = (
    "UPDATE {s}.programmes SET stage = $2, serial_no = $3, range_start = $4, range_end = $5,"
    " updated_seq = $6, authorised_seq = $6, authorised_at = $7, authorisation_id = $8"
    " WHERE programme_id = $1"
)
SET_ISSUED = (
    "UPDATE {s}.programmes SET credit_issued = $2, updated_seq = $3 WHERE programme_id = $1"
)
ADD_TRANSFERRED = (
    "UPDATE {s}.programmes SET credit_transferred = credit_transferred + $2, updated_seq = $3"
    " WHERE programme_id = $1"
)
ADD_RETIRED = (
    "UPDATE {s}.programmes SET credit_retired = credit_retired + $2, updated_seq = $3"
    " WHERE programme_id = $1"
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
INSERT_CONSTANTS = (
    "INSERT INTO {s}.calculator_constants (calculator, version, constants, set_seq, set_at)"
    " VALUES ($1, $2, $3::jsonb, $4, $5)"
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

Projection = Callable[[EventView, JsonDict], list[Write]]

# Plain strings (an enum member's .value costs a descriptor call on every event).
PENDING = RequestStatus.PENDING.value
APPROVED = RequestStatus.APPROVED.value
RECOGNISED = RequestStatus.RECOGNISED.value
REJECTED = RequestStatus.REJECTED.value
NOT_RECOGNISED = RequestStatus.NOT_RECOGNISED.value
CANCELLED = RequestStatus.CANCELLED.value


def block_state(account: str, frozen: bool = False) -> str:
    if account in TERMINAL_ACCOUNTS:
        return "retired"
    return "frozen" if frozen else "active"


def authorisation_id(env: EventView, serial_no: str, programme_id: str) -> str:
    """The Article 6.2 authorisation id: ``DDMMYY`` of the authorisation (UTC), the
    registry's country (the serial number's first part) and the programme id (the v2 rule
    of domain.md 8.2, with the country the original left ``undefined``)."""
    day = env.occurred_at.astimezone(UTC).strftime("%d%m%y")
    return f"{day}{serial_no.split('-', 1)[0]}{programme_id}"


# ---- programme lifecycle ----------------------------------------------------------------


def programme_approved(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [Write(SET_STAGE, (pid, "Approved", env.seq)), timeline(env, pid)]


def programme_rejected(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [Write(SET_STAGE, (pid, "Rejected", env.seq)), timeline(env, pid)]


def programme_authorised(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [
        Write(
            SET_AUTHORISED,
            (
                pid,
                "Authorised",
                e["serial_no"],
                e["range_start"],
                e["range_end"],
                env.seq,
                env.occurred_at,
                authorisation_id(env, e["serial_no"], pid),
            ),
        ),
        timeline(env, pid),
    ]


def credits_issued(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    vintage = e["vintage"]
    writes = [Write(SET_ISSUED, (pid, e["issued_total"], env.seq))]
    ids: list[str] = []
    for b in e["blocks"]:
        ids.append(b["block_id"])
        writes.append(
            Write(
                INSERT_BLOCK,
                (
                    b["block_id"],
                    pid,
                    b["serial"],
                    b["start"],
                    b["end"],
                    b["account"],
                    b["company_id"],
                    block_state(b["account"], b["frozen"]),
                    vintage,
                    None,
                    None,
                    env.seq,
                ),
            )
        )
    writes += aef.issued(env, e)
    writes.append(history.open_versions(env, ids))
    writes.append(timeline(env, pid))
    return writes


def programme_certified(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [
        Write(CERTIFY, (pid, e["certifier_id"], "certified", env.seq, env.occurred_at)),
        timeline(env, pid),
    ]


def certification_revoked(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [
        Write(
            REVOKE,
            (pid, e["certifier_id"], "revoked", env.seq, env.occurred_at, e["reason"]),
        ),
        timeline(env, pid),
    ]


# ---- blocks and requests ------------------------------------------------------------------


def moves(env: EventView, programme_id: str, request_id: int, ms: list[JsonDict]) -> list[Write]:
    """The block writes of a list of moves, then one new version of every block touched."""
    writes: list[Write] = []
    touched: dict[str, None] = {}
    for m in ms:
        to_account = m["to_account"]
        state = block_state(to_account)
        source = m["source_block_id"]
        kept = m["kept"]
        moved = m["moved"]
        touched[source] = None
        if kept is None:
            writes.append(
                Write(
                    MOVE_BLOCK,
                    (source, to_account, m["to_company_id"], state, request_id, env.seq),
                )
            )
            continue
        touched[moved["block_id"]] = None
        writes.append(Write(SHRINK_BLOCK, (source, kept["end"], kept["serial"], env.seq)))
        writes.append(
            Write(
                INSERT_BLOCK,
                (
                    moved["block_id"],
                    programme_id,
                    moved["serial"],
                    moved["start"],
                    moved["end"],
                    to_account,
                    m["to_company_id"],
                    state,
                    m["vintage"],
                    source,
                    request_id,
                    env.seq,
                ),
            )
        )
    writes += history.new_versions(env, list(touched))
    return writes


def close(
    env: EventView,
    request_id: int,
    status: str,
    comment: str | None,
    reason: str | None = None,
    omge_units: int | None = None,
) -> Write:
    return Write(
        CLOSE_REQUEST,
        (request_id, status, comment, reason, omge_units, env.occurred_at, env.seq),
    )


def transfer_requested(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [
        Write(
            INSERT_REQUEST,
            (
                e["request_id"],
                "transfer",
                pid,
                e["from_company_id"],
                e["from_account"],
                e["to_company_id"],
                e["to_account"],
                e["amount"],
                e["initiator_company_id"],
                env.actor_user_id,
                PENDING,
                None,
                None,
                None,
                None,
                e["comment"],
                env.seq,
                env.occurred_at,
            ),
        ),
        timeline(env, pid),
    ]


def retirement_requested(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [
        Write(
            INSERT_REQUEST,
            (
                e["request_id"],
                "retirement",
                pid,
                e["from_company_id"],
                e["from_account"],
                None,
                None,
                e["amount"],
                e["initiator_company_id"],
                env.actor_user_id,
                PENDING,
                e["retirement_type"],
                e["country"],
                e["organisation_name"],
                Decimal(e["omge_percentage"]),
                e["comment"],
                env.seq,
                env.occurred_at,
            ),
        ),
        timeline(env, pid),
    ]


def credits_transferred(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    rid = e["request_id"]
    return [
        # The AEF rows read the source blocks as they were before the move.
        *aef.transferred(env, e),
        *moves(env, pid, rid, e["moves"]),
        close(env, rid, APPROVED, e["comment"]),
        Write(ADD_TRANSFERRED, (pid, e["amount"], env.seq)),
        timeline(env, pid),
    ]


def credits_retired(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    rid = e["request_id"]
    return [
        *aef.retired(env, e),
        *moves(env, pid, rid, e["moves"]),
        close(env, rid, RECOGNISED, e["comment"], omge_units=e["omge_units"]),
        Write(ADD_RETIRED, (pid, e["amount"], env.seq)),
        timeline(env, pid),
    ]


def transfer_rejected(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [
        close(env, e["request_id"], REJECTED, e["comment"]),
        timeline(env, pid),
    ]


def retirement_refused(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [
        close(env, e["request_id"], NOT_RECOGNISED, e["comment"]),
        timeline(env, pid),
    ]


def request_cancelled(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    return [
        close(env, e["request_id"], CANCELLED, e["comment"], e["reason"]),
        timeline(env, pid),
    ]


def mitigation_action_added(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    system = e["system_estimated_credits"]
    return [
        Write(
            INSERT_MITIGATION,
            (
                e["action_id"],
                pid,
                e["type_of_mitigation"],
                e["user_estimated_credits"],
                None if system is None else Decimal(system),
                e["calculator"],
                orjson.dumps(e["inputs"], option=orjson.OPT_SORT_KEYS).decode(),
                e["constant_version"],
                e["comment"],
                env.seq,
                env.occurred_at,
            ),
        ),
        timeline(env, pid),
    ]


# ---- organisations and settings -----------------------------------------------------------


def credits_frozen(env: EventView, e: JsonDict) -> list[Write]:
    ids = list(e["block_ids"])
    return [Write(SET_BLOCK_STATE, (ids, "frozen", env.seq)), *history.new_versions(env, ids)]


def credits_unfrozen(env: EventView, e: JsonDict) -> list[Write]:
    ids = list(e["block_ids"])
    return [Write(SET_BLOCK_STATE, (ids, "active", env.seq)), *history.new_versions(env, ids)]


def organisation_suspended(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_ORG_STATE, (e["company_id"], "Suspended", env.seq))]


def organisation_activated(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_ORG_STATE, (e["company_id"], "Active", env.seq))]


def transfer_freeze_set(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_FREEZE, (e["frozen"], env.seq))]


def omge_percentage_set(env: EventView, e: JsonDict) -> list[Write]:
    return [Write(SET_OMGE, (Decimal(e["percentage"]), env.seq))]


def calculator_constants_updated(env: EventView, e: JsonDict) -> list[Write]:
    constants = orjson.dumps(e["constants"], option=orjson.OPT_SORT_KEYS).decode()
    return [
        Write(
            INSERT_CONSTANTS,
            (e["calculator"], e["version"], constants, env.seq, env.occurred_at),
        )
    ]


CREDIT_PROJECTIONS: dict[str, Projection] = {
    "ProgrammeApproved": programme_approved,
    "ProgrammeRejected": programme_rejected,
    "ProgrammeAuthorised": programme_authorised,
    "CreditsIssued": credits_issued,
    "TransferRequested": transfer_requested,
    "CreditsTransferred": credits_transferred,
    "TransferRejected": transfer_rejected,
    "TransferCancelled": request_cancelled,
    "RetirementRequested": retirement_requested,
    "CreditsRetired": credits_retired,
    "RetirementRefused": retirement_refused,
    "RetirementCancelled": request_cancelled,
    "ProgrammeCertified": programme_certified,
    "CertificationRevoked": certification_revoked,
    "CreditsFrozen": credits_frozen,
    "CreditsUnfrozen": credits_unfrozen,
    "OrganisationSuspended": organisation_suspended,
    "OrganisationActivated": organisation_activated,
    "TransferFreezeSet": transfer_freeze_set,
    "OmgePercentageSet": omge_percentage_set,
    "CalculatorConstantsUpdated": calculator_constants_updated,
    "MitigationActionAdded": mitigation_action_added,
}

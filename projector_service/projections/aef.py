"""Article 6.2 reporting (AEF, domain.md 7.5): one action row per block movement.

Issuance gives ``authorization`` rows, transfers ``transfer`` rows (``first_transfer`` when
the units leave the block they were issued in for the first time), executed retirements
``retire`` rows, or ``crossBoarderTransfer`` rows for the units of a cross-border
retirement that leave the country (its OMGE share is a ``retire``). Each row carries the
first and last unit and their ids, the vintage, the programme's sector, sectoral scope and
authorisation, the action time and, for a cross-border transfer, the acquiring Party.

The programme's facts, the retirement's type and country and whether a transfer is the
first are read from the read models as they stand when the event is applied (the SQL
below is the reference; ``projector_service.fold`` applies the same rule in memory).
"""

from __future__ import annotations

from projector_service.projections.view import EventView, JsonDict
from projector_service.projections.writes import Write
from schemas.enums import RetirementType
from schemas.events.credits import RETIRED_ACCOUNT

CROSS_BORDER = RetirementType.CROSS_BORDER.value
AUTHORIZATION = "authorization"
TRANSFER = "transfer"
RETIRE = "retire"
CROSS_BORDER_TRANSFER = "crossBoarderTransfer"

AEF_COLUMNS = (
    "seq, ordinal, programme_id, action_type, first_transfer, first_unit, last_unit,"
    " first_unit_id, last_unit_id, amount, vintage, sector, sectoral_scope, authorisation_id,"
    " authorised_at, action_at, from_account, to_account, to_company_id, request_id,"
    " retirement_type, acquiring_party"
)
_HEAD = "$1::bigint, $2::int, p.programme_id"
_UNITS = "$5::bigint, $6::bigint, $7::text, $8::text, $6::bigint - $5::bigint + 1, $9::int"
_PROGRAMME = "p.sector, p.sectoral_scope, p.authorisation_id, p.authorised_at"
_TAIL = "$10::timestamptz, $11::text, $12::text, $13::int, $14::int"
# $1 seq, $2 ordinal, $3 programme, $4 action type, $5/$6 first/last unit, $7/$8 their ids,
# $9 vintage, $10 action time, $11 from account, $12 to account, $13 to company, $14 request
AEF_ISSUE = (
    "INSERT INTO {s}.aef_actions ("
    + AEF_COLUMNS
    + ") SELECT "
    + _HEAD
    + ", $4::text, false, "
    + _UNITS
    + ", "
    + _PROGRAMME
    + ", "
    + _TAIL
    + ","
    " NULL, NULL"
    " FROM {s}.programmes p WHERE p.programme_id = $3::text"
)
# $15 the source block: the transfer is the first if it was never moved nor split off.
AEF_TRANSFER = (
    "INSERT INTO {s}.aef_actions (" + AEF_COLUMNS + ") SELECT " + _HEAD + ", $4::text,"
    " coalesce((SELECT b.parent_block_id IS NULL AND b.request_id IS NULL"
    " FROM {s}.credit_blocks b WHERE b.block_id = $15::text), false), "
    + _UNITS
    + ", "
    + _PROGRAMME
    + ", "
    + _TAIL
    + ", NULL, NULL"
    " FROM {s}.programmes p WHERE p.programme_id = $3::text"
)
# $15 'cross_border', $16 whether the units go to the retirement account (not OMGE),
# $17 the action type of units retired across the border.
AEF_RETIRE = (
    "INSERT INTO {s}.aef_actions (" + AEF_COLUMNS + ") SELECT " + _HEAD + ","
    " CASE WHEN q.retirement_type = $15::text AND $16::boolean THEN $17::text ELSE $4::text END,"
    " false, " + _UNITS + ", " + _PROGRAMME + ", " + _TAIL + ", q.retirement_type,"
    " CASE WHEN q.retirement_type = $15::text AND $16::boolean THEN q.country END"
    " FROM {s}.programmes p, {s}.credit_requests q"
    " WHERE p.programme_id = $3::text AND q.request_id = $14::int"
)


def unit_id(serial: str, unit: int) -> str:
    """A unit's id: its block serial without the range, then the unit number
    (``KE-ITMO-1-001-2024-0-261-290`` holds ``KE-ITMO-1-001-2024-0-261`` … ``-290``)."""
    return f"{serial.rsplit('-', 2)[0]}-{unit}"


def _common(
    env: EventView, ordinal: int, pid: str, action: str, block: JsonDict, vintage: int
) -> tuple[object, ...]:
    start, end, serial = block["start"], block["end"], block["serial"]
    return (
        env.seq,
        ordinal,
        pid,
        action,
        start,
        end,
        unit_id(serial, start),
        unit_id(serial, end),
        vintage,
        env.occurred_at,
    )


def issued(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    vintage = e["vintage"]
    return [
        Write(
            AEF_ISSUE,
            (
                *_common(env, i, pid, AUTHORIZATION, b, vintage),
                None,
                b["account"],
                b["company_id"],
                None,
            ),
        )
        for i, b in enumerate(e["blocks"])
    ]


def transferred(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    rid = e["request_id"]
    return [
        Write(
            AEF_TRANSFER,
            (
                *_common(env, i, pid, TRANSFER, m["moved"], m["vintage"]),
                m["from_account"],
                m["to_account"],
                m["to_company_id"],
                rid,
                m["source_block_id"],
            ),
        )
        for i, m in enumerate(e["moves"])
    ]


def retired(env: EventView, e: JsonDict) -> list[Write]:
    pid = e["programme_id"]
    rid = e["request_id"]
    return [
        Write(
            AEF_RETIRE,
            (
                *_common(env, i, pid, RETIRE, m["moved"], m["vintage"]),
                m["from_account"],
                m["to_account"],
                m["to_company_id"],
                rid,
                CROSS_BORDER,
                m["to_account"] == RETIRED_ACCOUNT,
                CROSS_BORDER_TRANSFER,
            ),
        )
        for i, m in enumerate(e["moves"])
    ]

"""Article 6.2 reporting: the AEF (Agreed Electronic Format) actions and holdings tables of a
reporting year (domain.md 7.5), from the read models.

* Actions: the ``aef_actions`` rows the projector writes, one per block movement
  (``authorization`` at issuance, ``transfer``, ``retire``, ``crossBoarderTransfer``), whose
  action time falls in the year (UTC).
* Holdings: every unit not retired at the end of the year, block by block, from the block
  history as of the last event of the year (``time_travel``).

The columns the registry does not record per action are the documented constants below
(the original's ``AEF.*`` configuration); the Party is the registry's own country.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from query_service.queries import time_travel

COOPERATIVE_APPROACH = "Article 6.2"
METRIC = "tCO2e"
PURPOSE = "NDC"  # purpose of authorisation, and of cancellation for retirements
OMGE_PURPOSE = "OMGE"  # the share of a cross-border retirement cancelled for OMGE
FIRST_TRANSFER_DEFINITION = "Authorization"
NOT_APPLICABLE = "NA"
OMGE_ACCOUNT = "gov:omge"

ACTION_COLUMNS = (
    "action_id",
    "seq",
    "cooperative_approach",
    "party",
    "programme_id",
    "first_unit_id",
    "last_unit_id",
    "first_unit",
    "last_unit",
    "metric",
    "quantity",
    "vintage",
    "sector",
    "sectoral_scope",
    "authorisation_id",
    "authorisation_date",
    "purpose_for_authorisation",
    "first_transfer_definition",
    "first_transfer",
    "action_time",
    "action_type",
    "transferring_party",
    "acquiring_party",
    "purpose_for_cancellation",
    "from_account",
    "to_account",
    "to_company_id",
    "request_id",
)
HOLDING_COLUMNS = (
    "block_id",
    "cooperative_approach",
    "party",
    "programme_id",
    "first_unit_id",
    "last_unit_id",
    "first_unit",
    "last_unit",
    "metric",
    "quantity",
    "vintage",
    "sector",
    "sectoral_scope",
    "authorisation_id",
    "authorisation_date",
    "purpose_for_authorisation",
    "first_transfer_definition",
    "holder_company_id",
    "account",
    "state",
)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def unit_id(serial: str, unit: int) -> str:
    """As the projector writes them: the block serial without its range, then the unit."""
    return f"{serial.rsplit('-', 2)[0]}-{unit}"


async def party(conn: asyncpg.Connection, s: str) -> str:
    code: str | None = await conn.fetchval(f"SELECT country_code FROM {s}.registry_info")
    return code or ""


async def actions(conn: asyncpg.Connection, s: str, year: int) -> list[dict[str, Any]]:
    start, end = year_bounds(year)
    country = await party(conn, s)
    rows = await conn.fetch(
        f"SELECT * FROM {s}.aef_actions WHERE action_at >= $1 AND action_at < $2"
        f" ORDER BY seq, ordinal",
        start,
        end,
    )
    out = []
    for r in rows:
        retiring = r["action_type"] in time_travel.RETIRING_ACTIONS
        out.append(
            {
                "action_id": f"{r['seq']}-{r['ordinal']}",
                "seq": r["seq"],
                "cooperative_approach": COOPERATIVE_APPROACH,
                "party": country,
                "programme_id": r["programme_id"],
                "first_unit_id": r["first_unit_id"],
                "last_unit_id": r["last_unit_id"],
                "first_unit": r["first_unit"],
                "last_unit": r["last_unit"],
                "metric": METRIC,
                "quantity": r["amount"],
                "vintage": r["vintage"],
                "sector": r["sector"],
                "sectoral_scope": r["sectoral_scope"],
                "authorisation_id": r["authorisation_id"],
                "authorisation_date": r["authorised_at"],
                "purpose_for_authorisation": PURPOSE,
                "first_transfer_definition": FIRST_TRANSFER_DEFINITION,
                "first_transfer": r["first_transfer"],
                "action_time": r["action_at"],
                "action_type": r["action_type"],
                "transferring_party": country,
                "acquiring_party": r["acquiring_party"] or country,
                "purpose_for_cancellation": (
                    (OMGE_PURPOSE if r["to_account"] == OMGE_ACCOUNT else PURPOSE)
                    if retiring
                    else None
                ),
                "from_account": r["from_account"],
                "to_account": r["to_account"],
                "to_company_id": r["to_company_id"],
                "request_id": r["request_id"],
            }
        )
    return out


async def holdings_seq(conn: asyncpg.Connection, s: str, year: int, applied: int) -> int:
    """The seq of the state at the end of ``year`` (the applied seq if the year is not over
    in the applied log)."""
    _, end = year_bounds(year)
    return await time_travel.seq_at_time(conn, s, end - timedelta(microseconds=1), applied)


async def holdings(conn: asyncpg.Connection, s: str, seq: int) -> list[dict[str, Any]]:
    country = await party(conn, s)
    rows = await conn.fetch(
        f"SELECT h.block_id, h.programme_id, h.serial_no, h.range_start, h.range_end,"
        f" h.vintage, h.company_id, h.account, h.state, p.sector, p.sectoral_scope,"
        f" p.authorisation_id, p.authorised_at"
        f" FROM {s}.credit_block_history h JOIN {s}.programmes p USING (programme_id)"
        f" WHERE h.valid_from_seq <= $1 AND (h.valid_to_seq IS NULL OR h.valid_to_seq > $1)"
        f" AND h.state <> 'retired' ORDER BY h.range_start",
        seq,
    )
    return [
        {
            "block_id": r["block_id"],
            "cooperative_approach": COOPERATIVE_APPROACH,
            "party": country,
            "programme_id": r["programme_id"],
            "first_unit_id": unit_id(r["serial_no"], r["range_start"]),
            "last_unit_id": unit_id(r["serial_no"], r["range_end"]),
            "first_unit": r["range_start"],
            "last_unit": r["range_end"],
            "metric": METRIC,
            "quantity": r["range_end"] - r["range_start"] + 1,
            "vintage": r["vintage"],
            "sector": r["sector"],
            "sectoral_scope": r["sectoral_scope"],
            "authorisation_id": r["authorisation_id"],
            "authorisation_date": r["authorised_at"],
            "purpose_for_authorisation": PURPOSE,
            "first_transfer_definition": FIRST_TRANSFER_DEFINITION,
            "holder_company_id": r["company_id"],
            "account": r["account"],
            "state": r["state"],
        }
        for r in rows
    ]

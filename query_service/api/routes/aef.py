"""GET /v1/reports/aef/*: the Article 6.2 AEF actions and holdings tables of a reporting
year, as JSON or CSV. Only the Government's users and Root may read them (403 otherwise).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Query, Response

from libs.http.problems import Problem
from query_service.api.deps import CallerDep, ConsistencyDep, DepsDep
from query_service.api.seq import SEQ_HEADER, seq_header
from query_service.queries import aef
from query_service.queries.callers import Caller
from query_service.queries.reads import read_at_least

router = APIRouter(prefix="/v1/reports/aef", tags=["reports"])

Year = Annotated[int, Query(ge=1900, le=9998, description="The reporting year (UTC).")]
Format = Annotated[Literal["json", "csv"], Query(description="json, or csv for a download.")]


def _require_government(caller: Caller) -> None:
    if caller.role != "Root" and caller.company_role != "Government":
        raise Problem(
            403,
            "aef.forbidden",
            "Only the Government's users and Root may read the Article 6.2 reports.",
        )


def _csv(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(
            [
                ""
                if r[c] is None
                else r[c].isoformat()
                if isinstance(r[c], datetime)
                else str(r[c]).lower()
                if isinstance(r[c], bool)
                else r[c]
                for c in columns
            ]
        )
    return out.getvalue()


def _answer(
    kind: str,
    year: int,
    fmt: str,
    seq: int,
    as_of_seq: int,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    party: str,
) -> Any:
    headers = {SEQ_HEADER: str(seq), "X-AEF-As-Of-Seq": str(as_of_seq)}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="aef-{kind}-{year}-{seq}.csv"'
        return Response(_csv(columns, rows), media_type="text/csv; charset=utf-8", headers=headers)
    return {
        "seq": seq,
        "as_of_seq": as_of_seq,
        "year": year,
        "party": party,
        "cooperative_approach": aef.COOPERATIVE_APPROACH,
        "metric": aef.METRIC,
        "columns": list(columns),
        "data": rows,
    }


@router.get("/actions")
async def aef_actions(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    year: Year,
    format: Format = "json",
) -> Any:
    """The AEF actions table of ``year``: one row per issuance (``authorization``),
    transfer (with ``first_transfer``), retirement (``retire``) and cross-border transfer
    (``crossBoarderTransfer``) of a block, with its first and last unit ids."""
    _require_government(caller)

    async def query(conn: asyncpg.Connection) -> tuple[list[dict[str, Any]], str]:
        return await aef.actions(conn, deps.schema, year), await aef.party(conn, deps.schema)

    seq, (rows, party) = await read_at_least(deps.pool, deps.schema, c.min_seq, c.wait_s, query)
    seq_header(response, seq)
    return _answer("actions", year, format, seq, seq, aef.ACTION_COLUMNS, rows, party)


@router.get("/holdings")
async def aef_holdings(
    deps: DepsDep,
    caller: CallerDep,
    c: ConsistencyDep,
    response: Response,
    year: Year,
    format: Format = "json",
) -> Any:
    """The AEF holdings table at the end of ``year``: every unit not retired then, block by
    block, with its holder (as of the last event of the year; as of now while the year
    runs)."""
    _require_government(caller)

    async def query(conn: asyncpg.Connection) -> tuple[int, list[dict[str, Any]], str]:
        applied = await conn.fetchval(
            f"SELECT last_seq FROM {deps.schema}.checkpoints WHERE projection = 'main'"
        )
        at = await aef.holdings_seq(conn, deps.schema, year, int(applied or 0))
        return at, await aef.holdings(conn, deps.schema, at), await aef.party(conn, deps.schema)

    seq, (at, rows, party) = await read_at_least(deps.pool, deps.schema, c.min_seq, c.wait_s, query)
    seq_header(response, seq)
    return _answer("holdings", year, format, seq, at, aef.HOLDING_COLUMNS, rows, party)

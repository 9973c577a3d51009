"""Public transparency reads (no sign-in): issuance and retirement totals, and the
provenance of credit units. Only programmes past approval are public; nothing here names a
user, an e-mail or a phone number (organisation names are public)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from query_service.queries import stats, summaries
from query_service.queries.stats import StatFilter

MAX_PROVENANCE_BLOCKS = 100
MAX_PROVENANCE_EVENTS = 500


async def totals(conn: asyncpg.Connection, s: str, f: StatFilter) -> dict[str, Any]:
    """Programmes, issuance and retirements of the public programmes, by sector and by
    destination country (cross-border retirements)."""
    top = await summaries.summary(conn, s, None, f)
    by_sector = await stats.programme_aggregates(conn, s, None, f, "sector")
    destinations = await stats.retirement_destinations(conn, s, None, f)
    return {
        "programmes": top["programmes"],
        "authorised_programmes": top["authorised_programmes"],
        "credits_issued": top["credits_issued"],
        "credits_retired": top["credits_retired"],
        "last_issued_at": top["last_issued_at"],
        "last_retired_at": top["last_retired_at"],
        "by_sector": [
            {k: g[k] for k in ("key", "count", "credit_est", "issued", "retired")}
            for g in by_sector["groups"]
        ],
        "cross_border_retirements": destinations["countries"],
    }


def _holder(account: str, company_id: int | None, names: dict[int, str]) -> dict[str, Any]:
    kind = account.split(":", 1)[0]
    return {
        "account": account,
        "kind": {"company": "organisation", "gov": "government"}.get(kind, kind),
        "company_id": company_id,
        "name": names.get(company_id) if company_id is not None else None,
    }


def _overlap(lo: int, hi: int, start: int, end: int) -> tuple[int, int] | None:
    a, b = max(lo, start), min(hi, end)
    return (a, b) if a <= b else None


async def provenance(conn: asyncpg.Connection, s: str, lo: int, hi: int) -> dict[str, Any] | None:
    """Where units ``lo..hi`` are now (which blocks, held by whom, in what state) and their
    history: issued when and to whom, moved when, retired when (and for which country)."""
    blocks = await conn.fetch(
        f"SELECT b.block_id, b.programme_id, b.serial_no, b.range_start, b.range_end,"
        f" b.account, b.company_id, b.state, b.vintage"
        f" FROM {s}.credit_blocks b JOIN {s}.programmes p USING (programme_id)"
        f" WHERE p.stage = ANY($4::text[]) AND b.range_start <= $2"
        f" AND b.range_start >= coalesce((SELECT max(range_start) FROM {s}.credit_blocks"
        f" WHERE range_start <= $1), 0) AND b.range_end >= $1"
        f" ORDER BY b.range_start LIMIT $3",
        lo,
        hi,
        MAX_PROVENANCE_BLOCKS,
        ["Approved", "Authorised"],
    )
    if not blocks:
        return None
    programme_ids = sorted({b["programme_id"] for b in blocks})
    names = {
        r["company_id"]: r["name"]
        for r in await conn.fetch(f"SELECT company_id, name FROM {s}.organisations")
    }
    programmes = await conn.fetch(
        f"SELECT programme_id, title, serial_no, sector, sectoral_scope, stage, credit_unit"
        f" FROM {s}.programmes WHERE programme_id = ANY($1::text[]) ORDER BY programme_id",
        programme_ids,
    )
    events = await conn.fetch(
        f"SELECT t.seq, t.type, t.occurred_at, t.payload::text AS payload"
        f" FROM {s}.programme_timeline t WHERE t.programme_id = ANY($1::text[])"
        f" AND t.type IN ('CreditsIssued', 'CreditsTransferred', 'CreditsRetired')"
        f" ORDER BY t.seq",
        programme_ids,
    )
    government = await conn.fetchval(f"SELECT government_company_id FROM {s}.registry_info")
    history = _history(lo, hi, events, names, government)
    request_ids = sorted({h["request_id"] for h in history if h.get("request_id") is not None})
    details = {
        r["request_id"]: r
        for r in await conn.fetch(
            f"SELECT request_id, retirement_type, country, organisation_name"
            f" FROM {s}.credit_requests WHERE request_id = ANY($1::int[])",
            request_ids,
        )
    }
    for h in history:
        d = details.get(h.get("request_id"))
        if h["event"] == "retired" and d is not None:
            h["retirement_type"] = d["retirement_type"]
            h["country"] = d["country"]
            h["beneficiary"] = d["organisation_name"]
    current = [
        {
            "block_id": b["block_id"],
            "programme_id": b["programme_id"],
            "serial_no": b["serial_no"],
            "range_start": b["range_start"],
            "range_end": b["range_end"],
            "state": b["state"],
            "vintage": b["vintage"],
            "holder": _holder(b["account"], b["company_id"], names),
        }
        for b in blocks
    ]
    return {
        "range_start": lo,
        "range_end": hi,
        "programmes": [dict(p) for p in programmes],
        "blocks": current,
        "history": history[:MAX_PROVENANCE_EVENTS],
    }


def _history(
    lo: int, hi: int, events: list[asyncpg.Record], names: dict[int, str], government: int | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in events:
        payload = orjson.loads(e["payload"])
        base = {"seq": e["seq"], "at": e["occurred_at"]}
        if e["type"] == "CreditsIssued":
            for blk in payload["blocks"]:
                hit = _overlap(lo, hi, blk["start"], blk["end"])
                if hit:
                    out.append(
                        {
                            **base,
                            "event": "issued",
                            "range_start": hit[0],
                            "range_end": hit[1],
                            "vintage": payload["vintage"],
                            "block_id": blk["block_id"],
                            "to": _holder(blk["account"], blk["company_id"], names),
                        }
                    )
            continue
        event = "transferred" if e["type"] == "CreditsTransferred" else "retired"
        for move in payload["moves"]:
            moved = move["moved"]
            hit = _overlap(lo, hi, moved["start"], moved["end"])
            if hit:
                source = move["source_block_id"]
                from_company = _company_of(move["from_account"], government)
                out.append(
                    {
                        **base,
                        "event": event,
                        "range_start": hit[0],
                        "range_end": hit[1],
                        "block_id": moved["block_id"],
                        "from_block_id": source,
                        "request_id": payload["request_id"],
                        "from": _holder(move["from_account"], from_company, names),
                        "to": _holder(move["to_account"], move["to_company_id"], names),
                    }
                )
    return out


def _company_of(account: str, government: int | None) -> int | None:
    if account.startswith("company:"):
        return int(account.removeprefix("company:"))
    return government if account.startswith("gov:") else None

"""Public transparency (no sign-in), rate limited per client IP: programmes past approval
(no e-mails, phones or user ids; organisation names are public), issuance and retirement
totals, and the provenance of credit units."""

from __future__ import annotations

from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends, Query, Request, Response

from libs.eventlog.signing import key_id as signing_key_id
from libs.eventlog.signing import public_key_text, sign
from libs.http.problems import Problem
from libs.serial_numbers import SerialNumberError, parse_serial
from query_service.api.deps import ConsistencyDep, DepsDep, QueryDeps
from query_service.api.list_requests import QueryBody, from_body, from_get
from query_service.api.ratelimit import RateLimitedRoute
from query_service.api.routes.lists import (
    AfterParam,
    CountParam,
    CursorParam,
    FilterParam,
    FormatParam,
    Limit,
    SortParam,
    answer,
)
from query_service.api.routes.stats import StatAnswer, StatBody, stat_params
from query_service.api.seq import seq_header
from query_service.queries import public
from query_service.queries.collections import collections
from query_service.queries.reads import applied_head, read_at_least
from query_service.responses import LogCheckpoint, LogKey, Page, PublicProgramme

router = APIRouter(prefix="/v1/public", tags=["public"], route_class=RateLimitedRoute)

MAX_RANGE = 10**12


@router.get("/programmes", response_model=Page[PublicProgramme])
async def public_programmes(
    request: Request,
    deps: DepsDep,
    c: ConsistencyDep,
    response: Response,
    limit: Limit = 50,
    cursor: CursorParam = None,
    after: AfterParam = None,
    sort: SortParam = None,
    count: CountParam = False,
    filter: FilterParam = None,
    format: FormatParam = "json",
) -> Any:
    """Approved and Authorised programmes, filtered and paged like ``/v1/programmes``."""
    coll = collections(deps.schema)["public_programmes"]
    q = from_get(
        coll,
        request.query_params,
        limit=limit,
        cursor=cursor,
        after=after,
        sort=sort,
        count=count,
        filter_json=filter,
    )
    return await answer(deps, c, coll, None, q, format, response)


@router.post("/programmes/query", response_model=Page[PublicProgramme])
async def public_programmes_query(
    body: QueryBody, deps: DepsDep, c: ConsistencyDep, response: Response
) -> Any:
    coll = collections(deps.schema)["public_programmes"]
    return await answer(deps, c, coll, None, from_body(coll, body), body.format, response)


@router.get("/totals", response_model=StatAnswer)
async def public_totals(
    deps: DepsDep,
    c: ConsistencyDep,
    response: Response,
    body: Annotated[StatBody, Depends(stat_params)],
) -> dict[str, Any]:
    """Programmes, credits issued and retired (with the last times), by sector, and
    cross-border retirements by destination country. ``only_mine`` does not apply."""
    f = body.model_copy(update={"only_mine": False}).filter()
    seq, data = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: public.totals(conn, deps.schema, f),
    )
    seq_header(response, seq)
    return {"seq": seq, "data": data}


@router.get("/provenance", response_model=StatAnswer)
async def provenance(
    deps: DepsDep,
    c: ConsistencyDep,
    response: Response,
    unit: Annotated[int | None, Query(ge=1, le=2**62, description="A unit number.")] = None,
    serial: Annotated[str | None, Query(max_length=120, description="A serial number.")] = None,
) -> dict[str, Any]:
    """Where a unit (or a serial's range of units) is now, and its history: which block,
    issued when and to whom, moved when, retired when and for which country."""
    if (unit is None) == (serial is None):
        raise Problem(422, "request.invalid", "Give exactly one of unit and serial.")
    if serial is not None:
        try:
            parsed = parse_serial(serial)
        except SerialNumberError as exc:
            raise Problem(422, "provenance.invalid_serial", exc.message) from None
        lo, hi = parsed.start, parsed.end
        if hi - lo > MAX_RANGE:
            raise Problem(422, "provenance.invalid_serial", "The serial's range is too large.")
    else:
        assert unit is not None
        lo = hi = unit
    seq, data = await read_at_least(
        deps.pool,
        deps.schema,
        c.min_seq,
        c.wait_s,
        lambda conn: public.provenance(conn, deps.schema, lo, hi),
    )
    seq_header(response, seq)
    if data is None:
        raise Problem(404, "provenance.not_found", "No issued unit has that number.", seq=seq)
    return {"seq": seq, "data": data}


def _key(deps: QueryDeps) -> Ed25519PrivateKey:
    if deps.signing_key is None:
        raise Problem(
            503, "log.unsigned", "This registry has no checkpoint signing key configured."
        )
    return deps.signing_key


@router.get("/log/checkpoint", response_model=LogCheckpoint)
async def log_checkpoint(deps: DepsDep, c: ConsistencyDep, response: Response) -> Any:
    """The log's head (seq and hash) as the read side has verified and applied it, signed
    by the registry. Auditors and other registries keep these to detect a log later cut
    short or rewritten (``registry verify --checkpoint``)."""
    key = _key(deps)
    seq, head = await read_at_least(
        deps.pool, deps.schema, c.min_seq, c.wait_s, lambda conn: applied_head(conn, deps.schema)
    )
    seq_header(response, seq)
    if seq == 0:
        raise Problem(404, "log.empty", "The log holds no event yet.", seq=seq)
    return sign(key, deps.registry, seq, head).to_json()


@router.get("/log/key", response_model=LogKey)
async def log_key(deps: DepsDep) -> Any:
    """The Ed25519 public key that signs this registry's log checkpoints."""
    public = _key(deps).public_key()
    return {
        "algorithm": "Ed25519",
        "key_id": signing_key_id(public),
        "public_key": public_key_text(public),
    }

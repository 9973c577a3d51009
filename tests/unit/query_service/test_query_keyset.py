"""Sorting, cursors and the page plan (no database)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from starlette.datastructures import QueryParams

from libs.http.problems import Problem
from query_service.api.list_requests import QueryBody, from_body, from_get
from query_service.queries.collections import collections
from query_service.queries.filters import FilterError, Params
from query_service.queries.keyset import (
    CursorError,
    decode_cursor,
    encode_cursor,
    full_order,
    keyset_predicate,
    order_by,
    parse_sort_json,
    parse_sort_param,
)
from query_service.queries.listing import ListQuery, csv_cell, plan_count, plan_csv, plan_page

S = "rm_unit"
PROGRAMMES = collections(S)["programmes"]
F = PROGRAMMES.fields


@dataclass(frozen=True)
class Who:
    role: str
    company_id: int
    company_role: str


ROOT = Who("Root", 1, "Government")
DEV = Who("Admin", 7, "ProgrammeDeveloper")


def test_sort_forms() -> None:
    keys = parse_sort_param(F, "-credit_est,title")
    assert [str(k) for k in keys] == ["credit_est:desc", "title:asc"]
    assert (
        parse_sort_json(F, [{"field": "credit_est", "order": "desc"}, {"field": "title"}]) == keys
    )
    assert parse_sort_json(F, {"key": "credit_est", "order": "DESC"}) == keys[:1]
    assert parse_sort_json(F, "-credit_est,title") == keys
    for bad in ("colour", "proponent_company_ids", "title,title", "a,b,c,d", "title;drop"):
        with pytest.raises(FilterError):
            parse_sort_param(F, bad)
    with pytest.raises(FilterError):
        parse_sort_json(F, [{"field": "title", "order": "sideways"}])


def test_the_tie_breaker_completes_every_order() -> None:
    keys = full_order(parse_sort_param(F, "-credit_est"), PROGRAMMES.tiebreak_fields)
    assert [str(k) for k in keys] == ["credit_est:desc", "created_seq:desc"]
    assert order_by(keys) == "p.credit_est DESC, p.created_seq DESC"
    keys = full_order([], PROGRAMMES.tiebreak_fields)
    assert [str(k) for k in keys] == ["created_seq:asc"]
    keys = full_order(parse_sort_param(F, "-created_seq"), PROGRAMMES.tiebreak_fields)
    assert [str(k) for k in keys] == ["created_seq:desc"]  # not twice


def test_keyset_predicates() -> None:
    keys = full_order(parse_sort_param(F, "-credit_est"), PROGRAMMES.tiebreak_fields)
    p = Params()
    assert keyset_predicate(keys, [1000, 17], p) == (
        "(p.credit_est, p.created_seq) < ($1::bigint, $2::bigint)"
    )
    assert p.values == [1000, 17]
    # Mixed directions: the OR expansion.
    keys = full_order(parse_sort_param(F, "sector,-credit_est"), PROGRAMMES.tiebreak_fields)
    p = Params()
    assert keyset_predicate(keys, ["Energy", 10, 5], p) == (
        "((p.sector > $1::text) OR (p.sector = $2::text AND p.credit_est < $3::bigint)"
        " OR (p.sector = $4::text AND p.credit_est = $5::bigint AND p.created_seq < $6::bigint))"
    )
    # Nullable keys: NULL is the largest value (last ascending, first descending).
    keys = full_order(parse_sort_param(F, "serial_no"), PROGRAMMES.tiebreak_fields)
    p = Params()
    assert keyset_predicate(keys, ["KE-1", 3], p) == (
        "(((p.serial_no > $1::text OR p.serial_no IS NULL))"
        " OR (p.serial_no = $2::text AND p.created_seq > $3::bigint))"
    )
    p = Params()
    assert keyset_predicate(keys, [None, 3], p) == (
        "((FALSE) OR (p.serial_no IS NULL AND p.created_seq > $1::bigint))"
    )
    keys = full_order(parse_sort_param(F, "-serial_no"), PROGRAMMES.tiebreak_fields)
    p = Params()
    assert keyset_predicate(keys, [None, 3], p) == (
        "((p.serial_no IS NOT NULL) OR (p.serial_no IS NULL AND p.created_seq < $1::bigint))"
    )


def test_cursors_round_trip_and_refuse_tampering() -> None:
    keys = full_order(parse_sort_param(F, "-created_at,serial_no"), PROGRAMMES.tiebreak_fields)
    at = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    token = encode_cursor(keys, [at, None, 42])
    assert "=" not in token
    assert decode_cursor(keys, token) == [at, None, 42]
    other = full_order(parse_sort_param(F, "created_at"), PROGRAMMES.tiebreak_fields)
    with pytest.raises(CursorError, match="another sort order"):
        decode_cursor(other, token)
    raw = orjson.loads(base64.urlsafe_b64decode(token + "=="))
    raw["v"][2] = "1; DROP TABLE programmes"
    forged = base64.urlsafe_b64encode(orjson.dumps(raw)).decode()
    with pytest.raises(FilterError):
        decode_cursor(keys, forged)
    raw["v"] = [None, None, None]  # created_at and created_seq are never NULL
    with pytest.raises(CursorError):
        decode_cursor(keys, base64.urlsafe_b64encode(orjson.dumps(raw)).decode())
    for junk in ("!!!", "bm90IGpzb24", base64.urlsafe_b64encode(b"[1,2]").decode(), "x" * 3000):
        with pytest.raises(CursorError):
            decode_cursor(keys, junk)
    retirements = collections(S)["retirements"]
    rkeys = full_order(
        parse_sort_json(retirements.fields, "omge_percentage"), retirements.tiebreak_fields
    )
    assert decode_cursor(rkeys, encode_cursor(rkeys, [Decimal("10.5"), 3])) == [Decimal("10.5"), 3]


def test_the_page_plan() -> None:
    q = ListQuery(
        filter=None, sort=tuple(parse_sort_param(F, "-credit_est")), limit=20, cursor=None
    )
    plan = plan_page(PROGRAMMES, ROOT, q)
    assert plan.sql == (
        "SELECT p.*, p.credit_est AS _k0, p.created_seq AS _k1 FROM rm_unit.programmes p"
        " ORDER BY p.credit_est DESC, p.created_seq DESC LIMIT $1::int"
    )
    assert plan.args == [21]  # one more row says whether there is a next page
    cursor = encode_cursor(plan.keys, [500, 9])
    dev = plan_page(PROGRAMMES, DEV, ListQuery(sort=q.sort, limit=20, cursor=cursor))
    assert " WHERE (" in dev.sql
    assert "p.proponent_company_ids @> ARRAY[" in dev.sql  # the developer's own
    assert "(p.credit_est, p.created_seq) < (" in dev.sql
    assert dev.args[-1] == 21
    assert 7 in dev.args
    assert dev.args[-3:-1] == [500, 9]
    # A bare number is the legacy cursor of the default order only.
    legacy = plan_page(PROGRAMMES, ROOT, ListQuery(cursor="5"))
    assert "(p.created_seq) > ($1::bigint)" in legacy.sql
    with pytest.raises(CursorError):
        plan_page(PROGRAMMES, ROOT, ListQuery(sort=q.sort, cursor="5"))
    transfers = collections(S)["transfers"]
    plan = plan_count(transfers, ROOT, None, cap=100_001)
    assert plan.sql == (
        "SELECT count(*) FROM (SELECT 1 FROM rm_unit.credit_requests r"
        " WHERE r.kind = 'transfer' LIMIT $1::int) n"
    )
    plan = plan_csv(transfers, DEV, ListQuery(), 100_000)
    assert plan.sql.startswith(
        "SELECT r.* FROM rm_unit.credit_requests r WHERE r.kind = 'transfer'"
    )
    assert plan.sql.endswith("ORDER BY r.request_id ASC LIMIT $3::int")
    public = collections(S)["public_programmes"]
    assert "p.stage = ANY(" in plan_page(public, None, ListQuery()).sql
    # Signed-in collections show nothing to nobody.
    assert " WHERE FALSE " in plan_page(PROGRAMMES, None, ListQuery()).sql


def test_the_get_form() -> None:
    def get(query: str, **kw: object) -> ListQuery:
        args: dict[str, object] = {
            "limit": 50,
            "cursor": None,
            "after": None,
            "sort": None,
            "count": False,
            "filter_json": None,
        }
        args.update(kw)
        return from_get(PROGRAMMES, QueryParams(query), **args)  # type: ignore[arg-type]

    q = get("stage=Authorised&credit_est[ge]=5&sector[in]=Energy,Waste&min_seq=3&limit=9")
    p = Params()
    from query_service.queries.filters import compile_node

    assert q.filter is not None
    assert compile_node(q.filter, p) == (
        "(p.stage = $1::text AND p.credit_est >= $2::bigint AND p.sector = ANY($3::text[]))"
    )
    assert p.values == ["Authorised", 5, ["Energy", "Waste"]]
    q = get("", filter_json='{"or": [{"field": "stage", "op": "eq", "value": "x"}]}')
    assert q.filter is not None
    for bad in ("colour=red", "title[regex]=x", "title[]=x", "x'--=1", "credit_est=abc"):
        with pytest.raises(Problem) as err:
            get(bad)
        assert (err.value.status, err.value.code) == (422, "query.invalid_filter")
    with pytest.raises(Problem) as err:
        get("", after=str(2**64))
    assert err.value.code == "request.invalid"
    assert get("", after="12").cursor == "12"
    body = QueryBody.model_validate(
        {"filterAnd": [{"key": "stage", "operation": "=", "value": "x"}], "size": 5}
    )
    q = from_body(PROGRAMMES, body)
    assert (q.limit, q.filter is not None) == (5, True)


def test_csv_cells() -> None:
    assert csv_cell(None) == ""
    assert csv_cell(True) == "true"
    assert csv_cell(12) == "12"
    assert csv_cell(-12) == "-12"  # numbers are numbers
    assert csv_cell(Decimal("1.50")) == "1.50"
    assert csv_cell(["Lagos", "Kano"]) == "Lagos;Kano"
    assert csv_cell({"b": 1, "a": 2}) == '{"a":2,"b":1}'
    assert csv_cell(datetime(2024, 1, 2, tzinfo=UTC)) == "2024-01-02T00:00:00+00:00"
    # Text a spreadsheet would run as a formula is defused.
    for formula in ("=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1"):
        assert csv_cell(formula) == "'" + formula
    assert csv_cell("plain") == "plain"

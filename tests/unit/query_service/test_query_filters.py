"""The filter language compiled to SQL (no database): the SQL text, the bound values, and
the refusal of everything outside the whitelist (injection attempts included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from query_service.queries.collections import collections
from query_service.queries.filters import (
    MAX_CONDITIONS,
    Field,
    FieldType,
    FilterError,
    Params,
    coerce,
    compile_node,
    condition,
    parse_filter,
    parse_query_dto,
)

S = "rm_unit"
PROGRAMMES = collections(S)["programmes"].fields
BLOCKS = collections(S)["blocks"].fields


def sql(raw: Any, fields: dict[str, Field] | None = None) -> tuple[str, list[Any]]:
    p = Params()
    text = compile_node(parse_filter(fields or dict(PROGRAMMES), raw), p)
    return text, p.values


def c(name: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": name, "op": op, "value": value}


@pytest.mark.parametrize(
    ("raw", "want_sql", "want_args"),
    [
        (c("stage", "eq", "Authorised"), "p.stage = $1::text", ["Authorised"]),
        (c("stage", "ne", "Rejected"), "p.stage IS DISTINCT FROM $1::text", ["Rejected"]),
        (c("credit_est", "lt", 5), "p.credit_est < $1::bigint", [5]),
        (c("credit_est", "le", "5"), "p.credit_est <= $1::bigint", [5]),
        (c("credit_est", "gt", 5), "p.credit_est > $1::bigint", [5]),
        (c("credit_est", "ge", 5), "p.credit_est >= $1::bigint", [5]),
        (
            c("sector", "in", ["Energy", "Waste"]),
            "p.sector = ANY($1::text[])",
            [["Energy", "Waste"]],
        ),
        (c("title", "contains", "50%"), "strpos(p.title, $1::text) > 0", ["50%"]),
        (c("title", "ilike", "%solar%"), "p.title ILIKE $1::text", ["%solar%"]),
        (
            c("proponent_company_ids", "contains", [3, 4]),
            "p.proponent_company_ids @> $1::int[]",
            [[3, 4]],
        ),
        (c("proponent_company_ids", "contains", 3), "p.proponent_company_ids @> $1::int[]", [[3]]),
        (
            c("proponent_company_ids", "in", [3, 4]),
            "p.proponent_company_ids && $1::int[]",
            [[3, 4]],
        ),
        (c("serial_no", "eq", None), "p.serial_no IS NULL", []),
        (c("serial_no", "ne", None), "p.serial_no IS NOT NULL", []),
        (c("company_id", "eq", 7), "p.proponent_company_ids @> ARRAY[$1::int]", [7]),
        (c("company_id", "in", [7, 8]), "p.proponent_company_ids && $1::int[]", [[7, 8]]),
    ],
)
def test_each_operation_compiles_to_bound_sql(
    raw: dict[str, Any], want_sql: str, want_args: list[Any]
) -> None:
    assert sql(raw) == (want_sql, want_args)


def test_groups_nest_with_parentheses_and_number_parameters_in_order() -> None:
    raw = {
        "or": [
            c("sector", "eq", "Forestry"),
            {"and": [c("stage", "eq", "Authorised"), c("credit_est", "ge", 1000)]},
        ]
    }
    assert sql(raw) == (
        "(p.sector = $1::text OR (p.stage = $2::text AND p.credit_est >= $3::bigint))",
        ["Forestry", "Authorised", 1000],
    )


def test_the_query_dto_form_and_its_operation_spellings() -> None:
    node = parse_query_dto(
        dict(PROGRAMMES),
        [
            {"key": "credit_est", "operation": ">=", "value": 10},
            {"key": "stage", "operation": "!=", "value": "x"},
        ],
        [
            {"key": "sector", "operation": "=", "value": "Energy"},
            {"key": "proponent_company_ids", "operation": "ANY", "value": 3},
        ],
    )
    assert node is not None
    p = Params()
    assert compile_node(node, p) == (
        "((p.credit_est >= $1::bigint AND p.stage IS DISTINCT FROM $2::text)"
        " AND (p.sector = $3::text OR p.proponent_company_ids @> $4::int[]))"
    )
    assert p.values == [10, "x", "Energy", [3]]
    assert parse_query_dto(dict(PROGRAMMES), None, []) is None


def test_the_unit_lookup_uses_the_start_index() -> None:
    text, args = sql(c("unit", "eq", 250), dict(BLOCKS))
    assert text == (
        "(b.range_start = (SELECT max(range_start) FROM rm_unit.credit_blocks"
        " WHERE range_start <= $1::bigint) AND b.range_end >= $1::bigint)"
    )
    assert args == [250]


INJECTIONS: list[Any] = [
    c('title" = title OR "1', "eq", "x"),
    c("title; DROP TABLE programmes", "eq", "x"),
    c("title) OR (1=1", "eq", "x"),
    c("Title", "eq", "x"),  # names are exact
    c("p.title", "eq", "x"),
    c("properties->>'a'", "eq", "x"),
    c("title", "= 'x' OR 1=1 --", "x"),
    c("title", "regex", "x"),
    c("title", "LIKE", "x"),  # not an alias: contains and ilike say what they mean
    c("credit_est", "eq", "1; DROP TABLE programmes"),
    c("credit_est", "eq", "1 OR 1=1"),
    c("credit_est", "eq", True),
    c("credit_est", "eq", 2**63),
    c("start_time", "eq", 1.5),
    c("title", "eq", 5),
    c("title", "eq", ["a"]),
    c("title", "eq", {"a": 1}),
    c("title", "eq", "x" * 201),
    c("title", "eq", "nul\x00byte"),
    c("title", "in", []),
    c("title", "in", ["a"] * 101),
    c("stage", "eq", None),  # stage is never NULL: a null comparison is a mistake
    c("serial_no", "lt", None),
    c("credit_est", "ilike", "1%"),
    c("credit_est", "contains", 1),
    c("proponent_company_ids", "eq", 1),
    c("proponent_company_ids", "contains", ["x"]),
    c("company_id", "gt", 1),
    c("created_at", "gt", "yesterday"),
    c("created_at", "gt", 1700000000),
    {"field": "stage", "op": "eq"},
    {"field": "stage", "op": "eq", "value": "x", "extra": 1},
    {"key": "stage", "operation": "eq", "value": "x", "field": "stage"},
    {"and": []},
    {"and": {"field": "stage"}},
    {"and": [c("stage", "eq", "x")], "or": [c("stage", "eq", "y")]},
    {"not": [c("stage", "eq", "x")]},
    "stage = 'x'",
    [c("stage", "eq", "x")],
]


@pytest.mark.parametrize("raw", INJECTIONS)
def test_anything_outside_the_whitelist_is_refused(raw: Any) -> None:
    with pytest.raises(FilterError):
        parse_filter(dict(PROGRAMMES), raw)


def test_values_never_reach_the_sql_text() -> None:
    evil = "x'); DROP TABLE programmes; --"
    text, args = sql(
        {"and": [c("title", "eq", evil), c("title", "ilike", evil), c("title", "contains", evil)]}
    )
    assert "DROP" not in text
    assert "'" not in text
    assert args == [evil, evil, evil]


def test_limits_on_depth_and_size() -> None:
    leaf = c("stage", "eq", "x")
    three = {"and": [{"or": [{"and": [leaf]}]}]}
    parse_filter(dict(PROGRAMMES), three)
    with pytest.raises(FilterError, match="3 deep"):
        parse_filter(dict(PROGRAMMES), {"or": [three]})
    fifty = {"and": [leaf] * MAX_CONDITIONS}
    parse_filter(dict(PROGRAMMES), fifty)
    with pytest.raises(FilterError, match="at most 50"):
        parse_filter(dict(PROGRAMMES), {"and": [leaf] * (MAX_CONDITIONS + 1)})
    # Conditions are counted across groups too.
    spread = {"or": [{"and": [leaf] * 30}, {"and": [leaf] * 21}]}
    with pytest.raises(FilterError):
        parse_filter(dict(PROGRAMMES), spread)


def test_refusals_say_where() -> None:
    with pytest.raises(FilterError) as err:
        parse_filter(dict(PROGRAMMES), {"and": [c("stage", "eq", "x"), c("colour", "eq", "red")]})
    assert err.value.path == "filter.and[1].field"
    assert "colour" in err.value.message
    assert "stage" in err.value.message  # the known fields are listed
    with pytest.raises(FilterError) as err:
        parse_filter(dict(PROGRAMMES), c("credit_est", "eq", "lots"))
    assert err.value.path == "filter.value"


def test_value_types() -> None:
    assert coerce(FieldType.INT, "42") == 42
    assert coerce(FieldType.INT, -5) == -5
    with pytest.raises(FilterError):
        coerce(FieldType.INT, 2**31)
    assert coerce(FieldType.BIGINT, 2**40) == 2**40
    assert coerce(FieldType.NUMERIC, "10.5") == Decimal("10.5")
    assert coerce(FieldType.NUMERIC, 3) == Decimal(3)
    for bad in ("NaN", "Infinity", "1e400", True, None, "ten"):
        with pytest.raises(FilterError):
            coerce(FieldType.NUMERIC, bad)
    assert coerce(FieldType.BOOL, "true") is True
    assert coerce(FieldType.BOOL, False) is False
    with pytest.raises(FilterError):
        coerce(FieldType.BOOL, "yes")
    assert coerce(FieldType.TIMESTAMP, "2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    assert coerce(FieldType.TIMESTAMP, "2024-01-02T03:04:05Z") == datetime(
        2024, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    plus_one = coerce(FieldType.TIMESTAMP, "2024-01-02T03:04:05+01:00")
    assert plus_one.tzinfo == timezone(timedelta(hours=1))
    assert coerce(FieldType.TEXT_ARRAY, "Kano") == "Kano"


def test_a_condition_can_be_built_directly() -> None:
    cond = condition(dict(PROGRAMMES), "stage", "in", ["Approved"], "x")
    p = Params()
    assert compile_node(cond, p) == "p.stage = ANY($1::text[])"


def test_every_collection_field_is_safe_sql() -> None:
    """The whitelisted names are plain identifiers; every collection names its tie-breaker."""
    for coll in collections(S).values():
        assert all(f.name == name for name, f in coll.fields.items())
        for f in coll.tiebreak_fields:
            assert f.sortable
            assert not f.nullable
        assert all(name.isidentifier() and name.islower() for name in coll.fields)

"""The queryable collections: for each, its source, whitelisted fields (name -> trusted SQL
and type), unique tie-breaker, visibility predicate, row shape and CSV columns.

Only names declared here can appear in a filter or a sort; the SQL next to them is written
here, never taken from a request. Specs are built once per read-model schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from query_service.queries import visibility as vis
from query_service.queries.filters import Field, Params
from query_service.queries.filters import FieldType as T

Row = dict[str, Any]
Visible = Callable[[vis.Viewer | None, vis.Add], str | None]
CsvColumn = tuple[str, Callable[[Row], Any]]


@dataclass(frozen=True)
class Collection:
    name: str
    source: str
    select: str
    fields: Mapping[str, Field]
    tiebreak: tuple[str, ...]
    visible: Visible
    row: Callable[[Row], Row]
    csv: tuple[CsvColumn, ...]
    base_where: str | None = None

    @property
    def tiebreak_fields(self) -> tuple[Field, ...]:
        return tuple(self.fields[n] for n in self.tiebreak)


def _fields(*fs: Field) -> dict[str, Field]:
    return {f.name: f for f in fs}


def _f(alias: str, name: str, t: T, nullable: bool = False, sortable: bool = True) -> Field:
    return Field(name, f"{alias}.{name}", t, nullable=nullable, sortable=sortable)


def _cols(*names: str) -> tuple[CsvColumn, ...]:
    return tuple((n, lambda r, n=n: r.get(n)) for n in names)


def _signed_in(rule: Callable[[vis.Viewer, vis.Add], str | None]) -> Visible:
    def visible(v: vis.Viewer | None, add: vis.Add) -> str | None:
        return "FALSE" if v is None else rule(v, add)

    return visible


def _same(r: Row) -> Row:
    return r


# ---- programmes ---------------------------------------------------------------------------


def _proponent(op: str, value: Any, p: Params) -> str:
    if op == "in":
        return f"p.proponent_company_ids && {p.add(value, 'int[]')}"
    return f"p.proponent_company_ids @> ARRAY[{p.add(value, 'int')}]"


LOCATIONS_SQL = "ARRAY(SELECT jsonb_array_elements_text(p.properties->'geographical_location'))"


def _programme_fields() -> dict[str, Field]:
    return _fields(
        _f("p", "programme_id", T.TEXT),
        _f("p", "title", T.TEXT),
        _f("p", "external_id", T.TEXT),
        _f("p", "sector", T.TEXT),
        _f("p", "sectoral_scope", T.TEXT),
        _f("p", "country_code", T.TEXT),
        _f("p", "stage", T.TEXT),
        _f("p", "start_time", T.BIGINT),
        _f("p", "end_time", T.BIGINT),
        _f("p", "credit_est", T.BIGINT),
        _f("p", "credit_issued", T.BIGINT),
        _f("p", "credit_unit", T.TEXT),
        _f("p", "proponent_company_ids", T.INT_ARRAY),
        _f("p", "serial_no", T.TEXT, nullable=True),
        _f("p", "range_start", T.BIGINT, nullable=True),
        _f("p", "range_end", T.BIGINT, nullable=True),
        _f("p", "environmental_assessment_registration_no", T.TEXT),
        _f("p", "created_seq", T.BIGINT),
        _f("p", "created_at", T.TIMESTAMP),
        _f("p", "updated_seq", T.BIGINT),
        Field("geographical_location", LOCATIONS_SQL, T.TEXT_ARRAY, sortable=False),
        Field(
            "company_id",
            "p.proponent_company_ids",
            T.INT,
            sortable=False,
            ops=frozenset({"eq", "in"}),
            compile=_proponent,
        ),
    )


def programme_row(r: Row) -> Row:
    r["properties"] = orjson.loads(r["properties"])
    r["proponent_percentages"] = [str(x) for x in r["proponent_percentages"]]
    return r


def _programmes(s: str) -> Collection:
    csv = (
        *_cols(
            "programme_id",
            "title",
            "external_id",
            "sector",
            "sectoral_scope",
            "country_code",
            "stage",
            "start_time",
            "end_time",
            "credit_est",
            "credit_issued",
            "credit_unit",
            "proponent_company_ids",
            "proponent_percentages",
            "serial_no",
            "range_start",
            "range_end",
            "environmental_assessment_registration_no",
        ),
        ("geographical_location", lambda r: r["properties"].get("geographical_location")),
        *_cols("created_seq", "created_at", "updated_seq"),
    )
    return Collection(
        "programmes",
        f"{s}.programmes p",
        "p.*",
        _programme_fields(),
        ("created_seq",),
        _signed_in(vis.programmes),
        programme_row,
        csv,
    )


def _public_programmes(s: str) -> Collection:
    keep = (
        "programme_id",
        "title",
        "external_id",
        "sector",
        "sectoral_scope",
        "country_code",
        "stage",
        "start_time",
        "end_time",
        "credit_est",
        "credit_issued",
        "credit_unit",
        "serial_no",
        "range_start",
        "range_end",
        "created_at",
    )
    fields = {n: f for n, f in _programme_fields().items() if n in (*keep, "company_id")}
    fields["geographical_location"] = _programme_fields()["geographical_location"]
    fields["created_seq"] = Field("created_seq", "p.created_seq", T.BIGINT, filterable=False)
    select = (
        ", ".join(f"p.{n}" for n in keep)
        + ", p.created_seq, p.properties->'geographical_location' AS geographical_location,"
        " p.properties->'greenhouse_gases' AS greenhouse_gases,"
        " (SELECT coalesce(jsonb_agg(jsonb_build_object('company_id', x.id, 'name', o.name,"
        " 'percentage', p.proponent_percentages[x.i]::text) ORDER BY x.i), '[]'::jsonb)"
        f" FROM unnest(p.proponent_company_ids) WITH ORDINALITY AS x(id, i)"
        f" JOIN {s}.organisations o ON o.company_id = x.id) AS proponents"
    )

    def row(r: Row) -> Row:
        out = {n: r[n] for n in keep}
        out["geographical_location"] = orjson.loads(r["geographical_location"] or "[]")
        out["greenhouse_gases"] = orjson.loads(r["greenhouse_gases"] or "[]")
        out["proponents"] = orjson.loads(r["proponents"])
        return out

    csv = (
        *_cols(*keep),
        ("geographical_location", lambda r: r["geographical_location"]),
        ("proponents", lambda r: [x["name"] for x in r["proponents"]]),
    )
    return Collection(
        "public_programmes",
        f"{s}.programmes p",
        select,
        fields,
        ("created_seq",),
        lambda _v, add: vis.public_programmes(add),
        row,
        csv,
    )


# ---- organisations and users ----------------------------------------------------------------


def _organisations(s: str) -> Collection:
    text = ("name", "role", "state", "email", "country_code")
    nullable = ("tax_id", "payment_id", "phone", "website", "address", "minister_name")
    fields = _fields(
        _f("o", "company_id", T.INT),
        *(_f("o", n, T.TEXT) for n in text),
        *(_f("o", n, T.TEXT, nullable=True) for n in nullable),
        _f("o", "sectoral_scopes", T.TEXT_ARRAY),
        _f("o", "created_seq", T.BIGINT),
        _f("o", "created_at", T.TIMESTAMP),
        _f("o", "updated_seq", T.BIGINT),
    )
    csv = _cols(
        "company_id",
        "name",
        "role",
        "state",
        "tax_id",
        "payment_id",
        "email",
        "phone",
        "website",
        "address",
        "country_code",
        "sectoral_scopes",
        "minister_name",
        "created_seq",
        "created_at",
        "updated_seq",
    )
    return Collection(
        "organisations",
        f"{s}.organisations o",
        "o.*",
        fields,
        ("company_id",),
        _signed_in(vis.organisations),
        _same,
        csv,
    )


def _users(s: str) -> Collection:
    fields = _fields(
        _f("u", "user_id", T.INT),
        _f("u", "company_id", T.INT),
        _f("u", "email", T.TEXT),
        _f("u", "name", T.TEXT),
        _f("u", "role", T.TEXT),
        _f("u", "phone", T.TEXT, nullable=True),
        _f("u", "pending", T.BOOL),
        _f("u", "created_seq", T.BIGINT),
        _f("u", "created_at", T.TIMESTAMP),
        Field("company_role", "o.role", T.TEXT),
        Field("company_name", "o.name", T.TEXT),
    )
    csv = _cols(
        "user_id",
        "company_id",
        "company_name",
        "company_role",
        "email",
        "name",
        "role",
        "phone",
        "pending",
        "created_at",
    )
    return Collection(
        "users",
        f"{s}.users u JOIN {s}.organisations o ON o.company_id = u.company_id",
        "u.*, o.role AS company_role, o.name AS company_name",
        fields,
        ("user_id",),
        _signed_in(vis.users),
        _same,
        csv,
    )


# ---- credits ----------------------------------------------------------------------------------


def block_row(r: Row) -> Row:
    r["size"] = r["range_end"] - r["range_start"] + 1
    return r


def _blocks(s: str) -> Collection:
    def holding(op: str, value: Any, p: Params) -> str:
        # The one block holding the unit: the last one starting at or before it (blocks
        # never overlap), found through the unique index on range_start.
        u = p.add(value, "bigint")
        return (
            f"(b.range_start = (SELECT max(range_start) FROM {s}.credit_blocks"
            f" WHERE range_start <= {u}) AND b.range_end >= {u})"
        )

    fields = _fields(
        _f("b", "block_id", T.TEXT),
        _f("b", "programme_id", T.TEXT),
        _f("b", "serial_no", T.TEXT),
        _f("b", "range_start", T.BIGINT),
        _f("b", "range_end", T.BIGINT),
        Field("size", "(b.range_end - b.range_start + 1)", T.BIGINT),
        _f("b", "account", T.TEXT),
        _f("b", "company_id", T.INT, nullable=True),
        _f("b", "state", T.TEXT),
        _f("b", "vintage", T.INT),
        _f("b", "parent_block_id", T.TEXT, nullable=True),
        _f("b", "request_id", T.INT, nullable=True),
        _f("b", "created_seq", T.BIGINT),
        _f("b", "updated_seq", T.BIGINT),
        Field(
            "unit",
            "b.range_start",
            T.BIGINT,
            sortable=False,
            ops=frozenset({"eq"}),
            compile=holding,
        ),
    )
    csv = _cols(
        "block_id",
        "programme_id",
        "serial_no",
        "range_start",
        "range_end",
        "size",
        "account",
        "company_id",
        "state",
        "vintage",
        "parent_block_id",
        "request_id",
        "created_seq",
        "updated_seq",
    )
    return Collection(
        "blocks",
        f"{s}.credit_blocks b",
        "b.*",
        fields,
        ("range_start",),
        _signed_in(vis.blocks),
        block_row,
        csv,
    )


def request_row(r: Row) -> Row:
    if r["omge_percentage"] is not None:
        r["omge_percentage"] = str(r["omge_percentage"])
    return r


def _any_party(op: str, value: Any, p: Params) -> str:
    if op == "in":
        ids = p.add(value, "int[]")
        return (
            f"(r.from_company_id = ANY({ids}) OR r.to_company_id = ANY({ids})"
            f" OR r.initiator_company_id = ANY({ids}))"
        )
    one = p.add(value, "int")
    return f"{one} IN (r.from_company_id, r.to_company_id, r.initiator_company_id)"


REQUEST_COLUMNS = (
    "request_id",
    "programme_id",
    "from_company_id",
    "from_account",
    "to_company_id",
    "to_account",
    "amount",
    "initiator_company_id",
    "initiator_user_id",
    "status",
    "retirement_type",
    "country",
    "organisation_name",
    "omge_percentage",
    "omge_units",
    "comment",
    "decision_comment",
    "cancel_reason",
    "created_seq",
    "created_at",
    "updated_seq",
    "decided_at",
)


def _requests(s: str, kind: str) -> Collection:
    nullable_int = ("to_company_id", "initiator_user_id")
    nullable_text = (
        "to_account",
        "retirement_type",
        "country",
        "organisation_name",
        "comment",
        "decision_comment",
        "cancel_reason",
    )
    fields = _fields(
        _f("r", "request_id", T.INT),
        _f("r", "programme_id", T.TEXT),
        _f("r", "from_company_id", T.INT),
        _f("r", "from_account", T.TEXT),
        _f("r", "initiator_company_id", T.INT),
        _f("r", "amount", T.BIGINT),
        _f("r", "status", T.TEXT),
        *(_f("r", n, T.INT, nullable=True) for n in nullable_int),
        *(_f("r", n, T.TEXT, nullable=True) for n in nullable_text),
        _f("r", "omge_percentage", T.NUMERIC, nullable=True),
        _f("r", "omge_units", T.BIGINT, nullable=True),
        _f("r", "created_seq", T.BIGINT),
        _f("r", "created_at", T.TIMESTAMP),
        _f("r", "updated_seq", T.BIGINT),
        _f("r", "decided_at", T.TIMESTAMP, nullable=True),
        Field(
            "company_id",
            "r.from_company_id",
            T.INT,
            sortable=False,
            ops=frozenset({"eq", "in"}),
            compile=_any_party,
        ),
    )
    return Collection(
        f"{kind}s",
        f"{s}.credit_requests r",
        "r.*",
        fields,
        ("request_id",),
        _signed_in(vis.credit_requests),
        request_row,
        _cols("kind", *REQUEST_COLUMNS),
        base_where=f"r.kind = '{kind}'",  # a constant of this module, not a request value
    )


def _certifications(s: str) -> Collection:
    fields = _fields(
        _f("c", "programme_id", T.TEXT),
        _f("c", "certifier_id", T.INT),
        Field("certifier_name", "o.name", T.TEXT),
        _f("c", "state", T.TEXT),
        _f("c", "certified_seq", T.BIGINT),
        _f("c", "certified_at", T.TIMESTAMP),
        _f("c", "revoked_seq", T.BIGINT, nullable=True),
        _f("c", "revoked_at", T.TIMESTAMP, nullable=True),
        _f("c", "revoke_reason", T.TEXT, nullable=True),
        Field("programme_stage", "p.stage", T.TEXT),
        Field("sector", "p.sector", T.TEXT),
    )
    csv = _cols(
        "programme_id",
        "certifier_id",
        "certifier_name",
        "state",
        "certified_seq",
        "certified_at",
        "revoked_seq",
        "revoked_at",
        "revoke_reason",
    )
    return Collection(
        "certifications",
        f"{s}.certifications c JOIN {s}.organisations o ON o.company_id = c.certifier_id"
        f" JOIN {s}.programmes p ON p.programme_id = c.programme_id",
        "c.*, o.name AS certifier_name, p.stage AS programme_stage, p.sector",
        fields,
        ("certified_seq",),  # the seq of the event that certified the pair: unique
        _signed_in(vis.programmes),
        _same,
        csv,
    )


def timeline_row(r: Row) -> Row:
    r["payload"] = orjson.loads(r["payload"])
    return r


def _timeline(s: str) -> Collection:
    fields = _fields(
        _f("t", "seq", T.BIGINT),
        _f("t", "programme_id", T.TEXT),
        _f("t", "type", T.TEXT),
        _f("t", "actor_user_id", T.INT, nullable=True),
        _f("t", "occurred_at", T.TIMESTAMP),
    )
    return Collection(
        "timeline",
        f"{s}.programme_timeline t JOIN {s}.programmes p ON p.programme_id = t.programme_id",
        "t.seq, t.programme_id, t.type, t.actor_user_id, t.occurred_at, t.payload",
        fields,
        ("seq",),
        _signed_in(vis.programmes),
        timeline_row,
        (
            *_cols("seq", "programme_id", "type", "actor_user_id", "occurred_at"),
            ("payload", lambda r: r["payload"]),
        ),
    )


@lru_cache(maxsize=64)
def collections(schema: str) -> dict[str, Collection]:
    """Every collection of one read-model schema, by name."""
    specs = [
        _programmes(schema),
        _public_programmes(schema),
        _organisations(schema),
        _users(schema),
        _blocks(schema),
        _requests(schema, "transfer"),
        _requests(schema, "retirement"),
        _certifications(schema),
        _timeline(schema),
    ]
    return {c.name: c for c in specs}

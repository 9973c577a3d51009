"""Sorting and keyset pagination (no I/O).

The order is the client's sort keys (whitelisted, at most three) followed by the
collection's unique tie-breaker, so every row has a distinct position. A page's cursor is
the position of its last row: the values of every order key, plus a short signature of
the order, as opaque base64url JSON. The next page is "rows after that position", a
predicate on indexed columns instead of an OFFSET, so deep pages cost what the first costs.

NULLs sort as PostgreSQL sorts them by default: as the largest value (last ascending,
first descending); the predicate below follows the same rule.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from query_service.queries.filters import Field, FilterError, Params, coerce, lookup

MAX_SORT_KEYS = 3
MAX_CURSOR = 2048


class CursorError(FilterError):
    """A cursor that this query did not produce (or that was tampered with)."""


@dataclass(frozen=True)
class SortKey:
    field: Field
    desc: bool = False

    def __str__(self) -> str:
        return f"{self.field.name}:{'desc' if self.desc else 'asc'}"


def _sort_key(fields: Mapping[str, Field], name: Any, order: Any, path: str) -> SortKey:
    f = lookup(fields, name, path)
    if not f.sortable or f.type.is_array:
        raise FilterError(f"cannot sort by {f.name}", path)
    if not isinstance(order, str) or order.lower() not in ("asc", "desc"):
        raise FilterError("order is asc or desc", path)
    return SortKey(f, order.lower() == "desc")


def _checked(keys: list[SortKey], path: str) -> list[SortKey]:
    if len(keys) > MAX_SORT_KEYS:
        raise FilterError(f"sort by at most {MAX_SORT_KEYS} fields", path)
    names = [k.field.name for k in keys]
    if len(set(names)) != len(names):
        raise FilterError("a field appears twice in the sort", path)
    return keys


def parse_sort_param(fields: Mapping[str, Field], text: str) -> list[SortKey]:
    """The GET form: ``sort=-credit_est,title`` (a leading ``-`` sorts descending)."""
    keys = []
    for part in text.split(","):
        part = part.strip()
        desc = part.startswith("-")
        keys.append(_sort_key(fields, part.lstrip("-+"), "desc" if desc else "asc", "sort"))
    return _checked(keys, "sort")


def parse_sort_json(fields: Mapping[str, Field], raw: Any) -> list[SortKey]:
    """The JSON form: ``[{"field": "credit_est", "order": "desc"}]``, the original's single
    ``{"key": ..., "order": "DESC"}``, or the GET form's string."""
    if isinstance(raw, str):
        return parse_sort_param(fields, raw)
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise FilterError("sort is a list of {field, order}", "sort")
    keys = []
    for i, item in enumerate(items):
        path = f"sort[{i}]"
        if not isinstance(item, dict) or set(item) - {"field", "key", "order", "nullFirst"}:
            raise FilterError("a sort key is {field, order}", path)
        keys.append(
            _sort_key(fields, item.get("field", item.get("key")), item.get("order", "asc"), path)
        )
    return _checked(keys, "sort")


def full_order(sort: Sequence[SortKey], tiebreak: Sequence[Field]) -> tuple[SortKey, ...]:
    """The sort keys plus the unique tie-breaker (in the direction of the last key)."""
    desc = sort[-1].desc if sort else False
    named = {k.field.name for k in sort}
    return (*sort, *(SortKey(f, desc) for f in tiebreak if f.name not in named))


def order_by(keys: Sequence[SortKey]) -> str:
    return ", ".join(f"{k.field.sql} {'DESC' if k.desc else 'ASC'}" for k in keys)


def signature(keys: Sequence[SortKey]) -> str:
    return hashlib.sha256(",".join(map(str, keys)).encode()).hexdigest()[:12]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(keys: Sequence[SortKey], values: Sequence[Any]) -> str:
    raw = orjson.dumps({"o": signature(keys), "v": [_plain(v) for v in values]})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(keys: Sequence[SortKey], token: str) -> list[Any]:
    """The position a cursor names; refuses cursors of another order or malformed ones."""
    if len(token) > MAX_CURSOR:
        raise CursorError("the cursor is too long", "cursor")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise CursorError("the cursor is not one this API produced", "cursor") from None
    if not isinstance(body, dict) or not isinstance(body.get("v"), list):
        raise CursorError("the cursor is not one this API produced", "cursor")
    if body.get("o") != signature(keys):
        raise CursorError("the cursor belongs to another sort order", "cursor")
    values = body["v"]
    if len(values) != len(keys):
        raise CursorError("the cursor does not match the sort order", "cursor")
    out = []
    for k, v in zip(keys, values, strict=True):
        if v is None and not k.field.nullable:
            raise CursorError("the cursor does not match the sort order", "cursor")
        out.append(None if v is None else coerce(k.field.type, v, "cursor"))
    return out


def _after(k: SortKey, v: Any, p: Params) -> str:
    col = k.field.sql
    if v is None:  # NULL is the largest value
        return f"{col} IS NOT NULL" if k.desc else "FALSE"
    ph = p.add(v, k.field.type.value)
    if k.desc:
        return f"{col} < {ph}"
    return f"({col} > {ph} OR {col} IS NULL)" if k.field.nullable else f"{col} > {ph}"


def _same(k: SortKey, v: Any, p: Params) -> str:
    if v is None:
        return f"{k.field.sql} IS NULL"
    return f"{k.field.sql} = {p.add(v, k.field.type.value)}"


def keyset_predicate(keys: Sequence[SortKey], values: Sequence[Any], p: Params) -> str:
    """Rows strictly after the position ``values`` in the order ``keys``."""
    uniform = len({k.desc for k in keys}) == 1
    if uniform and not any(k.field.nullable for k in keys) and None not in values:
        # One row comparison: a composite index on the keys serves it directly.
        cols = ", ".join(k.field.sql for k in keys)
        phs = ", ".join(p.add(v, k.field.type.value) for k, v in zip(keys, values, strict=True))
        return f"({cols}) {'<' if keys[0].desc else '>'} ({phs})"
    ors = []
    for i, (k, v) in enumerate(zip(keys, values, strict=True)):
        ands = [_same(kj, vj, p) for kj, vj in zip(keys[:i], values[:i], strict=True)]
        ors.append("(" + " AND ".join([*ands, _after(k, v, p)]) + ")")
    return "(" + " OR ".join(ors) + ")"

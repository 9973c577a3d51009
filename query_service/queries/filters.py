"""A small, typed filter language compiled to parameterised SQL (no I/O).

Every collection whitelists its fields (name -> trusted SQL expression and type). A filter is
a tree of AND/OR groups over conditions ``{field, op, value}``; field names are looked up in
the whitelist and values are coerced to the field's type and always sent as bound
parameters (``$n::type``), never spliced into the SQL text. Anything unknown or ill-typed
raises :class:`FilterError` (answered as 422 ``query.invalid_filter``).

Operations: ``eq ne lt le gt ge in`` on scalars; ``contains`` (substring) and ``ilike``
(case-insensitive pattern, ``%`` and ``_`` are wildcards) on text; ``contains`` (all of the
values) and ``in`` (any of the values) on arrays; ``eq``/``ne`` with ``null`` test for NULL.
The original's QueryDto spellings (``key``/``operation``, ``=``, ``!=``, ``>=``, ``@>``, ...)
are accepted too (domain.md section 10.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeAlias

MAX_DEPTH = 3
MAX_CONDITIONS = 50
MAX_IN_VALUES = 100
MAX_TEXT = 200
INT4 = 2**31 - 1
INT8 = 2**63 - 1
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class FilterError(ValueError):
    """The filter (or sort, or cursor) is not acceptable; ``path`` says where."""

    def __init__(self, message: str, path: str = "filter") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class FieldType(StrEnum):
    TEXT = "text"
    INT = "int"
    BIGINT = "bigint"
    NUMERIC = "numeric"
    BOOL = "boolean"
    TIMESTAMP = "timestamptz"
    TEXT_ARRAY = "text[]"
    INT_ARRAY = "int[]"

    @property
    def is_array(self) -> bool:
        return self in (FieldType.TEXT_ARRAY, FieldType.INT_ARRAY)

    @property
    def element(self) -> FieldType:
        return {FieldType.TEXT_ARRAY: FieldType.TEXT, FieldType.INT_ARRAY: FieldType.INT}.get(
            self, self
        )


COMPARISONS = {"eq": "=", "ne": "IS DISTINCT FROM", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
OPS_BY_TYPE: dict[FieldType, frozenset[str]] = {
    FieldType.TEXT: frozenset({*COMPARISONS, "in", "contains", "ilike"}),
    FieldType.INT: frozenset({*COMPARISONS, "in"}),
    FieldType.BIGINT: frozenset({*COMPARISONS, "in"}),
    FieldType.NUMERIC: frozenset({*COMPARISONS, "in"}),
    FieldType.TIMESTAMP: frozenset({*COMPARISONS, "in"}),
    FieldType.BOOL: frozenset({"eq", "ne"}),
    FieldType.TEXT_ARRAY: frozenset({"contains", "in"}),
    FieldType.INT_ARRAY: frozenset({"contains", "in"}),
}
ALL_OPS = frozenset({*COMPARISONS, "in", "contains", "ilike"})
# The original QueryDto's operation spellings.
OP_ALIASES = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
    "@>": "contains",
    "any": "contains",
    "in": "in",
    "ilike": "ilike",
}


class Params:
    """Collects bound values; ``add`` answers the typed placeholder to put in the SQL."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"


# A virtual field compiles its own SQL: (op, coerced value, params) -> predicate.
Compiler: TypeAlias = Callable[[str, Any, Params], str]


@dataclass(frozen=True)
class Field:
    """One whitelisted field: its API name, a trusted SQL expression and its type."""

    name: str
    sql: str
    type: FieldType
    nullable: bool = False
    sortable: bool = True
    filterable: bool = True
    ops: frozenset[str] | None = None  # narrower than the type's, if set
    compile: Compiler | None = field(default=None, compare=False)

    @property
    def allowed_ops(self) -> frozenset[str]:
        return self.ops if self.ops is not None else OPS_BY_TYPE[self.type]


@dataclass(frozen=True)
class Cond:
    field: Field
    op: str
    value: Any


@dataclass(frozen=True)
class Group:
    kind: str  # "and" | "or"
    items: tuple[Node, ...]


Node: TypeAlias = Cond | Group


# ---- values ---------------------------------------------------------------------------------


def _int(value: Any, low: int, high: int, path: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FilterError(f"{value!r} is not an integer", path)
    if not low <= value <= high:
        raise FilterError(f"{value} is out of range", path)
    return value


def _numeric(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise FilterError(f"{value!r} is not a number", path)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FilterError(f"{value!r} is not a number", path) from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 30:
        raise FilterError(f"{value!r} is not a finite number of sensible size", path)
    return number


def _timestamp(value: Any, path: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise FilterError(f"{value!r} is not an ISO 8601 date or time", path)
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text), time())
        except ValueError:
            raise FilterError(f"{value!r} is not an ISO 8601 date or time", path) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FilterError(f"{value!r} is not true or false", path)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise FilterError(f"{value!r} is not a string", path)
    if len(value) > MAX_TEXT or "\x00" in value:
        raise FilterError(f"text values are at most {MAX_TEXT} characters", path)
    return value


def coerce(ftype: FieldType, value: Any, path: str = "value") -> Any:
    """``value`` as a Python value of the field type (the element type for arrays)."""
    t = ftype.element
    if t is FieldType.TEXT:
        return _text(value, path)
    if t is FieldType.INT:
        return _int(value, -INT4 - 1, INT4, path)
    if t is FieldType.BIGINT:
        return _int(value, -INT8 - 1, INT8, path)
    if t is FieldType.NUMERIC:
        return _numeric(value, path)
    if t is FieldType.TIMESTAMP:
        return _timestamp(value, path)
    return _bool(value, path)


def _values(ftype: FieldType, value: Any, path: str) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    if not 1 <= len(items) <= MAX_IN_VALUES:
        raise FilterError(f"give 1 to {MAX_IN_VALUES} values", path)
    return [coerce(ftype, v, f"{path}[{i}]") for i, v in enumerate(items)]


# ---- parsing ----------------------------------------------------------------------------


def lookup(fields: Mapping[str, Field], name: Any, path: str) -> Field:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name not in fields:
        known = ", ".join(sorted(n for n, f in fields.items() if f.filterable))
        raise FilterError(f"unknown field {str(name)[:70]!r}; known fields: {known}", path)
    return fields[name]


def condition(fields: Mapping[str, Field], name: Any, op: Any, value: Any, path: str) -> Cond:
    """One condition, checked against the whitelist and coerced to the field's type."""
    f = lookup(fields, name, f"{path}.field")
    if not f.filterable:
        raise FilterError(f"field {f.name!r} cannot be filtered on", f"{path}.field")
    raw_op = op.lower() if isinstance(op, str) else op
    op_name = OP_ALIASES.get(raw_op, raw_op) if isinstance(raw_op, str) else None
    if op_name not in ALL_OPS:
        raise FilterError(
            f"unknown operation {str(op)[:20]!r}; use one of {', '.join(sorted(ALL_OPS))}",
            f"{path}.op",
        )
    if op_name not in f.allowed_ops:
        allowed = ", ".join(sorted(f.allowed_ops))
        raise FilterError(f"{f.name} ({f.type.value}) allows {allowed}", f"{path}.op")
    vpath = f"{path}.value"
    if value is None:
        if op_name not in ("eq", "ne") or not f.nullable:
            raise FilterError(f"{f.name} cannot be compared with null this way", vpath)
        return Cond(f, op_name, None)
    if op_name == "in" or (op_name == "contains" and f.type.is_array):
        return Cond(f, op_name, _values(f.type, value, vpath))
    return Cond(f, op_name, coerce(f.type, value, vpath))


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def tick(self, path: str) -> None:
        self.n += 1
        if self.n > MAX_CONDITIONS:
            raise FilterError(f"at most {MAX_CONDITIONS} conditions", path)


def _node(fields: Mapping[str, Field], raw: Any, path: str, depth: int, n: _Counter) -> Node:
    if not isinstance(raw, dict):
        raise FilterError("a condition or group must be an object", path)
    groups = [k for k in ("and", "or") if k in raw]
    if groups:
        if len(raw) != 1:
            raise FilterError("a group has exactly one key, 'and' or 'or'", path)
        return _group(fields, groups[0], raw[groups[0]], f"{path}.{groups[0]}", depth + 1, n)
    n.tick(path)
    if "key" in raw or "operation" in raw:  # the original's QueryDto FilterEntry
        extra = set(raw) - {"key", "operation", "value"}
        name, op = raw.get("key"), raw.get("operation", "eq")
    else:
        extra = set(raw) - {"field", "op", "value"}
        name, op = raw.get("field"), raw.get("op", "eq")
    if extra:
        raise FilterError(f"unknown keys {sorted(extra)[:5]}", path)
    if "value" not in raw:
        raise FilterError("a condition needs a value", path)
    return condition(fields, name, op, raw["value"], path)


def _group(
    fields: Mapping[str, Field], kind: str, raw: Any, path: str, depth: int, n: _Counter
) -> Group:
    if depth > MAX_DEPTH:
        raise FilterError(f"groups nest at most {MAX_DEPTH} deep", path)
    if not isinstance(raw, list) or not raw:
        raise FilterError("a group is a non-empty list", path)
    items = tuple(_node(fields, item, f"{path}[{i}]", depth, n) for i, item in enumerate(raw))
    return Group(kind, items)


def parse_filter(fields: Mapping[str, Field], raw: Any, path: str = "filter") -> Node:
    """A JSON filter: ``{"and": [...]}``, ``{"or": [...]}`` or one condition."""
    return _node(fields, raw, path, 0, _Counter())


def parse_query_dto(fields: Mapping[str, Field], filter_and: Any, filter_or: Any) -> Node | None:
    """The original's ``filterAnd`` / ``filterOr`` lists (AND-ed together)."""
    n = _Counter()
    parts: list[Node] = []
    for kind, raw, path in (("and", filter_and, "filterAnd"), ("or", filter_or, "filterOr")):
        if raw is not None and raw != []:
            parts.append(_group(fields, kind, raw, path, 1, n))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Group("and", tuple(parts))


def all_of(nodes: list[Node]) -> Node | None:
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else Group("and", tuple(nodes))


def count_conditions(node: Node | None) -> int:
    if node is None:
        return 0
    if isinstance(node, Cond):
        return 1
    return sum(count_conditions(i) for i in node.items)


# ---- compiling ----------------------------------------------------------------------------


def _compile_cond(c: Cond, p: Params) -> str:
    f = c.field
    if f.compile is not None:
        return f.compile(c.op, c.value, p)
    col, cast = f.sql, f.type.value
    if c.value is None:
        return f"{col} IS NULL" if c.op == "eq" else f"{col} IS NOT NULL"
    if f.type.is_array:
        sym = "@>" if c.op == "contains" else "&&"
        return f"{col} {sym} {p.add(c.value, cast)}"
    if c.op == "in":
        return f"{col} = ANY({p.add(c.value, cast + '[]')})"
    if c.op == "contains":
        return f"strpos({col}, {p.add(c.value, 'text')}) > 0"
    if c.op == "ilike":
        return f"{col} ILIKE {p.add(c.value, 'text')}"
    return f"{col} {COMPARISONS[c.op]} {p.add(c.value, cast)}"


def compile_node(node: Node, p: Params) -> str:
    """SQL for the tree; every value becomes a bound parameter in ``p``."""
    if isinstance(node, Cond):
        return _compile_cond(node, p)
    joiner = " AND " if node.kind == "and" else " OR "
    return "(" + joiner.join(compile_node(i, p) for i in node.items) + ")"

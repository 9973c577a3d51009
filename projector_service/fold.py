"""Applying projection writes in memory: the fast path of the live projector and of replay.

The projections say what changes as parameterised SQL (``projections/*``); that SQL is the
meaning of every write. This module applies the same writes to rows held in memory, so a
batch (or a whole replay) becomes a few COPYs instead of one statement per write:

* The tables (columns, defaults, keys) are read from the DDL in ``schema``: a column or a
  table added there is known here without further work. A table's key is its unique index
  ``<table>_pkey``.
* Plain statements are compiled from their SQL text: ``INSERT INTO t (cols) VALUES (...)``
  and ``UPDATE t SET col = value, ... WHERE <key> = $n`` (or ``<key> = ANY($n::type[])``),
  with parameters, casts and literals (NULL, true, false, numbers) as values, and running
  totals as ``col = col + $n``.
* Statements beyond that (upserts, ``INSERT ... SELECT``, the block history and the clock)
  have a hand-written operation below, next to the rule it mirrors.

A statement with neither raises ``FoldError`` (tests compile every statement the projections
use, and compare both engines on real logs).

A ``Store`` either holds everything (replay builds from nothing: a missing row does not
exist) or what one live batch touches: ``keys_to_load`` lists the rows the batch's writes
read or change, ``load`` fetches them, ``flush`` writes back what changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

import asyncpg

from projector_service.projections import aef, credits, history
from projector_service.projections.writes import Write
from projector_service.schema import COLUMNS, INDEXES, TABLES

Row = list[Any]  # a row that may still change
Record = Sequence[Any]  # a row as written (final rows are tuples)
Key = Any
Args = tuple[Any, ...]


class FoldError(RuntimeError):
    """A write that cannot be applied in memory (unknown statement, duplicate row)."""


# ---- the tables, from the DDL ------------------------------------------------------------

# Tables no statement ever updates: their rows are final once written (replay streams them).
APPEND_ONLY = frozenset(
    {
        "programme_timeline",
        "mitigation_actions",
        "calculator_constants",
        "event_times",
        "aef_actions",
    }
)
# Not a read model (the projector's own bookkeeping).
NOT_MODELS = frozenset({"checkpoints"})


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    defaults: tuple[Any, ...]
    key: tuple[str, ...] = ()
    key_of: Callable[[Row], Key] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.key:
            # itemgetter of one position gives the value, of several a tuple: the key.
            object.__setattr__(self, "key_of", itemgetter(*[self.col(k) for k in self.key]))

    def col(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise FoldError(f"{self.name} has no column {name}") from None

    @property
    def key_types(self) -> tuple[str, ...]:
        return tuple(self.types[self.col(k)] for k in self.key)


_LITERALS: dict[str, Any] = {"null": None, "true": True, "false": False}


def _literal(text: str) -> Any:
    t = text.strip()
    if t.lower() in _LITERALS:
        return _LITERALS[t.lower()]
    if re.fullmatch(r"-?\d+", t):
        return int(t)
    if re.fullmatch(r"-?\d+\.\d+", t):
        return Decimal(t)
    raise FoldError(f"not a literal: {text!r}")


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current))
    return [p.strip() for p in parts]


_CONSTRAINT_WORDS = ("primary", "check", "unique", "constraint", "foreign")
_COLUMN_DEF = re.compile(r"(\w+)\s+(\w+(?:\[\])?)(.*)", re.S)


def _column(defn: str) -> tuple[str, str, Any] | None:
    """(name, type, default) of a column definition, None for a table constraint."""
    if defn.split(None, 1)[0].lower() in _CONSTRAINT_WORDS:
        return None
    m = _COLUMN_DEF.fullmatch(defn.strip())
    if m is None:
        raise FoldError(f"cannot read column definition {defn!r}")
    name, typ, rest = m.groups()
    default = re.search(r"\bDEFAULT\s+(\S+)", rest, re.I)
    value = None
    if default is not None:
        try:
            value = _literal(default.group(1))
        except FoldError:
            value = _SERVER_DEFAULT
    return name, typ.lower(), value


_SERVER_DEFAULT = object()


def _strip_comments(ddl: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in ddl.splitlines())


def parse_tables(tables: str, columns: str, indexes: str) -> dict[str, TableSpec]:
    """Table specs from the DDL: CREATE TABLE, ALTER TABLE ADD COLUMN, ``<t>_pkey``."""
    cols: dict[str, list[tuple[str, str, Any]]] = {}
    for m in re.finditer(
        r"CREATE TABLE IF NOT EXISTS \{s\}\.(\w+)\s*\((.*?)\);", _strip_comments(tables), re.S
    ):
        found = [_column(d) for d in _split_top(m.group(2))]
        cols[m.group(1)] = [d for d in found if d is not None]
    for m in re.finditer(
        r"ALTER TABLE \{s\}\.(\w+) ADD COLUMN IF NOT EXISTS ([^;]*);", _strip_comments(columns)
    ):
        d = _column(m.group(2))
        if d is not None and all(c[0] != d[0] for c in cols[m.group(1)]):
            cols[m.group(1)].append(d)
    keys = {
        m.group(1): tuple(c.strip() for c in m.group(3).split(","))
        for m in re.finditer(
            r"CREATE UNIQUE INDEX IF NOT EXISTS (\w+)_pkey\s+ON \{s\}\.(\w+) \(([^)]*)\)",
            _strip_comments(indexes),
        )
        if m.group(1) == m.group(2)
    }
    specs = {}
    for name, defs in cols.items():
        if name in NOT_MODELS:
            continue
        for c in defs:
            if c[2] is _SERVER_DEFAULT:
                raise FoldError(f"{name}.{c[0]} has a default computed by the server")
        specs[name] = TableSpec(
            name,
            tuple(c[0] for c in defs),
            tuple(c[1] for c in defs),
            tuple(c[2] for c in defs),
            keys.get(name, ()),
        )
    return specs


SPECS = parse_tables(TABLES, COLUMNS, INDEXES)
HISTORY = SPECS["credit_block_history"]
KEYED = tuple(s for s in SPECS.values() if s.name not in APPEND_ONLY and s.name != HISTORY.name)
for _keyed in KEYED:
    if not _keyed.key:
        raise FoldError(f"table {_keyed.name} needs a unique index {_keyed.name}_pkey")


# ---- rows in memory --------------------------------------------------------------------------


@dataclass
class KeyedTable:
    spec: TableSpec
    rows: dict[Key, Row] = field(default_factory=dict)
    loaded: set[Key] = field(default_factory=set)  # rows that exist in the database
    dirty: set[Key] = field(default_factory=set)

    def insert(self, row: Row) -> None:
        key = self.spec.key_of(row)
        if key in self.rows:
            raise FoldError(f"duplicate key {key!r} in {self.spec.name}")
        self.rows[key] = row
        self.dirty.add(key)

    def update(self, key: Key) -> Row | None:
        """The row to change in place (marked changed), or None if there is none."""
        row = self.rows.get(key)
        if row is not None:
            self.dirty.add(key)
        return row


H_FROM = HISTORY.col("valid_from_seq")
H_TO = HISTORY.col("valid_to_seq")


@dataclass
class History:
    """Open versions by block id; closed versions are final and wait to be written."""

    open: dict[str, Row] = field(default_factory=dict)
    open_loaded: set[str] = field(default_factory=set)
    closed: list[Row] = field(default_factory=list)  # new rows, already closed
    closed_loaded: list[tuple[str, int, int]] = field(default_factory=list)

    def close(self, block_id: str, seq: int) -> None:
        row = self.open.pop(block_id, None)
        if row is None:
            return
        if block_id in self.open_loaded:
            self.open_loaded.discard(block_id)
            self.closed_loaded.append((block_id, row[H_FROM], seq))
        else:
            row[H_TO] = seq
            self.closed.append(row)

    def add(self, block_id: str, row: Row) -> None:
        if block_id in self.open:
            raise FoldError(f"block {block_id} already has an open version")
        self.open[block_id] = row


class Store:
    """Rows in memory: every table of the read models, or the part one batch touches."""

    def __init__(self) -> None:
        self.keyed: dict[str, KeyedTable] = {s.name: KeyedTable(s) for s in KEYED}
        self.appended: dict[str, list[Record]] = {name: [] for name in APPEND_ONLY}
        self.history = History()
        self.clock: datetime | None = None  # the latest event time (event_times)
        self.blocks = self.keyed["credit_blocks"]
        self.programmes = self.keyed["programmes"]
        self.requests = self.keyed["credit_requests"]

    def apply(self, writes: Iterable[Write]) -> None:
        fns = _APPLY
        for sql, args in writes:
            fn = fns.get(sql)
            if fn is None:
                fn = op_for(sql).apply
            fn(self, args)

    def take_final(self) -> dict[str, list[Record]]:
        """Rows no later write can change (appended rows, closed versions), handed over to
        be written and forgotten here."""
        out: dict[str, list[Record]] = {name: rows for name, rows in self.appended.items() if rows}
        for name in out:
            self.appended[name] = []
        if self.history.closed:
            out[HISTORY.name] = list(self.history.closed)
            self.history.closed = []
        return out

    def take_all(self) -> dict[str, list[Record]]:
        """Every row a fresh build must write (replay: nothing was loaded)."""
        out = self.take_final()
        for name, table in self.keyed.items():
            if table.rows:
                out[name] = list(table.rows.values())
        opened = list(self.history.open.values())
        if opened:
            out.setdefault(HISTORY.name, []).extend(opened)
        return out


# ---- operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    apply: Callable[[Store, Args], None]
    # (table, key) of every row the write reads or changes; ("", None) for the event clock.
    reads: Callable[[Args], Iterable[tuple[str, Key]]] = lambda a: _NO_READS


_NO_READS: tuple[tuple[str, Key], ...] = ()
_PARAM = re.compile(r"\$(\d+)(?:::[\w\[\]]+)?")


def _value(text: str) -> tuple[int | None, Any]:
    """(argument index, None) for ``$n[::type]``, else (None, literal)."""
    m = _PARAM.fullmatch(text.strip())
    if m is not None:
        return int(m.group(1)) - 1, None
    return None, _literal(text)


def _compile_insert(spec: TableSpec, columns: list[str], values: list[str]) -> Op:
    if len(columns) != len(values):
        raise FoldError(f"INSERT into {spec.name}: {len(columns)} columns, {len(values)} values")
    # Every column of the row from (arguments + constants): one itemgetter call per insert.
    sources: dict[str, tuple[int | None, Any]] = dict(
        zip(columns, map(_value, values), strict=True)
    )
    consts: list[Any] = []
    picks: list[int] = []
    width = max((i for i, _ in sources.values() if i is not None), default=-1) + 1
    for col, default in zip(spec.columns, spec.defaults, strict=True):
        arg, literal = sources.get(col, (None, default))
        if arg is not None:
            picks.append(arg)
        else:
            picks.append(width + len(consts))
            consts.append(literal)
    for col in columns:
        spec.col(col)  # every named column exists
    extra = tuple(consts)
    get = itemgetter(*picks)
    name = spec.name

    if name in APPEND_ONLY:

        def append(s: Store, a: Args) -> None:
            # Final rows stay tuples (cheaper to build, and to COPY).
            s.appended[name].append(get(a[:width] + extra))

        return Op(append)

    def insert(s: Store, a: Args) -> None:
        s.keyed[name].insert(list(get(a[:width] + extra)))

    return Op(insert)


def _compile_update(spec: TableSpec, sets: list[str], where: str) -> Op:
    if spec.name in APPEND_ONLY or spec.name == HISTORY.name:
        raise FoldError(f"{spec.name} is never updated in place (see fold.APPEND_ONLY)")
    from_args: list[tuple[int, int]] = []
    literals: list[tuple[int, Any]] = []
    adds: list[tuple[int, int]] = []  # col = col + $n
    for item in sets:
        col, _, value = item.partition("=")
        col = col.strip()
        added = _ADD.fullmatch(value.strip())
        if added is not None:
            if added.group(1) != col:
                raise FoldError(f"UPDATE {spec.name}: {item.strip()!r} adds to another column")
            adds.append((spec.col(col), int(added.group(2)) - 1))
            continue
        arg, literal = _value(value)
        if arg is None:
            literals.append((spec.col(col), literal))
        else:
            from_args.append((spec.col(col), arg))
    name = spec.name
    many = re.fullmatch(r"(\w+) = ANY\(\$(\d+)::\w+\[\]\)", where.strip())
    if many is not None:
        if (many.group(1),) != spec.key:
            raise FoldError(f"UPDATE {name} must select by its key {spec.key}")
        keys_at = int(many.group(2)) - 1

        def update_many(s: Store, a: Args) -> None:
            table = s.keyed[name]
            for key in a[keys_at]:
                row = table.update(key)
                if row is not None:
                    for c, i in from_args:
                        row[c] = a[i]
                    for c, v in literals:
                        row[c] = v
                    for c, i in adds:
                        row[c] += a[i]

        return Op(update_many, lambda a: ((name, k) for k in a[keys_at]))
    conds = {}
    for cond in re.split(r"\s+AND\s+", where.strip()):
        m = re.fullmatch(r"(\w+) = \$(\d+)(?:::\w+)?", cond.strip())
        if m is None:
            raise FoldError(f"UPDATE {name}: cannot read condition {cond!r}")
        conds[m.group(1)] = int(m.group(2)) - 1
    if set(conds) != set(spec.key):
        raise FoldError(f"UPDATE {name} must select by its key {spec.key}")
    at = [conds[k] for k in spec.key]
    key_of: Callable[[Args], Key] = itemgetter(*at)

    def update(s: Store, a: Args) -> None:
        table = s.keyed[name]
        key = key_of(a)
        row = table.rows.get(key)
        if row is not None:
            table.dirty.add(key)
            for c, i in from_args:
                row[c] = a[i]
            for c, v in literals:
                row[c] = v
            for c, i in adds:
                row[c] += a[i]

    return Op(update, lambda a: ((name, key_of(a)),))


_ADD = re.compile(r"(\w+) \+ \$(\d+)(?:::\w+)?")
_INSERT = re.compile(r"INSERT INTO \{s\}\.(\w+) \(([^)]*)\) VALUES \((.*)\)")
_UPDATE = re.compile(r"UPDATE \{s\}\.(\w+) SET (.*) WHERE (.*)")


def compile_statement(sql: str) -> Op:
    """The in-memory operation of a plain INSERT or UPDATE statement."""
    text = " ".join(sql.split())
    m = _INSERT.fullmatch(text)
    if m is not None:
        spec = _spec(m.group(1))
        return _compile_insert(
            spec, [c.strip() for c in m.group(2).split(",")], _split_top(m.group(3))
        )
    m = _UPDATE.fullmatch(text)
    if m is not None:
        return _compile_update(_spec(m.group(1)), _split_top(m.group(2)), m.group(3))
    raise FoldError(f"no in-memory operation for: {text[:100]}")


def _spec(name: str) -> TableSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise FoldError(f"no table {name} in the schema") from None


def op_for(sql: str) -> Op:
    op = _OPS.get(sql)
    if op is None:
        op = compile_statement(sql)
        _OPS[sql] = op
        _APPLY[sql] = op.apply
    return op


# ---- hand-written operations (statements beyond INSERT VALUES / UPDATE BY KEY) --------------

_B = {c: i for i, c in enumerate(SPECS["credit_blocks"].columns)}
_P = {c: i for i, c in enumerate(SPECS["programmes"].columns)}
_Q = {c: i for i, c in enumerate(SPECS["credit_requests"].columns)}
_C = {c: i for i, c in enumerate(SPECS["certifications"].columns)}
_S = {c: i for i, c in enumerate(SPECS["registry_settings"].columns)}


def _new_row(spec: TableSpec, **values: Any) -> Row:
    row = list(spec.defaults)
    for col, value in values.items():
        row[spec.col(col)] = value
    return row


def _certify(s: Store, a: Args) -> None:
    """CERTIFY: insert, or on conflict certify again and clear the revocation."""
    table = s.keyed["certifications"]
    pid, certifier, state, seq, at = a
    row = table.update((pid, certifier))
    if row is None:
        table.insert(
            _new_row(
                table.spec,
                programme_id=pid,
                certifier_id=certifier,
                state=state,
                certified_seq=seq,
                certified_at=at,
            )
        )
        return
    row[_C["state"]] = state
    row[_C["certified_seq"]] = seq
    row[_C["certified_at"]] = at
    row[_C["revoked_seq"]] = None
    row[_C["revoked_at"]] = None
    row[_C["revoke_reason"]] = None


def _settings(frozen: bool | None, omge: Decimal | None, seq: int, s: Store) -> None:
    """SET_FREEZE / SET_OMGE: the one settings row, inserted with defaults then updated."""
    table = s.keyed["registry_settings"]
    row = table.update(1)
    if row is None:
        table.insert(
            _new_row(
                table.spec,
                id=1,
                transfers_frozen=bool(frozen),
                omge_percentage=Decimal(0) if omge is None else omge,
                updated_seq=seq,
            )
        )
        return
    if frozen is not None:
        row[_S["transfers_frozen"]] = frozen
    if omge is not None:
        row[_S["omge_percentage"]] = omge
    row[_S["updated_seq"]] = seq


def _close_versions(s: Store, a: Args) -> None:
    for bid in a[0]:
        s.history.close(bid, a[1])


_HISTORY_FROM_BLOCK = itemgetter(*[_B[c] for c in HISTORY.columns[3:]])
if tuple(c.strip() for c in history.HISTORY_COLUMNS.split(",")) != HISTORY.columns[3:]:
    raise FoldError("credit_block_history columns differ from history.HISTORY_COLUMNS")


def _open_versions(s: Store, a: Args) -> None:
    seq = a[1]
    rows = s.blocks.rows
    for bid in a[0]:
        block = rows.get(bid)
        if block is not None:
            s.history.add(bid, [bid, seq, None, *_HISTORY_FROM_BLOCK(block)])


def _event_time(s: Store, a: Args) -> None:
    if s.clock is None or a[1] > s.clock:
        s.appended["event_times"].append((a[0], a[1]))
        s.clock = a[1]


_PROGRAMME_FACTS = itemgetter(
    *[_P[c] for c in ("sector", "sectoral_scope", "authorisation_id", "authorised_at")]
)
if SPECS["aef_actions"].columns != tuple(c.strip() for c in aef.AEF_COLUMNS.split(",")):
    raise FoldError("aef_actions columns differ from aef.AEF_COLUMNS")


def _aef_row(a: Args, programme: Row, action: str, first: bool, rtype: Any, party: Any) -> Record:
    first_unit, last_unit = a[4], a[5]
    return (
        a[0],
        a[1],
        a[2],
        action,
        first,
        first_unit,
        last_unit,
        a[6],
        a[7],
        last_unit - first_unit + 1,
        a[8],
        *_PROGRAMME_FACTS(programme),
        a[9],
        a[10],
        a[11],
        a[12],
        a[13],
        rtype,
        party,
    )


def _aef_issue(s: Store, a: Args) -> None:
    programme = s.programmes.rows.get(a[2])
    if programme is not None:
        s.appended["aef_actions"].append(_aef_row(a, programme, a[3], False, None, None))


def _aef_transfer(s: Store, a: Args) -> None:
    programme = s.programmes.rows.get(a[2])
    if programme is None:
        return
    source = s.blocks.rows.get(a[14])
    first = (
        source is not None
        and source[_B["parent_block_id"]] is None
        and source[_B["request_id"]] is None
    )
    s.appended["aef_actions"].append(_aef_row(a, programme, a[3], first, None, None))


def _aef_retire(s: Store, a: Args) -> None:
    programme = s.programmes.rows.get(a[2])
    request = s.requests.rows.get(a[13])
    if programme is None or request is None:
        return
    rtype = request[_Q["retirement_type"]]
    across = rtype == a[14] and a[15]
    action = a[16] if across else a[3]
    party = request[_Q["country"]] if across else None
    s.appended["aef_actions"].append(_aef_row(a, programme, action, False, rtype, party))


_APPLY: dict[str, Callable[[Store, Args], None]] = {}
_OPS: dict[str, Op] = {
    credits.CERTIFY: Op(_certify, lambda a: (("certifications", (a[0], a[1])),)),
    credits.SET_FREEZE: Op(
        lambda s, a: _settings(a[0], None, a[1], s), lambda a: (("registry_settings", 1),)
    ),
    credits.SET_OMGE: Op(
        lambda s, a: _settings(None, a[0], a[1], s), lambda a: (("registry_settings", 1),)
    ),
    history.CLOSE_VERSIONS: Op(_close_versions, lambda a: ((HISTORY.name, k) for k in a[0])),
    history.OPEN_VERSIONS: Op(_open_versions, lambda a: (("credit_blocks", k) for k in a[0])),
    history.EVENT_TIME: Op(_event_time, lambda a: (("", None),)),
    aef.AEF_ISSUE: Op(_aef_issue, lambda a: (("programmes", a[2]),)),
    aef.AEF_TRANSFER: Op(_aef_transfer, lambda a: (("programmes", a[2]), ("credit_blocks", a[14]))),
    aef.AEF_RETIRE: Op(_aef_retire, lambda a: (("programmes", a[2]), ("credit_requests", a[13]))),
}


_APPLY.update({sql: op.apply for sql, op in _OPS.items()})


# ---- the database side (live batches and replay) -------------------------------------------


def keys_to_load(writes: Iterable[Write]) -> dict[str, set[Key]]:
    wanted: dict[str, set[Key]] = {}
    readers = _READS
    for sql, args in writes:
        reads = readers.get(sql)
        if reads is None:
            reads = readers[sql] = op_for(sql).reads
        for table, key in reads(args):
            keys = wanted.get(table)
            if keys is None:
                keys = wanted[table] = set()
            keys.add(key)
    return wanted


_READS: dict[str, Callable[[Args], Iterable[tuple[str, Key]]]] = {}


def _select(spec: TableSpec, schema: str) -> str:
    return f"SELECT {', '.join(spec.columns)} FROM {schema}.{spec.name}"


def _by_keys(spec: TableSpec, keys: Sequence[Key]) -> tuple[str, list[Any]]:
    """A WHERE condition selecting rows by key, and its arguments."""
    if len(spec.key) == 1:
        return f"{spec.key[0]} = ANY($1::{spec.key_types[0]}[])", [list(keys)]
    cols = ", ".join(spec.key)
    arrays = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(spec.key_types))
    return f"({cols}) IN (SELECT * FROM unnest({arrays}))", [
        list(k) for k in zip(*keys, strict=True)
    ]


async def load(
    conn: asyncpg.Connection, schema: str, store: Store, wanted: dict[str, set[Key]]
) -> None:
    """Fetch the rows a batch will read or change (inside the batch's transaction)."""
    for table, keys in wanted.items():
        if table == "":
            store.clock = await conn.fetchval(f"SELECT max(occurred_at) FROM {schema}.event_times")
        elif table == HISTORY.name:
            rows = await conn.fetch(
                _select(HISTORY, schema)
                + " WHERE block_id = ANY($1::text[]) AND valid_to_seq IS NULL",
                list(keys),
            )
            for r in rows:
                store.history.open[r[0]] = list(r)
                store.history.open_loaded.add(r[0])
        else:
            kt = store.keyed[table]
            cond, args = _by_keys(kt.spec, list(keys))
            for r in await conn.fetch(_select(kt.spec, schema) + " WHERE " + cond, *args):
                row = list(r)
                key = kt.spec.key_of(row)
                kt.rows[key] = row
                kt.loaded.add(key)


async def copy_rows(
    conn: asyncpg.Connection, schema: str, table: str, rows: Sequence[Record]
) -> None:
    await conn.copy_records_to_table(
        table, schema_name=schema, columns=list(SPECS[table].columns), records=rows
    )


async def flush(conn: asyncpg.Connection, schema: str, store: Store) -> None:
    """Write back what a live batch changed: new rows by COPY; changed rows are deleted and
    written again; closed versions get their ``valid_to_seq``."""
    for table, kt in store.keyed.items():
        if not kt.dirty:
            continue
        replaced = [k for k in kt.dirty if k in kt.loaded]
        if replaced:
            cond, args = _by_keys(kt.spec, replaced)
            await conn.execute(f"DELETE FROM {schema}.{table} WHERE {cond}", *args)
        await copy_rows(conn, schema, table, [kt.rows[k] for k in kt.dirty])
    h = store.history
    if h.closed_loaded:
        await conn.execute(
            f"UPDATE {schema}.{HISTORY.name} h SET valid_to_seq = u.t"
            " FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(b, f, t)"
            " WHERE h.block_id = u.b AND h.valid_from_seq = u.f",
            *[list(c) for c in zip(*h.closed_loaded, strict=True)],
        )
    new_versions = h.closed + [row for bid, row in h.open.items() if bid not in h.open_loaded]
    if new_versions:
        await copy_rows(conn, schema, HISTORY.name, new_versions)
    for table, rows in store.appended.items():
        if rows:
            await copy_rows(conn, schema, table, rows)

"""The in-memory engine: tables read from the DDL, every statement the projections use has an
operation, and the operations do what their SQL says (the integration tests compare whole
logs against the SQL itself)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from projector_service import fold
from projector_service.fold import FoldError, Store, compile_statement, keys_to_load, op_for
from projector_service.projections import aef, credits, history, identity, programmes, registry
from projector_service.projections.catalogue import project
from projector_service.projections.view import view_of
from projector_service.projections.writes import Write
from schemas.codec import decode_event
from tests.unit.projector_service.credit_history import credit_history

T1 = datetime(2024, 6, 1, tzinfo=UTC)
T2 = datetime(2024, 6, 2, tzinfo=UTC)


def statements() -> list[str]:
    """Every SQL statement constant of the projection modules."""
    found = []
    for module in (registry, programmes, credits, history, aef, identity):
        for name, value in inspect.getmembers(module):
            if name.isupper() and isinstance(value, str) and value.startswith(("INSERT", "UPDATE")):
                found.append(value)
    return found


def test_every_projection_statement_has_an_in_memory_operation() -> None:
    found = statements()
    assert len(found) > 25
    for sql in found:
        assert op_for(sql) is not None


def test_tables_come_from_the_ddl() -> None:
    p = fold.SPECS["programmes"]
    assert p.key == ("programme_id",)
    assert {"range_start", "credit_issued", "authorised_seq", "authorisation_id"} <= set(p.columns)
    assert p.defaults[p.col("credit_issued")] == 0
    assert fold.SPECS["certifications"].key == ("programme_id", "certifier_id")
    assert fold.SPECS["users"].defaults[fold.SPECS["users"].col("deleted")] is False
    assert fold.HISTORY.key == ("block_id", "valid_from_seq")
    assert "checkpoints" not in fold.SPECS
    assert set(fold.APPEND_ONLY) <= set(fold.SPECS)


def test_plain_statements_compile_and_others_are_refused() -> None:
    op = compile_statement("UPDATE {s}.users SET name = $2, pending = false WHERE user_id = $1")
    s = Store()
    s.apply([Write(registry.INSERT_USER, (7, 1, "a@b.c", "A", "Admin", None, True, 3, T1))])
    op.apply(s, (7, "Bea"))
    row = s.keyed["users"].rows[7]
    users = fold.SPECS["users"]
    assert (row[users.col("name")], row[users.col("pending")]) == ("Bea", False)
    assert list(op.reads((7, "Bea"))) == [("users", 7)]
    with pytest.raises(FoldError, match="must select by its key"):
        compile_statement("UPDATE {s}.users SET name = $2 WHERE email = $1")
    with pytest.raises(FoldError, match="never updated in place"):
        compile_statement("UPDATE {s}.event_times SET occurred_at = $2 WHERE seq = $1")
    with pytest.raises(FoldError, match="no in-memory operation"):
        compile_statement("DELETE FROM {s}.users WHERE user_id = $1")
    with pytest.raises(FoldError, match="no table"):
        compile_statement("INSERT INTO {s}.nowhere (a) VALUES ($1)")


def test_running_totals_add_to_the_row_and_only_to_their_own_column() -> None:
    s = Store()
    s.apply([Write(credits.SET_FREEZE, (True, 4))])  # any keyed row will do: use users
    s.apply([Write(registry.INSERT_USER, (7, 1, "a@b.c", "A", "Admin", None, True, 3, T1))])
    add = compile_statement(
        "UPDATE {s}.users SET created_seq = created_seq + $2, name = $3 WHERE user_id = $1"
    )
    add.apply(s, (7, 10, "Bea"))
    add.apply(s, (7, 5, "Cy"))
    users = fold.SPECS["users"]
    row = s.keyed["users"].rows[7]
    assert (row[users.col("created_seq")], row[users.col("name")]) == (18, "Cy")
    with pytest.raises(FoldError, match="adds to another column"):
        compile_statement("UPDATE {s}.users SET created_seq = updated_seq + $2 WHERE user_id = $1")
    p = fold.SPECS["programmes"]
    assert p.defaults[p.col("credit_transferred")] == p.defaults[p.col("credit_retired")] == 0


def test_a_row_inserted_twice_is_refused() -> None:
    s = Store()
    w = Write(registry.INSERT_USER, (7, 1, "a@b.c", "A", "Admin", None, False, 3, T1))
    s.apply([w])
    with pytest.raises(FoldError, match="duplicate key 7 in users"):
        s.apply([w])


def test_certify_is_an_upsert_that_clears_a_revocation() -> None:
    s = Store()
    s.apply([Write(credits.CERTIFY, ("001", 5, "certified", 10, T1))])
    s.apply([Write(credits.REVOKE, ("001", 5, "revoked", 11, T2, "expired"))])
    s.apply([Write(credits.CERTIFY, ("001", 5, "certified", 12, T2))])
    assert s.keyed["certifications"].rows[("001", 5)] == [
        "001",
        5,
        "certified",
        12,
        T2,
        None,
        None,
        None,
    ]


def test_settings_rows_start_from_the_statement_defaults() -> None:
    s = Store()
    s.apply([Write(credits.SET_FREEZE, (True, 4))])
    assert s.keyed["registry_settings"].rows[1] == [1, True, Decimal(0), 4]
    s.apply([Write(credits.SET_OMGE, (Decimal("2.5"), 5))])
    assert s.keyed["registry_settings"].rows[1] == [1, True, Decimal("2.5"), 5]


def test_block_versions_close_and_open_and_the_clock_only_moves_forward() -> None:
    s = Store()
    block = ("001-1", "001", "S-1-10", 1, 10, "company:2", 2, "active", 2024, None, None, 3)
    s.apply([Write(credits.INSERT_BLOCK, block), Write(history.OPEN_VERSIONS, (["001-1"], 3))])
    s.apply(
        [
            Write(credits.SHRINK_BLOCK, ("001-1", 6, "S-1-6", 8)),
            Write(history.CLOSE_VERSIONS, (["001-1"], 8)),
            Write(history.OPEN_VERSIONS, (["001-1"], 8)),
        ]
    )
    assert [r[:3] for r in s.history.closed] == [["001-1", 3, 8]]
    assert s.history.open["001-1"][:7] == ["001-1", 8, None, "001", "S-1-6", 1, 6]
    s.apply([Write(history.EVENT_TIME, (1, T1)), Write(history.EVENT_TIME, (2, T1))])
    s.apply([Write(history.EVENT_TIME, (3, T2)), Write(history.EVENT_TIME, (4, T1))])
    assert s.appended["event_times"] == [(1, T1), (3, T2)]


def test_a_batch_loads_exactly_the_rows_its_writes_read_or_change() -> None:
    h = credit_history()
    by_type = {}
    for raw in h.raws:
        env = view_of(decode_event(raw))
        by_type.setdefault(env.type, (env, project(env)))
    env, writes = by_type["CreditsTransferred"]
    wanted = keys_to_load(writes)
    source = env.payload["moves"][0]["source_block_id"]
    assert source in wanted["credit_blocks"]
    assert wanted["credit_block_history"] == set(wanted["credit_blocks"])
    assert wanted["credit_requests"] == {env.payload["request_id"]}
    assert wanted["programmes"] == {env.payload["programme_id"]}
    assert "" in wanted  # the clock
    _, issued = by_type["CreditsIssued"]
    assert "credit_blocks" in keys_to_load(issued)  # the new versions read the new blocks

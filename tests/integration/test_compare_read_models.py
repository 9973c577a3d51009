"""`registry compare`: the live read models are rebuilt from the log into a shadow schema and
compared row for row; equal after honest projection, and a hand-made change to the live
models is found, named and shown."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from libs.eventlog.pg_log import PgEventSource
from projector_service.compare import compare_with_log
from projector_service.schema import live_schema
from tests.integration.harness import run_cli
from tests.integration.test_projector_and_replay import fill_embedded_log, project_all

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_compare_finds_what_was_changed_by_hand(fresh_db: str, unique_registry: str) -> None:
    reg, schema = unique_registry, live_schema(unique_registry)
    last = await fill_embedded_log(fresh_db, reg, n=12)
    await project_all(PgEventSource(fresh_db, reg), fresh_db, reg, schema)

    source = PgEventSource(fresh_db, reg)
    try:
        result = await compare_with_log(fresh_db, source, schema)
    finally:
        await source.close()
    assert result.seq == last
    assert result.equal, [t for t in result.tables if not t.equal]
    assert {t.table: t.rows for t in result.tables}["programmes"] == 12

    conn = await asyncpg.connect(fresh_db)
    try:
        await conn.execute(
            f"UPDATE {schema}.programmes SET title = 'Edited by hand' WHERE programme_id = '003'"
        )
        await conn.execute(f"DELETE FROM {schema}.programme_timeline WHERE seq = $1", last)
        env = {"DATABASE_URL": fresh_db, "REGISTRY_REGISTRY": reg}
        found = await asyncio.to_thread(run_cli, ["compare"], env)
        assert found.returncode == 1, found.stdout + found.stderr
        out = found.stdout
        assert "programmes: DIFFERS: 1 rows only in the live models, 1 only in the rebuilt" in out
        assert "Edited by hand" in out
        assert "programme_timeline: DIFFERS: 0 rows only in the live models, 1 only in" in out
        assert "users: equal" in out
        # The shadow schema is gone; the live one is as it was left.
        shadows = await conn.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", f"{schema}__%"
        )
        assert shadows == 0
        title = await conn.fetchval(
            f"SELECT title FROM {schema}.programmes WHERE programme_id = '003'"
        )
        assert title == "Edited by hand"
    finally:
        await conn.close()

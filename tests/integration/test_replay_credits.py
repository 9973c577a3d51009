"""Replay on credits-heavy logs: the fast path (fold in memory, COPY, indexes after) builds
tables byte-equal to the live projector's (memory engine, small batches) and to the SQL
reference engine (every write run as its statement), including the block history, the
clock and the AEF actions; and it refuses a log that does not chain."""

from __future__ import annotations

import asyncpg
import pytest

from libs.eventlog.pg_log import PgEventSource, ensure_log_tables
from projector_service.decode import ProjectionStopped
from projector_service.fold import SPECS
from projector_service.replay import rebuild
from projector_service.runner import Engine, Projector
from projector_service.schema import MODEL_TABLES, create_schema
from projector_service.tools.make_big_log import Generator
from tests.integration.harness import table_digests
from tests.unit.projector_service.credit_history import credit_history

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def write_log(dsn: str, registry: str, raws: list[bytes]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await ensure_log_tables(conn)
        await conn.copy_records_to_table(
            "events",
            schema_name="log",
            columns=["registry", "seq", "body"],
            records=[(registry, i + 1, raw) for i, raw in enumerate(raws)],
        )
    finally:
        await conn.close()


async def project_live(
    dsn: str, registry: str, schema: str, batch_size: int, engine: Engine = "memory"
) -> None:
    projector = Projector(
        PgEventSource(dsn, registry), dsn, registry, schema, batch_size=batch_size, engine=engine
    )
    await projector.start()
    try:
        while await projector.step():
            pass
    finally:
        await projector.close()


async def replayed(dsn: str, registry: str, live: str, **kw: object) -> str:
    source = PgEventSource(dsn, registry)
    try:
        schema, _, _ = await rebuild(dsn, source, live, switch=False, **kw)  # type: ignore[arg-type]
    finally:
        await source.close()
    return schema


async def counts(dsn: str, schema: str, *tables: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {schema}.{t}")) for t in tables}
    finally:
        await conn.close()


async def test_fast_replay_equals_live_and_the_sql_reference_on_a_credits_history(
    fresh_db: str,
) -> None:
    h = credit_history()
    registry = h.w.reg.state.registry
    await write_log(fresh_db, registry, h.raws)
    await project_live(fresh_db, registry, "rm_live", batch_size=7)
    await project_live(fresh_db, registry, "rm_sql", batch_size=5, engine="sql")
    fast = await replayed(fresh_db, registry, "rm_fast", parallel=False)
    checked = await replayed(fresh_db, registry, "rm_checked", batch_size=9, verify_hashes=True)
    # Two processes: the second folds a share of the programmes (both here: two programmes).
    split = await replayed(fresh_db, registry, "rm_split", batch_size=13, parallel=True)

    live = await table_digests(fresh_db, "rm_live")
    assert await table_digests(fresh_db, "rm_sql") == live
    assert await table_digests(fresh_db, fast) == live
    assert await table_digests(fresh_db, checked) == live
    assert await table_digests(fresh_db, split) == live
    # ...and the history, the clock and the AEF actions are really there.
    n = await counts(
        fresh_db, fast, "credit_block_history", "event_times", "aef_actions", "credit_blocks"
    )
    assert n["credit_block_history"] > n["credit_blocks"] > 5
    assert n["aef_actions"] >= 12
    # One clock entry per command that ran at a new time (the setup shares one time).
    assert n["event_times"] == len({at for _, at in h.marks})


async def test_fast_replay_equals_live_and_sql_on_a_generated_log(fresh_db: str) -> None:
    gen = Generator("gen", seed=7, developers=6)
    gen.run(6000, per_programme=40)
    await write_log(fresh_db, "gen", [raw for _, _, raw in gen.rows])
    await project_live(fresh_db, "gen", "rm_gen", batch_size=997)
    await project_live(fresh_db, "gen", "rm_gen_sql", batch_size=1000, engine="sql")
    fast = await replayed(fresh_db, "gen", "rm_gen", batch_size=1500, parallel=False)
    split = await replayed(fresh_db, "gen", "rm_gen_split", batch_size=1000, parallel=True)
    live = await table_digests(fresh_db, "rm_gen")
    assert live["credit_blocks"][0] > 500
    assert live["aef_actions"][0] > 1000
    assert await table_digests(fresh_db, "rm_gen_sql") == live
    assert await table_digests(fresh_db, fast) == live
    assert await table_digests(fresh_db, split) == live
    # The programmes' running totals equal the requests they sum, programme by programme.
    conn = await asyncpg.connect(fresh_db)
    try:
        rows = await conn.fetch(
            "SELECT p.programme_id, p.credit_transferred, p.credit_retired,"
            " coalesce(sum(r.amount) FILTER (WHERE r.kind = 'transfer'"
            "   AND r.status = 'Approved'), 0) AS transferred,"
            " coalesce(sum(r.amount) FILTER (WHERE r.kind = 'retirement'"
            "   AND r.status = 'Recognised'), 0) AS retired"
            " FROM rm_gen.programmes p LEFT JOIN rm_gen.credit_requests r USING (programme_id)"
            " GROUP BY p.programme_id, p.credit_transferred, p.credit_retired"
        )
    finally:
        await conn.close()
    assert sum(r["transferred"] for r in rows) > 0
    assert sum(r["retired"] for r in rows) > 0
    for r in rows:
        assert (r["credit_transferred"], r["credit_retired"]) == (r["transferred"], r["retired"])


async def test_replay_of_a_log_that_does_not_chain_stops(fresh_db: str) -> None:
    h = credit_history()
    registry = h.w.reg.state.registry
    raws = list(h.raws)
    # An altered event: caught by a replay that recomputes the hashes...
    altered = raws[40].replace(b'"comment":null', b'"comment":"x"', 1)
    assert altered != raws[40]
    await write_log(fresh_db, registry, [*raws[:40], altered, *raws[41:]])
    with pytest.raises(ProjectionStopped, match="seq 41 does not match its hash"):
        await replayed(fresh_db, registry, "rm_a", verify_hashes=True)
    # ...and by the live projector, which always does.
    with pytest.raises(ProjectionStopped, match="seq 41"):
        await project_live(fresh_db, registry, "rm_live_a", batch_size=100)


async def test_replay_of_a_log_with_a_missing_event_stops(fresh_db: str) -> None:
    h = credit_history()
    registry = h.w.reg.state.registry
    raws = list(h.raws)
    conn = await asyncpg.connect(fresh_db)
    try:
        await ensure_log_tables(conn)
        await conn.copy_records_to_table(
            "events",
            schema_name="log",
            columns=["registry", "seq", "body"],
            records=[(registry, i + 1, raw) for i, raw in enumerate(raws) if i != 30],
        )
    finally:
        await conn.close()
    for parallel in (False, True):
        with pytest.raises(ProjectionStopped, match="gap in the log: expected seq 31, got 32"):
            await replayed(fresh_db, registry, "rm_b", parallel=parallel)


async def test_the_memory_engine_knows_every_column_of_every_model_table(fresh_db: str) -> None:
    conn = await asyncpg.connect(fresh_db)
    try:
        await create_schema(conn, "rm_cols")
        for table in MODEL_TABLES:
            columns = await conn.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'rm_cols' AND table_name = $1",
                table,
            )
            assert {r["column_name"] for r in columns} == set(SPECS[table].columns), table
    finally:
        await conn.close()

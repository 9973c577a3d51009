"""The projector under crashes and re-deliveries, replay equivalence, and tamper evidence,
on a real PostgreSQL (embedded log) and on the real Kafka broker."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from command_service.adapters.embedded_log import (
    CommandQueue,
    EmbeddedCommandBus,
    EmbeddedProcessorLog,
)
from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.application.processor import Processor
from libs.eventlog.kafka_source import KafkaEventSource
from libs.eventlog.pg_log import PgEventSource
from libs.eventlog.ports import EventSource, RawRecord
from libs.eventlog.topics import Topics
from libs.eventlog.verify import verify_log
from projector_service import runner
from projector_service.decode import START
from projector_service.replay import ensure_current, rebuild
from projector_service.runner import ProjectionStopped, Projector, apply_batch, read_checkpoint
from projector_service.schema import (
    MODEL_VERSION,
    ReadModelsOutdated,
    create_schema,
    live_schema,
    schema_version,
)
from tests.integration.harness import (
    developer_env,
    init_env,
    programme_env,
    read_all,
    running,
    table_digests,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

N_PROGRAMMES = 60


async def fill_embedded_log(dsn: str, registry: str, n: int = N_PROGRAMMES) -> int:
    """Write a registry's history through the real processor; returns the last seq."""
    queue = CommandQueue()
    log = EmbeddedProcessorLog(dsn, registry, queue)
    processor = Processor(log, registry)
    bus = EmbeddedCommandBus(queue)
    async with running(processor.run(asyncio.Event())):
        await processor.ready.wait()
        await bus.submit(init_env(registry), 30)
        await bus.submit(developer_env(registry), 30)
        results = await asyncio.gather(
            *(bus.submit(programme_env(registry, i), 30) for i in range(n))
        )
    await log.close()
    return max(r.last_seq or 0 for r in results)


async def project_all(source: EventSource, dsn: str, registry: str, schema: str) -> None:
    projector = Projector(source, dsn, registry, schema, batch_size=7)
    await projector.start()
    try:
        while await projector.step():
            pass
    finally:
        await projector.close()


async def oracle(dsn: str, registry: str) -> dict[str, tuple[int, str]]:
    """The read models built in one clean pass, in their own schema."""
    source = PgEventSource(dsn, registry)
    try:
        schema, _, _ = await rebuild(dsn, source, f"oracle_{registry}", switch=False)
    finally:
        await source.close()
    return await table_digests(dsn, schema)


async def filled_log_records(dsn: str, registry: str, n: int) -> list[RawRecord]:
    """A registry's log written through the processor (n programmes), as raw records."""
    await fill_embedded_log(dsn, registry, n=n)
    source = PgEventSource(dsn, registry)
    try:
        return [RawRecord(i + 1, raw) for i, raw in enumerate(await read_all(source))]
    finally:
        await source.close()


async def stored_seq(dsn: str, schema: str) -> int:
    """The last seq the schema's checkpoint says is applied."""
    conn = await asyncpg.connect(dsn)
    try:
        return (await read_checkpoint(conn, schema)).last_seq
    finally:
        await conn.close()


async def test_projector_crash_after_db_commit_is_harmless(
    fresh_db: str, unique_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = unique_registry
    last_seq = await fill_embedded_log(fresh_db, reg)
    schema = live_schema(reg)
    real_commit = runner.commit_prepared
    calls = 0

    async def crash_after_commit(
        conn: asyncpg.Connection, s: str, batch: runner.Prepared
    ) -> runner.Checkpoint:
        nonlocal calls
        calls += 1
        cp = await real_commit(conn, s, batch)  # committed to PostgreSQL...
        if calls in (2, 5, 9):
            raise RuntimeError("crash between the DB commit and anything after it")
        return cp

    monkeypatch.setattr(runner, "commit_prepared", crash_after_commit)
    crashes = 0
    while True:
        projector = Projector(PgEventSource(fresh_db, reg), fresh_db, reg, schema, batch_size=7)
        await projector.start()
        try:
            while await projector.step():
                pass
            break
        except RuntimeError:
            crashes += 1  # ...then a restart resumes from the checkpoint in PostgreSQL
        finally:
            await projector.close()
    assert crashes == 3
    assert await stored_seq(fresh_db, schema) == last_seq
    assert await table_digests(fresh_db, schema) == await oracle(fresh_db, reg)


async def test_redelivered_events_are_skipped_and_a_gap_stops_the_projector(
    fresh_db: str, unique_registry: str
) -> None:
    reg = unique_registry
    records = await filled_log_records(fresh_db, reg, n=5)
    schema = live_schema(reg)
    conn = await asyncpg.connect(fresh_db)
    try:
        await create_schema(conn, schema)
        cp1 = await apply_batch(conn, schema, records[:4])
        # The same events again (a re-delivery) change nothing.
        cp2 = await apply_batch(conn, schema, records[:4])
        assert cp2.last_seq == cp1.last_seq == 4
        before = await table_digests(fresh_db, schema)
        # A gap (seq 6 without 5) stops the projector loudly, and nothing is written.
        with pytest.raises(ProjectionStopped, match="gap"):
            await apply_batch(conn, schema, records[5:7])
        assert await table_digests(fresh_db, schema) == before
        assert (await read_checkpoint(conn, schema)).last_seq == 4
        # An altered event is refused too.
        bad = records[4].raw.replace(b"Developer Ltd", b"Developer Inc")
        if bad != records[4].raw:
            with pytest.raises(ProjectionStopped):
                await apply_batch(conn, schema, [RawRecord(5, bad)])
        cp3 = await apply_batch(conn, schema, records[4:])
        assert cp3.last_seq == len(records)
    finally:
        await conn.close()


async def test_a_batch_prepared_ahead_is_decoded_again_if_the_checkpoint_moved(
    fresh_db: str, unique_registry: str
) -> None:
    """The live projector prepares batch N+1 while N commits; if the stored checkpoint is
    not the one N+1 was prepared against, nothing is applied twice or skipped."""
    reg = unique_registry
    records = await filled_log_records(fresh_db, reg, n=6)
    schema = live_schema(reg)
    conn = await asyncpg.connect(fresh_db)
    try:
        await create_schema(conn, schema)
        first = await runner.prepare(records[:5], START)
        ahead = await runner.prepare(records[3:], first.end)  # overlaps the first batch
        # Someone else (replay's switch, another projector) applied seq 1..4 meanwhile.
        await apply_batch(conn, schema, records[:4])
        cp = await runner.commit_prepared(conn, schema, ahead)
        assert cp.last_seq == len(records)
        # The first batch, prepared against a checkpoint long gone, is a re-delivery now.
        assert (await runner.commit_prepared(conn, schema, first)).last_seq == len(records)
    finally:
        await conn.close()
    assert await table_digests(fresh_db, schema) == await oracle(fresh_db, reg)


async def test_a_bad_event_in_the_batch_read_ahead_stops_after_the_good_batch_commits(
    fresh_db: str, unique_registry: str
) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=4)
    source = PgEventSource(fresh_db, reg)
    raws = await read_all(source)
    await source.close()

    class Scripted:
        """Two batches: the good first half, then the rest with one event altered."""

        def __init__(self) -> None:
            half = len(raws) // 2
            bad = [*raws[half:]]
            bad[1] = bad[1].replace(b"programme", b"Programme")
            assert bad[1] != raws[half + 1]
            self.batches = [
                [RawRecord(i + 1, r) for i, r in enumerate(raws[:half])],
                [RawRecord(half + i + 1, r) for i, r in enumerate(bad)],
            ]

        async def seek(self, position: int) -> None:
            pass

        async def next_batch(self, max_records: int, timeout_s: float) -> list[RawRecord]:
            return self.batches.pop(0) if self.batches else []

        async def end_position(self) -> int:
            return len(raws) + 1

        async def close(self) -> None:
            pass

    schema = live_schema(reg)
    projector = Projector(Scripted(), fresh_db, reg, schema)
    await projector.start()
    try:
        with pytest.raises(ProjectionStopped):
            await projector.step()  # commits the first batch, prepares the bad one
        assert projector.checkpoint.last_seq == len(raws) // 2
    finally:
        await projector.close()
    assert await stored_seq(fresh_db, schema) == len(raws) // 2


async def test_read_models_of_another_version_are_refused_then_rebuilt(
    fresh_db: str, unique_registry: str
) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=5)
    schema = live_schema(reg)
    await project_all(PgEventSource(fresh_db, reg), fresh_db, reg, schema)
    conn = await asyncpg.connect(fresh_db)
    try:
        assert await schema_version(conn, schema) == MODEL_VERSION
        # As an older build left it: an older stamp, and a value that build computed wrong.
        await conn.execute(f"COMMENT ON SCHEMA {schema} IS 'registry read models, version 1'")
        await conn.execute(f"UPDATE {schema}.programmes SET title = 'stale'")
    finally:
        await conn.close()
    with pytest.raises(ReadModelsOutdated, match="version 1"):
        await Projector(PgEventSource(fresh_db, reg), fresh_db, reg, schema).start()
    source = PgEventSource(fresh_db, reg)
    try:
        assert await ensure_current(fresh_db, source, schema)
        assert not await ensure_current(fresh_db, source, schema)
    finally:
        await source.close()
    conn = await asyncpg.connect(fresh_db)
    try:
        assert await schema_version(conn, schema) == MODEL_VERSION
        assert (
            await conn.fetchval(f"SELECT count(*) FROM {schema}.programmes WHERE title = 'stale'")
            == 0
        )
    finally:
        await conn.close()
    assert await table_digests(fresh_db, schema) == await oracle(fresh_db, reg)


async def test_replay_equals_live_and_is_deterministic(fresh_db: str, unique_registry: str) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg)
    schema = live_schema(reg)
    await project_all(PgEventSource(fresh_db, reg), fresh_db, reg, schema)
    live = await table_digests(fresh_db, schema)
    assert live["programmes"][0] == N_PROGRAMMES
    # Rebuild into a fresh schema and switch atomically: equal, table by table.
    for _ in range(2):
        source = PgEventSource(fresh_db, reg)
        try:
            switched, _, _ = await rebuild(fresh_db, source, schema)
        finally:
            await source.close()
        assert switched == schema
        assert await table_digests(fresh_db, schema) == live


async def test_replay_while_the_live_projector_runs(fresh_db: str, unique_registry: str) -> None:
    """Queries and the live projector keep working across the atomic switch."""
    reg = unique_registry
    schema = live_schema(reg)
    queue = CommandQueue()
    log = EmbeddedProcessorLog(fresh_db, reg, queue)
    processor = Processor(log, reg)
    bus = EmbeddedCommandBus(queue)
    projector = Projector(PgEventSource(fresh_db, reg), fresh_db, reg, schema)
    stop = asyncio.Event()
    async with running(processor.run(stop)):
        await processor.ready.wait()
        await bus.submit(init_env(reg), 30)
        await bus.submit(developer_env(reg), 30)
        await projector.start()
        async with running(projector.run(stop)):
            writer = asyncio.gather(*(bus.submit(programme_env(reg, i), 30) for i in range(80)))
            source = PgEventSource(fresh_db, reg)
            try:
                await rebuild(fresh_db, source, schema, batch_size=10)
            finally:
                await source.close()
            results = await writer
            last = max(r.last_seq or 0 for r in results)
            conn = await asyncpg.connect(fresh_db)
            try:
                for _ in range(500):
                    if (await read_checkpoint(conn, schema)).last_seq >= last:
                        break
                    await asyncio.sleep(0.02)
                count = await conn.fetchval(f"SELECT count(*) FROM {schema}.programmes")
            finally:
                await conn.close()
    await log.close()
    assert count == 80
    assert await table_digests(fresh_db, schema) == await oracle(fresh_db, reg)


async def test_verify_detects_tampering_in_the_embedded_log(
    fresh_db: str, unique_registry: str
) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=5)
    source = PgEventSource(fresh_db, reg)
    try:
        assert (await verify_log(source, registry=reg)).ok
    finally:
        await source.close()
    conn = await asyncpg.connect(fresh_db)
    try:
        # The log table refuses changes...
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM log.events WHERE seq = 4")
        # ...so an attacker with superuser rights disables the guard first.
        await conn.execute("ALTER TABLE log.events DISABLE TRIGGER events_append_only")
        await conn.execute(
            "UPDATE log.events SET body = convert_to(replace(convert_from(body, 'UTF8'),"
            " 'Programme 2', 'Programme X'), 'UTF8') WHERE registry = $1 AND seq = 8",
            reg,
        )
        await conn.execute("DELETE FROM log.events WHERE registry = $1 AND seq = 5", reg)
    finally:
        await conn.close()
    source = PgEventSource(fresh_db, reg)
    try:
        report = await verify_log(source, registry=reg)
    finally:
        await source.close()
    reasons: dict[int | None, str] = {}
    for b in report.breaks:
        reasons[b.seq] = reasons.get(b.seq, "") + b.reason + "; "
    assert not report.ok
    assert "missing" in reasons[6]
    assert "altered" in reasons[8]


@pytest.mark.kafka
async def test_kafka_projector_and_replay_equal_live(
    kafka_bootstrap: str, fresh_db: str, unique_registry: str
) -> None:
    reg = unique_registry
    log = KafkaProcessorLog(kafka_bootstrap, reg)
    processor = Processor(log, reg)
    bus = KafkaCommandBus(kafka_bootstrap, reg)
    async with running(processor.run(asyncio.Event())):
        await bus.start()
        try:
            await bus.submit(init_env(reg), 30)
            await bus.submit(developer_env(reg), 30)
            await asyncio.gather(*(bus.submit(programme_env(reg, i), 30) for i in range(40)))
        finally:
            await bus.close()
    await log.close()
    schema = live_schema(reg)
    topic = Topics(reg).events
    await project_all(KafkaEventSource(kafka_bootstrap, topic), fresh_db, reg, schema)
    live = await table_digests(fresh_db, schema)
    assert live["programmes"][0] == 40
    source = KafkaEventSource(kafka_bootstrap, topic)
    try:
        await rebuild(fresh_db, source, schema)
    finally:
        await source.close()
    assert await table_digests(fresh_db, schema) == live

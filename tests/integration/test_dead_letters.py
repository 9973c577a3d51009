"""An event the projector cannot apply: it applies everything before it, records it as a dead
letter, halts without exiting (no crash loop), answers ``read.halted``, and goes on once a
build can apply it. A log that lost events already applied halts it too. On a real
PostgreSQL, in-process and as the `registry projector` CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from libs.eventlog.pg_log import PgEventSource
from libs.eventlog.ports import RawRecord
from libs.http.problems import Problem
from libs.observability.metrics import PROJECTOR_HALTED, PROJECTOR_LAG
from projector_service import runner
from projector_service.dead_letters import DeadLetter, listed
from projector_service.projections import catalogue
from projector_service.projections.view import EventView
from projector_service.projections.writes import Write
from projector_service.runner import PROJECTION, Projector
from projector_service.schema import live_schema
from query_service.queries.reads import read_at_least
from schemas.hashing import chain_hash
from tests.integration.harness import ROOT_DIR, free_port, run_cli, table_digests
from tests.integration.test_projector_and_replay import fill_embedded_log, oracle, stored_seq

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def letters(dsn: str, schema: str) -> list[DeadLetter]:
    conn = await asyncpg.connect(dsn)
    try:
        return await listed(conn, schema)
    except asyncpg.UndefinedTableError:
        return []  # the projector has not created its schema yet
    finally:
        await conn.close()


async def eventually(check: Any, timeout_s: float = 20.0) -> Any:
    """Poll ``check()`` (async) until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout_s} s")
        await asyncio.sleep(0.05)


class BuildThatCannotApply:
    """This build's projections refuse one seq, until it is "upgraded" (``fixed``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seq: int) -> None:
        self.seq = seq
        self.fixed = False
        real = catalogue.project

        def project(env: EventView) -> list[Write]:
            if env.seq == self.seq and not self.fixed:
                raise ValueError(f"this build cannot apply {env.type} seq {env.seq}")
            return real(env)

        monkeypatch.setattr(runner, "project", project)


async def test_the_projector_halts_on_a_poison_event_and_resumes_once_a_build_can_apply_it(
    fresh_db: str, unique_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, schema = unique_registry, live_schema(unique_registry)
    last = await fill_embedded_log(fresh_db, reg, n=20)  # 25 events
    poison = 13
    build = BuildThatCannotApply(monkeypatch, poison)
    projector = Projector(
        PgEventSource(fresh_db, reg),
        fresh_db,
        reg,
        schema,
        batch_size=8,
        halt_retry_s=0.3,
        halt_retry_max_s=0.6,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(stop))
    try:
        found = await eventually(lambda: letters(fresh_db, schema))
        # Every event before the poison is applied (batches of 8: 1-8, then 9-12 of 9-16).
        assert await stored_seq(fresh_db, schema) == poison - 1
        (letter,) = found
        assert (letter.seq, letter.position, letter.event_type) == (
            poison,
            poison,
            "ProgrammeCreated",
        )
        assert "this build cannot apply ProgrammeCreated seq 13" in letter.error
        assert letter.resolved_at is None
        assert projector.halted is not None
        assert "seq 13" in projector.halted
        assert not projector.caught_up.is_set()
        assert PROJECTOR_HALTED.labels(reg, PROJECTION)._value.get() == 1
        # The events it cannot reach yet show as lag.
        assert PROJECTOR_LAG.labels(reg, PROJECTION)._value.get() == last - poison + 1

        # It stays up and tries again with a growing delay; nothing moves meanwhile.
        async def retried() -> bool:
            return (await letters(fresh_db, schema))[0].attempts >= 3

        await eventually(retried)
        assert not task.done()
        assert await stored_seq(fresh_db, schema) == poison - 1

        # A reader waiting for the poison's seq is told at once; one before it is served.
        pool = await asyncpg.create_pool(fresh_db, min_size=1, max_size=2)
        try:
            t0 = time.monotonic()
            with pytest.raises(Problem) as refused:
                await read_at_least(pool, schema, poison, 10.0, lambda c: c.fetchval("SELECT 1"))
            assert time.monotonic() - t0 < 2.0
            assert refused.value.code == "read.halted"
            assert refused.value.status == 503
            assert refused.value.extra["halted_at_seq"] == poison
            seq, one = await read_at_least(
                pool, schema, poison - 1, 1.0, lambda c: c.fetchval("SELECT 1")
            )
            assert (seq, one) == (poison - 1, 1)
        finally:
            await pool.close()

        # The upgraded build applies it: the projector goes on by itself.
        build.fixed = True

        async def caught_up() -> bool:
            return await stored_seq(fresh_db, schema) == last

        await eventually(caught_up)
        await eventually(lambda: _true(projector.halted is None))
        (resolved,) = await letters(fresh_db, schema)
        assert resolved.resolved_at is not None
        assert PROJECTOR_HALTED.labels(reg, PROJECTION)._value.get() == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert await table_digests(fresh_db, schema) == await oracle(fresh_db, reg)


async def _true(value: bool) -> bool:
    return value


def projector_letters(dsn: str, schema: str) -> Any:
    return lambda: letters(dsn, schema)


async def test_the_poison_event_first_in_a_batch_is_isolated_at_once(
    fresh_db: str, unique_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch boundaries anywhere: the poison as the first, last or only event of a batch."""
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=10)  # 15 events
    for poison, batch_size in ((9, 8), (8, 8), (2, 1), (15, 4)):
        schema = f"{live_schema(reg)}_{poison}_{batch_size}"
        build = BuildThatCannotApply(monkeypatch, poison)
        projector = Projector(
            PgEventSource(fresh_db, reg), fresh_db, reg, schema, batch_size=batch_size
        )
        stop = asyncio.Event()
        task = asyncio.create_task(projector.run(stop))
        try:
            (letter,) = await eventually(projector_letters(fresh_db, schema))
            assert letter.seq == poison, (poison, batch_size)
            assert await stored_seq(fresh_db, schema) == poison - 1
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            build.fixed = True


def forged_event(previous: bytes, event_type: str) -> bytes:
    """An event chained after ``previous`` (as a newer processor would write it) of a type
    this build does not know."""
    last = orjson.loads(previous)
    body = {
        **last,
        "seq": last["seq"] + 1,
        "prev_hash": last["hash"],
        "type": event_type,
        "version": 1,
        "payload": {"programme_id": "001", "to": "elsewhere"},
    }
    body.pop("hash")
    body["hash"] = chain_hash(last["hash"], body)
    return orjson.dumps(body)


@pytest.fixture
def cli_env(fresh_db: str, unique_registry: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": fresh_db,
        "REGISTRY_REGISTRY": unique_registry,
        "REGISTRY_PORT": str(free_port()),
        "REGISTRY_LOG_JSON": "true",
    }


def start_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "registry_cli.main", *args],
        cwd=ROOT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_registry_projector_stays_up_on_an_unknown_event_type_and_reports_it(
    fresh_db: str, unique_registry: str, cli_env: dict[str, str]
) -> None:
    reg, schema = unique_registry, live_schema(unique_registry)
    last = await fill_embedded_log(fresh_db, reg, n=5)  # 10 events
    conn = await asyncpg.connect(fresh_db)
    try:
        previous = await conn.fetchval(
            "SELECT body FROM log.events WHERE registry = $1 AND seq = $2", reg, last
        )
        await conn.execute(
            "INSERT INTO log.events (registry, seq, body) VALUES ($1, $2, $3)",
            reg,
            last + 1,
            forged_event(previous, "ProgrammeTeleported"),
        )
    finally:
        await conn.close()

    proc = start_cli(["projector"], cli_env)
    try:
        (letter,) = await eventually(lambda: letters(fresh_db, schema), timeout_s=60)
        assert letter.seq == last + 1
        assert letter.event_type == "ProgrammeTeleported"
        assert "ProgrammeTeleported" in letter.error
        assert await stored_seq(fresh_db, schema) == last
        url = f"http://127.0.0.1:{cli_env['REGISTRY_PORT']}"
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:

            async def ready_says_halted() -> httpx.Response | None:
                try:
                    r = await client.get("/ready")
                except httpx.TransportError:
                    return None
                return r if r.status_code == 503 else None

            answer = await eventually(ready_says_halted, timeout_s=30)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["checks"]["applying"] is False
            metrics = (await client.get("/metrics")).text
            assert f'registry_projector_halted{{projection="main",registry="{reg}"}} 1.0' in metrics
            # No crash loop: the process is still there a while later, still halted.
            await asyncio.sleep(2)
            assert proc.poll() is None
            assert (await client.get("/ready")).status_code == 503

        listing = await asyncio.to_thread(run_cli, ["dead-letters"], cli_env)
        assert listing.returncode == 1, listing.stdout + listing.stderr
        halted = f"seq {last + 1} (position {last + 1}, ProgrammeTeleported): HALTED"
        assert halted in listing.stdout
        as_json = await asyncio.to_thread(run_cli, ["dead-letters", "--json"], cli_env)
        (row,) = [orjson.loads(line) for line in as_json.stdout.splitlines() if line]
        assert (row["seq"], row["event_type"], row["resolved_at"]) == (
            last + 1,
            "ProgrammeTeleported",
            None,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 0, output
    assert "projector_halted" in output


async def test_a_log_that_lost_applied_events_halts_the_projector_until_they_are_back(
    fresh_db: str, unique_registry: str
) -> None:
    """The log ends before the checkpoint (a broker lost its unflushed tail, a topic was
    created again): the projector halts at once instead of waiting, unaware, for positions
    that a rewritten log would fill with other events; an event written again at the
    checkpoint's seq with other content is refused."""
    reg, schema = unique_registry, live_schema(unique_registry)
    last = await fill_embedded_log(fresh_db, reg, n=5)  # 10 events
    projector = Projector(PgEventSource(fresh_db, reg), fresh_db, reg, schema)
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(stop))
    conn = await asyncpg.connect(fresh_db)
    try:
        await eventually(lambda: _true(projector.checkpoint.last_seq == last))
        tail = await conn.fetch(
            "SELECT seq, body FROM log.events WHERE registry = $1 AND seq >= $2 ORDER BY seq",
            reg,
            last - 1,
        )
        await conn.execute("ALTER TABLE log.events DISABLE TRIGGER events_append_only")
        await conn.execute(
            "DELETE FROM log.events WHERE registry = $1 AND seq >= $2", reg, last - 1
        )
        await eventually(lambda: _true(projector.halted is not None))
        assert projector.halted is not None
        assert "events were lost from the log" in projector.halted
        assert PROJECTOR_HALTED.labels(reg, PROJECTION)._value.get() == 1
        assert not task.done()
        assert await letters(fresh_db, schema) == []  # no event to blame
        # The same events back (the broker's data restored): it goes on.
        await conn.executemany(
            "INSERT INTO log.events (registry, seq, body) VALUES ($1, $2, $3)",
            [(reg, r["seq"], r["body"]) for r in tail],
        )
        await eventually(lambda: _true(projector.halted is None))
        assert PROJECTOR_HALTED.labels(reg, PROJECTION)._value.get() == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await conn.close()
    # Another event where the checkpoint's was: refused even as a re-delivery.
    previous = bytes(tail[0]["body"])
    other = forged_event(previous, "ProgrammeTeleported")
    conn = await asyncpg.connect(fresh_db)
    try:
        with pytest.raises(runner.ProjectionStopped, match="the log was rewritten"):
            await runner.apply_batch(conn, schema, [RawRecord(last, other)])
        assert await stored_seq(fresh_db, schema) == last
    finally:
        await conn.close()

"""The contract every log adapter passes (embedded PostgreSQL table and Kafka).

What a processor relies on: commands arrive in order; a commit makes events, results and
the consumed command position visible together; a newer leader fences an older one; a
restart sees exactly what was committed and no command twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.application.decisions import Decided, decide_one
from command_service.application.ports import Batch, CommandRecord, Fenced, ProcessorLog, Snapshot
from command_service.application.restore import CorruptLog, restore
from command_service.domain.state import RegistryState, dump_state
from schemas.codec import decode_event, decode_result
from schemas.commands.registry import InitialiseRegistry
from schemas.envelope import SYSTEM_ACTOR, CommandEnvelope, ResultEnvelope
from tests.contract.conftest import LogPair

pytestmark = pytest.mark.asyncio(loop_scope="session")


def init_command(registry: str, command_id: str, country: str = "NG") -> CommandEnvelope:
    return CommandEnvelope(
        registry=registry,
        command_id=command_id,
        type=InitialiseRegistry.TYPE,
        actor=SYSTEM_ACTOR,
        submitted_at=datetime.now(UTC),
        payload=InitialiseRegistry(
            country_code=country,
            country_name="Nigeria",
            government_name="Government",
            government_email="gov@example.org",
            root_email="root@example.org",
        ).model_dump(mode="json"),
    )


async def start_bus(pair: LogPair) -> None:
    if isinstance(pair.bus, KafkaCommandBus) and not pair.bus.ready.is_set():
        await pair.bus.start()


async def take(log: ProcessorLog, n: int, deadline_s: float = 20.0) -> list[CommandRecord]:
    got: list[CommandRecord] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while len(got) < n and loop.time() < end:
        got.extend(await log.next_commands(n - len(got), 0.2))
    return got


def decide_all(state: RegistryState, records: list[CommandRecord]) -> Decided:
    out = Decided()
    now = datetime.now(UTC)
    for rec in records:
        decide_one(state, rec, now, out)
    return out


async def collect(it: object) -> list[bytes]:
    out: list[bytes] = []
    async for batch in it:  # type: ignore[attr-defined]
        out.extend(r.raw for r in batch)
    return out


async def test_fresh_log_is_empty(log_pair: LogPair) -> None:
    log = log_pair.new_log()
    try:
        await log.acquire()
        assert await log.latest_snapshot() is None
        assert await collect(log.read_events(0)) == []
        assert await collect(log.read_results(0)) == []
    finally:
        await log.close()


async def test_commit_makes_events_results_and_position_visible_together(
    log_pair: LogPair,
) -> None:
    await start_bus(log_pair)
    log = log_pair.new_log()
    try:
        await log.acquire()
        # Two commands: the first initialises (3 events), the second is refused.
        waiters = [
            asyncio.create_task(log_pair.bus.submit(init_command(log_pair.registry, "c1"), 30)),
            asyncio.create_task(
                log_pair.bus.submit(init_command(log_pair.registry, "c2", "KE"), 30)
            ),
        ]
        records = await take(log, 2)
        assert [r.envelope.command_id for r in records if r.envelope] == ["c1", "c2"]
        state = RegistryState(registry=log_pair.registry)
        decided = decide_all(state, records)
        committed = await log.commit(
            Batch(decided.events, decided.results, records[-1].position + 1)
        )
        results: list[ResultEnvelope] = await asyncio.gather(*waiters)
        assert [r.status for r in results] == ["accepted", "rejected"]
        assert results[0].first_seq == 1
        assert results[0].last_seq == 3
        assert results[1].error is not None
        assert results[1].error.code == "registry.already_initialised"

        events = await collect(log.read_events(0))
        assert events == [raw for _, raw in decided.events]
        assert [decode_event(e).seq for e in events] == [1, 2, 3]
        stored_results = [decode_result(r) for r in await collect(log.read_results(0))]
        assert [r.command_id for r in stored_results] == ["c1", "c2"]
        assert committed.events_next_position > 0
        assert await collect(log.read_events(committed.events_next_position)) == []
    finally:
        await log.close()

    # A new leader restores exactly that state and is not handed c1/c2 again.
    log2 = log_pair.new_log()
    try:
        await log2.acquire()
        restored = await restore(log2, log_pair.registry)
        assert restored.state.last_seq == 3
        assert restored.state.initialised
        assert set(restored.state.processed) == {"c1", "c2"}
        assert await log2.next_commands(10, 0.5) == []
    finally:
        await log2.close()


async def test_newer_leader_fences_the_older(log_pair: LogPair) -> None:
    await start_bus(log_pair)
    old = log_pair.new_log()
    await old.acquire()
    waiter = asyncio.create_task(log_pair.bus.submit(init_command(log_pair.registry, "z1"), 60))
    records = await take(old, 1)
    state = RegistryState(registry=log_pair.registry)
    decided = decide_all(state, records)
    await log_pair.abandon(old)  # the old one stalls and loses its partition...
    new = log_pair.new_log()
    try:
        await new.acquire()  # ...a new leader takes over and fences it
        with pytest.raises(Fenced):
            await old.commit(Batch(decided.events, decided.results, records[-1].position + 1))
        # Nothing of the zombie's batch is visible.
        assert await collect(new.read_events(0)) == []
        # The new leader gets the command again and decides it once.
        again = await take(new, 1)
        assert [r.envelope.command_id for r in again if r.envelope] == ["z1"]
        state2 = RegistryState(registry=log_pair.registry)
        d2 = decide_all(state2, again)
        await new.commit(Batch(d2.events, d2.results, again[-1].position + 1))
        result = await asyncio.wait_for(waiter, 30)
        assert result.status == "accepted"
        assert len(await collect(new.read_events(0))) == 3
    finally:
        waiter.cancel()
        with contextlib.suppress(BaseException):
            await old.close()
        await new.close()


async def test_snapshot_round_trip(log_pair: LogPair) -> None:
    log = log_pair.new_log()
    try:
        await log.acquire()
        state = RegistryState(registry=log_pair.registry, last_seq=0)
        await log.write_snapshot(Snapshot(0, 0, 0, dump_state(state)))
        state.next_company_id = 42
        await log.write_snapshot(Snapshot(7, 11, 13, dump_state(state)))
        snap = await log.latest_snapshot()
        assert snap is not None
        assert (snap.seq, snap.events_position, snap.results_position) == (7, 11, 13)
        assert snap.state == dump_state(state)
    finally:
        await log.close()


async def test_a_snapshot_whose_event_is_gone_or_changed_refuses_the_restore(
    log_pair: LogPair,
) -> None:
    """Lost acked events (a single broker's unflushed tail, a topic deleted and created
    again) must stop the next leader, not be written over with the same seqs."""
    await start_bus(log_pair)
    log = log_pair.new_log()
    try:
        await log.acquire()
        waiter = asyncio.create_task(log_pair.bus.submit(init_command(log_pair.registry, "s1"), 30))
        records = await take(log, 1)
        state = RegistryState(registry=log_pair.registry)
        decided = decide_all(state, records)
        committed = await log.commit(
            Batch(decided.events, decided.results, records[-1].position + 1)
        )
        await waiter
        end = committed.events_next_position
        # A snapshot of exactly what is in the log: restore uses it and replays nothing.
        await log.write_snapshot(Snapshot(state.last_seq, end, 0, dump_state(state)))
        restored = await restore(log, log_pair.registry)
        assert (restored.state.last_seq, restored.events_replayed) == (3, 0)
        assert restored.events_position == end
        # The log lost what a later snapshot was taken after.
        state.last_seq += 2
        await log.write_snapshot(Snapshot(state.last_seq, end + 5, 0, dump_state(state)))
        with pytest.raises(CorruptLog, match=f"ends before position {end + 4}"):
            await restore(log, log_pair.registry)
        # The log holds another event where the snapshot's last one was.
        state.last_seq += 1
        await log.write_snapshot(Snapshot(state.last_seq, end, 0, dump_state(state)))
        with pytest.raises(CorruptLog, match="rewritten"):
            await restore(log, log_pair.registry)
    finally:
        await log.close()

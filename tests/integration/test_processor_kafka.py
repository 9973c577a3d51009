"""The single writer on a real Kafka broker: round trip, aborts, crashes, zombies, retries."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.application.ports import LogUnavailable
from command_service.application.processor import Processor
from command_service.application.restore import CorruptLog, restore
from libs.eventlog.kafka_source import KafkaEventSource
from libs.eventlog.topics import Topics
from libs.eventlog.verify import verify_log
from schemas.codec import decode_event
from tests.integration.harness import (
    ProgrammeStream,
    assert_programmes_created_once,
    developer_env,
    init_env,
    programme_env,
    read_all,
    running,
    start_processor_process,
    submit_until_decided,
)

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]


async def events_of(bootstrap: str, registry: str) -> list[bytes]:
    source = KafkaEventSource(bootstrap, Topics(registry).events)
    try:
        return await read_all(source)
    finally:
        await source.close()


async def test_commands_round_trip_and_the_log_verifies(
    kafka_bootstrap: str, unique_registry: str
) -> None:
    reg = unique_registry
    log = KafkaProcessorLog(kafka_bootstrap, reg)
    processor = Processor(log, reg)
    bus = KafkaCommandBus(kafka_bootstrap, reg)
    stop = asyncio.Event()
    async with running(processor.run(stop)):
        await bus.start()
        try:
            assert (await bus.submit(init_env(reg), 30)).status == "accepted"
            assert (await bus.submit(developer_env(reg), 30)).status == "accepted"
            results = await asyncio.gather(
                *(bus.submit(programme_env(reg, n), 30) for n in range(30))
            )
        finally:
            await bus.close()
    await log.close()
    assert all(r.status == "accepted" for r in results)
    seqs = sorted(r.last_seq for r in results if r.last_seq)
    assert seqs == list(range(6, 36))
    source = KafkaEventSource(kafka_bootstrap, Topics(reg).events)
    try:
        report = await verify_log(source, registry=reg)
    finally:
        await source.close()
    assert report.ok, report.breaks
    assert report.last_seq == 35
    assert report.types["ProgrammeCreated"] == 30


async def test_aborted_transaction_leaves_nothing_visible(
    kafka_bootstrap: str, unique_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = unique_registry
    log = KafkaProcessorLog(kafka_bootstrap, reg)
    processor = Processor(log, reg)
    bus = KafkaCommandBus(kafka_bootstrap, reg)
    await processor.start()
    await bus.start()
    try:
        waiter = asyncio.create_task(bus.submit(init_env(reg), 60))
        producer = log._producer
        assert producer is not None

        async def fail_offsets(*_: object, **__: object) -> None:
            raise KafkaError("injected failure after the events were sent")

        monkeypatch.setattr(producer, "send_offsets_to_transaction", fail_offsets)

        async def step_until_a_batch() -> None:
            while not await processor.step():
                pass

        with pytest.raises(LogUnavailable):
            await step_until_a_batch()
        # The events were sent inside the transaction, which was aborted: invisible.
        assert await events_of(kafka_bootstrap, reg) == []
        await log.close()
        monkeypatch.undo()
        # A restarted processor decides the same command again, exactly once.
        log2 = KafkaProcessorLog(kafka_bootstrap, reg)
        p2 = Processor(log2, reg)
        async with running(p2.run(asyncio.Event())):
            result = await asyncio.wait_for(waiter, 60)
        await log2.close()
        assert result.status == "accepted"
        events = [decode_event(e) for e in await events_of(kafka_bootstrap, reg)]
        assert [e.seq for e in events] == [1, 2, 3]
    finally:
        await bus.close()


async def test_a_command_sent_twice_applies_once(
    kafka_bootstrap: str, unique_registry: str
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
            env = programme_env(reg, 1)
            first, second = await asyncio.gather(bus.submit(env, 30), bus.submit(env, 30))
            # Also a raw duplicate straight onto the commands topic (a producer retry).
            raw = KafkaCommandBus(kafka_bootstrap, reg)
            await raw.start()
            third = await raw.submit(env, 30)
            await raw.close()
        finally:
            await bus.close()
    await log.close()
    assert {first.status, second.status, third.status} == {"accepted"}
    assert first.last_seq == second.last_seq == third.last_seq
    assert sorted([first.duplicate, second.duplicate, third.duplicate]) == [False, True, True]
    created = [
        decode_event(e)
        for e in await events_of(kafka_bootstrap, reg)
        if decode_event(e).type == "ProgrammeCreated"
    ]
    assert len(created) == 1


async def test_processor_killed_mid_stream_loses_and_duplicates_nothing(
    kafka_bootstrap: str, unique_registry: str, tmp_path: Path
) -> None:
    reg = unique_registry
    n = 150
    proc = start_processor_process(kafka_bootstrap, reg, tmp_path, "first")
    bus = KafkaCommandBus(kafka_bootstrap, reg)
    await bus.start()
    second = None
    try:
        await submit_until_decided(bus, init_env(reg), deadline_s=90)
        await submit_until_decided(bus, developer_env(reg), deadline_s=60)
        stream = ProgrammeStream(bus, reg, n, timeout_s=3)
        await stream.reached(n // 3)
        proc.kill()  # SIGKILL in the middle of the stream
        second = start_processor_process(kafka_bootstrap, reg, tmp_path, "second")
        seqs = await stream.seqs(180)
    finally:
        await bus.close()
        proc.kill()
        if second is not None:
            second.kill()
    await assert_programmes_created_once(kafka_bootstrap, reg, n, seqs)


async def test_a_zombie_processor_is_fenced(
    kafka_bootstrap: str, unique_registry: str, tmp_path: Path
) -> None:
    reg = unique_registry
    zombie = start_processor_process(kafka_bootstrap, reg, tmp_path, "zombie")
    bus = KafkaCommandBus(kafka_bootstrap, reg)
    await bus.start()
    successor = None
    try:
        await submit_until_decided(bus, init_env(reg), deadline_s=90)
        zombie.pause()  # stalls past the session timeout: the group moves on
        successor = start_processor_process(kafka_bootstrap, reg, tmp_path, "successor")
        res = await submit_until_decided(bus, developer_env(reg), timeout_s=5, deadline_s=120)
        assert res.status == "accepted"
        zombie.resume()
        # The zombie finds itself fenced or without its partition: it steps down, drops its
        # state and rejoins as a standby (or leads again, after restoring from the log).
        loop = asyncio.get_running_loop()
        end = loop.time() + 60
        while "processor_stepped_down" not in zombie.log() and loop.time() < end:
            await asyncio.sleep(0.2)
        assert "processor_stepped_down" in zombie.log(), zombie.log()
        results = [
            await submit_until_decided(bus, programme_env(reg, i), deadline_s=90) for i in range(3)
        ]
        assert all(r.status == "accepted" for r in results)
    finally:
        await bus.close()
        zombie.kill()
        if successor is not None:
            successor.kill()
    events = [decode_event(e) for e in await events_of(kafka_bootstrap, reg)]
    assert [e.seq for e in events] == list(range(1, 9))


async def test_a_forged_event_is_detected(kafka_bootstrap: str, unique_registry: str) -> None:
    reg = unique_registry
    log = KafkaProcessorLog(kafka_bootstrap, reg)
    processor = Processor(log, reg)
    bus = KafkaCommandBus(kafka_bootstrap, reg)
    async with running(processor.run(asyncio.Event())):
        await bus.start()
        try:
            await bus.submit(init_env(reg), 30)
        finally:
            await bus.close()
    await log.close()
    # Someone bypasses the command service and appends to the events topic directly.
    last = orjson.loads((await events_of(kafka_bootstrap, reg))[-1])
    forged = {**last, "seq": last["seq"] + 1, "prev_hash": last["hash"]}
    forged["payload"] = {**last["payload"], "name": "Root of all evil"}
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(Topics(reg).events, orjson.dumps(forged))
    finally:
        await producer.stop()
    source = KafkaEventSource(kafka_bootstrap, Topics(reg).events)
    try:
        report = await verify_log(source, registry=reg)
    finally:
        await source.close()
    assert not report.ok
    assert report.breaks[0].seq == 4
    assert "altered" in report.breaks[0].reason
    # And a processor refuses to build on it.
    log2 = KafkaProcessorLog(kafka_bootstrap, reg)
    try:
        await log2.acquire()
        with pytest.raises(CorruptLog):
            await restore(log2, reg)
    finally:
        with contextlib.suppress(Exception):
            await log2.close()

"""Acknowledged events that vanish from the log (limits-and-faults.md B4 #13): an operator
deletes and re-creates the events topic, or a single broker loses its unflushed tail. The
next processor must detect it and refuse to write, not hand out the lost seqs again; and a
single broker keeps acked events on disk (flush per append) so power loss cannot lose them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.application.processor import Processor
from command_service.application.restore import CorruptLog, restore
from libs.eventlog.kafka_admin import ensure_topics
from libs.eventlog.topics import Topics
from tests.integration.harness import (
    developer_env,
    init_env,
    running,
    start_processor_process,
)

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]


async def delete_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
        deadline = time.monotonic() + 30
        while topic in set(await admin.list_topics()):
            assert time.monotonic() < deadline, f"{topic} still listed"
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def test_a_processor_refuses_to_write_on_an_events_topic_that_lost_its_events(
    kafka_bootstrap: str, unique_registry: str, tmp_path: Path
) -> None:
    reg = unique_registry
    log = KafkaProcessorLog(kafka_bootstrap, reg)
    processor = Processor(log, reg, snapshot_every=1)
    bus = KafkaCommandBus(kafka_bootstrap, reg)
    async with running(processor.run(asyncio.Event())):
        await bus.start()
        try:
            await bus.submit(init_env(reg), 30)
            accepted = await bus.submit(developer_env(reg), 30)
        finally:
            await bus.close()
    await log.close()
    assert accepted.last_seq == 5
    # An operator deletes the events topic (the snapshots topic keeps seq 5's state).
    await delete_topic(kafka_bootstrap, Topics(reg).events)

    successor = KafkaProcessorLog(kafka_bootstrap, reg)
    try:
        await successor.acquire()  # re-creates the missing topic, empty
        with pytest.raises(CorruptLog, match="events the processor committed are missing"):
            await restore(successor, reg)
        assert [r async for r in successor.read_events(0)] == []
    finally:
        await successor.close()
    # `registry processor` refuses too: it stays up, says why, and writes nothing.
    proc = start_processor_process(kafka_bootstrap, reg, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while "processor_refuses_damaged_log" not in proc.log():
            assert proc.proc.poll() is None, proc.log()
            assert time.monotonic() < deadline, proc.log()
            await asyncio.sleep(0.2)
        async with httpx.AsyncClient(timeout=5) as client:
            ready = await client.get(f"http://127.0.0.1:{proc.port}/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["log_intact"] is False
        assert proc.proc.poll() is None
    finally:
        proc.kill()
    check = KafkaProcessorLog(kafka_bootstrap, reg)
    try:
        assert [r async for r in check.read_events(0)] == []
    finally:
        await check.close()


async def described(bootstrap: str, kind: ConfigResourceType, name: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs([ConfigResource(kind, name)])
    finally:
        await admin.close()
    (resource,) = response.resources
    return {entry[0]: entry[1] for entry in resource[4]}


async def test_one_broker_acknowledges_the_log_of_record_only_once_it_is_on_disk(
    kafka_bootstrap: str, unique_registry: str
) -> None:
    topics = Topics(unique_registry)
    await ensure_topics(kafka_bootstrap, topics, replication=1)
    for topic in (topics.events, topics.results):
        assert (await described(kafka_bootstrap, ConfigResourceType.TOPIC, topic))[
            "flush.messages"
        ] == "1"
    # The local broker flushes every append, the transaction log's too: a commit it
    # acknowledged is not lost with the page cache.
    broker = await described(kafka_bootstrap, ConfigResourceType.BROKER, "1")
    assert broker["log.flush.interval.messages"] == "1"
    # With replicas, flushing is left to Kafka's default: the replicas hold the guarantee.
    assert "flush.messages" not in topics.configs(3)[topics.events]

"""The broker SIGKILLed in the middle of a stream of commands, then started again on the same
data (limits-and-faults.md B4 #1), or frozen (SIGSTOP) mid-stream for longer than the
producer's request timeout, then thawed (B4 #2; whether a commit was in flight at the freeze
depends on timing): no acknowledged command is lost or applied twice, no transaction is torn,
the log stays dense and chained, and the processor and the API's bus resume on their own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from command_service.adapters.kafka_bus import KafkaCommandBus
from libs.localinfra.kafka_broker import KafkaBroker
from tests.integration.harness import (
    ProgrammeStream,
    assert_programmes_created_once,
    developer_env,
    init_env,
    start_processor_process,
    submit_until_decided,
)

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

N = 120
# Longer than the processor producer's request timeout (30 s): its commit in flight fails.
FREEZE_S = 33.0
# Liveness: after the broker is back, every command is decided within this many seconds.
RESUME_WITHIN_S = 120.0


async def test_broker_killed_mid_stream_loses_and_duplicates_nothing(
    kafka_broker: KafkaBroker, unique_registry: str, tmp_path: Path
) -> None:
    async def crash() -> None:
        kafka_broker.kill()  # SIGKILL: open transactions, unacknowledged sends, all cut
        await asyncio.sleep(2)
        await kafka_broker.start()  # same data dir, same ports

    await stream_through_a_fault(kafka_broker, unique_registry, tmp_path, crash)


async def test_broker_frozen_past_the_request_timeout_tears_nothing(
    kafka_broker: KafkaBroker, unique_registry: str, tmp_path: Path
) -> None:
    async def freeze() -> None:
        kafka_broker.pause()  # requests in flight wait past their timeout
        try:
            await asyncio.sleep(FREEZE_S)
        finally:
            kafka_broker.resume()

    await stream_through_a_fault(kafka_broker, unique_registry, tmp_path, freeze)


async def stream_through_a_fault(
    kafka_broker: KafkaBroker,
    unique_registry: str,
    tmp_path: Path,
    fault: Callable[[], Awaitable[None]],
) -> None:
    reg = unique_registry
    bootstrap = kafka_broker.bootstrap
    proc = start_processor_process(bootstrap, reg, tmp_path, "processor")
    bus = KafkaCommandBus(bootstrap, reg)
    await bus.start()
    try:
        await submit_until_decided(bus, init_env(reg), deadline_s=90)
        await submit_until_decided(bus, developer_env(reg), deadline_s=60)
        stream = ProgrammeStream(bus, reg, N, timeout_s=3, deadline_s=300)
        await stream.reached(N // 3)
        await fault()
        restarted = time.monotonic()
        seqs = await stream.seqs(RESUME_WITHIN_S + 60)
        assert time.monotonic() - restarted < RESUME_WITHIN_S
        assert proc.proc.poll() is None, "the processor process should survive the outage"
    finally:
        await bus.close()
        proc.kill()
    await assert_programmes_created_once(bootstrap, reg, N, seqs)

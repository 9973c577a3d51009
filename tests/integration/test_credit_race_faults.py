"""Clients racing to spend the same credits while the broker is killed, or the processor is
killed and another takes over (limits-and-faults.md B4 #5 under #1 and #6): every client
retries with its command id until decided. Exactly the affordable transfers succeed, each
command is decided once, and no credit is created, destroyed or spent twice."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.application.restore import restore
from command_service.domain.ledger import balance
from libs.localinfra.kafka_broker import KafkaBroker
from schemas.codec import decode_result
from schemas.commands.credits import RequestTransfer
from schemas.envelope import Actor, ResultEnvelope
from tests.integration.harness import (
    ProcessorProcess,
    envelope,
    issued_credits_setup,
    start_processor_process,
    submit_until_decided,
)

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

ISSUED = 100
EACH = 2
CLIENTS = 60  # 50 can be served, 10 must be refused
SPREAD_S = 0.02  # client i submits after i * SPREAD_S: the race spans the fault
ANSWERED_BEFORE_FAULT = 3  # the fault strikes once this many clients have their answer
DEVELOPER_ADMIN = Actor(kind="user", user_id=2)


async def race_through(
    kafka_broker: KafkaBroker,
    reg: str,
    tmp_path: Path,
    fault: Callable[[list[ProcessorProcess]], Awaitable[None]],
) -> None:
    bootstrap = kafka_broker.bootstrap
    processors = [start_processor_process(bootstrap, reg, tmp_path, "processor-1")]
    bus = KafkaCommandBus(bootstrap, reg)
    await bus.start()
    try:
        for env in issued_credits_setup(reg, ISSUED):
            result = await submit_until_decided(bus, env, deadline_s=90)
            assert result.status == "accepted", result

        async def client(i: int) -> ResultEnvelope:
            await asyncio.sleep(i * SPREAD_S)
            env = envelope(
                reg,
                f"race-{i}",
                DEVELOPER_ADMIN,
                RequestTransfer(programme_id="001", to_company_id=3, amount=EACH),
            )
            return await submit_until_decided(bus, env, timeout_s=3, deadline_s=240)

        tasks = [asyncio.create_task(client(i)) for i in range(CLIENTS)]
        deadline = asyncio.get_running_loop().time() + 60
        while sum(t.done() for t in tasks) < ANSWERED_BEFORE_FAULT:
            assert asyncio.get_running_loop().time() < deadline, "the race did not start"
            await asyncio.sleep(0.01)
        before = sum(t.done() for t in tasks)
        await fault(processors)
        results = await asyncio.wait_for(asyncio.gather(*tasks), 300)
    finally:
        await bus.close()
        for p in processors:
            p.kill()

    # The fault landed mid-race: some clients were answered before it, most after.
    assert 0 < before < ISSUED // EACH, before
    accepted = [r for r in results if r.status == "accepted"]
    refused = [r for r in results if r.status == "rejected"]
    assert len(accepted) == ISSUED // EACH
    assert len(refused) == CLIENTS - ISSUED // EACH
    assert {r.error.code for r in refused if r.error} == {"credits.insufficient_balance"}

    log = KafkaProcessorLog(bootstrap, reg)
    try:
        await log.acquire()
        state = (await restore(log, reg)).state
        decided = Counter(
            res.command_id
            for batch in [b async for b in log.read_results(0)]
            for res in map(decode_result, (r.raw for r in batch))
            if not res.duplicate and res.command_id.startswith("race-")
        )
    finally:
        await log.close()
    assert decided == Counter({f"race-{i}": 1 for i in range(CLIENTS)})  # each once
    assert balance(state, "company:2", "001") == 0
    assert balance(state, "company:3", "001") == ISSUED
    ranges = sorted((b.start, b.end) for b in state.blocks.values())
    assert sum(end - start + 1 for start, end in ranges) == ISSUED
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))


async def test_racing_transfers_through_a_broker_crash_spend_each_credit_once(
    kafka_broker: KafkaBroker, unique_registry: str, tmp_path: Path
) -> None:
    async def crash(_: list[ProcessorProcess]) -> None:
        kafka_broker.kill()
        await asyncio.sleep(2)
        await kafka_broker.start()

    await race_through(kafka_broker, unique_registry, tmp_path, crash)


async def test_racing_transfers_through_a_processor_handover_spend_each_credit_once(
    kafka_broker: KafkaBroker, unique_registry: str, tmp_path: Path
) -> None:
    async def handover(processors: list[ProcessorProcess]) -> None:
        processors[0].kill()  # SIGKILL mid-race: whatever it had not committed is gone
        processors.append(
            start_processor_process(
                kafka_broker.bootstrap, unique_registry, tmp_path, "processor-2"
            )
        )

    await race_through(kafka_broker, unique_registry, tmp_path, handover)

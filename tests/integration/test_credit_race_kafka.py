"""Many clients racing to spend the same credits, through the real broker: exactly the
affordable transfers succeed, the rest are refused cleanly, and no credit is created,
destroyed or spent twice."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.application.processor import Processor
from command_service.application.restore import restore
from command_service.domain.ledger import balance
from schemas.commands.credits import RequestTransfer
from schemas.envelope import Actor
from tests.integration.harness import (
    envelope,
    issued_credits_setup,
    running,
)

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

ISSUED = 100
EACH = 10
CLIENTS = 40
DEVELOPER_ADMIN = Actor(kind="user", user_id=2)  # first admin of the first developer


async def test_racing_transfers_spend_each_credit_once(
    kafka_bootstrap: str, unique_registry: str
) -> None:
    reg = unique_registry
    log = KafkaProcessorLog(kafka_bootstrap, reg)
    processor = Processor(log, reg)
    bus = KafkaCommandBus(kafka_bootstrap, reg)
    async with running(processor.run(asyncio.Event())):
        await bus.start()
        try:
            setup = issued_credits_setup(reg, ISSUED)
            for env in setup:
                result = await bus.submit(env, 30)
                assert result.status == "accepted", result
            races = [
                envelope(
                    reg,
                    f"race-{i}",
                    DEVELOPER_ADMIN,
                    RequestTransfer(programme_id="001", to_company_id=3, amount=EACH),
                )
                for i in range(CLIENTS)
            ]
            results = await asyncio.gather(*(bus.submit(env, 60) for env in races))
        finally:
            await bus.close()
    await log.close()

    accepted = [r for r in results if r.status == "accepted"]
    refused = [r for r in results if r.status == "rejected"]
    assert len(accepted) == ISSUED // EACH
    assert len(refused) == CLIENTS - ISSUED // EACH
    assert {r.error.code for r in refused if r.error} == {"credits.insufficient_balance"}

    # What the log says, folded from scratch: every credit is exactly where it should be.
    log2 = KafkaProcessorLog(kafka_bootstrap, reg)
    try:
        await log2.acquire()
        state = (await restore(log2, reg)).state
    finally:
        await log2.close()
    assert balance(state, "company:2", "001") == 0
    assert balance(state, "company:3", "001") == ISSUED
    ranges = sorted((b.start, b.end) for b in state.blocks.values())
    assert sum(end - start + 1 for start, end in ranges) == ISSUED
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))

"""Adapters under contract: every ProcessorLog/CommandBus pair passes the same suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

from command_service.adapters.embedded_log import (
    CommandQueue,
    EmbeddedCommandBus,
    EmbeddedProcessorLog,
)
from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.application.ports import CommandBus, ProcessorLog


@dataclass
class LogPair:
    """A factory for processor-side logs and the matching API-side bus, on one registry."""

    kind: str
    registry: str
    new_log: Callable[[], ProcessorLog]
    bus: CommandBus
    # Make a log give up leadership without closing its producer (a zombie).
    abandon: Callable[[ProcessorLog], Awaitable[None]]


@pytest.fixture(params=["embedded", "kafka"])
def log_target(request: pytest.FixtureRequest, fresh_db: str) -> tuple[str, str | None, str]:
    """(adapter kind, Kafka bootstrap or None, database DSN). Kafka starts only if needed."""
    bootstrap = request.getfixturevalue("kafka_bootstrap") if request.param == "kafka" else None
    return request.param, bootstrap, fresh_db


@pytest_asyncio.fixture(loop_scope="session")
async def log_pair(
    log_target: tuple[str, str | None, str], unique_registry: str
) -> AsyncIterator[LogPair]:
    kind, bootstrap, fresh_db = log_target
    if kind == "embedded":
        queue = CommandQueue()

        async def abandon_embedded(log: ProcessorLog) -> None:
            return None

        yield LogPair(
            "embedded",
            unique_registry,
            lambda: EmbeddedProcessorLog(fresh_db, unique_registry, queue),
            EmbeddedCommandBus(queue),
            abandon_embedded,
        )
        return
    assert bootstrap is not None
    bus = KafkaCommandBus(bootstrap, unique_registry)

    async def abandon_kafka(log: ProcessorLog) -> None:
        assert isinstance(log, KafkaProcessorLog)
        consumer = log._consumer
        assert consumer is not None
        await consumer.stop()  # leaves the group; its producer stays alive (zombie)
        log._consumer = None

    pair = LogPair(
        "kafka",
        unique_registry,
        lambda: KafkaProcessorLog(bootstrap, unique_registry),
        bus,
        abandon_kafka,
    )
    try:
        yield pair
    finally:
        await bus.close()

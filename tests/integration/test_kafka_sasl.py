"""The registry on a broker that demands SASL credentials: every client (processor, command
API bus, event readers, admin) authenticates with ``REGISTRY_KAFKA_*``; a client without the
right credentials gets nowhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiokafka.errors import KafkaConnectionError

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.application.processor import Processor
from libs.eventlog.kafka_admin import ensure_topics
from libs.eventlog.kafka_source import KafkaEventSource
from libs.eventlog.topics import Topics
from libs.eventlog.verify import verify_log
from libs.localinfra.kafka_broker import KafkaBroker, warm_up
from tests.integration.harness import init_env, running

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="session")]

LISTENERS = "SASL_PLAINTEXT://127.0.0.1:@BROKER_PORT@,CONTROLLER://127.0.0.1:@CONTROLLER_PORT@"
SASL_BROKER = {
    "listeners": LISTENERS,
    "advertised.listeners": LISTENERS,
    "inter.broker.listener.name": "SASL_PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    "sasl.enabled.mechanisms": "PLAIN",
    "sasl.mechanism.inter.broker.protocol": "PLAIN",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
        "org.apache.kafka.common.security.plain.PlainLoginModule required"
        ' username="broker" password="broker-secret"'
        ' user_broker="broker-secret" user_registry="registry-secret";'
    ),
}


def credentials(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    monkeypatch.setenv("REGISTRY_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_USERNAME", "registry")
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_PASSWORD", password)


@pytest_asyncio.fixture(loop_scope="session")
async def sasl_broker(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KafkaBroker]:
    credentials(monkeypatch, "registry-secret")
    broker = KafkaBroker(extra_properties=SASL_BROKER)
    try:
        await broker.start()
        await warm_up(broker.bootstrap)
        yield broker
    finally:
        await broker.stop()


async def test_the_registry_runs_on_a_broker_that_demands_credentials(
    sasl_broker: KafkaBroker, unique_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, bootstrap = unique_registry, sasl_broker.bootstrap
    log = KafkaProcessorLog(bootstrap, reg)
    processor = Processor(log, reg)
    bus = KafkaCommandBus(bootstrap, reg)
    async with running(processor.run(asyncio.Event())):
        await bus.start()
        try:
            result = await bus.submit(init_env(reg), 30)
        finally:
            await bus.close()
    await log.close()
    assert result.status == "accepted", result
    source = KafkaEventSource(bootstrap, Topics(reg).events)
    try:
        report = await verify_log(source, registry=reg)
    finally:
        await source.close()
    assert report.ok, report.breaks
    assert report.last_seq == result.last_seq == 3

    # Wrong credentials, or none: refused.
    credentials(monkeypatch, "not-the-password")
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await asyncio.wait_for(ensure_topics(bootstrap, Topics(reg + "x")), 30)
    monkeypatch.setenv("REGISTRY_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await asyncio.wait_for(ensure_topics(bootstrap, Topics(reg + "y")), 30)

"""The registry on a broker that demands SASL credentials: every client (processor, command
API bus, event readers, admin) authenticates with ``REGISTRY_KAFKA_*``; a client without the
right credentials gets nowhere; with ACLs per principal, nobody but the processor can write
the log."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.application.processor import Processor
from libs.eventlog.kafka_admin import ensure_topics
from libs.eventlog.kafka_security import kafka_options
from libs.eventlog.kafka_source import KafkaEventSource
from libs.eventlog.topics import Topics
from libs.eventlog.verify import Report, verify_log
from libs.localinfra.kafka_broker import KafkaBroker, warm_up
from schemas.envelope import ResultEnvelope
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


@contextlib.asynccontextmanager
async def broker_with(properties: dict[str, str]) -> AsyncIterator[KafkaBroker]:
    """A broker of its own with ``properties``; the environment's credentials must let the
    start-up checks in."""
    broker = KafkaBroker(extra_properties=properties)
    try:
        await broker.start()
        await warm_up(broker.bootstrap)
        yield broker
    finally:
        await broker.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def sasl_broker(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KafkaBroker]:
    credentials(monkeypatch, "registry-secret")
    async with broker_with(SASL_BROKER) as broker:
        yield broker


async def initialise(
    bootstrap: str,
    reg: str,
    as_processor: Callable[[], None] = lambda: None,
    as_api: Callable[[], None] = lambda: None,
) -> ResultEnvelope:
    """Initialise the registry through a processor and an API bus whose clients are made
    under ``as_processor``'s and ``as_api``'s credentials."""
    as_processor()
    log = KafkaProcessorLog(bootstrap, reg)
    processor = Processor(log, reg)
    await processor.start()
    as_api()
    bus = KafkaCommandBus(bootstrap, reg)
    try:
        async with running(processor.run(asyncio.Event())):
            await bus.start()
            try:
                return await bus.submit(init_env(reg), 30)
            finally:
                await bus.close()
    finally:
        await log.close()


async def verified(bootstrap: str, reg: str) -> Report:
    source = KafkaEventSource(bootstrap, Topics(reg).events)
    try:
        return await verify_log(source, registry=reg)
    finally:
        await source.close()


async def test_the_registry_runs_on_a_broker_that_demands_credentials(
    sasl_broker: KafkaBroker, unique_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, bootstrap = unique_registry, sasl_broker.bootstrap
    result = await initialise(bootstrap, reg)
    assert result.status == "accepted", result
    report = await verified(bootstrap, reg)
    assert report.ok, report.breaks
    assert report.last_seq == result.last_seq == 3

    # Wrong credentials, or none: refused.
    credentials(monkeypatch, "not-the-password")
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await asyncio.wait_for(ensure_topics(bootstrap, Topics(reg + "x")), 30)
    monkeypatch.setenv("REGISTRY_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await asyncio.wait_for(ensure_topics(bootstrap, Topics(reg + "y")), 30)


PRINCIPALS = {
    "broker": "broker-secret",
    "processor": "processor-secret",
    "api": "api-secret",
    "reader": "reader-secret",
    "mallory": "mallory-secret",
}
ACL_BROKER = {
    **SASL_BROKER,
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
        "org.apache.kafka.common.security.plain.PlainLoginModule required"
        ' username="broker" password="broker-secret" '
        + " ".join(f'user_{name}="{secret}"' for name, secret in PRINCIPALS.items())
        + ";"
    ),
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    # The broker's own principal, and the controller listener's (PLAINTEXT, loopback only).
    "super.users": "User:broker;User:ANONYMOUS",
    "allow.everyone.if.no.acl.found": "false",
}


def as_principal(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_USERNAME", name)
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_PASSWORD", PRINCIPALS[name])


@pytest_asyncio.fixture(loop_scope="session")
async def acl_broker(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KafkaBroker]:
    credentials(monkeypatch, "broker-secret")
    as_principal(monkeypatch, "broker")
    async with broker_with(ACL_BROKER) as broker:
        yield broker


async def forge_event(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **kafka_options())
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"seq": 4, "type": "Forged"}')
    finally:
        await producer.stop()


async def test_broker_acls_let_only_the_processor_write_the_log(
    acl_broker: KafkaBroker, unique_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """limits-and-faults.md B4 #11: a direct produce to the events topic, bypassing the
    command service, is refused by the broker for every principal but the processor's."""
    reg, bootstrap = unique_registry, acl_broker.bootstrap
    topics = Topics(reg)
    admin = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required"
        ' username="broker" password="broker-secret";',
    }
    prefixed = ["--resource-pattern-type", "prefixed"]
    await acl_broker.add_acls(
        admin, "--allow-principal", "User:processor", "--operation", "All",
        "--topic", f"{reg}.", *prefixed,
        "--transactional-id", topics.transactional_id, "--group", topics.processor_group,
    )  # fmt: skip
    await acl_broker.add_acls(
        admin, "--allow-principal", "User:api", "--operation", "Describe",
        "--topic", f"{reg}.", *prefixed,
    )  # fmt: skip
    await acl_broker.add_acls(
        admin, "--allow-principal", "User:api", "--operation", "Write", "--topic", topics.commands
    )
    await acl_broker.add_acls(
        admin, "--allow-principal", "User:api", "--operation", "Read", "--topic", topics.results
    )
    await acl_broker.add_acls(
        admin, "--allow-principal", "User:reader", "--operation", "Read",
        "--operation", "Describe", "--topic", topics.events,
    )  # fmt: skip

    result = await initialise(
        bootstrap,
        reg,
        as_processor=lambda: as_principal(monkeypatch, "processor"),
        as_api=lambda: as_principal(monkeypatch, "api"),
    )
    assert result.status == "accepted", result

    for intruder in ("mallory", "api", "reader"):
        as_principal(monkeypatch, intruder)
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(forge_event(bootstrap, topics.events), 30)

    as_principal(monkeypatch, "reader")
    report = await verified(bootstrap, reg)
    assert report.ok, report.breaks
    assert report.last_seq == 3  # nothing forged got in

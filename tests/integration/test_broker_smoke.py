"""aiokafka 0.14 against the real Kafka 4.2.1 broker: transactions, aborts, fencing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import ProducerFenced
from aiokafka.structs import TopicPartition

pytestmark = pytest.mark.kafka

TIMEOUT_S = 30.0


async def _create_topic(bootstrap: str) -> str:
    topic = f"smoke-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return topic


def _txn_producer(bootstrap: str, transactional_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=transactional_id)


async def _read_committed(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    """Read ``topic`` from the start with read_committed until the LSO is reached.

    Returns every value seen; waits until at least ``expected`` records arrived and the
    position has caught up with the last stable offset.
    """
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]  # = LSO for read_committed
        values: list[bytes] = []
        async with asyncio.timeout(TIMEOUT_S):
            while len(values) < expected or await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=100)
                values.extend(r.value for r in batch.get(tp, []) if r.value is not None)
        # Nothing more must show up.
        extra = await consumer.getmany(tp, timeout_ms=300)
        values.extend(r.value for r in extra.get(tp, []) if r.value is not None)
        return values
    finally:
        await consumer.stop()


async def test_committed_transaction_is_read_exactly(kafka_bootstrap: str) -> None:
    topic = await _create_topic(kafka_bootstrap)
    producer = _txn_producer(kafka_bootstrap, f"smoke-commit-{uuid.uuid4().hex}")
    await producer.start()
    try:
        async with asyncio.timeout(TIMEOUT_S), producer.transaction():
            for i in range(3):
                await producer.send(topic, f"v{i}".encode(), key=b"k")
    finally:
        await producer.stop()

    assert await _read_committed(kafka_bootstrap, topic, expected=3) == [b"v0", b"v1", b"v2"]


async def test_aborted_transaction_is_never_seen(kafka_bootstrap: str) -> None:
    topic = await _create_topic(kafka_bootstrap)
    producer = _txn_producer(kafka_bootstrap, f"smoke-abort-{uuid.uuid4().hex}")
    await producer.start()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await producer.begin_transaction()
            for i in range(3):
                await producer.send_and_wait(topic, f"aborted{i}".encode())
            await producer.abort_transaction()

            async with producer.transaction():
                await producer.send_and_wait(topic, b"committed")
    finally:
        await producer.stop()

    assert await _read_committed(kafka_bootstrap, topic, expected=1) == [b"committed"]


async def test_second_producer_with_same_transactional_id_fences_the_first(
    kafka_bootstrap: str,
) -> None:
    topic = await _create_topic(kafka_bootstrap)
    txn_id = f"smoke-fence-{uuid.uuid4().hex}"
    zombie = _txn_producer(kafka_bootstrap, txn_id)
    successor = _txn_producer(kafka_bootstrap, txn_id)
    await zombie.start()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await zombie.begin_transaction()
            await zombie.send_and_wait(topic, b"zombie")

            # InitProducerId with the same transactional.id bumps the epoch and aborts the
            # zombie's open transaction.
            await successor.start()
            async with successor.transaction():
                await successor.send_and_wait(topic, b"successor")

            # EndTxn with the old epoch -> INVALID_PRODUCER_EPOCH, which aiokafka raises as
            # ProducerFenced (fatal: the zombie must be thrown away).
            with pytest.raises(ProducerFenced):
                await zombie.commit_transaction()
    finally:
        await successor.stop()
        await zombie.stop()

    assert await _read_committed(kafka_bootstrap, topic, expected=1) == [b"successor"]

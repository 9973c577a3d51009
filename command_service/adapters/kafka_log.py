"""The Kafka log: commands in, events + results out, one transaction per batch.

Leadership: the processor joins the consumer group ``<r>.processor`` on ``<r>.commands``
(one partition, so one member holds it; the others are standbys). On assignment it starts a
transactional producer with the registry's fixed ``transactional.id``; InitProducerId bumps
the epoch, which fences any zombie and aborts its open transaction. Only then does it read
the committed command offset and the events. Any producer error is fatal to this processor
instance: the caller drops its state, and a restart recovers from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalOperation, KafkaError, ProducerFenced
from aiokafka.producer import sender as aiokafka_sender

from command_service.application.ports import (
    Batch,
    CommandRecord,
    Committed,
    Fenced,
    LogUnavailable,
    Snapshot,
)
from libs.eventlog.kafka_admin import ensure_topics
from libs.eventlog.kafka_security import kafka_options
from libs.eventlog.ports import RawRecord
from libs.eventlog.topics import (
    FETCH_WAIT_MS,
    PRODUCER_BATCH_BYTES,
    SNAPSHOT_MAX_BYTES,
    Topics,
)
from schemas.codec import decode_command

log = structlog.get_logger("kafka_log")

# Transaction steps answered CONCURRENT_TRANSACTIONS are retried after this backoff; the
# 100 ms default doubles the commit latency under load.
TXN_RETRY_BACKOFF_MS = 5
# The first AddPartitionsToTxn of a transaction is answered CONCURRENT_TRANSACTIONS while
# the broker still writes the previous commit's markers (a few ms). aiokafka then sleeps a
# hard-coded 20 ms (``sender.BACKOFF_OVERRIDE``, KAFKA-5477), not ``retry_backoff_ms``: a
# pipelined processor starts its next transaction right after a commit and would pay those
# 20 ms on most of them. Use our backoff there too (the value is read at each retry).
aiokafka_sender.BACKOFF_OVERRIDE = TXN_RETRY_BACKOFF_MS / 1000


class _Assignment(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.assigned = asyncio.Event()
        self.lost = False

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self.lost = True
            self.assigned.clear()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            self.assigned.set()


async def _read_range(
    bootstrap: str, tp: TopicPartition, from_position: int, batch: int = 5000
) -> AsyncIterator[list[RawRecord]]:
    """Committed records of one partition from a position to its end as of now."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **kafka_options(),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=SNAPSHOT_MAX_BYTES,
        fetch_max_bytes=SNAPSHOT_MAX_BYTES,
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if from_position >= end:
            return
        consumer.seek(tp, from_position)
        while await consumer.position(tp) < end:
            got = await consumer.getmany(tp, timeout_ms=200, max_records=batch)
            records = [RawRecord(r.offset, r.value) for r in got.get(tp, []) if r.offset < end]
            if records:
                yield records
    finally:
        await consumer.stop()


class KafkaProcessorLog:
    def __init__(self, bootstrap: str, registry: str, *, replication: int = 1) -> None:
        self._bootstrap = bootstrap
        self._topics = Topics(registry)
        self._replication = replication
        self._commands_tp = TopicPartition(self._topics.commands, 0)
        self._listener = _Assignment()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    async def acquire(self) -> None:
        await ensure_topics(self._bootstrap, self._topics, self._replication)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            **kafka_options(),
            group_id=self._topics.processor_group,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_WAIT_MS,
            max_poll_interval_ms=60_000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            # Topics may have been created a moment ago: refresh metadata often, so the
            # group never settles on an assignment made from stale metadata.
            metadata_max_age_ms=5_000,
        )
        await self._consumer.start()
        for _ in range(100):
            if self._consumer.partitions_for_topic(self._topics.commands):
                break
            await self._consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        self._consumer.subscribe([self._topics.commands], listener=self._listener)
        log.info("waiting_for_leadership", group=self._topics.processor_group)
        # A standby waits here until the group hands it the partition.
        while not self._listener.assigned.is_set():
            await self._consumer.getmany(timeout_ms=200)
        self._listener.lost = False
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            **kafka_options(),
            transactional_id=self._topics.transactional_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=0,
            max_batch_size=PRODUCER_BATCH_BYTES,
            retry_backoff_ms=TXN_RETRY_BACKOFF_MS,
            max_request_size=SNAPSHOT_MAX_BYTES,
            request_timeout_ms=30_000,
        )
        await self._producer.start()  # InitProducerId: fences every older writer
        committed = await self._consumer.committed(self._commands_tp)
        self._consumer.seek(self._commands_tp, committed or 0)
        log.info("leadership_acquired", commands_offset=committed or 0)

    async def latest_snapshot(self) -> Snapshot | None:
        tp = TopicPartition(self._topics.snapshots, 0)
        latest: Snapshot | None = None
        async for batch in _read_range(self._bootstrap, tp, 0, batch=10):
            for rec in batch:
                try:
                    head_len = int.from_bytes(rec.raw[:4], "big")
                    head = orjson.loads(rec.raw[4 : 4 + head_len])
                    latest = Snapshot(
                        seq=int(head["seq"]),
                        events_position=int(head["events_position"]),
                        results_position=int(head["results_position"]),
                        state=rec.raw[4 + head_len :],
                    )
                except (ValueError, KeyError, orjson.JSONDecodeError):
                    log.warning("snapshot_unreadable", offset=rec.position)
        return latest

    def read_events(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        return _read_range(self._bootstrap, TopicPartition(self._topics.events, 0), from_position)

    def read_results(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        return _read_range(self._bootstrap, TopicPartition(self._topics.results, 0), from_position)

    async def next_commands(self, max_records: int, timeout_s: float) -> list[CommandRecord]:
        assert self._consumer is not None
        if self._listener.lost:
            raise Fenced("the commands partition was taken by another processor")
        got = await self._consumer.getmany(
            self._commands_tp, timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        if self._listener.lost:
            raise Fenced("the commands partition was taken by another processor")
        out = []
        for r in got.get(self._commands_tp, []):
            try:
                out.append(CommandRecord(r.offset, r.value, decode_command(r.value)))
            except ValueError as exc:
                out.append(CommandRecord(r.offset, r.value or b"", None, str(exc)))
        return out

    async def commit(self, batch: Batch) -> Committed:
        producer = self._producer
        assert producer is not None
        try:
            async with producer.transaction():
                event_futs = [
                    await producer.send(
                        self._topics.events,
                        value=raw,
                        key=env.aggregate_id.encode(),
                        headers=[("type", env.type.encode()), ("seq", str(env.seq).encode())],
                    )
                    for env, raw in batch.events
                ]
                result_futs = [
                    await producer.send(
                        self._topics.results, value=raw, key=res.command_id.encode()
                    )
                    for res, raw in batch.results
                ]
                await producer.send_offsets_to_transaction(
                    {self._commands_tp: batch.commands_next_position},
                    self._topics.processor_group,
                )
            event_meta = await asyncio.gather(*event_futs)
            result_meta = await asyncio.gather(*result_futs)
        except ProducerFenced as exc:
            raise Fenced(str(exc)) from exc
        except IllegalOperation as exc:
            # The sender saw ProducerFenced in the background and left the transaction.
            raise Fenced(f"the producer left its transaction (fenced): {exc}") from exc
        except KafkaError as exc:
            raise LogUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return Committed(
            events_next_position=event_meta[-1].offset + 1 if event_meta else -1,
            results_next_position=result_meta[-1].offset + 1 if result_meta else -1,
        )

    async def write_snapshot(self, snapshot: Snapshot) -> None:
        producer = self._producer
        assert producer is not None
        head = orjson.dumps(
            {
                "seq": snapshot.seq,
                "events_position": snapshot.events_position,
                "results_position": snapshot.results_position,
            }
        )
        value = len(head).to_bytes(4, "big") + head + snapshot.state
        try:
            async with producer.transaction():
                await producer.send(self._topics.snapshots, value=value, key=b"state")
        except (ProducerFenced, IllegalOperation) as exc:
            raise Fenced(str(exc)) from exc
        except KafkaError as exc:
            raise LogUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(KafkaError):
                await self._producer.stop()
            self._producer = None
        if self._consumer is not None:
            with contextlib.suppress(KafkaError):
                await self._consumer.stop()
            self._consumer = None

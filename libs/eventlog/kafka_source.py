"""Reading committed events from ``<registry>.events`` (read_committed, no consumer group).

Offsets are never committed to Kafka: every reader stores its own position (projectors in
Postgres, in the same transaction as their read models) and seeks to it.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from libs.eventlog.kafka_security import kafka_options
from libs.eventlog.ports import RawRecord
from libs.eventlog.topics import FETCH_WAIT_MS


class KafkaEventSource:
    def __init__(
        self, bootstrap: str, topic: str, *, fetch_max_wait_ms: int = FETCH_WAIT_MS
    ) -> None:
        self._tp = TopicPartition(topic, 0)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            **kafka_options(),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        self._started = False

    async def _start(self) -> None:
        if not self._started:
            await self._consumer.start()
            self._consumer.assign([self._tp])
            self._started = True

    async def seek(self, position: int) -> None:
        await self._start()
        self._consumer.seek(self._tp, position)

    async def next_batch(self, max_records: int, timeout_s: float) -> list[RawRecord]:
        await self._start()
        got = await self._consumer.getmany(
            self._tp, timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        return [RawRecord(r.offset, r.value) for r in got.get(self._tp, [])]

    async def end_position(self) -> int:
        await self._start()
        ends = await self._consumer.end_offsets([self._tp])
        return int(ends[self._tp])

    async def close(self) -> None:
        if self._started:
            await self._consumer.stop()
            self._started = False

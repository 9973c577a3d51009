"""The API node's side of the Kafka log: publish a command, await its result.

Each API node tails ``<r>.results`` (read_committed, from the end as of its start) and
wakes the request waiting on that command id. A waiter is registered before the command is
published, so a fast result is never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from command_service.application.ports import LogUnavailable, ResultTimeout
from libs.eventlog.kafka_admin import ensure_topics
from libs.eventlog.kafka_security import kafka_options
from libs.eventlog.topics import COMMAND_MAX_BYTES, FETCH_WAIT_MS, PRODUCER_BATCH_BYTES, Topics
from schemas.codec import decode_result, encode_command
from schemas.envelope import CommandEnvelope, ResultEnvelope

log = structlog.get_logger("kafka_bus")


class KafkaCommandBus:
    def __init__(self, bootstrap: str, registry: str) -> None:
        self._bootstrap = bootstrap
        self._topics = Topics(registry)
        self._tp = TopicPartition(self._topics.results, 0)
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiters: dict[str, deque[asyncio.Future[ResultEnvelope]]] = defaultdict(deque)
        self.ready = asyncio.Event()

    async def start(self) -> None:
        try:
            await ensure_topics(self._bootstrap, self._topics)
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                **kafka_options(),
                enable_idempotence=True,
                acks="all",
                linger_ms=1,
                max_batch_size=PRODUCER_BATCH_BYTES,
                max_request_size=COMMAND_MAX_BYTES,
                request_timeout_ms=10_000,
            )
            await self._producer.start()
            self._consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                **kafka_options(),
                group_id=None,
                enable_auto_commit=False,
                isolation_level="read_committed",
                fetch_max_wait_ms=FETCH_WAIT_MS,
            )
            await self._consumer.start()
            self._consumer.assign([self._tp])
            await self._consumer.seek_to_end(self._tp)
            await self._consumer.position(self._tp)
        except KafkaError as exc:
            await self.close()
            raise LogUnavailable(f"Kafka at {self._bootstrap}: {exc}") from exc
        self._task = asyncio.create_task(self._tail(), name="results-tail")
        self.ready.set()

    async def _tail(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                got = await self._consumer.getmany(self._tp, timeout_ms=500, max_records=2000)
            except KafkaError as exc:
                log.warning("results_tail_error", error=str(exc))
                await asyncio.sleep(0.5)
                continue
            for rec in got.get(self._tp, []):
                try:
                    result = decode_result(rec.value)
                except ValueError:
                    log.error("unreadable_result", offset=rec.offset)
                    continue
                waiters = self._waiters.get(result.command_id)
                if not waiters:
                    continue
                fut = waiters.popleft()
                if not waiters:
                    del self._waiters[result.command_id]
                if not fut.done():
                    fut.set_result(result)

    async def submit(self, command: CommandEnvelope, timeout_s: float) -> ResultEnvelope:
        if self._producer is None or not self.ready.is_set():
            raise LogUnavailable("not connected to Kafka")
        fut: asyncio.Future[ResultEnvelope] = asyncio.get_running_loop().create_future()
        waiters = self._waiters[command.command_id]
        waiters.append(fut)
        try:
            try:
                await asyncio.wait_for(
                    self._producer.send_and_wait(
                        self._topics.commands,
                        value=encode_command(command),
                        key=command.command_id.encode(),
                    ),
                    timeout=min(timeout_s, 10.0),
                )
            except (KafkaError, TimeoutError) as exc:
                raise LogUnavailable(f"could not publish the command: {exc!r}") from exc
            try:
                return await asyncio.wait_for(asyncio.shield(fut), timeout_s)
            except TimeoutError:
                raise ResultTimeout(command.command_id) from None
        finally:
            if not fut.done():
                fut.cancel()
            w = self._waiters.get(command.command_id)
            if w is not None and fut in w:
                w.remove(fut)
                if not w:
                    del self._waiters[command.command_id]

    async def close(self) -> None:
        self.ready.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for client in (self._producer, self._consumer):
            if client is not None:
                with contextlib.suppress(KafkaError):
                    await client.stop()
        self._producer = None
        self._consumer = None

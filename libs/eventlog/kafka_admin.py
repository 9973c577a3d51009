"""Idempotent creation of a registry's topics, with one partition each."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from libs.eventlog.kafka_security import kafka_options
from libs.eventlog.topics import Topics


class TopicLayoutError(RuntimeError):
    """A topic exists with more than one partition: the registry's total order would break."""


async def ensure_topics(bootstrap: str, topics: Topics, replication: int = 1) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **kafka_options()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name=name, num_partitions=1, replication_factor=replication, topic_configs=cfg)
            for name, cfg in topics.configs(replication).items()
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        names = list(topics.configs(replication))
        # Right after creation a topic may be described with no partitions yet: retry.
        for _ in range(100):
            described = await admin.describe_topics(names)
            counts = {t.get("topic"): len(t.get("partitions", [])) for t in described}
            for name, count in counts.items():
                if count > 1:
                    raise TopicLayoutError(
                        f"topic {name} has {count} partitions; exactly 1 is required"
                    )
            if all(counts.get(name) == 1 for name in names):
                return
            await asyncio.sleep(0.1)
        raise TopicLayoutError(f"topics {names} did not appear with their partition in time")
    finally:
        await admin.close()

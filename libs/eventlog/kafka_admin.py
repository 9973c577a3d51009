"""Idempotent creation of a registry's topics, with one partition each."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from libs.eventlog.topics import Topics


class TopicLayoutError(RuntimeError):
    """A topic exists with more than one partition: the registry's total order would break."""


async def ensure_topics(bootstrap: str, topics: Topics, replication: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
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
        described = await admin.describe_topics(list(topics.configs(replication)))
        for topic in described:
            parts = topic.get("partitions", [])
            if len(parts) != 1:
                raise TopicLayoutError(
                    f"topic {topic.get('topic')} has {len(parts)} partitions; exactly 1 is required"
                )
    finally:
        await admin.close()

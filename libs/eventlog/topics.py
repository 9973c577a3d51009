"""Per-registry Kafka topic names and settings (ARCHITECTURE.md section 2)."""

from __future__ import annotations

from dataclasses import dataclass

SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024
COMMAND_MAX_BYTES = 1024 * 1024
# Producer batch bound per partition. aiokafka's default (16 KiB) holds about 13 events or
# 20 commands, keeps one batch per partition buffered and sends one batch per partition per
# request with one request in flight: a busy API node then waits a round trip per 20
# commands, and a processor transaction pays a produce round trip per 13 events. Under the
# topics' default 1 MiB record-batch limit (``max.message.bytes``).
PRODUCER_BATCH_BYTES = 512 * 1024


@dataclass(frozen=True)
class Topics:
    registry: str

    @property
    def commands(self) -> str:
        return f"{self.registry}.commands"

    @property
    def events(self) -> str:
        return f"{self.registry}.events"

    @property
    def results(self) -> str:
        return f"{self.registry}.results"

    @property
    def snapshots(self) -> str:
        return f"{self.registry}.snapshots"

    @property
    def transactional_id(self) -> str:
        """Fixed per registry: a new processor's InitProducerId fences every older one."""
        return f"{self.registry}.processor"

    @property
    def processor_group(self) -> str:
        return f"{self.registry}.processor"

    def configs(self, replication: int) -> dict[str, dict[str, str]]:
        """Topic settings. Without replicas (one broker) the log of record and the results
        are flushed to disk on every append: an acknowledged event must survive power loss."""
        min_isr = str(min(2, replication))
        forever = {"retention.ms": "-1", "retention.bytes": "-1", "min.insync.replicas": min_isr}
        if replication == 1:
            forever["flush.messages"] = "1"
        return {
            self.commands: {"retention.ms": str(7 * 86400 * 1000), "min.insync.replicas": min_isr},
            self.events: {**forever, "cleanup.policy": "delete"},
            self.results: {**forever, "cleanup.policy": "delete"},
            self.snapshots: {
                "cleanup.policy": "compact",
                "max.message.bytes": str(SNAPSHOT_MAX_BYTES),
                "min.insync.replicas": min_isr,
            },
        }


# Long-poll bound for tailing consumers. The broker answers a fetch as soon as data (or, for
# read_committed, a transaction marker) arrives, so this only bounds how often an idle
# consumer asks again; small values cost broker CPU, not latency.
FETCH_WAIT_MS = 100

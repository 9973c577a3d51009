"""The single-writer command processor of one registry.

Loop: take a batch of commands, decide each against the in-memory state, commit events,
results and the consumed command positions in one transaction. Any commit failure ends the
processor (its state may be ahead of the log); a restart restores from the log.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import structlog

from command_service.application.decisions import Decided, decide_one
from command_service.application.ports import Batch, ProcessorLog, Snapshot
from command_service.application.restore import restore
from command_service.domain.state import RegistryState, dump_state
from libs.observability.metrics import BATCH_SIZE, COMMANDS, PROCESSOR_SEQ, TXN_SECONDS
from libs.runtime import tune_gc

log = structlog.get_logger("processor")


class Processor:
    def __init__(
        self,
        log_port: ProcessorLog,
        registry: str,
        *,
        max_batch: int = 500,
        poll_timeout_s: float = 0.05,
        snapshot_every: int = 50_000,
    ) -> None:
        self.log = log_port
        self.registry = registry
        self.max_batch = max_batch
        self.poll_timeout_s = poll_timeout_s
        self.snapshot_every = snapshot_every
        self.state: RegistryState | None = None
        self.ready = asyncio.Event()
        self._events_pos = 0
        self._results_pos = 0
        self._last_snapshot_seq = 0
        self._last_now = datetime.fromtimestamp(0, UTC)

    def _now(self) -> datetime:
        # Event time never goes backwards, whatever the host clock does.
        now = datetime.now(UTC)
        if now < self._last_now:
            now = self._last_now
        self._last_now = now
        return now

    async def start(self) -> None:
        """Take leadership (fencing any other writer) and restore the state."""
        t0 = time.perf_counter()
        await self.log.acquire()
        restored = await restore(self.log, self.registry)
        self.state = restored.state
        self._events_pos = restored.events_position
        self._results_pos = restored.results_position
        self._last_snapshot_seq = self.state.last_seq
        tune_gc(freeze=True)  # the restored state is long-lived: keep the collector off it
        PROCESSOR_SEQ.labels(self.registry).set(self.state.last_seq)
        log.info(
            "processor_ready",
            registry=self.registry,
            seq=self.state.last_seq,
            replayed=restored.events_replayed,
            seconds=round(time.perf_counter() - t0, 3),
        )
        self.ready.set()

    async def step(self) -> int:
        """Decide and commit one batch; returns the number of commands handled."""
        assert self.state is not None
        records = await self.log.next_commands(self.max_batch, self.poll_timeout_s)
        if not records:
            return 0
        decided = Decided()
        now = self._now()
        for rec in records:
            decide_one(self.state, rec, now, decided)
        t0 = time.perf_counter()
        committed = await self.log.commit(
            Batch(decided.events, decided.results, records[-1].position + 1)
        )
        TXN_SECONDS.labels(self.registry).observe(time.perf_counter() - t0)
        BATCH_SIZE.labels(self.registry).observe(len(records))
        for res, _ in decided.results:
            COMMANDS.labels(
                self.registry, res.command_type, res.status, res.error.code if res.error else ""
            ).inc()
        if committed.events_next_position >= 0 and decided.events:
            self._events_pos = committed.events_next_position
        if committed.results_next_position >= 0:
            self._results_pos = committed.results_next_position
        PROCESSOR_SEQ.labels(self.registry).set(self.state.last_seq)
        if self.state.last_seq - self._last_snapshot_seq >= self.snapshot_every:
            await self.snapshot()
        return len(records)

    async def snapshot(self) -> None:
        assert self.state is not None
        snap = Snapshot(
            seq=self.state.last_seq,
            events_position=self._events_pos,
            results_position=self._results_pos,
            state=dump_state(self.state),
        )
        await self.log.write_snapshot(snap)
        self._last_snapshot_seq = snap.seq
        log.info("snapshot_written", seq=snap.seq, bytes=len(snap.state))

    async def run(self, stop: asyncio.Event) -> None:
        if self.state is None:
            await self.start()
        try:
            while not stop.is_set():
                await self.step()
        finally:
            self.ready.clear()

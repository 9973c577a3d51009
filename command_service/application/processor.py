"""The single-writer command processor of one registry.

Loop: take a batch of commands, decide each against the in-memory state, commit events,
results and the consumed command positions in one transaction. Any commit failure ends the
processor (its state may be ahead of the log); a restart restores from the log.

``run`` pipelines: while batch N commits (a few broker round trips of waiting), the commands
that arrive are fetched and decided against the in-memory state into batch N+1, which is
committed only once N has committed. Transactions stay strictly sequential, so the log's
order and exactly-once are those of the plain loop; if N fails, the decided-but-unpublished
N+1 is dropped with the rest of the state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

import structlog

from command_service.application.decisions import Decided, decide_one
from command_service.application.ports import (
    Batch,
    CommandRecord,
    Committed,
    ProcessorLog,
    Snapshot,
)
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
        """Decide and commit one batch, unpipelined; returns the number of commands handled."""
        records = await self.log.next_commands(self.max_batch, self.poll_timeout_s)
        if not records:
            return 0
        pending = _Pending()
        self._decide(records, pending)
        pending.seal(self.state)
        self._finish(pending, await self.log.commit(pending.batch()))
        if self._snapshot_due():
            await self.snapshot()
        return len(records)

    def _decide(self, records: list[CommandRecord], into: _Pending) -> None:
        assert self.state is not None
        now = self._now()
        for rec in records:
            decide_one(self.state, rec, now, into.decided)
        into.commands += len(records)
        into.next_position = records[-1].position + 1

    def _finish(self, pending: _Pending, committed: Committed) -> None:
        """Book-keeping once ``pending`` is in the log."""
        assert self.state is not None
        TXN_SECONDS.labels(self.registry).observe(time.perf_counter() - pending.started)
        BATCH_SIZE.labels(self.registry).observe(pending.commands)
        for res, _ in pending.decided.results:
            COMMANDS.labels(
                self.registry, res.command_type, res.status, res.error.code if res.error else ""
            ).inc()
        if committed.events_next_position >= 0 and pending.decided.events:
            self._events_pos = committed.events_next_position
        if committed.results_next_position >= 0:
            self._results_pos = committed.results_next_position
        PROCESSOR_SEQ.labels(self.registry).set(pending.last_seq)

    def _snapshot_due(self) -> bool:
        assert self.state is not None
        return self.state.last_seq - self._last_snapshot_seq >= self.snapshot_every

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
            await self._pipeline(stop)
        finally:
            self.ready.clear()

    async def _pipeline(self, stop: asyncio.Event) -> None:
        """Fetch and decide into the next batch while the current one commits.

        At most one transaction is in flight, and the next starts only after it succeeded; a
        failed commit raises here, and the caller drops the whole state (decided-but-unsent
        commands included). A snapshot is taken only when nothing is decided but uncommitted,
        so its state matches the log positions it records.
        """
        assert self.state is not None
        fetch: asyncio.Task[list[CommandRecord]] | None = None
        commit: asyncio.Task[Committed] | None = None
        committing = _Pending()
        next_batch = _Pending()
        snapshot_due = False
        try:
            while True:
                if (
                    fetch is None
                    and not stop.is_set()
                    and not snapshot_due
                    and next_batch.commands < self.max_batch
                ):
                    fetch = asyncio.create_task(
                        self.log.next_commands(
                            self.max_batch - next_batch.commands, self.poll_timeout_s
                        )
                    )
                if fetch is None and commit is None:
                    if not snapshot_due:
                        return  # stopped, and everything decided is committed
                    await self.snapshot()
                    snapshot_due = False
                    continue
                await asyncio.wait(
                    [t for t in (fetch, commit) if t is not None],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if commit is not None and commit.done():
                    self._finish(committing, commit.result())  # a failed commit raises here
                    commit = None
                    snapshot_due = snapshot_due or self._snapshot_due()
                if fetch is not None and fetch.done():
                    records = fetch.result()
                    fetch = None
                    if records:
                        self._decide(records, next_batch)
                if commit is None and next_batch.commands:
                    committing, next_batch = next_batch, _Pending()
                    committing.seal(self.state)
                    commit = asyncio.create_task(self.log.commit(committing.batch()))
        finally:
            for task in (fetch, commit):
                if task is not None and not task.done():
                    task.cancel()
            for task in (fetch, commit):
                if task is not None:
                    with contextlib.suppress(BaseException):
                        await task


class _Pending:
    """Commands decided into one batch, not yet (or being) committed."""

    __slots__ = ("commands", "decided", "last_seq", "next_position", "started")

    def __init__(self) -> None:
        self.decided = Decided()
        self.commands = 0
        self.next_position = -1
        self.last_seq = 0
        self.started = time.perf_counter()

    def seal(self, state: RegistryState | None) -> None:
        """Nothing more goes in: note the seq it ends at and start the commit clock."""
        assert state is not None
        self.last_seq = state.last_seq
        self.started = time.perf_counter()

    def batch(self) -> Batch:
        return Batch(self.decided.events, self.decided.results, self.next_position)

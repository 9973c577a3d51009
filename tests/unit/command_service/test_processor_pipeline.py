"""The processor's pipelined loop against a scripted in-memory log (no I/O).

While one batch commits, the next is fetched and decided; these tests pin what must not
change with that: one transaction at a time, in order, every command exactly once, nothing
committed after a failed commit, and snapshots only of committed state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from command_service.application.ports import Batch, CommandRecord, Committed, Snapshot
from command_service.application.processor import Processor
from libs.eventlog.ports import RawRecord
from schemas.codec import encode_command
from schemas.envelope import SYSTEM_ACTOR
from tests.unit.command_service.helpers import (
    REGISTRY,
    ROOT,
    Registry,
    initialise_cmd,
    org_cmd,
)


class CommitFailed(Exception):
    pass


class ScriptedLog:
    """Hands out commands a few at a time and commits slowly, so decisions overlap commits."""

    def __init__(self, n_orgs: int, *, fail_commit: int | None = None) -> None:
        reg = Registry()
        envs = [reg.envelope(initialise_cmd(), SYSTEM_ACTOR)]
        envs += [reg.envelope(org_cmd("ProgrammeDeveloper", i), ROOT) for i in range(n_orgs)]
        self.pending = [CommandRecord(i, encode_command(e), e) for i, e in enumerate(envs)]
        self.total = len(envs)
        self.fail_commit = fail_commit
        self.batches: list[Batch] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fetched_during_commit = 0
        self.commits_started = 0
        self.snapshots: list[tuple[Snapshot, int]] = []  # with the last committed seq then
        self.events_position = 0
        self.results_position = 0

    @property
    def committed_seq(self) -> int:
        seqs = [e.seq for b in self.batches for e, _ in b.events]
        return seqs[-1] if seqs else 0

    async def acquire(self) -> None:
        pass

    async def latest_snapshot(self) -> Snapshot | None:
        return None

    async def read_events(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        return
        yield

    async def read_results(self, from_position: int) -> AsyncIterator[list[RawRecord]]:
        return
        yield

    async def next_commands(self, max_records: int, timeout_s: float) -> list[CommandRecord]:
        await asyncio.sleep(0.001)
        if self.in_flight:
            self.fetched_during_commit += 1
        take = min(max_records, 3, len(self.pending))
        out, self.pending = self.pending[:take], self.pending[take:]
        return out

    async def commit(self, batch: Batch) -> Committed:
        self.commits_started += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.005)
            if self.commits_started == self.fail_commit:
                raise CommitFailed("the broker said no")
            self.batches.append(batch)
            self.events_position += len(batch.events)
            self.results_position += len(batch.results)
            return Committed(self.events_position, self.results_position)
        finally:
            self.in_flight -= 1

    async def write_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots.append((snapshot, self.committed_seq))

    async def close(self) -> None:
        pass


async def run_until_drained(log: ScriptedLog, processor: Processor) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(processor.run(stop))
    for _ in range(2000):
        done = sum(len(b.results) for b in log.batches)
        if done == log.total or task.done():
            break
        await asyncio.sleep(0.002)
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_pipelined_commits_are_sequential_ordered_and_exactly_once() -> None:
    log = ScriptedLog(60)
    processor = Processor(log, REGISTRY, max_batch=8, poll_timeout_s=0.01)
    await run_until_drained(log, processor)

    assert log.max_in_flight == 1
    assert log.fetched_during_commit > 0  # decisions really overlapped commits
    positions = [b.commands_next_position for b in log.batches]
    assert positions == sorted(positions)
    assert positions[-1] == log.total
    result_ids = [r.command_id for b in log.batches for r, _ in b.results]
    assert result_ids == [f"cmd-{i}" for i in range(1, log.total + 1)]
    seqs = [e.seq for b in log.batches for e, _ in b.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert all(r.status == "accepted" for b in log.batches for r, _ in b.results)
    assert all(len(b.results) <= 8 for b in log.batches)


async def test_snapshots_hold_only_committed_state() -> None:
    log = ScriptedLog(60)
    processor = Processor(log, REGISTRY, max_batch=8, poll_timeout_s=0.01, snapshot_every=10)
    await run_until_drained(log, processor)

    assert len(log.snapshots) >= 3
    for snap, committed_seq in log.snapshots:
        assert snap.seq == committed_seq
        assert snap.events_position == snap.seq  # one log record per event here


async def test_nothing_is_committed_after_a_failed_commit() -> None:
    log = ScriptedLog(60, fail_commit=3)
    processor = Processor(log, REGISTRY, max_batch=8, poll_timeout_s=0.01)
    with pytest.raises(CommitFailed):
        await processor.run(asyncio.Event())

    assert log.commits_started == 3
    assert len(log.batches) == 2
    assert not processor.ready.is_set()

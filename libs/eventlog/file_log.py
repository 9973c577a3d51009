"""The log as a file: one event per line, its exact bytes (``registry export-log``).

An auditor or another registry given this file (and the registry's signed checkpoints and
public key) can check everything ``registry verify`` checks, with no access to the
registry's Kafka or database: ``registry verify --log-file FILE --checkpoint ...``. The
events are the stored bytes unchanged (compact JSON never holds a raw newline), so every
hash recomputes. The file holds the log's personal data (names, e-mail addresses): hand it
over as such.

A line's position is its index from 0: what a chain check reports as the event's place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from libs.eventlog.ports import EventSource, RawRecord


class FileEventSource:
    """Reads an exported log file (an ``EventSource``)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: BinaryIO | None = None
        self._position = 0

    def _open(self) -> BinaryIO:
        if self._file is None:
            self._file = self._path.open("rb")
        return self._file

    async def seek(self, position: int) -> None:
        f = self._open()
        f.seek(0)
        self._position = 0
        while self._position < position and f.readline():
            self._position += 1

    async def next_batch(self, max_records: int, timeout_s: float) -> list[RawRecord]:
        f = self._open()
        out: list[RawRecord] = []
        while len(out) < max_records:
            line = f.readline()
            if not line:
                break
            out.append(RawRecord(self._position, line.rstrip(b"\r\n")))
            self._position += 1
        return out

    async def end_position(self) -> int:
        with self._path.open("rb") as f:
            return sum(1 for _ in f)

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def export_log(source: EventSource, out: BinaryIO, batch: int = 10_000) -> int:
    """Write every committed event of ``source`` to ``out``, one per line; returns how many."""
    written = 0
    async for records in _batches(source, batch):
        for rec in records:
            if b"\n" in rec.raw or b"\r" in rec.raw:
                raise ValueError(f"the event at position {rec.position} holds a line break")
            out.write(rec.raw + b"\n")
            written += 1
    return written


async def _batches(source: EventSource, batch: int) -> AsyncIterator[list[RawRecord]]:
    end = await source.end_position()
    await source.seek(0)
    position = 0
    while position < end:
        records = await source.next_batch(batch, 0.5)
        if not records:
            return
        yield records
        position = records[-1].position + 1

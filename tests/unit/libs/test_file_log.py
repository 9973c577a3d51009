"""An exported log file read back as an event source: positions are line numbers, the bytes
come back exactly, seeking works, and export refuses what a line could not hold."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from libs.eventlog.file_log import FileEventSource, export_log
from libs.eventlog.ports import RawRecord


class ListSource:
    def __init__(self, raws: list[bytes]) -> None:
        self.raws = raws
        self.at = 0

    async def seek(self, position: int) -> None:
        self.at = position

    async def next_batch(self, max_records: int, timeout_s: float) -> list[RawRecord]:
        out = [RawRecord(i, r) for i, r in enumerate(self.raws)][self.at : self.at + max_records]
        self.at += len(out)
        return out

    async def end_position(self) -> int:
        return len(self.raws)

    async def close(self) -> None:
        pass


async def test_round_trip_with_seek(tmp_path: Path) -> None:
    raws = [b'{"seq":%d,"x":"\\u00e9"}' % i for i in range(1, 26)]
    out = io.BytesIO()
    assert await export_log(ListSource(raws), out, batch=7) == 25
    path = tmp_path / "log.jsonl"
    path.write_bytes(out.getvalue())
    source = FileEventSource(path)
    assert await source.end_position() == 25
    await source.seek(0)
    first = await source.next_batch(10, 0)
    assert [r.position for r in first] == list(range(10))
    assert [r.raw for r in first] == raws[:10]
    await source.seek(20)
    rest = await source.next_batch(100, 0)
    assert [(r.position, r.raw) for r in rest] == list(enumerate(raws))[20:]
    assert await source.next_batch(10, 0) == []
    await source.close()


async def test_an_event_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="position 1 holds a line break"):
        await export_log(ListSource([b"{}", b'{"a":\n1}']), io.BytesIO())

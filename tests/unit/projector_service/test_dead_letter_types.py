"""What a dead letter records of an event whose bytes may not even read."""

from __future__ import annotations

import pytest

from projector_service.dead_letters import event_type_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"type": "ProgrammeTeleported", "seq": 9}', "ProgrammeTeleported"),
        (b'{"seq": 9}', None),
        (b'{"type": 7}', None),
        (b"[1, 2]", None),
        (b"\xff\xfe not json", None),
        (b"", None),
    ],
)
def test_the_type_is_named_only_when_the_bytes_say_it(raw: bytes, expected: str | None) -> None:
    assert event_type_of(raw) == expected

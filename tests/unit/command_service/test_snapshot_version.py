"""Snapshots carry the state's version; an unusable snapshot means a restore from the log."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from command_service.application.ports import Snapshot
from command_service.application.restore import _from_snapshot
from command_service.domain.state import (
    _ADAPTER,
    STATE_SCHEMA_SHA256,
    STATE_VERSION,
    RegistryState,
    SnapshotOutdated,
    dump_state,
    load_state,
)


def test_the_state_shape_is_the_one_this_version_was_stamped_for() -> None:
    digest = hashlib.sha256(
        orjson.dumps(_ADAPTER.json_schema(), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
    assert digest == STATE_SCHEMA_SHA256, (
        "RegistryState changed shape: bump STATE_VERSION (older snapshots are then ignored and"
        f" the processor restores from the log) and set STATE_SCHEMA_SHA256 = {digest!r}"
    )


def test_a_snapshot_round_trips_and_names_its_version() -> None:
    state = RegistryState(registry="ng", last_seq=7, last_hash="ab" * 32)
    raw = dump_state(state)
    assert orjson.loads(raw)["state_version"] == STATE_VERSION
    assert load_state(raw) == state


@pytest.mark.parametrize(
    "raw",
    [
        _ADAPTER.dump_json(RegistryState(registry="ng")),  # written before versions
        b'{"state_version":%d,"state":{}}' % (STATE_VERSION + 1),
        b"not json",
    ],
)
def test_other_snapshots_are_refused(raw: bytes) -> None:
    with pytest.raises(SnapshotOutdated):
        load_state(raw)


def test_restore_falls_back_to_the_whole_log_when_a_snapshot_cannot_be_used() -> None:
    good = RegistryState(registry="ng", last_seq=9, last_hash="cd" * 32)
    state, events, results = _from_snapshot(Snapshot(9, 12, 14, dump_state(good)), "ng")
    assert (state, events, results) == (good, 12, 14)
    for raw in (
        _ADAPTER.dump_json(good),  # an older version
        dump_state(good)[:-1] + b',"x":1}',  # this version's head, a body that does not validate
        dump_state(RegistryState(registry="ke", last_seq=9)),  # another registry's
    ):
        state, events, results = _from_snapshot(Snapshot(9, 12, 14, raw), "ng")
        assert (state, events, results) == (RegistryState(registry="ng"), 0, 0)
    assert _from_snapshot(None, "ng") == (RegistryState(registry="ng"), 0, 0)

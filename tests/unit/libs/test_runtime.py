"""DeferredGC: the collector stays off while batches flow and runs between them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from libs.runtime import DeferredGC


@pytest.fixture
def young_passes() -> Iterator[list[int]]:
    """The generation of every collection that starts while the test runs."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    was_enabled = gc.isenabled()
    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        if was_enabled:
            gc.enable()


def test_paused_collector_runs_one_pass_every_n_batches(young_passes: list[int]) -> None:
    deferred = DeferredGC(every=3)
    deferred.pause()
    assert not gc.isenabled()
    junk = [[i] for i in range(300_000)]  # far past any young threshold: no pass runs
    del junk
    deferred.batch_done()
    deferred.batch_done()
    assert young_passes == []
    deferred.batch_done()
    assert young_passes == [1]
    deferred.resume()
    assert gc.isenabled()


def test_idle_collects_only_after_batches(young_passes: list[int]) -> None:
    deferred = DeferredGC(every=100)
    deferred.pause()
    deferred.idle()
    assert young_passes == []
    deferred.batch_done()
    deferred.idle()
    assert young_passes == [1]
    deferred.idle()
    assert young_passes == [1]
    deferred.resume()


def test_a_collector_already_off_is_left_off() -> None:
    gc.disable()
    try:
        deferred = DeferredGC()
        deferred.pause()
        deferred.resume()
        assert not gc.isenabled()
    finally:
        gc.enable()

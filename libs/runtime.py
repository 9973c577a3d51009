"""Process-wide runtime tuning for long-lived, allocation-heavy loops.

The processor holds the whole registry state in memory and allocates many short-lived,
acyclic objects per command. CPython's default cyclic-GC thresholds make it re-scan that
large heap every few hundred allocations (measured: 4.5x fewer decisions/s). We raise the
young-generation threshold and freeze what is alive after a restore, so the collector only
looks at new objects. Reference counting still frees almost everything immediately.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 100_000


def tune_gc(*, freeze: bool = False) -> None:
    if freeze:
        gc.collect()
        gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, max(middle, 50), max(old, 100))

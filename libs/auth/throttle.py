"""In-memory sign-in throttling of one API node (pure: the clock is injected).

* Per client IP: after a few failures every further attempt waits exponentially longer,
  up to a cap; the count is forgotten after a quiet window or on a successful sign-in.
* Per unknown e-mail: the same lock as a real account gets (5 failures, 15 minutes), so a
  429 does not reveal that an e-mail has an account. Real accounts are locked in the
  credentials table, shared by every node.

Both maps are bounded (oldest entries dropped first), so a flood of addresses cannot grow them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from libs.auth.accounts import LOCK_S, MAX_FAILED_LOGINS


@dataclass
class _Entry:
    failures: int
    last_at: float
    locked_until: float = 0.0


def backoff_s(failures: int, free: int, base_s: float, cap_s: float) -> float:
    """The delay before an attempt after ``failures`` recent failures (0 for the first few)."""
    if failures < free:
        return 0.0
    return float(min(cap_s, base_s * 2 ** (failures - free)))


class LoginThrottle:
    def __init__(
        self,
        *,
        free_failures: int = 3,
        base_delay_s: float = 0.25,
        max_delay_s: float = 8.0,
        window_s: float = 15 * 60,
        max_failures: int = MAX_FAILED_LOGINS,
        lock_s: float = LOCK_S,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.window_s = window_s
        self.max_failures = max_failures
        self.lock_s = lock_s
        self.max_entries = max_entries
        self._clock = clock
        self._ips: OrderedDict[str, _Entry] = OrderedDict()
        self._phantoms: OrderedDict[str, _Entry] = OrderedDict()

    # -- per client IP ---------------------------------------------------------------------

    def delay_for(self, ip: str) -> float:
        entry = self._live(self._ips, ip)
        if entry is None:
            return 0.0
        return backoff_s(entry.failures, self.free_failures, self.base_delay_s, self.max_delay_s)

    def ip_failed(self, ip: str) -> None:
        self._bump(self._ips, ip)

    def ip_succeeded(self, ip: str) -> None:
        self._ips.pop(ip, None)

    # -- unknown e-mails -------------------------------------------------------------------

    def phantom_retry_after(self, email: str) -> float:
        """Seconds an unknown e-mail stays locked (0 when it is not)."""
        entry = self._live(self._phantoms, email.lower())
        if entry is None:
            return 0.0
        return max(0.0, entry.locked_until - self._clock())

    def phantom_failed(self, email: str) -> None:
        entry = self._bump(self._phantoms, email.lower())
        if entry.failures >= self.max_failures:
            entry.failures = 0
            entry.locked_until = self._clock() + self.lock_s

    # -- bookkeeping -----------------------------------------------------------------------

    def _live(self, table: OrderedDict[str, _Entry], key: str) -> _Entry | None:
        entry = table.get(key)
        if entry is None:
            return None
        now = self._clock()
        if now - entry.last_at > self.window_s and now >= entry.locked_until:
            del table[key]
            return None
        return entry

    def _bump(self, table: OrderedDict[str, _Entry], key: str) -> _Entry:
        now = self._clock()
        entry = self._live(table, key)
        if entry is None:
            entry = table[key] = _Entry(0, now)
        entry.failures += 1
        entry.last_at = now
        table.move_to_end(key)
        while len(table) > self.max_entries:
            table.popitem(last=False)
        return entry

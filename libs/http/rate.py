"""A small in-memory rate limit per client (one API node's view; pure, clock injected).

Used for the unauthenticated endpoints that write to the log (self-registration): each
accepted request becomes a permanent event, so one client may send only a few per window.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        max_requests: int = 10,
        window_s: float = 60.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_requests = max_requests
        self.window_s = window_s
        self.max_clients = max_clients
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> float:
        """Count one request of ``client``: 0 if it may go ahead, else the seconds to wait
        (a refused request is not counted)."""
        now = self._clock()
        times = self._seen.pop(client, None) or deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        wait = 0.0
        if len(times) >= self.max_requests:
            wait = times[0] + self.window_s - now
        else:
            times.append(now)
        self._seen[client] = times
        while len(self._seen) > self.max_clients:
            self._seen.popitem(last=False)
        return wait

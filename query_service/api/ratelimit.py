"""A token bucket per client IP for the public endpoints (one API node's view, in memory).

Each client has ``capacity`` tokens that refill at ``capacity / period_s`` per second; a
request takes one or is refused with 429 ``rate_limited`` and ``Retry-After``. The map of
clients is bounded (least recently seen dropped first), so a flood of addresses cannot grow
it. Behind a proxy every client shares the proxy's address: the client address is the
transport's, forwarded headers are not trusted.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from libs.http.problems import problem_response


class TokenBucket:
    def __init__(
        self,
        capacity: int = 100,
        period_s: float = 60.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.rate = capacity / period_s
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str) -> float:
        """Take a token for ``client``: 0 if granted, else the seconds until one is free."""
        now = self._clock()
        tokens, at = self._buckets.pop(client, (float(self.capacity), now))
        tokens = min(float(self.capacity), tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class RateLimitedRoute(APIRoute):
    """A route that spends a token of the caller's bucket (``query_deps.public_limiter``)
    before it runs."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            bucket: TokenBucket = request.app.state.query_deps.public_limiter
            wait = bucket.take(client_ip(request))
            if wait > 0:
                retry = max(1, math.ceil(wait))
                return problem_response(
                    429,
                    "rate_limited",
                    "Too many requests to the public API; retry later.",
                    f"At most {bucket.capacity} requests a minute per client.",
                    headers={"Retry-After": str(retry)},
                    retry_after=retry,
                )
            return await handler(request)

        return limited

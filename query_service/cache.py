"""Per-seq answers: a read computed at seq N is exactly right for seq N, so it is kept and
served again to every caller that asks the same question while the read models are at N.

``SeqCache.get(key, seen, compute)``: ``seen`` is the seq the read models had applied when
the request arrived (it is already >= the caller's ``min_seq``). An entry is served only
when its seq is at least ``seen`` (never an older state than an uncached read would give)
and the answer carries the seq of its entry, never another. Otherwise ``compute(seen)``
runs (it reads in one snapshot at a seq >= ``seen`` and returns that seq with the answer);
concurrent requests for the same key share one computation (single flight) and accept its
answer when its seq is at least their own ``seen``. Entries are kept per key (the newest
seq wins) in a bounded LRU; ``max_entries=0`` turns caching (not the single flight) off.

``TokenCache`` keeps verified access tokens (the signature check costs more than the rest
of a cached read); a token is still refused once it expires.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
C = TypeVar("C")


class SeqCache(Generic[T]):
    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[int, T]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[tuple[int, T]]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: Hashable, seen: int) -> tuple[int, T] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < seen:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def _store(self, key: Hashable, seq: int, value: T) -> None:
        if self.max_entries <= 0:
            return
        old = self._entries.get(key)
        if old is not None and old[0] > seq:
            return  # a newer answer is already there
        self._entries[key] = (seq, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def get(
        self,
        key: Hashable,
        seen: int,
        compute: Callable[[int], Awaitable[tuple[int, T]]],
    ) -> tuple[int, T]:
        """(seq, answer) with seq >= ``seen``: the cached one, or a (shared) fresh one."""
        while True:
            hit = self.peek(key, seen)
            if hit is not None:
                return hit
            running = self._inflight.get(key)
            if running is None:
                break
            seq, value = await asyncio.shield(running)
            if seq >= seen:
                return seq, value
            # It started before the read models reached ``seen``: compute again.
        self.misses += 1
        fut: asyncio.Future[tuple[int, T]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            seq, value = await compute(seen)
            if seq < seen:
                raise AssertionError(f"a read at seq {seq} answered for seq {seen}")
            self._store(key, seq, value)
            fut.set_result((seq, value))
            return seq, value
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            if self._inflight.get(key) is fut:
                del self._inflight[key]


class TokenCache(Generic[C]):
    """token -> (claims, expiry in Unix seconds), bounded; expired tokens are dropped."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[C, int]] = OrderedDict()

    def get(self, token: str) -> C | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[1] <= time.time():
            del self._entries[token]
            return None
        return entry[0]

    def put(self, token: str, claims: C, expires_at: int) -> None:
        if self.max_entries <= 0:
            return
        self._entries[token] = (claims, expires_at)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


NoteKey = tuple[str, bytes, str, int, str]  # path, query string, role, company, its role
MAX_NOTES = 20_000


class RequestNotes:
    """Which answer key an exact GET resolved to, per caller role and organisation (see
    ``query_service.api.fastpath``)."""

    def __init__(self) -> None:
        self.notes: dict[NoteKey, tuple[Hashable, int]] = {}
        self.requests: set[tuple[str, bytes]] = set()

    def note(self, key: NoteKey, answer_key: Hashable, min_seq: int) -> None:
        if len(self.notes) >= MAX_NOTES:
            self.notes.clear()
            self.requests.clear()
        self.notes[key] = (answer_key, min_seq)
        self.requests.add((key[0], key[1]))

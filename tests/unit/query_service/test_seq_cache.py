"""The per-seq answer cache (``query_service.cache``): an answer is served only for the seq
it was computed at, never for an older request state than the caller saw (so ``min_seq`` is
honoured), and concurrent requests for one question share one computation."""

from __future__ import annotations

import asyncio
import functools
import random
import time

import pytest

from query_service.cache import SeqCache, TokenCache


class Models:
    """Read models whose applied seq moves on; an answer names the seq it was read at."""

    def __init__(self, seq: int = 1) -> None:
        self.seq = seq
        self.reads = 0

    async def compute(self, seen: int, key: str = "q") -> tuple[int, str]:
        self.reads += 1
        await asyncio.sleep(0)
        at = max(self.seq, seen)  # a snapshot at least as new as what the caller saw
        await asyncio.sleep(0)
        return at, f"{key}@{at}"


async def test_a_kept_answer_is_served_for_its_seq_only() -> None:
    cache: SeqCache[str] = SeqCache()
    models = Models(5)
    assert await cache.get("q", 5, models.compute) == (5, "q@5")
    assert await cache.get("q", 5, models.compute) == (5, "q@5")
    assert models.reads == 1
    models.seq = 6
    # The caller saw seq 6 (e.g. min_seq=6): the answer at 5 is never served.
    assert await cache.get("q", 6, models.compute) == (6, "q@6")
    assert models.reads == 2
    # A newer kept answer is not replaced by an older one.
    assert cache.peek("q", 4) == (6, "q@6")


async def test_min_seq_is_honoured_and_the_seq_always_matches_the_answer() -> None:
    cache: SeqCache[str] = SeqCache(max_entries=8)
    models = Models()
    rng = random.Random(7)

    async def reader(i: int) -> None:
        for _ in range(200):
            if rng.random() < 0.1:
                models.seq += 1
            key = f"k{rng.randrange(12)}"
            seen = rng.randint(max(1, models.seq - 3), models.seq)  # >= the caller's min_seq
            seq, answer = await cache.get(key, seen, functools.partial(models.compute, key=key))
            assert seq >= seen
            assert answer == f"{key}@{seq}"

    await asyncio.gather(*(reader(i) for i in range(16)))


async def test_concurrent_requests_share_one_computation() -> None:
    cache: SeqCache[str] = SeqCache()
    gate = asyncio.Event()
    calls = 0

    async def slow(seen: int) -> tuple[int, str]:
        nonlocal calls
        calls += 1
        await gate.wait()
        return seen, f"q@{seen}"

    tasks = [asyncio.create_task(cache.get("q", 3, slow)) for _ in range(10)]
    await asyncio.sleep(0.01)
    gate.set()
    assert {await t for t in tasks} == {(3, "q@3")}
    assert calls == 1


async def test_a_waiter_that_saw_a_newer_seq_reads_again() -> None:
    cache: SeqCache[str] = SeqCache()
    gate = asyncio.Event()

    async def at(seen: int) -> tuple[int, str]:
        await gate.wait()
        return seen, f"q@{seen}"

    first = asyncio.create_task(cache.get("q", 3, at))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(cache.get("q", 4, at))  # joins the flight at 3
    await asyncio.sleep(0.01)
    gate.set()
    assert await first == (3, "q@3")
    assert await second == (4, "q@4")


async def test_a_read_older_than_the_callers_seq_is_refused() -> None:
    cache: SeqCache[str] = SeqCache()

    async def stale(seen: int) -> tuple[int, str]:
        return seen - 1, "old"

    with pytest.raises(AssertionError):
        await cache.get("q", 3, stale)
    assert cache.peek("q", 0) is None


async def test_errors_reach_every_waiter_and_are_not_kept() -> None:
    cache: SeqCache[str] = SeqCache()
    gate = asyncio.Event()

    async def failing(seen: int) -> tuple[int, str]:
        await gate.wait()
        raise RuntimeError("database down")

    tasks = [asyncio.create_task(cache.get("q", 1, failing)) for _ in range(3)]
    await asyncio.sleep(0.01)
    gate.set()
    for t in tasks:
        with pytest.raises(RuntimeError):
            await t
    models = Models(1)
    assert await cache.get("q", 1, models.compute) == (1, "q@1")


async def test_no_cache_still_answers_at_the_callers_seq() -> None:
    cache: SeqCache[str] = SeqCache(max_entries=0)
    models = Models(2)
    for _ in range(3):
        assert await cache.get("q", 2, models.compute) == (2, "q@2")
    assert models.reads == 3
    assert len(cache) == 0


async def test_bounded() -> None:
    cache: SeqCache[str] = SeqCache(max_entries=3)
    models = Models(1)
    for k in "abcd":
        await cache.get(k, 1, functools.partial(models.compute, key=k))
    assert len(cache) == 3
    assert cache.peek("a", 1) is None


def test_tokens_expire() -> None:
    tokens: TokenCache[str] = TokenCache(max_entries=2)
    now = int(time.time())
    tokens.put("t1", "claims1", now + 60)
    tokens.put("t2", "claims2", now - 1)
    assert tokens.get("t1") == "claims1"
    assert tokens.get("t2") is None
    tokens.put("t3", "c3", now + 60)
    tokens.put("t4", "c4", now + 60)
    assert tokens.get("t1") is None  # bounded: the oldest went first

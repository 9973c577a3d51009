"""Consistent reads: the data and the seq it reflects come from one snapshot.

``read_at_least`` waits (bounded) until the read models have applied ``min_seq``, then runs
the query in a REPEATABLE READ, read-only transaction together with the checkpoint. A caller
behind a projector that is halted on an event it cannot apply (a dead letter) gets 503
``read.halted`` at once rather than after the wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from libs.http.problems import Problem

T = TypeVar("T")
POLL_S = 0.005


async def applied_seq(conn: asyncpg.Connection, schema: str) -> int:
    seq = await conn.fetchval(
        f"SELECT last_seq FROM {schema}.checkpoints WHERE projection = 'main'"
    )
    return int(seq or 0)


async def applied_head(conn: asyncpg.Connection, schema: str) -> str:
    """The hash of the last event applied (the chain's head as the projector checked it)."""
    head = await conn.fetchval(
        f"SELECT last_hash FROM {schema}.checkpoints WHERE projection = 'main'"
    )
    return str(head or "")


def _behind(seq: int, min_seq: int) -> Problem:
    return Problem(
        503,
        "read.behind",
        f"The read models have applied seq {seq}, not yet {min_seq}. Retry shortly.",
        seq=seq,
        min_seq=min_seq,
    )


async def _halted_at(conn: asyncpg.Connection, schema: str) -> int | None:
    """The seq the projector is halted at, if it is (its oldest unresolved dead letter)."""
    try:
        seq = await conn.fetchval(
            f"SELECT min(seq) FROM {schema}.dead_letters WHERE resolved_at IS NULL"
        )
    except asyncpg.UndefinedTableError:
        return None
    return None if seq is None else int(seq)


class _Wait:
    """The bounded wait for ``min_seq``: each ``behind`` call is one poll that found the read
    models at ``seq`` < ``min_seq``. The first asks whether the projector is halted (then 503
    ``read.halted`` at once); past the deadline it is 503 ``read.behind``."""

    def __init__(self, schema: str, min_seq: int, wait_s: float) -> None:
        self.schema = schema
        self.min_seq = min_seq
        self.deadline = time.monotonic() + wait_s
        self.checked = False

    async def behind(self, conn: asyncpg.Connection, seq: int) -> None:
        if not self.checked:
            self.checked = True
            halted = await _halted_at(conn, self.schema)
            if halted is not None and halted <= self.min_seq:
                raise Problem(
                    503,
                    "read.halted",
                    f"The read models have applied seq {seq} and stopped at seq {halted}, an"
                    " event they cannot apply yet; the operators are alerted. Retry later.",
                    seq=seq,
                    min_seq=self.min_seq,
                    halted_at_seq=halted,
                )
        if time.monotonic() >= self.deadline:
            raise _behind(seq, self.min_seq)
        await asyncio.sleep(POLL_S)


async def wait_for_seq(pool: asyncpg.Pool, schema: str, min_seq: int, wait_s: float) -> int:
    """Wait (bounded) until ``min_seq`` is applied; raise 503 read.behind otherwise."""
    wait = _Wait(schema, min_seq, wait_s)
    async with pool.acquire() as conn:
        while True:
            seq = await applied_seq(conn, schema)
            if seq >= min_seq:
                return seq
            await wait.behind(conn, seq)


async def read_at_least(
    pool: asyncpg.Pool,
    schema: str,
    min_seq: int,
    wait_s: float,
    query: Callable[[asyncpg.Connection], Awaitable[T]],
) -> tuple[int, T]:
    wait = _Wait(schema, min_seq, wait_s)
    async with pool.acquire() as conn:
        while True:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                seq = await applied_seq(conn, schema)
                if seq >= min_seq:
                    return seq, await query(conn)
            await wait.behind(conn, seq)


class Snapshot:
    """A connection held in one REPEATABLE READ, read-only transaction that has applied at
    least ``min_seq``: for answers streamed after the headers (CSV). ``close`` is idempotent."""

    def __init__(self, pool: asyncpg.Pool, conn: asyncpg.Connection, tx: Any, seq: int) -> None:
        self.pool = pool
        self.conn = conn
        self._tx = tx
        self.seq = seq
        self._closed = False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.conn.is_in_transaction():
                await self._tx.rollback()
        finally:
            await self.pool.release(self.conn)


async def open_snapshot(pool: asyncpg.Pool, schema: str, min_seq: int, wait_s: float) -> Snapshot:
    wait = _Wait(schema, min_seq, wait_s)
    conn = await pool.acquire()
    while True:
        tx = conn.transaction(isolation="repeatable_read", readonly=True)
        try:
            await tx.start()
            seq = await applied_seq(conn, schema)
            if seq >= min_seq:
                return Snapshot(pool, conn, tx, seq)
            await tx.rollback()
            await wait.behind(conn, seq)
        except BaseException:
            await Snapshot(pool, conn, tx, 0).close()
            raise

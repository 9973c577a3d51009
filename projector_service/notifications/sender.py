"""Delivering the outbox: claim a due row, send it, record the outcome, in one transaction.

A worker locks one due row (``FOR UPDATE SKIP LOCKED``: other workers and processes skip
it), hands it to the transport and, in the same transaction, sets ``sent_at``; on failure it
counts the attempt, keeps the error and schedules the next try with exponential backoff, or
marks the row dead (``dead_at``) after ``max_attempts`` or a permanent refusal. A committed
``sent_at`` is never sent again.

The residual window is at-least-once: if the process dies (or the database connection
drops) after the SMTP server accepted the message but before the commit, the row is still
unsent and goes out again. The copy carries the same ``Message-ID`` header, by which mail
stores and clients recognise and drop duplicates (the Maildir transport even overwrites the
same file). One row per transaction keeps that window to one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

import asyncpg
import structlog
from prometheus_client import Counter

from libs.mail.message import MailMessage
from libs.mail.transport import MailTransport, PartialDelivery, PermanentMailError

log = structlog.get_logger("mail_sender")

MAIL_OUTCOMES = Counter(
    "registry_mail_attempts_total",
    "Outbox delivery attempts, by outcome (sent, retry, dead)",
    ["schema", "outcome"],
)

CLAIM = (
    'SELECT message_id, "to", subject, body, created_at, attempts, kind FROM {s}.outbox'
    " WHERE sent_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()"
    " ORDER BY next_attempt_at, seq, message_id LIMIT 1 FOR UPDATE SKIP LOCKED"
)
MARK_SENT = (
    "UPDATE {s}.outbox SET sent_at = now(), attempts = attempts + 1, last_error = $2"
    " WHERE message_id = $1"
)
MARK_RETRY = (
    "UPDATE {s}.outbox SET attempts = attempts + 1, last_error = $2,"
    " next_attempt_at = now() + make_interval(secs => $3) WHERE message_id = $1"
)
MARK_DEAD = (
    "UPDATE {s}.outbox SET attempts = attempts + 1, last_error = $2, dead_at = now()"
    " WHERE message_id = $1"
)
REQUEUE_DEAD = (
    "UPDATE {s}.outbox SET dead_at = NULL, attempts = 0, next_attempt_at = now()"
    " WHERE dead_at IS NOT NULL AND sent_at IS NULL"
)


def backoff_delay(
    attempts: int,
    *,
    base_s: float = 5.0,
    cap_s: float = 3600.0,
    jitter: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after the ``attempts``-th failed try: base, 2 base, 4 base... capped.

    ``jitter`` (0..1) spreads retries by up to that fraction either way, so a mail server that
    comes back is not hit by every waiting message in the same second.
    """
    if attempts < 1:
        raise ValueError("attempts counts failed tries and starts at 1")
    delay = min(cap_s, base_s * 2.0 ** min(attempts - 1, 62))
    if jitter:
        delay *= 1.0 + jitter * (2.0 * rand() - 1.0)
    return max(0.0, delay)


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 5.0
    cap_s: float = 3600.0
    max_attempts: int = 10
    jitter: float = 0.1

    def next_delay(self, attempts: int) -> float | None:
        """After ``attempts`` failed tries: the wait before the next, or None (give up)."""
        if attempts >= self.max_attempts:
            return None
        return backoff_delay(attempts, base_s=self.base_s, cap_s=self.cap_s, jitter=self.jitter)


async def requeue_dead(conn: asyncpg.Connection, schema: str) -> int:
    """Give every dead, unsent row a fresh set of attempts (after fixing the mail setup)."""
    status = await conn.execute(REQUEUE_DEAD.format(s=schema))
    return int(status.split()[-1])


class Sender:
    def __init__(
        self,
        dsn: str,
        schema: str,
        transport: MailTransport,
        *,
        sender_address: str,
        policy: RetryPolicy | None = None,
        concurrency: int = 2,
        poll_interval_s: float = 1.0,
        send_timeout_s: float = 120.0,
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.transport = transport
        self.sender_address = sender_address
        self.policy = policy or RetryPolicy()
        self.concurrency = concurrency
        self.poll_interval_s = poll_interval_s
        self.send_timeout_s = send_timeout_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New rows are waiting (called by the notifier in the same process)."""
        self._wake.set()

    def _mail(self, row: asyncpg.Record) -> MailMessage:
        return MailMessage(
            message_id=row["message_id"],
            sender=self.sender_address,
            to=tuple(row["to"]),
            subject=row["subject"],
            body_text=row["body"],
            date=row["created_at"].astimezone(UTC),
            headers=(("X-Registry-Notification", row["kind"]),),
        )

    async def send_one(self, conn: asyncpg.Connection) -> bool:
        """Claim, send and settle one due row; False when none is due."""
        s = self.schema
        async with conn.transaction():
            row = await conn.fetchrow(CLAIM.format(s=s))
            if row is None:
                return False
            mid = row["message_id"]
            try:
                mail = self._mail(row)
                await asyncio.wait_for(self.transport.send(mail), self.send_timeout_s)
            except PartialDelivery as exc:
                await conn.execute(MARK_SENT.format(s=s), mid, str(exc)[:2000])
                MAIL_OUTCOMES.labels(s, "sent").inc()
                log.warning("mail_partly_refused", message_id=mid, error=str(exc))
            except (PermanentMailError, ValueError) as exc:
                await conn.execute(MARK_DEAD.format(s=s), mid, _error(exc))
                MAIL_OUTCOMES.labels(s, "dead").inc()
                log.error("mail_refused", message_id=mid, kind=row["kind"], error=_error(exc))
            except Exception as exc:  # transient: server down, timeout, 4xx, disk full
                attempts = row["attempts"] + 1
                delay = self.policy.next_delay(attempts)
                if delay is None:
                    await conn.execute(MARK_DEAD.format(s=s), mid, _error(exc))
                    MAIL_OUTCOMES.labels(s, "dead").inc()
                    log.error("mail_gave_up", message_id=mid, attempts=attempts, error=_error(exc))
                else:
                    await conn.execute(MARK_RETRY.format(s=s), mid, _error(exc), delay)
                    MAIL_OUTCOMES.labels(s, "retry").inc()
                    log.warning(
                        "mail_retry",
                        message_id=mid,
                        attempts=attempts,
                        in_s=delay,
                        error=_error(exc),
                    )
            else:
                await conn.execute(MARK_SENT.format(s=s), mid, None)
                MAIL_OUTCOMES.labels(s, "sent").inc()
            return True

    async def drain(self, conn: asyncpg.Connection) -> int:
        """Send until nothing is due (tests, one-shot tools); returns rows handled."""
        n = 0
        while await self.send_one(conn):
            n += 1
        return n

    async def _worker(self, stop: asyncio.Event, index: int) -> None:
        conn: asyncpg.Connection | None = None
        delay = 0.5
        try:
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = await asyncpg.connect(self.dsn)
                    if await self.send_one(conn):
                        delay = 0.5
                        continue
                except Exception as exc:  # the database is away: never end the registry
                    log.warning("mail_sender_retrying", worker=index, error=repr(exc), in_s=delay)
                    await _drop(conn)
                    conn = None
                    await _wait(stop, delay)
                    delay = min(delay * 2, 30.0)
                    continue
                self._wake.clear()
                await _wait(self._wake, self.poll_interval_s, stop)
        finally:
            await _drop(conn)

    async def run(self, stop: asyncio.Event) -> None:
        workers = [
            asyncio.create_task(self._worker(stop, i), name=f"mail-sender-{i}")
            for i in range(self.concurrency)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            for w in workers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await w


def _error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]


async def _drop(conn: asyncpg.Connection | None) -> None:
    if conn is not None:
        try:
            await conn.close(timeout=5)
        except Exception:
            conn.terminate()


async def _wait(event: asyncio.Event, seconds: float, stop: asyncio.Event | None = None) -> None:
    """Until ``event`` (or ``stop``) is set, at most ``seconds``."""
    waits = [asyncio.ensure_future(event.wait())]
    if stop is not None:
        waits.append(asyncio.ensure_future(stop.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()

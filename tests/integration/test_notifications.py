"""E-mail notifications end to end on a real PostgreSQL and a real SMTP server (aiosmtpd):
events -> outbox -> SMTP, each message once; replay creates nothing new; an SMTP outage is
retried with backoff and still delivers once; the Maildir default writes one .eml each."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from libs.eventlog.pg_log import PgEventSource
from libs.mail.maildir import MaildirTransport
from libs.mail.message import MailMessage
from libs.mail.settings import MailSettings
from libs.mail.smtp import SmtpTransport
from libs.mail.transport import MailTransport
from libs.settings import RegistrySettings
from projector_service.notifications.compose import MailContext
from projector_service.notifications.outbox import (
    CheckpointMoved,
    Notifier,
    notify_schema,
    read_checkpoint,
    reset_for_replay,
)
from projector_service.notifications.sender import RetryPolicy, Sender, requeue_dead
from registry_cli.serve import start_registry
from schemas.commands.organisation import FirstAdmin, RegisterOrganisation
from schemas.enums import CompanyRole
from tests.integration.harness import ROOT, envelope, free_port
from tests.integration.test_projector_and_replay import fill_embedded_log

pytestmark = pytest.mark.asyncio(loop_scope="session")

N_PROGRAMMES = 3
# fill_embedded_log: the Government and its Root at setup, a developer and its Admin, then
# N programmes of that developer (each mailed to its Admin).
EXPECTED = Counter(
    {
        ("ORGANISATION_CREATE", "gov@example.org"): 1,
        ("USER_CREATE", "root@example.org"): 1,
        ("ORGANISATION_CREATE", "dev@example.org"): 1,
        ("USER_CREATE", "admin@dev.example.org"): 1,
        ("PROGRAMME_CREATE", "admin@dev.example.org"): N_PROGRAMMES,
    }
)
FAST = RetryPolicy(base_s=0.3, cap_s=5.0, max_attempts=10, jitter=0.0)


class Inbox:
    """An aiosmtpd handler that keeps every accepted message (and refuses some addresses)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        msg = message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for _, m in self.messages)


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def transport(self) -> SmtpTransport:
        return SmtpTransport("127.0.0.1", self.port, starttls=False, timeout_s=5.0)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """Same, but not listening yet (connections are refused until ``start``)."""
    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()


async def notify_all(
    dsn: str, registry: str, *, stale_after: timedelta = timedelta(days=3), batch_size: int = 4
) -> int:
    """Run the notifier until it has caught up; returns its last seq."""
    notifier = Notifier(
        lambda: PgEventSource(dsn, registry),
        dsn,
        MailContext(registry),
        batch_size=batch_size,
        poll_timeout_s=0.2,
        stale_after=stale_after,
    )
    await notifier.start()
    try:
        while await notifier.step():
            pass
    finally:
        await notifier.close()
    return notifier.checkpoint.last_seq


async def send_due(
    dsn: str, registry: str, transport: MailTransport, policy: RetryPolicy = FAST
) -> int:
    sender = Sender(
        dsn,
        notify_schema(registry),
        transport,
        sender_address="Carbon Registry <no-reply@registry.invalid>",
        policy=policy,
    )
    conn = await asyncpg.connect(dsn)
    try:
        return await sender.drain(conn)
    finally:
        await conn.close()


async def outbox(dsn: str, registry: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(
            await conn.fetch(
                f"SELECT * FROM {notify_schema(registry)}.outbox ORDER BY seq, message_id"
            )
        )
    finally:
        await conn.close()


def kinds_and_recipients(rows: list[asyncpg.Record]) -> Counter[tuple[str, str]]:
    return Counter((r["kind"], addr) for r in rows for addr in r["to"])


async def test_every_message_arrives_exactly_once_over_smtp(
    fresh_db: str, unique_registry: str, smtp: SmtpServer
) -> None:
    reg = unique_registry
    last_seq = await fill_embedded_log(fresh_db, reg, n=N_PROGRAMMES)
    assert await notify_all(fresh_db, reg) == last_seq
    rows = await outbox(fresh_db, reg)
    assert kinds_and_recipients(rows) == EXPECTED
    assert all(r["sent_at"] is None and r["attempts"] == 0 for r in rows)

    assert await send_due(fresh_db, reg, smtp.transport()) == len(rows)
    assert await send_due(fresh_db, reg, smtp.transport()) == 0  # nothing is sent twice
    ids = smtp.inbox.ids()
    assert ids == Counter({r["message_id"]: 1 for r in rows})
    got = Counter(
        (str(m["X-Registry-Notification"]), rcpt)
        for rcpts, m in smtp.inbox.messages
        for rcpt in rcpts
    )
    assert got == EXPECTED
    for rcpts, m in smtp.inbox.messages:
        assert [str(m["To"])] == rcpts
        assert str(m["Subject"]).startswith("Carbon Registry: ")
        assert str(m["Message-ID"]).startswith(f"<{reg}.")
        assert "password:" not in m.get_content().lower()
    rows = await outbox(fresh_db, reg)
    assert all(r["sent_at"] is not None and r["attempts"] == 1 for r in rows)
    assert all(r["last_error"] is None and r["dead_at"] is None for r in rows)


async def test_replaying_from_seq_0_creates_no_new_message(
    fresh_db: str, unique_registry: str, smtp: SmtpServer
) -> None:
    reg = unique_registry
    schema = notify_schema(reg)
    last_seq = await fill_embedded_log(fresh_db, reg, n=N_PROGRAMMES)
    await notify_all(fresh_db, reg)
    await send_due(fresh_db, reg, smtp.transport())
    before = await outbox(fresh_db, reg)
    conn = await asyncpg.connect(fresh_db)
    try:
        directory_before = await conn.fetch(
            f"SELECT kind, key, data, updated_seq FROM {schema}.directory ORDER BY kind, key"
        )
        await reset_for_replay(conn, schema)
        assert (await read_checkpoint(conn, schema)).last_seq == 0
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.directory") == 0
        # Re-delivering the whole log (another batch size) rebuilds the same ids: no new row.
        assert await notify_all(fresh_db, reg, batch_size=3) == last_seq
        assert (await read_checkpoint(conn, schema)).last_seq == last_seq
        directory_after = await conn.fetch(
            f"SELECT kind, key, data, updated_seq FROM {schema}.directory ORDER BY kind, key"
        )
    finally:
        await conn.close()
    assert directory_after == directory_before
    after = await outbox(fresh_db, reg)
    assert after == before  # same rows, still sent, untouched
    assert await send_due(fresh_db, reg, smtp.transport()) == 0
    assert sum(smtp.inbox.ids().values()) == len(before)


async def test_a_notifier_whose_checkpoint_moved_reloads_instead_of_using_a_stale_directory(
    fresh_db: str, unique_registry: str
) -> None:
    reg = unique_registry
    schema = notify_schema(reg)
    last_seq = await fill_embedded_log(fresh_db, reg, n=N_PROGRAMMES)

    def notifier() -> Notifier:
        return Notifier(
            lambda: PgEventSource(fresh_db, reg), fresh_db, MailContext(reg), batch_size=3
        )

    a, b = notifier(), notifier()
    await a.start()
    await b.start()
    try:
        while await a.step():
            pass
        rows = await outbox(fresh_db, reg)
        # b loaded an empty directory at seq 0; a has moved on: b must not build from it.
        with pytest.raises(CheckpointMoved):
            await b.step()
        assert await outbox(fresh_db, reg) == rows
        await b.close()
        await b.start()
        assert b.checkpoint == a.checkpoint
        assert await b.step() == 0
        # A replay reset under a live notifier: at its next event it notices, reloads and
        # replays from seq 0 (as run() does); only the new event's message is new.
        conn = await asyncpg.connect(fresh_db)
        try:
            await reset_for_replay(conn, schema)
        finally:
            await conn.close()
        assert await fill_embedded_log(fresh_db, reg, n=N_PROGRAMMES + 1) == last_seq + 1
        with pytest.raises(CheckpointMoved):
            await a.step()
        await a.close()
        await a.start()
        assert a.checkpoint.last_seq == 0
        while await a.step():
            pass
        assert a.checkpoint.last_seq == last_seq + 1
        after = await outbox(fresh_db, reg)
        assert after[: len(rows)] == rows
        assert [(r["seq"], r["kind"]) for r in after[len(rows) :]] == [
            (last_seq + 1, "PROGRAMME_CREATE")
        ]
    finally:
        await a.close()
        await b.close()


async def test_smtp_outage_is_retried_with_backoff_and_each_message_arrives_once(
    fresh_db: str, unique_registry: str, smtp_down: SmtpServer
) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=N_PROGRAMMES)
    await notify_all(fresh_db, reg)
    n = len(await outbox(fresh_db, reg))
    transport = smtp_down.transport()

    assert await send_due(fresh_db, reg, transport) == n  # each tried once, each failed
    rows = await outbox(fresh_db, reg)
    assert all(r["attempts"] == 1 and r["sent_at"] is None and r["dead_at"] is None for r in rows)
    assert all("SMTP" in r["last_error"] or "Connect" in r["last_error"] for r in rows)
    assert await send_due(fresh_db, reg, transport) == 0  # not due before the backoff

    await asyncio.sleep(FAST.base_s + 0.2)
    conn = await asyncpg.connect(fresh_db)
    try:
        t0 = await conn.fetchval("SELECT now()")
    finally:
        await conn.close()
    assert await send_due(fresh_db, reg, transport) == n  # second try, second failure
    for r in await outbox(fresh_db, reg):
        assert r["attempts"] == 2
        wait = (r["next_attempt_at"] - t0).total_seconds()
        assert 2 * FAST.base_s <= wait < 2 * FAST.base_s + 2.0  # the delay doubled

    smtp_down.start()  # the mail server comes back
    await asyncio.sleep(2 * FAST.base_s + 0.2)
    assert await send_due(fresh_db, reg, transport) == n
    assert await send_due(fresh_db, reg, transport) == 0
    rows = await outbox(fresh_db, reg)
    assert all(r["sent_at"] is not None and r["attempts"] == 3 for r in rows)
    assert smtp_down.inbox.ids() == Counter({r["message_id"]: 1 for r in rows})


async def test_giving_up_and_permanent_refusals_leave_dead_rows_that_can_be_requeued(
    fresh_db: str, unique_registry: str, smtp_down: SmtpServer
) -> None:
    reg = unique_registry
    schema = notify_schema(reg)
    await fill_embedded_log(fresh_db, reg, n=1)
    await notify_all(fresh_db, reg)
    n = len(await outbox(fresh_db, reg))
    two = RetryPolicy(base_s=0.05, cap_s=1.0, max_attempts=2, jitter=0.0)
    await send_due(fresh_db, reg, smtp_down.transport(), two)
    await asyncio.sleep(0.2)
    await send_due(fresh_db, reg, smtp_down.transport(), two)
    rows = await outbox(fresh_db, reg)
    assert all(r["dead_at"] is not None and r["attempts"] == 2 for r in rows)
    assert await send_due(fresh_db, reg, smtp_down.transport(), two) == 0  # dead stays dead

    smtp_down.start()
    smtp_down.inbox.refuse.add("root@example.org")  # 550: retrying cannot help
    conn = await asyncpg.connect(fresh_db)
    try:
        assert await requeue_dead(conn, schema) == n
    finally:
        await conn.close()
    assert await send_due(fresh_db, reg, smtp_down.transport(), two) == n
    rows = await outbox(fresh_db, reg)
    dead = [r for r in rows if r["dead_at"] is not None]
    assert [r["to"] for r in dead] == [["root@example.org"]]
    assert dead[0]["attempts"] == 1
    assert "550" in dead[0]["last_error"]
    assert sum(smtp_down.inbox.ids().values()) == n - 1


async def test_maildir_transport_writes_one_eml_per_message(
    fresh_db: str, unique_registry: str, tmp_path: Path
) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=N_PROGRAMMES)
    await notify_all(fresh_db, reg)
    rows = await outbox(fresh_db, reg)
    maildir = MaildirTransport(tmp_path / "mail")
    assert await send_due(fresh_db, reg, maildir) == len(rows)
    files = sorted((tmp_path / "mail" / "new").iterdir())
    assert len(files) == len(rows)
    assert not list((tmp_path / "mail" / "tmp").iterdir())  # nothing half-written left
    parsed = {
        str(m["Message-ID"]): m
        for m in (message_from_bytes(f.read_bytes(), policy=default) for f in files)
    }
    assert set(parsed) == {r["message_id"] for r in rows}
    for r in rows:
        m = parsed[r["message_id"]]
        assert str(m["To"]) == r["to"][0]
        assert str(m["Subject"]) == r["subject"]
    # Sending one again (the at-least-once window) replaces its file: still one per message.
    r = rows[0]
    await maildir.send(
        MailMessage(r["message_id"], "x@registry.invalid", tuple(r["to"]), r["subject"], r["body"])
    )
    assert len(list((tmp_path / "mail" / "new").iterdir())) == len(rows)


async def test_events_too_old_when_first_seen_are_recorded_but_not_mailed(
    fresh_db: str, unique_registry: str, tmp_path: Path
) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=1)
    await asyncio.sleep(0.05)
    await notify_all(fresh_db, reg, stale_after=timedelta(milliseconds=1))
    rows = await outbox(fresh_db, reg)
    assert rows
    assert all(r["dead_at"] is not None and "older than" in r["last_error"] for r in rows)
    assert await send_due(fresh_db, reg, MaildirTransport(tmp_path)) == 0


class CrashAfterAccept:
    """Delivers, then fails as if the process died before recording it."""

    def __init__(self, inner: MailTransport) -> None:
        self.inner = inner
        self.crashes = 1

    async def send(self, message: MailMessage) -> None:
        await self.inner.send(message)
        if self.crashes:
            self.crashes -= 1
            raise ConnectionResetError("lost after the server accepted the message")

    async def close(self) -> None:
        await self.inner.close()


async def test_the_at_least_once_window_resends_with_the_same_message_id(
    fresh_db: str, unique_registry: str, smtp: SmtpServer
) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=1)
    await notify_all(fresh_db, reg)
    n = len(await outbox(fresh_db, reg))
    await send_due(fresh_db, reg, CrashAfterAccept(smtp.transport()))
    await asyncio.sleep(FAST.base_s + 0.2)
    await send_due(fresh_db, reg, smtp.transport())
    ids = smtp.inbox.ids()
    # One message went out twice, and both copies carry one Message-ID: receivers drop one.
    assert len(ids) == n
    assert sorted(ids.values()) == [1] * (n - 1) + [2]


def org_command(registry: str, n: int) -> Any:
    return envelope(
        registry,
        f"org-cert-{n}",
        ROOT,
        RegisterOrganisation(
            name=f"Certifier {n}",
            role=CompanyRole.CERTIFIER,
            tax_id=f"CERT-{n}",
            payment_id=f"CP-{n}",
            email=f"cert{n}@example.org",
            admin=FirstAdmin(email=f"admin{n}@cert.example.org", name=f"Cy {n}"),
        ),
    )


async def test_a_running_registry_mails_without_ever_waiting_for_smtp(
    fresh_db: str, unique_registry: str, smtp_down: SmtpServer, tmp_path: Path
) -> None:
    """Wired as ``registry serve`` would: commands answer at once while SMTP is down, and
    every message arrives exactly once after it comes back (4 concurrent senders)."""
    reg = unique_registry
    mail = MailSettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_down.port,
        smtp_starttls=False,
        smtp_timeout_s=5.0,
        backoff_base_s=0.3,
        backoff_cap_s=1.0,
        send_concurrency=4,
        poll_interval_s=0.1,
    )
    settings = RegistrySettings(
        registry=reg,
        data_dir=tmp_path,
        token_secret="s" * 48,
        root_password="r" * 12,
        mail=mail,
    )
    # start_registry wires the notifier and sender exactly as `registry serve` does.
    running = await start_registry(settings, fresh_db)
    try:
        t0 = time.perf_counter()
        results = [await running.bus.submit(org_command(reg, i), 30) for i in range(5)]
        elapsed = time.perf_counter() - t0
        assert [r.status for r in results] == ["accepted"] * 5
        assert elapsed < 5.0  # SMTP is down and nobody waited for it
        # setup (Government + Root) and 5 organisations with their Admins
        expected = 2 + 2 * 5
        for _ in range(100):
            rows = await outbox(fresh_db, reg)
            if len(rows) == expected and all(r["attempts"] >= 1 for r in rows):
                break
            await asyncio.sleep(0.1)
        assert len(rows) == expected
        assert all(r["sent_at"] is None and r["last_error"] for r in rows)

        smtp_down.start()
        for _ in range(100):
            rows = await outbox(fresh_db, reg)
            if all(r["sent_at"] is not None for r in rows):
                break
            await asyncio.sleep(0.1)
        assert all(r["sent_at"] is not None for r in rows)
        assert smtp_down.inbox.ids() == Counter({r["message_id"]: 1 for r in rows})
        assert not [t for t in running.tasks if t.done()]  # nothing ended the registry
    finally:
        await running.close()

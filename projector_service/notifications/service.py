"""Starting the notifier and the sender as two background tasks of a running registry.

Neither task can fail a command or end the process: they only read the log and write their
own schema, retry outages with backoff, and a broken event only idles the notifier (logged
as ``notifier_stopped``). Mail never delays a command: commands do not wait for either task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import structlog

from libs.eventlog.ports import EventSource
from libs.mail.settings import MailSettings, transport_from_settings
from libs.mail.transport import MailTransport
from projector_service.notifications.compose import MailContext
from projector_service.notifications.outbox import Notifier, create_notify_schema, notify_schema
from projector_service.notifications.sender import RetryPolicy, Sender

log = structlog.get_logger("notifications")


@dataclass
class Notifications:
    notifier: Notifier
    sender: Sender
    transport: MailTransport

    def tasks(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(self.notifier.run(stop), name="notifier"),
            asyncio.create_task(self.sender.run(stop), name="mail-sender"),
        ]

    async def close(self) -> None:
        await self.notifier.close()
        await self.transport.close()


async def start_notifications(
    mail: MailSettings,
    *,
    dsn: str,
    registry: str,
    data_dir: Path,
    source_factory: Callable[[], EventSource],
    transport: MailTransport | None = None,
) -> Notifications:
    """Create the ``notify_<registry>`` schema and build both parts (call ``tasks`` to run)."""
    schema = notify_schema(registry)
    conn = await asyncpg.connect(dsn)
    try:
        await create_notify_schema(conn, schema)
    finally:
        await conn.close()
    transport = transport or transport_from_settings(mail, data_dir)
    sender = Sender(
        dsn,
        schema,
        transport,
        sender_address=mail.sender,
        policy=RetryPolicy(
            base_s=mail.backoff_base_s, cap_s=mail.backoff_cap_s, max_attempts=mail.max_attempts
        ),
        concurrency=mail.send_concurrency,
        poll_interval_s=mail.poll_interval_s,
        send_timeout_s=mail.smtp_timeout_s * 4,
    )
    ctx = MailContext(
        registry=registry,
        subject_prefix=mail.subject_prefix,
        public_url=mail.public_url,
        message_id_domain=mail.message_id_domain,
    )
    notifier = Notifier(
        source_factory,
        dsn,
        ctx,
        schema=schema,
        stale_after=timedelta(seconds=mail.stale_after_s),
        on_messages=sender.wake,
    )
    log.info("notifications_configured", schema=schema, transport=repr(transport))
    return Notifications(notifier, sender, transport)

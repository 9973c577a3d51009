"""The mail port: send one message or raise a ``MailError`` that says whether to retry."""

from __future__ import annotations

from typing import Protocol

import structlog

from libs.mail.message import MailMessage

log = structlog.get_logger("mail")


class MailError(Exception):
    """Sending failed."""


class TransientMailError(MailError):
    """Worth retrying later: server down, timeout, 4xx, authentication to be fixed."""


class PermanentMailError(MailError):
    """Retrying cannot help: every recipient or the message itself was refused (5xx)."""


class PartialDelivery(MailError):
    """The message went out, but some of its recipients were refused: never send it again."""


class MailTransport(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Hand the message over, or raise ``MailError``. Returns once it was accepted."""

    async def close(self) -> None: ...


class LogTransport:
    """Mail disabled: log who would have been mailed what (never the body)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __repr__(self) -> str:
        return "LogTransport(mail disabled)"

    async def send(self, message: MailMessage) -> None:
        self.sent.append(message.message_id)
        log.info(
            "mail_disabled_not_sent",
            message_id=message.message_id,
            to=list(message.to),
            subject=message.subject,
        )

    async def close(self) -> None:
        return None

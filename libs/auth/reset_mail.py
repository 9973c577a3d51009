"""Delivering password-reset tokens: a tiny port and the default file outbox.

The composition root chooses the notifier. The default writes one RFC 5322 message per
reset into ``<data_dir>/mail/outbox/`` (mode 0600, written atomically); a mail sender can
pick the files up. The token appears only in that message, never in a log.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

CONFIRM_PATH = "/v1/auth/password-reset/confirm"


class PasswordResetNotifier(Protocol):
    async def send_reset(self, email: str, token: str, *, welcome: bool = False) -> None:
        """Deliver a password link: a reset, or (``welcome``) a new account's first one."""


def reset_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{CONFIRM_PATH}?token={quote(token, safe='')}"


WELCOME_SUBJECT = "Set your carbon registry password"


def reset_message(
    sender: str, email: str, link: str, now: datetime, *, welcome: bool = False
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email
    msg["Subject"] = WELCOME_SUBJECT if welcome else "Reset your carbon registry password"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain="registry.invalid")
    if welcome:
        msg.set_content(
            "Your carbon registry account is active.\n\n"
            f"To choose your password, open this link within three days:\n\n  {link}\n\n"
            "The link works once. Later you can always ask for a new one with "
            '"Forgot password" on the sign-in page.\n'
        )
        return msg
    msg.set_content(
        "Someone asked to reset the password of your carbon registry account.\n\n"
        f"To choose a new password, open this link within one hour:\n\n  {link}\n\n"
        "The link works once. If you did not ask for this, ignore this message: "
        "your password stays unchanged.\n"
    )
    return msg


class OutboxFileNotifier:
    """Writes each reset message as an ``.eml`` file into a directory."""

    def __init__(
        self,
        outbox: Path,
        base_url: str = "",
        sender: str = "Carbon Registry <no-reply@registry.invalid>",
    ) -> None:
        self.outbox = outbox
        self.base_url = base_url
        self.sender = sender

    async def send_reset(self, email: str, token: str, *, welcome: bool = False) -> None:
        now = datetime.now(UTC)
        link = reset_link(self.base_url, token)
        msg = reset_message(self.sender, email, link, now, welcome=welcome)
        await asyncio.to_thread(self._write, msg.as_bytes(), now)

    def _write(self, data: bytes, now: datetime) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex}.eml"
        tmp = self.outbox / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, self.outbox / name)

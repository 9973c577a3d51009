"""The message every transport sends, and its RFC 5322 form (stdlib ``email``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

# RFC 5322 msg-id: "<" id-left "@" id-right ">" (dot-atoms; no spaces, no angle brackets).
MESSAGE_ID = re.compile(r"^<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+>$")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")


def one_line(text: str) -> str:
    """A header value on one line: a line break inside a name must not start a new header."""
    return _LINE_BREAKS.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class MailMessage:
    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    body_text: str
    date: datetime = field(default_factory=lambda: datetime.now(UTC))
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not MESSAGE_ID.match(self.message_id):
            raise ValueError(f"not an RFC 5322 Message-ID: {self.message_id!r}")
        if not self.to:
            raise ValueError("a message needs at least one recipient")


def to_email(msg: MailMessage) -> EmailMessage:
    """The message as RFC 5322: plain UTF-8 text, auto-generated, with its fixed Message-ID."""
    em = EmailMessage(policy=SMTP)
    em["Message-ID"] = msg.message_id
    em["Date"] = format_datetime(msg.date.astimezone(UTC))
    em["From"] = one_line(msg.sender)
    em["To"] = ", ".join(one_line(a) for a in msg.to)
    em["Subject"] = one_line(msg.subject)
    em["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to these
    for name, value in msg.headers:
        em[name] = one_line(value)
    em.set_content(msg.body_text, charset="utf-8")
    return em

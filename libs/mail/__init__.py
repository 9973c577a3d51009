"""Sending e-mail: one message shape, one transport port, and its adapters.

``SmtpTransport`` talks to a real SMTP server (aiosmtplib); ``MaildirTransport`` writes
RFC 5322 files into a local mailbox folder (the embedded default); ``LogTransport`` only logs
(mail disabled). Every message carries a deterministic ``Message-ID`` so a receiver can drop
the rare duplicate an at-least-once sender may produce.
"""

from libs.mail.maildir import MaildirTransport
from libs.mail.message import MailMessage, to_email
from libs.mail.settings import MailSettings, transport_from_settings
from libs.mail.smtp import SmtpTransport
from libs.mail.transport import (
    LogTransport,
    MailError,
    MailTransport,
    PartialDelivery,
    PermanentMailError,
    TransientMailError,
)

__all__ = [
    "LogTransport",
    "MailError",
    "MailMessage",
    "MailSettings",
    "MailTransport",
    "MaildirTransport",
    "PartialDelivery",
    "PermanentMailError",
    "SmtpTransport",
    "TransientMailError",
    "to_email",
    "transport_from_settings",
]

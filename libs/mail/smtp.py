"""Sending through a real SMTP server with aiosmtplib.

One connection per message: mail volume is low, and a fresh connection never inherits a
half-broken session. ``starttls``: True requires the upgrade, False never tries it, None
upgrades when the server offers it. ``use_tls`` is implicit TLS (usually port 465).
"""

from __future__ import annotations

import aiosmtplib

from libs.mail.message import MailMessage, to_email
from libs.mail.transport import PartialDelivery, PermanentMailError, TransientMailError


def _permanent(code: int) -> bool:
    return 500 <= code < 600


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        starttls: bool | None = None,
        use_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
        validate_certs: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.starttls = starttls
        self.use_tls = use_tls
        self._username = username
        self._password = password
        self.timeout_s = timeout_s
        self.validate_certs = validate_certs

    def __repr__(self) -> str:  # never shows the password
        return f"SmtpTransport({self.host}:{self.port}, starttls={self.starttls})"

    async def send(self, message: MailMessage) -> None:
        try:
            errors, _ = await aiosmtplib.send(
                to_email(message),
                sender=None,  # From header
                recipients=list(message.to),
                hostname=self.host,
                port=self.port,
                username=self._username,
                password=self._password,
                start_tls=self.starttls,
                use_tls=self.use_tls,
                timeout=self.timeout_s,
                validate_certs=self.validate_certs,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if codes and all(_permanent(c) for c in codes):
                raise PermanentMailError(f"all recipients refused: {text}") from exc
            raise TransientMailError(f"recipients refused: {text}") from exc
        except (aiosmtplib.SMTPDataError, aiosmtplib.SMTPSenderRefused) as exc:
            cls = PermanentMailError if _permanent(exc.code) else TransientMailError
            raise cls(f"{type(exc).__name__}: {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Connection refused or lost, timeouts, authentication, TLS: all may heal.
            raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc
        if errors:
            # Some recipients accepted, some refused: the message went out; say who missed it.
            missed = ", ".join(f"{a}: {r.code} {r.message}" for a, r in errors.items())
            raise PartialDelivery(missed)

    async def close(self) -> None:
        return None

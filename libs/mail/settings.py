"""Mail settings (environment prefix ``REGISTRY_MAIL_``) and the transport they choose.

No SMTP host: messages go to a local Maildir folder (``<data_dir>/mailbox`` unless
``REGISTRY_MAIL_MAILDIR`` says otherwise). ``REGISTRY_MAIL_ENABLED=false`` only logs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.mail.maildir import MaildirTransport
from libs.mail.smtp import SmtpTransport
from libs.mail.transport import LogTransport, MailTransport


class MailSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_MAIL_", extra="ignore")

    enabled: bool = True
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    # True: STARTTLS required; False: never; None: when the server offers it.
    smtp_starttls: bool | None = None
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(30.0, gt=0, le=300)
    smtp_validate_certs: bool = True
    maildir: Path | None = None
    sender: str = "Carbon Registry <no-reply@registry.invalid>"
    subject_prefix: str = "Carbon Registry: "
    public_url: str = "http://127.0.0.1:8000"  # links in mails
    # Right-hand side of every Message-ID. Changing it changes the ids of messages not yet
    # in the outbox only; never change it between a crash and a replay.
    message_id_domain: str = Field("registry", pattern=r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
    max_attempts: int = Field(10, ge=1, le=100)
    backoff_base_s: float = Field(5.0, gt=0)
    backoff_cap_s: float = Field(3600.0, gt=0)
    # Events older than this when the notifier first sees them (a first start on an old
    # log) are recorded in the outbox but not mailed.
    stale_after_s: float = Field(3 * 24 * 3600.0, gt=0)
    send_concurrency: int = Field(2, ge=1, le=32)
    poll_interval_s: float = Field(1.0, gt=0, le=60)


def transport_from_settings(mail: MailSettings, data_dir: Path) -> MailTransport:
    if not mail.enabled:
        return LogTransport()
    if mail.smtp_host:
        return SmtpTransport(
            mail.smtp_host,
            mail.smtp_port,
            starttls=mail.smtp_starttls,
            use_tls=mail.smtp_tls,
            username=mail.smtp_username,
            password=mail.smtp_password.get_secret_value() if mail.smtp_password else None,
            timeout_s=mail.smtp_timeout_s,
            validate_certs=mail.smtp_validate_certs,
        )
    return MaildirTransport(mail.maildir or data_dir / "mailbox")

"""Backoff maths of the outbox sender, and the RFC 5322 form of a message."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from pydantic import SecretStr

from libs.mail.maildir import MaildirTransport, file_name
from libs.mail.message import MailMessage, to_email
from libs.mail.settings import MailSettings, transport_from_settings
from libs.mail.smtp import SmtpTransport
from libs.mail.transport import LogTransport
from projector_service.notifications.sender import RetryPolicy, backoff_delay


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    assert [backoff_delay(n) for n in range(1, 6)] == [5.0, 10.0, 20.0, 40.0, 80.0]
    assert backoff_delay(10) == 2560.0
    assert backoff_delay(11) == 3600.0  # 5 * 2**10 = 5120 > the 1 h cap
    assert backoff_delay(500) == 3600.0  # no overflow for absurd counts
    assert backoff_delay(3, base_s=0.5, cap_s=1.0) == 1.0


def test_backoff_refuses_zero_attempts() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        backoff_delay(0)


@pytest.mark.parametrize("r", [0.0, 0.25, 0.5, 0.999])
def test_jitter_stays_within_its_fraction(r: float) -> None:
    d = backoff_delay(3, jitter=0.1, rand=lambda: r)
    assert 18.0 <= d <= 22.0
    assert backoff_delay(3, jitter=0.1, rand=lambda: 0.5) == pytest.approx(20.0)


def test_policy_gives_up_after_max_attempts() -> None:
    p = RetryPolicy(base_s=5, cap_s=3600, max_attempts=10, jitter=0.0)
    delays = [p.next_delay(n) for n in range(1, 11)]
    assert delays[:9] == [5.0 * 2**i for i in range(9)]
    assert delays[9] is None  # the 10th failure makes the row dead
    assert sum(d for d in delays if d) == 5.0 * (2**9 - 1)


def msg(**kw: object) -> MailMessage:
    base: dict[str, object] = {
        "message_id": "<ng.12.0@registry>",
        "sender": "Carbon Registry <no-reply@registry.invalid>",
        "to": ("ada@dev.example.org",),
        "subject": "Carbon Registry: Programme créé",
        "body_text": "Dear Ada,\n\nÇa marche.\n",
        "date": datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
    }
    base.update(kw)
    return MailMessage(**base)  # type: ignore[arg-type]


def test_rfc5322_form_carries_the_fixed_message_id() -> None:
    em = to_email(msg())
    parsed = message_from_bytes(em.as_bytes(), policy=default)
    assert parsed["Message-ID"] == "<ng.12.0@registry>"
    assert parsed["To"] == "ada@dev.example.org"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Subject"] == "Carbon Registry: Programme créé"
    assert parsed["Date"] == "Sat, 01 Jun 2024 12:00:00 +0000"
    assert parsed.get_content().replace("\r\n", "\n") == "Dear Ada,\n\nÇa marche.\n"


def test_header_injection_is_flattened() -> None:
    em = to_email(msg(subject="Hi\r\nBcc: victim@example.org"))
    raw = em.as_bytes()
    assert b"\nBcc:" not in raw
    assert message_from_bytes(raw, policy=default)["Subject"] == "Hi Bcc: victim@example.org"


def test_a_bad_message_id_or_no_recipient_is_refused() -> None:
    with pytest.raises(ValueError, match="Message-ID"):
        msg(message_id="ng.12.0@registry")
    with pytest.raises(ValueError, match="recipient"):
        msg(to=())


def test_maildir_file_names_come_from_the_message_id() -> None:
    assert file_name("<ng.12.0@registry>") == "ng.12.0@registry.eml"
    odd = file_name("<a/b:c@x>")
    assert "/" not in odd
    assert ":" not in odd
    assert odd != file_name("<a_b_c@x>")  # sanitising never merges two ids
    assert file_name("<..x@y>") == file_name("<..x@y>")


def test_settings_choose_the_transport(tmp_path: Path) -> None:
    assert isinstance(transport_from_settings(MailSettings(), tmp_path), MaildirTransport)
    assert transport_from_settings(MailSettings(), tmp_path).folder == tmp_path / "mailbox"
    assert isinstance(transport_from_settings(MailSettings(enabled=False), tmp_path), LogTransport)
    smtp = transport_from_settings(
        MailSettings(smtp_host="smtp.example.org", smtp_password=SecretStr("hunter2")), tmp_path
    )
    assert isinstance(smtp, SmtpTransport)
    assert "hunter2" not in repr(smtp)
    assert "hunter2" not in repr(MailSettings(smtp_password=SecretStr("hunter2")))

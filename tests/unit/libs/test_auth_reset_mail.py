"""The default password-reset notifier: one .eml file per reset in the outbox."""

from __future__ import annotations

import email
import stat
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from libs.auth.opaque import new_token
from libs.auth.reset_mail import CONFIRM_PATH, OutboxFileNotifier, reset_link


def test_reset_link_quotes_the_token() -> None:
    assert reset_link("", "abc") == f"{CONFIRM_PATH}?token=abc"
    assert reset_link("https://reg.example/", "a+b/c") == (
        f"https://reg.example{CONFIRM_PATH}?token=a%2Bb%2Fc"
    )


async def test_outbox_notifier_writes_a_private_eml_with_the_link(tmp_path: Path) -> None:
    outbox = tmp_path / "mail" / "outbox"
    notifier = OutboxFileNotifier(outbox)
    token = new_token()
    await notifier.send_reset("ada@example.org", token)
    await notifier.send_reset("bob@example.org", new_token())
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    assert not list(outbox.glob(".*"))  # no temporary files left
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    messages = [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]
    msg = next(m for m in messages if m["To"] == "ada@example.org")
    assert isinstance(msg, EmailMessage)
    assert "password" in msg["Subject"].lower()
    body = msg.get_content()
    assert f"{CONFIRM_PATH}?token={token}" in body

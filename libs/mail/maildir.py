"""A local mailbox folder (Maildir layout): the embedded default, no mail server needed.

Each message becomes one RFC 5322 file ``new/<message-id>.eml``, written to ``tmp/`` first
and renamed into ``new/`` so a reader never sees half a file. The name comes from the
Message-ID, so sending the same message again replaces the file instead of adding a copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from pathlib import Path

from libs.mail.message import MailMessage, to_email
from libs.mail.transport import TransientMailError

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")


def file_name(message_id: str) -> str:
    """``<demo.5.0@registry>`` -> ``demo.5.0@registry.eml`` (safe, stable, unique)."""
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    safe = _UNSAFE.sub("_", bare)[:180]
    if safe != bare or not safe:
        safe += "-" + hashlib.sha256(message_id.encode()).hexdigest()[:12]
    return safe.lstrip(".") + ".eml"


class MaildirTransport:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"MaildirTransport({self.folder})"

    @property
    def new_dir(self) -> Path:
        return self.folder / "new"

    def _write(self, message: MailMessage) -> Path:
        tmp_dir = self.folder / "tmp"
        for sub in (tmp_dir, self.new_dir, self.folder / "cur"):
            sub.mkdir(parents=True, exist_ok=True)
        em = to_email(message)
        data = em.as_bytes(policy=em.policy.clone(linesep="\n"))
        name = file_name(message.message_id)
        tmp = tmp_dir / f"{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            final = self.new_dir / name
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final

    async def send(self, message: MailMessage) -> None:
        try:
            await asyncio.to_thread(self._write, message)
        except OSError as exc:  # disk full, permissions: may pass once an operator acts
            raise TransientMailError(f"cannot write to {self.folder}: {exc}") from exc

    async def close(self) -> None:
        return None

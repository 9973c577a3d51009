"""Replay's second process: it folds a share of the programmes while the first folds the rest.

A replay is bound by one Python process's CPU; the read models are almost all programme
scoped (programmes, blocks and their history, requests, certifications, mitigation actions,
the timeline, the AEF actions), and no write of a programme's event reads another
programme's rows. So the first process reads and checks the whole log (dense seq, hash
chain), keeps the registry-wide events (registry, organisations, users, settings, the log
clock) and a share of the programmes, and sends the other programmes' events, as bytes, to
this process, which folds and COPYs them into the same build tables. Freezes (which name
blocks of any programme) go to both: each process changes the blocks it holds.

Which event types are programme scoped is listed here (``PROGRAMME_EVENTS``); any other
type stays in the first process, and this process refuses a write outside the programme
scoped tables, so a new event type can never be folded half here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
from typing import NoReturn

import asyncpg

from projector_service.bulk import CHUNK, SESSION_SETTINGS, CopyWriter, breathe, fold
from projector_service.decode import ProjectionStopped, decode_checked
from projector_service.fold import Store
from projector_service.projections.view import JsonDict

PROGRAMME_EVENTS = frozenset(
    {
        "ProgrammeCreated",
        "ProgrammeApproved",
        "ProgrammeRejected",
        "ProgrammeAuthorised",
        "CreditsIssued",
        "TransferRequested",
        "CreditsTransferred",
        "TransferRejected",
        "TransferCancelled",
        "RetirementRequested",
        "CreditsRetired",
        "RetirementRefused",
        "RetirementCancelled",
        "ProgrammeCertified",
        "CertificationRevoked",
        "MitigationActionAdded",
    }
)
BLOCK_LIST_EVENTS = frozenset({"CreditsFrozen", "CreditsUnfrozen"})
PROGRAMME_TABLES = frozenset(
    {
        "programmes",
        "programme_timeline",
        "credit_blocks",
        "credit_block_history",
        "credit_requests",
        "certifications",
        "mitigation_actions",
        "aef_actions",
    }
)

HERE, THERE, BOTH = 0, 1, 2
SEND_EVERY = 4_000  # events per message to the second process


def route(event_type: str, payload: JsonDict) -> int:
    """Which process folds an event: this one (``THERE``) takes about 3 programmes in 5."""
    if event_type in PROGRAMME_EVENTS:
        return THERE if hash(payload["programme_id"]) % 5 < 3 else HERE
    if event_type in BLOCK_LIST_EVENTS:
        return BOTH
    return HERE


class Helper:
    """The first process's handle on the second one, a fork of it: starting costs a few
    milliseconds (a spawned ``python -m`` paid about half a second of imports), so the
    second core pays off on logs of tens of thousands of events already. Framed events go
    down a socket pair; the child answers one line, "ok" or the error, and exits.

    The child never touches what it inherited from this process (its event loop, its
    connections): it opens its own connection in a fresh event loop (asyncio finds no
    running loop in a forked process), keeps its garbage collector off (no finaliser of an
    inherited object may run there), and leaves by ``os._exit``.
    """

    def __init__(
        self, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._pid = pid
        self._reader = reader
        self._writer = writer
        self._buffer: list[bytes] = []
        self._exit: int | None = None

    @classmethod
    async def start(cls, dsn: str, schema: str) -> Helper:
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the child
            mine.close()
            _child(theirs, dsn, schema)
        theirs.close()
        reader, writer = await asyncio.open_connection(sock=mine, limit=2**20)
        return cls(pid, reader, writer)

    def add(self, raw: bytes) -> None:
        self._buffer.append(raw)

    async def send(self, force: bool = False) -> None:
        if not self._buffer or (len(self._buffer) < SEND_EVERY and not force):
            return
        batch = b"".join(len(r).to_bytes(4, "big") + r for r in self._buffer)
        self._buffer = []
        try:
            self._writer.write(len(batch).to_bytes(8, "big") + batch)
            await self._writer.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ProjectionStopped(
                f"replay's second process is gone: {await self._reply()}"
            ) from exc

    async def finish(self) -> None:
        await self.send(force=True)
        self._writer.write((0).to_bytes(8, "big"))
        await self._writer.drain()
        reply = await self._reply()
        self._writer.close()
        if self._wait() != 0 or reply != "ok":
            raise ProjectionStopped(f"replay's second process failed: {reply}")

    async def _reply(self) -> str:
        line = await self._reader.readline()
        return line.decode(errors="replace").strip() or f"exit code {self._wait()}"

    def _wait(self) -> int:
        """The child's exit code (it exits right after its reply, or was killed)."""
        if self._exit is None:
            self._exit = os.waitstatus_to_exitcode(os.waitpid(self._pid, 0)[1])
        return self._exit

    def kill(self) -> None:
        if self._exit is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._wait()
        self._writer.close()


def _child(sock: socket.socket, dsn: str, schema: str) -> NoReturn:
    """The forked process: fold what arrives on ``sock``, reply, exit (never returns)."""
    gc.disable()
    code = 1
    try:
        code = asyncio.run(_serve(sock, dsn, schema))
    finally:
        os._exit(code)


async def _serve(sock: socket.socket, dsn: str, schema: str) -> int:
    """Run ``_work`` on the events arriving on ``sock``; answer "ok" or the error."""
    reader, writer = await asyncio.open_connection(sock=sock, limit=2**30)
    try:
        await _work(reader, dsn, schema)
        reply, code = "ok", 0
    except Exception as exc:
        reply, code = f"{type(exc).__name__}: {exc}".replace("\n", " "), 1
    writer.write(reply.encode() + b"\n")
    await writer.drain()
    writer.close()
    return code


def _frames(batch: bytes) -> list[bytes]:
    out = []
    view = memoryview(batch)
    i = 0
    while i < len(view):
        n = int.from_bytes(view[i : i + 4], "big")
        out.append(bytes(view[i + 4 : i + 4 + n]))
        i += 4 + n
    return out


def _check_scope(store: Store) -> None:
    """Refuse rows of a table that is not programme scoped (see the module docstring)."""
    written = [n for n, t in store.keyed.items() if t.dirty]
    written += [n for n, rows in store.appended.items() if rows]
    for name in written:
        if name not in PROGRAMME_TABLES:
            raise ProjectionStopped(f"an event sent to the second process wrote {name}")


async def _work(reader: asyncio.StreamReader, dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SESSION_SETTINGS)
        writer = CopyWriter(conn, schema)
        store = Store()
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(8), "big")
                if size == 0:
                    break
                raws = _frames(await reader.readexactly(size))
                for i in range(0, len(raws), CHUNK):
                    fold(store, decode_checked(raws[i : i + CHUNK]), clock=False)
                    await breathe()
                _check_scope(store)
                await writer.put(store.take_final())
            await writer.put(store.take_all())
            await writer.close()
        except BaseException:
            writer.cancel()
            raise
    finally:
        await conn.close()

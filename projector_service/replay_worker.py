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
import sys

import asyncpg
import orjson

from projector_service.bulk import CHUNK, SESSION_SETTINGS, CopyWriter, breathe, fold, no_gc
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
    """The first process's handle on the second one: ``python -m
    projector_service.replay_worker`` reading its settings, then framed events, on its stdin
    (a plain child process: no multiprocessing, so no re-import of the caller's script; the
    DSN never appears in the process list)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._buffer: list[bytes] = []

    @classmethod
    async def start(cls, dsn: str, schema: str) -> Helper:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "projector_service.replay_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdin is not None
        settings = orjson.dumps({"dsn": dsn, "schema": schema})
        proc.stdin.write(len(settings).to_bytes(8, "big") + settings)
        return cls(proc)

    def add(self, raw: bytes) -> None:
        self._buffer.append(raw)

    async def send(self, force: bool = False) -> None:
        if not self._buffer or (len(self._buffer) < SEND_EVERY and not force):
            return
        batch = b"".join(len(r).to_bytes(4, "big") + r for r in self._buffer)
        self._buffer = []
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(len(batch).to_bytes(8, "big") + batch)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ProjectionStopped(
                f"replay's second process is gone: {await self._reply()}"
            ) from exc

    async def finish(self) -> None:
        await self.send(force=True)
        stdin = self._proc.stdin
        assert stdin is not None
        stdin.write((0).to_bytes(8, "big"))
        await stdin.drain()
        stdin.close()
        reply = await self._reply()
        if await self._proc.wait() != 0 or reply != "ok":
            raise ProjectionStopped(f"replay's second process failed: {reply}")

    async def _reply(self) -> str:
        assert self._proc.stdout is not None
        line = await self._proc.stdout.readline()
        return line.decode(errors="replace").strip() or f"exit code {self._proc.returncode}"

    def kill(self) -> None:
        if self._proc.returncode is None:
            self._proc.kill()


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


async def _work() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    size = int.from_bytes(await reader.readexactly(8), "big")
    settings = orjson.loads(await reader.readexactly(size))
    schema: str = settings["schema"]
    conn = await asyncpg.connect(settings["dsn"])
    try:
        await conn.execute(SESSION_SETTINGS)
        writer = CopyWriter(conn, schema)
        store = Store()
        try:
            with no_gc():
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


def main() -> None:
    """``python -m projector_service.replay_worker``: prints "ok" or the error."""
    try:
        asyncio.run(_work())
    except BaseException as exc:
        print(f"{type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
        raise SystemExit(1) from exc
    print("ok", flush=True)


if __name__ == "__main__":
    main()

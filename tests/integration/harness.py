"""Helpers for integration and fault tests: commands, processors in-process or as real
processes (so they can be SIGKILLed or SIGSTOPped), and read-model digests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from command_service.application.ports import CommandBus, ResultTimeout
from libs.eventlog.kafka_source import KafkaEventSource
from libs.eventlog.ports import EventSource
from libs.eventlog.topics import Topics
from libs.eventlog.verify import verify_log
from projector_service.schema import MODEL_TABLES
from schemas.codec import decode_event
from schemas.commands.credits import ApproveProgramme, AuthoriseProgramme
from schemas.commands.organisation import FirstAdmin, RegisterOrganisation
from schemas.commands.programme import CreateProgramme, ProgrammePropertiesInput
from schemas.commands.registry import InitialiseRegistry
from schemas.enums import CompanyRole, GreenHouseGas, Sector, SectoralScope
from schemas.envelope import SYSTEM_ACTOR, Actor, CommandEnvelope, ResultEnvelope

ROOT = Actor(kind="user", user_id=1)
TAX_ID = "PD-TAX-1"
ROOT_DIR = Path(__file__).resolve().parents[2]


def envelope(registry: str, command_id: str, actor: Actor, payload: object) -> CommandEnvelope:
    return CommandEnvelope(
        registry=registry,
        command_id=command_id,
        type=payload.TYPE,  # type: ignore[attr-defined]
        actor=actor,
        submitted_at=datetime.now(UTC),
        payload=payload.model_dump(mode="json"),  # type: ignore[attr-defined]
    )


def init_env(registry: str) -> CommandEnvelope:
    return envelope(
        registry,
        "init",
        SYSTEM_ACTOR,
        InitialiseRegistry(
            country_code="NG",
            country_name="Nigeria",
            government_name="Government of Nigeria",
            government_email="gov@example.org",
            root_email="root@example.org",
        ),
    )


def developer_env(registry: str) -> CommandEnvelope:
    return envelope(
        registry,
        "org-dev",
        ROOT,
        RegisterOrganisation(
            name="Developer Ltd",
            role=CompanyRole.PROGRAMME_DEVELOPER,
            tax_id=TAX_ID,
            payment_id="PAY-1",
            email="dev@example.org",
            admin=FirstAdmin(email="admin@dev.example.org", name="Ada"),
        ),
    )


def programme_env(registry: str, n: int) -> CommandEnvelope:
    return envelope(
        registry,
        f"prog-{n}",
        ROOT,
        CreateProgramme(
            title=f"Programme {n}",
            external_id=f"EXT-{n}",
            sector=Sector.ENERGY,
            sectoral_scope=SectoralScope.ENERGY_INDUSTRY,
            start_time=1767225600,
            end_time=1893456000,
            credit_est=1000 + n,
            proponent_tax_ids=[TAX_ID],
            environmental_assessment_registration_no=f"EIA-{n}",
            properties=ProgrammePropertiesInput(
                estimated_programme_cost_usd=100000,  # type: ignore[arg-type]
                geographical_location=["Lagos"],
                greenhouse_gases=[GreenHouseGas.CO2],
            ),
        ),
    )


def issued_credits_setup(registry: str, issued: int) -> list[CommandEnvelope]:
    """Commands that leave programme 001 authorised with ``issued`` credits held by the
    first developer (company 2, admin user 2), and a second developer (company 3) to send
    them to."""
    return [
        init_env(registry),
        developer_env(registry),
        envelope(
            registry,
            "org-receiver",
            ROOT,
            RegisterOrganisation(
                name="Receiver Ltd",
                role=CompanyRole.PROGRAMME_DEVELOPER,
                tax_id="PD-TAX-2",
                payment_id="PAY-2",
                email="receiver@example.org",
                admin=FirstAdmin(email="admin@receiver.example.org", name="Rita"),
            ),
        ),
        programme_env(registry, 1),
        envelope(registry, "approve", ROOT, ApproveProgramme(programme_id="001")),
        envelope(
            registry,
            "authorise",
            ROOT,
            AuthoriseProgramme(programme_id="001", issue_amount=issued),
        ),
    ]


async def submit_until_decided(
    bus: CommandBus, env: CommandEnvelope, *, timeout_s: float = 5.0, deadline_s: float = 120.0
) -> ResultEnvelope:
    """Submit; on a timeout retry with the same command id (it never applies twice)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        try:
            return await bus.submit(env, timeout_s)
        except ResultTimeout:
            if loop.time() > end:
                raise
        except Exception:
            if loop.time() > end:
                raise
            await asyncio.sleep(0.5)


async def read_all(source: EventSource) -> list[bytes]:
    end = await source.end_position()
    await source.seek(0)
    out: list[bytes] = []
    pos = 0
    while pos < end:
        batch = await source.next_batch(5000, 1.0)
        if not batch:
            break
        out.extend(r.raw for r in batch)
        pos = batch[-1].position + 1
    return out


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``registry <args>`` in a child process with ``env`` on top of this one's (JSON logs);
    its output is captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "registry_cli.main", *args],
        cwd=ROOT_DIR,
        env={**os.environ, **env, "REGISTRY_LOG_JSON": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ProcessorProcess:
    """``registry processor`` as a real OS process."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0  # its /health, /ready and /metrics

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def pause(self) -> None:
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


def start_processor_process(
    bootstrap: str, registry: str, log_dir: Path, name: str = "processor"
) -> ProcessorProcess:
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "REGISTRY_REGISTRY": registry,
        "REGISTRY_PORT": str(port),
        "REGISTRY_LOG_JSON": "true",
    }
    log_path = log_dir / f"{name}.log"
    out = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "registry_cli.main", "processor"],
        cwd=ROOT_DIR,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return ProcessorProcess(proc, log_path, port)


async def table_digests(dsn: str, schema: str) -> dict[str, tuple[int, str]]:
    """(row count, md5 of every row in key order) per read-model table."""
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        for table, key in MODEL_TABLES.items():
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY {key}),''))"
                f" AS h FROM {schema}.{table} t"
            )
            out[table] = (int(row["n"]), str(row["h"]))
        return out
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def running(task_coro: object) -> AsyncIterator[asyncio.Task[None]]:
    task: asyncio.Task[None] = asyncio.create_task(task_coro)  # type: ignore[arg-type]
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def assert_programmes_created_once(
    bootstrap: str, registry: str, n: int, seqs: list[int]
) -> None:
    """After a fault: the log is dense and verifies, ``programme_env(registry, i)`` for i < n
    each created exactly one programme, at the seqs its callers were told."""
    source = KafkaEventSource(bootstrap, Topics(registry).events)
    try:
        events = [decode_event(e) for e in await read_all(source)]
        report = await verify_log(source, registry=registry)
    finally:
        await source.close()
    assert report.ok, report
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    created = [e for e in events if e.type == "ProgrammeCreated"]
    assert sorted(e.payload["external_id"] for e in created) == sorted(f"EXT-{i}" for i in range(n))
    assert sorted(seqs) == sorted(e.seq for e in created)


class ProgrammeStream:
    """``n`` CreateProgramme commands submitted by 16 concurrent clients, each retried with
    its command id until decided (so it applies at most once); ``accepted`` counts them."""

    def __init__(self, bus: CommandBus, registry: str, n: int, **submit: float) -> None:
        self.accepted = 0
        self._sem = asyncio.Semaphore(16)
        self._bus, self._registry, self._submit = bus, registry, submit
        self.tasks = [asyncio.create_task(self._one(i)) for i in range(n)]

    async def _one(self, i: int) -> int:
        async with self._sem:
            res = await submit_until_decided(
                self._bus, programme_env(self._registry, i), **self._submit
            )
        self.accepted += 1
        assert res.status == "accepted", res
        assert res.last_seq is not None
        return res.last_seq

    async def reached(self, count: int) -> None:
        while self.accepted < count:
            await asyncio.sleep(0.01)

    async def seqs(self, timeout_s: float) -> list[int]:
        return list(await asyncio.wait_for(asyncio.gather(*self.tasks), timeout_s))

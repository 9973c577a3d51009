"""Registry benchmark: HTTP commands/s, processor decisions/s, projector and replay events/s.

    uv run python -m bench.run [--quick] [--mode kafka|embedded|both] [--profile]

One run prints, for the embedded default and for Kafka:

1. ``http``: create-programme commands/s through the HTTP API of ``registry serve`` running
   in a separate process, under C concurrent keep-alive httpx clients (one connection each),
   with p50/p90/p99 latency, and where the CPU went (client, server, the rest).
2. ``core``: processor decisions/s in-process without I/O (``decide_one`` over initialise +
   one organisation + N create-programme commands), and decode+decide/s (what the Kafka
   processor does per record).
3. ``projector``: a fresh ``Projector`` catching up from 0 over a log of N events
   (``PgEventSource`` over ``log.events``; ``KafkaEventSource`` over ``<registry>.events``
   written with a transactional producer, 500 events per transaction like the processor),
   in its own process as ``registry projector`` runs (``bench.catch_up``).
4. ``replay``: ``projector_service.replay.rebuild`` over the same log, in its own process
   as ``registry replay`` runs.

The N events are the ones ``decide_one`` produced in part 2, so they chain and validate.
Figures go to ``bench/results/latest.json``. Full run ~3.5 min, ``--quick`` under 1 min.

Other options: ``--events N`` / ``--http-commands N`` / ``--concurrency C [C ...]`` resize;
``--client raw`` swaps httpx (about 1 ms of client CPU per request, on the same two cores)
for a minimal asyncio HTTP/1.1 client; ``--server-loop uvloop`` runs the server through
``bench.server --uvloop``; ``--wait-quiet S`` waits up to S seconds before each phase for
other load on the machine to drop; ``--profile`` adds cProfile passes of the processor and
the projector and ``--profile-server`` profiles the server during the measured load (stats
printed, ``.prof`` files next to ``latest.json``). Every CPU figure is % of one core (the
machine has 200): client, server (the command API in the split shape), processor and
projector (split shape), our PostgreSQL, our Kafka, and ``unrelated`` (anything else running
on the box, which makes that phase's figures unreliable).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import logging
import os
import platform
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from command_service.application.decisions import Decided, decide_one
from command_service.application.ports import CommandRecord
from command_service.domain.state import RegistryState
from libs.eventlog.kafka_admin import TopicLayoutError, ensure_topics
from libs.eventlog.kafka_source import KafkaEventSource
from libs.eventlog.pg_log import PgEventSource, ensure_log_tables
from libs.eventlog.ports import EventSource
from libs.eventlog.topics import Topics
from libs.localinfra.kafka_broker import KafkaBroker, free_port, warm_up
from libs.localinfra.postgres import LocalPostgres, create_database
from libs.observability.logging import configure_logging
from projector_service.runner import Projector
from projector_service.schema import live_schema
from schemas.codec import decode_command, encode_command
from schemas.commands.organisation import RegisterOrganisation
from schemas.commands.programme import CreateProgramme
from schemas.commands.registry import InitialiseRegistry
from schemas.envelope import SYSTEM_ACTOR, Actor, CommandEnvelope, EventEnvelope

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
ROOT_EMAIL = "root@registry.example.org"
ROOT_PASSWORD = "bench-Root-password-0123456789"
TOKEN_SECRET = "bench-token-secret-" + "x" * 40
READY_TIMEOUT_S = 180.0
KAFKA_TXN_EVENTS = 500  # events per transaction when loading the Kafka events topic
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Floors the registry must reach (the brief); printed next to the figures.
FLOORS: dict[tuple[str, str], tuple[str, float]] = {
    ("kafka", "http_cmd_per_s"): (">=", 1_000.0),
    ("kafka", "http_p99_ms"): ("<", 100.0),
    ("embedded", "projector_events_per_s"): (">=", 20_000.0),
    ("kafka", "projector_events_per_s"): (">=", 20_000.0),
    ("embedded", "replay_events_per_s"): (">=", 50_000.0),
    ("kafka", "replay_events_per_s"): (">=", 50_000.0),
}


@dataclass(frozen=True)
class Sizes:
    http_warmup: int
    http_commands: int
    concurrency: tuple[int, ...]
    events: int


FULL = Sizes(http_warmup=300, http_commands=4_000, concurrency=(32, 64), events=50_000)
QUICK = Sizes(http_warmup=100, http_commands=600, concurrency=(32,), events=5_000)


@dataclass
class Row:
    mode: str
    metric: str
    value: float
    unit: str
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, mode: str, metric: str, value: float, unit: str, note: str = "") -> None:
        self.rows.append(Row(mode, metric, value, unit, note))
        print(f"  [{mode}] {metric} = {_fmt(value)} {unit} {note}".rstrip(), flush=True)


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------- request bodies
def developer_body(tag: str) -> dict[str, Any]:
    """A RegisterOrganisation body for a ProgrammeDeveloper (as tests/e2e/e2e_helpers)."""
    return {
        "name": f"Developer {tag}",
        "role": "ProgrammeDeveloper",
        "tax_id": f"TAX-{tag}",
        "payment_id": f"PAY-{tag}",
        "email": f"contact-{tag}@dev.example.com",
        "phone": "+254 700 000 000",
        "website": "https://dev.example.com",
        "address": "1 Green Road, Nairobi",
        "sectoral_scopes": ["1", "3"],
        "admin": {"email": f"admin-{tag}@dev.example.com", "name": f"Admin {tag}"},
    }


def programme_body(proponent_tax_id: str, tag: str) -> dict[str, Any]:
    """A CreateProgramme body with a unique external id and assessment number."""
    return {
        "title": f"Solar mini-grids {tag}",
        "external_id": f"EXT-{tag}",
        "sector": "Energy",
        "sectoral_scope": "1",
        "start_time": 1_704_067_200,
        "end_time": 2_019_686_400,
        "credit_est": 150_000,
        "proponent_tax_ids": [proponent_tax_id],
        "proponent_percentages": ["100"],
        "environmental_assessment_registration_no": f"EIA-{tag}",
        "properties": {
            "estimated_programme_cost_usd": "1500000.00",
            "geographical_location": ["Nairobi", "Mombasa"],
            "greenhouse_gases": ["CO2", "CH4"],
            "crediting_period_years": 10,
            "source_of_funding": "Private",
        },
        "comment": "created by the benchmark",
    }


# ---------------------------------------------------------------------- CPU accounting
# "server" is the HTTP process (the command API in the split shape); "processor" and
# "projector" are the split shape's other two processes.
CPU_GROUPS = ("client", "server", "processor", "projector", "postgres", "kafka")


def _system_busy_s() -> float:
    """CPU seconds spent busy on all cores since boot (from /proc/stat)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in parts]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLK_TCK


def _processes() -> dict[int, tuple[int, float, str]]:
    """pid -> (ppid, CPU seconds incl. reaped children, command line) of every process."""
    table: dict[int, tuple[int, float, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # utime + stime, plus cutime + cstime: children it reaped (closed PG backends).
        cpu = sum(int(v) for v in stat[11:15]) / CLK_TCK
        table[int(entry.name)] = (int(stat[1]), cpu, args)
    return table


@dataclass
class CpuMeter:
    """Where the CPU went: this process (client), the server, our PostgreSQL and Kafka.

    PostgreSQL postmasters are recognised by ``marker`` (our temp dir) in their command line,
    because the embedded server's postmaster is re-parented to init. Whatever the machine
    spent elsewhere (other people's tests, the kernel) is reported as ``unrelated``.
    """

    marker: str
    server_pid: int | None = None
    broker_pid: int | None = None
    # The split shape's processor and projector are children of this process: without
    # their own roots their CPU would be counted as the client's.
    extra_pids: dict[int, str] = field(default_factory=dict)
    _t0: float = 0.0
    _busy0: float = 0.0
    _groups0: dict[str, float] = field(default_factory=dict)

    def _groups(self) -> dict[str, float]:
        table = _processes()
        roots: dict[int, str] = {os.getpid(): "client"}
        if self.server_pid:
            roots[self.server_pid] = "server"
        if self.broker_pid:
            roots[self.broker_pid] = "kafka"
        roots.update(self.extra_pids)
        for pid, (_, _, args) in table.items():
            if self.marker in args and " -D " in f" {args} " and "postgres" in args:
                roots[pid] = "postgres"
        out = dict.fromkeys(CPU_GROUPS, 0.0)
        for pid, (_, cpu, _) in table.items():
            cur, seen = pid, 0
            while cur > 1 and cur not in roots and seen < 64:
                cur = table[cur][0] if cur in table else 0
                seen += 1
            if cur in roots:
                out[roots[cur]] += cpu
        return out

    def start(self) -> None:
        self._groups0 = self._groups()
        self._busy0 = _system_busy_s()
        self._t0 = time.perf_counter()

    async def stop(self, settle_s: float = 0.3) -> dict[str, float]:
        """CPU % (of one core; the machine has 200) per group since ``start``.

        Per-process times are read ``settle_s`` later: a PostgreSQL backend whose connection
        just closed is a zombie until the postmaster reaps it, and its CPU shows up in the
        postmaster's reaped-children time only then. Nothing of ours runs meanwhile.
        """
        wall = time.perf_counter() - self._t0
        busy = _system_busy_s() - self._busy0
        await asyncio.sleep(settle_s)
        groups = self._groups()
        pct = {k: 100 * (groups[k] - self._groups0.get(k, 0.0)) / wall for k in groups}
        pct["total"] = 100 * busy / wall
        pct["unrelated"] = max(0.0, pct["total"] - sum(v for k, v in pct.items() if k != "total"))
        return pct


def cpu_note(cpu: dict[str, float]) -> str:
    parts = [f"{k} {cpu[k]:.0f}" for k in CPU_GROUPS if cpu.get(k, 0.0) >= 1]
    return f"CPU% (of 200): {', '.join(parts)}; unrelated {cpu['unrelated']:.0f}"


async def wait_quiet(report: Report, phase: str, max_wait_s: float, busy_pct: float = 25.0) -> None:
    """Wait (at most ``max_wait_s``) until the machine is below ``busy_pct`` (of 200) busy."""
    if max_wait_s <= 0:
        return
    t0 = time.perf_counter()
    load = 0.0
    while True:
        b0, w0 = _system_busy_s(), time.perf_counter()
        await asyncio.sleep(1.0)
        load = 100 * (_system_busy_s() - b0) / (time.perf_counter() - w0)
        waited = time.perf_counter() - t0
        if load < busy_pct or waited >= max_wait_s:
            break
    report.details.setdefault("quiet_waits", {})[phase] = {"waited_s": waited, "load": load}
    if waited > 1.5:
        print(f"  waited {waited:.0f} s for a quieter machine (now {load:.0f}% busy)", flush=True)


def background_load(seconds: float = 2.0) -> float:
    """Busy CPU % of the whole machine (of 200) while this benchmark does nothing."""
    b0, t0 = _system_busy_s(), time.perf_counter()
    time.sleep(seconds)
    return 100 * (_system_busy_s() - b0) / (time.perf_counter() - t0)


# ---------------------------------------------------------------------- the server process
@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    # The production shape runs the processor and projector as processes of their own;
    # the processor's /metrics then lives at its own port.
    metrics_url: str | None = None
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # pid -> role ("processor", "projector") of the extra processes, for CPU accounting.
    roles: dict[int, str] = field(default_factory=dict)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_lines(self) -> int:
        try:
            return len(self.log_path.read_bytes().splitlines())
        except OSError:
            return 0


def _server_command(loop: str, profile: Path | None) -> list[str]:
    if loop == "asyncio" and profile is None:
        registry = Path(sys.executable).parent / "registry"
        if registry.exists():
            return [str(registry), "serve"]
        return [sys.executable, "-c", "from registry_cli.main import app; app()", "serve"]
    cmd = [sys.executable, "-m", "bench.server"]
    if loop == "uvloop":
        cmd.append("--uvloop")
    if profile is not None:
        cmd += ["--profile", str(profile)]
    return cmd


def registry_env(registry: str, workdir: Path, **settings: str) -> dict[str, str]:
    """The environment of a registry process the benchmark starts: this one's without any
    KAFKA_BOOTSTRAP / DATABASE_URL of its own, the bench registry's settings, then
    ``settings`` (variable name -> value)."""
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "DATABASE_URL")}
    env.update(
        {
            "REGISTRY_REGISTRY": registry,
            "REGISTRY_DATA_DIR": str(workdir / "data"),
            "REGISTRY_TOKEN_SECRET": TOKEN_SECRET,
            "REGISTRY_LOG_JSON": "true",
            "PYTHONPATH": str(REPO),
            **settings,
        }
    )
    return env


def _spawn(
    cmd: list[str], cwd: Path, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)


async def start_server(
    workdir: Path,
    registry: str,
    *,
    kafka_bootstrap: str | None,
    database_url: str | None,
    loop: str,
    profile: Path | None,
) -> Server:
    port = free_port()
    env = registry_env(
        registry,
        workdir,
        REGISTRY_PORT=str(port),
        REGISTRY_QUERY_PORT=str(free_port(exclude=[port])),
        REGISTRY_ROOT_PASSWORD=ROOT_PASSWORD,
        REGISTRY_ROOT_EMAIL=ROOT_EMAIL,
    )
    if kafka_bootstrap:
        env["KAFKA_BOOTSTRAP"] = kafka_bootstrap
    if database_url:
        env["DATABASE_URL"] = database_url
    log_path = workdir / "server.log"
    cmd = _server_command(loop, profile)
    proc = _spawn(cmd, workdir, env, log_path)
    server = Server(proc, f"http://127.0.0.1:{port}", log_path)
    print(f"  server: {' '.join(cmd)} (pid {proc.pid}) at {server.url}", flush=True)
    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {proc.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                r = await client.get("/ready")
                if r.status_code == 200:
                    break
            if time.monotonic() - t0 > READY_TIMEOUT_S:
                await stop_server(server)
                raise RuntimeError(f"/ready never turned 200:\n{server.log_tail()}")
            await asyncio.sleep(0.1)
    print(f"  server ready in {time.monotonic() - t0:.1f} s", flush=True)
    return server


async def stop_server(server: Server) -> None:
    for proc in [server.proc, *server.extra]:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _registry_command(sub: str) -> list[str]:
    registry = Path(sys.executable).parent / "registry"
    if registry.exists():
        return [str(registry), sub]
    return [sys.executable, "-c", "from registry_cli.main import app; app()", sub]


async def _wait_ready(url: str, procs: list[subprocess.Popen[bytes]], log: Path) -> None:
    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        while True:
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a process exited with {proc.returncode}: see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/ready")).status_code == 200:
                    return
            if time.monotonic() - t0 > READY_TIMEOUT_S:
                raise RuntimeError(f"{url}/ready never turned 200: see {log}")
            await asyncio.sleep(0.1)


async def start_split_server(
    workdir: Path, registry: str, *, kafka_bootstrap: str, database_url: str
) -> Server:
    """The production shape: processor, projector and command API as separate processes."""
    ports = {"processor": free_port(), "projector": 0, "api": 0}
    ports["projector"] = free_port(exclude=[ports["processor"]])
    ports["api"] = free_port(exclude=[ports["processor"], ports["projector"]])
    base = registry_env(
        registry,
        workdir,
        REGISTRY_ROOT_PASSWORD=ROOT_PASSWORD,
        REGISTRY_ROOT_EMAIL=ROOT_EMAIL,
        KAFKA_BOOTSTRAP=kafka_bootstrap,
        DATABASE_URL=database_url,
    )
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name in ("processor", "projector"):
        env = {**base, "REGISTRY_PORT": str(ports[name])}
        procs[name] = _spawn(_registry_command(name), workdir, env, workdir / f"{name}.log")
    proc_url = f"http://127.0.0.1:{ports['processor']}"
    await _wait_ready(proc_url, list(procs.values()), workdir / "processor.log")
    init = await asyncio.to_thread(
        subprocess.run,
        _registry_command("init"),
        cwd=workdir,
        env=base,
        capture_output=True,
        timeout=120,
    )
    if init.returncode != 0:
        raise RuntimeError(f"registry init failed: {init.stdout!r} {init.stderr!r}")
    api_env = {**base, "REGISTRY_PORT": str(ports["api"])}
    api = _spawn(_registry_command("command-api"), workdir, api_env, workdir / "api.log")
    url = f"http://127.0.0.1:{ports['api']}"
    await _wait_ready(url, [api, *procs.values()], workdir / "api.log")
    await _wait_ready(
        f"http://127.0.0.1:{ports['projector']}", [procs["projector"]], workdir / "projector.log"
    )
    print(f"  split shape: processor {proc_url}, command API {url}", flush=True)
    return Server(
        api,
        url,
        workdir / "api.log",
        metrics_url=proc_url,
        extra=[procs["processor"], procs["projector"]],
        roles={procs[name].pid: name for name in ("processor", "projector")},
    )


# ---------------------------------------------------------------------- server metrics
PROM_SERIES = {
    "batch_sum": "registry_processor_batch_commands_sum",
    "batch_count": "registry_processor_batch_commands_count",
    "commit_sum": "registry_processor_commit_seconds_sum",
    "commit_count": "registry_processor_commit_seconds_count",
}


async def scrape(server: Server) -> dict[str, float]:
    """The processor's batch-size and commit-time sums/counts from the server's /metrics."""
    async with httpx.AsyncClient(base_url=server.metrics_url or server.url, timeout=10.0) as client:
        text = (await client.get("/metrics")).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        for key, name in PROM_SERIES.items():
            if line.startswith(name + "{"):
                out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def processor_stats(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in PROM_SERIES}
    batches = d["batch_count"] or 1.0
    return {
        "batches": d["batch_count"],
        "mean_batch_commands": d["batch_sum"] / batches,
        "mean_commit_ms": 1000 * d["commit_sum"] / (d["commit_count"] or 1.0),
    }


# ---------------------------------------------------------------------- HTTP load
@dataclass
class LoadResult:
    concurrency: int
    commands: int
    ok: int
    errors: dict[str, int]
    seconds: float
    latencies_ms: list[float]
    cpu: dict[str, float]
    processor: dict[str, float]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        k = min(len(data) - 1, max(0, round(p / 100 * len(data)) - 1))
        return data[k]


async def _login(client: httpx.AsyncClient, email: str, password: str) -> str:
    r = await client.post("/v1/auth/token", data={"username": email, "password": password})
    if r.status_code != 200:
        raise RuntimeError(f"login failed: {r.status_code} {r.text}")
    return str(r.json()["access_token"])


async def prepare_http(server: Server) -> tuple[str, str]:
    """Sign Root in and register one ProgrammeDeveloper; returns (token, its tax id)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as client:
        token = await _login(client, ROOT_EMAIL, ROOT_PASSWORD)
        body = developer_body(_unique("d"))
        r = await client.post(
            "/v1/organisations",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": _unique("org-")},
        )
        if r.status_code != 201:
            raise RuntimeError(f"registering the developer failed: {r.status_code} {r.text}")
        return token, str(body["tax_id"])


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (``--client raw``).

    It only sends pre-encoded POSTs and reads Content-Length responses, so its CPU cost per
    request is a small fraction of httpx's: it shows what the server does when the client is
    not competing for the same two cores.
    """

    def __init__(self, url: str) -> None:
        hostport = url.removeprefix("http://")
        host, port = hostport.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        close = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value.strip())
            elif lname == b"connection" and value.strip().lower() == b"close":
                close = True
            elif lname == b"transfer-encoding":
                raise ConnectionError("chunked responses are not supported by RawClient")
        if length:
            await reader.readexactly(length)
        if close:
            await self.aclose()
        return status

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None


async def http_load(
    server: Server,
    token: str,
    tax_id: str,
    n: int,
    concurrency: int,
    warmup: int,
    meter: CpuMeter,
    *,
    client_kind: str = "httpx",
    profile: bool = False,
) -> LoadResult:
    """n create-programme POSTs from ``concurrency`` keep-alive clients (1 connection each)."""
    run = uuid.uuid4().hex[:8]
    total = warmup + n
    bodies = [
        orjson.dumps(programme_body(tax_id, f"{run}-{i}")) for i in range(total)
    ]  # built before the clock starts
    keys = [f"bench-{run}-{i}" for i in range(total)]
    auth = f"Bearer {token}"
    latencies: list[float] = []
    errors: dict[str, int] = {}
    ok = 0

    def headers(i: int) -> dict[str, str]:
        return {
            "Authorization": auth,
            "Idempotency-Key": keys[i],
            "Content-Type": "application/json",
        }

    def record(status: str, t0: float) -> None:
        nonlocal ok
        if status == "201":
            ok += 1
            latencies.append((time.perf_counter() - t0) * 1000)
        else:
            errors[status] = errors.get(status, 0) + 1

    async def httpx_worker(client: httpx.AsyncClient, work: Iterator[int], rec: bool) -> None:
        for i in work:
            t0 = time.perf_counter()
            try:
                r = await client.post("/v1/programmes", content=bodies[i], headers=headers(i))
                status = str(r.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if rec:
                record(status, t0)

    async def raw_worker(client: RawClient, work: Iterator[int], rec: bool) -> None:
        for i in work:
            t0 = time.perf_counter()
            try:
                status = str(await client.post("/v1/programmes", bodies[i], headers(i)))
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                status = type(exc).__name__
                await client.aclose()
            if rec:
                record(status, t0)

    if client_kind == "raw":
        raws = [RawClient(server.url) for _ in range(concurrency)]

        def workers(work: Iterator[int], rec: bool) -> list[Coroutine[Any, Any, None]]:
            return [raw_worker(c, work, rec) for c in raws]

        async def close_all() -> None:
            await asyncio.gather(*(c.aclose() for c in raws))

    else:
        clients = [
            httpx.AsyncClient(
                base_url=server.url,
                timeout=60.0,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            for _ in range(concurrency)
        ]

        def workers(work: Iterator[int], rec: bool) -> list[Coroutine[Any, Any, None]]:
            return [httpx_worker(c, work, rec) for c in clients]

        async def close_all() -> None:
            await asyncio.gather(*(c.aclose() for c in clients))

    try:
        # Warm-up on the same clients, so every connection is open before the clock starts.
        await asyncio.gather(*workers(iter(range(warmup)), False))
        work = iter(range(warmup, total))
        metrics_before = await scrape(server)
        if profile:
            server.proc.send_signal(signal.SIGUSR1)
        meter.start()
        t0 = time.perf_counter()
        await asyncio.gather(*workers(work, True))
        wall = time.perf_counter() - t0
        cpu = await meter.stop()
        if profile:
            server.proc.send_signal(signal.SIGUSR2)
        stats = processor_stats(metrics_before, await scrape(server))
    finally:
        await close_all()
    return LoadResult(concurrency, n, ok, errors, wall, latencies, cpu, stats)


async def bench_http(
    report: Report,
    mode: str,
    sizes: Sizes,
    workdir: Path,
    *,
    kafka_bootstrap: str | None,
    database_url: str | None,
    loop: str,
    profile_dir: Path | None,
    meter: CpuMeter,
    client_kind: str,
    shape: str = "serve",
) -> None:
    registry = _unique("h")
    profile = profile_dir / f"server-{mode}.prof" if profile_dir else None
    if kafka_bootstrap:
        await topics_ready(kafka_bootstrap, registry)
    if shape == "split" and kafka_bootstrap and database_url:
        server = await start_split_server(
            workdir, registry, kafka_bootstrap=kafka_bootstrap, database_url=database_url
        )
    else:
        server = await start_server(
            workdir,
            registry,
            kafka_bootstrap=kafka_bootstrap,
            database_url=database_url,
            loop=loop,
            profile=profile,
        )
    try:
        token, tax_id = await prepare_http(server)
        lines_before = server.log_lines()
        meter.extra_pids = server.roles
        for c in sizes.concurrency:
            meter.server_pid = server.proc.pid
            res = await http_load(
                server,
                token,
                tax_id,
                sizes.http_commands,
                c,
                sizes.http_warmup,
                meter,
                client_kind=client_kind,
                profile=bool(profile),
            )
            if profile is not None:
                await asyncio.sleep(1.0)  # let the server write its stats
                if profile.exists():
                    print_profile(f"server ({mode}, HTTP load c={c})", pstats.Stats(str(profile)))
            cpu = res.cpu
            note = f"c={c} {client_kind}, {shape} shape; {cpu_note(cpu)}"
            report.add(mode, f"http_cmd_per_s[c={c}]", res.rate, "cmd/s", note)
            for p in (50, 90, 99):
                report.add(mode, f"http_p{p}_ms[c={c}]", res.pct(p), "ms")
            if res.errors:
                report.add(
                    mode, f"http_errors[c={c}]", sum(res.errors.values()), "req", str(res.errors)
                )
            report.details.setdefault(mode, {})[f"http_c{c}"] = {
                "commands": res.commands,
                "ok": res.ok,
                "errors": res.errors,
                "seconds": res.seconds,
                "cmd_per_s": res.rate,
                "p50_ms": res.pct(50),
                "p90_ms": res.pct(90),
                "p99_ms": res.pct(99),
                "max_ms": max(res.latencies_ms) if res.latencies_ms else None,
                "cpu": cpu,
                "processor": res.processor,
            }
            report.add(
                mode,
                f"processor_mean_batch[c={c}]",
                res.processor["mean_batch_commands"],
                "cmd/txn",
                f"mean commit {res.processor['mean_commit_ms']:.1f} ms "
                f"over {res.processor['batches']:.0f} txns (server /metrics)",
            )
        report.details[mode]["server_log_lines_during_load"] = server.log_lines() - lines_before
        report.details[mode]["server_loop"] = loop
        report.details[mode]["client"] = client_kind
    finally:
        meter.extra_pids = {}
        await stop_server(server)


# ---------------------------------------------------------------------- in-process processor
def _envelope(registry: str, actor: Actor, type_: str, payload: dict[str, Any]) -> CommandEnvelope:
    return CommandEnvelope(
        registry=registry,
        command_id=_unique("cmd-"),
        type=type_,
        actor=actor,
        submitted_at=datetime.now(UTC),
        payload=payload,
    )


def build_commands(registry: str, n: int) -> list[CommandRecord]:
    """initialise + one ProgrammeDeveloper + n CreateProgramme commands, as Root."""
    root = Actor(kind="user", user_id=1)
    init = InitialiseRegistry(
        country_code="KE",
        country_name="Kenya",
        government_name="Government of Kenya",
        government_email="registry@gov.example.org",
        root_email=ROOT_EMAIL,
    )
    dev = developer_body("bench")
    envs = [
        _envelope(registry, SYSTEM_ACTOR, InitialiseRegistry.TYPE, init.model_dump(mode="json")),
        _envelope(registry, root, RegisterOrganisation.TYPE, dev),
    ]
    tax_id = str(dev["tax_id"])
    envs += [
        _envelope(registry, root, CreateProgramme.TYPE, programme_body(tax_id, f"{i}"))
        for i in range(n)
    ]
    return [CommandRecord(i, encode_command(e), e) for i, e in enumerate(envs)]


def decide_all(registry: str, records: Sequence[CommandRecord], decode: bool) -> Decided:
    state = RegistryState(registry=registry)
    out = Decided()
    now = datetime.now(UTC)
    for rec in records:
        if decode:
            rec = CommandRecord(rec.position, rec.raw, decode_command(rec.raw))
        decide_one(state, rec, now, out)
    return out


def bench_core(report: Report, registry: str, n: int, profile_dir: Path | None) -> Decided:
    """Processor-only: decisions/s without I/O. Returns the events for parts 3 and 4."""
    records = build_commands(registry, n)
    decide_all(registry, records[: min(500, n)], decode=False)  # warm caches
    t0 = time.perf_counter()
    decided = decide_all(registry, records, decode=False)
    dt = time.perf_counter() - t0
    rejected = sum(1 for res, _ in decided.results if res.status != "accepted")
    if rejected:
        raise RuntimeError(f"{rejected} benchmark commands were rejected")
    report.add(
        "core",
        "processor_decisions_per_s",
        len(records) / dt,
        "cmd/s",
        f"{len(records):,} commands -> {len(decided.events):,} events",
    )
    t0 = time.perf_counter()
    decide_all(registry, records, decode=True)
    dt = time.perf_counter() - t0
    report.add(
        "core",
        "processor_decode_decide_per_s",
        len(records) / dt,
        "cmd/s",
        "decode_command(bytes) + decide_one",
    )
    if profile_dir is not None:
        sample = records[: min(len(records), 20_000)]
        prof = cProfile.Profile()
        prof.enable()
        decide_all(registry, sample, decode=True)
        prof.disable()
        prof.dump_stats(str(profile_dir / "processor.prof"))
        print_profile("processor (decode_command + decide_one)", pstats.Stats(prof))
    return decided


# ---------------------------------------------------------------------- loading the logs
async def topics_ready(bootstrap: str, registry: str, timeout_s: float = 60.0) -> None:
    """Create the registry's topics and wait until each one shows its partition.

    ``ensure_topics`` describes the topics right after creating them and can see 0
    partitions before the metadata has propagated (``TopicLayoutError``); retrying here
    keeps that start-up race out of the benchmark.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await ensure_topics(bootstrap, Topics(registry))
            return
        except TopicLayoutError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def load_pg_log(
    dsn: str, registry: str, events: Sequence[tuple[EventEnvelope, bytes]]
) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await ensure_log_tables(conn)
        t0 = time.perf_counter()
        await conn.copy_records_to_table(
            "events",
            schema_name="log",
            columns=["registry", "seq", "body"],
            records=[(registry, env.seq, raw) for env, raw in events],
        )
        await conn.execute("ANALYZE log.events")
        return time.perf_counter() - t0
    finally:
        await conn.close()


async def load_kafka_log(
    bootstrap: str, registry: str, events: Sequence[tuple[EventEnvelope, bytes]]
) -> float:
    from aiokafka import AIOKafkaProducer

    topics = Topics(registry)
    await topics_ready(bootstrap, registry)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"{registry}.bench-loader",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=1024 * 1024,
    )
    await producer.start()
    try:
        t0 = time.perf_counter()
        for start in range(0, len(events), KAFKA_TXN_EVENTS):
            async with producer.transaction():
                for env, raw in events[start : start + KAFKA_TXN_EVENTS]:
                    await producer.send(
                        topics.events,
                        value=raw,
                        key=env.aggregate_id.encode(),
                        headers=[("type", env.type.encode()), ("seq", str(env.seq).encode())],
                    )
        return time.perf_counter() - t0
    finally:
        await producer.stop()


# ---------------------------------------------------------------------- projector + replay
async def catch_up_in_child(
    kind: str, dsn: str, registry: str, last_seq: int, kafka_bootstrap: str | None
) -> dict[str, float]:
    """``bench.catch_up`` in its own process (the projector or replay as the CLI runs it)."""
    cmd = [sys.executable, "-m", "bench.catch_up", kind, "--registry", registry]
    cmd += ["--last-seq", str(last_seq)]
    if kafka_bootstrap:
        cmd += ["--kafka", kafka_bootstrap]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BENCH_DSN": dsn},
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.catch_up {kind} failed:\n{err.decode(errors='replace')[-3000:]}")
    result: dict[str, float] = orjson.loads(out.splitlines()[-1])
    return result


async def bench_read_side(
    report: Report,
    mode: str,
    dsn: str,
    registry: str,
    events: Sequence[tuple[EventEnvelope, bytes]],
    kafka_bootstrap: str | None,
    profile_dir: Path | None,
    meter: CpuMeter,
) -> None:
    """Projector from 0, then replay, each in its own process (``bench.catch_up``): the
    clock runs from its first read to its last write, start-up excluded."""
    n = len(events)
    last_seq = events[-1][0].seq

    def source() -> EventSource:
        if kafka_bootstrap:
            return KafkaEventSource(kafka_bootstrap, Topics(registry).events)
        return PgEventSource(dsn, registry)

    if kafka_bootstrap:
        load_s = await load_kafka_log(kafka_bootstrap, registry, events)
        how = f"transactional producer, {KAFKA_TXN_EVENTS}/txn"
    else:
        load_s = await load_pg_log(dsn, registry, events)
        how = "COPY into log.events"
    report.details.setdefault(mode, {})["log_load"] = {"events": n, "seconds": load_s, "how": how}
    print(f"  [{mode}] loaded {n:,} events in {load_s:.1f} s ({how})", flush=True)

    meter.server_pid = None
    meter.start()
    proj = await catch_up_in_child("projector", dsn, registry, last_seq, kafka_bootstrap)
    cpu = await meter.stop()
    secs = proj["seconds"]
    report.add(
        mode,
        "projector_events_per_s",
        n / secs,
        "ev/s",
        f"{n:,} events in {secs:.2f} s from 0, own process; {cpu_note(cpu)} (incl. start-up)",
    )
    report.details[mode]["projector_cpu"] = cpu

    meter.start()
    rep = await catch_up_in_child("replay", dsn, registry, last_seq, kafka_bootstrap)
    cpu = await meter.stop()
    report.details[mode]["replay_cpu"] = cpu
    wall, rate = rep["seconds"], rep["rate"]
    report.add(
        mode,
        "replay_events_per_s",
        rate,
        "ev/s",
        f"rebuild()'s figure, own process; {n / wall:,.0f} ev/s incl. the switch;"
        f" {cpu_note(cpu)} (incl. start-up)",
    )
    report.details[mode]["projector"] = {"events": n, "seconds": secs}
    report.details[mode]["replay"] = {"events": n, "rate": rate, "wall_seconds": wall}

    if profile_dir is not None:
        # A second fresh projector into its own schema, under cProfile.
        prof_registry = registry  # same log; a different schema name keeps the first intact
        schema = live_schema(prof_registry) + "_prof"
        profiled = Projector(source(), dsn, prof_registry, schema)
        await profiled.start()
        prof = cProfile.Profile()
        prof.enable()
        try:
            while profiled.checkpoint.last_seq < last_seq:
                await profiled.step()
        finally:
            prof.disable()
            await profiled.close()
        prof.dump_stats(str(profile_dir / f"projector-{mode}.prof"))
        print_profile(f"projector ({mode})", pstats.Stats(prof))


# ---------------------------------------------------------------------- profiles
def print_profile(title: str, stats: pstats.Stats, top: int = 22) -> None:
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        stats.stream = buf  # type: ignore[attr-defined]
        stats.strip_dirs().sort_stats(key).print_stats(top)
        text = buf.getvalue()
        body = text[text.find("   ncalls") :] if "   ncalls" in text else text
        print(f"\n--- profile: {title}, by {key} ---\n{body.rstrip()}\n", flush=True)


# ---------------------------------------------------------------------- orchestration
@contextlib.asynccontextmanager
async def kafka_broker() -> AsyncIterator[KafkaBroker]:
    broker = KafkaBroker()
    t0 = time.monotonic()
    await broker.start()
    try:
        await warm_up(broker.bootstrap)
        print(f"  kafka broker {broker.bootstrap} up in {time.monotonic() - t0:.1f} s", flush=True)
        yield broker
    finally:
        await broker.stop()


async def run(args: argparse.Namespace) -> Report:
    sizes = QUICK if args.quick else FULL
    if args.http_commands:
        sizes = Sizes(sizes.http_warmup, args.http_commands, sizes.concurrency, sizes.events)
    if args.events:
        sizes = Sizes(sizes.http_warmup, sizes.http_commands, sizes.concurrency, args.events)
    if args.concurrency:
        sizes = Sizes(sizes.http_warmup, sizes.http_commands, tuple(args.concurrency), sizes.events)
    modes = ["embedded", "kafka"] if args.mode == "both" else [args.mode]
    profile_dir = RESULTS_DIR if args.profile else None
    report = Report()
    report.details["sizes"] = asdict(sizes)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="regbench-"))
    pg = LocalPostgres(tmp / "pg")
    meter = CpuMeter(marker=str(tmp))
    idle = background_load()
    report.details["background_cpu_pct_before"] = idle
    print(f"== background load before starting: {idle:.0f}% of 200 (other processes)", flush=True)
    if idle > 20:
        print("   WARNING: the machine is busy; figures will be lower and noisier", flush=True)
    try:
        print("== core: processor decisions (in-process, no I/O)", flush=True)
        await wait_quiet(report, "core", args.wait_quiet)
        log_registry = _unique("b")
        decided = bench_core(report, log_registry, sizes.events, profile_dir)
        events = decided.events
        del decided
        await asyncio.to_thread(pg.start)
        for mode in modes:
            if mode == "embedded":
                print(
                    "== embedded: HTTP through `registry serve` (embedded PostgreSQL log)",
                    flush=True,
                )
                (tmp / "srv-embedded").mkdir()
                await wait_quiet(report, "embedded-http", args.wait_quiet)
                await bench_http(
                    report,
                    mode,
                    sizes,
                    tmp / "srv-embedded",
                    kafka_bootstrap=None,
                    database_url=None,
                    loop=args.server_loop,
                    profile_dir=RESULTS_DIR if args.profile_server else None,
                    meter=meter,
                    client_kind=args.client,
                )
                print("== embedded: projector and replay over log.events", flush=True)
                dsn = await create_database(pg.dsn, "bench_embedded")
                await wait_quiet(report, "embedded-read", args.wait_quiet)
                await bench_read_side(
                    report, mode, dsn, log_registry, events, None, profile_dir, meter
                )
            else:
                print("== kafka: starting a local broker", flush=True)
                async with kafka_broker() as broker:
                    meter.broker_pid = broker.pid
                    print(
                        "== kafka: HTTP through `registry serve` (KAFKA_BOOTSTRAP + DATABASE_URL)",
                        flush=True,
                    )
                    server_dsn = await create_database(pg.dsn, "bench_kafka_server")
                    (tmp / "srv-kafka").mkdir()
                    await wait_quiet(report, "kafka-http", args.wait_quiet)
                    await bench_http(
                        report,
                        mode,
                        sizes,
                        tmp / "srv-kafka",
                        kafka_bootstrap=broker.bootstrap,
                        database_url=server_dsn,
                        loop=args.server_loop,
                        profile_dir=RESULTS_DIR if args.profile_server else None,
                        meter=meter,
                        client_kind=args.client,
                        shape=args.kafka_shape,
                    )
                    print("== kafka: projector and replay over <registry>.events", flush=True)
                    dsn = await create_database(pg.dsn, "bench_kafka_read")
                    await wait_quiet(report, "kafka-read", args.wait_quiet)
                    await bench_read_side(
                        report,
                        mode,
                        dsn,
                        log_registry,
                        events,
                        broker.bootstrap,
                        profile_dir,
                        meter,
                    )
                    meter.broker_pid = None
    finally:
        await asyncio.to_thread(pg.stop)
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def _floor(mode: str, metric: str) -> str:
    base = metric.split("[", 1)[0]
    rule = FLOORS.get((mode, base))
    return f"{rule[0]} {rule[1]:,.0f}" if rule else ""


def _meets(mode: str, metric: str, value: float) -> str:
    base = metric.split("[", 1)[0]
    rule = FLOORS.get((mode, base))
    if rule is None:
        return ""
    op, floor = rule
    ok = value >= floor if op == ">=" else value < floor
    return "yes" if ok else "NO"


def print_table(report: Report, command: str) -> None:
    headers = ("mode", "metric", "value", "unit", "floor", "met", "note")
    rows = [
        (
            r.mode,
            r.metric,
            _fmt(r.value),
            r.unit,
            _floor(r.mode, r.metric),
            _meets(r.mode, r.metric, r.value),
            r.note,
        )
        for r in report.rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    widths[-1] = len(headers[-1])
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print("\n" + "=" * 100)
    print(f"command: {command}")
    print(line)
    print("-" * max(len(line), 100))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print("=" * 100)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (~1 minute, CI smoke)")
    p.add_argument("--mode", choices=["kafka", "embedded", "both"], default="both")
    p.add_argument(
        "--kafka-shape",
        choices=["split", "serve"],
        default="split",
        help="split: processor, projector and command API as separate processes (production); "
        "serve: everything in one `registry serve` process",
    )
    p.add_argument("--events", type=int, help="events in the processor/projector/replay log")
    p.add_argument("--http-commands", type=int, help="measured commands per concurrency level")
    p.add_argument("--concurrency", type=int, nargs="+", help="client counts (default 32 64)")
    p.add_argument(
        "--server-loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="asyncio = plain `registry serve`; uvloop = bench.server --uvloop",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each phase wait up to SECONDS for other load on the machine to drop",
    )
    p.add_argument(
        "--client",
        choices=["httpx", "raw"],
        default="httpx",
        help="httpx (default) or a minimal asyncio HTTP/1.1 client that costs far less CPU",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the processor and projector (extra passes, not timed)",
    )
    p.add_argument(
        "--profile-server",
        action="store_true",
        help="run the server under cProfile (slows the HTTP figures)",
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("bench", json=True)  # INFO, like the server: accepted commands are debug
    for noisy in ("httpx", "httpcore"):  # one INFO line per request would load the client
        logging.getLogger(noisy).setLevel(logging.WARNING)
    command = " ".join(["uv run python -m bench.run", *(sys.argv[1:] if argv is None else argv)])
    t0 = time.perf_counter()
    report = asyncio.run(run(args))
    total = time.perf_counter() - t0
    print_table(report, command)
    print(f"total benchmark time: {total:.0f} s")
    out = {
        "command": command,
        "finished_at": datetime.now(UTC).isoformat(),
        "total_seconds": total,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": [asdict(r) for r in report.rows],
        "floors": {f"{m}:{k}": f"{op} {v}" for (m, k), (op, v) in FLOORS.items()},
        "details": report.details,
    }
    path = RESULTS_DIR / "latest.json"
    path.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    print(f"figures written to {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Read-side benchmark: holdings and statistics through the HTTP query API over a 1M-event log.

    uv run python -m bench.queries [--reuse] [--events 1000000] [--concurrency 16 64]
        [--seconds 8] [--workers 1] [--only holdings my-credits by-status]

1. Preparation (cached on disk): an embedded PostgreSQL under
   ``.registry-data/bench/queries-<events>-<developers>-<seed>/pg`` gets a synthetic, valid,
   hash-chained log written by ``projector_service.tools.make_big_log`` (COPY into
   ``log.events``) and read models rebuilt from it by ``projector_service.replay.rebuild``.
   ``--reuse`` reuses that directory when it holds a complete preparation (the read models'
   checkpoint at the log's last seq), so a rerun starts measuring within seconds; without
   it, or when it is incomplete, everything is made afresh. New indexes in the DDL are
   applied to a reused schema by ``create_schema`` (idempotent) before measuring.
2. ``registry query-api`` runs as a separate process against that database
   (``DATABASE_URL``), with ``REGISTRY_QUERY_WORKERS`` worker processes (``--workers``).
3. Access tokens are minted with the registry's token secret (``libs.auth.tokens``) for
   Root (the Government's view: sees everything) and for the admins of the developers that
   hold credits; each request picks its caller and parameters at random:

   * ``holdings``: ``GET /v1/holdings?limit=100`` (a developer's own: its totals and first
     100 programme holdings) or ``?company_id=X&limit=100`` (Root); ``holdings-all`` (not
     run by default): every holding in one answer (~6,000 rows, about 1 MB, at 20
     developers);
   * ``my-credits``: ``GET /v1/stats/my-credits`` for a random developer;
   * ``by-status``: ``GET /v1/stats/programmes-by-status`` or ``-by-sector`` for Root,
     half without filters (the dashboard), half with a ``start`` picked among the log's
     months (so twelve-odd distinct answers per statistic);
   * ``by-status-random``: the same with a ``start`` at a random second of the log's span:
     every request a different query (what the database does without any cache).

   Load comes from C concurrent keep-alive connections of ``bench.run.RawClient`` (a
   minimal HTTP/1.1 client; GETs are its POSTs with the method rewritten on the wire), for
   ``--seconds`` per query and concurrency after a warm-up. Every answer is checked: 200,
   and the ``X-Registry-Seq`` it reflects is the seq the read models hold.

Prints req/s and p50/p90/p99 per query and concurrency, CPU % per process group (client,
query API, PostgreSQL, unrelated; % of one core, the machine has 200) and writes
``bench/results/queries.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

from bench.run import (
    REPO,
    RESULTS_DIR,
    TOKEN_SECRET,
    CpuMeter,
    RawClient,
    _registry_command,
    _spawn,
    _wait_ready,
    background_load,
    cpu_note,
    registry_env,
)
from libs.auth.tokens import issue_access_token
from libs.eventlog.pg_log import PgEventSource
from libs.localinfra.kafka_broker import free_port
from libs.localinfra.postgres import LocalPostgres
from projector_service.replay import ensure_current, rebuild
from projector_service.schema import create_schema, live_schema

REGISTRY = "qbench"
ROOT_USER_ID = 1
DATA_ROOT = REPO / ".registry-data" / "bench"
FLOOR_RPS = 1_000.0
FLOOR_P99_MS = 50.0


# ---------------------------------------------------------------------- preparation
@dataclass(frozen=True)
class DataSpec:
    events: int
    developers: int
    seed: int

    @property
    def directory(self) -> Path:
        return DATA_ROOT / f"queries-{self.events}-{self.developers}-{self.seed}"


async def _prepared_seq(dsn: str, schema: str) -> tuple[int, int]:
    """(the log's last seq, the read models' applied seq); zeros when absent."""
    conn = await asyncpg.connect(dsn)
    try:
        log_seq = await conn.fetchval(
            "SELECT max(seq) FROM log.events WHERE registry = $1", REGISTRY
        )
        applied = await conn.fetchval(
            f"SELECT last_seq FROM {schema}.checkpoints WHERE projection = 'main'"
        )
        return int(log_seq or 0), int(applied or 0)
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        return 0, 0
    finally:
        await conn.close()


async def prepare(spec: DataSpec, reuse: bool) -> tuple[LocalPostgres, str, dict[str, Any]]:
    """A running embedded PostgreSQL holding the log and its read models (made or reused)."""
    meta_path = spec.directory / "prepared.json"
    schema = live_schema(REGISTRY)
    if reuse and meta_path.exists():
        pg = LocalPostgres(spec.directory / "pg")
        await asyncio.to_thread(pg.start)
        log_seq, applied = await _prepared_seq(pg.dsn, schema)
        meta = json.loads(meta_path.read_text())
        if log_seq and log_seq == applied == meta["last_seq"]:
            t0 = time.perf_counter()
            source = PgEventSource(pg.dsn, REGISTRY)
            try:  # read models of an older version are rebuilt, as the projector would
                rebuilt = await ensure_current(pg.dsn, source, schema)
            finally:
                await source.close()
            if rebuilt:
                print("== read models of an older version: rebuilt by replay", flush=True)
            conn = await asyncpg.connect(pg.dsn)
            try:
                await create_schema(conn, schema)  # indexes added to the DDL since
                analyse = "VACUUM ANALYZE" if rebuilt else f"ANALYZE {schema}.credit_blocks"
                await conn.execute(analyse)
            finally:
                await conn.close()
            print(
                f"== reusing {spec.directory} (seq {applied:,}; schema refreshed in"
                f" {time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
            meta["reused"] = True
            return pg, schema, meta
        print(f"== {spec.directory} is incomplete (log {log_seq}, read models {applied})")
        await asyncio.to_thread(pg.stop)
    shutil.rmtree(spec.directory, ignore_errors=True)
    spec.directory.mkdir(parents=True)
    pg = LocalPostgres(spec.directory / "pg")
    await asyncio.to_thread(pg.start)
    print(f"== generating {spec.events:,} events (make_big_log) into {spec.directory}", flush=True)
    t0 = time.perf_counter()
    gen = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "projector_service.tools.make_big_log",
            "--events",
            str(spec.events),
            "--registry",
            REGISTRY,
            "--developers",
            str(spec.developers),
            "--seed",
            str(spec.seed),
            "--dsn",
            pg.dsn,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if gen.returncode != 0:
        raise RuntimeError(f"make_big_log failed:\n{gen.stdout}\n{gen.stderr}")
    print("   " + gen.stdout.strip().splitlines()[0], flush=True)
    t1 = time.perf_counter()
    print("== rebuilding the read models (replay)", flush=True)
    source = PgEventSource(pg.dsn, REGISTRY)
    try:
        _, cp, rate = await rebuild(pg.dsn, source, schema)
    finally:
        await source.close()
    t2 = time.perf_counter()
    conn = await asyncpg.connect(pg.dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    print(f"   replayed to seq {cp.last_seq:,} at {rate:,.0f} ev/s; vacuumed", flush=True)
    meta = {
        "events": spec.events,
        "developers": spec.developers,
        "seed": spec.seed,
        "last_seq": cp.last_seq,
        "generate_s": t1 - t0,
        "replay_s": t2 - t1,
        "prepared_at": datetime.now(UTC).isoformat(),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["reused"] = False
    return pg, schema, meta


# ---------------------------------------------------------------------- the query API process
@dataclass
class QueryApi:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path


async def start_query_api(
    dsn: str, workdir: Path, workers: int, env_extra: dict[str, str]
) -> QueryApi:
    port = free_port()
    env = registry_env(
        REGISTRY,
        workdir,
        REGISTRY_QUERY_PORT=str(port),
        REGISTRY_QUERY_WORKERS=str(workers),
        DATABASE_URL=dsn,
        **env_extra,
    )
    log_path = workdir / "query-api.log"
    cmd = _registry_command("query-api")
    proc = _spawn(cmd, workdir, env, log_path)
    url = f"http://127.0.0.1:{port}"
    await _wait_ready(url, [proc], log_path)
    print(f"  query API: {' '.join(cmd)} (pid {proc.pid}, {workers} worker(s)) at {url}")
    return QueryApi(proc, url, log_path)


async def stop_query_api(api: QueryApi) -> None:
    if api.proc.poll() is None:
        api.proc.terminate()
        deadline = time.monotonic() + 30
        while api.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if api.proc.poll() is None:
            api.proc.kill()
            api.proc.wait()


class GetClient(RawClient):
    """``bench.run.RawClient`` sending GETs: its request line is rewritten on the wire
    (``POST`` -> ``GET``, with ``Content-Length: 0``); everything else is its own code."""

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, int]:
        """(status, the X-Registry-Seq of the answer; -1 when absent)."""
        if self._writer is None or self._writer.is_closing():
            r, w = await asyncio.open_connection(self.host, self.port)
            self._reader, self._writer = _SeqReader(r), _GetWriter(w)  # type: ignore[assignment]
        seq_reader: Any = self._reader
        seq_reader.seq = -1
        status = await self.post(path, b"", headers)
        return status, int(seq_reader.seq)


class _GetWriter:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._w = writer

    def write(self, data: bytes) -> None:
        self._w.write(b"GET " + data[5:] if data.startswith(b"POST ") else data)

    def is_closing(self) -> bool:
        return self._w.is_closing()

    def close(self) -> None:
        self._w.close()

    async def wait_closed(self) -> None:
        await self._w.wait_closed()


class _SeqReader:
    """The stream reader, noting the ``X-Registry-Seq`` header as RawClient reads it."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._r = reader
        self.seq = -1

    async def readline(self) -> bytes:
        line = await self._r.readline()
        if line[:15].lower() == b"x-registry-seq:":
            self.seq = int(line[15:].strip())
        return line

    async def readexactly(self, n: int) -> bytes:
        return await self._r.readexactly(n)


# ---------------------------------------------------------------------- the workload
@dataclass
class Callers:
    root: str
    developers: dict[int, str]  # company id -> its admin's access token
    months: list[datetime]
    span: tuple[datetime, datetime]


async def callers(dsn: str, schema: str) -> Callers:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f"SELECT u.company_id, min(u.user_id) AS user_id FROM {schema}.users u"
            f" JOIN {schema}.organisations o USING (company_id)"
            f" WHERE o.role = 'ProgrammeDeveloper' AND u.role = 'Admin' AND NOT u.deleted"
            f" AND EXISTS (SELECT 1 FROM {schema}.credit_blocks b"
            f" WHERE b.company_id = u.company_id AND b.state <> 'retired')"
            f" GROUP BY u.company_id ORDER BY u.company_id"
        )
        lo, hi = await conn.fetchrow(
            f"SELECT min(created_at), max(created_at) FROM {schema}.programmes"
        )
    finally:
        await conn.close()

    def token(user_id: int) -> str:
        return issue_access_token(TOKEN_SECRET, user_id, REGISTRY, ttl_s=6 * 3600)

    months: list[datetime] = []
    m = lo.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while m <= hi:
        months.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return Callers(
        token(ROOT_USER_ID), {r["company_id"]: token(r["user_id"]) for r in rows}, months, (lo, hi)
    )


Request = tuple[str, str]  # (path with query, bearer token)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workloads(c: Callers) -> dict[str, Callable[[random.Random], Request]]:
    devs = sorted(c.developers)

    def holdings(rng: random.Random) -> Request:
        """The first page (100 programme holdings) and the totals of an organisation."""
        cid = rng.choice(devs)
        if rng.random() < 0.5:
            return "/v1/holdings?limit=100", c.developers[cid]
        return f"/v1/holdings?company_id={cid}&limit=100", c.root

    def holdings_all(rng: random.Random) -> Request:
        """Every holding of an organisation in one answer (~6,000 rows, ~1 MB at 20 devs)."""
        cid = rng.choice(devs)
        return f"/v1/holdings?company_id={cid}", c.root

    def my_credits(rng: random.Random) -> Request:
        return "/v1/stats/my-credits", c.developers[rng.choice(devs)]

    def by_status(rng: random.Random) -> Request:
        name = rng.choice(("programmes-by-status", "programmes-by-sector"))
        if rng.random() < 0.5:
            return f"/v1/stats/{name}", c.root
        return f"/v1/stats/{name}?{urlencode({'start': _iso(rng.choice(c.months))})}", c.root

    def by_status_random(rng: random.Random) -> Request:
        lo, hi = c.span
        at = lo + (hi - lo) * rng.random()
        return f"/v1/stats/programmes-by-status?{urlencode({'start': _iso(at)})}", c.root

    return {
        "holdings": holdings,
        "holdings-all": holdings_all,
        "my-credits": my_credits,
        "by-status": by_status,
        "by-status-random": by_status_random,
    }


@dataclass
class Result:
    query: str
    concurrency: int
    ok: int
    errors: dict[str, int]
    seconds: float
    latencies_ms: list[float]
    cpu: dict[str, float]
    seqs: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, max(0, round(p / 100 * len(data)) - 1))]

    def summary(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "concurrency": self.concurrency,
            "ok": self.ok,
            "errors": self.errors,
            "seconds": self.seconds,
            "req_per_s": self.rate,
            "p50_ms": self.pct(50),
            "p90_ms": self.pct(90),
            "p99_ms": self.pct(99),
            "max_ms": max(self.latencies_ms) if self.latencies_ms else None,
            "seqs": sorted(set(self.seqs)),
            "cpu": self.cpu,
            "meets_floor": self.rate >= FLOOR_RPS and self.pct(99) < FLOOR_P99_MS,
        }


async def load(
    api: QueryApi,
    name: str,
    make: Callable[[random.Random], Request],
    concurrency: int,
    seconds: float,
    warmup_s: float,
    meter: CpuMeter,
    expect_seq: int,
) -> Result:
    clients = [GetClient(api.url) for _ in range(concurrency)]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    seqs: set[int] = set()
    ok = 0

    async def worker(client: GetClient, rng: random.Random, until: float, rec: bool) -> None:
        nonlocal ok
        while time.perf_counter() < until:
            path, token = make(rng)
            t0 = time.perf_counter()
            try:
                status, seq = await client.get(path, {"Authorization": f"Bearer {token}"})
                code = str(status)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                code, seq = type(exc).__name__, -1
                await client.aclose()
            if not rec:
                continue
            if code == "200" and seq == expect_seq:
                ok += 1
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                key = code if code != "200" else f"seq {seq}"
                errors[key] = errors.get(key, 0) + 1
            seqs.add(seq)

    rngs = [random.Random(f"{name}-{concurrency}-{i}") for i in range(concurrency)]
    try:
        until = time.perf_counter() + warmup_s
        await asyncio.gather(
            *(worker(c, r, until, False) for c, r in zip(clients, rngs, strict=True))
        )
        meter.start()
        t0 = time.perf_counter()
        await asyncio.gather(
            *(worker(c, r, t0 + seconds, True) for c, r in zip(clients, rngs, strict=True))
        )
        wall = time.perf_counter() - t0
        cpu = await meter.stop()
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return Result(name, concurrency, ok, errors, wall, latencies, cpu, sorted(seqs))


# ---------------------------------------------------------------------- orchestration
async def run(args: argparse.Namespace) -> dict[str, Any]:
    spec = DataSpec(args.events, args.developers, args.seed)
    pg, schema, meta = await prepare(spec, args.reuse)
    work = spec.directory / "run"
    work.mkdir(exist_ok=True)
    results: list[Result] = []
    server_env = dict(kv.split("=", 1) for kv in args.server_env)
    try:
        c = await callers(pg.dsn, schema)
        _, applied = await _prepared_seq(pg.dsn, schema)
        makers = workloads(c)
        print(
            f"== {len(c.developers)} developers hold credits; read models at seq {applied:,};"
            f" background load {background_load(1.0):.0f}% of 200",
            flush=True,
        )
        api = await start_query_api(pg.dsn, work, args.workers, server_env)
        meter = CpuMeter(marker=str(spec.directory), server_pid=api.proc.pid)
        try:
            for name in args.only:
                for conc in args.concurrency:
                    res = await load(
                        api, name, makers[name], conc, args.seconds, args.warmup, meter, applied
                    )
                    results.append(res)
                    print(
                        f"  {name:<17} c={conc:<3} {res.rate:8,.0f} req/s  p50 {res.pct(50):6.1f}"
                        f"  p90 {res.pct(90):6.1f}  p99 {res.pct(99):6.1f} ms"
                        f"  errors {sum(res.errors.values())}  seq {res.seqs}; {cpu_note(res.cpu)}",
                        flush=True,
                    )
        finally:
            await stop_query_api(api)
    finally:
        await asyncio.to_thread(pg.stop)
    return {
        "data": meta,
        "applied_seq": applied,
        "developers_holding": len(c.developers),
        "workers": args.workers,
        "server_env": server_env,
        "results": [r.summary() for r in results],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__.split("\n")[0])
    p.add_argument("--reuse", action="store_true", help="reuse the prepared log and read models")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--developers", type=int, default=20, help="make_big_log --developers")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    p.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per run")
    p.add_argument("--workers", type=int, default=1, help="query API worker processes")
    p.add_argument(
        "--only",
        nargs="+",
        default=["holdings", "my-credits", "by-status", "by-status-random"],
        choices=["holdings", "holdings-all", "my-credits", "by-status", "by-status-random"],
    )
    p.add_argument(
        "--server-env",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the query API (e.g. REGISTRY_QUERY_CACHE_ENTRIES=0)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = " ".join(
        ["uv run python -m bench.queries", *(sys.argv[1:] if argv is None else argv)]
    )
    t0 = time.perf_counter()
    out = asyncio.run(run(args))
    out.update(
        {
            "command": command,
            "finished_at": datetime.now(UTC).isoformat(),
            "total_seconds": time.perf_counter() - t0,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "floors": {"req_per_s": FLOOR_RPS, "p99_ms": FLOOR_P99_MS},
        }
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "queries.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"\ncommand: {command}")
    print(f"{'query':<17} {'c':>4} {'req/s':>8} {'p50':>7} {'p90':>7} {'p99':>7}  floor  CPU")
    for r in out["results"]:
        print(
            f"{r['query']:<17} {r['concurrency']:>4} {r['req_per_s']:8,.0f} {r['p50_ms']:7.1f}"
            f" {r['p90_ms']:7.1f} {r['p99_ms']:7.1f}  {'met' if r['meets_floor'] else 'NO ':<5}"
            f"  {cpu_note(r['cpu'])}"
        )
    print(f"total {out['total_seconds']:.0f} s; written to bench/results/queries.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

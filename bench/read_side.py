"""Read side at scale: replay and the live projector over a million-event credits log.

    uv run python -m bench.read_side [--reuse] [--events 1000000] [--projector-events N]

The log is the one ``bench.queries`` prepares (``make_big_log``: programmes created,
authorised and issued, transfers, retirements, freezes, certifications; cached under
``.registry-data/bench/queries-<events>-<developers>-<seed>/``; ``--reuse`` reuses it).
Then, with nothing else of ours running:

1. **replay**: ``projector_service.replay.rebuild`` into a fresh schema (not switched in):
   read and check the whole log, fold, COPY, build the indexes; events/s as ``rebuild``
   reports it (over the time to read, fold, write and index) and over the wall time.
2. **projector**: the live projector (``Projector.step`` batches of 10,000 events, each
   applied with its checkpoint in one transaction, every hash recomputed) from seq 0 into
   an empty schema, for ``--projector-events`` events (default: the whole log).

Prints events/s, the rows written per event and CPU % per process group (this process and
its replay worker, PostgreSQL, unrelated; % of one core, the machine has 200) and writes
``bench/results/read_side.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.queries import REGISTRY, DataSpec, prepare
from bench.run import RESULTS_DIR, CpuMeter, cpu_note
from libs.eventlog.pg_log import PgEventSource
from libs.runtime import tune_gc
from projector_service.replay import rebuild
from projector_service.runner import Projector
from projector_service.schema import MODEL_TABLES

REPLAY_SCHEMA = "rm_readside"
LIVE_SCHEMA = "rm_readside_live"
FLOOR_REPLAY = 100_000.0
FLOOR_PROJECTOR = 50_000.0


async def _drop(dsn: str, *schemas: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for s in schemas:
            await conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
    finally:
        await conn.close()


async def _rows(dsn: str, schema: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        total = 0
        for t in MODEL_TABLES:
            total += int(await conn.fetchval(f"SELECT count(*) FROM {schema}.{t}"))
        return total
    finally:
        await conn.close()


async def bench_replay(dsn: str, marker: str) -> dict[str, Any]:
    await _drop(dsn, REPLAY_SCHEMA, f"{REPLAY_SCHEMA}__build")
    source = PgEventSource(dsn, REGISTRY)
    meter = CpuMeter(marker)
    meter.start()
    t0 = time.perf_counter()
    try:
        schema, cp, rate = await rebuild(dsn, source, REPLAY_SCHEMA, switch=False)
    finally:
        await source.close()
    wall = time.perf_counter() - t0
    cpu = await meter.stop()
    rows = await _rows(dsn, schema)
    await _drop(dsn, schema)
    return {
        "events": cp.last_seq,
        "events_per_s": rate,
        "wall_events_per_s": cp.last_seq / wall,
        "wall_s": wall,
        "rows": rows,
        "cpu": cpu,
    }


async def bench_projector(dsn: str, marker: str, limit: int) -> dict[str, Any]:
    await _drop(dsn, LIVE_SCHEMA)
    projector = Projector(PgEventSource(dsn, REGISTRY), dsn, REGISTRY, LIVE_SCHEMA)
    await projector.start()
    meter = CpuMeter(marker)
    meter.start()
    t0 = time.perf_counter()
    try:
        while projector.checkpoint.last_seq < limit:
            if not await projector.step():
                break
    finally:
        wall = time.perf_counter() - t0
        applied = projector.checkpoint.last_seq
        await projector.close()
    cpu = await meter.stop()
    rows = await _rows(dsn, LIVE_SCHEMA)
    await _drop(dsn, LIVE_SCHEMA)
    return {
        "events": applied,
        "events_per_s": applied / wall,
        "wall_s": wall,
        "rows": rows,
        "cpu": cpu,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    spec = DataSpec(args.events, args.developers, args.seed)
    pg, _, meta = await prepare(spec, args.reuse)
    try:
        marker = str(spec.directory)
        print(f"== replay of {meta['last_seq']:,} events", flush=True)
        replay = await bench_replay(pg.dsn, marker)
        print(
            f"   {replay['events_per_s']:,.0f} ev/s ({replay['wall_events_per_s']:,.0f} over"
            f" {replay['wall_s']:.1f} s wall); {replay['rows'] / replay['events']:.2f} rows per"
            f" event; {cpu_note(replay['cpu'])}",
            flush=True,
        )
        limit = min(args.projector_events or meta["last_seq"], meta["last_seq"])
        print(f"== live projector from 0 over {limit:,} events", flush=True)
        proj = await bench_projector(pg.dsn, marker, limit)
        print(
            f"   {proj['events_per_s']:,.0f} ev/s ({proj['events']:,} events in"
            f" {proj['wall_s']:.1f} s); {cpu_note(proj['cpu'])}",
            flush=True,
        )
    finally:
        await asyncio.to_thread(pg.stop)
    return {"data": meta, "replay": replay, "projector": proj}


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.read_side", description=__doc__.split("\n")[0]
    )
    p.add_argument("--reuse", action="store_true", help="reuse the prepared log")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--developers", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--projector-events", type=int, default=0, help="0: the whole log")
    args = p.parse_args()
    tune_gc()  # as the `registry` processes run
    t0 = time.perf_counter()
    report = asyncio.run(run(args))
    r, pr = report["replay"], report["projector"]
    print("=" * 78)
    print(
        f"replay     {r['events_per_s']:>9,.0f} ev/s   floor >= {FLOOR_REPLAY:,.0f}:"
        f" {'yes' if r['events_per_s'] >= FLOOR_REPLAY else 'NO'}"
    )
    print(
        f"projector  {pr['events_per_s']:>9,.0f} ev/s   floor >= {FLOOR_PROJECTOR:,.0f}:"
        f" {'yes' if pr['events_per_s'] >= FLOOR_PROJECTOR else 'NO'}"
    )
    print(f"total {time.perf_counter() - t0:.0f} s")
    report["command"] = " ".join(["uv run python -m bench.read_side", *sys.argv[1:]])
    report["finished_at"] = datetime.now(UTC).isoformat()
    report["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "read_side.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"written to {RESULTS_DIR / 'read_side.json'}")


if __name__ == "__main__":
    main()

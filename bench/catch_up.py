"""One measured read-side pass in its own process, as the operator runs it.

    BENCH_DSN=... python -m bench.catch_up projector|replay --registry R --last-seq N
        [--kafka BOOTSTRAP]

``projector``: a fresh ``Projector`` catches up from 0 to seq N (what ``registry projector``
does after a reset); ``replay``: ``rebuild`` over the same log (``registry replay``). The
process starts like the CLI's (``tune_gc``, INFO logging), so the figure is the production
process's, not one inflated or deflated by the benchmark's own heap (the parent holds the
whole log in memory: measured in-process, the projector paid ~25 % more CPU per event).
Prints one JSON line: ``{"seconds": ..., "rate": ..., "last_seq": ...}``; the clock starts
after start-up (imports, connections), as a long-running process would see it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

import orjson

from libs.eventlog.kafka_source import KafkaEventSource
from libs.eventlog.pg_log import PgEventSource
from libs.eventlog.ports import EventSource
from libs.eventlog.topics import Topics
from libs.observability.logging import configure_logging
from libs.runtime import tune_gc
from projector_service.replay import rebuild
from projector_service.runner import Projector
from projector_service.schema import live_schema

TIMEOUT_S = 600.0


def _source(dsn: str, registry: str, kafka: str | None) -> EventSource:
    if kafka:
        return KafkaEventSource(kafka, Topics(registry).events)
    return PgEventSource(dsn, registry)


async def projector(dsn: str, registry: str, kafka: str | None, last_seq: int) -> dict[str, float]:
    proj = Projector(_source(dsn, registry, kafka), dsn, registry, live_schema(registry))
    await proj.start()
    try:
        t0 = time.perf_counter()
        while proj.checkpoint.last_seq < last_seq:
            await proj.step()
            if time.perf_counter() - t0 > TIMEOUT_S:
                raise RuntimeError(f"projector stuck at seq {proj.checkpoint.last_seq}")
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rate": last_seq / seconds, "last_seq": last_seq}
    finally:
        await proj.close()


async def replay(dsn: str, registry: str, kafka: str | None, last_seq: int) -> dict[str, float]:
    src = _source(dsn, registry, kafka)
    t0 = time.perf_counter()
    try:
        _, cp, rate = await rebuild(dsn, src, live_schema(registry))
    finally:
        await src.close()
    seconds = time.perf_counter() - t0
    if cp.last_seq != last_seq:
        raise RuntimeError(f"replay reached seq {cp.last_seq}, not {last_seq}")
    return {"seconds": seconds, "rate": rate, "last_seq": cp.last_seq}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.catch_up")
    p.add_argument("kind", choices=["projector", "replay"])
    p.add_argument("--registry", required=True)
    p.add_argument("--last-seq", type=int, required=True)
    p.add_argument("--kafka")
    args = p.parse_args()
    tune_gc()
    configure_logging("bench-catch-up", json=True)
    run = projector if args.kind == "projector" else replay
    result = asyncio.run(run(os.environ["BENCH_DSN"], args.registry, args.kafka, args.last_seq))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()

"""The production shape: each part as its own process (Kafka + PostgreSQL).

Every process serves /health, /ready and /metrics on its port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
import structlog
import uvicorn
from fastapi import FastAPI

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.api.app import create_command_app
from command_service.api.deps import CommandDeps
from command_service.application.processor import Processor
from command_service.application.restore import CorruptLog
from libs.http.health import health_router
from libs.mail.settings import transport_from_settings
from libs.settings import RegistrySettings
from projector_service.replay import ensure_current
from projector_service.runner import Projector
from projector_service.schema import create_schema, live_schema
from query_service.api.app import create_query_app
from query_service.api.deps import QueryDeps
from query_service.cache import SeqCache
from query_service.settings import QuerySettings
from registry_cli.wiring import (
    TransportResetNotifier,
    credential_store,
    database,
    event_source,
    initialise,
    signing_key,
    token_secret,
)

log = structlog.get_logger("process")


def _require_kafka(settings: RegistrySettings, what: str) -> str:
    if not settings.kafka_bootstrap:
        raise SystemExit(
            f"`registry {what}` runs alone only against Kafka: set KAFKA_BOOTSTRAP "
            "(for the embedded default, use `registry serve`)."
        )
    return settings.kafka_bootstrap


async def _serve_http(
    app: FastAPI,
    settings: RegistrySettings,
    port: int,
    work: list[asyncio.Task[Any]],
    sock: socket.socket | None = None,
) -> None:
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=port, log_level="warning", access_log=False)
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    serve_task = asyncio.create_task(server.serve(sockets=None if sock is None else [sock]))
    done, _ = await asyncio.wait([serve_task, *work], return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    for task in work:
        task.cancel()
    for task in [serve_task, *work]:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for task in done:
        if task is not serve_task and not task.cancelled() and task.exception():
            raise SystemExit(f"{task.get_name()} failed: {task.exception()!r}")


def _ops_app(title: str, checks: dict[str, Callable[[], bool]]) -> FastAPI:
    app = FastAPI(title=title)
    app.include_router(health_router(checks))
    return app


async def run_processor(settings: RegistrySettings) -> None:
    """Lead the registry's writes, or wait as a standby; step down and rejoin on any fault.

    Losing the partition, being fenced or any producer error drops the in-memory state (it
    may be ahead of the log); the next round restores from the log, so nothing ambiguous is
    ever built upon.
    """
    bootstrap = _require_kafka(settings, "processor")
    stop = asyncio.Event()
    current: list[Processor] = []

    refusals = [0]  # consecutive restores refused because the log is damaged

    async def lead_forever() -> None:
        while not stop.is_set():
            plog = KafkaProcessorLog(
                bootstrap, settings.registry, replication=settings.kafka_replication
            )
            processor = Processor(plog, settings.registry)
            current[:] = [processor]
            pause = 1.0
            try:
                await processor.start()  # take leadership, restore from the log
                refusals[0] = 0
                await processor.run(stop)
            except asyncio.CancelledError:
                raise
            except CorruptLog as exc:
                # Never written on; said loudly, and asked again ever more slowly (an
                # operator restores the log, or removes the snapshots to accept a loss).
                refusals[0] += 1
                pause = min(2.0 ** refusals[0], 300.0)
                log.error("processor_refuses_damaged_log", reason=str(exc), retry_in_s=pause)
            except Exception as exc:
                log.warning("processor_stepped_down", reason=f"{type(exc).__name__}: {exc}")
            finally:
                with contextlib.suppress(Exception):
                    await plog.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    app = _ops_app(
        "processor",
        {
            "leader_and_caught_up": lambda: bool(current) and current[0].ready.is_set(),
            "log_intact": lambda: refusals[0] == 0,
        },
    )
    task = asyncio.create_task(lead_forever(), name="processor")
    await _serve_http(app, settings, settings.port, [task])


async def _current_models(settings: RegistrySettings, dsn: str, schema: str) -> None:
    """Rebuild read models left by another version before anything reads or extends them."""
    source = event_source(settings, dsn)
    try:
        await ensure_current(dsn, source, schema)
    finally:
        await source.close()


async def run_projector(settings: RegistrySettings) -> None:
    async with database(settings) as dsn:
        await _current_models(settings, dsn, live_schema(settings.registry))
        projector = Projector(
            event_source(settings, dsn), dsn, settings.registry, live_schema(settings.registry)
        )
        stop = asyncio.Event()
        app = _ops_app(
            "projector",
            {"caught_up": projector.caught_up.is_set, "applying": lambda: projector.halted is None},
        )
        task = asyncio.create_task(projector.run(stop), name="projector")
        await _serve_http(app, settings, settings.port, [task])


async def run_command_api(settings: RegistrySettings) -> None:
    bootstrap = _require_kafka(settings, "command-api")
    async with database(settings) as dsn:
        bus = KafkaCommandBus(bootstrap, settings.registry)
        await bus.start()
        pool, credentials = await credential_store(dsn, settings.registry)
        try:
            transport = transport_from_settings(settings.mail, settings.data_dir)
            deps = CommandDeps(
                settings.registry,
                bus,
                credentials,
                token_secret(settings),
                settings.command_timeout_s,
                reset_notifier=TransportResetNotifier(transport, settings.mail),
            )
            app = create_command_app(deps, {"log": bus.ready.is_set})
            await _serve_http(app, settings, settings.port, [])
        finally:
            await bus.close()
            await pool.close()


async def run_query_api(settings: RegistrySettings) -> None:
    """A read API node; with ``REGISTRY_QUERY_WORKERS=N`` it starts N-1 more processes on the
    same port (``SO_REUSEPORT``) and stops them when it stops."""
    qs = QuerySettings()
    async with database(settings) as dsn:
        schema = live_schema(settings.registry)
        conn = await asyncpg.connect(dsn)
        try:
            await create_schema(conn, schema)
        finally:
            await conn.close()
        workers = _start_query_workers(dsn, qs.workers - 1) if qs.workers > 1 else []
        sock = (
            _reuse_port_socket(settings.host, settings.query_port)
            if workers or qs.reuse_port
            else None
        )
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=qs.pool_size)
        try:
            deps = QueryDeps(
                settings.registry,
                pool,
                schema,
                token_secret(settings),
                settings.read_wait_max_s,
                answers=SeqCache(qs.cache_entries),
                signing_key=signing_key(settings),
            )
            app = create_query_app(deps, {"database": lambda: True})
            await _serve_http(app, settings, settings.query_port, [], sock)
        finally:
            await pool.close()
            for proc in workers:
                if proc.poll() is None:
                    proc.terminate()
            for proc in workers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    await asyncio.to_thread(proc.wait, 30)


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _start_query_workers(dsn: str, n: int) -> list[subprocess.Popen[bytes]]:
    """N more `registry query-api` processes on the same database and port."""
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REGISTRY_QUERY_WORKERS": "1",
        "REGISTRY_QUERY_REUSE_PORT": "true",
    }
    cmd = [sys.executable, "-c", "from registry_cli.main import app; app()", "query-api"]
    return [subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent) for _ in range(n)]


def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when the parent dies."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def run_init(settings: RegistrySettings) -> tuple[str, str | None]:
    """Submit the one-time setup through the log; returns (outcome, root password or None)."""
    bootstrap = _require_kafka(settings, "init")
    async with database(settings) as dsn:
        bus = KafkaCommandBus(bootstrap, settings.registry)
        await bus.start()
        pool, credentials = await credential_store(dsn, settings.registry)
        try:
            outcome = await initialise(settings, bus, credentials)
        finally:
            await bus.close()
            await pool.close()
    res = outcome.result
    text = "initialised" if res.status == "accepted" else (res.error.message if res.error else "")
    return text, outcome.root_password


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)

"""``registry serve``: the whole registry in one process.

Embedded default (no KAFKA_BOOTSTRAP, no DATABASE_URL): an embedded PostgreSQL under the
data dir holds the log table and the read models; commands reach the processor through an
in-process queue. With KAFKA_BOOTSTRAP set, the same process runs the Kafka shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import structlog
import uvicorn

from command_service.adapters.embedded_log import (
    CommandQueue,
    EmbeddedCommandBus,
    EmbeddedProcessorLog,
)
from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.api.deps import CommandDeps
from command_service.application.ports import CommandBus, ProcessorLog
from command_service.application.processor import Processor
from libs.settings import RegistrySettings
from projector_service.notifications.service import Notifications, start_notifications
from projector_service.replay import ensure_current
from projector_service.runner import Projector
from projector_service.schema import create_schema, live_schema
from query_service.api.deps import QueryDeps
from registry_cli.apps import all_in_one_app
from registry_cli.wiring import (
    TransportResetNotifier,
    credential_store,
    database,
    event_source,
    initialise,
    signing_key,
    token_secret,
)

log = structlog.get_logger("serve")


@dataclass
class Running:
    """A started registry (used by `serve`, the e2e tests and the benchmark)."""

    settings: RegistrySettings
    dsn: str
    processor: Processor
    projector: Projector
    bus: CommandBus
    command_deps: CommandDeps
    query_deps: QueryDeps
    tasks: list[asyncio.Task[None]]
    stop: asyncio.Event
    root_password: str | None
    closers: list[Callable[[], Awaitable[None]]]
    background: list[asyncio.Task[None]]
    notifications: Notifications

    def ready_checks(self) -> dict[str, Callable[[], bool]]:
        return {
            "processor": self.processor.ready.is_set,
            "projector": self.projector.caught_up.is_set,
            # False while halted on an event it cannot apply (see `registry dead-letters`).
            "projector_applying": lambda: self.projector.halted is None,
        }

    async def close(self) -> None:
        self.stop.set()
        for task in [*self.tasks, *self.background]:
            task.cancel()
        for task in [*self.tasks, *self.background]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):
                await closer()


async def start_registry(settings: RegistrySettings, dsn: str) -> Running:
    registry = settings.registry
    secret = token_secret(settings)
    stop = asyncio.Event()
    closers: list[Callable[[], Awaitable[None]]] = []
    plog: ProcessorLog
    bus: CommandBus
    if settings.kafka_bootstrap:
        plog = KafkaProcessorLog(
            settings.kafka_bootstrap, registry, replication=settings.kafka_replication
        )
        kbus = KafkaCommandBus(settings.kafka_bootstrap, registry)
        bus = kbus
    else:
        queue = CommandQueue()
        plog = EmbeddedProcessorLog(dsn, registry, queue)
        bus = EmbeddedCommandBus(queue)
    processor = Processor(plog, registry)
    await processor.start()
    closers.append(plog.close)
    tasks = [asyncio.create_task(processor.run(stop), name="processor")]
    if not settings.kafka_bootstrap:
        # If the single writer stops, callers get 503 at once instead of waiting.
        tasks[0].add_done_callback(lambda _: queue.close("the command processor has stopped"))
    if settings.kafka_bootstrap:
        await kbus.start()
    closers.append(bus.close)
    pool, credentials = await credential_store(dsn, registry)
    closers.append(pool.close)
    root_password = None
    assert processor.state is not None
    if not processor.state.initialised:
        outcome = await initialise(settings, bus, credentials)
        root_password = outcome.root_password
    schema = live_schema(registry)
    models_source = event_source(settings, dsn)
    try:
        await ensure_current(dsn, models_source, schema)  # after an upgrade: rebuild first
    finally:
        await models_source.close()
    conn = await asyncpg.connect(dsn)
    try:
        await create_schema(conn, schema)
    finally:
        await conn.close()
    projector = Projector(event_source(settings, dsn), dsn, registry, schema)
    await projector.start()
    tasks.append(asyncio.create_task(projector.run(stop), name="projector"))
    notifications = await start_notifications(
        settings.mail,
        dsn=dsn,
        registry=registry,
        data_dir=settings.data_dir,
        source_factory=lambda: event_source(settings, dsn),
    )
    # Mail runs beside the registry: it never fails a command nor makes it not-ready.
    background = notifications.tasks(stop)
    closers.append(notifications.close)
    read_pool = await asyncpg.create_pool(dsn, min_size=2, max_size=20)
    closers.append(read_pool.close)
    command_deps = CommandDeps(
        registry,
        bus,
        credentials,
        secret,
        settings.command_timeout_s,
        reset_notifier=TransportResetNotifier(notifications.transport, settings.mail),
    )
    query_deps = QueryDeps(
        registry,
        read_pool,
        schema,
        secret,
        settings.read_wait_max_s,
        signing_key=signing_key(settings),
    )
    return Running(
        settings,
        dsn,
        processor,
        projector,
        bus,
        command_deps,
        query_deps,
        tasks,
        stop,
        root_password,
        closers,
        background,
        notifications,
    )


async def serve(settings: RegistrySettings) -> None:
    async with database(settings) as dsn:
        running = await start_registry(settings, dsn)
        try:
            app = all_in_one_app(running.command_deps, running.query_deps, running.ready_checks())
            config = uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level="warning",
                access_log=False,
            )
            server = uvicorn.Server(config)
            url = f"http://{settings.host}:{settings.port}"
            mode = (
                "Kafka at " + settings.kafka_bootstrap
                if settings.kafka_bootstrap
                else (
                    "embedded (log and read models in PostgreSQL under "
                    f"{settings.data_dir.resolve()}/pg)"
                )
            )
            print(f"Carbon Registry '{settings.registry}' ({settings.country_name}) - {mode}")
            print(f"  API:  {url}/v1/...")
            print(f"  Docs: {url}/docs")
            print(f"  Root: {settings.root_email}")
            print(f"  Mail: {running.notifications.transport!r}")
            if running.root_password:
                print(f"  Root password (shown once, not stored anywhere): {running.root_password}")
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
            serve_task = asyncio.create_task(server.serve())
            watched = [serve_task, *running.tasks]
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            server.should_exit = True
            for task in done:
                if task is not serve_task and task.exception() is not None:
                    log.error(
                        "component_failed", task=task.get_name(), error=repr(task.exception())
                    )
            with contextlib.suppress(Exception):
                await serve_task
        finally:
            await running.close()

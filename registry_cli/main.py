"""``registry``: the operator CLI.

With no KAFKA_BOOTSTRAP and no DATABASE_URL everything runs embedded (one process, an
embedded PostgreSQL under REGISTRY_DATA_DIR). Set both to run the production shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from libs.observability.logging import configure_logging
from libs.runtime import tune_gc
from libs.settings import RegistrySettings

T = TypeVar("T")

app = typer.Typer(help="National carbon credit registry.", no_args_is_help=True)
console = Console()


def _run_plain(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (uvicorn[standard] brings it), else asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return _run_plain(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _settings(service: str) -> RegistrySettings:
    tune_gc()
    settings = RegistrySettings()
    configure_logging(service, json=settings.log_json)
    return settings


@app.command()
def serve() -> None:
    """Run the whole registry in one process (the embedded default without Kafka/DB)."""
    from registry_cli.serve import serve as serve_

    _run(serve_(_settings("registry")))


@app.command()
def init() -> None:
    """Initialise the registry (country, Government, Root) through the log (Kafka shape)."""
    from registry_cli.processes import run_init

    text, password = _run(run_init(_settings("init")))
    console.print(text)
    if password:
        console.print(f"Root password (shown once, not stored anywhere): {password}")


@app.command()
def processor() -> None:
    """Run the single-writer command processor (Kafka; standbys wait in its group)."""
    from registry_cli.processes import run_processor

    _run(run_processor(_settings("processor")))


@app.command()
def projector() -> None:
    """Run the projector that folds events into the Postgres read models."""
    from registry_cli.processes import run_projector

    _run(run_projector(_settings("projector")))


@app.command("command-api")
def command_api() -> None:
    """Run a command API node (stateless; run as many as you like)."""
    from registry_cli.processes import run_command_api

    _run(run_command_api(_settings("command-api")))


@app.command("query-api")
def query_api() -> None:
    """Run a read API node (stateless; run as many as you like)."""
    from registry_cli.processes import run_query_api

    _run(run_query_api(_settings("query-api")))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@app.command()
def replay() -> None:
    """Rebuild every read model from seq 0 into a fresh schema, then switch atomically."""
    from projector_service.replay import rebuild
    from projector_service.schema import live_schema
    from registry_cli.wiring import database, event_source

    settings = _settings("replay")

    async def go() -> None:
        async with database(settings) as dsn:
            source = event_source(settings, dsn)
            with _progress() as progress:
                task = progress.add_task("replaying", total=None)

                def tick(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                try:
                    schema, cp, rate = await rebuild(
                        dsn, source, live_schema(settings.registry), progress=tick
                    )
                finally:
                    await source.close()
            console.print(
                f"rebuilt {schema} to seq {cp.last_seq:,} at {rate:,.0f} events/s; switched."
            )

    _run(go())


CheckpointFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--checkpoint",
        help="A signed checkpoint (JSON, as GET /v1/public/log/checkpoint serves it) the log"
        " must still match; repeatable.",
    ),
]
PublicKeyOption = Annotated[
    str | None,
    typer.Option(
        "--public-key",
        help="The registry's checkpoint key (base64url, as /v1/public/log/key gives it);"
        " default: the configured signing key's.",
    ),
]


@app.command()
def compare() -> None:
    """Rebuild the read models from the log into a shadow schema and compare them with the
    live ones, table by table, at the same seq. Exit 1 if any table differs."""
    from projector_service.compare import compare_with_log
    from projector_service.schema import live_schema
    from registry_cli.wiring import database, event_source

    settings = _settings("compare")

    async def go() -> bool:
        async with database(settings) as dsn:
            source = event_source(settings, dsn)
            try:
                result = await compare_with_log(dsn, source, live_schema(settings.registry))
            finally:
                await source.close()
        console.print(f"compared at seq {result.seq:,}")
        for t in result.tables:
            if t.equal:
                console.print(f"  {t.table}: equal ({t.rows:,} rows)")
                continue
            console.print(
                f"[red]  {t.table}: DIFFERS: {t.only_live:,} rows only in the live models,"
                f" {t.only_rebuilt:,} only in the rebuilt ones[/red]",
                highlight=False,
                soft_wrap=True,
            )
            for sample in t.samples:
                console.print(f"    {sample}", markup=False, highlight=False, soft_wrap=True)
        if result.equal:
            console.print("[green]OK: the read models are what the log says.[/green]")
        return result.equal

    if not _run(go()):
        raise typer.Exit(1)


LogFileOption = Annotated[
    Path | None,
    typer.Option(
        "--log-file",
        help="Verify an exported log (`registry export-log`) instead of the registry's own;"
        " no database or broker needed.",
    ),
]


@app.command()
def verify(
    checkpoint: CheckpointFiles = None,
    public_key: PublicKeyOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Walk the log: dense seq, hash chain, envelope validity, and every signed checkpoint
    given. Non-zero exit on any break."""
    from libs.eventlog.file_log import FileEventSource
    from libs.eventlog.ports import EventSource
    from libs.eventlog.signing import (
        CheckpointInvalid,
        check_signature,
        parse,
        read_public_key,
    )
    from libs.eventlog.verify import Report, verify_log
    from registry_cli.wiring import database, event_source, signing_key

    settings = _settings("verify")
    # An exported log is checked against its checkpoints' registry (or just as a chain).
    registry: str | None = None if log_file else settings.registry
    pins = []
    if checkpoint:
        if public_key:
            key = read_public_key(public_key)
        elif log_file:
            raise typer.BadParameter("give --public-key (the registry's, pinned) with --log-file")
        else:
            private = signing_key(settings)
            if private is None:
                raise typer.BadParameter("give --public-key: no signing key is configured")
            key = private.public_key()
        for path in checkpoint:
            try:
                cp = parse(path.read_bytes())
                check_signature(cp, key)
                registry = registry or cp.registry
                if cp.registry != registry:
                    raise CheckpointInvalid(f"it is registry {cp.registry}'s, not {registry}'s")
            except (OSError, CheckpointInvalid) as exc:
                console.print(
                    f"[red]INVALID checkpoint {path}: {exc}[/red]", highlight=False, soft_wrap=True
                )
                raise typer.Exit(1) from None
            pins.append(cp)

    async def walk(source: EventSource) -> Report:
        try:
            with _progress() as progress:
                task = progress.add_task("verifying", total=None)
                return await verify_log(
                    source,
                    lambda d, t: progress.update(task, completed=d, total=t),
                    registry=registry,
                    checkpoints=pins,
                )
        finally:
            await source.close()

    async def go() -> bool:
        if log_file is not None:
            report = await walk(FileEventSource(log_file))
        else:
            async with database(settings) as dsn:
                report = await walk(event_source(settings, dsn))
        console.print(f"events: {report.events:,}  last seq: {report.last_seq:,}")
        console.print(f"head hash: {report.last_hash}")
        for name, count in sorted(report.types.items()):
            console.print(f"  {name}: {count:,}")
        if pins:
            console.print(f"signed checkpoints checked: {len(pins)}")
        if report.ok:
            console.print("[green]OK: the log is dense, chained and valid.[/green]")
            return True
        for b in report.breaks:
            where = f"position {b.position} " if b.position >= 0 else ""
            console.print(
                f"[red]BREAK at {where}(seq {b.seq}): {b.reason}[/red]",
                highlight=False,
                soft_wrap=True,
            )
        return False

    if not _run(go()):
        raise typer.Exit(1)


@app.command("export-log")
def export_log_cmd(
    out: Annotated[Path, typer.Argument(help="The file to write (one event per line).")],
) -> None:
    """Write the whole log, one event's exact bytes per line, for auditors and other
    registries (`registry verify --log-file`). It holds personal data: hand it over as such."""
    from libs.eventlog.file_log import export_log
    from registry_cli.wiring import database, event_source

    settings = _settings("export-log")

    async def go() -> int:
        async with database(settings) as dsn:
            source = event_source(settings, dsn)
            try:
                with out.open("wb") as f:
                    return await export_log(source, f)
            finally:
                await source.close()

    console.print(f"wrote {_run(go()):,} events to {out}")


@app.command()
def checkpoint() -> None:
    """Verify the whole log, then print a signed checkpoint of its head (JSON) to publish
    or hand to auditors. Exit 1 (and nothing signed) if the log does not verify."""
    from libs.eventlog.signing import sign
    from libs.eventlog.verify import verify_log
    from registry_cli.wiring import database, event_source, signing_key

    settings = _settings("checkpoint")
    key = signing_key(settings)
    if key is None:
        raise typer.BadParameter("no signing key: set REGISTRY_SIGNING_KEY")

    async def go() -> bytes | None:
        async with database(settings) as dsn:
            source = event_source(settings, dsn)
            try:
                report = await verify_log(source, registry=settings.registry)
            finally:
                await source.close()
        if not report.ok or report.last_seq == 0:
            return None
        return orjson.dumps(
            sign(key, settings.registry, report.last_seq, report.last_hash).to_json()
        )

    signed = _run(go())
    if signed is None:
        console.print("[red]the log is empty or does not verify (run `registry verify`)[/red]")
        raise typer.Exit(1)
    typer.echo(signed.decode())


@app.command("signing-key")
def signing_key_cmd(
    new: Annotated[
        bool, typer.Option("--new", help="Make a new private key (for REGISTRY_SIGNING_KEY).")
    ] = False,
) -> None:
    """Show the public key that signs log checkpoints (or make a new private key)."""
    from libs.eventlog.signing import (
        key_id,
        new_private_key_text,
        public_key_text,
        read_private_key,
    )
    from registry_cli.wiring import signing_key

    if new:
        private_text = new_private_key_text()
        public = read_private_key(private_text).public_key()
        typer.echo(f"REGISTRY_SIGNING_KEY={private_text}")
        typer.echo(f"public key {public_key_text(public)} (key id {key_id(public)})")
        return
    key = signing_key(_settings("signing-key"))
    if key is None:
        raise typer.BadParameter("no signing key: set REGISTRY_SIGNING_KEY")
    public = key.public_key()
    typer.echo(f"Ed25519 public key {public_key_text(public)} (key id {key_id(public)})")


@app.command("dead-letters")
def dead_letters(
    all_: Annotated[bool, typer.Option("--all", help="Also list resolved ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Events the projector could not apply (it halts on them). Exit 1 while one is unresolved."""
    from dataclasses import asdict

    from projector_service.dead_letters import listed
    from projector_service.schema import create_schema, live_schema
    from registry_cli.wiring import database

    settings = _settings("dead-letters")

    async def go() -> bool:
        async with database(settings) as dsn:
            conn = await asyncpg.connect(dsn)
            try:
                schema = live_schema(settings.registry)
                await create_schema(conn, schema)
                letters = await listed(conn, schema, unresolved_only=not all_)
            finally:
                await conn.close()
        for d in letters:
            if as_json:
                typer.echo(orjson.dumps(asdict(d)).decode())
                continue
            state = f"resolved {d.resolved_at:%Y-%m-%d %H:%M:%S}" if d.resolved_at else "HALTED"
            console.print(
                f"seq {d.seq} (position {d.position}, {d.event_type or 'unreadable'}): {state};"
                f" {d.attempts} attempt(s) since {d.first_failed_at:%Y-%m-%d %H:%M:%S}\n"
                f"  {d.error}",
                markup=False,
            )
        if not letters and not as_json:
            console.print("no dead letters" if all_ else "no unresolved dead letters")
        return any(d.resolved_at is None for d in letters)

    if _run(go()):
        raise typer.Exit(1)


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Really delete the read models.")] = False,
) -> None:
    """Drop the read models (the log is untouched); `registry replay` rebuilds them."""
    from projector_service.schema import live_schema
    from registry_cli.wiring import database

    if not yes:
        raise typer.BadParameter("pass --yes to drop the read models")
    settings = _settings("reset")

    async def go() -> None:
        async with database(settings) as dsn:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(
                    f"DROP SCHEMA IF EXISTS {live_schema(settings.registry)} CASCADE"
                )
            finally:
                await conn.close()

    _run(go())
    console.print("read models dropped; run `registry replay` (or start the projector).")


@app.command("export-schemas")
def export_schemas(
    directory: Annotated[Path, typer.Argument(help="Where to write the JSON Schemas.")] = Path(
        "schemas/json"
    ),
) -> None:
    """Write the JSON Schema of every published envelope, command and event."""
    from schemas.jsonschema import export

    written = export(directory)
    console.print(f"wrote {len(written)} schemas to {directory}")


if __name__ == "__main__":
    app()

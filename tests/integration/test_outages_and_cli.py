"""Fail closed when the log is unreachable (503, nothing written), and the operator CLI
(`registry verify`, `registry replay`) on a real database."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from command_service.adapters.kafka_bus import KafkaCommandBus
from command_service.adapters.kafka_log import KafkaProcessorLog
from command_service.api.app import create_command_app
from command_service.api.deps import CommandDeps
from command_service.application.processor import Processor
from libs.auth.tokens import issue_access_token
from libs.localinfra.kafka_broker import KafkaBroker
from libs.localinfra.postgres import dsn_with_database
from libs.settings import RegistrySettings
from projector_service.schema import live_schema
from registry_cli.serve import start_registry
from registry_cli.wiring import credential_store
from tests.integration.harness import init_env, run_cli, running
from tests.integration.test_projector_and_replay import fill_embedded_log

pytestmark = pytest.mark.asyncio(loop_scope="session")
SECRET = "s" * 48


def org_body(n: int) -> dict[str, object]:
    return {
        "name": f"Org {n}",
        "role": "Certifier",
        "tax_id": f"CERT-{n}",
        "payment_id": f"CP-{n}",
        "email": f"cert{n}@example.org",
        "admin": {"email": f"admin{n}@cert.example.org", "name": "Cy"},
    }


async def test_embedded_commands_fail_closed_when_the_database_goes_away(
    fresh_db: str, unique_registry: str, tmp_path: object
) -> None:
    settings = RegistrySettings(
        registry=unique_registry, data_dir=tmp_path, token_secret=SECRET, root_password="r" * 12
    )
    reg = await start_registry(settings, fresh_db)
    try:
        app = create_command_app(reg.command_deps, {})
        token = issue_access_token(SECRET, 1, unique_registry)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            ok = await client.post("/v1/organisations", json=org_body(1), headers=headers)
            assert ok.status_code == 201
            # The database goes away for the registry: connections are dropped and refused.
            dbname = fresh_db.split("?", 1)[0].rsplit("/", 1)[1]
            admin = await asyncpg.connect(dsn_with_database(fresh_db, "postgres"))
            try:
                await admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    dbname,
                )
            finally:
                await admin.close()
            statuses = []
            for n in range(2, 5):
                r = await client.post("/v1/organisations", json=org_body(n), headers=headers)
                statuses.append((r.status_code, r.json().get("code")))
            assert statuses == [(503, "log.unavailable")] * 3, statuses
    finally:
        await reg.close()
        admin = await asyncpg.connect(dsn_with_database(fresh_db, "postgres"))
        try:
            await admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        finally:
            await admin.close()
    conn = await asyncpg.connect(fresh_db)
    try:
        seqs = [
            r["seq"]
            for r in await conn.fetch(
                "SELECT seq FROM log.events WHERE registry = $1 ORDER BY seq", unique_registry
            )
        ]
    finally:
        await conn.close()
    assert seqs == list(range(1, len(seqs) + 1))  # whatever landed is whole and dense


@pytest.mark.kafka
async def test_kafka_commands_answer_503_while_the_broker_is_paused(
    kafka_broker: KafkaBroker, fresh_db: str, unique_registry: str
) -> None:
    bootstrap = kafka_broker.bootstrap
    reg = unique_registry
    log = KafkaProcessorLog(bootstrap, reg)
    processor = Processor(log, reg)
    bus = KafkaCommandBus(bootstrap, reg)
    async with running(processor.run(asyncio.Event())):
        await bus.start()
        pool, credentials = await credential_store(fresh_db, reg)
        try:
            await bus.submit(init_env(reg), 30)
            app = create_command_app(CommandDeps(reg, bus, credentials, SECRET, 5.0), {})
            headers = {"Authorization": f"Bearer {issue_access_token(SECRET, 1, reg)}"}
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60
            ) as client:
                kafka_broker.pause()
                try:
                    r = await client.post(
                        "/v1/organisations",
                        json=org_body(1),
                        headers={**headers, "Idempotency-Key": "during-outage"},
                    )
                finally:
                    kafka_broker.resume()
                assert r.status_code in (503, 504), r.text
                assert r.json()["code"] in ("log.unavailable", "command.timeout")
                # After the outage the same key gives one outcome, applied at most once.
                for _ in range(60):
                    r2 = await client.post(
                        "/v1/organisations",
                        json=org_body(1),
                        headers={**headers, "Idempotency-Key": "during-outage"},
                    )
                    if r2.status_code in (200, 201):
                        break
                    await asyncio.sleep(1)
                assert r2.status_code in (200, 201), r2.text
        finally:
            await bus.close()
            await pool.close()
    await log.close()


async def test_cli_verify_and_replay(fresh_db: str, unique_registry: str) -> None:
    reg = unique_registry
    await fill_embedded_log(fresh_db, reg, n=25)
    env = {"DATABASE_URL": fresh_db, "REGISTRY_REGISTRY": reg}
    verified = await asyncio.to_thread(run_cli, ["verify"], env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK" in verified.stdout
    assert "last seq: 30" in verified.stdout
    replayed = await asyncio.to_thread(run_cli, ["replay"], env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "rebuilt" in replayed.stdout
    conn = await asyncpg.connect(fresh_db)
    try:
        count = await conn.fetchval(f"SELECT count(*) FROM {live_schema(reg)}.programmes")
        assert count == 25
        await conn.execute("ALTER TABLE log.events DISABLE TRIGGER events_append_only")
        await conn.execute("DELETE FROM log.events WHERE registry = $1 AND seq = 12", reg)
    finally:
        await conn.close()
    broken = await asyncio.to_thread(run_cli, ["verify"], env)
    assert broken.returncode == 1
    assert "BREAK" in broken.stdout
    assert "seq 13" in broken.stdout

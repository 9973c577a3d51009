"""Shared fixtures: a real Kafka broker and a real PostgreSQL, started lazily.

* ``kafka_bootstrap``: ``$KAFKA_BOOTSTRAP`` if set, else a local single-node KRaft broker
  (``libs.localinfra.KafkaBroker``) started on first use, warmed up, stopped at session end.
  If it cannot start the requesting tests FAIL (never skip).
* ``kafka_broker``: the ``KafkaBroker`` itself, for fault tests (kill/pause/restart).
* ``pg_server_dsn``: ``$DATABASE_URL`` if set, else an embedded PostgreSQL.
* ``fresh_db``: DSN of a new empty database (random name) per test.
* ``unique_registry``: a random registry id per test (registry ids name Kafka topics).

Nothing starts unless a test asks for it, so ``pytest tests/unit`` never launches Java.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import hypothesis  # noqa: F401  (imported early: a late import at session end trips a CPython 3.11 AST bug)
import pytest
import pytest_asyncio

from libs.localinfra.kafka_broker import KafkaBroker, warm_up
from libs.localinfra.postgres import LocalPostgres, create_database, drop_database


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_broker() -> AsyncIterator[KafkaBroker]:
    """The local broker process (started on first use, stopped at session end)."""
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        pytest.fail(
            f"this test needs the local KafkaBroker object (it kills/pauses/restarts the "
            f"broker), but KAFKA_BOOTSTRAP={external} points to an external broker; "
            "unset KAFKA_BOOTSTRAP to run it",
            pytrace=False,
        )
    broker = KafkaBroker()
    error: str | None = None
    try:
        await broker.start()
        await warm_up(broker.bootstrap)
    except Exception as exc:
        error = f"the local Kafka broker could not start: {exc}"
    if error is not None:
        await broker.stop()
        pytest.fail(error, pytrace=False)  # fail, never skip: no "ran no test" green
    print(f"\n[kafka] {broker.bootstrap} up in {broker.last_start_seconds:.1f} s")
    try:
        yield broker
    finally:
        await broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest) -> str:
    """``host:port`` of the Kafka broker for this session."""
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        return external
    broker: KafkaBroker = request.getfixturevalue("kafka_broker")
    return broker.bootstrap


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server: ``$DATABASE_URL`` or an embedded one."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    pg = LocalPostgres()
    error: str | None = None
    try:
        pg.start()
    except Exception as exc:
        error = f"the embedded PostgreSQL could not start: {exc}"
    if error is not None:
        pg.stop()
        pytest.fail(error, pytrace=False)
    try:
        yield pg.dsn
    finally:
        pg.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_db(pg_server_dsn: str) -> AsyncIterator[str]:
    """DSN of a brand-new empty database (dropped again after the test)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    dsn = await create_database(pg_server_dsn, name)
    try:
        yield dsn
    finally:
        try:
            await drop_database(pg_server_dsn, name)
        except Exception as exc:  # best effort; the server is throwaway
            print(f"[postgres] could not drop {name}: {exc!r}")


@pytest.fixture
def unique_registry() -> str:
    """A random registry id, e.g. ``t3f9a0c1b2d`` (valid in Kafka topic names)."""
    return "t" + uuid.uuid4().hex[:10]

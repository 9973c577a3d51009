"""A real single-node KRaft Kafka broker started from the Maven Central jars.

The jars live in ``compose/kafka-local/libs`` (fetched by
``mvn -B -q -f compose/kafka-local/pom.xml dependency:copy-dependencies``, which
``scripts/ensure-env`` runs). The broker runs ``kafka.Kafka`` from the ``kafka_2.13``
jar on the ``java`` found in ``PATH`` (Java 17+), as a combined broker+controller
listening on 127.0.0.1 only.

Used by the pytest fixtures (``tests/conftest.py``) and by operators to run the
production shape locally::

    python -m libs.localinfra.kafka_broker --port 19092 --controller-port 19093

The lifecycle methods that wait (``start``, ``stop``, ``restart``) are coroutines so that
they never block an event loop that also runs Kafka clients; ``kill``, ``pause`` and
``resume`` only send a signal and are plain methods. Code without an event loop can use
the synchronous context manager (``with KafkaBroker() as broker: ...``).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

KAFKA_VERSION = "4.2.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_KAFKA_HOME = REPO_ROOT / "compose" / "kafka-local"
CORE_JAR_NAME = f"kafka_2.13-{KAFKA_VERSION}.jar"
FETCH_HINT = (
    "run `mvn -B -q -f compose/kafka-local/pom.xml dependency:copy-dependencies` "
    "(or `scripts/ensure-env`) from the repository root"
)

STARTED_MARKER = b"Kafka Server started"
HOST = "127.0.0.1"
DEFAULT_START_TIMEOUT_S = 90.0
DEFAULT_STOP_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 80

JVM_HEAP_OPTS: tuple[str, ...] = ("-Xms256m", "-Xmx768m")
# The GC/JIT flags of bin/kafka-run-class.sh, plus C1 only (TieredStopAtLevel=1). This
# broker lives for a test session or a benchmark on a 2-core machine it shares with the
# services: with C2, its compiler threads were the broker's largest CPU consumer for the
# first minutes (measured in the benchmark's HTTP phases: 1.2-1.8 CPU-s of C2 compilation
# against 1.0-1.5 s of request handling per 5 s window, 0.8 ms of broker CPU per command at
# 32 clients), while C1 code handles the requests at the same cost (0.5 ms per command,
# compilation 0.4 s and then none). A long-lived production broker keeps the default.
JVM_PERF_OPTS: tuple[str, ...] = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
)
# StorageTool is a short-lived CLI: a small heap and the C1 compiler only start faster.
TOOL_JVM_OPTS: tuple[str, ...] = ("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

# Throwaway names used by warm_up(); never used by the application.
WARMUP_TOPIC = "localinfra-warmup"
WARMUP_TXN_ID = "localinfra-warmup-txn"
WARMUP_GROUP = "localinfra-warmup-group"


class BrokerUnavailable(RuntimeError):
    """The local Kafka broker cannot be started (missing jars or java, start-up failure)."""


def new_cluster_id() -> str:
    """A Kafka cluster id as ``StorageTool random-uuid`` makes it.

    16 random bytes, base64url without padding (22 characters), never starting with '-'
    (``org.apache.kafka.common.Uuid.randomUuid``).
    """
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cid.startswith("-"):
            return cid


def free_port(host: str = HOST, exclude: Sequence[int] = ()) -> int:
    """A TCP port on ``host`` that nothing listens on right now (chosen by the kernel)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in exclude:
            return port


def _parent_death_kill() -> Callable[[], None] | None:
    """A Popen ``preexec_fn`` that makes Linux SIGKILL the child when its parent dies.

    So a pytest run that is itself SIGKILLed does not leave a JVM behind. Linux only, and
    only from the main thread (the signal fires when the *thread* that forked exits).
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not (
        threading.main_thread()
    ):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL))

    return preexec


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class KafkaBroker:
    """One single-node KRaft Kafka broker (broker+controller) in a child process.

    ``data_dir``: where ``server.properties``, the KRaft logs and ``broker.log`` go; a
    fresh temporary directory (removed by ``stop()``) when omitted.
    ``port`` / ``controller_port``: the PLAINTEXT and CONTROLLER listener ports; free
    ports are picked when omitted. Both are kept across ``restart()``.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        kafka_home: str | os.PathLike[str] | None = None,
        java: str | None = None,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S,
        extra_properties: dict[str, str] | None = None,
    ) -> None:
        self.kafka_home = Path(kafka_home) if kafka_home is not None else DEFAULT_KAFKA_HOME
        self.libs_dir = self.kafka_home / "libs"
        self._java = java
        self._owns_data_dir = data_dir is None
        self._data_dir: Path | None = Path(data_dir).resolve() if data_dir is not None else None
        self._requested_port = port
        self._requested_controller_port = controller_port
        self._port: int | None = None
        self._controller_port: int | None = None
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.extra_properties = dict(extra_properties or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False
        self.cluster_id: str | None = None
        self.last_start_seconds: float | None = None

    # ------------------------------------------------------------------ properties
    @property
    def port(self) -> int:
        if self._port is None:
            raise BrokerUnavailable("the broker has not been started yet")
        return self._port

    @property
    def controller_port(self) -> int:
        if self._controller_port is None:
            raise BrokerUnavailable("the broker has not been started yet")
        return self._controller_port

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT`` of the PLAINTEXT listener."""
        return f"{HOST}:{self.port}"

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise BrokerUnavailable("the broker has not been started yet")
        return self._data_dir

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while the broker process exists (also while paused)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def paused(self) -> bool:
        return self._paused

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return _tail(self.log_path, lines)

    # ------------------------------------------------------------------ preparation
    def _classpath(self) -> str:
        if not (self.libs_dir / CORE_JAR_NAME).is_file():
            raise BrokerUnavailable(
                f"Kafka {KAFKA_VERSION} jars not found ({self.libs_dir / CORE_JAR_NAME} "
                f"is missing): {FETCH_HINT}"
            )
        return str(self.libs_dir / "*")

    def _java_bin(self) -> str:
        java = self._java or shutil.which("java")
        if java is None:
            raise BrokerUnavailable(
                "`java` (17 or newer) is not on PATH; the Kafka broker needs it"
            )
        return java

    def _log4j_opt(self) -> str:
        config = self.kafka_home / "log4j2.properties"
        if not config.is_file():
            raise BrokerUnavailable(f"missing log4j2 config {config}")
        return f"-Dlog4j2.configurationFile={config}"

    def _choose_ports(self) -> None:
        if self._port is not None and self._controller_port is not None:
            return  # restart: keep the ports (they are in the formatted quorum state too)
        stored = self._read_state()
        port = self._requested_port
        cport = self._requested_controller_port
        if stored is not None:
            # An already formatted data dir remembers its ports: the controller endpoint is
            # part of the KRaft voter set written by `format --standalone`.
            for name, want, have in (
                ("port", port, stored["port"]),
                ("controller_port", cport, stored["controller_port"]),
            ):
                if want is not None and want != have:
                    raise BrokerUnavailable(
                        f"{self.data_dir} was formatted for {name}={have}, not {want}; "
                        "use the same ports or a new data dir"
                    )
            port, cport = int(stored["port"]), int(stored["controller_port"])
        if port is None:
            port = free_port(exclude=[p for p in (cport,) if p is not None])
        if cport is None:
            cport = free_port(exclude=[port])
        if port == cport:
            raise BrokerUnavailable("the broker and controller ports must differ")
        self._port, self._controller_port = port, cport

    def _state_path(self) -> Path:
        return self.data_dir / "localinfra-broker.json"

    def _read_state(self) -> dict[str, Any] | None:
        path = self._state_path()
        if not path.is_file():
            return None
        state: dict[str, Any] = json.loads(path.read_text())
        return state

    def _render_properties(self) -> Path:
        template_path = self.kafka_home / "server.properties.in"
        try:
            template = template_path.read_text()
        except OSError as exc:
            raise BrokerUnavailable(f"cannot read {template_path}: {exc}") from exc
        text = (
            template.replace("@DATA@", str(self.data_dir))
            .replace("@BROKER_PORT@", str(self.port))
            .replace("@CONTROLLER_PORT@", str(self.controller_port))
        )
        if self.extra_properties:
            # Later keys win in a Java properties file; values may use the placeholders.
            text += "\n# extra_properties\n"
            text += "".join(
                f"{k}={v}\n".replace("@DATA@", str(self.data_dir))
                .replace("@BROKER_PORT@", str(self.port))
                .replace("@CONTROLLER_PORT@", str(self.controller_port))
                for k, v in self.extra_properties.items()
            )
        path = self.data_dir / "server.properties"
        path.write_text(text)
        return path

    async def add_acls(self, client_config: dict[str, str], *acl_args: str) -> None:
        """``kafka-acls --add ACL_ARGS`` against this broker (Kafka's own AclCommand from the
        tools jar), connecting with ``client_config`` (a principal allowed to alter ACLs)."""
        path = self.data_dir / "acl-client.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in client_config.items()))
        cmd = [
            self._java_bin(),
            *TOOL_JVM_OPTS,
            self._log4j_opt(),
            "-cp",
            self._classpath(),
            "org.apache.kafka.tools.AclCommand",
            "--bootstrap-server",
            self.bootstrap,
            "--command-config",
            str(path),
            "--add",
            "--force",
            *acl_args,
        ]
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
        if proc.returncode != 0:
            raise BrokerUnavailable(
                f"kafka-acls failed (exit {proc.returncode}): {out.decode('utf-8', 'replace')}"
            )

    def _is_formatted(self) -> bool:
        return (self.data_dir / "kraft-logs" / "meta.properties").is_file()

    async def _format(self, java: str, classpath: str, props: Path) -> None:
        self.cluster_id = new_cluster_id()
        cmd = [
            java,
            *TOOL_JVM_OPTS,
            self._log4j_opt(),
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            self.cluster_id,
            "--config",
            str(props),
            "--standalone",
        ]
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout=self.start_timeout_s)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise BrokerUnavailable("`StorageTool format` timed out") from exc
        if proc.returncode != 0:
            raise BrokerUnavailable(
                f"`StorageTool format` failed (exit {proc.returncode}):\n"
                f"{out.decode('utf-8', 'replace')}"
            )
        self._state_path().write_text(
            json.dumps(
                {
                    "cluster_id": self.cluster_id,
                    "port": self.port,
                    "controller_port": self.controller_port,
                }
            )
        )

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> Self:
        """Format the data dir if needed, launch the broker and wait until it serves.

        Raises ``BrokerUnavailable`` with the log tail when it does not come up within
        ``start_timeout_s``.
        """
        if self.running:
            raise BrokerUnavailable(f"the broker is already running (pid {self.pid})")
        t0 = time.monotonic()
        classpath = self._classpath()
        java = self._java_bin()
        log4j = self._log4j_opt()
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="kafka-broker-"))
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._choose_ports()
        props = self._render_properties()
        if self._is_formatted():
            state = self._read_state()
            self.cluster_id = str(state["cluster_id"]) if state else None
        else:
            await self._format(java, classpath, props)

        cmd = [
            java,
            *JVM_HEAP_OPTS,
            *JVM_PERF_OPTS,
            log4j,
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(props),
        ]
        log_offset = self._launch(cmd)
        self._paused = False
        atexit.register(self._atexit_kill)
        try:
            await self._wait_for_started(log_offset)
            await self._wait_for_admin(t0 + self.start_timeout_s)
        except BaseException:
            self.kill()
            raise
        self.last_start_seconds = time.monotonic() - t0
        return self

    def _launch(self, cmd: list[str]) -> int:
        """Spawn the broker (stdout+stderr appended to broker.log); returns the log offset."""
        with self.log_path.open("ab") as log:
            log_offset = log.tell()
            log.write(f"\n===== localinfra: starting {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # own session and process group
                preexec_fn=_parent_death_kill(),
            )
        return log_offset

    async def _wait_for_started(self, offset: int) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        carry = b""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            while True:
                chunk = log.read()
                if chunk:
                    carry += chunk
                    if STARTED_MARKER in carry:
                        return
                    carry = carry[-len(STARTED_MARKER) :]
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise BrokerUnavailable(
                        f"the Kafka broker exited with code {self._proc.returncode} before "
                        f"it started; last lines of {self.log_path}:\n{self.log_tail()}"
                    )
                if time.monotonic() > deadline:
                    raise BrokerUnavailable(
                        f"the Kafka broker did not log {STARTED_MARKER.decode()!r} within "
                        f"{self.start_timeout_s:.0f} s; last lines of {self.log_path}:\n"
                        f"{self.log_tail()}"
                    )
                await asyncio.sleep(0.1)

    async def _wait_for_admin(self, deadline: float) -> None:
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            try:
                await describe_cluster(self.bootstrap, timeout_s=5.0)
                return
            except Exception as exc:  # any failure means "not ready yet"
                last_error = exc
            await asyncio.sleep(0.2)
        raise BrokerUnavailable(
            f"the Kafka broker at {self.bootstrap} logged that it started but does not answer "
            f"DescribeCluster ({last_error!r}); last lines of {self.log_path}:\n{self.log_tail()}"
        )

    async def stop(self, *, remove_data: bool | None = None) -> None:
        """SIGTERM (controlled shutdown), SIGKILL after ``stop_timeout_s``.

        ``remove_data`` defaults to True for a temporary data dir made by this object.
        """
        await self._terminate()
        if remove_data is None:
            remove_data = self._owns_data_dir
        if remove_data and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            if self._owns_data_dir:
                self._data_dir = None
                self._port = self._controller_port = None

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(signal.SIGCONT)  # a stopped process would not act on SIGTERM
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout_s
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if proc.poll() is None:
                self._signal(signal.SIGKILL)
                while proc.poll() is None:
                    await asyncio.sleep(0.05)
        self._reap_group()
        self._forget_process()

    async def restart(self) -> Self:
        """Stop (gracefully if still running) and start again on the same data dir and ports."""
        await self._terminate()
        return await self.start()

    def kill(self) -> None:
        """SIGKILL the broker's process group (a crash; no controlled shutdown)."""
        proc = self._proc
        if proc is None:
            return
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        self._reap_group()
        self._forget_process()

    def pause(self) -> None:
        """SIGSTOP: the broker freezes (connections stay open, requests time out)."""
        if not self.running:
            raise BrokerUnavailable("the broker is not running")
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """SIGCONT after ``pause()``."""
        if not self.running:
            raise BrokerUnavailable("the broker is not running")
        self._signal(signal.SIGCONT)
        self._paused = False

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    def _reap_group(self) -> None:
        # Anything else left in the broker's process group (there should be nothing).
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    def _forget_process(self) -> None:
        self._proc = None
        self._paused = False
        atexit.unregister(self._atexit_kill)

    def _atexit_kill(self) -> None:
        # Safety net when the interpreter exits without stop(): never leave a JVM behind.
        self.kill()

    # ------------------------------------------------------------------ context managers
    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        """Synchronous use (no running event loop): ``with KafkaBroker() as broker:``."""
        return asyncio.run(self.start())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run(self.stop())

    def __repr__(self) -> str:
        where = self.bootstrap if self._port is not None else "not started"
        return f"<KafkaBroker {where} pid={self.pid} data_dir={self._data_dir}>"


# ---------------------------------------------------------------------- client helpers
async def describe_cluster(bootstrap: str, *, timeout_s: float = 5.0) -> dict[str, Any]:
    """One DescribeCluster round trip (raises if the broker does not answer)."""
    from aiokafka.admin import AIOKafkaAdminClient

    from libs.eventlog.kafka_security import kafka_options

    ms = int(timeout_s * 1000)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=ms, **kafka_options()
    )
    try:
        await asyncio.wait_for(admin.start(), timeout=timeout_s)
        result: dict[str, Any] = await asyncio.wait_for(admin.describe_cluster(), timeout_s)
        return result
    finally:
        await admin.close()


async def warm_up(bootstrap: str, *, timeout_s: float = 60.0) -> None:
    """Create ``__transaction_state`` and ``__consumer_offsets`` ahead of the tests.

    Commits one transaction with a throwaway transactional producer on a throwaway topic
    and joins (and commits in) one consumer group once. Idempotent.
    """
    await asyncio.wait_for(_warm_up(bootstrap), timeout=timeout_s)


async def _warm_up(bootstrap: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError
    from aiokafka.structs import TopicPartition

    from libs.eventlog.kafka_security import kafka_options

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_options())
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [NewTopic(WARMUP_TOPIC, num_partitions=1, replication_factor=1)]
            )
    finally:
        await admin.close()

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=WARMUP_TXN_ID, **kafka_options()
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(WARMUP_TOPIC, b"warm-up")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **kafka_options(),
        group_id=WARMUP_GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        consumer.subscribe([WARMUP_TOPIC])
        tp = TopicPartition(WARMUP_TOPIC, 0)
        while tp not in consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        await consumer.commit({tp: await consumer.position(tp)})
    finally:
        await consumer.stop()


# ---------------------------------------------------------------------- CLI
def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m libs.localinfra.kafka_broker",
        description=(
            f"Run a single-node KRaft Kafka {KAFKA_VERSION} broker in the foreground "
            "(from compose/kafka-local/libs) until Ctrl-C."
        ),
    )
    parser.add_argument("--port", type=int, default=19092, help="PLAINTEXT port (19092)")
    parser.add_argument(
        "--controller-port", type=int, default=19093, help="CONTROLLER port (19093)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".registry-data/kafka"),
        help="data directory, kept between runs (./.registry-data/kafka)",
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="skip creating __transaction_state/__consumer_offsets up front",
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    broker = KafkaBroker(args.data_dir, port=args.port, controller_port=args.controller_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"starting Kafka {KAFKA_VERSION} in {broker.data_dir} ...", flush=True)
    try:
        await broker.start()
        if not args.no_warm_up:
            await warm_up(broker.bootstrap)
        print(
            f"Kafka is up in {broker.last_start_seconds:.1f} s\n"
            f"bootstrap: {broker.bootstrap}\n"
            f"log: {broker.log_path}\n"
            "Ctrl-C to stop.",
            flush=True,
        )
        waiter = asyncio.create_task(stop.wait())
        while not stop.is_set():
            await asyncio.wait({waiter}, timeout=1.0)
            if not broker.running:
                raise BrokerUnavailable(
                    f"the broker exited unexpectedly; last lines of {broker.log_path}:\n"
                    f"{broker.log_tail()}"
                )
    finally:
        print("stopping Kafka ...", flush=True)
        await broker.stop(remove_data=False)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    args.data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(_serve(args))
    except BrokerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

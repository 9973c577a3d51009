"""End-to-end fixtures: the whole registry in-process (embedded mode) behind an HTTP client.

``registry`` starts ``start_registry`` on a brand-new database (``fresh_db``), builds the
all-in-one app and yields an :class:`E2E` handle: an ``httpx.AsyncClient`` talking to the
app over ASGI, the ``Running`` object, the Root credentials, and ``restart()`` to stop the
registry and start a new one on the same database with the same settings. Everything is
closed after the test (before ``fresh_db`` drops the database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from e2e_helpers import E2E, open_registry, settings_for


@pytest_asyncio.fixture(loop_scope="session")
async def registry(fresh_db: str, unique_registry: str, tmp_path: Path) -> AsyncIterator[E2E]:
    handle = await open_registry(settings_for(unique_registry, tmp_path), fresh_db)
    try:
        yield handle
    finally:
        await handle.close()

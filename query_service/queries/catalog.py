"""Reads of the registry's setup (the lists go through ``collections`` and ``listing``)."""

from __future__ import annotations

from typing import Any

import asyncpg


async def registry_info(conn: asyncpg.Connection, s: str) -> dict[str, Any] | None:
    r = await conn.fetchrow(f"SELECT * FROM {s}.registry_info WHERE id = 1")
    return None if r is None else dict(r)

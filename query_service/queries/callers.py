"""Who is asking, as the read models know them (``visibility`` says what they may see)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Caller:
    user_id: int
    role: str
    company_id: int
    company_role: str


async def load_caller(pool: asyncpg.Pool, schema: str, user_id: int) -> Caller | None:
    row = await pool.fetchrow(
        f"SELECT u.user_id, u.role, u.company_id, o.role AS company_role, u.pending,"
        f" u.deleted FROM {schema}.users u JOIN {schema}.organisations o USING (company_id)"
        f" WHERE u.user_id = $1",
        user_id,
    )
    # A deleted user's access token stays valid until it expires: it reads nothing.
    if row is None or row["pending"] or row["deleted"]:
        return None
    return Caller(row["user_id"], row["role"], row["company_id"], row["company_role"])


async def load_caller_at_seq(
    pool: asyncpg.Pool, schema: str, user_id: int
) -> tuple[int, Caller | None]:
    """The applied seq and the caller as of that seq, in one statement."""
    row = await pool.fetchrow(
        f"SELECT c.last_seq, x.* FROM {schema}.checkpoints c LEFT JOIN ("
        f"SELECT u.user_id, u.role, u.company_id, o.role AS company_role, u.pending, u.deleted"
        f" FROM {schema}.users u JOIN {schema}.organisations o USING (company_id)"
        f" WHERE u.user_id = $1) x ON TRUE WHERE c.projection = 'main'",
        user_id,
    )
    if row is None:  # nothing applied yet
        return 0, await load_caller(pool, schema, user_id)
    seq = int(row["last_seq"])
    if row["user_id"] is None or row["pending"] or row["deleted"]:
        return seq, None
    return seq, Caller(row["user_id"], row["role"], row["company_id"], row["company_role"])

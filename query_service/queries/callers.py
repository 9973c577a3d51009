"""Who is asking, as the read models know them, and what rows they may see."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

GOVERNMENT_LIKE = frozenset({"Government", "Ministry"})


@dataclass(frozen=True)
class Caller:
    user_id: int
    role: str
    company_id: int
    company_role: str

    @property
    def sees_all_users(self) -> bool:
        return self.role == "Root" or self.company_role in GOVERNMENT_LIKE


async def load_caller(pool: asyncpg.Pool, schema: str, user_id: int) -> Caller | None:
    row = await pool.fetchrow(
        f"SELECT u.user_id, u.role, u.company_id, o.role AS company_role, u.pending"
        f" FROM {schema}.users u JOIN {schema}.organisations o USING (company_id)"
        f" WHERE u.user_id = $1",
        user_id,
    )
    if row is None or row["pending"]:
        return None
    return Caller(row["user_id"], row["role"], row["company_id"], row["company_role"])

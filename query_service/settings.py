"""Settings of a read API node (prefix ``REGISTRY_QUERY_``; see ``libs.settings`` for the
shared ones).

* ``workers``: processes serving the read API on the same port (``SO_REUSEPORT``: the
  kernel spreads connections over them). Read nodes are stateless, so running several is an
  ordinary deployment choice; one process uses at most one core.
* ``pool_size``: PostgreSQL connections per worker.
* ``cache_entries``: per-seq answers kept per worker (0: no cache).
* ``reuse_port``: set by the first worker for the ones it starts.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class QuerySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_QUERY_", extra="ignore")

    workers: int = Field(1, ge=1, le=64)
    pool_size: int = Field(10, ge=1, le=200)
    cache_entries: int = Field(4096, ge=0, le=1_000_000)
    reuse_port: bool = False

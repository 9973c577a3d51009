"""Read-model tables, created on start in one schema per registry (``rm_<registry>``).

The DDL comes in three parts so replay can fill fresh tables before they carry any index:
``TABLES`` (tables, NOT NULL and CHECK constraints only), ``COLUMNS`` (columns added since a
table was first created: existing schemas gain them in the same order as new ones) and
``INDEXES`` (every unique and secondary index; a table's key is the unique index
``<table>_pkey``). ``create_schema`` runs all three; replay runs the first two, fills the
tables with COPY, then builds the indexes.

``OPS_TABLES`` hold what the projector records about itself rather than what events say (its
dead letters, ``projector_service.dead_letters``). No projection writes them, so they are
outside the read models' version: every schema, new or existing, gains them on start.
"""

from __future__ import annotations

import re

import asyncpg

from projector_service.credit_schema import CREDIT_COLUMNS, CREDIT_INDEXES, CREDIT_TABLES
from projector_service.projections.identity import IDENTITY_COLUMNS

TABLES = (
    """
CREATE TABLE IF NOT EXISTS {s}.checkpoints (
    projection text PRIMARY KEY,
    last_seq bigint NOT NULL,
    next_position bigint NOT NULL,
    last_hash text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.registry_info (
    id int NOT NULL CHECK (id = 1),
    country_code text NOT NULL,
    country_name text NOT NULL,
    credit_unit text NOT NULL,
    government_company_id int NOT NULL,
    root_user_id int NOT NULL,
    initialised_seq bigint NOT NULL,
    initialised_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.organisations (
    company_id int NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    state text NOT NULL,
    tax_id text,
    payment_id text,
    email text NOT NULL,
    phone text,
    website text,
    address text,
    country_code text NOT NULL,
    sectoral_scopes text[] NOT NULL,
    minister_name text,
    created_seq bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.users (
    user_id int NOT NULL,
    company_id int NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    phone text,
    pending boolean NOT NULL,
    created_seq bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.programmes (
    programme_id text NOT NULL,
    title text NOT NULL,
    external_id text NOT NULL,
    sector text NOT NULL,
    sectoral_scope text NOT NULL,
    country_code text NOT NULL,
    stage text NOT NULL,
    start_time bigint NOT NULL,
    end_time bigint NOT NULL,
    credit_est bigint NOT NULL,
    credit_unit text NOT NULL,
    proponent_company_ids int[] NOT NULL,
    proponent_percentages numeric[] NOT NULL,
    environmental_assessment_registration_no text NOT NULL,
    properties jsonb NOT NULL,
    serial_no text,
    created_seq bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.programme_timeline (
    seq bigint NOT NULL,
    programme_id text NOT NULL,
    type text NOT NULL,
    actor_user_id int,
    occurred_at timestamptz NOT NULL,
    payload json NOT NULL
);
"""
    + CREDIT_TABLES
)

COLUMNS = CREDIT_COLUMNS + IDENTITY_COLUMNS

INDEXES = (
    """
CREATE UNIQUE INDEX IF NOT EXISTS registry_info_pkey ON {s}.registry_info (id);
CREATE UNIQUE INDEX IF NOT EXISTS organisations_pkey ON {s}.organisations (company_id);
CREATE UNIQUE INDEX IF NOT EXISTS users_pkey ON {s}.users (user_id);
CREATE INDEX IF NOT EXISTS users_company ON {s}.users (company_id, user_id);
CREATE UNIQUE INDEX IF NOT EXISTS programmes_pkey ON {s}.programmes (programme_id);
CREATE INDEX IF NOT EXISTS programmes_stage ON {s}.programmes (stage, programme_id);
CREATE INDEX IF NOT EXISTS programmes_proponents
    ON {s}.programmes USING gin (proponent_company_ids);
CREATE UNIQUE INDEX IF NOT EXISTS programme_timeline_pkey ON {s}.programme_timeline (seq);
CREATE INDEX IF NOT EXISTS timeline_programme ON {s}.programme_timeline (programme_id, seq);
-- Read API: keyset paging of programmes, credit events per day (query_service).
CREATE INDEX IF NOT EXISTS programmes_created ON {s}.programmes (created_seq);
CREATE INDEX IF NOT EXISTS timeline_type ON {s}.programme_timeline (type, occurred_at);
CREATE INDEX IF NOT EXISTS credit_blocks_frozen
    ON {s}.credit_blocks (programme_id) INCLUDE (range_start, range_end) WHERE state = 'frozen';
"""
    + CREDIT_INDEXES
)

OPS_TABLES = """
CREATE TABLE IF NOT EXISTS {s}.dead_letters (
    projection text NOT NULL,
    position bigint NOT NULL,
    seq bigint NOT NULL,
    event_type text,
    error text NOT NULL,
    body bytea NOT NULL,
    first_failed_at timestamptz NOT NULL,
    last_failed_at timestamptz NOT NULL,
    attempts int NOT NULL,
    resolved_at timestamptz,
    PRIMARY KEY (projection, position)
);
"""

# Tables compared by replay equivalence (everything but the checkpoint's wall-clock time).
MODEL_TABLES: dict[str, str] = {
    "registry_info": "id",
    "organisations": "company_id",
    "users": "user_id",
    "programmes": "programme_id",
    "programme_timeline": "seq",
    "credit_blocks": "block_id",
    "credit_requests": "request_id",
    "certifications": "programme_id, certifier_id",
    "registry_settings": "id",
    "mitigation_actions": "action_id",
    "calculator_constants": "calculator, version",
    "credit_block_history": "block_id, valid_from_seq",
    "event_times": "seq",
    "aef_actions": "seq, ordinal",
}


def live_schema(registry: str) -> str:
    name = "rm_" + re.sub(r"[^a-z0-9_]", "_", registry)
    return name


def index_statements(schema: str) -> list[str]:
    """Each index of the schema as one statement (replay builds them side by side)."""
    text = "\n".join(
        line for line in INDEXES.format(s=schema).splitlines() if not line.lstrip().startswith("--")
    )
    return [" ".join(stmt.split()) for stmt in text.split(";") if stmt.strip()]


# The read models' version, stamped on every schema built. Bump it whenever what the
# projections write changes (a table, a column, an index, how a value is computed): a schema of
# another version is rebuilt by replay before the projector applies anything to it
# (``replay.ensure_current``). ``MODEL_DDL_SHA256`` makes a test fail when the DDL changes
# without a bump.
MODEL_VERSION = 4
MODEL_DDL_SHA256 = "294a6b72df935d9992c1414e8153e3c2bf0ad780bfd0e88473b0a68d3f56e483"
_STAMP = "registry read models, version "


class ReadModelsOutdated(RuntimeError):
    """The schema was built by another read-model version: it must be rebuilt (replay)."""


async def schema_version(conn: asyncpg.Connection, schema: str) -> int | None:
    """The version stamped on ``schema``: None if it does not exist, 0 if it has no stamp
    (built before versions were stamped)."""
    row = await conn.fetchrow(
        "SELECT obj_description(oid, 'pg_namespace') AS stamp FROM pg_namespace WHERE nspname = $1",
        schema,
    )
    if row is None:
        return None
    stamp = row["stamp"] or ""
    return int(stamp[len(_STAMP) :]) if stamp.startswith(_STAMP) else 0


async def create_schema(conn: asyncpg.Connection, schema: str, *, indexes: bool = True) -> None:
    """Create the read-model tables (what is missing of them); a new schema is stamped with
    ``MODEL_VERSION``, an existing one keeps its stamp."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7310002)")
        new = await schema_version(conn, schema) is None
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        if new:
            await conn.execute(f"COMMENT ON SCHEMA {schema} IS '{_STAMP}{MODEL_VERSION}'")
        await conn.execute(TABLES.format(s=schema))
        await conn.execute(COLUMNS.format(s=schema))
        await conn.execute(OPS_TABLES.format(s=schema))
        if indexes:
            await conn.execute(INDEXES.format(s=schema))

"""Read-model tables of the credit domain (appended to ``schema.TABLES``).

Holdings and balances are never stored apart from blocks: they are sums over
``credit_blocks`` at query time, so they cannot drift from the blocks.
"""

from __future__ import annotations

CREDIT_TABLES = """
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS range_start bigint;
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS range_end bigint;
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS credit_issued bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS {s}.credit_blocks (
    block_id text PRIMARY KEY,
    programme_id text NOT NULL,
    serial_no text NOT NULL,
    range_start bigint NOT NULL,
    range_end bigint NOT NULL,
    account text NOT NULL,
    company_id int,
    state text NOT NULL,
    vintage int NOT NULL,
    parent_block_id text,
    request_id int,
    created_seq bigint NOT NULL,
    updated_seq bigint NOT NULL
);
-- Unit numbers are unique country-wide and a block's first unit never changes.
CREATE UNIQUE INDEX IF NOT EXISTS credit_blocks_start ON {s}.credit_blocks (range_start);
CREATE INDEX IF NOT EXISTS credit_blocks_programme
    ON {s}.credit_blocks (programme_id, range_start);
CREATE INDEX IF NOT EXISTS credit_blocks_company
    ON {s}.credit_blocks (company_id, programme_id);
CREATE INDEX IF NOT EXISTS credit_blocks_account ON {s}.credit_blocks (account, programme_id);
CREATE TABLE IF NOT EXISTS {s}.credit_requests (
    request_id int PRIMARY KEY,
    kind text NOT NULL,
    programme_id text NOT NULL,
    from_company_id int NOT NULL,
    from_account text NOT NULL,
    to_company_id int,
    to_account text,
    amount bigint NOT NULL,
    initiator_company_id int NOT NULL,
    initiator_user_id int,
    status text NOT NULL,
    retirement_type text,
    country text,
    organisation_name text,
    omge_percentage numeric,
    omge_units bigint,
    comment text,
    decision_comment text,
    cancel_reason text,
    created_seq bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_seq bigint NOT NULL,
    decided_at timestamptz
);
CREATE INDEX IF NOT EXISTS credit_requests_kind ON {s}.credit_requests (kind, request_id);
CREATE INDEX IF NOT EXISTS credit_requests_from ON {s}.credit_requests (from_company_id);
CREATE INDEX IF NOT EXISTS credit_requests_to ON {s}.credit_requests (to_company_id);
CREATE TABLE IF NOT EXISTS {s}.certifications (
    programme_id text NOT NULL,
    certifier_id int NOT NULL,
    state text NOT NULL,
    certified_seq bigint NOT NULL,
    certified_at timestamptz NOT NULL,
    revoked_seq bigint,
    revoked_at timestamptz,
    revoke_reason text,
    PRIMARY KEY (programme_id, certifier_id)
);
CREATE TABLE IF NOT EXISTS {s}.mitigation_actions (
    action_id text PRIMARY KEY,
    programme_id text NOT NULL,
    type_of_mitigation text NOT NULL,
    user_estimated_credits bigint NOT NULL,
    system_estimated_credits numeric,
    calculator text,
    inputs jsonb NOT NULL,
    constant_version text,
    comment text,
    created_seq bigint NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS mitigation_programme
    ON {s}.mitigation_actions (programme_id, action_id);
CREATE TABLE IF NOT EXISTS {s}.registry_settings (
    id int PRIMARY KEY CHECK (id = 1),
    transfers_frozen boolean NOT NULL,
    omge_percentage numeric NOT NULL,
    updated_seq bigint NOT NULL
);
"""

"""Read-model tables of the credit domain (appended to the parts of ``schema``).

Holdings and balances are never stored apart from blocks: they are sums over
``credit_blocks`` (now) or ``credit_block_history`` (as of a seq) at query time, so they
cannot drift from the blocks.
"""

from __future__ import annotations

CREDIT_TABLES = """
CREATE TABLE IF NOT EXISTS {s}.credit_blocks (
    block_id text NOT NULL,
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
CREATE TABLE IF NOT EXISTS {s}.credit_requests (
    request_id int NOT NULL,
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
CREATE TABLE IF NOT EXISTS {s}.certifications (
    programme_id text NOT NULL,
    certifier_id int NOT NULL,
    state text NOT NULL,
    certified_seq bigint NOT NULL,
    certified_at timestamptz NOT NULL,
    revoked_seq bigint,
    revoked_at timestamptz,
    revoke_reason text
);
CREATE TABLE IF NOT EXISTS {s}.mitigation_actions (
    action_id text NOT NULL,
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
CREATE TABLE IF NOT EXISTS {s}.calculator_constants (
    calculator text NOT NULL,
    version text NOT NULL,
    constants jsonb NOT NULL,
    set_seq bigint NOT NULL,
    set_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.registry_settings (
    id int NOT NULL CHECK (id = 1),
    transfers_frozen boolean NOT NULL,
    omge_percentage numeric NOT NULL,
    updated_seq bigint NOT NULL
);
-- One row per version of a block, valid for valid_from_seq <= seq < valid_to_seq
-- (NULL: the current version). See projections/history.py.
-- Its ids compare bytewise (COLLATE "C": they are ASCII, and its indexes build faster).
CREATE TABLE IF NOT EXISTS {s}.credit_block_history (
    block_id text COLLATE "C" NOT NULL,
    valid_from_seq bigint NOT NULL,
    valid_to_seq bigint,
    programme_id text COLLATE "C" NOT NULL,
    serial_no text NOT NULL,
    range_start bigint NOT NULL,
    range_end bigint NOT NULL,
    account text COLLATE "C" NOT NULL,
    company_id int,
    state text NOT NULL,
    vintage int NOT NULL
);
-- The events that moved the log's clock forward: time -> seq.
CREATE TABLE IF NOT EXISTS {s}.event_times (
    seq bigint NOT NULL,
    occurred_at timestamptz NOT NULL
);
-- Article 6.2 AEF actions, one row per block movement (projections/aef.py).
CREATE TABLE IF NOT EXISTS {s}.aef_actions (
    seq bigint NOT NULL,
    ordinal int NOT NULL,
    programme_id text NOT NULL,
    action_type text NOT NULL,
    first_transfer boolean NOT NULL,
    first_unit bigint NOT NULL,
    last_unit bigint NOT NULL,
    first_unit_id text NOT NULL,
    last_unit_id text NOT NULL,
    amount bigint NOT NULL,
    vintage int NOT NULL,
    sector text NOT NULL,
    sectoral_scope text NOT NULL,
    authorisation_id text,
    authorised_at timestamptz,
    action_at timestamptz NOT NULL,
    from_account text,
    to_account text NOT NULL,
    to_company_id int,
    request_id int,
    retirement_type text,
    acquiring_party text
);
"""

CREDIT_COLUMNS = """
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS range_start bigint;
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS range_end bigint;
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS credit_issued bigint NOT NULL DEFAULT 0;
-- Running totals of approved transfers and recognised retirements (registry-wide statistics
-- read these instead of aggregating every request).
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS credit_transferred bigint NOT NULL DEFAULT 0;
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS credit_retired bigint NOT NULL DEFAULT 0;
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS authorised_seq bigint;
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS authorised_at timestamptz;
ALTER TABLE {s}.programmes ADD COLUMN IF NOT EXISTS authorisation_id text;
"""

CREDIT_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS credit_blocks_pkey ON {s}.credit_blocks (block_id);
-- Unit numbers are unique country-wide and a block's first unit never changes.
CREATE UNIQUE INDEX IF NOT EXISTS credit_blocks_start ON {s}.credit_blocks (range_start);
CREATE INDEX IF NOT EXISTS credit_blocks_programme
    ON {s}.credit_blocks (programme_id, range_start);
-- Covering: an organisation's balances (my-credits, holdings totals) by index-only scans.
CREATE INDEX IF NOT EXISTS credit_blocks_company
    ON {s}.credit_blocks (company_id, programme_id)
    INCLUDE (account, state, range_start, range_end);
CREATE INDEX IF NOT EXISTS credit_blocks_account ON {s}.credit_blocks (account, programme_id);
CREATE UNIQUE INDEX IF NOT EXISTS credit_requests_pkey ON {s}.credit_requests (request_id);
CREATE INDEX IF NOT EXISTS credit_requests_kind ON {s}.credit_requests (kind, request_id);
-- Covering: what an organisation sent, received and retired, by index-only scans.
CREATE INDEX IF NOT EXISTS credit_requests_from
    ON {s}.credit_requests (from_company_id, kind, status) INCLUDE (amount);
CREATE INDEX IF NOT EXISTS credit_requests_to
    ON {s}.credit_requests (to_company_id, kind, status) INCLUDE (amount);
CREATE UNIQUE INDEX IF NOT EXISTS certifications_pkey
    ON {s}.certifications (programme_id, certifier_id);
CREATE UNIQUE INDEX IF NOT EXISTS mitigation_actions_pkey ON {s}.mitigation_actions (action_id);
CREATE UNIQUE INDEX IF NOT EXISTS calculator_constants_pkey
    ON {s}.calculator_constants (calculator, version);
CREATE INDEX IF NOT EXISTS mitigation_programme
    ON {s}.mitigation_actions (programme_id, action_id);
CREATE UNIQUE INDEX IF NOT EXISTS registry_settings_pkey ON {s}.registry_settings (id);
CREATE UNIQUE INDEX IF NOT EXISTS credit_block_history_pkey
    ON {s}.credit_block_history (block_id, valid_from_seq);
-- Holdings as of a seq; the Government's accounts (its company id) and the retired units
-- (no company) as of a seq.
CREATE INDEX IF NOT EXISTS history_company
    ON {s}.credit_block_history (company_id, valid_from_seq);
CREATE INDEX IF NOT EXISTS history_programme
    ON {s}.credit_block_history (programme_id, range_start);
-- Frozen units as of a seq (frozen versions are few: only while a holder is suspended).
CREATE INDEX IF NOT EXISTS history_frozen
    ON {s}.credit_block_history (programme_id) WHERE state = 'frozen';
CREATE UNIQUE INDEX IF NOT EXISTS event_times_pkey ON {s}.event_times (seq);
CREATE INDEX IF NOT EXISTS event_times_at ON {s}.event_times (occurred_at);
CREATE UNIQUE INDEX IF NOT EXISTS aef_actions_pkey ON {s}.aef_actions (seq, ordinal);
CREATE INDEX IF NOT EXISTS aef_actions_at ON {s}.aef_actions (action_at);
-- Issued and retired totals as of a seq (time travel statistics).
CREATE INDEX IF NOT EXISTS aef_actions_type ON {s}.aef_actions (action_type, seq);
"""

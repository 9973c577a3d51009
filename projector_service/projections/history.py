"""Time travel: versions of every credit block, and the clock of the log.

``credit_block_history`` keeps one row per version of a block: a version is valid for the
seqs ``valid_from_seq <= seq < valid_to_seq`` (``valid_to_seq`` NULL: still current). Every
event that changes blocks closes their current versions and opens new ones holding the
blocks' state after the event (so two changes of one block in one event make one version).
Holdings, balances, block owners and credit statistics as of any seq are sums over the
versions valid at that seq.

``event_times`` maps wall-clock time to seqs. It keeps only the events that moved the
log's clock forward (the running maximum of ``occurred_at``): the state "as of time T" is
the state just before the first event whose time (or any earlier event's) is after T, so
one ordered index lookup answers it even if a clock ever stepped back.
"""

from __future__ import annotations

from projector_service.projections.view import EventView
from projector_service.projections.writes import Write

HISTORY_COLUMNS = (
    "programme_id, serial_no, range_start, range_end, account, company_id, state, vintage"
)
CLOSE_VERSIONS = (
    "UPDATE {s}.credit_block_history SET valid_to_seq = $2"
    " WHERE block_id = ANY($1::text[]) AND valid_to_seq IS NULL"
)
OPEN_VERSIONS = (
    "INSERT INTO {s}.credit_block_history (block_id, valid_from_seq, valid_to_seq, "
    + HISTORY_COLUMNS
    + ") SELECT block_id, $2::bigint, NULL, "
    + HISTORY_COLUMNS
    + " FROM {s}.credit_blocks WHERE block_id = ANY($1::text[])"
)
EVENT_TIME = (
    "INSERT INTO {s}.event_times (seq, occurred_at) SELECT $1::bigint, $2::timestamptz"
    " WHERE NOT EXISTS (SELECT 1 FROM {s}.event_times WHERE occurred_at >= $2)"
)


def open_versions(env: EventView, block_ids: list[str]) -> Write:
    """First versions of new blocks (nothing to close)."""
    return Write(OPEN_VERSIONS, (block_ids, env.seq))


def new_versions(env: EventView, block_ids: list[str]) -> list[Write]:
    """Close the current versions of these blocks and open their versions after ``env``."""
    return [Write(CLOSE_VERSIONS, (block_ids, env.seq)), Write(OPEN_VERSIONS, (block_ids, env.seq))]


def event_time(env: EventView) -> Write:
    return Write(EVENT_TIME, (env.seq, env.occurred_at))

"""Dead letters: the event a projector could not apply, kept where the operator looks.

The projector never skips an event (every later balance would be wrong, ARCHITECTURE.md).
When one cannot be applied (bytes that do not read, a broken chain, an event type this build
does not know, a write the read models refuse) the projector applies every good event before
it, records it here with the error and its bytes, and halts: it stays up, says so on
``/ready`` and in ``registry_projector_halted``, keeps serving what it has applied, and tries
that event again with a growing delay. It does not exit, so a supervisor that restarts
exited processes does not loop on it. A build that can apply the event (the usual case: a
newer processor wrote a type this projector does not know yet) or a repaired database lets
it go on, and the row is marked resolved. ``registry dead-letters`` lists them; the read API
answers ``read.halted`` to a caller waiting for a seq past the halt.

One row per event (projection, position): ``attempts`` counts the tries, ``seq`` is the seq
the projector expected there (the one after its checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from libs.eventlog.ports import RawRecord

# Errors are kept whole up to this many characters (a validation error can list many fields).
ERROR_MAX_CHARS = 4_000


@dataclass(frozen=True)
class DeadLetter:
    position: int
    seq: int
    event_type: str | None
    error: str
    first_failed_at: datetime
    last_failed_at: datetime
    attempts: int
    resolved_at: datetime | None


def event_type_of(raw: bytes) -> str | None:
    """The event's ``type`` if its bytes read as an object with a string type, else None."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    kind = body.get("type") if isinstance(body, dict) else None
    return kind if isinstance(kind, str) else None


async def record(
    conn: asyncpg.Connection,
    schema: str,
    projection: str,
    event: RawRecord,
    seq: int,
    error: str,
) -> int:
    """Record (or count again) the event at ``event.position``; returns its attempts."""
    attempts: int = await conn.fetchval(
        f"INSERT INTO {schema}.dead_letters (projection, position, seq, event_type, error, body,"
        " first_failed_at, last_failed_at, attempts) VALUES ($1, $2, $3, $4, $5, $6, now(),"
        " now(), 1) ON CONFLICT (projection, position) DO UPDATE SET error = EXCLUDED.error,"
        " last_failed_at = now(), attempts = dead_letters.attempts + 1, resolved_at = NULL"
        " RETURNING attempts",
        projection,
        event.position,
        seq,
        event_type_of(event.raw),
        error[:ERROR_MAX_CHARS],
        event.raw,
    )
    return attempts


async def resolve(
    conn: asyncpg.Connection, schema: str, projection: str, next_position: int
) -> int:
    """Mark resolved the dead letters the projector has now applied; returns how many."""
    done: str = await conn.execute(
        f"UPDATE {schema}.dead_letters SET resolved_at = now() WHERE projection = $1"
        " AND resolved_at IS NULL AND position < $2",
        projection,
        next_position,
    )
    return int(done.split()[-1])


async def listed(
    conn: asyncpg.Connection, schema: str, *, unresolved_only: bool = False
) -> list[DeadLetter]:
    """The schema's dead letters, newest first."""
    rows = await conn.fetch(
        "SELECT position, seq, event_type, error, first_failed_at, last_failed_at, attempts,"
        f" resolved_at FROM {schema}.dead_letters"
        + (" WHERE resolved_at IS NULL" if unresolved_only else "")
        + " ORDER BY first_failed_at DESC, position DESC"
    )
    return [DeadLetter(**dict(r)) for r in rows]

"""Programmes and their timeline (every event of a programme, with its actor)."""

from __future__ import annotations

from decimal import Decimal

import orjson

from projector_service.projections.view import EventView, JsonDict
from projector_service.projections.writes import Write

INSERT_PROGRAMME = (
    "INSERT INTO {s}.programmes (programme_id, title, external_id, sector, sectoral_scope,"
    " country_code, stage, start_time, end_time, credit_est, credit_unit, proponent_company_ids,"
    " proponent_percentages, environmental_assessment_registration_no, properties, created_seq,"
    " created_at, updated_seq)"
    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15::jsonb,$16,$17,$16)"
)
# The payload is stored as ``json`` (the event's exact JSON text): it is only ever shown,
# and ``json`` costs a third of ``jsonb`` to write, which matters to replay.
INSERT_TIMELINE = (
    "INSERT INTO {s}.programme_timeline (seq, programme_id, type, actor_user_id, occurred_at,"
    " payload) VALUES ($1, $2, $3, $4, $5, $6::json)"
)


def timeline(env: EventView, programme_id: str) -> Write:
    return Write(
        INSERT_TIMELINE,
        (
            env.seq,
            programme_id,
            env.type,
            env.actor_user_id,
            env.occurred_at,
            orjson.dumps(env.payload).decode(),
        ),
    )


def programme_created(env: EventView, e: JsonDict) -> list[Write]:
    return [
        Write(
            INSERT_PROGRAMME,
            (
                e["programme_id"],
                e["title"],
                e["external_id"],
                e["sector"],
                e["sectoral_scope"],
                e["country_code"],
                e["stage"],
                e["start_time"],
                e["end_time"],
                e["credit_est"],
                e["credit_unit"],
                list(e["proponent_company_ids"]),
                [Decimal(p) for p in e["proponent_percentages"]],
                e["environmental_assessment_registration_no"],
                orjson.dumps(e["properties"]).decode(),
                env.seq,
                env.occurred_at,
            ),
        ),
        timeline(env, e["programme_id"]),
    ]

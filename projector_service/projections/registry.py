"""Registry setup and organisations/users into their tables."""

from __future__ import annotations

from projector_service.projections.view import EventView, JsonDict
from projector_service.projections.writes import Write

INSERT_REGISTRY = (
    "INSERT INTO {s}.registry_info (id, country_code, country_name, credit_unit,"
    " government_company_id, root_user_id, initialised_seq, initialised_at)"
    " VALUES (1, $1, $2, $3, $4, $5, $6, $7)"
)
INSERT_ORG = (
    "INSERT INTO {s}.organisations (company_id, name, role, state, tax_id, payment_id, email,"
    " phone, website, address, country_code, sectoral_scopes, minister_name, created_seq,"
    " created_at, updated_seq) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$14)"
)
INSERT_USER = (
    "INSERT INTO {s}.users (user_id, company_id, email, name, role, phone, pending, created_seq,"
    " created_at, updated_seq) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$8)"
)


def registry_initialised(env: EventView, e: JsonDict) -> list[Write]:
    return [
        Write(
            INSERT_REGISTRY,
            (
                e["country_code"],
                e["country_name"],
                e["credit_unit"],
                e["government_company_id"],
                e["root_user_id"],
                env.seq,
                env.occurred_at,
            ),
        )
    ]


def organisation_registered(env: EventView, e: JsonDict) -> list[Write]:
    return [
        Write(
            INSERT_ORG,
            (
                e["company_id"],
                e["name"],
                e["role"],
                e["state"],
                e["tax_id"],
                e["payment_id"],
                e["email"],
                e["phone"],
                e["website"],
                e["address"],
                e["country_code"],
                list(e["sectoral_scopes"]),
                e["minister_name"],
                env.seq,
                env.occurred_at,
            ),
        )
    ]


def user_created(env: EventView, e: JsonDict) -> list[Write]:
    return [
        Write(
            INSERT_USER,
            (
                e["user_id"],
                e["company_id"],
                e["email"],
                e["name"],
                e["role"],
                e["phone"],
                e["pending"],
                env.seq,
                env.occurred_at,
            ),
        )
    ]

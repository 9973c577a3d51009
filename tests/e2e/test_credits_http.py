"""The credit domain over HTTP (issue #4): authorise and issue, transfers, the insufficient
balance refusal, a developer's retirement recognised by the Government, the freeze on
suspension, who holds unit N, and the credit read models rebuilt equal by replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from e2e_helpers import (
    E2E,
    Developer,
    assert_problem,
    bearer,
    developer_body,
    programme_body,
    register_developer,
    root_token,
)

from libs.eventlog.pg_log import PgEventSource
from projector_service.replay import rebuild
from projector_service.schema import MODEL_TABLES, live_schema


@dataclass
class Scene:
    reg: E2E
    root: str
    dev1: Developer
    dev2: Developer
    pid: str
    seq: int

    @property
    def client(self) -> httpx.AsyncClient:
        return self.reg.client

    async def post(
        self, path: str, token: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        r = await self.client.post(path, json=body, headers=bearer(token))
        if r.status_code in (200, 201):
            self.seq = max(self.seq, int(r.json()["seq"] or 0))
        return r

    async def ok(self, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await self.post(path, token, body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        assert out["status"] == "accepted"
        return out

    async def get(self, path: str, token: str, **params: Any) -> Any:
        """A read that reflects every command this scene sent (read-your-writes)."""
        r = await self.client.get(
            path, params={"min_seq": self.seq, **params}, headers=bearer(token)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["seq"] >= self.seq
        return body["data"]


async def authorised_scene(registry: E2E, issue: int = 300, credit_est: int = 1000) -> Scene:
    """Two developers; the first proposes a programme the Government approves, authorises
    and issues ``issue`` credits of."""
    root = await root_token(registry)
    dev1 = await register_developer(registry, root)
    dev2 = await register_developer(registry, root)
    scene = Scene(registry, root, dev1, dev2, "", dev2.seq)
    created = await scene.ok(
        "/v1/programmes", dev1.token, programme_body(dev1.tax_id, credit_est=credit_est)
    )
    scene.pid = created["aggregate_id"].removeprefix("programme-")
    await scene.ok(f"/v1/programmes/{scene.pid}/approve", root, {"comment": "methodology ok"})
    out = await scene.ok(f"/v1/programmes/{scene.pid}/authorise", root, {"issue_amount": issue})
    assert out["first_seq"] < out["seq"]  # ProgrammeAuthorised, then CreditsIssued
    return scene


async def test_authorise_and_issue_then_read_the_blocks(registry: E2E) -> None:
    s = await authorised_scene(registry, issue=300)
    serial = f"KE-ITMO-1-{s.pid}-2024-0-1-1000"
    prog = await s.get(f"/v1/programmes/{s.pid}", s.root)
    assert prog["stage"] == "Authorised"
    assert prog["serial_no"] == serial
    assert (prog["range_start"], prog["range_end"], prog["credit_issued"]) == (1, 1000, 300)

    await s.ok(f"/v1/programmes/{s.pid}/issue", s.root, {"amount": 200, "vintage": 2024})
    blocks = await s.get(f"/v1/programmes/{s.pid}/blocks", s.dev1.token)
    assert [(b["range_start"], b["range_end"], b["size"]) for b in blocks] == [
        (1, 300, 300),
        (301, 500, 200),
    ]
    first = blocks[0]
    assert first["serial_no"] == f"KE-ITMO-1-{s.pid}-2024-0-1-300"
    assert first["account"] == f"company:{s.dev1.company_id}"
    assert first["company_id"] == s.dev1.company_id
    assert first["state"] == "active"
    assert first["vintage"] >= 2024
    assert blocks[1]["vintage"] == 2024

    holdings = await s.get("/v1/holdings", s.dev1.token)
    assert holdings["company_id"] == s.dev1.company_id
    assert (holdings["total"], holdings["available"], holdings["frozen"]) == (500, 500, 0)
    [h] = holdings["holdings"]
    assert (h["programme_id"], h["serial_no"], h["blocks"]) == (s.pid, serial, 2)

    country = await s.get("/v1/country-accounts", s.root)
    assert (country["serial_counter"], country["issued"], country["retired"]) == (1000, 500, 0)

    # Issuing beyond the estimate is refused with the numbers that matter.
    r = await s.post(f"/v1/programmes/{s.pid}/issue", s.root, {"amount": 501})
    body = assert_problem(r, 409, "programme.issue_exceeds_estimate")
    assert body["details"]["remaining"] == 500
    # A developer may not issue; a body with unknown fields is refused.
    assert_problem(await s.post(f"/v1/programmes/{s.pid}/issue", s.dev1.token), 403)
    r = await s.post(f"/v1/programmes/{s.pid}/issue", s.root, {"amount": 1, "owner": "me"})
    assert_problem(r, 422, "request.invalid")
    timeline = await s.get(f"/v1/programmes/{s.pid}/timeline", s.root)
    assert [e["type"] for e in timeline] == [
        "ProgrammeCreated",
        "ProgrammeApproved",
        "ProgrammeAuthorised",
        "CreditsIssued",
        "CreditsIssued",
    ]


async def test_transfers_and_the_insufficient_balance_refusal(registry: E2E) -> None:
    s = await authorised_scene(registry, issue=300)
    d1, d2 = s.dev1, s.dev2
    # The sender's own transfer executes at once; the high end of the block moves.
    out = await s.ok(
        "/v1/transfers",
        d1.token,
        {"programme_id": s.pid, "to_company_id": d2.company_id, "amount": 100},
    )
    first_id = out["request_id"]
    transfer = await s.get(f"/v1/transfers/{first_id}", d2.token)
    assert (transfer["status"], transfer["amount"]) == ("Approved", 100)
    blocks = await s.get("/v1/blocks", s.root, programme_id=s.pid)
    assert [(b["range_start"], b["range_end"], b["company_id"]) for b in blocks] == [
        (1, 200, d1.company_id),
        (201, 300, d2.company_id),
    ]
    assert blocks[1]["parent_block_id"] == blocks[0]["block_id"]
    # A developer sees its own blocks only (the Government sees all).
    own = await s.get("/v1/blocks", d2.token, programme_id=s.pid)
    assert [b["block_id"] for b in own] == [blocks[1]["block_id"]]

    # Received credits cannot leave beyond what is available: 409 with the available amount.
    r = await s.post(
        "/v1/transfers",
        d2.token,
        {"programme_id": s.pid, "to_company_id": d1.company_id, "amount": 101},
    )
    body = assert_problem(r, 409, "credits.insufficient_balance")
    assert body["details"]["available"] == 100
    assert body["details"]["requested"] == 101
    assert "100" in body["title"]

    # The receiver asks, the sender approves.
    out = await s.ok(
        "/v1/transfers",
        d2.token,
        {
            "programme_id": s.pid,
            "from_company_id": d1.company_id,
            "to_company_id": d2.company_id,
            "amount": 50,
        },
    )
    pending_id = out["request_id"]
    listed = await s.get("/v1/transfers", d1.token, status="Pending")
    assert [t["request_id"] for t in listed] == [pending_id]
    r = await s.post(f"/v1/transfers/{pending_id}/approve", d2.token)
    assert_problem(r, 403, "transfer.not_sender")
    await s.ok(f"/v1/transfers/{pending_id}/approve", d1.token, {"comment": "agreed"})
    r = await s.post(f"/v1/transfers/{pending_id}/approve", d1.token)
    assert_problem(r, 409, "transfer.not_pending")
    h1 = await s.get("/v1/holdings", d1.token)
    h2 = await s.get("/v1/holdings", d2.token)
    assert (h1["total"], h2["total"]) == (150, 150)
    # Developers see only their own holdings; the Government sees anyone's.
    r = await s.client.get(
        "/v1/holdings", params={"company_id": d1.company_id}, headers=bearer(d2.token)
    )
    assert_problem(r, 403, "holdings.forbidden")
    assert (await s.get("/v1/holdings", s.root, company_id=d2.company_id))["total"] == 150

    # The registry-wide freeze stops movement.
    r = await s.client.put(
        "/v1/settings/transfer-freeze", json={"frozen": True}, headers=bearer(s.root)
    )
    assert r.status_code == 201, r.text
    s.seq = r.json()["seq"]
    assert (await s.get("/v1/settings", d1.token))["transfers_frozen"] is True
    r = await s.post(
        "/v1/transfers",
        d1.token,
        {"programme_id": s.pid, "to_company_id": d2.company_id, "amount": 1},
    )
    assert_problem(r, 409, "credits.transfers_frozen")


async def test_developer_retirement_waits_for_recognition(registry: E2E) -> None:
    s = await authorised_scene(registry, issue=300)
    r = await s.client.put(
        "/v1/settings/omge-percentage", json={"percentage": "10"}, headers=bearer(s.root)
    )
    assert r.status_code == 201, r.text
    s.seq = r.json()["seq"]
    retirement = {
        "programme_id": s.pid,
        "retirement_type": "cross_border",
        "amount": 50,
        "country": "FR",
        "organisation_name": "Acheteur SA",
    }
    out = await s.ok("/v1/retirements", s.dev1.token, retirement)
    rid = out["request_id"]
    pending = await s.get(f"/v1/retirements/{rid}", s.dev1.token)
    assert (pending["status"], pending["omge_percentage"]) == ("Pending", "10")
    assert (await s.get("/v1/holdings", s.dev1.token))["total"] == 300  # nothing moved yet

    # Legal-action retirements are the Government's.
    r = await s.post(
        "/v1/retirements",
        s.dev1.token,
        {"programme_id": s.pid, "retirement_type": "legal_action"},
    )
    assert_problem(r, 403, "retirement.developer_cross_border_only")
    assert_problem(await s.post(f"/v1/retirements/{rid}/recognise", s.dev1.token), 403)

    await s.ok(f"/v1/retirements/{rid}/recognise", s.root, {"comment": "corresponding adj."})
    done = await s.get(f"/v1/retirements/{rid}", s.dev1.token)
    assert (done["status"], done["omge_units"]) == ("Recognised", 5)
    country = await s.get("/v1/country-accounts", s.root)
    omge = next(a for a in country["accounts"] if a["account"] == "gov:omge")
    assert (omge["total"], country["retired"]) == (5, 45)
    retired = await s.get("/v1/blocks", s.root, programme_id=s.pid, state="retired")
    assert sum(b["size"] for b in retired) == 50
    assert all(b["request_id"] == rid for b in retired)
    assert (await s.get("/v1/holdings", s.dev1.token))["total"] == 250
    r = await s.post(f"/v1/retirements/{rid}/cancel", s.dev1.token)
    assert_problem(r, 409, "retirement.not_pending")


async def test_suspension_freezes_credits_and_activation_unfreezes(registry: E2E) -> None:
    s = await authorised_scene(registry, issue=300)
    d1 = s.dev1
    # A pending request from d1 is cancelled by the suspension.
    out = await s.ok(
        "/v1/transfers",
        s.root,
        {
            "programme_id": s.pid,
            "from_company_id": d1.company_id,
            "to_company_id": s.dev2.company_id,
            "amount": 10,
        },
    )
    await s.ok(f"/v1/organisations/{d1.company_id}/suspend", s.root, {"remarks": "audit"})
    org = await s.get(f"/v1/organisations/{d1.company_id}", s.root)
    assert org["state"] == "Suspended"
    holdings = await s.get("/v1/holdings", s.root, company_id=d1.company_id)
    assert (holdings["total"], holdings["available"], holdings["frozen"]) == (300, 0, 300)
    blocks = await s.get(f"/v1/programmes/{s.pid}/blocks", s.root)
    assert {b["state"] for b in blocks} == {"frozen"}
    cancelled = await s.get(f"/v1/transfers/{out['request_id']}", s.root)
    assert (cancelled["status"], cancelled["cancel_reason"]) == (
        "Cancelled",
        "organisation_suspended",
    )

    # Its credits cannot move, by anyone; its users cannot act.
    r = await s.post(
        "/v1/retirements",
        s.root,
        {"programme_id": s.pid, "retirement_type": "other", "from_company_id": d1.company_id},
    )
    assert_problem(r, 409, "credits.holder_suspended")
    r = await s.post(
        "/v1/transfers",
        d1.token,
        {"programme_id": s.pid, "to_company_id": s.dev2.company_id, "amount": 1},
    )
    assert_problem(r, 403, "organisation.not_active")
    # Issuance to a suspended holder arrives frozen.
    await s.ok(f"/v1/programmes/{s.pid}/issue", s.root, {"amount": 20})
    assert (await s.get("/v1/holdings", s.root, company_id=d1.company_id))["frozen"] == 320

    await s.ok(f"/v1/organisations/{d1.company_id}/activate", s.root)
    holdings = await s.get("/v1/holdings", d1.token)
    assert (holdings["available"], holdings["frozen"]) == (320, 0)
    r = await s.post(f"/v1/organisations/{d1.company_id}/activate", s.root)
    assert_problem(r, 409, "organisation.not_suspended")
    gov_id = (await s.get("/v1/registry", s.root))["government_company_id"]
    r = await s.post(f"/v1/organisations/{gov_id}/suspend", s.root)
    assert_problem(r, 403, "organisation.cannot_suspend_government")


async def test_who_holds_unit_n(registry: E2E) -> None:
    s = await authorised_scene(registry, issue=300)
    await s.ok(
        "/v1/transfers",
        s.dev1.token,
        {"programme_id": s.pid, "to_company_id": s.dev2.company_id, "amount": 40},
    )
    await s.ok(
        "/v1/retirements",
        s.root,
        {
            "programme_id": s.pid,
            "retirement_type": "cross_border",
            "from_company_id": s.dev2.company_id,
            "amount": 10,
            "country": "DE",
        },
    )

    async def holder_of(unit: int, token: str = s.root) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await s.get("/v1/blocks", token, programme_id=s.pid, unit=unit)
        return rows

    [b] = await holder_of(250)
    assert (b["company_id"], b["state"]) == (s.dev1.company_id, "active")
    assert b["range_start"] <= 250 <= b["range_end"]
    [b] = await holder_of(265)
    assert (b["company_id"], b["range_start"], b["range_end"]) == (s.dev2.company_id, 261, 290)
    assert b["serial_no"] == f"KE-ITMO-1-{s.pid}-2024-0-261-290"
    [b] = await holder_of(300)
    assert (b["account"], b["state"], b["company_id"]) == ("retired", "retired", None)
    assert await holder_of(301) == []  # reserved, not issued
    # A developer learns who holds a unit only if it is its own or retired.
    assert await holder_of(265, s.dev1.token) == []
    assert [b["state"] for b in await holder_of(300, s.dev1.token)] == ["retired"]
    assert len(await holder_of(250, s.dev1.token)) == 1
    r = await s.client.get("/v1/blocks", params={"unit": 0}, headers=bearer(s.root))
    assert_problem(r, 422, "request.invalid")


async def test_credit_read_models_rebuild_equal_by_replay(registry: E2E) -> None:
    s = await authorised_scene(registry, issue=300)
    await s.ok(
        "/v1/transfers",
        s.dev1.token,
        {"programme_id": s.pid, "to_company_id": s.dev2.company_id, "amount": 70},
    )
    out = await s.ok(
        "/v1/retirements",
        s.dev2.token,
        {"programme_id": s.pid, "retirement_type": "cross_border", "amount": 5, "country": "FR"},
    )
    await s.ok(f"/v1/retirements/{out['request_id']}/recognise", s.root)
    await s.ok(
        f"/v1/programmes/{s.pid}/mitigation-actions",
        s.dev1.token,
        {
            "type_of_mitigation": "Solar",
            "user_estimated_credits": 500,
            "solar": {
                "energy_generation": "105",
                "energy_generation_unit": "kWh/year/unit",
                "building_type": "Household",
            },
        },
    )
    await s.ok(f"/v1/organisations/{s.dev1.company_id}/suspend", s.root)
    [action] = await s.get(f"/v1/programmes/{s.pid}/mitigation-actions", s.root)
    assert (action["action_id"], action["system_estimated_credits"]) == (f"{s.pid}-M-001", "0.44")
    assert action["inputs"]["building_type"] == "Household"

    registry_id = registry.settings.registry
    source = PgEventSource(registry.dsn, registry_id)
    try:
        oracle, _, _ = await rebuild(registry.dsn, source, f"oracle_{registry_id}", switch=False)
    finally:
        await source.close()
    conn = await asyncpg.connect(registry.dsn)
    try:
        for table, key in MODEL_TABLES.items():
            digests = []
            for schema in (live_schema(registry_id), oracle):
                digests.append(
                    await conn.fetchval(
                        f"SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|'"
                        f" ORDER BY {key}), '')) FROM {schema}.{table} t"
                    )
                )
            assert digests[0] == digests[1], table
        assert await conn.fetchval(f"SELECT count(*) FROM {oracle}.credit_blocks") == 3
    finally:
        await conn.close()


async def test_certify_and_revoke(registry: E2E) -> None:
    s = await authorised_scene(registry, issue=10)
    certifier = await register_developer(registry, s.root, developer_body(role="Certifier"))
    await s.ok(f"/v1/programmes/{s.pid}/certify", certifier.token)
    r = await s.post(f"/v1/programmes/{s.pid}/certify", certifier.token)
    assert_problem(r, 409, "certification.already_certified")
    assert_problem(await s.post(f"/v1/programmes/{s.pid}/certify", s.dev1.token), 403)
    [c] = await s.get(f"/v1/programmes/{s.pid}/certifications", s.dev1.token)
    assert (c["certifier_id"], c["state"]) == (certifier.company_id, "certified")
    r = await s.post(f"/v1/programmes/{s.pid}/revoke", s.root)
    assert_problem(r, 422, "certification.certifier_required")
    await s.ok(f"/v1/programmes/{s.pid}/revoke", s.root, {"certifier_id": certifier.company_id})
    [c] = await s.get(f"/v1/programmes/{s.pid}/certifications", s.dev1.token)
    assert (c["state"], c["revoke_reason"]) == ("revoked", "by_user")
    # Certified again, then the certifier is suspended: the registry revokes it.
    await s.ok(f"/v1/programmes/{s.pid}/certify", certifier.token)
    await s.ok(f"/v1/organisations/{certifier.company_id}/suspend", s.root)
    [c] = await s.get(f"/v1/programmes/{s.pid}/certifications", s.root)
    assert (c["state"], c["revoke_reason"]) == ("revoked", "organisation_suspended")

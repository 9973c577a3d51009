"""A registry with known contents for the query tests (issue #5), built over HTTP.

No tests here: ``build_scene`` is shared by the ``test_queries_*`` modules. The numbers the
tests expect are computed by hand from this table (OMGE 10 %):

| P  | proponents       | sector      | stage                 | est  | issued | locations       |
|----|------------------|-------------|-----------------------|------|--------|-----------------|
| P1 | dev1             | Energy      | Authorised            | 1000 | 300    | Lagos, Kano     |
| P2 | dev2             | Forestry    | Authorised            | 500  | 200    | Lagos           |
| P3 | dev2             | Transport   | AwaitingAuthorization | 800  | 0      | Atlantis        |
| P4 | dev2             | Energy      | Approved              | 400  | 0      | " abia "        |
| P5 | dev1 60, dev2 40 | Waste       | Authorised            | 1000 | 500    | Kano            |
| P6 | dev3             | Agriculture | Authorised            | 100  | 100    | Nowhere         |

Movements: P1 dev1 -> dev2 100 (executed); dev2 asks dev1 for 50 of P1 (pending); dev1
retires 40 of P1 cross-border to FR, recognised (OMGE 4); the Government retires 30 of
dev2's P2 cross-border to DE (executed, OMGE 3); dev2 asks to retire 20 of P2 to FR
(pending); dev3 is suspended (P6's 100 frozen). The certifier certifies P1, P2 and P5; the
Government revokes P2's certification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from e2e_helpers import (
    E2E,
    Developer,
    bearer,
    developer_body,
    programme_body,
    register_developer,
    root_token,
)

PROGRAMMES: dict[str, dict[str, Any]] = {
    "P1": {
        "title": "Lagos Solar Grid",
        "sector": "Energy",
        "sectoral_scope": "1",
        "credit_est": 1000,
        "locations": ["Lagos", "Kano"],
    },
    "P2": {
        "title": "Mangrove Restoration",
        "sector": "Forestry",
        "sectoral_scope": "14",
        "credit_est": 500,
        "locations": ["Lagos"],
    },
    "P3": {
        "title": "Electric Buses",
        "sector": "Transport",
        "sectoral_scope": "7",
        "credit_est": 800,
        "locations": ["Atlantis"],
    },
    "P4": {
        "title": "Solar Rooftops Abia",
        "sector": "Energy",
        "sectoral_scope": "3",
        "credit_est": 400,
        "locations": [" abia "],
    },
    "P5": {
        "title": "Landfill Gas Capture",
        "sector": "Waste",
        "sectoral_scope": "13",
        "credit_est": 1000,
        "locations": ["Kano"],
    },
    "P6": {
        "title": "Rice Paddies",
        "sector": "Agriculture",
        "sectoral_scope": "15",
        "credit_est": 100,
        "locations": ["Nowhere"],
    },
}


@dataclass
class Scene:
    reg: E2E
    root: str
    dev1: Developer
    dev2: Developer
    dev3: Developer
    cert: Developer
    gov_id: int = 0
    seq: int = 0
    pid: dict[str, str] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.reg.client

    def name_of(self, programme_id: str) -> str:
        return next(k for k, v in self.pid.items() if v == programme_id)

    async def ok(self, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await self.client.post(path, json=body, headers=bearer(token))
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        assert out["status"] == "accepted", out
        self.seq = max(self.seq, int(out["seq"] or 0))
        return out

    async def call(
        self, method: str, path: str, token: str | None, **kwargs: Any
    ) -> httpx.Response:
        params = {"min_seq": self.seq, **kwargs.pop("params", {})}
        headers = bearer(token) if token else {}
        return await self.client.request(method, path, params=params, headers=headers, **kwargs)

    async def body(self, method: str, path: str, token: str | None, **kwargs: Any) -> Any:
        r = await self.call(method, path, token, **kwargs)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["seq"] >= self.seq
        assert int(r.headers["X-Registry-Seq"]) == out["seq"]
        return out

    async def data(self, path: str, token: str | None, **params: Any) -> Any:
        return (await self.body("GET", path, token, params=params))["data"]

    async def names(self, path: str, token: str | None, **params: Any) -> list[str]:
        """The scene names (P1..P6) of the programmes a list answers, in order."""
        rows = await self.data(path, token, limit=200, **params)
        return [
            self.name_of(r["programme_id"]) for r in rows if r["programme_id"] in self.pid.values()
        ]

    async def query(self, path: str, token: str | None, body: dict[str, Any]) -> Any:
        return await self.body("POST", path, token, json=body)


async def _programme(s: Scene, name: str, owner: Developer, **extra: Any) -> str:
    spec = PROGRAMMES[name]
    body = programme_body(
        owner.tax_id,
        title=spec["title"],
        sector=spec["sector"],
        sectoral_scope=spec["sectoral_scope"],
        credit_est=spec["credit_est"],
        **extra,
    )
    body["properties"]["geographical_location"] = spec["locations"]
    out = await s.ok("/v1/programmes", owner.token, body)
    s.pid[name] = out["aggregate_id"].removeprefix("programme-")
    return s.pid[name]


async def build_scene(reg: E2E) -> Scene:
    root = await root_token(reg)
    devs = [await register_developer(reg, root) for _ in range(3)]
    cert = await register_developer(reg, root, developer_body(role="Certifier"))
    s = Scene(reg, root, *devs, cert, seq=cert.seq)
    s.gov_id = (await s.data("/v1/registry", None))["government_company_id"]
    r = await s.client.put(
        "/v1/settings/omge-percentage", json={"percentage": "10"}, headers=bearer(root)
    )
    assert r.status_code == 201, r.text
    s.seq = r.json()["seq"]

    await _programme(s, "P1", s.dev1)
    await _programme(s, "P2", s.dev2)
    await _programme(s, "P3", s.dev2)
    await _programme(s, "P4", s.dev2)
    await _programme(
        s,
        "P5",
        s.dev1,
        proponent_tax_ids=[s.dev1.tax_id, s.dev2.tax_id],
        proponent_percentages=["60", "40"],
    )
    await _programme(s, "P6", s.dev3)
    for name, issue in (("P1", 300), ("P2", 200), ("P4", None), ("P5", 500), ("P6", 100)):
        await s.ok(f"/v1/programmes/{s.pid[name]}/approve", root, {"comment": "ok"})
        if issue is not None:
            await s.ok(f"/v1/programmes/{s.pid[name]}/authorise", root, {"issue_amount": issue})

    p1, p2 = s.pid["P1"], s.pid["P2"]
    out = await s.ok(
        "/v1/transfers",
        s.dev1.token,
        {"programme_id": p1, "to_company_id": s.dev2.company_id, "amount": 100},
    )
    s.requests["t_done"] = out["request_id"]
    out = await s.ok(
        "/v1/transfers",
        s.dev2.token,
        {
            "programme_id": p1,
            "from_company_id": s.dev1.company_id,
            "to_company_id": s.dev2.company_id,
            "amount": 50,
        },
    )
    s.requests["t_pending"] = out["request_id"]
    out = await s.ok(
        "/v1/retirements",
        s.dev1.token,
        {
            "programme_id": p1,
            "retirement_type": "cross_border",
            "amount": 40,
            "country": "FR",
            "organisation_name": "Acheteur SA",
        },
    )
    s.requests["r_fr"] = out["request_id"]
    await s.ok(f"/v1/retirements/{out['request_id']}/recognise", root, {"comment": "ok"})
    out = await s.ok(
        "/v1/retirements",
        root,
        {
            "programme_id": p2,
            "retirement_type": "cross_border",
            "from_company_id": s.dev2.company_id,
            "amount": 30,
            "country": "DE",
        },
    )
    s.requests["r_de"] = out["request_id"]
    out = await s.ok(
        "/v1/retirements",
        s.dev2.token,
        {"programme_id": p2, "retirement_type": "cross_border", "amount": 20, "country": "FR"},
    )
    s.requests["r_pending"] = out["request_id"]
    for name in ("P1", "P2", "P5"):
        await s.ok(f"/v1/programmes/{s.pid[name]}/certify", cert.token)
    await s.ok(f"/v1/programmes/{p2}/revoke", root, {"certifier_id": cert.company_id})
    await s.ok(f"/v1/organisations/{s.dev3.company_id}/suspend", root, {"remarks": "audit"})
    return s

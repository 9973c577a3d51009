"""Issue #5 over HTTP: the Article 6.2 AEF actions and holdings reports of a scripted year
(JSON and CSV, Government and Root only), and time travel: holdings, blocks, who held unit
N, the country accounts and credit statistics as of a past seq or time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from e2e_helpers import (
    COUNTRY_CODE,
    E2E,
    Developer,
    assert_problem,
    bearer,
    programme_body,
    register_developer,
    root_token,
)

from query_service.queries import aef


@dataclass
class Scene:
    reg: E2E
    root: str
    dev1: Developer
    dev2: Developer
    pid: str = ""
    seq: int = 0

    @property
    def client(self) -> httpx.AsyncClient:
        return self.reg.client

    async def ok(self, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
        r = await self.client.request(method, path, json=body, headers=bearer(token))
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        assert out["status"] == "accepted", out
        self.seq = max(self.seq, int(out["seq"]))
        return out

    async def get(self, path: str, token: str, **params: Any) -> httpx.Response:
        return await self.client.get(
            path, params={"min_seq": self.seq, **params}, headers=bearer(token)
        )

    async def data(self, path: str, token: str, **params: Any) -> Any:
        r = await self.get(path, token, **params)
        assert r.status_code == 200, r.text
        return r.json()


async def issued_scene(registry: E2E, issue: int = 300) -> Scene:
    root = await root_token(registry)
    s = Scene(
        registry,
        root,
        await register_developer(registry, root),
        await register_developer(registry, root),
    )
    s.seq = s.dev2.seq
    created = await s.ok("POST", "/v1/programmes", s.dev1.token, programme_body(s.dev1.tax_id))
    s.pid = created["aggregate_id"].removeprefix("programme-")
    await s.ok("POST", f"/v1/programmes/{s.pid}/approve", root, {})
    await s.ok("POST", f"/v1/programmes/{s.pid}/authorise", root, {"issue_amount": issue})
    return s


async def test_aef_actions_and_holdings_of_the_year(registry: E2E) -> None:
    s = await issued_scene(registry)
    d1, d2 = s.dev1, s.dev2
    await s.ok(
        "POST",
        "/v1/transfers",
        d1.token,
        {"programme_id": s.pid, "to_company_id": d2.company_id, "amount": 100},
    )
    await s.ok(
        "POST",
        "/v1/transfers",
        d2.token,
        {"programme_id": s.pid, "to_company_id": d1.company_id, "amount": 30},
    )
    await s.ok("PUT", "/v1/settings/omge-percentage", s.root, {"percentage": "10"})
    asked = await s.ok(
        "POST",
        "/v1/retirements",
        d2.token,
        {"programme_id": s.pid, "retirement_type": "cross_border", "amount": 20, "country": "FR"},
    )
    await s.ok("POST", f"/v1/retirements/{asked['request_id']}/recognise", s.root, {})
    await s.ok(
        "POST",
        "/v1/retirements",
        s.root,
        {
            "programme_id": s.pid,
            "retirement_type": "other",  # takes the holder's whole available amount
            "from_company_id": d1.company_id,
        },
    )
    year = datetime.now(UTC).year

    body = await s.data("/v1/reports/aef/actions", s.root, year=year)
    assert (body["party"], body["cooperative_approach"], body["metric"]) == (
        COUNTRY_CODE,
        "Article 6.2",
        "tCO2e",
    )
    rows = [r for r in body["data"] if r["programme_id"] == s.pid]
    serial = f"{COUNTRY_CODE}-ITMO-1-{s.pid}-2024-0"
    summary = [
        (r["action_type"], r["first_unit"], r["last_unit"], r["quantity"], r["first_transfer"])
        for r in rows
    ]
    assert summary[:3] == [
        ("authorization", 1, 300, 300, False),
        ("transfer", 201, 300, 100, True),  # leaves the issued block: the first transfer
        ("transfer", 271, 300, 30, False),  # moves on from a received block
    ]
    retirements = summary[3:]
    # 10 % of 20 goes to OMGE (retire), 18 leave the country, then the Government retires
    # all of the first developer's units: its two blocks.
    assert [(t, q) for t, _, _, q, _ in retirements] == [
        ("retire", 2),
        ("crossBoarderTransfer", 18),
        ("retire", 200),
        ("retire", 30),
    ]
    by_type = {r["action_type"]: r for r in rows}
    cross = by_type["crossBoarderTransfer"]
    assert (cross["acquiring_party"], cross["purpose_for_cancellation"]) == ("FR", "NDC")
    assert rows[3]["purpose_for_cancellation"] == "OMGE"
    assert by_type["transfer"]["acquiring_party"] == COUNTRY_CODE
    first = rows[0]
    assert (first["first_unit_id"], first["last_unit_id"]) == (f"{serial}-1", f"{serial}-300")
    assert first["vintage"] >= 2024
    assert (first["sector"], first["sectoral_scope"]) == ("Energy", "1")
    today = datetime.now(UTC).strftime("%d%m%y")
    assert first["authorisation_id"] == f"{today}{COUNTRY_CODE}{s.pid}"
    assert first["authorisation_date"] is not None

    csv = await s.get("/v1/reports/aef/actions", s.root, year=year, format="csv")
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == ",".join(aef.ACTION_COLUMNS)
    assert len(lines) == 1 + len(body["data"])

    holdings = await s.data("/v1/reports/aef/holdings", s.root, year=year)
    held = [r for r in holdings["data"] if r["programme_id"] == s.pid]
    assert sum(r["quantity"] for r in held) == 300 - 20 - 230
    assert {r["holder_company_id"] for r in held} == {d2.company_id}
    assert holdings["as_of_seq"] == holdings["seq"]  # the year is still running
    # Last year: nothing had happened yet.
    empty = await s.data("/v1/reports/aef/holdings", s.root, year=year - 1)
    assert (empty["as_of_seq"], empty["data"]) == (0, [])
    assert (await s.data("/v1/reports/aef/actions", s.root, year=year - 1))["data"] == []

    # Government and Root only.
    for path in ("/v1/reports/aef/actions", "/v1/reports/aef/holdings"):
        assert_problem(await s.get(path, d1.token, year=year), 403, "aef.forbidden")
    assert_problem(await s.get("/v1/reports/aef/actions", s.root, year=1800), 422)


async def test_holdings_blocks_and_statistics_as_of_a_past_seq_or_time(registry: E2E) -> None:
    s = await issued_scene(registry)
    d1, d2 = s.dev1, s.dev2
    issued_at = s.seq
    await s.ok(
        "POST",
        "/v1/transfers",
        d1.token,
        {"programme_id": s.pid, "to_company_id": d2.company_id, "amount": 100},
    )
    moved_at = s.seq
    await s.ok(
        "POST",
        "/v1/retirements",
        s.root,
        {
            "programme_id": s.pid,
            "retirement_type": "other",  # all the holder has
            "from_company_id": d2.company_id,
        },
    )

    async def holdings(token: str, **params: Any) -> dict[str, Any]:
        return dict(await s.data("/v1/history/holdings", token, **params))

    then = await holdings(d1.token, as_of_seq=issued_at)
    assert (then["as_of_seq"], then["data"]["total"]) == (issued_at, 300)
    assert then["seq"] >= s.seq
    assert (await holdings(d1.token, as_of_seq=moved_at))["data"]["total"] == 200
    assert (await holdings(d2.token, as_of_seq=moved_at))["data"]["total"] == 100
    now = await holdings(d2.token)
    assert (now["as_of_seq"], now["data"]["total"]) == (now["seq"], 0)
    # A developer reads only its own organisation's past; the Government reads anyone's.
    r = await s.get("/v1/history/holdings", d2.token, company_id=d1.company_id, as_of_seq=issued_at)
    assert_problem(r, 403, "holdings.forbidden")
    gov = await holdings(s.root, company_id=d1.company_id, as_of_seq=issued_at)
    assert gov["data"]["total"] == 300

    # Who held unit 250, then and now.
    async def holder(unit: int, token: str = s.root, **params: Any) -> list[dict[str, Any]]:
        body = await s.data("/v1/history/blocks", token, unit=unit, **params)
        return list(body["data"])

    [b] = await holder(250, as_of_seq=issued_at)
    assert (b["company_id"], b["range_start"], b["range_end"]) == (d1.company_id, 1, 300)
    [b] = await holder(250, as_of_seq=moved_at)
    assert (b["company_id"], b["range_start"], b["range_end"]) == (d2.company_id, 201, 300)
    [b] = await holder(290)
    assert (b["state"], b["company_id"]) == ("retired", None)
    # A developer does not learn who held another's units.
    assert await holder(250, d2.token, as_of_seq=issued_at) == []
    blocks = await s.data("/v1/history/blocks", s.root, programme_id=s.pid, as_of_seq=moved_at)
    assert [(x["range_start"], x["range_end"]) for x in blocks["data"]] == [(1, 200), (201, 300)]

    # By time: the answer as of the moment of the issuance is the issuance's seq.
    at = (await holdings(d1.token, as_of_seq=issued_at))["as_of_time"]
    by_time = await holdings(d1.token, as_of=at)
    assert (by_time["as_of_seq"], by_time["data"]["total"]) == (issued_at, 300)
    early = await holdings(d1.token, as_of="2000-01-01T00:00:00Z")
    assert (early["as_of_seq"], early["data"]["total"]) == (0, 0)

    country = await s.data("/v1/history/country-accounts", d1.token, as_of_seq=issued_at)
    assert (country["data"]["issued"], country["data"]["retired"]) == (300, 0)
    stats = await s.data("/v1/history/stats/credits", d2.token, programme_id=s.pid)
    assert {k: stats["data"][k] for k in ("issued", "retired", "held", "available")} == {
        "issued": 300,
        "retired": 100,
        "held": 200,
        "available": 200,
    }
    past = await s.data("/v1/history/stats/credits", d2.token, as_of_seq=issued_at)
    [row] = [p for p in past["data"]["programmes"] if p["programme_id"] == s.pid]
    assert (row["issued"], row["transferred"], row["retired"]) == (300, 0, 0)

    # A seq not applied yet is waited for, then refused; ambiguous or naive times are invalid.
    r = await s.get("/v1/history/holdings", d1.token, as_of_seq=s.seq + 10_000, wait_ms=50)
    assert_problem(r, 503, "read.behind")
    r = await s.get("/v1/history/holdings", d1.token, as_of_seq=1, as_of="2024-01-01T00:00:00Z")
    assert_problem(r, 422, "history.ambiguous")
    r = await s.get("/v1/history/holdings", d1.token, as_of="2024-01-01T00:00:00")
    assert_problem(r, 422, "history.naive_time")

"""Public transparency endpoints (issue #5): no sign-in, no personal data, totals and unit
provenance as the scene built them, and the per-client rate limit."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from e2e_helpers import E2E, assert_problem, bearer, read_seq, root_token
from test_queries_scene import build_scene

PERSONAL_KEYS = ("email", "phone", "user", "actor", "tax_id", "payment_id", "address", "comment")


def assert_no_personal_data(value: Any, path: str = "$") -> None:
    """No key that names personal data and no e-mail address anywhere in the answer."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert not any(p in k.lower() for p in PERSONAL_KEYS), f"{path}.{k}"
            assert_no_personal_data(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert_no_personal_data(v, f"{path}[{i}]")
    elif isinstance(value, str):
        assert "@" not in value, f"{path}: {value}"


async def test_public_programmes_and_totals(registry: E2E) -> None:
    s = await build_scene(registry)
    out = await s.body("GET", "/v1/public/programmes", None)
    assert_no_personal_data(out)
    rows = {s.name_of(p["programme_id"]): p for p in out["data"]}
    assert sorted(rows) == ["P1", "P2", "P4", "P5", "P6"]  # P3 awaits authorisation
    p5 = rows["P5"]
    assert [(x["company_id"], x["percentage"]) for x in p5["proponents"]] == [
        (s.dev1.company_id, "60"),
        (s.dev2.company_id, "40"),
    ]
    assert p5["proponents"][0]["name"].startswith("Developer ")
    assert p5["geographical_location"] == ["Kano"]
    assert (p5["credit_est"], p5["credit_issued"], p5["stage"]) == (1000, 500, "Authorised")
    assert "properties" not in p5
    # Filters, sorting and paging as on the signed-in lists.
    assert await s.names("/v1/public/programmes", None, sector="Energy") == ["P1", "P4"]
    assert await s.names("/v1/public/programmes", None, sort="-credit_issued,title") == [
        "P5",
        "P1",
        "P2",
        "P6",
        "P4",
    ]
    page = await s.body("GET", "/v1/public/programmes", None, params={"limit": 2, "count": "true"})
    assert (len(page["data"]), page["total"]) == (2, 5)
    queried = await s.query(
        "/v1/public/programmes/query",
        None,
        {
            "filter": {
                "or": [
                    {"field": "title", "op": "ilike", "value": "%gas%"},
                    {"field": "company_id", "op": "eq", "value": s.dev3.company_id},
                ]
            }
        },
    )
    assert [s.name_of(p["programme_id"]) for p in queried["data"]] == ["P5", "P6"]
    # Fields that are not public cannot be filtered on either.
    for field in ("environmental_assessment_registration_no", "updated_seq", "email"):
        r = await s.call("GET", "/v1/public/programmes", None, params={field: "x"})
        assert_problem(r, 422, "query.invalid_filter")
    r = await s.call(
        "GET", "/v1/public/programmes", None, params={"format": "csv", "sort": "title"}
    )
    assert r.status_code == 200, r.text
    rows_csv = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["title"] for x in rows_csv] == sorted(p["title"] for p in out["data"])
    assert "@" not in r.text

    totals = await s.data("/v1/public/totals", None)
    assert_no_personal_data(totals)
    assert {
        k: totals[k]
        for k in ("programmes", "authorised_programmes", "credits_issued", "credits_retired")
    } == {
        "programmes": 5,
        "authorised_programmes": 4,
        "credits_issued": 1100,
        "credits_retired": 70,
    }
    assert {g["key"]: (g["count"], g["issued"], g["retired"]) for g in totals["by_sector"]} == {
        "Energy": (2, 300, 40),
        "Forestry": (1, 200, 30),
        "Waste": (1, 500, 0),
        "Agriculture": (1, 100, 0),
    }
    assert [(c["country"], c["credits"]) for c in totals["cross_border_retirements"]] == [
        ("FR", 40),
        ("DE", 30),
    ]


async def test_unit_provenance(registry: E2E) -> None:
    s = await build_scene(registry)
    p1 = s.pid["P1"]

    async def trace(**params: Any) -> dict[str, Any]:
        out = await s.data("/v1/public/provenance", None, **params)
        assert_no_personal_data(out)
        return out  # type: ignore[no-any-return]

    # Unit 250 went to dev1 at issuance and to dev2 by the transfer.
    t = await trace(unit=250)
    [block] = t["blocks"]
    assert (block["range_start"], block["range_end"], block["state"]) == (201, 300, "active")
    assert block["holder"]["company_id"] == s.dev2.company_id
    assert block["holder"]["name"].startswith("Developer ")
    assert [h["event"] for h in t["history"]] == ["issued", "transferred"]
    issued, moved = t["history"]
    assert issued["to"]["company_id"] == s.dev1.company_id
    assert (issued["range_start"], issued["range_end"]) == (250, 250)
    assert (moved["from"]["company_id"], moved["to"]["company_id"]) == (
        s.dev1.company_id,
        s.dev2.company_id,
    )
    assert moved["request_id"] == s.requests["t_done"]
    assert issued["at"] <= moved["at"]
    assert t["programmes"][0]["programme_id"] == p1

    # Unit 170 was retired for France; unit 199 is the OMGE share (the Government's).
    t = await trace(unit=170)
    assert [h["event"] for h in t["history"]] == ["issued", "retired"]
    retired = t["history"][1]
    assert (retired["country"], retired["retirement_type"], retired["beneficiary"]) == (
        "FR",
        "cross_border",
        "Acheteur SA",
    )
    assert t["blocks"][0]["holder"]["kind"] == "retired"
    t = await trace(unit=199)
    assert t["blocks"][0]["holder"] == {
        "account": "gov:omge",
        "kind": "government",
        "company_id": s.gov_id,
        "name": "Government of Kenya",
    }

    # A serial covers a range: every block it became and every event that touched it.
    serial = (await s.data(f"/v1/programmes/{p1}", s.root))["serial_no"].replace(
        "-1-1000", "-1-300"
    )
    t = await trace(serial=serial)
    assert [(b["range_start"], b["range_end"], b["state"]) for b in t["blocks"]] == [
        (1, 160, "active"),
        (161, 196, "retired"),
        (197, 200, "retired"),
        (201, 300, "active"),
    ]
    assert [(h["event"], h["range_start"], h["range_end"]) for h in t["history"]] == [
        ("issued", 1, 300),
        ("transferred", 201, 300),
        ("retired", 197, 200),
        ("retired", 161, 196),
    ]
    r = await s.call("GET", "/v1/public/provenance", None, params={"unit": 999_999})
    assert_problem(r, 404, "provenance.not_found")
    r = await s.call("GET", "/v1/public/provenance", None, params={"serial": "not-a-serial"})
    assert_problem(r, 422, "provenance.invalid_serial")
    r = await s.call("GET", "/v1/public/provenance", None, params={"unit": 1, "serial": serial})
    assert_problem(r, 422, "request.invalid")


async def test_public_rate_limit(registry: E2E) -> None:
    seq = await read_seq(registry)
    client = registry.client
    for i in range(100):
        r = await client.get("/v1/public/programmes", params={"limit": 1, "min_seq": seq})
        assert r.status_code == 200, (i, r.text)
    r = await client.get("/v1/public/totals")
    body = assert_problem(r, 429, "rate_limited")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert body["retry_after"] == retry
    # Signed-in reads are not limited; another client address has its own budget.
    root = await root_token(registry)
    assert (await client.get("/v1/programmes", headers=bearer(root))).status_code == 200
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=transport.app, client=("192.0.2.7", 4000)),
        base_url="http://test",
    )
    async with other:
        assert (await other.get("/v1/public/totals")).status_code == 200
    assert (await client.get("/v1/public/provenance", params={"unit": 1})).status_code == 429

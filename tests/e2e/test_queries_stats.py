"""Statistics over HTTP (issue #5, domain.md 10.2 and 10.3): every number checked against
the hand-computed figures of ``test_queries_scene``."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from e2e_helpers import E2E, assert_problem
from test_queries_scene import Scene, build_scene

Z = {"transferred": 0, "retired": 0, "frozen": 0, "balance": 0, "issued": 0}


def agg(count: int, est: int, **kw: int) -> dict[str, int]:
    return {"count": count, "credit_est": est, **Z, **kw}


def groups(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {g.pop("key"): g for g in (dict(x) for x in data["groups"])}


async def stat(s: Scene, name: str, token: str, **params: Any) -> Any:
    """The statistic by GET and by POST (the same filters as a body) must agree."""
    got = await s.data(f"/v1/stats/{name}", token, **params)
    body = {k: (v == "true" if v in ("true", "false") else v) for k, v in params.items()}
    posted = (await s.query(f"/v1/stats/{name}", token, body))["data"]
    assert posted == got, name
    return got


async def test_programme_and_credit_aggregates(registry: E2E) -> None:
    s = await build_scene(registry)
    authorised = agg(4, 2600, issued=1100, balance=1030, retired=70, transferred=100, frozen=100)
    by_status = await stat(s, "programmes-by-status", s.root)
    assert groups(by_status) == {
        "Authorised": authorised,
        "AwaitingAuthorization": agg(1, 800),
        "Approved": agg(1, 400),
    }
    assert by_status["totals"] == agg(
        6, 3800, issued=1100, balance=1030, retired=70, transferred=100, frozen=100
    )
    by_sector = await stat(s, "programmes-by-sector", s.root)
    assert groups(by_sector) == {
        "Energy": agg(2, 1400, issued=300, balance=260, retired=40, transferred=100),
        "Forestry": agg(1, 500, issued=200, balance=170, retired=30),
        "Transport": agg(1, 800),
        "Waste": agg(1, 1000, issued=500, balance=500),
        "Agriculture": agg(1, 100, issued=100, balance=100, frozen=100),
    }
    auth = await stat(s, "authorised-programmes", s.root)
    assert auth["totals"] == authorised
    assert set(groups(auth)) == {"Energy", "Forestry", "Waste", "Agriculture"}

    # only_mine: the caller's programmes, its share of the estimate, its units.
    mine1 = await stat(s, "programmes-by-status", s.dev1.token, only_mine="true")
    assert groups(mine1) == {
        "Authorised": agg(2, 1600, issued=600, balance=460, retired=40, transferred=100)
    }
    mine2 = await stat(s, "programmes-by-status", s.dev2.token, only_mine="true")
    assert groups(mine2) == {
        "Authorised": agg(2, 900, issued=400, balance=370, retired=30),
        "AwaitingAuthorization": agg(1, 800),
        "Approved": agg(1, 400),
    }
    # Visibility: a developer does not see another's programme awaiting authorisation.
    dev1_view = await stat(s, "programmes-by-status", s.dev1.token)
    assert "AwaitingAuthorization" not in groups(dev1_view)
    assert dev1_view["totals"]["count"] == 5

    # Time range (on the created time) and a daily series.
    rows = await s.data("/v1/programmes", s.root, limit=200)
    created = {s.name_of(r["programme_id"]): r["created_at"] for r in rows}
    late = await stat(s, "programmes-by-sector", s.root, start=created["P4"])
    assert {k: v["count"] for k, v in groups(late).items()} == {
        "Energy": 1,
        "Waste": 1,
        "Agriculture": 1,
    }
    early = await stat(s, "programmes-by-sector", s.root, end=created["P4"])
    assert early["totals"]["count"] == 3
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await stat(s, "programmes-by-status", s.root, start=future))["groups"] == []
    series = await stat(s, "programmes-by-status", s.root, time_group="day")
    days = {x["period"] for x in series["series"]}
    assert days == {r[:10] for r in created.values()}
    per_stage: dict[str, int] = defaultdict(int)
    for x in series["series"]:
        per_stage[x["key"]] += x["count"]
    assert dict(per_stage) == {"Authorised": 4, "AwaitingAuthorization": 1, "Approved": 1}
    month = await stat(s, "programmes-by-status", s.root, time_group="month")
    assert {x["period"] for x in month["series"]} == {r[:8] + "01" for r in created.values()}


async def test_my_credits_transfers_certifications_places(registry: E2E) -> None:
    s = await build_scene(registry)
    d1, d2 = s.dev1.company_id, s.dev2.company_id
    mine = await stat(s, "my-credits", s.dev1.token)
    assert mine["company_id"] == d1
    assert mine["accounts"] == [
        {
            "account": f"company:{d1}",
            "programmes": 2,
            "blocks": 2,
            "total": 460,
            "available": 460,
            "frozen": 0,
        }
    ]
    assert (mine["sent"], mine["received"], mine["retired"]) == (100, 0, 40)
    mine = await stat(s, "my-credits", s.dev2.token)
    assert (mine["total"], mine["available"], mine["received"], mine["retired"]) == (
        470,
        470,
        100,
        30,
    )
    assert mine["accounts"][0]["programmes"] == 3
    frozen = await stat(s, "my-credits", s.dev3.token)
    assert (frozen["total"], frozen["available"], frozen["frozen"]) == (100, 0, 100)

    pending = await stat(s, "pending-transfers", s.dev1.token)
    assert pending["initiated"] == {"count": 0, "amount": 0}
    assert pending["to_approve"] == {"count": 1, "amount": 50}
    pending = await stat(s, "pending-transfers", s.dev2.token)
    assert pending["initiated"] == {"count": 1, "amount": 50}
    assert pending["to_approve"] == {"count": 0, "amount": 0}

    everyone = await stat(s, "certifications", s.root)
    assert everyone == {
        "by": "anyone",
        "certified": {"count": 2, "credit_est": 2000},
        "revoked": {"count": 1, "credit_est": 500},
        "uncertified": {"count": 1, "credit_est": 100},
    }
    by_me = await stat(s, "certifications", s.cert.token)
    assert by_me == {**everyone, "by": "mine"}
    assert (await stat(s, "certifications", s.dev1.token, only_mine="true"))["certified"] == {
        "count": 0,
        "credit_est": 0,
    }

    geo = await stat(s, "programme-locations", s.root)
    assert geo["type"] == "FeatureCollection"
    points = {(f["properties"]["region"], f["properties"]["stage"]): f for f in geo["features"]}
    assert set(points) == {("Abia", "Approved"), ("Kano", "Authorised"), ("Lagos", "Authorised")}
    kano = points[("Kano", "Authorised")]
    assert kano["type"] == "Feature"
    assert kano["geometry"] == {"type": "Point", "coordinates": [8.5364136, 11.8948389]}
    assert kano["properties"]["count"] == 2
    assert kano["properties"]["programme_ids"] == sorted([s.pid["P1"], s.pid["P5"]])
    assert points[("Lagos", "Authorised")]["properties"]["count"] == 2
    abia = points[("Abia", "Approved")]
    assert abia["geometry"]["coordinates"] == [7.5153071, 5.454095299]
    for f in geo["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert -180 <= lon <= 180
        assert -90 <= lat <= 90
    mine_geo = await stat(s, "programme-locations", s.dev1.token, only_mine="true")
    assert {f["properties"]["region"] for f in mine_geo["features"]} == {"Kano", "Lagos"}

    dest = await stat(s, "retirement-destinations", s.root)
    assert [(c["country"], c["count"], c["credits"], c["omge"]) for c in dest["countries"]] == [
        ("FR", 1, 40, 4),
        ("DE", 1, 30, 3),
    ]
    assert (dest["count"], dest["credits"]) == (2, 70)
    dest = await stat(s, "retirement-destinations", s.dev2.token, only_mine="true")
    assert [(c["country"], c["credits"]) for c in dest["countries"]] == [("DE", 30)]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await stat(s, "retirement-destinations", s.root, start=future))["count"] == 0
    assert d2  # (dev2's figures above)


async def test_summaries_pending_actions_days_and_national_accounting(registry: E2E) -> None:
    s = await build_scene(registry)
    top = await stat(s, "summary", s.root)
    assert {k: top[k] for k in top if not k.startswith("last_")} == {
        "programmes": 6,
        "authorised_programmes": 4,
        "pending_programmes": 2,
        "credits_issued": 1100,
        "credits_retired": 70,
    }
    assert top["last_issued_at"] is not None
    assert top["last_retired_at"] is not None
    # A period that covers everything reads the events; no period reads the counters.
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await stat(s, "summary", s.root, end=future) == top
    empty = await stat(s, "summary", s.root, start=future)
    assert (empty["credits_issued"], empty["credits_retired"], empty["programmes"]) == (0, 0, 0)
    mine = await stat(s, "summary", s.dev2.token, only_mine="true")
    assert (mine["programmes"], mine["credits_issued"], mine["credits_retired"]) == (4, 400, 30)

    actions = await stat(s, "pending-actions", s.root)
    assert actions["counts"] == {
        "programme.approve": 1,
        "programme.authorise": 1,
        "retirement.recognise": 1,
    }
    refs = {(i["action"], i["ref"]) for i in actions["items"]}
    assert refs == {
        ("programme.approve", s.pid["P3"]),
        ("programme.authorise", s.pid["P4"]),
        ("retirement.recognise", str(s.requests["r_pending"])),
    }
    since = [i["since"] for i in actions["items"]]
    assert since == sorted(since, reverse=True)
    dev1 = await stat(s, "pending-actions", s.dev1.token)
    assert dev1["counts"] == {"transfer.approve": 1}
    [item] = dev1["items"]
    assert (item["ref"], item["amount"], item["programme_id"]) == (
        str(s.requests["t_pending"]),
        50,
        s.pid["P1"],
    )
    assert (await stat(s, "pending-actions", s.dev2.token))["total"] == 0
    cert = await stat(s, "pending-actions", s.cert.token)
    assert cert["counts"] == {"programme.certify": 4}  # P2 (revoked), P3, P4, P6

    # Credits per local day: the expected figures come from the events' own times.
    events = await s.data("/v1/timeline", s.root, limit=200)
    for offset in (0, 840, -720):
        want: dict[str, dict[str, int]] = {}
        for e in events:
            column = {
                "ProgrammeAuthorised": "authorised",
                "CreditsIssued": "issued",
                "CreditsTransferred": "transferred",
                "CreditsRetired": "retired",
            }.get(e["type"])
            if column is None:
                continue
            at = datetime.fromisoformat(e["occurred_at"]) + timedelta(minutes=offset)
            day = want.setdefault(
                at.date().isoformat(),
                {"authorised": 0, "issued": 0, "transferred": 0, "retired": 0},
            )
            p = e["payload"]
            amount = (
                p["range_end"] - p["range_start"] + 1 if column == "authorised" else p["amount"]
            )
            day[column] += amount
        got = await stat(s, "credits-by-day", s.root, tz_offset_minutes=offset)
        assert got["tz_offset_minutes"] == offset
        assert {d.pop("day"): d for d in got["days"]} == want
        assert got["totals"] == {
            "authorised": 2600,
            "issued": 1100,
            "transferred": 100,
            "retired": 70,
        }
    months = await stat(s, "credits-by-day", s.root, time_group="month")
    assert {d["day"][8:] for d in months["days"]} == {"01"}
    assert months["totals"] == got["totals"]
    mine_days = await stat(s, "credits-by-day", s.dev1.token, only_mine="true")
    assert mine_days["totals"] == {
        "authorised": 1000 + 1000,
        "issued": 600,
        "transferred": 100,
        "retired": 40,
    }

    national = await stat(s, "national-accounting", s.root)
    assert await stat(s, "national-accounting", s.root, end=future) == national
    nothing = await stat(s, "national-accounting", s.root, start=future)
    assert (nothing["authorised"]["units"], nothing["issued"]["events"]) == (0, 0)
    assert (national["authorised"]["units"], national["authorised"]["events"]) == (2600, 4)
    assert (national["issued"]["units"], national["issued"]["events"]) == (1100, 4)
    retired = national["retired"]
    assert (retired["units"], retired["count"], retired["omge"]) == (70, 2, 7)
    assert retired["by_type"] == {"cross_border": {"count": 2, "units": 70}}
    assert [(c["country"], c["units"], c["omge"]) for c in national["cross_border_by_country"]] == [
        ("DE", 30, 3),
        ("FR", 40, 4),
    ]
    for who in (s.dev1.token, s.cert.token):
        r = await s.call("GET", "/v1/stats/national-accounting", who)
        assert_problem(r, 403, "stats.forbidden")


async def test_many_statistics_from_one_snapshot_and_bad_filters(registry: E2E) -> None:
    s = await build_scene(registry)
    out = await s.query(
        "/v1/stats",
        s.root,
        {
            "stats": [
                {"type": "summary"},
                {"type": "programmes-by-sector", "only_mine": False},
                {"type": "credits-by-day", "tz_offset_minutes": 60},
            ]
        },
    )
    assert set(out["data"]) == {"summary", "programmes-by-sector", "credits-by-day"}
    assert out["data"]["summary"]["credits_issued"] == 1100
    assert out["data"]["programmes-by-sector"]["totals"]["count"] == 6
    r = await s.call(
        "POST", "/v1/stats", s.dev1.token, json={"stats": [{"type": "national-accounting"}]}
    )
    assert_problem(r, 403, "stats.forbidden")
    for params in ({"time_group": "year"}, {"tz_offset_minutes": 841}, {"start": "soon"}):
        r = await s.call("GET", "/v1/stats/summary", s.root, params=params)
        assert_problem(r, 422, "request.invalid")
    r = await s.call("POST", "/v1/stats", s.root, json={"stats": [{"type": "nothing"}]})
    assert_problem(r, 422, "request.invalid")
    r = await s.client.get("/v1/stats/summary")
    assert_problem(r, 401)

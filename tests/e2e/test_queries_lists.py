"""Generic list queries over HTTP (issue #5): every filter operation, AND/OR groups, the
original's QueryDto form, sorting, keyset paging, counts, CSV downloads and the refusals
of the filter language. Data: ``test_queries_scene``."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest
from e2e_helpers import E2E, assert_problem, bearer, programme_body
from test_queries_scene import Scene, build_scene

from query_service.api import list_requests

LIST = "/v1/programmes"
QUERY = "/v1/programmes/query"


async def test_every_filter_operation_on_programmes(registry: E2E) -> None:
    s = await build_scene(registry)
    names = s.names
    root = s.root
    assert await names(LIST, root) == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert await names(LIST, root, stage="Authorised") == ["P1", "P2", "P5", "P6"]
    assert await names(LIST, root, **{"stage[eq]": "Authorised"}) == ["P1", "P2", "P5", "P6"]
    assert await names(LIST, root, **{"stage[ne]": "Authorised"}) == ["P3", "P4"]
    assert await names(LIST, root, **{"credit_est[lt]": 500}) == ["P4", "P6"]
    assert await names(LIST, root, **{"credit_est[le]": 500}) == ["P2", "P4", "P6"]
    assert await names(LIST, root, **{"credit_est[gt]": 800}) == ["P1", "P5"]
    assert await names(LIST, root, **{"credit_est[ge]": 800}) == ["P1", "P3", "P5"]
    assert await names(LIST, root, **{"sector[in]": "Forestry,Waste"}) == ["P2", "P5"]
    # contains on text is a case-sensitive substring; ilike is a case-insensitive pattern.
    assert await names(LIST, root, **{"title[contains]": "Solar"}) == ["P1", "P4"]
    assert await names(LIST, root, **{"title[contains]": "solar"}) == []
    assert await names(LIST, root, **{"title[ilike]": "%solar%"}) == ["P1", "P4"]
    assert await names(LIST, root, **{"title[ilike]": "%GAS%"}) == ["P5"]
    # contains on an array: every value is in it; in on an array: any value is in it.
    d1, d2, d3 = s.dev1.company_id, s.dev2.company_id, s.dev3.company_id
    assert await names(LIST, root, **{"proponent_company_ids[contains]": d1}) == ["P1", "P5"]
    both = f"{d1},{d2}"
    assert await names(LIST, root, **{"proponent_company_ids[contains]": both}) == ["P5"]
    assert await names(LIST, root, **{"proponent_company_ids[in]": f"{d1},{d3}"}) == [
        "P1",
        "P5",
        "P6",
    ]
    assert await names(LIST, root, **{"geographical_location[contains]": "Kano"}) == ["P1", "P5"]
    assert await names(LIST, root, company_id=d2) == ["P2", "P3", "P4", "P5"]
    # Several parameters are AND-ed.
    assert await names(LIST, root, sector="Energy", **{"credit_est[ge]": 500}) == ["P1"]
    # Times: ISO 8601, compared as instants.
    rows = await s.data(LIST, root, limit=200)
    p4_created = next(r for r in rows if r["programme_id"] == s.pid["P4"])["created_at"]
    assert await names(LIST, root, **{"created_at[ge]": p4_created}) == ["P4", "P5", "P6"]
    assert await names(LIST, root, **{"created_at[lt]": p4_created}) == ["P1", "P2", "P3"]
    # A value with quotes is only ever a value.
    assert await names(LIST, root, title="x' OR '1'='1") == []
    assert await names(LIST, root, **{"title[ilike]": "%' OR 1=1 --"}) == []


async def test_and_or_groups_null_and_the_query_dto_form(registry: E2E) -> None:
    s = await build_scene(registry)

    async def names(body: dict[str, Any], token: str = s.root) -> list[str]:
        out = await s.query(QUERY, token, body if "size" in body else {"limit": 200, **body})
        return [s.name_of(r["programme_id"]) for r in out["data"]]

    either = {
        "or": [
            {"field": "sector", "op": "eq", "value": "Forestry"},
            {
                "and": [
                    {"field": "stage", "op": "eq", "value": "Authorised"},
                    {"field": "credit_est", "op": "ge", "value": 1000},
                ]
            },
        ]
    }
    assert await names({"filter": either}) == ["P1", "P2", "P5"]
    nested = {
        "and": [
            {"field": "stage", "op": "in", "value": ["Authorised", "Approved"]},
            {
                "or": [
                    {"field": "title", "op": "ilike", "value": "%solar%"},
                    {"and": [{"field": "sector", "op": "eq", "value": "Agriculture"}]},
                ]
            },
        ]
    }
    assert await names({"filter": nested}) == ["P1", "P4", "P6"]
    # NULL: the programmes without a serial number (not authorised).
    assert await names({"filter": {"field": "serial_no", "op": "eq", "value": None}}) == [
        "P3",
        "P4",
    ]
    assert await names({"filter": {"field": "serial_no", "op": "ne", "value": None}}) == [
        "P1",
        "P2",
        "P5",
        "P6",
    ]
    # The original's QueryDto: filterAnd AND (filterOr), operations spelled as SQL.
    dto = {
        "filterAnd": [{"key": "stage", "operation": "=", "value": "Authorised"}],
        "filterOr": [
            {"key": "sector", "operation": "=", "value": "Energy"},
            {"key": "sector", "operation": "=", "value": "Agriculture"},
        ],
        "sort": {"key": "credit_est", "order": "DESC"},
        "size": 10,
    }
    assert await names(dto) == ["P1", "P6"]
    assert await names({"filterAnd": [{"key": "credit_est", "operation": ">=", "value": 800}]}) == [
        "P1",
        "P3",
        "P5",
    ]
    # The GET form takes the same tree as JSON in `filter`.
    import orjson

    got = await s.names(LIST, s.root, filter=orjson.dumps(either).decode())
    assert got == ["P1", "P2", "P5"]


async def test_filters_on_the_other_collections(registry: E2E) -> None:
    s = await build_scene(registry)
    root, d1, d2 = s.root, s.dev1.company_id, s.dev2.company_id
    ids = s.requests

    async def request_ids(path: str, **params: Any) -> list[int]:
        return [r["request_id"] for r in await s.data(path, root, **params)]

    assert await request_ids("/v1/transfers") == [ids["t_done"], ids["t_pending"]]
    assert await request_ids("/v1/transfers", status="Pending") == [ids["t_pending"]]
    assert await request_ids("/v1/transfers", **{"amount[gt]": 60}) == [ids["t_done"]]
    assert await request_ids("/v1/retirements", country="FR") == [ids["r_fr"], ids["r_pending"]]
    assert await request_ids("/v1/retirements", company_id=d1) == [ids["r_fr"]]
    assert await request_ids("/v1/retirements", **{"omge_units[ge]": 4}) == [ids["r_fr"]]
    assert await request_ids("/v1/retirements", **{"decided_at[ge]": "2000-01-01"}) == [
        ids["r_fr"],
        ids["r_de"],
    ]
    out = await s.query(
        "/v1/retirements/query",
        root,
        {"filter": {"field": "omge_percentage", "op": "eq", "value": "10"}, "count": True},
    )
    assert out["total"] == 3

    orgs = await s.data("/v1/organisations", root, role="ProgrammeDeveloper")
    assert {o["company_id"] for o in orgs} == {d1, d2, s.dev3.company_id}
    orgs = await s.data("/v1/organisations", root, state="Suspended")
    assert [o["company_id"] for o in orgs] == [s.dev3.company_id]
    users = await s.data("/v1/users", root, company_id=d2)
    assert [u["user_id"] for u in users] == [s.dev2.admin_user_id]
    assert users[0]["company_role"] == "ProgrammeDeveloper"
    users = await s.data("/v1/users", root, **{"email[ilike]": s.dev1.admin_email.upper()})
    assert [u["user_id"] for u in users] == [s.dev1.admin_user_id]

    blocks = await s.data("/v1/blocks", root, programme_id=s.pid["P1"], state="retired")
    assert [(b["range_start"], b["range_end"]) for b in blocks] == [(161, 196), (197, 200)]
    blocks = await s.data("/v1/blocks", root, **{"size[ge]": 200})
    assert {(b["programme_id"], b["size"]) for b in blocks} == {
        (s.pid["P5"], 300),
        (s.pid["P5"], 200),
    }
    [b] = await s.data("/v1/blocks", root, unit=250)
    assert (b["company_id"], b["range_start"], b["range_end"]) == (d2, 201, 300)

    certs = await s.data("/v1/certifications", root, state="revoked")
    assert [c["programme_id"] for c in certs] == [s.pid["P2"]]
    certs = await s.data("/v1/certifications", root, sort="-certified_seq")
    assert [c["programme_id"] for c in certs] == [s.pid["P5"], s.pid["P2"], s.pid["P1"]]
    events = await s.data("/v1/timeline", root, programme_id=s.pid["P1"], type="CreditsRetired")
    assert [e["payload"]["amount"] for e in events] == [40]
    issued = await s.data("/v1/timeline", root, type="CreditsIssued", count="true")
    assert len(issued) == 4


async def test_refusals_of_the_filter_language(registry: E2E) -> None:
    s = await build_scene(registry)

    async def refused(method: str, path: str, code: str = "query.invalid_filter", **kw: Any) -> Any:
        r = await s.call(method, path, s.root, **kw)
        return assert_problem(r, 422, code)

    body = await refused("GET", LIST, params={"colour": "red"})
    assert "colour" in body["title"]
    await refused("GET", LIST, params={"title[regex]": ".*"})
    await refused("GET", LIST, params={"credit_est": "lots"})
    await refused("GET", LIST, params={"credit_est": str(2**70)})
    await refused("GET", LIST, params={"created_at[gt]": "yesterday"})
    await refused("GET", LIST, params={"credit_est[ilike]": "1%"})
    await refused("GET", LIST, params={"proponent_company_ids[gt]": "1"})
    await refused("GET", LIST, params={'title"; DROP TABLE programmes; --': "x"})
    await refused("GET", LIST, params={"sort": "colour"})
    await refused("GET", LIST, params={"sort": "proponent_company_ids"})
    await refused("GET", LIST, params={"filter": "{not json"})
    injected = [
        {"field": 'title" = title OR "1', "op": "eq", "value": "x"},
        {"field": "title", "op": "= 'x' OR 1=1 --", "value": "x"},
        {"field": "title) OR (1=1", "op": "eq", "value": "x"},
        {"field": "credit_est", "op": "eq", "value": "1; DROP TABLE programmes"},
        {"field": "title", "op": "eq", "value": {"nested": "object"}},
        {"field": "title", "op": "in", "value": []},
        {"field": "stage", "op": "eq"},
        {"and": []},
        {"and": [{"field": "stage", "op": "eq", "value": "x"}], "or": []},
    ]
    for f in injected:
        await refused("POST", QUERY, json={"filter": f})
    deep = {"field": "stage", "op": "eq", "value": "Authorised"}
    for _ in range(3):
        deep = {"and": [deep]}
    await s.query(QUERY, s.root, {"filter": deep})  # three levels are fine
    await refused("POST", QUERY, json={"filter": {"or": [deep]}})
    many = [{"field": "credit_est", "op": "ge", "value": i} for i in range(51)]
    await refused("POST", QUERY, json={"filter": {"and": many}})
    await s.query(QUERY, s.root, {"filter": {"and": many[:50]}})
    # A cursor of another sort order, or a forged one, is refused.
    page = await s.body("GET", LIST, s.root, params={"limit": 1, "sort": "-credit_est,title"})
    await refused("GET", LIST, "query.invalid_cursor", params={"cursor": page["next_cursor"]})
    await refused("GET", LIST, "query.invalid_cursor", params={"cursor": "bm90IGEgY3Vyc29y"})
    # Body shape mistakes are ordinary request errors.
    r = await s.call("POST", QUERY, s.root, json={"limit": 0})
    assert_problem(r, 422, "request.invalid")
    r = await s.call("POST", QUERY, s.root, json={"page": 2})
    assert_problem(r, 422, "request.invalid")


async def walk(
    s: Scene, path: str, token: str, params: dict[str, Any], key: str = "programme_id"
) -> list[Any]:
    """Every row of a list, page by page through next_cursor."""
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(200):
        extra = {"cursor": cursor} if cursor else {}
        page = await s.body("GET", path, token, params={**params, **extra})
        assert len(page["data"]) <= params["limit"]
        seen.extend(r[key] for r in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the walk did not end")


async def test_sorting_and_keyset_paging(registry: E2E) -> None:
    s = await build_scene(registry)
    rows = await s.data(LIST, s.root, limit=200)
    by_id = {r["programme_id"]: r for r in rows}
    assert len(by_id) == 6

    def expected(key: Any) -> list[str]:
        return [r["programme_id"] for r in sorted(rows, key=key)]

    # (sort parameter, the same order in Python; ties broken by creation order)
    big = 10**18
    cases = [
        ("-credit_est,title", lambda r: (-r["credit_est"], r["title"])),
        ("credit_est", lambda r: (r["credit_est"], r["created_seq"])),
        ("sector,-credit_issued", lambda r: (r["sector"], -r["credit_issued"], -r["created_seq"])),
        ("-stage", lambda r: (_desc(r["stage"]), -r["created_seq"])),
        # NULL sorts last ascending and first descending.
        (
            "range_start",
            lambda r: (r["range_start"] is None, r["range_start"] or 0, r["created_seq"]),
        ),
        (
            "-range_start",
            lambda r: (r["range_start"] is not None, -(r["range_start"] or big), -r["created_seq"]),
        ),
        (
            "-serial_no,-created_seq",
            lambda r: (r["serial_no"] is not None, _desc(r["serial_no"] or ""), -r["created_seq"]),
        ),
        ("title", lambda r: (r["title"],)),
    ]
    for sort, key in cases:
        want = expected(key)
        first = await s.data(LIST, s.root, sort=sort, limit=200)
        assert [r["programme_id"] for r in first] == want, sort
        for limit in (1, 2, 4):
            got = await walk(s, LIST, s.root, {"sort": sort, "limit": limit})
            assert got == want, (sort, limit)
    # count=true answers the number of all matches, whatever the page.
    page = await s.body(
        "GET", LIST, s.root, params={"limit": 2, "count": "true", "stage": "Authorised"}
    )
    assert (len(page["data"]), page["total"]) == (2, 4)
    assert page["next_cursor"] is not None
    page = await s.body("GET", LIST, s.root, params={"limit": 2})
    assert page["total"] is None
    # The same through the JSON form, cursor included.
    out = await s.query(
        QUERY, s.root, {"sort": [{"field": "credit_est", "order": "desc"}], "limit": 4}
    )
    nxt = await s.query(
        QUERY,
        s.root,
        {
            "sort": [{"field": "credit_est", "order": "desc"}],
            "limit": 4,
            "cursor": out["next_cursor"],
        },
    )
    want = expected(lambda r: (-r["credit_est"], -r["created_seq"]))
    assert [r["programme_id"] for r in out["data"] + nxt["data"]] == want
    assert nxt["next_cursor"] is None


def _desc(text: str) -> tuple[int, ...]:
    """A key that sorts strings in reverse (for the expected orders above)."""
    return (*(-ord(c) for c in text), 1)


async def test_keyset_paging_is_stable_under_concurrent_inserts(registry: E2E) -> None:
    s = await build_scene(registry)
    before = [r["programme_id"] for r in await s.data(LIST, s.dev1.token, limit=200)]
    for _ in range(14):
        await s.ok("/v1/programmes", s.dev1.token, programme_body(s.dev1.tax_id))
    before = [r["programme_id"] for r in await s.data(LIST, s.dev1.token, limit=200)]
    assert len(before) == 19  # P3 is dev2's and not approved: dev1 does not see it

    async def inserts() -> list[str]:
        made = []
        for _ in range(12):
            out = await s.ok("/v1/programmes", s.dev1.token, programme_body(s.dev1.tax_id))
            made.append(out["aggregate_id"].removeprefix("programme-"))
            await asyncio.sleep(0)
        return made

    async def walk_slowly(params: dict[str, Any]) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            extra = {"cursor": cursor} if cursor else {}
            r = await s.client.get(LIST, params={**params, **extra}, headers=bearer(s.dev1.token))
            assert r.status_code == 200, r.text
            page = r.json()
            seen += [p["programme_id"] for p in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen
            await asyncio.sleep(0.01)

    made, oldest_first, newest_first = await asyncio.gather(
        inserts(),
        walk_slowly({"limit": 3}),
        walk_slowly({"limit": 3, "sort": "-credit_est,title"}),
    )
    for seen in (oldest_first, newest_first):
        assert len(seen) == len(set(seen)), "a row appeared twice"
        assert set(before) <= set(seen), "a row that existed all along was skipped"
        assert set(seen) <= set(before) | set(made)
    # In creation order, the new rows can only come after the old ones.
    assert oldest_first[: len(before)] == before


async def test_csv_downloads(registry: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    s = await build_scene(registry)
    r = await s.call(
        "GET",
        "/v1/programmes.csv",
        s.root,
        params={"stage": "Authorised", "sort": "-credit_est,title"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["X-Row-Limit"] == "100000"
    assert (r.headers["X-Row-Count"], r.headers["X-Truncated"]) == ("4", "false")
    assert int(r.headers["X-Registry-Seq"]) >= s.seq
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [s.name_of(x["programme_id"]) for x in rows] == ["P1", "P5", "P2", "P6"]
    p1 = rows[0]
    assert (p1["title"], p1["credit_est"], p1["credit_issued"], p1["stage"]) == (
        "Lagos Solar Grid",
        "1000",
        "300",
        "Authorised",
    )
    assert p1["geographical_location"] == "Lagos;Kano"
    assert p1["proponent_company_ids"] == str(s.dev1.company_id)
    assert p1["serial_no"].startswith("KE-ITMO-1-")
    # format=csv on the list, the JSON form with format csv, and another collection.
    r2 = await s.call(
        "GET",
        LIST,
        s.root,
        params={"stage": "Authorised", "sort": "-credit_est,title", "format": "csv"},
    )
    assert r2.text == r.text
    r3 = await s.call(
        "POST",
        QUERY,
        s.root,
        json={
            "filter": {"field": "stage", "op": "eq", "value": "Authorised"},
            "sort": "-credit_est,title",
            "format": "csv",
        },
    )
    assert r3.text == r.text
    r = await s.call("GET", "/v1/retirements.csv", s.root, params={"status": "Recognised"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["country"], x["amount"], x["omge_units"]) for x in rows] == [
        ("FR", "40", "4"),
        ("DE", "30", "3"),
    ]
    # Visibility and filter refusals apply to downloads too.
    r = await s.call("GET", "/v1/programmes.csv", s.dev1.token)
    names = [s.name_of(x["programme_id"]) for x in csv.DictReader(io.StringIO(r.text))]
    assert names == ["P1", "P2", "P4", "P5", "P6"]
    assert_problem(
        await s.call("GET", "/v1/programmes.csv", s.root, params={"colour": "x"}),
        422,
        "query.invalid_filter",
    )
    r = await s.call("GET", "/v1/users.csv", s.root, params={"company_id": s.dev1.company_id})
    [u] = list(csv.DictReader(io.StringIO(r.text)))
    assert (u["email"], u["company_role"]) == (s.dev1.admin_email, "ProgrammeDeveloper")
    # Past the row limit the download stops, and says so.
    monkeypatch.setattr(list_requests, "CSV_ROW_LIMIT", 3)
    r = await s.call("GET", "/v1/programmes.csv", s.root)
    assert (r.headers["X-Row-Limit"], r.headers["X-Row-Count"], r.headers["X-Truncated"]) == (
        "3",
        "3",
        "true",
    )
    assert len(list(csv.DictReader(io.StringIO(r.text)))) == 3

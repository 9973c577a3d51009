"""Per-seq cached answers over HTTP (``query_service.cache``, ``api/fastpath.py``): a repeated
read answers the same body for the same seq, a write's ``min_seq`` is honoured at once (never
an answer from before it), the body's seq and ``X-Registry-Seq`` always agree, and holdings
page by ``limit``/``cursor`` with totals over every holding."""

from __future__ import annotations

from typing import Any

import httpx
from e2e_helpers import E2E, assert_problem, bearer, programme_body
from test_queries_scene import Scene, build_scene


def answer(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert int(r.headers["X-Registry-Seq"]) == body["seq"]
    return body


async def test_cached_statistics_honour_min_seq(registry: E2E) -> None:
    s = await build_scene(registry)
    client = s.client
    path = "/v1/stats/programmes-by-status"
    at = {"min_seq": s.seq}
    first = answer(await client.get(path, params=at, headers=bearer(s.root)))
    for _ in range(3):  # served again (the short way after the first): same seq, same body
        again = await client.get(path, params=at, headers=bearer(s.root))
        assert again.content == (await client.get(path, params=at, headers=bearer(s.root))).content
        assert answer(again) == first

    out = await s.ok("/v1/programmes", s.dev1.token, programme_body(s.dev1.tax_id))
    written = int(out["seq"])
    for _ in range(3):
        after = answer(await client.get(path, params={"min_seq": written}, headers=bearer(s.root)))
        assert after["seq"] >= written
        assert after["data"]["totals"]["count"] == first["data"]["totals"]["count"] + 1
    # Without min_seq a read never goes back to the answer from before the write.
    latest = answer(await client.get(path, headers=bearer(s.root)))
    assert latest["seq"] >= written
    assert latest["data"]["totals"]["count"] == first["data"]["totals"]["count"] + 1

    # The answer depends on who asks: a developer sees its own view, not Root's.
    mine = answer(
        await client.get(path, params={"only_mine": "true"}, headers=bearer(s.dev2.token))
    )
    assert mine["data"]["totals"]["count"] < latest["data"]["totals"]["count"]
    # A forbidden statistic stays forbidden after someone allowed read it.
    assert answer(await client.get("/v1/stats/national-accounting", headers=bearer(s.root)))
    for _ in range(2):
        r = await client.get("/v1/stats/national-accounting", headers=bearer(s.dev1.token))
        assert_problem(r, 403, "stats.forbidden")


async def test_holdings_pages(registry: E2E) -> None:
    s: Scene = await build_scene(registry)
    client = s.client
    params = {"company_id": s.dev1.company_id, "min_seq": s.seq}
    whole = answer(await client.get("/v1/holdings", params=params, headers=bearer(s.root)))
    rows = whole["data"]["holdings"]
    assert len(rows) >= 2
    assert whole["data"]["next_cursor"] is None
    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = answer(await client.get("/v1/holdings", params=q, headers=bearer(s.root)))
        data = page["data"]
        assert {k: data[k] for k in ("total", "available", "frozen")} == {
            k: whole["data"][k] for k in ("total", "available", "frozen")
        }
        paged += data["holdings"]
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert paged == rows
    # Another organisation's holdings stay forbidden to a developer.
    r = await client.get(
        "/v1/holdings", params={"company_id": s.dev1.company_id}, headers=bearer(s.dev2.token)
    )
    assert_problem(r, 403, "holdings.forbidden")
    r = await client.get("/v1/holdings", params={"cursor": "nope"}, headers=bearer(s.root))
    assert_problem(r, 400, "query.invalid_cursor")

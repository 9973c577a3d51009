"""Concurrent commands over HTTP: the single writer gives each a distinct, dense seq."""

from __future__ import annotations

import asyncio
import uuid

from e2e_helpers import (
    E2E,
    assert_problem,
    bearer,
    programme_body,
    read_seq,
    register_developer,
    root_token,
)


async def test_50_concurrent_creates_get_a_dense_range_of_seqs(registry: E2E) -> None:
    client = registry.client
    dev = await register_developer(registry, await root_token(registry))
    before = await read_seq(registry, min_seq=dev.seq)
    bodies = [programme_body(dev.tax_id) for _ in range(50)]
    assert len({b["external_id"] for b in bodies}) == 50

    responses = await asyncio.gather(
        *(client.post("/v1/programmes", json=b, headers=bearer(dev.token)) for b in bodies)
    )
    assert [r.status_code for r in responses] == [201] * 50, [
        r.text for r in responses if r.status_code != 201
    ]
    results = [r.json() for r in responses]
    seqs = sorted(res["seq"] for res in results)
    assert all(res["first_seq"] == res["seq"] for res in results)  # one event each
    assert seqs == list(range(before + 1, before + 51))
    assert len({res["aggregate_id"] for res in results}) == 50

    # Each programme is readable under the id its command returned, with its own fields.
    r = await client.get(
        "/v1/programmes",
        params={"min_seq": seqs[-1], "limit": 200},
        headers=bearer(dev.token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["seq"] == seqs[-1]
    rows = {p["programme_id"]: p for p in r.json()["data"]}
    assert len(rows) == 50
    for body, res in zip(bodies, results, strict=True):
        row = rows[res["aggregate_id"].removeprefix("programme-")]
        assert row["external_id"] == body["external_id"]
        assert row["created_seq"] == res["seq"]
    assert [p["created_seq"] for p in r.json()["data"]] == seqs

    # Paging through them with the keyset cursor yields each exactly once, in seq order.
    seen: list[int] = []
    params: dict[str, int | str] = {"limit": 20}
    for _ in range(10):
        r = await client.get("/v1/programmes", params=params, headers=bearer(dev.token))
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 20
        seen.extend(p["created_seq"] for p in page["data"])
        if page["next_cursor"] is None:
            break
        params = {"limit": 20, "after": page["next_cursor"]}
    assert seen == seqs


async def test_20_concurrent_creates_with_one_external_id_exactly_one_wins(
    registry: E2E,
) -> None:
    client = registry.client
    dev = await register_developer(registry, await root_token(registry))
    before = await read_seq(registry, min_seq=dev.seq)
    external_id = f"EXT-SAME-{uuid.uuid4().hex[:8]}"
    bodies = [programme_body(dev.tax_id, external_id=external_id) for _ in range(20)]

    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/programmes",
                json=b,
                headers={**bearer(dev.token), "Idempotency-Key": f"k-{uuid.uuid4().hex}"},
            )
            for b in bodies
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses]
    [winner] = [r.json() for r in responses if r.status_code == 201]
    assert winner["first_seq"] == winner["seq"] == before + 1
    winner_id = winner["aggregate_id"].removeprefix("programme-")
    for r in responses:
        if r.status_code == 409:
            problem = assert_problem(r, 409, "programme.external_id_taken")
            assert problem["details"]["programme_id"] == winner_id

    r = await client.get(
        "/v1/programmes", params={"min_seq": winner["seq"]}, headers=bearer(dev.token)
    )
    assert [p["programme_id"] for p in r.json()["data"]] == [winner_id]
    assert await read_seq(registry) == before + 1

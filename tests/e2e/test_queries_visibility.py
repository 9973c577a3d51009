"""Row-level visibility of the list queries (domain.md 4.2, 10.1): what a developer, a
certifier and the Government see, single reads included, checked by hand for the key
facts and, for every row, against the shared rule table (``libs.access_rules``)."""

from __future__ import annotations

from typing import Any

from e2e_helpers import E2E, assert_problem, developer_body
from test_queries_scene import Scene, build_scene

from libs.access_rules import row_filter, visible


async def _all(s: Scene, path: str, token: str, key: str) -> dict[Any, dict[str, Any]]:
    rows = await s.data(path, token, limit=200)
    return {r[key]: r for r in rows}


async def test_what_each_caller_sees(registry: E2E) -> None:
    s = await build_scene(registry)
    # A self-registration waits (Pending); another is rejected.
    pending_body = developer_body()
    r = await s.client.post("/v1/public/organisations/register", json=pending_body)
    assert r.status_code == 201, r.text
    s.seq = max(s.seq, r.json()["seq"])
    pending_id = int(r.json()["aggregate_id"].removeprefix("organisation-"))
    r = await s.client.post("/v1/public/organisations/register", json=developer_body())
    assert r.status_code == 201, r.text
    rejected_id = int(r.json()["aggregate_id"].removeprefix("organisation-"))
    await s.ok(f"/v1/organisations/{rejected_id}/reject", s.root, {"remarks": "incomplete"})

    # Programmes: a developer sees Approved/Authorised ones and its own.
    assert await s.names("/v1/programmes", s.dev1.token) == ["P1", "P2", "P4", "P5", "P6"]
    assert await s.names("/v1/programmes", s.dev2.token) == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert await s.names("/v1/programmes", s.cert.token) == ["P1", "P2", "P3", "P4", "P5", "P6"]
    p3 = s.pid["P3"]
    assert_problem(
        await s.call("GET", f"/v1/programmes/{p3}", s.dev1.token), 404, "programme.not_found"
    )
    assert (await s.data(f"/v1/programmes/{p3}", s.dev2.token))["programme_id"] == p3
    assert await s.data(f"/v1/programmes/{p3}/timeline", s.dev1.token) == []
    assert len(await s.data(f"/v1/programmes/{p3}/timeline", s.dev2.token)) == 1
    assert await s.data("/v1/timeline", s.dev1.token, programme_id=p3) == []

    # Organisations: registrations (Pending, Rejected) are the Government's business.
    gov_orgs = await _all(s, "/v1/organisations", s.root, "company_id")
    assert gov_orgs[pending_id]["state"] == "Pending"
    assert gov_orgs[rejected_id]["state"] == "Rejected"
    dev_orgs = await _all(s, "/v1/organisations", s.dev1.token, "company_id")
    assert pending_id not in dev_orgs
    assert rejected_id not in dev_orgs
    assert s.dev3.company_id in dev_orgs  # suspended organisations stay listed
    r = await s.call("GET", f"/v1/organisations/{pending_id}", s.dev1.token)
    assert_problem(r, 404, "organisation.not_found")
    assert await s.data("/v1/organisations", s.dev1.token, state="Pending") == []

    # Users: a developer sees its own organisation's users; pending users are hidden.
    dev_users = await s.data("/v1/users", s.dev1.token)
    assert [u["user_id"] for u in dev_users] == [s.dev1.admin_user_id]
    gov_users = await s.data("/v1/users", s.root, company_id=pending_id)
    assert [u["pending"] for u in gov_users] == [True]
    assert await s.data("/v1/users", s.dev1.token, company_id=pending_id) == []

    # Blocks: one's own and retired ones.
    dev1_blocks = await s.data("/v1/blocks", s.dev1.token, limit=200)
    assert {(b["company_id"], b["state"]) for b in dev1_blocks} == {
        (s.dev1.company_id, "active"),
        (None, "retired"),
        (s.gov_id, "retired"),
    }
    # Transfers and retirements: a developer sees those it is a party to, never
    # another's pending request.
    ids = s.requests
    dev3_transfers = {t["request_id"] for t in await s.data("/v1/transfers", s.dev3.token)}
    assert ids["t_pending"] not in dev3_transfers
    dev3_retirements = {t["request_id"] for t in await s.data("/v1/retirements", s.dev3.token)}
    assert ids["r_pending"] not in dev3_retirements
    dev1_transfers = {t["request_id"] for t in await s.data("/v1/transfers", s.dev1.token)}
    assert dev1_transfers == {ids["t_done"], ids["t_pending"]}
    r = await s.call("GET", f"/v1/transfers/{ids['t_pending']}", s.dev3.token)
    assert_problem(r, 404, "transfer.not_found")


def _expected(
    subject: str,
    caller: tuple[str, str, int],
    rows: dict[Any, dict[str, Any]],
    link: Any,
    state: Any,
) -> set[Any]:
    f = row_filter(subject, *caller)
    return {k for k, r in rows.items() if visible(f, link(r), state(r))}


async def test_every_row_agrees_with_the_shared_rules(registry: E2E) -> None:
    s = await build_scene(registry)
    callers = {
        "root": (s.root, ("Root", "Government", s.gov_id)),
        "dev1": (s.dev1.token, ("Admin", "ProgrammeDeveloper", s.dev1.company_id)),
        "dev3": (s.dev3.token, ("Admin", "ProgrammeDeveloper", s.dev3.company_id)),
        "cert": (s.cert.token, ("Admin", "Certifier", s.cert.company_id)),
    }
    subjects = [
        (
            "/v1/programmes",
            "programme_id",
            "programmes",
            lambda r: r["proponent_company_ids"],
            lambda r: r["stage"],
        ),
        (
            "/v1/organisations",
            "company_id",
            "organisations",
            lambda r: [r["company_id"]],
            lambda r: r["state"],
        ),
        (
            "/v1/blocks",
            "block_id",
            "credit_blocks",
            lambda r: [r["company_id"]],
            lambda r: r["state"],
        ),
        (
            "/v1/transfers",
            "request_id",
            "credit_requests",
            lambda r: [r["from_company_id"], r["to_company_id"], r["initiator_company_id"]],
            lambda r: r["status"],
        ),
        (
            "/v1/retirements",
            "request_id",
            "credit_requests",
            lambda r: [r["from_company_id"], r["to_company_id"], r["initiator_company_id"]],
            lambda r: r["status"],
        ),
    ]
    for path, key, subject, link, state in subjects:
        everything = await _all(s, path, s.root, key)
        assert everything, path
        for who, (token, caller) in callers.items():
            seen = set(await _all(s, path, token, key))
            want = _expected(subject, caller, everything, link, state)
            assert seen == want, (path, who)
            r = await s.call("GET", path, token, params={"count": "true", "limit": 1})
            assert r.json()["total"] == len(want), (path, who)

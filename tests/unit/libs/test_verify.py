"""The log verifier: a valid chain passes; every kind of damage is reported where it is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from libs.eventlog.ports import RawRecord
from libs.eventlog.verify import Break, Report, Verifier, verify_log
from schemas.codec import make_event
from schemas.enums import CompanyRole, CompanyState, UserRole
from schemas.envelope import GENESIS_HASH, SYSTEM_ACTOR, Actor
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.registry import RegistryInitialised
from schemas.hashing import chain_hash

N = 20
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def payload(i: int) -> EventPayload:
    if i == 0:
        return RegistryInitialised(
            country_code="TL",
            country_name="Testland",
            credit_unit="ITMO",
            government_company_id=1,
            root_user_id=1,
        )
    if i % 2:
        return OrganisationRegistered(
            company_id=i,
            name=f"Organisation number {i}",
            role=CompanyRole.PROGRAMME_DEVELOPER,
            state=CompanyState.ACTIVE,
            tax_id=f"T-{i}",
            payment_id=f"P-{i}",
            email=f"org{i}@example.org",
            phone=None,
            website=None,
            address=None,
            country_code="TL",
            sectoral_scopes=[],
            minister_name=None,
        )
    return UserCreated(
        user_id=i,
        company_id=i - 1,
        email=f"user{i}@example.org",
        name=f"User number {i}",
        role=UserRole.ADMIN,
        phone=None,
        pending=False,
    )


def chain(n: int = N) -> list[bytes]:
    raws: list[bytes] = []
    prev = GENESIS_HASH
    for i in range(n):
        p = payload(i)
        env, raw = make_event(
            registry="testland",
            seq=i + 1,
            payload=p,
            aggregate_id=f"{p.AGGREGATE}-{i}",
            aggregate_version=1,
            command_id=f"cmd-{i}",
            actor=SYSTEM_ACTOR if i == 0 else Actor(kind="user", user_id=1),
            occurred_at=NOW + timedelta(seconds=i),
            prev_hash=prev,
        )
        raws.append(raw)
        prev = env.hash
    return raws


def verify(raws: list[bytes]) -> Report:
    v = Verifier()
    for position, raw in enumerate(raws):
        v.feed(position, raw)
    return v.report


def positions(report: Report) -> list[tuple[int, int | None]]:
    return [(b.position, b.seq) for b in report.breaks]


def test_a_valid_chain_is_ok() -> None:
    raws = chain()
    report = verify(raws)
    assert report.ok, report.breaks
    assert report.events == N
    assert report.last_seq == N
    assert report.last_hash == orjson.loads(raws[-1])["hash"]
    assert report.types == {
        "RegistryInitialised": 1,
        "OrganisationRegistered": N // 2,
        "UserCreated": N // 2 - 1,
    }


def test_an_empty_log_is_ok() -> None:
    report = verify([])
    assert report.ok
    assert (report.events, report.last_seq, report.last_hash) == (0, 0, GENESIS_HASH)


@pytest.mark.parametrize("k", [0, 7, N - 1])
def test_one_flipped_byte_in_a_payload_value_is_found_at_that_event(k: int) -> None:
    raws = chain()
    needle = b"Testland" if k == 0 else b"number"
    i = raws[k].index(needle)
    flipped = bytearray(raws[k])
    flipped[i] ^= 0x01  # 'T' -> 'U', 'n' -> 'o': still valid JSON, still a valid payload
    raws[k] = bytes(flipped)
    orjson.loads(raws[k])
    report = verify(raws)
    assert positions(report) == [(k, k + 1)]
    assert "altered" in report.breaks[0].reason


def test_an_altered_event_with_a_recomputed_hash_is_found_at_the_next_event() -> None:
    raws = chain()
    k = 5
    body = orjson.loads(raws[k])
    body["payload"]["name"] = "Someone else"
    body["hash"] = chain_hash(body["prev_hash"], body)
    raws[k] = orjson.dumps(body)
    report = verify(raws)
    assert positions(report) == [(k + 1, k + 2)]
    assert "prev_hash" in report.breaks[0].reason


@pytest.mark.parametrize("k", [0, 9, N - 1])
def test_a_dropped_event_is_found_where_the_gap_is(k: int) -> None:
    raws = chain()
    del raws[k]
    report = verify(raws)
    if k == N - 1:
        # Dropping the tail is a truncation: see test_truncated_tail_*.
        assert report.ok
        return
    assert {(b.position, b.seq) for b in report.breaks} == {(k, k + 2)}
    reasons = " | ".join(b.reason for b in report.breaks)
    assert f"expected seq {k + 1}, found {k + 2} (missing)" in reasons
    assert "prev_hash does not match" in reasons
    # The walk continues: nothing after the gap is reported.
    assert report.last_seq == N


def test_two_swapped_events_are_found_at_the_first_of_them() -> None:
    raws = chain()
    k = 10
    raws[k], raws[k + 1] = raws[k + 1], raws[k]
    report = verify(raws)
    assert report.breaks[0] == Break(k, k + 2, f"expected seq {k + 1}, found {k + 2} (missing)")
    first = [b for b in report.breaks if b.position == k]
    second = [b for b in report.breaks if b.position == k + 1]
    assert {b.seq for b in first} == {k + 2}
    assert {b.seq for b in second} == {k + 1}
    assert any("duplicated or reordered" in b.reason for b in second)
    # Nothing before the swap is reported.
    assert min(b.position for b in report.breaks) == k


def test_a_duplicated_event_is_found_at_the_copy() -> None:
    raws = chain()
    k = 4
    raws.insert(k + 1, raws[k])
    report = verify(raws)
    assert {(b.position, b.seq) for b in report.breaks} == {(k + 1, k + 1)}
    reasons = " | ".join(b.reason for b in report.breaks)
    assert f"expected seq {k + 2}, found {k + 1} (duplicated or reordered)" in reasons
    assert report.events == N + 1
    assert report.last_seq == N


def test_a_truncated_record_is_reported_as_an_invalid_envelope() -> None:
    raws = chain()
    k = 12
    raws[k] = raws[k][: len(raws[k]) // 2]
    report = verify(raws)
    assert report.breaks[0].position == k
    assert report.breaks[0].seq is None
    assert report.breaks[0].reason.startswith("invalid envelope")
    # The next event no longer follows the last good one.
    assert (k + 1, k + 2) in positions(report)


def test_truncated_tail_is_only_visible_in_the_head() -> None:
    """A chain cannot prove its own end: the verifier reports the head it reached, which
    must be compared with a head recorded elsewhere."""
    raws = chain()
    full = verify(raws)
    short = verify(raws[:15])
    assert short.ok
    assert short.last_seq == 15
    assert short.last_hash != full.last_hash
    assert short.last_hash == orjson.loads(raws[14])["hash"]


def test_a_valid_envelope_with_an_invalid_payload_is_reported() -> None:
    raws = chain()
    k = 3
    body = orjson.loads(raws[k])
    body["payload"]["role"] = "Pirate"
    body["hash"] = chain_hash(body["prev_hash"], body)
    raws[k] = orjson.dumps(body)
    # Keep the chain intact after it: rebuild every later event on the new hash.
    prev = body["hash"]
    for j in range(k + 1, N):
        b = orjson.loads(raws[j])
        b["prev_hash"] = prev
        b["hash"] = chain_hash(prev, b)
        raws[j] = orjson.dumps(b)
        prev = b["hash"]
    report = verify(raws)
    assert positions(report) == [(k, k + 1)]
    assert report.breaks[0].reason.startswith("payload not valid as OrganisationRegistered")


def test_an_unknown_event_type_is_reported() -> None:
    raws = chain(3)
    body = orjson.loads(raws[2])
    body["type"] = "Unheard"
    body["hash"] = chain_hash(body["prev_hash"], body)
    raws[2] = orjson.dumps(body)
    report = verify(raws)
    assert positions(report) == [(2, 3)]
    assert "payload not valid as Unheard" in report.breaks[0].reason


def test_breaks_are_capped() -> None:
    v = Verifier(max_breaks=3)
    for position in range(10):
        v.feed(position, b"not json")
    assert v.report.events == 10
    assert len(v.report.breaks) == 3
    assert not v.report.ok


class ListSource:
    """An in-memory EventSource."""

    def __init__(self, raws: list[bytes]) -> None:
        self.raws = raws
        self.pos = 0

    async def seek(self, position: int) -> None:
        self.pos = position

    async def next_batch(self, max_records: int, timeout_s: float) -> list[RawRecord]:
        batch = [RawRecord(i, r) for i, r in enumerate(self.raws)][self.pos : self.pos + 7]
        self.pos += len(batch)
        return batch

    async def end_position(self) -> int:
        return len(self.raws)

    async def close(self) -> None:
        return None


def test_verify_log_walks_a_source_in_batches() -> None:
    raws = chain()
    seen: list[tuple[int, int]] = []
    report = asyncio.run(verify_log(ListSource(raws), lambda pos, end: seen.append((pos, end))))
    assert report.ok
    assert report.events == N
    assert seen == [(7, N), (14, N), (N, N)]
    del raws[3]
    report = asyncio.run(verify_log(ListSource(raws)))
    assert positions(report)[0] == (3, 5)

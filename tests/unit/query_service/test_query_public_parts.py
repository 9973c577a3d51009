"""The public API's token bucket and the region table (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from query_service.api.ratelimit import TokenBucket
from query_service.queries.regions import find_region, load_regions, region_key, regions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_grants_its_capacity_then_refills_at_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(100, 60.0, clock=clock)
    assert all(bucket.take("a") == 0 for _ in range(100))
    wait = bucket.take("a")
    assert wait == pytest.approx(0.6)  # one token every 0.6 s
    assert bucket.take("b") == 0  # every client has its own bucket
    clock.now += 0.6
    assert bucket.take("a") == 0
    assert bucket.take("a") > 0
    clock.now += 3600  # refills up to the capacity, never beyond
    assert all(bucket.take("a") == 0 for _ in range(100))
    assert bucket.take("a") > 0


def test_refused_requests_do_not_dig_deeper() -> None:
    clock = Clock()
    bucket = TokenBucket(2, 2.0, clock=clock)
    bucket.take("a")
    bucket.take("a")
    for _ in range(50):
        assert bucket.take("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert bucket.take("a") == 0


def test_the_client_map_is_bounded() -> None:
    bucket = TokenBucket(1, 60.0, max_clients=3, clock=Clock())
    for client in "abcd":
        bucket.take(client)
    assert bucket.take("a") == 0  # "a" was forgotten (least recently seen)
    assert bucket.take("d") > 0


def test_regions_match_names_loosely(tmp_path: Path) -> None:
    assert len(regions()) == 37
    lagos = find_region("  lagos ")
    assert lagos is not None
    assert (lagos.name, lagos.latitude, lagos.longitude) == ("Lagos", 6.526903299, 3.5774005)
    assert find_region("Federal   Capital Territory") is not None
    assert find_region("Atlantis") is None
    assert region_key("Akwa  Ibom") == "akwa ibom"
    csv = tmp_path / "regions.csv"
    csv.write_text("Name,Country,Latitude,Longitude,Language\nCoast,Kenya,-3.2,39.8,en\n")
    assert load_regions(csv)["coast"].longitude == 39.8

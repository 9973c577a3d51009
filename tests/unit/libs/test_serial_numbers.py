"""Unit and property tests for libs.serial_numbers."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from libs.serial_numbers import (
    Serial,
    SerialNumberError,
    UnitRange,
    allocate_largest_remainder,
    format_serial,
    parse_serial,
    split_consecutive,
    split_high,
    take_next,
)

EXAMPLE = "VU-ITMO-11-356-2022-0-27-35"
VALID: dict[str, Any] = {
    "country": "VU",
    "credit_unit": "ITMO",
    "sectoral_scope": "11",
    "programme_id": "356",
    "year": 2022,
    "start": 27,
    "end": 35,
}


def assert_code(excinfo: pytest.ExceptionInfo[SerialNumberError], code: str) -> None:
    assert excinfo.value.code == code
    assert str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


# --- format / parse -------------------------------------------------------------------------


def test_format_domain_example() -> None:
    assert format_serial("VU", "ITMO", "11", "356", 2022, 27, 35) == EXAMPLE


def test_parse_domain_example() -> None:
    serial = parse_serial(EXAMPLE)
    assert serial == Serial("VU", "ITMO", "11", "356", 2022, 27, 35)
    assert serial.size == 9
    assert serial.units == UnitRange(27, 35)
    assert str(serial) == EXAMPLE


def test_serial_is_frozen() -> None:
    serial = parse_serial(EXAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        serial.start = 1  # type: ignore[misc]


def test_single_unit_serial() -> None:
    assert format_serial("NG", "ITMO", "1", "1", 1900, 1, 1) == "NG-ITMO-1-1-1900-0-1-1"
    assert parse_serial("NG-ITMO-1-1-9999-0-1-1").size == 1


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("country", "vu", "serial.invalid_country"),
        ("country", "VUT", "serial.invalid_country"),
        ("country", "V", "serial.invalid_country"),
        ("country", "V1", "serial.invalid_country"),
        ("country", "", "serial.invalid_country"),
        ("country", 12, "serial.invalid_country"),
        ("credit_unit", "", "serial.invalid_credit_unit"),
        ("credit_unit", "IT-MO", "serial.invalid_credit_unit"),
        ("credit_unit", "A" * 17, "serial.invalid_credit_unit"),
        ("credit_unit", "IT MO", "serial.invalid_credit_unit"),
        ("credit_unit", None, "serial.invalid_credit_unit"),
        ("sectoral_scope", "0", "serial.invalid_sectoral_scope"),
        ("sectoral_scope", "16", "serial.invalid_sectoral_scope"),
        ("sectoral_scope", "011", "serial.invalid_sectoral_scope"),
        ("sectoral_scope", "-1", "serial.invalid_sectoral_scope"),
        ("sectoral_scope", "x", "serial.invalid_sectoral_scope"),
        ("sectoral_scope", "", "serial.invalid_sectoral_scope"),
        ("sectoral_scope", 11, "serial.invalid_sectoral_scope"),
        ("programme_id", "", "serial.invalid_programme_id"),
        ("programme_id", "35-6", "serial.invalid_programme_id"),
        ("programme_id", "P356", "serial.invalid_programme_id"),
        ("programme_id", "1" * 21, "serial.invalid_programme_id"),
        ("programme_id", "٣", "serial.invalid_programme_id"),
        ("programme_id", 356, "serial.invalid_programme_id"),
        ("year", 1899, "serial.invalid_year"),
        ("year", 10000, "serial.invalid_year"),
        ("year", "2022", "serial.invalid_year"),
        ("year", True, "serial.invalid_year"),
        ("start", 0, "serial.invalid_range"),
        ("start", -3, "serial.invalid_range"),
        ("start", 36, "serial.invalid_range"),
        ("start", 27.0, "serial.invalid_range"),
        ("end", 26, "serial.invalid_range"),
        ("end", "35", "serial.invalid_range"),
        ("end", False, "serial.invalid_range"),
    ],
)
def test_format_rejects_invalid_field(field: str, value: object, code: str) -> None:
    with pytest.raises(SerialNumberError) as excinfo:
        format_serial(**{**VALID, field: value})
    assert_code(excinfo, code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "serial.malformed"),
        ("VU-ITMO-11-356-2022-0-27", "serial.malformed"),
        ("VU-ITMO-11-356-2022-0-27-35-1", "serial.malformed"),
        ("VU-ITMO-11-356-2022-1-27-35", "serial.malformed"),
        ("VU-ITMO-11-356-2022-00-27-35", "serial.malformed"),
        ("VU-ITMO-11-356-2022-0-027-35", "serial.malformed"),
        ("VU-ITMO-11-356-2022-0-27-+35", "serial.malformed"),
        ("VU-ITMO-11-356-02022-0-27-35", "serial.malformed"),
        ("VU-ITMO-11-356-2022-0-27-3 5", "serial.malformed"),
        ("VU-ITMO-11-356-20x2-0-27-35", "serial.malformed"),
        ("VU-ITMO-11-356-2022-0--35", "serial.malformed"),
        (" VU-ITMO-11-356-2022-0-27-35", "serial.invalid_country"),
        ("vu-ITMO-11-356-2022-0-27-35", "serial.invalid_country"),
        ("VU--11-356-2022-0-27-35", "serial.invalid_credit_unit"),
        ("VU-ITMO-16-356-2022-0-27-35", "serial.invalid_sectoral_scope"),
        ("VU-ITMO-11-x-2022-0-27-35", "serial.invalid_programme_id"),
        ("VU-ITMO-11-356-1800-0-27-35", "serial.invalid_year"),
        ("VU-ITMO-11-356-2022-0-0-35", "serial.invalid_range"),
        ("VU-ITMO-11-356-2022-0-36-35", "serial.invalid_range"),
    ],
)
def test_parse_rejects_malformed(text: str, code: str) -> None:
    with pytest.raises(SerialNumberError) as excinfo:
        parse_serial(text)
    assert_code(excinfo, code)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(SerialNumberError) as excinfo:
        parse_serial(42)  # type: ignore[arg-type]
    assert_code(excinfo, "serial.malformed")


serials = st.builds(
    Serial,
    country=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    credit_unit=st.from_regex(r"[A-Za-z0-9]{1,16}", fullmatch=True),
    sectoral_scope=st.integers(1, 15).map(str),
    programme_id=st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    year=st.integers(1900, 9999),
    start=st.just(1),
    end=st.just(1),
).flatmap(
    lambda s: st.tuples(st.integers(1, 10**12), st.integers(0, 10**12)).map(
        lambda pair: dataclasses.replace(s, start=pair[0], end=pair[0] + pair[1])
    )
)


@given(serials)
def test_format_parse_round_trip(serial: Serial) -> None:
    text = format_serial(
        serial.country,
        serial.credit_unit,
        serial.sectoral_scope,
        serial.programme_id,
        serial.year,
        serial.start,
        serial.end,
    )
    assert text == str(serial)
    assert parse_serial(text) == serial
    assert str(parse_serial(text)) == text
    assert serial.size == serial.end - serial.start + 1


@given(st.text(max_size=60))
def test_parse_accepts_only_canonical_text(text: str) -> None:
    code = "serial.ok"
    try:
        serial = parse_serial(text)
    except SerialNumberError as error:
        code = error.code
    else:
        assert str(serial) == text
    assert code.startswith("serial.")


# --- UnitRange ------------------------------------------------------------------------------


def test_unit_range_basics() -> None:
    r = UnitRange(27, 35)
    assert r.size == 9
    assert r.contains(27)
    assert r.contains(35)
    assert not r.contains(26)
    assert not r.contains(36)
    assert str(r) == "27-35"
    assert UnitRange(5, 5).size == 1


@pytest.mark.parametrize(
    ("start", "end"), [(0, 5), (-1, 5), (6, 5), (1.0, 5), (1, "5"), (True, 5), (None, 1)]
)
def test_unit_range_rejects_invalid(start: Any, end: Any) -> None:
    with pytest.raises(SerialNumberError) as excinfo:
        UnitRange(start, end)
    assert_code(excinfo, "serial.invalid_range")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((1, 5), (5, 9), True),
        ((1, 5), (6, 9), False),
        ((3, 4), (1, 10), True),
        ((1, 10), (3, 4), True),
        ((7, 9), (1, 6), False),
        ((2, 2), (2, 2), True),
    ],
)
def test_overlaps(a: tuple[int, int], b: tuple[int, int], expected: bool) -> None:
    assert UnitRange(*a).overlaps(UnitRange(*b)) is expected
    assert UnitRange(*b).overlaps(UnitRange(*a)) is expected


ranges = st.tuples(st.integers(1, 10**9), st.integers(0, 10**6)).map(
    lambda pair: UnitRange(pair[0], pair[0] + pair[1])
)


@given(ranges, ranges)
def test_overlaps_matches_shared_units(a: UnitRange, b: UnitRange) -> None:
    shared = max(a.start, b.start) <= min(a.end, b.end)
    assert a.overlaps(b) is shared


# --- split_high -----------------------------------------------------------------------------


def test_split_high_domain_rule() -> None:
    assert split_high(UnitRange(27, 35), 4) == (UnitRange(27, 31), UnitRange(32, 35))
    assert split_high(UnitRange(27, 35), 9) == (None, UnitRange(27, 35))
    assert split_high(UnitRange(27, 35), 1) == (UnitRange(27, 34), UnitRange(35, 35))


@pytest.mark.parametrize("amount", [0, -1, 10, 2.0, True, "3"])
def test_split_high_rejects_bad_amount(amount: Any) -> None:
    with pytest.raises(SerialNumberError) as excinfo:
        split_high(UnitRange(27, 35), amount)
    assert_code(excinfo, "serial.invalid_amount")


@given(ranges, st.data())
def test_split_high_partitions_exactly(r: UnitRange, data: st.DataObject) -> None:
    amount = data.draw(st.integers(1, r.size))
    kept, moved = split_high(r, amount)
    assert moved.size == amount
    assert moved.end == r.end
    if kept is None:
        assert moved == r
    else:
        assert kept.start == r.start
        assert kept.end + 1 == moved.start
        assert not kept.overlaps(moved)
        assert kept.size + moved.size == r.size


# --- take_next ------------------------------------------------------------------------------


def test_take_next() -> None:
    assert take_next(26, 9) == UnitRange(27, 35)
    assert take_next(0, 1) == UnitRange(1, 1)


@pytest.mark.parametrize(
    ("counter", "amount", "code"),
    [
        (-1, 5, "serial.invalid_counter"),
        (1.0, 5, "serial.invalid_counter"),
        (True, 5, "serial.invalid_counter"),
        (0, 0, "serial.invalid_amount"),
        (0, -2, "serial.invalid_amount"),
        (0, "3", "serial.invalid_amount"),
    ],
)
def test_take_next_rejects(counter: Any, amount: Any, code: str) -> None:
    with pytest.raises(SerialNumberError) as excinfo:
        take_next(counter, amount)
    assert_code(excinfo, code)


@given(st.integers(0, 10**12), st.lists(st.integers(1, 10**6), min_size=1, max_size=20))
def test_take_next_blocks_never_overlap(counter: int, amounts: list[int]) -> None:
    blocks = []
    for amount in amounts:
        block = take_next(counter, amount)
        assert block.size == amount
        counter = block.end
        blocks.append(block)
    for i, a in enumerate(blocks):
        for b in blocks[i + 1 :]:
            assert not a.overlaps(b)
            assert a.end + 1 <= b.start


# --- allocate_largest_remainder -------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [50, 50], [50, 50]),
        (10, [Decimal("33.333333"), Decimal("33.333333"), Decimal("33.333334")], [3, 3, 4]),
        (10, [1, 1, 1], [4, 3, 3]),
        (2, [1, 1, 1], [1, 1, 0]),
        (7, [Decimal(70), Decimal(30)], [5, 2]),
        (1, [0, 100], [0, 1]),
        (0, [60, 40], [0, 0]),
        (0, [0, 0], [0, 0]),
        (5, [1], [5]),
        (3, [Decimal("0.5"), Decimal("0.25"), Decimal("0.25")], [1, 1, 1]),
        (5, [Decimal("0.5"), Decimal("0.25"), Decimal("0.25")], [3, 1, 1]),
    ],
)
def test_allocate_examples(total: int, weights: list[Decimal | int], expected: list[int]) -> None:
    assert allocate_largest_remainder(total, weights) == expected


@pytest.mark.parametrize(
    ("total", "weights", "code"),
    [
        (-1, [1], "serial.invalid_total"),
        (1.0, [1], "serial.invalid_total"),
        (True, [1], "serial.invalid_total"),
        (5, [], "serial.invalid_weights"),
        (5, [0, 0], "serial.invalid_weights"),
        (5, [1, -1, 2], "serial.invalid_weights"),
        (5, [Decimal("NaN")], "serial.invalid_weights"),
        (5, [Decimal("Infinity")], "serial.invalid_weights"),
        (5, [0.5, 0.5], "serial.invalid_weights"),
        (5, [True, 1], "serial.invalid_weights"),
        (5, ["50", "50"], "serial.invalid_weights"),
    ],
)
def test_allocate_rejects(total: Any, weights: Any, code: str) -> None:
    with pytest.raises(SerialNumberError) as excinfo:
        allocate_largest_remainder(total, weights)
    assert_code(excinfo, code)


weights_strategy = st.lists(
    st.one_of(
        st.integers(0, 10**6),
        st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=12,
)


@given(st.integers(0, 10**12), weights_strategy)
def test_allocate_sums_and_stays_within_one(total: int, weights: list[Decimal | int]) -> None:
    weight_sum = sum((Fraction(w) for w in weights), Fraction(0))
    assume(weight_sum > 0)
    parts = allocate_largest_remainder(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        exact = total * Fraction(weight) / weight_sum
        assert part >= 0
        assert abs(part - exact) < 1
        if weight == 0:
            assert part == 0


@given(st.integers(0, 1000), weights_strategy)
def test_allocate_is_deterministic(total: int, weights: list[Decimal | int]) -> None:
    assume(sum(Fraction(w) for w in weights) > 0)
    assert allocate_largest_remainder(total, weights) == allocate_largest_remainder(
        total, list(weights)
    )


# --- split_consecutive ----------------------------------------------------------------------


def test_split_consecutive_example() -> None:
    assert split_consecutive(UnitRange(27, 35), [2, 0, 3, 4]) == [
        UnitRange(27, 28),
        None,
        UnitRange(29, 31),
        UnitRange(32, 35),
    ]
    assert split_consecutive(UnitRange(1, 1), [1]) == [UnitRange(1, 1)]


@pytest.mark.parametrize(
    ("amounts", "code"),
    [
        ([4, 4], "serial.amounts_mismatch"),
        ([5, 5], "serial.amounts_mismatch"),
        ([], "serial.amounts_mismatch"),
        ([10, -1], "serial.invalid_amount"),
        ([20, -11], "serial.invalid_amount"),
        ([4.5, 4.5], "serial.invalid_amount"),
        ([True, 8], "serial.invalid_amount"),
    ],
)
def test_split_consecutive_rejects(amounts: Any, code: str) -> None:
    with pytest.raises(SerialNumberError) as excinfo:
        split_consecutive(UnitRange(27, 35), amounts)
    assert_code(excinfo, code)


@given(ranges, st.data())
def test_split_consecutive_partitions_exactly(r: UnitRange, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, r.size), max_size=10)))
    bounds = [0, *cuts, r.size]
    amounts = [b - a for a, b in itertools.pairwise(bounds)]
    pieces = split_consecutive(r, amounts)
    assert len(pieces) == len(amounts)
    expected_start = r.start
    for piece, amount in zip(pieces, amounts, strict=True):
        if amount == 0:
            assert piece is None
            continue
        assert piece is not None
        assert piece.start == expected_start
        assert piece.size == amount
        expected_start = piece.end + 1
    assert expected_start == r.end + 1


@given(st.integers(0, 10**6), weights_strategy, st.integers(1, 10**9))
def test_allocate_then_split_covers_block(
    total: int, weights: list[Decimal | int], start: int
) -> None:
    assume(total > 0 and sum(Fraction(w) for w in weights) > 0)
    block = UnitRange(start, start + total - 1)
    pieces = [p for p in split_consecutive(block, allocate_largest_remainder(total, weights)) if p]
    assert sum(p.size for p in pieces) == block.size
    assert pieces[0].start == block.start
    assert pieces[-1].end == block.end

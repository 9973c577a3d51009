"""Unit and property tests for libs.credit_calculator."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.credit_calculator import (
    AREA_UNITS,
    DEFAULT_AGRICULTURE_CONSTANTS,
    DEFAULT_SOLAR_CONSTANTS,
    DEFAULT_VERSION,
    ENERGY_UNITS,
    TIME_UNITS,
    AgricultureConstants,
    BuildingType,
    CalculatorError,
    CalculatorType,
    ConstantsBook,
    EnergyRateUnit,
    SolarConstants,
    agriculture_credits,
    convert_area,
    convert_energy,
    convert_time,
    parse_energy_rate_unit,
    quantize_result,
    solar_credits,
    to_decimal,
)


def assert_error(
    excinfo: pytest.ExceptionInfo[CalculatorError], code: str, message: str | None = None
) -> None:
    assert excinfo.value.code == code
    assert isinstance(excinfo.value, ValueError)
    if message is not None:
        assert str(excinfo.value) == message


# --- units ----------------------------------------------------------------------------------

AREA_IN_M2 = {
    "mm2": "0.000001",
    "cm2": "0.0001",
    "m2": "1",
    "ha": "10000",
    "km2": "1000000",
    "in2": "0.00064516",
    "ft2": "0.09290304",
    "yd2": "0.83612736",
    "ac": "4046.8564224",
    "mi2": "2589988.110336",
}
TIME_IN_S = {
    "s": "1",
    "min": "60",
    "h": "3600",
    "d": "86400",
    "week": "604800",
    "month": "2629800",
    "year": "31557600",
}
ENERGY_IN_J = {
    "J": "1",
    "kJ": "1000",
    "mWh": "3.6",
    "Wh": "3600",
    "kWh": "3600000",
    "MWh": "3600000000",
    "GWh": "3600000000000",
}


def test_unit_tables_are_exactly_the_documented_units() -> None:
    assert set(AREA_UNITS) == set(AREA_IN_M2)
    assert set(TIME_UNITS) == set(TIME_IN_S)
    assert set(ENERGY_UNITS) == set(ENERGY_IN_J)


@pytest.mark.parametrize(("unit", "m2"), AREA_IN_M2.items())
def test_every_area_unit(unit: str, m2: str) -> None:
    assert convert_area(Decimal(1), unit, "m2") == Decimal(m2)
    assert convert_area(Decimal(m2), "m2", unit) == Decimal(1)
    assert convert_area(Decimal(7), unit, unit) == Decimal(7)


@pytest.mark.parametrize(("unit", "seconds"), TIME_IN_S.items())
def test_every_time_unit(unit: str, seconds: str) -> None:
    assert convert_time(Decimal(1), unit, "s") == Decimal(seconds)
    assert convert_time(Decimal(seconds), "s", unit) == Decimal(1)


@pytest.mark.parametrize(("unit", "joules"), ENERGY_IN_J.items())
def test_every_energy_unit(unit: str, joules: str) -> None:
    assert convert_energy(Decimal(1), unit, "J") == Decimal(joules)
    assert convert_energy(Decimal(joules), "J", unit) == Decimal(1)


def test_known_conversions() -> None:
    assert convert_area(Decimal(1), "km2", "ha") == 100
    assert convert_area(Decimal(640), "ac", "mi2") == 1
    assert convert_area(Decimal(1), "yd2", "ft2") == 9
    assert convert_area(Decimal(144), "in2", "ft2") == 1
    assert convert_time(Decimal(1), "year", "d") == Decimal("365.25")
    assert convert_time(Decimal(1), "year", "month") == 12
    assert convert_time(Decimal(1), "month", "d") == Decimal("30.4375")
    assert convert_time(Decimal(2), "week", "d") == 14
    assert convert_energy(Decimal(1), "MWh", "kWh") == 1000
    assert convert_energy(Decimal(1), "Wh", "mWh") == 1000
    assert convert_energy(Decimal(1), "GWh", "MWh") == 1000
    assert convert_energy(Decimal(1), "kJ", "J") == 1000


@pytest.mark.parametrize(
    ("convert", "code"),
    [
        (convert_area, "calculator.invalid_area_unit"),
        (convert_time, "calculator.invalid_time_unit"),
        (convert_energy, "calculator.invalid_energy_unit"),
    ],
)
def test_convert_rejects_unknown_units(convert: Any, code: str) -> None:
    for args in (("bogus", "bogus"), ("bogus", "m2")):
        with pytest.raises(CalculatorError) as excinfo:
            convert(Decimal(1), *args)
        assert excinfo.value.code == code
        assert "bogus" in str(excinfo.value)


def test_parse_energy_rate_unit() -> None:
    parsed = parse_energy_rate_unit("kWh/year/unit", "c", "m")
    assert parsed == EnergyRateUnit("kWh", "year")
    assert str(parsed) == "kWh/year/unit"


@pytest.mark.parametrize(
    "text",
    ["kWh/year", "kWh/year/unit/x", "kWh/year/units", "kW/year/unit", "kWh/yr/unit", "", 5],
)
def test_parse_energy_rate_unit_rejects(text: Any) -> None:
    with pytest.raises(CalculatorError) as excinfo:
        parse_energy_rate_unit(text, "calculator.x", "Bad unit")
    assert_error(excinfo, "calculator.x", f"Bad unit {text}")


# --- number inputs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (16, Decimal(16)),
        ("16", Decimal(16)),
        (" 1.5 ", Decimal("1.5")),
        ("1e3", Decimal(1000)),
        (".5", Decimal("0.5")),
        ("-2", Decimal(-2)),
        (Decimal("0.046"), Decimal("0.046")),
    ],
)
def test_to_decimal_accepts(value: Any, expected: Decimal) -> None:
    assert to_decimal(value, "x") == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (1.5, "calculator.float_not_allowed"),
        (float("nan"), "calculator.float_not_allowed"),
        (True, "calculator.invalid_number"),
        (None, "calculator.invalid_number"),
        ([1], "calculator.invalid_number"),
        ("", "calculator.invalid_number"),
        ("abc", "calculator.invalid_number"),
        ("1_000", "calculator.invalid_number"),
        ("1,5", "calculator.invalid_number"),
        ("NaN", "calculator.not_finite"),
        ("-Infinity", "calculator.not_finite"),
        ("inf", "calculator.not_finite"),
        (Decimal("NaN"), "calculator.not_finite"),
        (Decimal("sNaN"), "calculator.not_finite"),
        (Decimal("Infinity"), "calculator.not_finite"),
    ],
)
def test_to_decimal_rejects(value: Any, code: str) -> None:
    with pytest.raises(CalculatorError) as excinfo:
        to_decimal(value, "x")
    assert_error(excinfo, code)


def test_quantize_result_rounds_half_up() -> None:
    assert quantize_result(Decimal("0.135")) == Decimal("0.14")
    assert quantize_result(Decimal("0.125")) == Decimal("0.13")
    assert quantize_result(Decimal("0.4349")) == Decimal("0.43")
    assert str(quantize_result(Decimal(88))) == "88.00"


# --- agriculture ----------------------------------------------------------------------------


def test_agriculture_domain_example() -> None:
    result = agriculture_credits(16, "ha", 120, "d")
    assert result == Decimal("88.32")
    assert str(result) == "88.32"
    assert agriculture_credits("16", "ha", Decimal(120), "d") == Decimal("88.32")


def test_agriculture_converts_units() -> None:
    assert agriculture_credits(160000, "m2", 120 * 86400, "s") == Decimal("88.32")
    assert agriculture_credits("0.16", "km2", 2880, "h") == Decimal("88.32")
    # One year = 365.25 days: 1 ha x 0.046 x 365.25 = 16.8015 -> 16.80
    assert agriculture_credits(1, "ha", 1, "year") == Decimal("16.80")
    # One month = 30.4375 days: 0.046 x 30.4375 = 1.400125 -> 1.40
    assert agriculture_credits(1, "ha", 1, "month") == Decimal("1.40")
    assert agriculture_credits(1, "ha", 1, "week") == Decimal("0.32")
    # 1 ac = 0.40468564224 ha; x 0.046 x 100 d = 1.86155...
    assert agriculture_credits(1, "ac", 100, "d") == Decimal("1.86")


@pytest.mark.parametrize("unit", sorted(AREA_UNITS))
def test_agriculture_every_area_unit(unit: str) -> None:
    area_in_unit = Decimal(10000) / AREA_UNITS[unit]  # 1 ha expressed in `unit`
    assert agriculture_credits(area_in_unit, unit, 1000, "d") == Decimal("46.00")


@pytest.mark.parametrize("unit", sorted(TIME_UNITS))
def test_agriculture_every_time_unit(unit: str) -> None:
    duration = Decimal(86400) * 1000 / TIME_UNITS[unit]  # 1000 days in `unit`
    assert agriculture_credits(1, "ha", duration, unit) == Decimal("46.00")


def test_agriculture_custom_constants() -> None:
    constants = AgricultureConstants(Decimal("0.5"), "tCO2e/m2/year")
    assert constants.area_unit == "m2"
    assert constants.time_unit == "year"
    assert agriculture_credits(2, "m2", "365.25", "d", constants) == Decimal("1.00")
    assert agriculture_credits(1, "ha", 1, "year", constants) == Decimal("5000.00")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            (16, "acre", 120, "d"),
            "calculator.invalid_land_area_unit",
            "Invalid land area unit acre",
        ),
        ((16, "ha", 120, "days"), "calculator.invalid_duration_unit", "Invalid duration unit days"),
        ((16.0, "ha", 120, "d"), "calculator.float_not_allowed", None),
        ((16, "ha", 120.5, "d"), "calculator.float_not_allowed", None),
        ((True, "ha", 120, "d"), "calculator.invalid_number", None),
        (("NaN", "ha", 120, "d"), "calculator.not_finite", None),
        ((16, "ha", Decimal("Infinity"), "d"), "calculator.not_finite", None),
        ((-16, "ha", 120, "d"), "calculator.negative_value", None),
        ((16, "ha", "-1", "d"), "calculator.negative_value", None),
        ((0, "ha", 120, "d"), "calculator.zero_value", None),
        ((16, "ha", "0.0", "d"), "calculator.zero_value", None),
        (("1e99999", "ha", "1e99999", "d"), "calculator.out_of_range", None),
    ],
)
def test_agriculture_rejects(args: tuple[Any, ...], code: str, message: str | None) -> None:
    with pytest.raises(CalculatorError) as excinfo:
        agriculture_credits(*args)
    assert_error(excinfo, code, message)


@pytest.mark.parametrize(
    "unit", ["tCO2e/ha", "tCO2e/ha/d/x", "tCO2e/acre/d", "tCO2e/ha/day", "/ha/d"]
)
def test_agriculture_constants_reject_emission_factor_unit(unit: str) -> None:
    with pytest.raises(CalculatorError) as excinfo:
        AgricultureConstants(Decimal("0.046"), unit)
    assert_error(
        excinfo, "calculator.invalid_emission_factor_unit", f"Invalid emission factor unit {unit}"
    )


@pytest.mark.parametrize(
    ("factor", "code"),
    [
        (0.046, "calculator.float_not_allowed"),
        (Decimal("-0.1"), "calculator.negative_value"),
        (Decimal("NaN"), "calculator.not_finite"),
    ],
)
def test_agriculture_constants_reject_factor(factor: Any, code: str) -> None:
    with pytest.raises(CalculatorError) as excinfo:
        AgricultureConstants(factor)
    assert_error(excinfo, code)


def test_agriculture_constants_normalise_numbers() -> None:
    assert AgricultureConstants("0.046") == DEFAULT_AGRICULTURE_CONSTANTS  # type: ignore[arg-type]
    assert AgricultureConstants(Decimal(0)).emission_factor == 0


positive = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3)


@given(positive, positive, positive)
def test_agriculture_is_monotonic_in_area(area: Decimal, extra: Decimal, days: Decimal) -> None:
    small = agriculture_credits(area, "ha", days, "d")
    large = agriculture_credits(area + extra, "ha", days, "d")
    assert small <= large
    assert small.as_tuple().exponent == -2


@given(positive, positive)
def test_agriculture_unit_choice_does_not_matter(area: Decimal, days: Decimal) -> None:
    assert agriculture_credits(area, "ha", days, "d") == agriculture_credits(
        area * 10000, "m2", days * 24, "h"
    )


# --- solar ----------------------------------------------------------------------------------


def test_solar_domain_examples() -> None:
    assert solar_credits(20, "kWh/year/unit", "Household") == Decimal("0.14")
    assert solar_credits(105, "kWh/year/unit", "Household") == Decimal("0.44")
    assert solar_credits("105", "kWh/year/unit", BuildingType.HOUSEHOLD) == Decimal("0.44")


def test_solar_unrounded_values_match_original() -> None:
    # Scaling both factors by 1000 exposes the original's 0.136 and 0.439 unrounded values.
    scaled = dataclasses.replace(
        DEFAULT_SOLAR_CONSTANTS,
        emission_factor_below_threshold=Decimal(6800),
        emission_factor_above_threshold=Decimal(1300),
    )
    assert solar_credits(20, "kWh/year/unit", "Household", scaled) == Decimal("136.00")
    assert solar_credits(105, "kWh/year/unit", "Household", scaled) == Decimal("439.00")
    # Exactly at the threshold the high branch applies: 55 x 6.8 = 374.
    assert solar_credits(55, "kWh/year/unit", "Household", scaled) == Decimal("374.00")


@pytest.mark.parametrize(
    ("building_type", "threshold"),
    [
        ("Household", 55),
        ("HealthCenter", 825),
        ("Dispensary", 825),
        ("School", 275),
        ("PrimarySchool", 275),
        ("SecondarySchool", 275),
        ("PublicAdministration", 55),
        ("TradingPlace", 825),
        ("BusStop", 200),
    ],
)
def test_solar_every_building_type(building_type: str, threshold: int) -> None:
    assert DEFAULT_SOLAR_CONSTANTS.threshold_for(building_type) == threshold
    below = Decimal(threshold) * Decimal("6.8") / 1000
    assert solar_credits(threshold, "kWh/year/unit", building_type) == quantize_result(below)
    above = below + 1000 * Decimal("1.3") / 1000
    assert solar_credits(threshold + 1000, "kWh/year/unit", building_type) == quantize_result(above)


def test_building_type_enum_matches_defaults() -> None:
    assert {name for name, _ in DEFAULT_SOLAR_CONSTANTS.thresholds} == {
        b.value for b in BuildingType
    }


@pytest.mark.parametrize(
    ("generation", "unit"),
    [
        ("105", "kWh/year/unit"),
        ("105000", "Wh/year/unit"),
        ("105000000", "mWh/year/unit"),
        ("0.105", "MWh/year/unit"),
        ("0.000105", "GWh/year/unit"),
        ("378000000", "J/year/unit"),
        ("378000", "kJ/year/unit"),
    ],
)
def test_solar_same_generation_in_every_energy_unit(generation: str, unit: str) -> None:
    # 105 kWh/year/unit -> 0.439 (rounded 0.44) whatever energy unit measures it.
    assert solar_credits(generation, unit, "Household") == Decimal("0.44")


@pytest.mark.parametrize("time_unit", sorted(TIME_UNITS))
def test_solar_every_time_unit(time_unit: str) -> None:
    # The result is per measured time unit; the 55 kWh/year threshold is rescaled to it.
    scaled = dataclasses.replace(
        DEFAULT_SOLAR_CONSTANTS,
        emission_factor_below_threshold=Decimal(6800),  # 6.8 per kWh
        emission_factor_above_threshold=Decimal(1300),  # 1.3 per kWh
    )
    threshold = Decimal(55) * TIME_UNITS[time_unit] / TIME_UNITS["year"]
    unit = f"kWh/{time_unit}/unit"
    below = threshold / 2
    assert solar_credits(below, unit, "Household", scaled) == quantize_result(
        below * Decimal("6.8")
    )
    above = threshold * 2
    assert solar_credits(above, unit, "Household", scaled) == quantize_result(
        threshold * Decimal("6.8") + threshold * Decimal("1.3")
    )


def test_solar_result_follows_measured_time_unit() -> None:
    # 105 kWh/year == 8.75 kWh/month: the monthly result is a twelfth of 0.439.
    assert solar_credits("8.75", "kWh/month/unit", "Household") == Decimal("0.04")


def test_solar_custom_threshold_unit() -> None:
    # 55 kWh/year == 55000/12 Wh/month; results must not change.
    monthly = DEFAULT_SOLAR_CONSTANTS.replace_thresholds({"Household": Decimal(55000) / 12})
    monthly = dataclasses.replace(monthly, threshold_unit="Wh/month/unit")
    for generation, expected in ((20, "0.14"), (105, "0.44")):
        assert solar_credits(generation, "kWh/year/unit", "Household", monthly) == Decimal(expected)


def test_solar_custom_building_type_and_factor_unit() -> None:
    constants = DEFAULT_SOLAR_CONSTANTS.replace_thresholds({"Clinic": 1000})
    constants = dataclasses.replace(constants, emission_factor_unit="tCO2/kWh")
    # 500 kWh below 1000 -> 500 x 6.8 = 3400
    assert solar_credits(500, "kWh/year/unit", "Clinic", constants) == Decimal("3400.00")
    with pytest.raises(CalculatorError) as excinfo:
        solar_credits(500, "kWh/year/unit", "Household", constants)
    assert_error(excinfo, "calculator.invalid_building_type", "Invalid building type Household")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            (20, "kWh/year/unit", "Castle"),
            "calculator.invalid_building_type",
            "Invalid building type Castle",
        ),
        ((20, "kWh/year/unit", ""), "calculator.invalid_building_type", "Invalid building type "),
        (
            (20, "kWh/year", "Household"),
            "calculator.invalid_measured_unit",
            "Invalid measured unit kWh/year",
        ),
        (
            (20, "kW/year/unit", "Household"),
            "calculator.invalid_measured_unit",
            "Invalid measured unit kW/year/unit",
        ),
        (
            (20, "kWh/yr/unit", "Household"),
            "calculator.invalid_measured_unit",
            "Invalid measured unit kWh/yr/unit",
        ),
        (
            (20, "kWh/year/house", "Household"),
            "calculator.invalid_measured_unit",
            "Invalid measured unit kWh/year/house",
        ),
        ((20.0, "kWh/year/unit", "Household"), "calculator.float_not_allowed", None),
        ((False, "kWh/year/unit", "Household"), "calculator.invalid_number", None),
        (("Infinity", "kWh/year/unit", "Household"), "calculator.not_finite", None),
        ((-5, "kWh/year/unit", "Household"), "calculator.negative_value", None),
        ((0, "kWh/year/unit", "Household"), "calculator.zero_value", None),
        (("1e99999", "kWh/year/unit", "Household"), "calculator.out_of_range", None),
    ],
)
def test_solar_rejects(args: tuple[Any, ...], code: str, message: str | None) -> None:
    with pytest.raises(CalculatorError) as excinfo:
        solar_credits(*args)
    assert_error(excinfo, code, message)


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        (
            {"threshold_unit": "kWh/year"},
            "calculator.invalid_threshold_unit",
            "Invalid threshold unit kWh/year",
        ),
        (
            {"threshold_unit": "kWh/decade/unit"},
            "calculator.invalid_threshold_unit",
            "Invalid threshold unit kWh/decade/unit",
        ),
        (
            {"emission_factor_unit": "tCO2/MWh/year"},
            "calculator.invalid_emission_factor_unit",
            "Invalid emission factor unit tCO2/MWh/year",
        ),
        (
            {"emission_factor_unit": "tCO2/MW"},
            "calculator.invalid_emission_factor_unit",
            "Invalid emission factor unit tCO2/MW",
        ),
        (
            {"emission_factor_unit": "/MWh"},
            "calculator.invalid_emission_factor_unit",
            "Invalid emission factor unit /MWh",
        ),
        ({"emission_factor_below_threshold": 6.8}, "calculator.float_not_allowed", None),
        ({"emission_factor_above_threshold": Decimal(-1)}, "calculator.negative_value", None),
        ({"thresholds": ()}, "calculator.no_building_types", None),
        ({"thresholds": (("", Decimal(1)),)}, "calculator.invalid_building_type", None),
        (
            {"thresholds": (("A", Decimal(1)), ("A", Decimal(2)))},
            "calculator.duplicate_building_type",
            None,
        ),
        ({"thresholds": (("A", Decimal("NaN")),)}, "calculator.not_finite", None),
        ({"thresholds": (("A", -1),)}, "calculator.negative_value", None),
    ],
)
def test_solar_constants_reject(changes: dict[str, Any], code: str, message: str | None) -> None:
    with pytest.raises(CalculatorError) as excinfo:
        dataclasses.replace(DEFAULT_SOLAR_CONSTANTS, **changes)
    assert_error(excinfo, code, message)


def test_solar_constants_thresholds_are_order_insensitive() -> None:
    forward = DEFAULT_SOLAR_CONSTANTS.replace_thresholds({"A": 1, "B": "2"})
    backward = DEFAULT_SOLAR_CONSTANTS.replace_thresholds({"B": 2, "A": Decimal(1)})
    assert forward == backward
    assert forward.thresholds == (("A", Decimal(1)), ("B", Decimal(2)))
    assert hash(forward) == hash(backward)


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2),
    st.sampled_from(list(BuildingType)),
)
def test_solar_is_monotonic(x: Decimal, extra: Decimal, building: BuildingType) -> None:
    assert solar_credits(x, "kWh/year/unit", building) <= solar_credits(
        x + extra, "kWh/year/unit", building
    )


# --- constants book -------------------------------------------------------------------------


def test_empty_book_uses_defaults() -> None:
    book = ConstantsBook()
    assert book.latest("Agriculture") == (DEFAULT_VERSION, DEFAULT_AGRICULTURE_CONSTANTS)
    assert book.latest(CalculatorType.SOLAR) == ("default", DEFAULT_SOLAR_CONSTANTS)
    assert book.get("Solar", "default") == DEFAULT_SOLAR_CONSTANTS
    assert book.versions("Solar") == ()


def test_book_versions_count_per_type() -> None:
    first = AgricultureConstants(Decimal("0.05"))
    second = AgricultureConstants(Decimal("0.06"))
    solar = DEFAULT_SOLAR_CONSTANTS.replace_thresholds({"Household": 60})
    empty = ConstantsBook()
    book = empty.with_new_version("Agriculture", first)
    book = book.with_new_version("Solar", solar)
    book = book.with_new_version(CalculatorType.AGRICULTURE, second)
    assert empty.entries == ()  # the original book is untouched
    assert book.latest("Agriculture") == ("2", second)
    assert book.latest("Solar") == ("1", solar)
    assert book.get("Agriculture", "1") == first
    assert book.get("Agriculture", "2") == second
    assert book.versions("Agriculture") == (first, second)
    # going back to an earlier value is a change, so it is stored as a new version
    assert book.with_new_version("Agriculture", first).latest("Agriculture") == ("3", first)


def test_book_used_with_calculator() -> None:
    book = ConstantsBook().with_new_version("Agriculture", AgricultureConstants(Decimal("0.1")))
    version, constants = book.latest("Agriculture")
    assert isinstance(constants, AgricultureConstants)
    assert (version, agriculture_credits(16, "ha", 120, "d", constants)) == ("1", Decimal("192.00"))


def test_book_is_immutable() -> None:
    book = ConstantsBook()
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.entries = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (
            lambda b: b.with_new_version("Agriculture", AgricultureConstants()),
            "calculator.no_change",
        ),
        (lambda b: b.with_new_version("Solar", SolarConstants()), "calculator.no_change"),
        (
            lambda b: b.with_new_version(
                "Agriculture", AgricultureConstants(Decimal("0.9"))
            ).with_new_version("Agriculture", AgricultureConstants(Decimal("0.9"))),
            "calculator.no_change",
        ),
        (
            lambda b: b.with_new_version("Solar", AgricultureConstants()),
            "calculator.constants_type_mismatch",
        ),
        (
            lambda b: b.with_new_version("Agriculture", DEFAULT_SOLAR_CONSTANTS),
            "calculator.constants_type_mismatch",
        ),
        (
            lambda b: b.with_new_version("Wind", AgricultureConstants()),
            "calculator.unsupported_mitigation_type",
        ),
        (lambda b: b.latest("Wind"), "calculator.unsupported_mitigation_type"),
        (lambda b: b.get("Agriculture", "1"), "calculator.unknown_constants_version"),
        (lambda b: b.get("Agriculture", "0"), "calculator.unknown_constants_version"),
        (lambda b: b.get("Agriculture", "01"), "calculator.unknown_constants_version"),
        (lambda b: b.get("Agriculture", "latest"), "calculator.unknown_constants_version"),
        (
            lambda b: ConstantsBook((("Solar", AgricultureConstants()),)),  # type: ignore[arg-type]
            "calculator.constants_type_mismatch",
        ),
        (
            lambda b: ConstantsBook((("Wind", AgricultureConstants()),)),  # type: ignore[arg-type]
            "calculator.unsupported_mitigation_type",
        ),
    ],
)
def test_book_rejects(action: Any, code: str) -> None:
    with pytest.raises(CalculatorError) as excinfo:
        action(ConstantsBook())
    assert_error(excinfo, code)


def test_book_accepts_string_types_in_entries() -> None:
    book = ConstantsBook((("Agriculture", AgricultureConstants(Decimal(1))),))  # type: ignore[arg-type]
    assert book.entries[0][0] is CalculatorType.AGRICULTURE
    assert book.latest("Agriculture")[0] == "1"


@given(st.lists(st.decimals(min_value=0, max_value=10, places=3), max_size=15))
def test_book_versions_are_consecutive(factors: list[Decimal]) -> None:
    book = ConstantsBook()
    stored = 0
    for factor in factors:
        candidate = AgricultureConstants(factor)
        if candidate == book.latest("Agriculture")[1]:
            with pytest.raises(CalculatorError) as excinfo:
                book.with_new_version("Agriculture", candidate)
            assert_error(excinfo, "calculator.no_change")
        else:
            book = book.with_new_version("Agriculture", candidate)
            stored += 1
            assert book.latest("Agriculture") == (str(stored), candidate)
    assert len(book.versions("Agriculture")) == stored

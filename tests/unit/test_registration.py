"""Registration numbers: check character, composing, parsing and the public check, with stdnum as oracle."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.iso7064 import mod_11_2

from chalicelib.domain import divisions
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.registration import (
    MAX_SEQUENCE,
    InvalidRegistrationNumber,
    RegistrationNumber,
    check,
    check_character,
    compose,
    parse,
    today_in_china,
)

EXAMPLE = "11010519491231002X"
TODAY = dt.date(2025, 6, 30)
ALPHABET = "0123456789X"

current_region_codes = st.sampled_from(
    sorted(d.code for d in divisions.current_divisions() if d.level == "county")
)
join_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=1, max_value=MAX_SEQUENCE)


@st.composite
def valid_numbers(draw):
    return compose(draw(current_region_codes), draw(join_dates), draw(sequences))


def reason_of(number, today=TODAY):
    with pytest.raises(InvalidRegistrationNumber) as caught:
        parse(number, today=today)
    return caught.value.reason


def test_documented_example_is_valid():
    parsed = parse(EXAMPLE, today=TODAY)

    assert parsed == RegistrationNumber(EXAMPLE, "110105", dt.date(1949, 12, 31), 2)
    assert check(EXAMPLE, today=TODAY) == {
        "number": EXAMPLE,
        "valid": True,
        "region_code": "110105",
        "join_date": "1949-12-31",
    }


def test_lower_case_x_is_accepted_and_normalised():
    assert parse(EXAMPLE.lower(), today=TODAY).number == EXAMPLE
    assert check(EXAMPLE.lower(), today=TODAY)["number"] == EXAMPLE


def test_compose_builds_the_documented_example():
    assert compose("110105", dt.date(1949, 12, 31), 2) == EXAMPLE


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_agrees_with_stdnum_mod_11_2_and_resident_id(first17):
    expected = mod_11_2.calc_check_digit(first17)

    assert check_character(first17) == expected
    assert ric.calc_check_digit(first17 + "0") == expected
    assert mod_11_2.is_valid(first17 + check_character(first17))


@pytest.mark.parametrize("bad", ["", "1" * 16, "1" * 18, "1234567890123456X", "１" * 17])
def test_check_character_refuses_anything_but_17_ascii_digits(bad):
    with pytest.raises(ValueError):
        check_character(bad)


@given(current_region_codes, join_dates, sequences)
def test_composed_numbers_round_trip_through_parse(region_code, join_date, sequence):
    number = compose(region_code, join_date, sequence)

    assert len(number) == 18
    assert parse(number, today=TODAY) == RegistrationNumber(number, region_code, join_date, sequence)
    # Not ric.is_valid: it also wants the region to exist in the year of the date, which we do not ask.
    assert mod_11_2.is_valid(number)
    assert ric.calc_check_digit(number) == number[-1]


@given(valid_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET))
def test_any_single_character_change_is_detected(number, position, replacement):
    changed = number[:position] + replacement + number[position + 1 :]
    if changed == number:
        return

    with pytest.raises(InvalidRegistrationNumber):
        parse(changed, today=TODAY)
    assert check(changed, today=TODAY)["valid"] is False


@given(st.text())
def test_check_never_raises_for_arbitrary_text(text):
    body = check(text, today=TODAY)

    assert body["valid"] in (True, False)
    assert ("reason" in body) is not body["valid"]


@given(st.text(alphabet=st.sampled_from("0123456789Xx١２ \n"), min_size=18, max_size=18))
def test_check_never_raises_for_18_characters_near_the_format(text):
    body = check(text, today=TODAY)

    if body["valid"]:
        assert ric.is_valid(text)


@given(valid_numbers())
def test_check_reports_both_parts_when_only_the_check_character_is_wrong(number):
    wrong = number[:17] + next(c for c in ALPHABET if c != number[17])

    body = check(wrong, today=TODAY)

    assert body["reason"] == "check_character"
    assert body["region_code"] == number[:6]
    assert body["join_date"] == dt.datetime.strptime(number[6:14], "%Y%m%d").date().isoformat()


@pytest.mark.parametrize("sequence", [0, -1, MAX_SEQUENCE + 1, True, 1.0])
def test_compose_refuses_sequences_outside_1_to_999(sequence):
    with pytest.raises(ValueError):
        compose("110105", dt.date(2020, 1, 1), sequence)


@pytest.mark.parametrize("region_code", ["11010", "1101050", "11010X", "１１０１０５"])
def test_compose_refuses_malformed_region_codes(region_code):
    with pytest.raises(ValueError):
        compose(region_code, dt.date(2020, 1, 1), 1)


def test_sequence_999_is_the_last_one():
    number = compose("110105", dt.date(2020, 1, 1), MAX_SEQUENCE)

    assert parse(number, today=TODAY).sequence == 999


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "length"),
        (EXAMPLE[:17], "length"),
        (EXAMPLE + "0", "length"),
        ("11010519491231002Y", "format"),
        ("1101051949123100X2", "format"),
        ("１１０１０５19491231002X", "format"),
        (EXAMPLE[:17] + "\n", "format"),
        ("99999919491231002X", "region"),
        ("11000019491231002X", "region"),
        ("11010519491301002X", "date"),
        ("11010518991231002X", "date"),
        ("11010520250701002X", "future_date"),
    ],
)
def test_each_failed_check_has_its_reason(number, reason):
    assert reason_of(number) == reason


def test_checks_run_in_the_documented_order():
    # Unknown region, impossible date and wrong check character at once: the region is reported.
    assert reason_of("99999919491331002X") == "region"
    # Future date and wrong check character: the date is reported.
    assert reason_of("11010520991231002X") == "future_date"


def test_invalid_number_is_a_validation_failure_with_a_reason():
    with pytest.raises(ValidationFailed) as caught:
        parse("123", today=TODAY)

    assert caught.value.status == 400
    assert caught.value.reason == "length"
    assert caught.value.errors == [{"reason": "length", "message": caught.value.detail}]


def test_feb_29_is_a_date_in_leap_years_only():
    assert parse(compose("110105", dt.date(2024, 2, 29), 1), today=TODAY).join_date == dt.date(2024, 2, 29)
    assert parse(compose("110105", dt.date(2000, 2, 29), 1), today=TODAY).join_date == dt.date(2000, 2, 29)
    for first17 in ("11010520230229001", "11010519000229001", "11010521000229001"):
        assert reason_of(first17 + check_character(first17)) == "date"


def test_join_date_may_be_today_but_not_tomorrow():
    assert parse(compose("110105", TODAY, 1), today=TODAY).join_date == TODAY

    tomorrow = compose("110105", TODAY + dt.timedelta(days=1), 1)
    assert reason_of(tomorrow) == "future_date"


def test_join_dates_start_on_1_january_1900():
    assert parse(compose("110105", dt.date(1900, 1, 1), 1), today=TODAY).join_date == dt.date(1900, 1, 1)

    first17 = "11010518991231001"
    assert reason_of(first17 + check_character(first17)) == "date"
    with pytest.raises(ValueError):
        compose("110105", dt.date(1899, 12, 31), 1)


def test_today_defaults_to_the_date_in_china():
    today = today_in_china()

    assert parse(compose("110105", today, 1)).join_date == today
    assert reason_of(compose("110105", today + dt.timedelta(days=1), 1), today=None) == "future_date"


def test_abolished_region_codes_stay_valid():
    number = compose("110103", dt.date(2005, 6, 1), 7)  # 崇文区, merged into 东城区 in 2010

    assert parse(number, today=TODAY).region_code == "110103"


def test_check_reports_the_readable_parts_of_an_invalid_number():
    first17 = "99999920200101001"
    assert check(first17 + check_character(first17), today=TODAY) == {
        "number": first17 + check_character(first17),
        "valid": False,
        "reason": "region",
        "join_date": "2020-01-01",
    }
    assert check("11010520991231002x", today=TODAY) == {
        "number": "11010520991231002X",
        "valid": False,
        "reason": "future_date",
        "region_code": "110105",
    }


@pytest.mark.parametrize("number", ["123", "1101051949123100XX", "x" * 10_000])
def test_check_reports_no_parts_when_length_or_format_is_wrong(number):
    assert check(number, today=TODAY) == {
        "number": number,
        "valid": False,
        "reason": "length" if len(number) != 18 else "format",
    }

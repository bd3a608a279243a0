"""Explicit tests of the Flink-specific scalar rules (and sqlc's choices where
Flink would fail the job). Each expected value is stated, not computed."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from runtime_lib import functions as sql
from runtime_lib.columns import Column
from runtime_lib.temporal import parse_instant

from .conftest import col

T = "TIMESTAMP(3)"


def ints(*values):
    return col(list(values), "BIGINT")


def floats(*values):
    return col(list(values), "DOUBLE")


def strs(*values):
    return col(list(values), "VARCHAR")


def bools(*values):
    return col(list(values), "BOOLEAN")


# --- integer division, MOD ---------------------------------------------------


def test_integer_division_truncates_toward_zero():
    assert sql.div(ints(-7, 7, -7, 7, 6, -6), ints(2, -2, -2, 2, 3, 4)).to_pylist() == [
        -3, -3, 3, 3, 2, -1,
    ]  # fmt: skip


def test_integer_division_by_zero_is_null_not_an_error():
    result = sql.div(ints(1, 0, -5), ints(0, 0, 1))
    assert result.to_pylist() == [None, None, -5]
    assert result.values.dtype == np.int64


def test_double_division_is_ieee():
    result = sql.div(floats(1.0, -1.0, 0.0), 0).to_pylist()
    assert result[0] == math.inf and result[1] == -math.inf and math.isnan(result[2])
    assert sql.div(ints(7), 2.0).to_pylist() == [3.5]


def test_mod_has_the_sign_of_the_dividend():
    assert sql.mod(ints(-7, 7, -7, 7), ints(2, 2, -2, -2)).to_pylist() == [-1, 1, -1, 1]
    assert sql.mod(ints(5), 0).to_pylist() == [None]
    assert math.isnan(sql.mod(floats(5.5), 0.0).to_pylist()[0])
    assert sql.mod(floats(-7.5), 2).to_pylist() == [-1.5]


def test_integer_overflow_wraps_like_java():
    assert sql.add(ints(2**63 - 1), 1).to_pylist() == [-(2**63)]


# --- ROUND ---------------------------------------------------------------------


def test_round_half_up_for_doubles():
    assert sql.round(floats(2.5, -2.5, 0.5, -0.5, 1.4999, None)).to_pylist() == [
        3.0, -3.0, 1.0, -1.0, 1.0, None,
    ]  # fmt: skip


def test_round_uses_the_decimal_value_of_a_double():
    # 2.675 is stored as 2.67499999...; Flink rounds BigDecimal.valueOf(2.675)
    assert sql.round(floats(2.675, 1.005, -1.005, 0.125), 2).to_pylist() == [
        2.68, 1.01, -1.01, 0.13,
    ]  # fmt: skip


def test_round_negative_places_and_integers():
    assert sql.round(ints(1250, -1250, 1249, 7), -2).to_pylist() == [1300, -1300, 1200, 0]
    assert sql.round(ints(15), 0).to_pylist() == [15]
    assert sql.round(floats(1234.5678), -2).to_pylist() == [1200.0]
    assert sql.round(floats(-0.4)).to_pylist() == [0.0]
    assert math.copysign(1.0, sql.round(floats(-0.4)).to_pylist()[0]) == 1.0  # no -0.0


# --- CAST ------------------------------------------------------------------------


def test_cast_double_to_int_truncates():
    assert sql.cast(floats(-2.7, 2.7, -0.5, 1e10), "INT").to_pylist() == [-2, 2, 0, None]
    assert sql.cast(floats(-2.7, 9.99), "BIGINT").to_pylist() == [-2, 9]


def test_cast_failures_are_null_and_counted():
    sql.CAST_FAILURES.clear()
    result = sql.cast(strs("12", " 7 ", "1.5", "abc", None), "INT")
    assert result.to_pylist() == [12, 7, None, None, None]
    assert sql.CAST_FAILURES == {"VARCHAR->INT": 2}
    assert sql.try_cast(strs("x"), "BIGINT").to_pylist() == [None]
    assert sql.CAST_FAILURES == {"VARCHAR->INT": 2}  # try_cast does not count
    assert sql.cast(floats(math.nan, math.inf), "BIGINT").to_pylist() == [None, None]
    assert sql.CAST_FAILURES["DOUBLE->BIGINT"] == 2


def test_cast_bigint_to_narrower_int_wraps():
    assert sql.cast(ints(2**31, 300), "INT").to_pylist() == [-(2**31), 300]
    assert sql.cast(ints(300), "TINYINT").to_pylist() == [44]


def test_cast_double_to_varchar_like_java():
    values = floats(1.5, 1e10, 1e-4, 100.0, 0.001, 1234567.0, 1e7, -2.5e-5, 0.0, None)
    assert sql.cast(values, "VARCHAR").to_pylist() == [
        "1.5", "1.0E10", "1.0E-4", "100.0", "0.001", "1234567.0", "1.0E7", "-2.5E-5", "0.0",
        None,
    ]  # fmt: skip
    assert sql.java_double_to_string(math.nan) == "NaN"
    assert sql.java_double_to_string(-math.inf) == "-Infinity"


def test_cast_to_varchar_from_other_types():
    assert sql.cast(bools(True, False, None), "STRING").to_pylist() == ["TRUE", "FALSE", None]
    assert sql.cast(ints(1704103200123), "VARCHAR", T).to_pylist() == ["2024-01-01 10:00:00.123"]
    assert sql.cast(ints(1704103200123), "VARCHAR", "TIMESTAMP(0)").to_pylist() == [
        "2024-01-01 10:00:00"
    ]
    assert sql.cast(ints(19723), "VARCHAR", "DATE").to_pylist() == ["2024-01-01"]


def test_cast_strings_to_booleans_dates_timestamps():
    assert sql.cast(strs("TRUE", "no", " 1 ", "maybe"), "BOOLEAN").to_pylist() == [
        True, False, True, None,
    ]  # fmt: skip
    assert sql.cast(strs("2024-01-01", "2024-02-30"), "DATE").to_pylist() == [19723, None]
    assert sql.cast(strs("2024-01-01 10:00:00.5", "2024-01-01"), T).to_pylist() == [
        1704103200500, 1704067200000,
    ]  # fmt: skip
    assert sql.cast(strs("10:30:00"), "TIME").to_pylist() == [37_800_000]


def test_cast_between_numbers_and_timestamps_uses_seconds():
    assert sql.cast(ints(1704103200), "TIMESTAMP_LTZ(3)").to_pylist() == [1704103200000]
    assert sql.cast(ints(1704103200123), "BIGINT", T).to_pylist() == [1704103200]
    assert sql.cast(ints(19723), T, "DATE").to_pylist() == [1704067200000]
    assert sql.cast(ints(1704103200123), "DATE", T).to_pylist() == [19723]


def test_cast_to_decimal_rounds_half_up():
    assert sql.cast(floats(2.675, 1.234), "DECIMAL(10,2)").to_pylist() == [2.68, 1.23]


# --- three-valued logic -------------------------------------------------------


def test_and_or_not_with_null():
    t, f, n = True, False, None
    a = bools(t, t, t, f, f, f, n, n, n)
    b = bools(t, f, n, t, f, n, t, f, n)
    assert sql.and_(a, b).to_pylist() == [t, f, n, f, f, f, n, f, n]
    assert sql.or_(a, b).to_pylist() == [t, t, t, t, f, n, t, n, n]
    assert sql.not_(a).to_pylist() == [f, f, f, t, t, t, n, n, n]
    assert sql.and_(a, None).to_pylist() == [n, n, n, f, f, f, n, n, n]
    assert sql.or_(a, True).to_pylist() == [t] * 9


def test_filter_mask_keeps_only_true():
    assert sql.filter_mask(bools(True, False, None)).tolist() == [True, False, False]
    # WHERE x > 1000 drops NULL rows
    assert sql.filter_mask(sql.gt(ints(2000, None, 5), 1000)).tolist() == [True, False, False]


def test_case_null_condition_goes_to_else():
    latency = ints(100, None, 900)
    result = sql.case_when([sql.lt(latency, 500)], ["fast"], "slow")
    assert result.to_pylist() == ["fast", "slow", "slow"]


def test_in_list_with_null():
    x = ints(1, 2, None)
    assert sql.in_list(x, [1, None]).to_pylist() == [True, None, None]
    assert sql.not_in_list(x, [1, None]).to_pylist() == [False, None, None]
    assert sql.in_list(x, [3, 4]).to_pylist() == [False, False, None]


def test_is_distinct_from_never_null():
    assert sql.is_distinct_from(ints(1, None, None), ints(1, 1, None)).to_pylist() == [
        False, True, False,
    ]  # fmt: skip


# --- strings ----------------------------------------------------------------------


def test_substring_flink_rules():
    s = strs("hello")
    assert sql.substring(s, 2, 3).to_pylist() == ["ell"]
    assert sql.substring(s, 0, 2).to_pylist() == ["he"]  # start 0 acts as 1
    assert sql.substring(s, -3).to_pylist() == ["llo"]  # from the end
    assert sql.substring(s, -3, 2).to_pylist() == ["ll"]
    assert sql.substring(s, -9, 2).to_pylist() == [""]
    assert sql.substring(s, 9).to_pylist() == [""]
    assert sql.substring(s, 1, -1).to_pylist() == [None]  # negative length
    assert sql.substring(strs(None, ""), 1, 2).to_pylist() == [None, ""]


def test_like_escape_and_literals():
    s = strs("100%", "100", "a_b", "axb", "A", None)
    assert sql.like(s, "100!%", "!").to_pylist() == [True, False, False, False, False, None]
    assert sql.like(s, "a!_b", "!").to_pylist() == [False, False, True, False, False, None]
    assert sql.like(s, "a_b").to_pylist() == [False, False, True, True, False, None]
    assert sql.like(s, "a").to_pylist() == [False, False, False, False, False, None]  # case
    assert sql.like(strs("line1\nline2"), "line1%").to_pylist() == [True]
    assert sql.like(s, None).to_pylist() == [None] * 6


def test_similar_to():
    s = strs("a.b", "axb", "ab", "aab", "abc", None)
    assert sql.similar_to(s, "a.b|a+b").to_pylist() == [True, False, True, True, False, None]
    assert sql.similar_to(s, "a%").to_pylist() == [True, True, True, True, True, None]
    assert sql.similar_to(s, "(a|x)_b").to_pylist() == [True, True, False, True, False, None]


def test_concat_null_and_concat_ws_skip():
    assert sql.concat(strs("a", None), "b").to_pylist() == ["ab", None]
    assert sql.concat_ws("-", strs("a", None), "b", None).to_pylist() == ["a-b", "b"]
    assert sql.concat_ws(None, "a").to_pylist() == [None]


def test_regexp_extract_and_split_index():
    s = strs("user_42_eu", "nothing", None)
    assert sql.regexp_extract(s, r"user_(\d+)_(\w+)", 1).to_pylist() == ["42", None, None]
    assert sql.regexp_extract(s, r"user_(\d+)").to_pylist() == ["user_42", None, None]
    assert sql.regexp_extract(s, r"(", 1).to_pylist() == [None, None, None]  # invalid
    assert sql.regexp_extract(s, r"user_(\d+)", 5).to_pylist() == [None, None, None]
    assert sql.split_index(s, "_", 2).to_pylist() == ["eu", None, None]
    assert sql.split_index(s, "_", -1).to_pylist() == [None, None, None]


def test_position_trim_length():
    assert sql.position("l", strs("hello", "abc")).to_pylist() == [3, 0]
    assert sql.trim(strs("\t x \t")).to_pylist() == ["\t x \t"]  # spaces only
    assert sql.trim(strs("xxaxx"), "x").to_pylist() == ["a"]
    assert sql.length(strs("héllo", "")).to_pylist() == [5, 0]


def test_greatest_least_null_if_any_null():
    assert sql.greatest(ints(1, None), ints(3, 4)).to_pylist() == [3, None]
    assert sql.least(strs("b", "a"), "ab").to_pylist() == ["ab", "a"]


# --- time ---------------------------------------------------------------------------


def test_extract_units():
    ts = ints(1704103212345)  # 2024-01-01 10:00:12.345 UTC, a Monday
    expected = {
        "YEAR": 2024, "QUARTER": 1, "MONTH": 1, "WEEK": 1, "DAY": 1, "DAYOFWEEK": 2,
        "DAYOFYEAR": 1, "HOUR": 10, "MINUTE": 0, "SECOND": 12, "MILLISECOND": 12345,
        "EPOCH": 1704103212,
    }  # fmt: skip
    for unit, value in expected.items():
        assert sql.extract(unit, ts).to_pylist() == [value], unit
    sunday = ints(1704585600000)  # 2024-01-07
    assert sql.extract("DAYOFWEEK", sunday).to_pylist() == [1]
    assert sql.extract("YEAR", ints(19723), from_type="DATE").to_pylist() == [2024]


def test_to_timestamp_and_ltz():
    assert sql.to_timestamp(ints(1704103200123, None)).to_pylist() == [1704103200123, None]
    assert sql.to_timestamp(strs("2024-01-01 10:00:00", "bad")).to_pylist() == [
        1704103200000, None,
    ]  # fmt: skip
    assert sql.to_timestamp(strs("01/02/2024 10:00"), "dd/MM/yyyy HH:mm").to_pylist() == [
        1706781600000
    ]
    assert sql.to_timestamp_ltz(ints(1704103200123), 3).to_pylist() == [1704103200123]
    assert sql.to_timestamp_ltz(ints(1704103200), 0).to_pylist() == [1704103200000]


def test_timestampdiff_calendar_rules():
    jan31 = 1706695200000  # 2024-01-31 10:00
    feb29_9 = 1709197200000  # 2024-02-29 09:00
    feb29_10 = 1709200800000  # 2024-02-29 10:00
    assert sql.timestampdiff("MONTH", ints(jan31), ints(feb29_10)).to_pylist() == [1]
    assert sql.timestampdiff("MONTH", ints(jan31), ints(feb29_9)).to_pylist() == [0]
    # backward by one millisecond within a day: Calcite's subtractMonths gives -1
    assert sql.timestampdiff("MONTH", ints(1), ints(0)).to_pylist() == [-1]
    assert sql.timestampdiff("HOUR", ints(0), ints(-5_400_000)).to_pylist() == [-1]
    assert sql.timestampadd("MONTH", 1, ints(jan31)).to_pylist() == [feb29_10]


def test_interval_arithmetic_is_millisecond_arithmetic():
    ts = ints(1704103200000)
    assert sql.add(ts, 5 * 60_000).to_pylist() == [1704103500000]
    assert sql.sub(ts, ints(1704103200000 - 1)).to_pylist() == [1]


def test_date_format_patterns():
    ts = ints(1704103212345, None)
    assert sql.date_format(ts, "yyyy-MM-dd'T'HH:mm:ss.SSS").to_pylist() == [
        "2024-01-01T10:00:12.345", None,
    ]  # fmt: skip
    assert sql.date_format(ts, "MMM d, yyyy hh a").to_pylist() == ["Jan 1, 2024 10 AM", None]
    with pytest.raises(ValueError, match="illegal pattern character 'Q'"):  # as Java
        sql.date_format(ts, "yyyy Q")


def test_current_time_functions_are_constant_columns():
    now = sql.current_timestamp(3)
    assert len(now) == 3 and len(set(now.values.tolist())) == 1
    assert abs(now.values[0] - np.int64(__import__("time").time() * 1000)) < 60_000
    assert sql.current_date(2).values[0] == now.values[0] // 86_400_000
    assert isinstance(sql.now(1), Column)


def test_pinned_now_is_read_by_every_clock_function():
    """--now / SQLC_NOW: CURRENT_TIMESTAMP, NOW(), LOCALTIMESTAMP, PROCTIME()
    (all ``now``/``current_timestamp``) and CURRENT_DATE read the pinned
    instant until it is unpinned."""
    pinned = 1762779600000  # 2025-11-10T13:00:00Z
    previous = sql.pin_now(pinned)
    try:
        assert previous is None
        for function in (sql.current_timestamp, sql.now, sql.localtimestamp):
            assert function(2).values.tolist() == [pinned, pinned]
        assert sql.current_date(1).values.tolist() == [20402]  # 2025-11-10
        assert sql.pin_now(pinned - 86_400_000) == pinned
        assert sql.current_date(1).values.tolist() == [20401]
    finally:
        sql.pin_now(previous)
    assert abs(int(sql.current_timestamp(1).values[0]) - int(time.time() * 1000)) < 60_000


@pytest.mark.parametrize(("text", "ms"), [
    ("2025-11-10T13:00:00Z", 1762779600000),
    ("2025-11-10 13:00:00", 1762779600000),  # no offset: UTC, the session time zone
    ("2025-11-10T14:00:00+01:00", 1762779600000),
    ("2025-11-10T13:00:00.250999Z", 1762779600250),  # truncated to milliseconds
    ("2025-11-10", 1762732800000),
    ("1762779600000", 1762779600000),  # digits only: epoch milliseconds
    (" 0 ", 0),
    ("-1", -1),
])  # fmt: skip
def test_parse_instant_accepts_iso_8601_and_epoch_millis(text, ms):
    assert parse_instant(text) == ms


@pytest.mark.parametrize(("text", "message"), [
    ("yesterday", "expected an ISO-8601 timestamp"),
    ("", "expected an ISO-8601 timestamp"),
    ("2025-13-01T00:00:00Z", "expected an ISO-8601 timestamp"),
    ("2025-11-10T25:00Z", "expected an ISO-8601 timestamp"),
    ("1.7e12", "expected an ISO-8601 timestamp"),
    ("99999999999999999999", "outside the years 1-9999"),
])  # fmt: skip
def test_parse_instant_refuses_other_text(text, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_instant(text)
    assert repr(text) in str(error.value)


def test_literal_arguments_and_result_length():
    assert sql.add(2, 3).to_pylist() == [5]
    assert sql.eq(strs("a", "b"), None).to_pylist() == [None, None]
    assert len(sql.upper(strs(*["x"] * 7))) == 7

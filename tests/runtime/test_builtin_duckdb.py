"""Flink's string, hash, numeric and time built-ins against DuckDB's functions
of the same meaning, on hypothesis-generated columns with NULLs (the harness
of test_scalar_duckdb.py). Where the two differ (FLOOR TO WEEK starts on
Sunday in Flink, on Monday in DuckDB; US week numbers), the Flink rule is in
tests/test_builtin_functions.py with the documentation's values."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import example, given

from runtime_lib import functions as sql

from .conftest import col
from .test_scalar_duckdb import SETTINGS, ints, rows, run, texts, timestamps

small = st.one_of(st.none(), st.integers(0, 12))
pads = st.one_of(st.none(), st.text(alphabet="ab*", min_size=1, max_size=3))
seconds = st.one_of(st.none(), st.integers(-2_208_988_800, 4_102_444_800))
doubles = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


@SETTINGS
@given(rows(texts, texts))
@example((["abcab", None, "xyz"], ["ab", "a", ""]))
def test_regexp_and_locate(duck, data):
    run(duck, lambda a: sql.regexp_replace(a, "a|b", "Z"), "regexp_replace(a, 'a|b', 'Z', 'g')",
        ["VARCHAR"], data[:1])
    run(duck, lambda a: sql.regexp(a, "a.b"), "regexp_matches(a, 'a.b')", ["VARCHAR"], data[:1])
    run(duck, lambda a, b: sql.locate(b, a), "strpos(a, b)", ["VARCHAR", "VARCHAR"], data)


@SETTINGS
@given(rows(texts, small, pads))
@example((["hi", "hi", None], [4, 1, 3], ["??", "??", "x"]))
def test_lpad_rpad(duck, data):
    types = ["VARCHAR", "BIGINT", "VARCHAR"]
    run(duck, sql.lpad, "lpad(a, b::INT, c)", types, data)
    run(duck, sql.rpad, "rpad(a, b::INT, c)", types, data)


@SETTINGS
@given(rows(texts, texts))
def test_reverse_hashes_ifnull(duck, data):
    run(duck, sql.reverse, "reverse(a)", ["VARCHAR"], data[:1])
    run(duck, sql.md5, "md5(a)", ["VARCHAR"], data[:1])
    run(duck, sql.sha256, "sha256(a)", ["VARCHAR"], data[:1])
    run(duck, sql.ifnull, "ifnull(a, b)", ["VARCHAR", "VARCHAR"], data)


@SETTINGS
@given(rows(ints))
def test_truncate_integers(duck, data):
    run(duck, lambda a: sql.truncate(a, -2), "(trunc(a / 100) * 100)::BIGINT", ["BIGINT"], data)


@SETTINGS
@given(rows(doubles))
def test_truncate_doubles(duck, data):
    run(duck, sql.truncate, "trunc(a)", ["DOUBLE"], data)


@SETTINGS
@given(rows(timestamps))
@example(([0, -1, 780671655678, None],))
def test_floor_ceil_to_against_date_trunc(duck, data):
    for unit in ("SECOND", "MINUTE", "HOUR", "DAY", "MONTH", "QUARTER", "YEAR"):
        run(duck, lambda a, u=unit: sql.floor_to(u, a),
            f"epoch_ms(date_trunc('{unit.lower()}', a))", ["TIMESTAMP"], data)
    for unit in ("SECOND", "MINUTE", "HOUR", "DAY"):
        expr = (f"epoch_ms(CASE WHEN date_trunc('{unit.lower()}', a) = a THEN a "
                f"ELSE date_trunc('{unit.lower()}', a) + INTERVAL 1 {unit} END)")
        run(duck, lambda a, u=unit: sql.ceil_to(u, a), expr, ["TIMESTAMP"], data)


@SETTINGS
@given(rows(timestamps, small))
def test_timestampadd(duck, data):
    run(duck, lambda n, a: sql.timestampadd("HOUR", n, a), "epoch_ms(b + a * INTERVAL 1 HOUR)",
        ["BIGINT", "TIMESTAMP"], [data[1], data[0]])
    run(duck, lambda n, a: sql.timestampadd("MONTH", n, a), "epoch_ms(b + a * INTERVAL 1 MONTH)",
        ["BIGINT", "TIMESTAMP"], [data[1], data[0]])


FORMATS = [  # SimpleDateFormat pattern, the same as a DuckDB strftime format
    ("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"),
    ("yy/M/d H:m:s.SSS", "%y/%-m/%-d %-H:%-M:%-S.%g"),
    ("EEE, MMM dd hh a", "%a, %b %d %I %p"),
    ("EEEE MMMM DDD", "%A %B %j"),
    ("'week' u", "week %u"),
]


@SETTINGS
@given(rows(timestamps))
@example(([0, 780671655678, None, 1735603200000],))
def test_date_format_against_strftime(duck, data):
    for java, duck_format in FORMATS:
        run(duck, lambda a, p=java: sql.date_format(a, p), f"strftime(a, '{duck_format}')",
            ["TIMESTAMP"], data)


@SETTINGS
@given(rows(seconds))
def test_from_unixtime(duck, data):
    run(duck, sql.from_unixtime, "strftime(to_timestamp(a), '%Y-%m-%d %H:%M:%S')", ["BIGINT"],
        data)


def test_unix_timestamp_roundtrips_from_unixtime():
    values = [0, 44, -1, 780671655, None]
    text = sql.from_unixtime(col(values, "BIGINT"))
    assert sql.unix_timestamp(text).to_pylist() == values


@SETTINGS
@given(rows(texts, small))
@example((["ab", "", None, "é"], [3, 0, 2, None]))
def test_repeat_ascii_base64(duck, data):
    run(duck, sql.repeat, "repeat(a, b::INT)", ["VARCHAR", "BIGINT"], data)
    run(duck, sql.ascii, "ascii(a)", ["VARCHAR"], data[:1])
    run(duck, sql.to_base64, "to_base64(encode(a))", ["VARCHAR"], data[:1])
    run(duck, lambda a: sql.from_base64(sql.to_base64(a)),
        "decode(from_base64(to_base64(encode(a))))", ["VARCHAR"], data[:1])


@SETTINGS
@given(rows(st.one_of(st.none(), st.integers(1, 255))))
def test_chr(duck, data):
    run(duck, sql.chr_, "chr(a::INT)", ["BIGINT"], data)


@SETTINGS
@given(rows(ints, texts))
@example(([-1, 0, None, 20], ["hello,world", "", None, "é"]))
def test_bin_hex(duck, data):
    run(duck, sql.bin_, "bin(a)", ["BIGINT"], data[:1])
    run(duck, sql.hex_, "hex(a)", ["BIGINT"], data[:1])
    run(duck, sql.hex_, "hex(a)", ["VARCHAR"], data[1:])


@SETTINGS
@given(rows(texts, texts, st.one_of(st.none(), st.integers(1, 12)), small))
@example((["xxxxxtest", "abc", None], ["xxxx", "XY", "a"], [6, 5, 1], [2, None, 0]))
def test_overlay(duck, data):
    # positions from 1 and lengths from 0: DuckDB (PostgreSQL's rule) and
    # Calcite's substring arithmetic agree there
    run(duck, sql.overlay, "overlay(a PLACING b FROM c::INT FOR d::INT)",
        ["VARCHAR", "VARCHAR", "BIGINT", "BIGINT"], data)
    run(duck, sql.overlay, "overlay(a PLACING b FROM c::INT)",
        ["VARCHAR", "VARCHAR", "BIGINT"], data[:3])


times = st.one_of(st.none(), st.integers(0, 86_399_999))  # TIME: milliseconds of the day


@SETTINGS
@given(rows(times))
@example(([45_871_000, 0, 86_399_999, 86_340_000, None],))
def test_floor_ceil_of_a_time(duck, data):
    # DuckDB has no date_trunc of a TIME: the same time of day 1970-01-01, then the
    # time of day of the result (CEIL past 23:59 wraps to 00:00)
    (values,) = data
    column = col(values, "BIGINT")
    for unit in ("SECOND", "MINUTE", "HOUR"):
        floor = duck.eval(f"epoch_ms(date_trunc('{unit.lower()}', a)) % 86400000",
                          a=("TIMESTAMP", values))
        assert sql.floor_to(unit, column, "TIME").to_pylist() == floor
        ceil = duck.eval(f"epoch_ms(CASE WHEN date_trunc('{unit.lower()}', a) = a THEN a "
                         f"ELSE date_trunc('{unit.lower()}', a) + INTERVAL 1 {unit} END) "
                         "% 86400000", a=("TIMESTAMP", values))
        assert sql.ceil_to(unit, column, "TIME").to_pylist() == ceil


def _overlaps_reference(r0, r1, r2, r3):
    """Calcite's OVERLAPS rewrite, one row, in three-valued Python (DuckDB has no
    OVERLAPS): ends sorted by CASE WHEN r0 <= r1 (NULL: the ELSE branch)."""
    def le(a, b):
        return None if a is None or b is None else a <= b

    def ge(a, b):
        return None if a is None or b is None else a >= b

    s0, e0 = (r0, r1) if le(r0, r1) is True else (r1, r0)
    s1, e1 = (r2, r3) if le(r2, r3) is True else (r3, r2)
    left, right = ge(e0, s1), ge(e1, s0)
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


small_times = st.one_of(st.none(), st.integers(0, 20))


@SETTINGS
@given(rows(small_times, small_times, small_times, small_times))
@example(([1, 3, None, 9], [2, 1, 2, None], [2, 0, 1, 10], [5, 0, 3, 11]))
def test_overlaps_against_the_rewrite(duck, data):
    columns = [col(values, "TIMESTAMP") for values in data]
    ours = sql.overlaps(*columns).to_pylist()
    assert ours == [_overlaps_reference(*row) for row in zip(*data)], data

"""Differential tests: compiled stateless pipelines against DuckDB.

Each case is one query compiled by sqlc and run on a JSON-lines file of
hypothesis-generated events (NULLs in every nullable column, missing keys,
empty input, negative numbers, unicode, duplicate rows, out-of-order event
time), and the same question asked of DuckDB over the same file through
``read_json(..., columns={...})`` with explicit types. Row multisets must be
equal (floats within a relative tolerance).

Where Flink and DuckDB disagree (FLINK_SEMANTICS.md: integer division
truncates toward zero, ``CAST(-2.7 AS INT) = -2``, ``ROUND`` is HALF_UP on the
decimal value of a DOUBLE, ``CONCAT`` with a NULL argument is NULL), the
DuckDB side is written to state Flink's rule, or the expected value is
computed in Python from the row DuckDB read, so the test asserts Flink's
behaviour and not DuckDB's.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, example, given, settings

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

CATALOG_DDL = """
CREATE STREAM t (
    id BIGINT NOT NULL,
    a BIGINT,
    b INT,
    x DOUBLE,
    y DOUBLE,
    s VARCHAR,
    s2 VARCHAR,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json');
"""

DUCK_COLUMNS = (
    "{'id': 'BIGINT', 'a': 'BIGINT', 'b': 'INTEGER', 'x': 'DOUBLE', 'y': 'DOUBLE', "
    "'s': 'VARCHAR', 's2': 'VARCHAR', 'ts': 'BIGINT'}"
)

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ------------------------------------------------------------------------ cases


@dataclass(frozen=True)
class Case:
    name: str
    sql: str  # what sqlc compiles (FROM t)
    duck: str  # the same question for DuckDB (FROM src)
    # Flink's rule where DuckDB's differs: DuckDB row -> expected row
    expect: Callable[[tuple], tuple] | None = None


def _round_half_up(value: float | None, digits: int) -> float | None:
    """Flink's ROUND on a DOUBLE: BigDecimal.valueOf(x) (the shortest decimal
    repr), HALF_UP, back to double."""
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def _round_int_half_up(value: int | None, digits: int) -> int | None:
    if value is None:
        return None
    step = 10 ** (-digits)
    q, r = divmod(abs(value), step)
    if 2 * r >= step:
        q += 1
    return (q * step) * (1 if value >= 0 else -1)


PASSTHROUGH = Case(
    "passthrough",
    "SELECT id, a, b, x, y, s, s2, ts FROM t",
    "SELECT id, a, b, x, y, s, s2, ts FROM src",
)

CASES = [
    PASSTHROUGH,
    Case(
        "boolean_logic_with_nulls",
        "SELECT id, a, s FROM t WHERE (a > 0 AND s IS NOT NULL) OR NOT (b < 5)",
        "SELECT id, a, s FROM src WHERE (a > 0 AND s IS NOT NULL) OR NOT (b < 5)",
    ),
    Case(
        "predicates_between_in_like",
        "SELECT id, x, a, b, s FROM t WHERE x BETWEEN -10 AND 10.5 OR a IN (1, 2, 3, -1) "
        "OR s LIKE 'a%' OR (b NOT IN (1, 2) AND NOT (s LIKE '%b_')) OR x NOT BETWEEN -1 AND 1",
        "SELECT id, x, a, b, s FROM src WHERE x BETWEEN -10 AND 10.5 OR a IN (1, 2, 3, -1) "
        "OR s LIKE 'a%' OR (b NOT IN (1, 2) AND NOT (s LIKE '%b_')) OR x NOT BETWEEN -1 AND 1",
    ),
    Case(
        "not_like",
        "SELECT id, s, s NOT LIKE '%b_' AS nl FROM t WHERE s NOT LIKE 'a%'",
        "SELECT id, s, s NOT LIKE '%b_' FROM src WHERE s NOT LIKE 'a%'",
    ),
    Case(
        "truth_values_in_select",
        "SELECT id, a IS NULL AS a_null, s IS NOT NULL AS s_set, a > b AS gt, "
        "NOT (x < y) AS not_lt, a <> b AS ne, x <= 0.5 AS le, s = s2 AS same, "
        "a NOT IN (1, NULL) AS not_in_null, b BETWEEN -3 AND 3 AS small FROM t",
        "SELECT id, a IS NULL, s IS NOT NULL, a > b, NOT (x < y), a <> b, x <= 0.5, "
        "s = s2, a NOT IN (1, NULL), b BETWEEN -3 AND 3 FROM src",
    ),
    Case(
        "case_with_and_without_else",
        "SELECT id, CASE WHEN x < 0 THEN 'neg' WHEN x < 10 THEN 'small' END AS c1, "
        "CASE WHEN a > 0 THEN 'pos' ELSE 'nonpos' END AS c2, "
        "CASE b WHEN 1 THEN 'one' WHEN -1 THEN 'minus one' ELSE 'other' END AS c3, "
        "CASE WHEN s IS NULL THEN a ELSE b END AS c4 FROM t",
        "SELECT id, CASE WHEN x < 0 THEN 'neg' WHEN x < 10 THEN 'small' END, "
        "CASE WHEN a > 0 THEN 'pos' ELSE 'nonpos' END, "
        "CASE b WHEN 1 THEN 'one' WHEN -1 THEN 'minus one' ELSE 'other' END, "
        "CASE WHEN s IS NULL THEN a ELSE b END FROM src",
    ),
    Case(
        "coalesce_nullif",
        "SELECT id, COALESCE(a, b, 0) AS c, NULLIF(a, 0) AS n, COALESCE(s, s2, 'none') AS cs, "
        "NULLIF(s, 'a') AS ns, COALESCE(x, y) AS cx FROM t",
        "SELECT id, COALESCE(a, b, 0), NULLIF(a, 0), COALESCE(s, s2, 'none'), NULLIF(s, 'a'), "
        "COALESCE(x, y) FROM src",
    ),
    Case(
        "arithmetic",
        "SELECT id, a + b AS p, a - b AS m, a * 2 AS t2, -a AS ng, x * y AS xy, x + a AS xa, "
        "x / NULLIF(y, 0) AS q, x - 1.5 AS xm FROM t WHERE a + b > -100",
        "SELECT id, a + b, a - b, a * 2, -a, x * y, x + a, x / NULLIF(y, 0), x - 1.5 "
        "FROM src WHERE a + b > -100",
    ),
    Case(
        # Flink: integer division truncates toward zero, MOD takes the dividend's
        # sign; DuckDB's // is only used on non-negative operands, where floor and
        # truncation agree, so the expected column is Flink's rule by construction
        "integer_division_truncates",
        "SELECT id, a / NULLIF(b, 0) AS q, MOD(a, NULLIF(b, 0)) AS r, b / 2 AS half FROM t",
        "SELECT id, sign(a) * sign(d) * (abs(a) // abs(d)), "
        "a - d * (sign(a) * sign(d) * (abs(a) // abs(d))), sign(b) * (abs(b) // 2) "
        "FROM (SELECT id, a, CAST(b AS BIGINT) AS b, CAST(NULLIF(b, 0) AS BIGINT) AS d FROM src)",
    ),
    Case(
        # Flink: ROUND is HALF_UP on the decimal value (2.5 -> 3, -2.5 -> -3,
        # 2.675 -> 2.68 at 2 places); DuckDB rounds the binary double
        "round_half_up_and_abs",
        "SELECT id, ROUND(x, 1) AS r1, ROUND(x) AS r0, ROUND(x, 2) AS r2, ROUND(a, -1) AS ra, "
        "ABS(a) AS aa, ABS(x) AS ax FROM t",
        "SELECT id, x, a FROM src",
        expect=lambda r: (
            r[0],
            _round_half_up(r[1], 1),
            _round_half_up(r[1], 0),
            _round_half_up(r[1], 2),
            _round_int_half_up(r[2], -1),
            None if r[2] is None else abs(r[2]),
            None if r[1] is None else abs(r[1]),
        ),
    ),
    Case(
        # Flink: CONCAT/|| with a NULL argument is NULL (DuckDB's concat() skips
        # NULLs, its || does not); TRIM removes spaces only; lengths and
        # positions count code points
        "strings",
        "SELECT id, UPPER(s) AS u, LOWER(s) AS l, SUBSTRING(s, 2, 3) AS sub3, "
        "SUBSTRING(s, 2) AS sub, CONCAT(s, '-', s2) AS c, s || s2 AS pipes, TRIM(s) AS tr, "
        "LENGTH(s) AS len FROM t WHERE s IS NULL OR LENGTH(s) >= 0",
        "SELECT id, upper(s), lower(s), substring(s, 2, 3), substring(s, 2), "
        "s || '-' || s2, s || s2, trim(s, ' '), length(s) FROM src",
    ),
    Case(
        # Flink: CAST(DOUBLE AS INT) truncates toward zero (-2.7 -> -2), DuckDB rounds
        "casts",
        "SELECT id, CAST(x AS INT) AS xi, CAST(x AS BIGINT) AS xb, CAST(a AS DOUBLE) AS ad, "
        "CAST(a AS VARCHAR) AS av, CAST(b AS BIGINT) AS bb FROM t "
        "WHERE x IS NULL OR x BETWEEN -1000000 AND 1000000",
        "SELECT id, CAST(trunc(x) AS INTEGER), CAST(trunc(x) AS BIGINT), CAST(a AS DOUBLE), "
        "CAST(a AS VARCHAR), CAST(b AS BIGINT) FROM src "
        "WHERE x IS NULL OR x BETWEEN -1000000 AND 1000000",
    ),
    Case(
        # Flink: CAST(TIMESTAMP(3) AS VARCHAR) is 'yyyy-MM-dd HH:mm:ss.SSS', AS DATE the day
        "cast_timestamp",
        "SELECT id, CAST(event_time AS VARCHAR) AS t, CAST(event_time AS DATE) AS d FROM t",
        "SELECT id, strftime(epoch_ms(ts), '%Y-%m-%d %H:%M:%S.%g'), "
        "strftime(CAST(epoch_ms(ts) AS DATE), '%Y-%m-%d') FROM src",
    ),
    Case(
        # a CASE condition that is NULL is not true: the ELSE branch
        "case_with_null_condition",
        "SELECT id, CASE WHEN NULL THEN 1 ELSE 2 END + a AS v, "
        "CASE WHEN CAST(NULL AS BOOLEAN) THEN 'y' ELSE s END AS w FROM t",
        "SELECT id, 2 + a, s FROM src",
    ),
    Case(
        "trim_from",
        "SELECT id, TRIM(BOTH ' ' FROM s) AS b, TRIM(LEADING 'a' FROM s) AS l FROM t",
        "SELECT id, trim(s, ' '), ltrim(s, 'a') FROM src",
    ),
    Case(
        "char_length",
        "SELECT id, CHAR_LENGTH(s) AS n, CHARACTER_LENGTH(s2) AS n2 FROM t",
        "SELECT id, length(s), length(s2) FROM src",
    ),
    Case(
        "is_distinct_from",
        "SELECT id, a IS DISTINCT FROM b AS d, s IS NOT DISTINCT FROM s2 AS nd FROM t",
        "SELECT id, a IS DISTINCT FROM b, s IS NOT DISTINCT FROM s2 FROM src",
    ),
    Case(
        "event_time_column",
        "SELECT id, event_time, ts FROM t WHERE MOD(ts, 2) = 0 OR a IS NULL",
        "SELECT id, strftime(epoch_ms(ts), '%Y-%m-%d %H:%M:%S.%g'), ts FROM src "
        "WHERE ts % 2 = 0 OR a IS NULL",
    ),
]


# ------------------------------------------------------------------ the harness


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("catalog") / "catalog.sql"
    path.write_text(CATALOG_DDL, encoding="utf-8")
    return path


class Modules(dict):
    """Each case compiled once, on first use (a case that fails to compile
    fails its own test only)."""

    def __init__(self, catalog: Path, out: Path) -> None:
        super().__init__()
        self.catalog, self.out = catalog, out

    def __missing__(self, name: str) -> Path:
        case = next(c for c in CASES if c.name == name)
        compiled = compile_source(Source(f"{name}.sql", case.sql), [self.catalog], f"{name}.sql")
        assert compiled.module is not None
        path = self.out / f"{name}.py"
        path.write_text(compiled.module, encoding="utf-8")
        self[name] = path
        return path


@pytest.fixture(scope="module")
def modules(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Modules:
    return Modules(catalog, tmp_path_factory.mktemp("modules"))


@pytest.fixture(scope="module")
def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET error_on_division_by_zero = false")
    return con


def run_pipeline(module: Path, events: Path, work: Path) -> list[dict]:
    out = work / "out.jsonl"
    dead = work / "dead.jsonl"
    code = run_module(module, ["--input", f"t={events}", "--output", str(out),
                               "--dead-letter", str(dead), "--quiet"])
    assert code == 0
    assert dead.read_bytes() == b"", "well-formed events produced dead letters"
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def run_duck(duck: duckdb.DuckDBPyConnection, query: str, events: Path) -> list[tuple]:
    source = (f"(SELECT * FROM read_json('{events}', format='newline_delimited', "
              f"columns={DUCK_COLUMNS})) AS src")
    return duck.execute(query.replace("FROM src", f"FROM {source}")).fetchall()


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _same_value(ours: Any, theirs: Any) -> bool:
    theirs = _normal(theirs)
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return type(ours) is type(theirs) and ours == theirs
    if isinstance(ours, float) or isinstance(theirs, float):
        if not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)):
            return False
        return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9)
    return type(ours) is type(theirs) and ours == theirs


def assert_same_multiset(ours: list[tuple], theirs: list[tuple]) -> None:
    """Equal as multisets of rows, floats within a tolerance (greedy matching:
    rows are small, and two rows within tolerance of each other are equal)."""
    assert len(ours) == len(theirs), f"{len(ours)} rows vs {len(theirs)}:\n{ours}\n{theirs}"
    remaining = list(theirs)
    for row in ours:
        for i, candidate in enumerate(remaining):
            if len(row) == len(candidate) and all(map(_same_value, row, candidate)):
                del remaining[i]
                break
        else:
            raise AssertionError(f"row {row} not in DuckDB's result:\n{ours}\n{theirs}")


# ------------------------------------------------------------------ generators

NAMES = ("a", "b", "x", "y", "s", "s2")
# characters with one-to-one case mappings in Python, Java and DuckDB alike
# (no 'ß', 'İ', ligatures), spaces and tabs for TRIM, LIKE wildcards as data
ALPHABET = "ab AB_%-x\té中😀Ωжñ"
small_ints = st.integers(-12, 12)
ints = st.one_of(small_ints, st.integers(-(2**31), 2**31 - 1))
floats = st.one_of(
    st.integers(-40, 40).map(lambda k: k / 4),  # exact ties for ROUND
    st.sampled_from([2.675, -2.675, 1.005, 0.125, -0.05, 2.5, -2.5, -2.7, 2.7, 0.0, -0.0]),
    # no tiny magnitudes: x / y stays finite (JSON has no infinity)
    st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False).filter(
        lambda v: v == 0 or abs(v) >= 1e-6),
)
strings = st.one_of(st.sampled_from(["a", "ab", "  a b  ", "", "ba", "xab"]),
                    st.text(alphabet=ALPHABET, max_size=8))


def _nullable(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


VALUES = {
    "a": _nullable(ints),
    "b": _nullable(small_ints | st.integers(-(2**31), 2**31 - 1)),
    "x": _nullable(floats),
    "y": _nullable(floats),
    "s": _nullable(strings),
    "s2": _nullable(strings),
}


@st.composite
def event(draw: st.DrawFn, ident: int) -> dict:
    record: dict[str, Any] = {"id": ident}
    for name in NAMES:
        value = draw(VALUES[name])
        # a NULL is either an explicit null or a missing key
        if value is not None or draw(st.booleans()):
            record[name] = value
    # 1900..2100, in any order: plain filters keep late rows
    record["ts"] = draw(st.integers(-2_208_988_800_000, 4_102_444_800_000))
    return record


@st.composite
def event_files(draw: st.DrawFn) -> tuple[list[dict], bool]:
    count = draw(st.integers(0, 25))
    records = [draw(event(i)) for i in range(count)]
    if records and draw(st.booleans()):  # exact duplicates
        records += draw(st.lists(st.sampled_from(records), max_size=5))
    return records, draw(st.booleans())


def write_events(path: Path, records: list[dict], ascii_only: bool) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in records),
                    encoding="utf-8")


EDGE_ROWS = [
    {"id": 1, "a": -7, "b": 2, "x": -2.7, "y": 0.0, "s": "  ab ", "s2": None, "ts": 0},
    {"id": 2, "a": 7, "b": -2, "x": 2.5, "y": -2.5, "s": "a\té😀", "s2": "b", "ts": -1},
    {"id": 3, "a": None, "b": None, "x": None, "y": None, "s": None, "s2": None, "ts": 5},
    {"id": 4, "a": 2147483647, "b": -1, "x": 2.675, "y": 1.005, "s": "", "s2": "", "ts": 3},
    {"id": 4, "a": 2147483647, "b": -1, "x": 2.675, "y": 1.005, "s": "", "s2": "", "ts": 3},
    {"id": 5, "a": -5, "b": 0, "x": -0.5, "y": 3.0, "s": "ba", "s2": "xab", "ts": 1},
    {"id": 6, "a": 0, "b": 1, "x": -2.5, "y": None, "ts": 1_700_000_000_123},
]


# Cases that fail because of a known sqlc defect (strict: they must fail until fixed).
KNOWN_DEFECTS: dict[str, str] = {
}
PARAMS = [
    pytest.param(c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[c.name])]
                 if c.name in KNOWN_DEFECTS else [])
    for c in CASES
]


@pytest.mark.parametrize("case", PARAMS)
@SETTINGS
@given(data=event_files())
@example(data=([], False))
@example(data=(EDGE_ROWS, False))
@example(data=(EDGE_ROWS, True))
def test_pipeline_matches_duckdb(case: Case, data, modules, duck, tmp_path: Path) -> None:
    records, ascii_only = data
    events = tmp_path / "events.jsonl"
    write_events(events, records, ascii_only)
    ours = [tuple(row.values()) for row in run_pipeline(modules[case.name], events, tmp_path)]
    theirs = run_duck(duck, case.duck, events)
    if records == EDGE_ROWS and case.name not in KNOWN_DEFECTS:
        assert ours, "the edge rows must exercise every case"
    if case.expect is not None:
        theirs = [case.expect(row) for row in theirs]
    assert_same_multiset(ours, theirs)


def test_output_keys_follow_select_order(modules, tmp_path: Path) -> None:
    """The differential comparison is positional: make sure positions are the
    SELECT list's, named by its aliases."""
    events = tmp_path / "events.jsonl"
    write_events(events, EDGE_ROWS, False)
    rows = run_pipeline(modules["coalesce_nullif"], events, tmp_path)
    assert len(rows) == len(EDGE_ROWS)
    assert all(list(r) == ["id", "c", "n", "cs", "ns", "cx"] for r in rows)


# ------------------------------------------------------------------ bad records

# (raw line, what is wrong with it); each is one dead letter
BAD_LINES = [
    (b'{"id": 1, "a": 2, "ts": 1', "truncated JSON"),
    (b'{"id": "seven", "ts": 1}', "string for a BIGINT"),
    (b'{"a": 1, "ts": 1}', "NOT NULL id missing"),
    (b'{"id": 3, "ts": null}', "NULL event time"),
    (b'{"id": 4, "a": 1.5, "ts": 1}', "fraction for a BIGINT"),
    (b'{"id": 5, "b": 4294967296, "ts": 1}', "out of range for INT"),
    (b'[1, 2, 3]', "not an object"),
    (b'{"id": 6, "s": 12, "ts": 1}', "number for a VARCHAR"),
    (b'{"id": 7, "x": "1.5", "ts": 1}', "string for a DOUBLE"),
    (b'{"id": 8, "s": "\xff\xfe", "ts": 1}', "invalid UTF-8"),
    (b"not json at all", "garbage"),
    (b'{"id": 9, "ts": 1}{"id": 10, "ts": 2}', "two objects on one line"),
]


def _good_line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(good=st.lists(event(0), max_size=12),
       bad=st.lists(st.sampled_from(range(len(BAD_LINES))), min_size=1, max_size=12),
       seed=st.randoms(use_true_random=False))
@example(good=[{"id": 0, "a": 1, "s": "ok", "ts": 1}], bad=list(range(len(BAD_LINES))),
         seed=random.Random(0))
def test_bad_records_go_to_dead_letters(good, bad, seed, modules, duck, tmp_path: Path) -> None:
    """Malformed lines anywhere in the file: every good row comes out exactly as
    DuckDB reads the good lines alone, and each bad line is one dead letter with
    a reason, its 1-based line number and its raw text."""
    good = [dict(r, id=i) for i, r in enumerate(good)]
    lines = [(_good_line(r), None) for r in good] + [BAD_LINES[i] for i in bad]
    seed.shuffle(lines)
    lines.insert(seed.randint(0, len(lines)), (b"   ", None))  # blank: not a record
    events = tmp_path / "mixed.jsonl"
    events.write_bytes(b"".join(raw + b"\n" for raw, _ in lines))
    good_only = tmp_path / "good.jsonl"
    write_events(good_only, good, False)

    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    code = run_module(modules["passthrough"], ["--input", f"t={events}", "--output", str(out),
                                               "--dead-letter", str(dead), "--quiet"])
    assert code == 0
    ours = [tuple(json.loads(line).values()) for line in out.read_text("utf-8").splitlines()]
    theirs = run_duck(duck, PASSTHROUGH.duck, good_only)
    assert len(ours) == len(good)
    assert_same_multiset(ours, theirs)

    letters = [json.loads(line) for line in dead.read_text("utf-8").splitlines()]
    expected = [(number, raw) for number, (raw, what) in enumerate(lines, start=1)
                if what is not None]
    assert len(letters) == len(expected) == len(bad)
    assert sorted(letter["position"] for letter in letters) == [n for n, _ in expected]
    for letter in letters:
        assert isinstance(letter["reason"], str) and letter["reason"].strip()
        assert letter["source"] == "t"
        raw = dict(expected)[letter["position"]]
        assert letter["raw"] == raw.decode("utf-8", errors="replace")


NULLABLE_TIME_DDL = """
CREATE STREAM ev (
    id BIGINT NOT NULL,
    ts BIGINT,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
"""


def test_null_event_time_dead_letter_names_the_line(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.sql"
    catalog.write_text(NULLABLE_TIME_DDL, encoding="utf-8")
    compiled = compile_source(Source("q.sql", "SELECT id, ts FROM ev"), [catalog], "q.sql")
    module = tmp_path / "q.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    lines = [b'{"id": 1, "ts": 1}', b'{"id": 2}', b'{"id": 3, "ts": null}', b'{"id": 4, "ts": 4}']
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(line + b"\n" for line in lines))
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    assert run_module(module, ["--input", f"ev={events}", "--output", str(out),
                               "--dead-letter", str(dead), "--quiet"]) == 0
    assert [json.loads(x) for x in out.read_text("utf-8").splitlines()] == [
        {"id": 1, "ts": 1}, {"id": 4, "ts": 4}]
    letters = [json.loads(x) for x in dead.read_text("utf-8").splitlines()]
    assert [(d["position"], d["raw"]) for d in letters] == [
        (2, '{"id": 2}'), (3, '{"id": 3, "ts": null}')]
    assert all("event time" in d["reason"] for d in letters)


def test_flink_rules_where_duckdb_differs(catalog: Path, tmp_path: Path) -> None:
    """The Flink rules the cases above encode, spelled out on fixed rows:
    -7 / 2 = -3, MOD(-7, 2) = -1, CAST(-2.7 AS INT) = -2, ROUND(2.5) = 3,
    ROUND(-2.5) = -3, ROUND(2.675, 2) = 2.68."""
    sql = ("SELECT id, a / b AS q, MOD(a, b) AS r, CAST(x AS INT) AS c, ROUND(y) AS ry, "
           "ROUND(x, 2) AS rx FROM t")
    compiled = compile_source(Source("rules.sql", sql), [catalog], "rules.sql")
    module = tmp_path / "rules.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    events = tmp_path / "events.jsonl"
    write_events(events, [{"id": 1, "a": -7, "b": 2, "x": -2.7, "y": 2.5, "ts": 0},
                          {"id": 2, "a": 7, "b": -2, "x": 2.675, "y": -2.5, "ts": 0}], False)
    rows = run_pipeline(module, events, tmp_path)
    assert rows == [
        {"id": 1, "q": -3, "r": -1, "c": -2, "ry": 3.0, "rx": -2.7},
        {"id": 2, "q": -3, "r": 1, "c": 2, "ry": -3.0, "rx": 2.68},
    ]

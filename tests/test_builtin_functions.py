"""Flink's built-in functions end to end: each query below is compiled and run
on a few events, and its rows compared with the values Flink's documentation
("System (Built-in) Functions") gives for the same expressions. The runtime
functions' own rules, against DuckDB and the documentation, are in
tests/runtime/test_builtin_duckdb.py and tests/runtime/test_builtin_rules.py;
the compile errors in tests/test_errors.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

CATALOG_DDL = """
CREATE STREAM t (
    id BIGINT NOT NULL,
    n BIGINT,
    x DOUBLE,
    s VARCHAR,
    j VARCHAR,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json');
"""

# 1994-09-27 13:14:15.678 UTC (a Tuesday), the documentation's timestamp
TS = 780671655678
EVENTS = [
    {"id": 1, "n": 44, "x": 42.324, "s": "hello world", "ts": TS,
     "j": '{"a": true, "b": {"c": [1, 2.5, "x"]}, "a b": "right", "n": null}'},
    {"id": 2, "n": None, "x": None, "s": None, "j": None, "ts": TS + 3_600_000},
]


def run(tmp_path: Path, select: str) -> list[dict]:
    catalog = tmp_path / "catalog.sql"
    catalog.write_text(CATALOG_DDL, encoding="utf-8")
    sql = f"SELECT id, {select} FROM t;"
    compiled = compile_source(Source("q.sql", sql), [catalog], "q.sql")
    assert compiled.module is not None, compiled
    module = tmp_path / "q.py"
    module.write_text(compiled.module, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    code = run_module(module, ["--input", f"t={events}", "--output", str(out),
                               "--dead-letter", str(dead), "--quiet"])
    assert code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return sorted(rows, key=lambda r: r["id"])


# (expression, value on event 1, value on event 2 whose columns are NULL)
STRING_CASES = [
    ("REGEXP_REPLACE(s, 'o|d', '')", "hell wrl", None),
    ("REGEXP_REPLACE('foobar', 'oo|ar', '')", "fb", "fb"),
    ("REGEXP(s, 'wor')", True, None),
    ("REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 2)", "bar", "bar"),
    ("SUBSTR(s, 7)", "world", None),
    ("SUBSTR(s, 1, 5)", "hello", None),
    ("LOCATE('o', s)", 5, None),
    ("LOCATE('o', s, 6)", 8, None),
    ("LPAD('hi', 4, '??')", "??hi", "??hi"),
    ("LPAD(s, 1, '??')", "h", None),
    ("RPAD('hi', 4, '??')", "hi??", "hi??"),
    ("INITCAP(s)", "Hello World", None),
    ("REVERSE(s)", "dlrow olleh", None),
    # Flink's documented examples (system functions page)
    ("REPEAT('This is a test String.', 2)",
     "This is a test String.This is a test String.", "This is a test String.This is a test String."),
    ("REPEAT(s, 0)", "", None),
    ("OVERLAY('xxxxxtest' PLACING 'xxxx' FROM 6)", "xxxxxxxxx", "xxxxxxxxx"),
    ("OVERLAY('xxxxxtest' PLACING 'xxxx' FROM 6 FOR 2)", "xxxxxxxxxst", "xxxxxxxxxst"),
    ("OVERLAY(s PLACING 'J' FROM 1 FOR CAST(n AS INT) - 39)", "J world", None),
    ("OVERLAY(s PLACING '!' FROM 50)", "hello world!", None),
    ("ASCII(s)", 104, None),
    ("ASCII('')", 0, 0),
    ("CHR(97)", "a", "a"),
    ("CHR(353)", "a", "a"),
    ("TO_BASE64('hello world')", "aGVsbG8gd29ybGQ=", "aGVsbG8gd29ybGQ="),
    ("TO_BASE64(s)", "aGVsbG8gd29ybGQ=", None),
    ("FROM_BASE64('aGVsbG8gd29ybGQ=')", "hello world", "hello world"),
    ("FROM_BASE64(TO_BASE64(s))", "hello world", None),
    ("FROM_BASE64('not base64!')", None, None),
    ("BIN(12)", "1100", "1100"),
    ("JSON_STRING(s)", '"hello world"', None),
    ("JSON_STRING(TRUE)", "true", "true"),
    ("HEX(100)", "64", "64"),
    ("HEX(s)", "68656C6C6F20776F726C64", None),
    ("PARSE_URL('http://facebook.com/path1/p.php?k1=v1&k2=v2#Ref1', 'HOST')",
     "facebook.com", "facebook.com"),
    ("PARSE_URL('http://facebook.com/path1/p.php?k1=v1&k2=v2#Ref1', 'QUERY', 'k1')", "v1", "v1"),
    ("SPLIT_INDEX(s, ' ', 1)", "world", None),
    ("IFNULL(s, 'none')", "hello world", "none"),
    ("MD5(s)", "5eb63bbbe01eeed093cb22bb8f5acdc3", None),
    ("SHA256(s)", "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9", None),
    ("TRUNCATE(x, 2)", 42.32, None),
    ("TRUNCATE(x)", 42.0, None),
    ("CHAR_LENGTH(UUID())", 36, 36),
]


@pytest.mark.parametrize("expr, first, second", STRING_CASES, ids=[c[0] for c in STRING_CASES])
def test_string_functions(tmp_path: Path, expr: str, first, second) -> None:
    rows = run(tmp_path, f"{expr} AS v")
    assert [r["v"] for r in rows] == [first, second]


# FLOOR/CEIL of a TIME (the system functions page's examples), rendered as TIME
TIME_CASES = [
    ("FLOOR(TIME '12:44:31' TO MINUTE)", "12:44:00"),
    ("CEIL(TIME '12:44:31' TO MINUTE)", "12:45:00"),
    ("CEIL(TIME '12:00:00' TO HOUR)", "12:00:00"),
    ("FLOOR(CAST(TO_TIMESTAMP(ts) AS TIME) TO HOUR)", "13:00:00"),
    ("CEIL(CAST(TO_TIMESTAMP(ts) AS TIME) TO SECOND)", "13:14:16"),
]


# (start, end | interval) OVERLAPS (...): Calcite's rewrite, e0 >= s1 AND e1 >= s0 on
# sorted ends; the first two are the system functions page's examples
OVERLAPS_CASES = [
    ("(TIME '2:55:00', INTERVAL '1' HOUR) OVERLAPS (TIME '3:30:00', INTERVAL '2' HOUR)", True),
    ("(TIME '9:00:00', TIME '10:00:00') OVERLAPS (TIME '10:15:00', INTERVAL '3' HOUR)", False),
    ("(TIME '9:00:00', TIME '10:00:00') OVERLAPS (TIME '10:00:00', TIME '11:00:00')", True),
    ("(TO_TIMESTAMP(ts), INTERVAL '1' HOUR) OVERLAPS (TIMESTAMP '1994-09-27 14:14:15.678', "
     "TIMESTAMP '1994-09-27 15:00:00')", True),
    ("(TO_TIMESTAMP(ts), TIMESTAMP '1994-09-27 00:00:00') OVERLAPS "
     "(TIMESTAMP '1994-09-27 13:14:16', INTERVAL '1' DAY)", False),
    ("(DATE '2024-01-01', INTERVAL '2' DAY) OVERLAPS (DATE '2024-01-03', DATE '2024-01-09')",
     True),
    # a NULL end: the sorting CASE takes it for the start (as Calcite's rewrite does)
    ("(TIME '9:00:00', CAST(NULL AS TIME)) OVERLAPS (TIME '10:00:00', TIME '11:00:00')", False),
    ("(TIME '10:30:00', CAST(NULL AS TIME)) OVERLAPS (TIME '10:00:00', TIME '11:00:00')", None),
]


@pytest.mark.parametrize("expr, value", OVERLAPS_CASES, ids=[c[0] for c in OVERLAPS_CASES])
def test_overlaps(tmp_path: Path, expr: str, value) -> None:
    rows = run(tmp_path, f"{expr} AS v")
    assert rows[0]["v"] == value


@pytest.mark.parametrize("expr, value", TIME_CASES, ids=[c[0] for c in TIME_CASES])
def test_floor_ceil_of_a_time(tmp_path: Path, expr: str, value) -> None:
    rows = run(tmp_path, f"{expr} AS v")
    assert rows[0]["v"] == value


# BETWEEN SYMMETRIC: either bound may be the lower; NULL as Flink's page says
# (12 BETWEEN SYMMETRIC NULL AND 12 is UNKNOWN)
BETWEEN_CASES = [
    ("n BETWEEN SYMMETRIC 50 AND 40", True, None),
    ("n NOT BETWEEN SYMMETRIC 50 AND 40", False, None),
    ("n BETWEEN 50 AND 40", False, None),
    ("12 BETWEEN SYMMETRIC n AND 12", True, None),
    ("12 NOT BETWEEN SYMMETRIC 12 AND n", False, None),
    # a half of constants only (12 >= 12) is one row long: it used to crash the batch
    ("12 BETWEEN 12 AND n", True, None),
]


@pytest.mark.parametrize("expr, first, second", BETWEEN_CASES, ids=[c[0] for c in BETWEEN_CASES])
def test_between_symmetric(tmp_path: Path, expr: str, first, second) -> None:
    rows = run(tmp_path, f"{expr} AS v")
    assert [r["v"] for r in rows] == [first, second]


def test_str_to_map_gives_a_map_column(tmp_path: Path) -> None:
    rows = run(tmp_path, "STR_TO_MAP('k1=v1,k2=v2') AS m, STR_TO_MAP(s, ' ', 'l+') AS w")
    assert rows[0]["m"] == {"k1": "v1", "k2": "v2"}
    assert rows[0]["w"] == {"he": "o", "wor": "d"}
    assert rows[1]["w"] is None


def test_uuid_is_new_on_every_row(tmp_path: Path) -> None:
    rows = run(tmp_path, "UUID() AS u")
    assert len({r["u"] for r in rows}) == 2


# Flink's documented examples; TS is 1994-09-27 13:14:15.678 (UTC)
TIME_CASES = [
    ("YEAR(event_time)", 1994), ("QUARTER(event_time)", 3), ("MONTH(event_time)", 9),
    ("WEEK(event_time)", 39), ("DAYOFYEAR(event_time)", 270), ("DAYOFMONTH(event_time)", 27),
    ("DAYOFWEEK(event_time)", 3), ("HOUR(event_time)", 13), ("MINUTE(event_time)", 14),
    ("SECOND(event_time)", 15),
    ("CAST(FLOOR(event_time TO MINUTE) AS VARCHAR)", "1994-09-27 13:14:00.000"),
    ("CAST(CEIL(event_time TO MINUTE) AS VARCHAR)", "1994-09-27 13:15:00.000"),
    ("CAST(FLOOR(event_time TO HOUR) AS VARCHAR)", "1994-09-27 13:00:00.000"),
    ("CAST(FLOOR(event_time TO DAY) AS VARCHAR)", "1994-09-27 00:00:00.000"),
    ("CAST(FLOOR(event_time TO WEEK) AS VARCHAR)", "1994-09-25 00:00:00.000"),
    ("CAST(CEIL(event_time TO MONTH) AS VARCHAR)", "1994-10-01 00:00:00.000"),
    ("CAST(FLOOR(event_time TO YEAR) AS VARCHAR)", "1994-01-01 00:00:00.000"),
    ("CAST(TIMESTAMPADD(HOUR, 2, event_time) AS VARCHAR)", "1994-09-27 15:14:15.678"),
    ("CAST(TIMESTAMPADD(MONTH, 5, event_time) AS VARCHAR)", "1995-02-27 13:14:15.678"),
    ("FROM_UNIXTIME(44)", "1970-01-01 00:00:44"),
    ("FROM_UNIXTIME(n, 'HH:mm:ss')", "00:00:44"),
    ("UNIX_TIMESTAMP('1970-01-01 08:00:01.001', 'yyyy-MM-dd HH:mm:ss.SSS')", 28801),
    ("UNIX_TIMESTAMP('1970-01-01 08:00:01.001 +0800', 'yyyy-MM-dd HH:mm:ss.SSS X')", 1),
    ("UNIX_TIMESTAMP('1970-01-01 08:00:01.001', 'yyyy-MM-dd HH:mm:ss.SSS X')", -(2**63)),
    ("UNIX_TIMESTAMP(s)", -(2**63)),
    ("CAST(TO_DATE('2024-02-29') AS VARCHAR)", "2024-02-29"),
    ("CAST(TO_DATE('29/02/2024', 'dd/MM/yyyy') AS VARCHAR)", "2024-02-29"),
    ("CONVERT_TZ('1970-01-01 00:00:00', 'UTC', 'America/Los_Angeles')", "1969-12-31 16:00:00"),
    ("DATE_FORMAT(event_time, 'yyyy-MM-dd''T''HH:mm:ss.SSS')", "1994-09-27T13:14:15.678"),
    ("DATE_FORMAT(event_time, 'EEE, d MMM yyyy hh:mm a')", "Tue, 27 Sep 1994 01:14 PM"),
]


@pytest.mark.parametrize("expr, value", TIME_CASES, ids=[c[0] for c in TIME_CASES])
def test_time_functions(tmp_path: Path, expr: str, value) -> None:
    rows = run(tmp_path, f"{expr} AS v")
    assert rows[0]["v"] == value


def test_unix_timestamp_now_reads_the_pinned_clock(tmp_path: Path) -> None:
    rows = run(tmp_path, "UNIX_TIMESTAMP() AS v")
    assert all(isinstance(r["v"], int) and r["v"] > 1_600_000_000 for r in rows)


# Flink's documented JSON examples on the column j of event 1 (or on literals)
JSON_CASES = [
    ("JSON_VALUE('{\"a\": true}', '$.a')", "true"),
    ("JSON_VALUE('{\"a\": true}', '$.a' RETURNING BOOLEAN)", True),
    ("JSON_VALUE('{\"a\": true}', 'lax $.b' DEFAULT FALSE ON EMPTY)", "false"),
    ("JSON_VALUE('{\"a\": true}', 'strict $.b' DEFAULT FALSE ON ERROR)", "false"),
    ("JSON_VALUE('{\"a.b\": [0.998,0.996]}', '$.[\"a.b\"][0]' RETURNING DOUBLE)", 0.998),
    ("JSON_VALUE('{\"contains blank\": \"right\"}', 'strict $.[''contains blank'']' "
     "NULL ON EMPTY DEFAULT 'wrong' ON ERROR)", "right"),
    ("JSON_VALUE(j, '$.b.c[1]' RETURNING DOUBLE)", 2.5),
    ("JSON_VALUE(j, '$.b.c[2]')", "x"),
    ("JSON_VALUE(j, '$.b.c[0]' RETURNING INT)", 1),
    ("JSON_VALUE(j, '$.b.c[2]' RETURNING INT DEFAULT -1 ON ERROR)", -1),
    ("JSON_VALUE(j, '$.n' DEFAULT 'empty' ON EMPTY)", "empty"),
    ("JSON_VALUE(j, '$.b')", None),
    ("JSON_VALUE(j, '$[''a b'']')", "right"),
    ("JSON_EXISTS('{\"a\": true}', '$.a')", True),
    ("JSON_EXISTS('{\"a\": true}', '$.b')", False),
    ("JSON_EXISTS('{\"a\": [{ \"b\": 1 }]}', '$.a[0].b')", True),
    ("JSON_QUERY('{ \"a\": { \"b\": 1 } }', '$.a')", '{"b":1}'),
    ("JSON_QUERY('[1, 2]', '$')", "[1,2]"),
    ("JSON_QUERY('1', '$')", None),
    ("JSON_QUERY(j, '$.b.c')", '[1,2.5,"x"]'),
    # ON ERROR of JSON_EXISTS; a path without a mode is strict (Flink's SqlJsonUtils)
    ("JSON_EXISTS('{\"a\": true}', 'strict $.b' TRUE ON ERROR)", True),
    ("JSON_EXISTS('{\"a\": true}', '$.b' TRUE ON ERROR)", True),
    ("JSON_EXISTS('{\"a\": true}', 'lax $.b' TRUE ON ERROR)", False),
    ("JSON_EXISTS('not json', '$' UNKNOWN ON ERROR)", None),
    ("JSON_EXISTS('not json', 'lax $' TRUE ON ERROR)", False),
    ("JSON_EXISTS(j, '$.n')", False),  # JSON null is not a value (context.obj != null)
    ("JSON_EXISTS(j, '$.b.c[*]')", True),
    # the JSON_QUERY examples of Flink's page
    ("JSON_QUERY('{\"a\":[{\"c\":\"c1\"},{\"c\":\"c2\"}]}', 'lax $.a[*].c')",
     '["c1","c2"]'),
    ("JSON_QUERY('{}', '$' WITH CONDITIONAL ARRAY WRAPPER)", "[{}]"),
    ("JSON_QUERY('[1, 2]', '$' WITH CONDITIONAL ARRAY WRAPPER)", "[1,2]"),
    ("JSON_QUERY('[1, 2]', '$' WITH UNCONDITIONAL ARRAY WRAPPER)", "[[1,2]]"),
    ("JSON_QUERY('1', '$' WITH CONDITIONAL ARRAY WRAPPER)", "[1]"),
    ("JSON_QUERY('{}', 'lax $.invalid' EMPTY OBJECT ON EMPTY)", "{}"),
    ("JSON_QUERY('{}', 'strict $.invalid' EMPTY ARRAY ON ERROR)", "[]"),
    ("JSON_QUERY(j, '$.b.c[*]' WITH ARRAY WRAPPER)", '[[1,2.5,"x"]]'),
    ("JSON_QUERY(j, '$.b.c[-1]' WITHOUT ARRAY WRAPPER NULL ON EMPTY EMPTY OBJECT ON ERROR)",
     "{}"),
    ("JSON_QUERY(j, 'lax $.b.c[-1]' WITHOUT WRAPPER EMPTY ARRAY ON EMPTY)", "[]"),
    ("JSON_QUERY(j, '$.*')", '[true,{"c":[1,2.5,"x"]},"right",null]'),
    ("JSON_QUERY('{\"b\": 1, \"a\": [2]}', '$')", '{"a":[2],"b":1}'),  # keys ordered
    # RETURNING ARRAY<STRING> (Flink's SqlJsonUtils.jsonQuery): the elements as strings
    ("JSON_QUERY('{\"a\":[{\"c\":\"c1\"},{\"c\":\"c2\"}]}', 'lax $.a[*].c' "
     "RETURNING ARRAY<STRING>)", ["c1", "c2"]),
    ("JSON_QUERY('[1, true, null, 2.5, 1e20, \"x\", {\"b\": [1], \"a\": 2}]', '$' "
     "RETURNING ARRAY<STRING>)", ["1", "true", None, "2.5", "1.0E20", "x", '{"a":2,"b":[1]}']),
    ("JSON_QUERY('{\"a\": 1}', '$' RETURNING ARRAY<STRING>)", None),  # no array: an error
    ("JSON_QUERY('{\"a\": 1}', '$' RETURNING ARRAY<STRING> EMPTY ARRAY ON ERROR)", []),
    ("JSON_QUERY('{}', 'lax $.x' RETURNING ARRAY<STRING> EMPTY ARRAY ON EMPTY)", []),
    ("JSON_QUERY('{\"a\": 1}', '$.a' RETURNING ARRAY<STRING> WITH ARRAY WRAPPER)", ["1"]),
    ("CARDINALITY(JSON_QUERY(j, '$.b.c' RETURNING ARRAY<STRING>))", 3),
    # wildcards: JSON_VALUE of a list is empty in lax mode, an error in strict
    ("JSON_VALUE(j, 'lax $.b.c[*]' DEFAULT 'empty' ON EMPTY)", "empty"),
    ("JSON_VALUE(j, 'strict $.b.c[*]' DEFAULT 'error' ON ERROR)", "error"),
    ("JSON_VALUE(j, 'lax $.b' DEFAULT 'empty' ON EMPTY DEFAULT 'error' ON ERROR)", "empty"),
    ("JSON_VALUE(j, '$.missing' DEFAULT 'empty' ON EMPTY DEFAULT 'error' ON ERROR)", "error"),
    ("JSON_VALUE(j, '$.b.c[-1]')", "x"),
    # a JSON constructor inside another goes in as JSON (Flink)
    ("JSON_ARRAY(JSON_ARRAY(1))", "[[1]]"),
    ("JSON_ARRAY(JSON_OBJECT('k' VALUE s), s)", '[{"k":"hello world"},"hello world"]'),
    ("JSON_OBJECT('b' VALUE JSON_ARRAY(1, 2), 'a' VALUE '[3]')", '{"a":"[3]","b":[1,2]}'),
    ("'1' IS JSON", True), ("'[]' IS JSON", True), ("'{}' IS JSON", True),
    ("'\"abc\"' IS JSON", True), ("'abc' IS JSON", False), ("s IS JSON", False),
    ("'1' IS JSON SCALAR", True), ("'1' IS JSON ARRAY", False), ("'1' IS JSON OBJECT", False),
    ("'{}' IS JSON SCALAR", False), ("'{}' IS JSON ARRAY", False), ("'{}' IS JSON OBJECT", True),
    ("j IS JSON OBJECT", True),
]


@pytest.mark.parametrize("expr, value", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_functions(tmp_path: Path, expr: str, value) -> None:
    rows = run(tmp_path, f"{expr} AS v")
    assert rows[0]["v"] == value


def test_json_of_null_text(tmp_path: Path) -> None:
    rows = run(tmp_path, "JSON_VALUE(j, '$.a') AS v, JSON_EXISTS(j, '$.a') AS e, "
                         "JSON_QUERY(j, '$') AS q, j IS JSON AS i")
    assert rows[1] == {"id": 2, "v": None, "e": None, "q": None, "i": False}  # NULL IS JSON: FALSE

"""Compiled UNION ALL and UNION pipelines against DuckDB's.

Two streams, ``a`` (v INT) and ``b`` (w DOUBLE): a union's columns take the
first input's names and the widened types (INT and DOUBLE give DOUBLE), its
watermark is the lower of the inputs'. For a bounded input the final output
(UNION ALL: every row, any order; UNION and unions of aggregations: the
changelog applied) equals DuckDB's on the same rows, whatever the batch size.
The generated streams are out of order only within the watermark bound, so
no row is late whichever way the driver interleaves the two files.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_window_differential import to_ms as window_to_ms

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

BASE = 1_762_768_800_000  # 2025-11-10 10:00:00 UTC
CATALOG = """
CREATE TABLE a (
    i BIGINT NOT NULL,
    k VARCHAR,
    v INT,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'a', 'format' = 'json');

CREATE TABLE b (
    i BIGINT NOT NULL,
    k VARCHAR,
    w DOUBLE,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '2' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'b', 'format' = 'json');

CREATE VIEW ab AS
SELECT i, k, v, event_time FROM a UNION ALL SELECT i, k, w, event_time FROM b;
"""

# name -> (sqlc query, DuckDB query, the result is a changelog to apply)
QUERIES = {
    "all": ("SELECT i, k, v, ts FROM a UNION ALL SELECT i, k, w, ts FROM b",
            "SELECT i, k, CAST(v AS DOUBLE) AS v, ts FROM a UNION ALL SELECT i, k, w, ts FROM b",
            False),
    "distinct": ("SELECT k, v FROM a UNION SELECT k, w FROM b",
                 "SELECT k, CAST(v AS DOUBLE) AS v FROM a UNION SELECT k, w FROM b", True),
    # one source read by two branches, three inputs
    "three": ("SELECT i, k, v FROM a WHERE v > 0 UNION ALL SELECT i, k, w FROM b "
              "UNION ALL SELECT i, k, v FROM a WHERE v <= 0",
              "SELECT i, k, CAST(v AS DOUBLE) AS v FROM a WHERE v > 0 UNION ALL "
              "SELECT i, k, w FROM b UNION ALL SELECT i, k, v FROM a WHERE v <= 0", False),
    # a window over the union: it fires on the lower watermark of the two
    "window": ("SELECT window_start, k, COUNT(*) AS c, SUM(v) AS s, MAX(i) AS last_i "
               "FROM TABLE(TUMBLE(TABLE ab, DESCRIPTOR(event_time), INTERVAL '10' SECOND)) "
               "GROUP BY window_start, window_end, k",
               "SELECT ts // 10000 * 10000 AS window_start, k, "
               "COUNT(*) AS c, SUM(v) AS s, MAX(i) AS last_i FROM (SELECT i, k, "
               "CAST(v AS DOUBLE) AS v, ts FROM a UNION ALL SELECT i, k, w, ts FROM b) "
               "GROUP BY 1, 2", False),
    # updating inputs: their changelogs pass through the union
    "updating": ("SELECT k, COUNT(*) AS c FROM a GROUP BY k "
                 "UNION ALL SELECT k, COUNT(*) AS c FROM b GROUP BY k",
                 "SELECT k, COUNT(*) AS c FROM a GROUP BY k "
                 "UNION ALL SELECT k, COUNT(*) AS c FROM b GROUP BY k", True),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("union")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


def compile_queries(queries: dict[str, str], workspace: Path) -> dict[str, Path]:
    """Each query compiled against the workspace's catalog into a module file."""
    found = {}
    for name, sql in queries.items():
        compiled = compile_source(Source(f"{name}.sql", sql + ";"),
                                  [str(workspace / "catalog.sql")])
        module = workspace / f"{name}.py"
        module.write_text(compiled.module or "", encoding="utf-8")
        found[name] = module
    return found


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return compile_queries({name: sql for name, (sql, _, _) in QUERIES.items()}, workspace)


def run(module: Path, inputs: dict[str, list[dict]], workspace: Path, batch: int) -> list[dict]:
    paths = []
    for name, events in inputs.items():
        path = workspace / f"{module.stem}.{name}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        paths += ["--input", f"{name}={path}"]
    out = workspace / f"{module.stem}.out.jsonl"
    assert run_module(module, [*paths, "--output", str(out), "--quiet",
                               "--batch-size", str(batch)]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def to_ms(value):
    """Output timestamps are text: 'YYYY-MM-DD HH:MM:SS.fff' in UTC."""
    if not isinstance(value, str) or len(value) != 23 or value[10] != " ":
        return value
    return window_to_ms(value)


def rounded(value):
    return round(value, 6) if isinstance(value, float) and not math.isnan(value) else value


def result(rows: list[dict], changelog: bool) -> Counter:
    """The rows as a multiset; a changelog applied, each retraction checked."""
    table: Counter = Counter()
    for row in rows:
        op = row.pop("_op", "+I")
        key = tuple(sorted((k, rounded(to_ms(v))) for k, v in row.items()))
        if op in ("+I", "+U"):
            table[key] += 1
        else:
            assert changelog and table[key] > 0, f"{op} of a row not in the result: {row}"
            table[key] -= 1
    return +table


def duck_rows(sql: str, a: list[dict], b: list[dict]) -> Counter:
    """DuckDB's result of ``sql`` over the rows of a and b, as a multiset."""
    con = duckdb.connect()
    con.execute("CREATE TABLE a (i BIGINT, k VARCHAR, v INT, ts BIGINT)")
    con.execute("CREATE TABLE b (i BIGINT, k VARCHAR, w DOUBLE, ts BIGINT)")
    for table, events, value in (("a", a, "v"), ("b", b, "w")):
        rows = [(e["i"], e["k"], e[value], e["ts"]) for e in events]
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", rows)
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return result([dict(zip(names, row)) for row in cursor.fetchall()], False)


def duck_expected(name: str, a: list[dict], b: list[dict]) -> Counter:
    return duck_rows(QUERIES[name][1], a, b)


def check(name: str, modules: dict[str, Path], a: list[dict], b: list[dict],
          workspace: Path, batch: int) -> None:
    actual = result(run(modules[name], {"a": a, "b": b}, workspace, batch), QUERIES[name][2])
    assert actual == duck_expected(name, a, b)


def streams():
    """Two bounded streams, out of order within their bounds (a: 5 s, b: 2 s),
    equal timestamps, duplicate rows, NULL keys and values."""
    key = st.sampled_from(["x", "y", None])
    ints = st.one_of(st.none(), st.integers(-3, 3))
    doubles = st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 1.0, 2.0, 2.5]))
    step = st.one_of(st.integers(0, 3_000), st.just(0), st.just(10_000))

    @st.composite
    def stream(draw, value, bound, first_i):
        events, clock = [], BASE
        for n in range(draw(st.integers(0, 30))):
            clock += draw(step)
            ts = max(BASE, clock - draw(st.integers(0, bound - 1)))
            events.append({"i": first_i + n, "k": draw(key), "value": draw(value), "ts": ts})
            if draw(st.integers(0, 5)) == 0:
                events.append(dict(events[-1]))  # the same row again
        return events

    @st.composite
    def both(draw):
        a = [{"i": e["i"], "k": e["k"], "v": e["value"], "ts": e["ts"]}
             for e in draw(stream(ints, 5_000, 0))]
        b = [{"i": e["i"], "k": e["k"], "w": e["value"], "ts": e["ts"]}
             for e in draw(stream(doubles, 2_000, 1_000))]
        return a, b

    return both()


def sample() -> tuple[list[dict], list[dict]]:
    a = [{"i": n, "k": "xy"[n % 2], "v": n % 4 - 1, "ts": BASE + n * 900 - (n % 3) * 1_000}
         for n in range(60)]
    a.append({"i": 60, "k": None, "v": None, "ts": BASE + 70_000})
    b = [{"i": 1_000 + n, "k": "yx"[n % 2], "w": (n % 5) / 2, "ts": BASE + n * 1_300 - (n % 2) * 500}
         for n in range(40)]
    b.append(dict(b[-1]))
    return a, b


@pytest.mark.parametrize("batch", [1, 7, 500])
@pytest.mark.parametrize("name", list(QUERIES))
def test_sample_streams(name: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    a, b = sample()
    check(name, modules, a, b, workspace, batch)


@pytest.mark.parametrize("name", list(QUERIES))
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(name: str, events, batch: int, modules: dict[str, Path],
                           workspace: Path) -> None:
    check(name, modules, *events, workspace, batch)


def test_union_schema_widens_and_keeps_the_first_names(workspace: Path) -> None:
    compiled = compile_source(Source("q.sql", "SELECT i, k, v, event_time FROM a UNION ALL "
                                     "SELECT i, k, w AS other, event_time FROM b;"),
                              [str(workspace / "catalog.sql")])
    union = compiled.logical[0].input
    assert [(f.name, f.type.sql(), f.type.nullable) for f in union.schema] == [
        ("i", "BIGINT", False), ("k", "VARCHAR", True), ("v", "DOUBLE", True),
        ("event_time", "TIMESTAMP(3)", False)]
    assert union.schema[3].type.time_attribute == "ROWTIME"  # both inputs' rowtime


@pytest.mark.parametrize("sql, where, words", [
    ("SELECT i, k FROM a UNION ALL SELECT i FROM b;", "SELECT i FROM b", "2 and 1 columns"),
    ("SELECT i, k FROM a UNION ALL SELECT i, event_time FROM b;", "event_time",
     "column 'k' is VARCHAR on the left and TIMESTAMP(3) on the right"),
    ("SELECT k FROM a INTERSECT ALL SELECT k FROM b;", "INTERSECT",
     "INTERSECT ALL is not supported"),
])
def test_union_errors_are_positioned(sql: str, where: str, words: str, workspace: Path) -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", sql), [str(workspace / "catalog.sql")])
    text = info.value.render()
    assert words in text
    assert f"q.sql:1:{sql.index(where) + 1}:" in text

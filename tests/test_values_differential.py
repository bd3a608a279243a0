"""Compiled queries over inline ``VALUES`` tables against DuckDB's.

In Flink ``(VALUES (...), (...)) AS t(a, b)`` is a bounded, insert-only source:
its rows are read once. sqlc reads it as a source of its own (connector
``values``) whose rows are constants of the generated module, read before any
stream, so a stream joined to it sees the whole table. For a bounded stream
``a`` (out of order, duplicates, NULL keys and values) the final output, with
the changelog applied where the result is updating, equals DuckDB's for the
same SQL, whatever the batch size.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_union_differential import BASE, result, run
from test_union_differential import CATALOG as UNION_CATALOG
from test_union_differential import streams as union_streams

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

# the streams a and b of the union tests, and a sink
CATALOG = UNION_CATALOG + """
CREATE TABLE labelled (i BIGINT, label VARCHAR) WITH ('connector' = 'print');
"""

# a table with a duplicate key ('x' twice), a NULL key and a NULL value
LABELS = "(VALUES ('x', 'ex', 1.5), ('y', 'why', 2), ('x', 'ex2', NULL), " \
         "(CAST(NULL AS VARCHAR), 'none', 4.0)) AS t(k, label, weight)"

# name -> (sqlc query, DuckDB query, the result is a changelog to apply)
QUERIES = {
    "join": (f"SELECT a.i, t.label, t.weight * a.v AS score FROM a JOIN {LABELS} ON a.k = t.k",
             f"SELECT a.i, t.label, t.weight * a.v AS score FROM a JOIN {LABELS} ON a.k = t.k",
             False),
    # the table first: VALUES on the left of a join with the stream
    "values_left": (f"SELECT t.label, a.i FROM {LABELS} JOIN a ON t.k = a.k AND a.v > 0",
                    f"SELECT t.label, a.i FROM {LABELS} JOIN a ON t.k = a.k AND a.v > 0", False),
    "left_join": (f"SELECT a.i, a.k, t.label FROM a LEFT JOIN {LABELS} ON a.k = t.k",
                  f"SELECT a.i, a.k, t.label FROM a LEFT JOIN {LABELS} ON a.k = t.k", True),
    "in_values": ("SELECT i, k FROM a WHERE k IN (SELECT k FROM (VALUES ('x'), ('z')) AS t(k))",
                  "SELECT i, k FROM a WHERE k IN (SELECT k FROM (VALUES ('x'), ('z')) AS t(k))",
                  False),
    "union": ("SELECT k, v FROM a UNION ALL SELECT * FROM (VALUES ('w', 7), ('x', NULL)) "
              "AS t(k, v)",
              "SELECT k, v FROM a UNION ALL SELECT * FROM (VALUES ('w', 7), ('x', NULL)) "
              "AS t(k, v)", False),
    "grouped": (f"SELECT a.k, t.label, COUNT(*) AS c, SUM(a.v) AS s FROM a JOIN {LABELS} "
                "ON a.k = t.k GROUP BY a.k, t.label",
                f"SELECT a.k, t.label, COUNT(*) AS c, SUM(a.v) AS s FROM a JOIN {LABELS} "
                "ON a.k = t.k GROUP BY a.k, t.label", True),
    # no stream at all: the rows of the table, aggregated
    "only_values": ("SELECT k, COUNT(*) AS c, MAX(weight) AS m FROM " + LABELS + " GROUP BY k",
                    "SELECT k, COUNT(*) AS c, MAX(weight) AS m FROM " + LABELS + " GROUP BY k",
                    True),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("values")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


def compile_to(workspace: Path, name: str, sql: str) -> Path:
    compiled = compile_source(Source(f"{name}.sql", sql), [str(workspace / "catalog.sql")])
    module = workspace / f"{name}.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    return module


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return {name: compile_to(workspace, name, sql + ";") for name, (sql, _, _) in QUERIES.items()}


def duck_expected(name: str, a: list[dict]) -> object:
    con = duckdb.connect()
    con.execute("CREATE TABLE a (i BIGINT, k VARCHAR, v INT, ts BIGINT)")
    rows = [(e["i"], e["k"], e["v"], e["ts"]) for e in a]
    if rows:
        con.executemany("INSERT INTO a VALUES (?, ?, ?, ?)", rows)
    cursor = con.execute(QUERIES[name][1])
    names = [d[0] for d in cursor.description]
    return result([dict(zip(names, row)) for row in cursor.fetchall()], False)


def check(name: str, modules: dict[str, Path], a: list[dict], workspace: Path,
          batch: int) -> None:
    inputs = {} if name == "only_values" else {"a": a}
    actual = result(run(modules[name], inputs, workspace, batch), QUERIES[name][2])
    assert actual == duck_expected(name, a)


def sample() -> list[dict]:
    a = [{"i": n, "k": "xyz"[n % 3], "v": n % 4 - 1, "ts": BASE + n * 900 - (n % 3) * 1_000}
         for n in range(40)]
    a.append({"i": 40, "k": None, "v": None, "ts": BASE + 50_000})
    a.append(dict(a[3]))  # a duplicate row
    return a


@pytest.mark.parametrize("batch", [1, 7, 500])
@pytest.mark.parametrize("name", list(QUERIES))
def test_sample_stream(name: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    check(name, modules, sample(), workspace, batch)


@pytest.mark.parametrize("name", ["join", "left_join", "in_values", "grouped"])
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=union_streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(name: str, events, batch: int, modules: dict[str, Path],
                           workspace: Path) -> None:
    check(name, modules, events[0], workspace, batch)


def test_an_empty_stream_joined_to_values_gives_nothing(modules: dict[str, Path],
                                                        workspace: Path) -> None:
    assert run(modules["join"], {"a": []}, workspace, 7) == []


def test_column_types_are_the_rows_widened(workspace: Path) -> None:
    """As Flink derives them: INT and BIGINT give BIGINT, INT and DOUBLE DOUBLE,
    strings of different lengths VARCHAR (no blank padding); NOT NULL unless a
    row holds a NULL; unnamed columns are EXPR$0, EXPR$1..."""
    compiled = compile_source(Source("q.sql", (
        "SELECT * FROM (VALUES (1, 2.5, 'a', TRUE, 1), (10000000000, 3, 'bcd', NULL, 2)) "
        "AS t(a, b, c, d, e); SELECT * FROM (VALUES (1, 'x'));")),
        [str(workspace / "catalog.sql")])
    named, unnamed = (plan.input.schema for plan in compiled.logical)
    assert [(f.name, f.type.sql(), f.type.nullable) for f in named] == [
        ("a", "BIGINT", False), ("b", "DOUBLE", False), ("c", "VARCHAR", False),
        ("d", "BOOLEAN", True), ("e", "INT", False)]
    assert [f.name for f in unnamed] == ["EXPR$0", "EXPR$1"]


def test_values_rows_and_their_types_run(workspace: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    """Constants of every storage kind, folded expressions among them, read
    back as DuckDB reads the same VALUES."""
    body = ("(VALUES (1, 2.5, 'a', TRUE, TIMESTAMP '2024-01-01 00:00:01', 1 + 2, "
            "UPPER('b') || 'c'), (10000000000, 3, 'bcd', NULL, NULL, -4, 'de')) "
            "AS t(a, b, c, d, e, f, g)")
    module = compile_to(workspace, "kinds", f"SELECT * FROM {body};")
    capsys.readouterr()
    assert run_module(module, ["--quiet", "--batch-size", "1"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = duckdb.sql(f"SELECT a, b, c, d, strftime(e, '%Y-%m-%d %H:%M:%S.%g') AS e, f, g "
                          f"FROM {body}").fetchall()
    assert [tuple(r.values()) for r in printed] == [tuple(r) for r in expected]


def test_insert_into_a_sink_values(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    """``INSERT INTO sink VALUES (...)``: the rows, cast to the sink's columns."""
    module = compile_to(workspace, "insert",
                        "INSERT INTO labelled VALUES (1, 'one'), (2, CAST(NULL AS VARCHAR));"
                        "INSERT INTO labelled (label, i) VALUES ('three', 3);")
    capsys.readouterr()
    assert run_module(module, ["--quiet"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(printed, key=lambda r: r["i"]) == [
        {"i": 1, "label": "one"}, {"i": 2, "label": None}, {"i": 3, "label": "three"}]


def test_a_values_source_is_read_once_across_a_checkpoint(workspace: Path,
                                                          tmp_path: Path) -> None:
    """The table's position is in the checkpoint: a run resumed from it does
    not read the rows again."""
    module = compile_to(workspace, "ckpt", "SELECT * FROM (VALUES (1), (2)) AS t(x);")
    checkpoints = tmp_path / "checkpoints"
    out = tmp_path / "out.jsonl"
    args = ["--quiet", "--checkpoint-dir", str(checkpoints), "--output", str(out)]
    assert run_module(module, args) == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"x": 1}, {"x": 2}]
    assert run_module(module, args) == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"x": 1}, {"x": 2}]


@pytest.mark.parametrize("sql, where, words", [
    ("SELECT * FROM (VALUES (1, 2), (3)) AS t(a, b);", "3)",
     "VALUES rows have 2 and 1 values"),
    ("SELECT * FROM (VALUES (NULL)) AS t(a);", "NULL",
     "VALUES column 'a' is NULL in every row"),
    ("SELECT * FROM (VALUES (1, 'x'), ('y', 2)) AS t(a, b);", "'y'",
     "VALUES column 'a' is INT in one row and VARCHAR in another"),
    ("SELECT * FROM (VALUES (1)) AS t(a, b);", "(VALUES", "t names 2 columns but its VALUES"),
    ("SELECT * FROM (VALUES (z)) AS t(a);", "z", "unknown column 'z'"),
    ("SELECT * FROM (VALUES (CURRENT_TIMESTAMP)) AS t(a);", "CURRENT_TIMESTAMP",
     "a VALUES row holds constants only"),
])
def test_values_errors_are_positioned(sql: str, where: str, words: str,
                                      workspace: Path) -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", sql), [str(workspace / "catalog.sql")])
    text = info.value.render()
    assert words in text
    assert f"q.sql:1:{sql.index(where) + 1}:" in text

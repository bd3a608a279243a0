"""Compiled IN / EXISTS / NOT IN / NOT EXISTS subqueries against DuckDB's
(correlated NOT IN too).

They run as semi and anti joins of ``a`` with the distinct keys of the
subquery over ``b`` (the streams of test_union_differential), NOT IN of a
side that can be NULL as a null-aware anti join (three-valued: one NULL in
the subquery drops every row, a NULL on the left is dropped unless the
subquery is empty): the output is a changelog (an anti join takes a row
back when its first match arrives),
which applied equals DuckDB's result on the same rows, whatever the batch
size and however the driver interleaves the two inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_union_differential import CATALOG, result, run, sample, streams

from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

# name -> the query, the same text for sqlc and DuckDB
QUERIES = {
    "in": "SELECT i, k, v FROM a WHERE k IN (SELECT k FROM b WHERE w > 0) AND v IS NOT NULL",
    # INT compared with DOUBLE: both keys widen to DOUBLE; an expression as the key
    "in_widened": "SELECT i, v FROM a WHERE v + 1 IN (SELECT w FROM b)",
    "exists": "SELECT i, k FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k AND b.w >= 1.0)",
    "not_exists": "SELECT i, k, v FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.k = a.k)",
    "not_in": "SELECT i, k FROM a WHERE i NOT IN (SELECT i - 1000 FROM b) AND i > 2",
    # correlated IN (Flink's window semi join writes it so): the key and the
    # correlation equality, as EXISTS
    "in_correlated": "SELECT i, k FROM a WHERE k IN (SELECT k FROM b WHERE b.i - 1000 = a.i "
                     "AND w > 0)",
    # two subqueries in one WHERE: a semi join over an anti join
    "both": "SELECT i, k FROM a WHERE k IN (SELECT k FROM b) "
            "AND NOT EXISTS (SELECT * FROM b WHERE b.i - 1000 = a.i)",
    # against a lookup table: lookup joins by its key (INNER, or LEFT and not found)
    "lookup_in": "SELECT i, k FROM a WHERE k IN (SELECT tk FROM t WHERE tv > 0)",
    "lookup_not_exists": "SELECT i, k, v FROM a WHERE NOT EXISTS (SELECT * FROM t WHERE t.tk = a.k)",
    "lookup_not_in": "SELECT i, k FROM a WHERE COALESCE(k, 'none') NOT IN (SELECT tk FROM t)",
    # null-aware NOT IN: one NULL k in b drops every row, a NULL k in a is dropped
    # unless the subquery is empty
    "not_in_nullable": "SELECT i, k FROM a WHERE k NOT IN (SELECT k FROM b)",
    "not_in_null_left": "SELECT i, v FROM a WHERE v NOT IN (SELECT i - 1000 FROM b)",
    "not_in_maybe_empty": "SELECT i, k, v FROM a WHERE v NOT IN (SELECT w FROM b WHERE w > 1)",
    # a correlated IN: the semi join's keys are the IN pair and the correlation
    "correlated_in": "SELECT i, k FROM a WHERE v IN (SELECT b.w - 1 FROM b WHERE b.k = a.k "
                     "AND b.w > 0)",
    # a correlated null-aware NOT IN: three-valued over the subquery's rows of
    # the outer row's key (none for a NULL key: TRUE), as Flink's anti join on
    # (x = y OR x IS NULL OR y IS NULL) AND b.k = a.k
    "not_in_correlated": "SELECT i, k, v FROM a WHERE v NOT IN (SELECT w FROM b WHERE b.k = a.k)",
    "not_in_correlated_filtered": "SELECT i, k FROM a WHERE v NOT IN (SELECT b.w - 1 FROM b "
                                  "WHERE b.k = a.k AND b.w > 0)",
    # correlated by an expression of the inner side, NOT IN of a nullable key
    "not_in_correlated_expression": "SELECT i, k FROM a WHERE k NOT IN (SELECT k FROM b "
                                    "WHERE b.i - 1000 = a.i)",
}
# the lookup table, a file the pipeline reads (keys x, y, z: the streams use x, y)
TABLE = """
CREATE TABLE t (
    tk VARCHAR,
    tv BIGINT,
    tn BIGINT NOT NULL,
    PRIMARY KEY (tk) NOT ENFORCED
) WITH ('connector' = 'file', 'path' = '{path}', 'format' = 'json');
"""
TABLE_ROWS = [{"tk": "x", "tv": 1, "tn": 1}, {"tk": "y", "tv": 0, "tn": 2},
              {"tk": "z", "tv": 5, "tn": 3}]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("subquery")
    table = path / "t.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in TABLE_ROWS), encoding="utf-8")
    (path / "catalog.sql").write_text(CATALOG + TABLE.format(path=table), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    found = {}
    for name, sql in QUERIES.items():
        compiled = compile_source(Source(f"{name}.sql", sql + ";"),
                                  [str(workspace / "catalog.sql")])
        module = workspace / f"{name}.py"
        module.write_text(compiled.module or "", encoding="utf-8")
        found[name] = module
    return found


def duck_expected(name: str, a: list[dict], b: list[dict]):
    con = duckdb.connect()
    con.execute("CREATE TABLE a (i BIGINT, k VARCHAR, v INT, ts BIGINT)")
    con.execute("CREATE TABLE b (i BIGINT, k VARCHAR, w DOUBLE, ts BIGINT)")
    con.execute("CREATE TABLE t (tk VARCHAR, tv BIGINT, tn BIGINT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [tuple(r.values()) for r in TABLE_ROWS])
    for table, events, value in (("a", a, "v"), ("b", b, "w")):
        rows = [(e["i"], e["k"], e[value], e["ts"]) for e in events]
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", rows)
    cursor = con.execute(QUERIES[name])
    names = [d[0] for d in cursor.description]
    return result([dict(zip(names, row)) for row in cursor.fetchall()], False)


def check(name: str, modules: dict[str, Path], a: list[dict], b: list[dict],
          workspace: Path, batch: int) -> None:
    inputs = {"a": a, "b": b} if "FROM b" in QUERIES[name] else {"a": a}
    actual = result(run(modules[name], inputs, workspace, batch), True)
    assert actual == duck_expected(name, a, b)


@pytest.mark.parametrize("batch", [1, 7, 500])
@pytest.mark.parametrize("name", list(QUERIES))
def test_sample_streams(name: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    a, b = sample()
    b += [{"i": 1_003, "k": None, "w": None, "ts": b[-1]["ts"]}]  # a NULL key never matches
    check(name, modules, a, b, workspace, batch)


@pytest.mark.parametrize("name", list(QUERIES))
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(name: str, events, batch: int, modules: dict[str, Path],
                           workspace: Path) -> None:
    check(name, modules, *events, workspace, batch)


def test_anti_join_takes_a_row_back_when_its_match_arrives(modules: dict[str, Path],
                                                            workspace: Path) -> None:
    base = 1_762_768_800_000
    a = [{"i": 1, "k": "x", "v": 1, "ts": base}]
    b = [{"i": 1_000, "k": "x", "w": 1.0, "ts": base + 60_000}]
    rows = run(modules["not_exists"], {"a": a, "b": b}, workspace, 1)
    assert [r["_op"] for r in rows] in (["+I", "-D"], [])  # [] when b's row came first


@pytest.mark.parametrize("batch", [1, 500])
@pytest.mark.parametrize("b_keys, kept", [
    ([], [1, 2, 3]),  # an empty subquery: TRUE for every row, a NULL k too
    (["x"], [3]),  # NULL NOT IN ('x') is NULL: dropped
    (["x", None], []),  # one NULL in the subquery: NULL for every row
    ([None], []),
])
def test_null_aware_not_in_is_three_valued(b_keys, kept, batch: int, modules: dict[str, Path],
                                           workspace: Path) -> None:
    base = 1_762_768_800_000
    a = [{"i": 1, "k": "x", "v": 1, "ts": base}, {"i": 2, "k": None, "v": 2, "ts": base},
         {"i": 3, "k": "z", "v": 3, "ts": base + 1}]
    b = [{"i": 1_000 + n, "k": k, "w": 1.0, "ts": base + n} for n, k in enumerate(b_keys)]
    rows = result(run(modules["not_in_nullable"], {"a": a, "b": b}, workspace, batch), True)
    assert sorted(dict(key)["i"] for key in rows.elements()) == kept
    assert rows == duck_expected("not_in_nullable", a, b)


@pytest.mark.parametrize("sql, where, words", [
    ("SELECT i FROM a WHERE k IN (SELECT k FROM b) OR v > 1;", "k IN",
     "runs only as a condition of WHERE, ANDed with the others"),
    ("SELECT k IN (SELECT k FROM b) AS found FROM a;", "k IN", "not in SELECT"),
    ("SELECT i FROM a WHERE k IN (SELECT k, w FROM b);", "SELECT k, w",
     "needs a subquery of one column; this one has 2"),
    ("SELECT i FROM a WHERE v IN (SELECT w, k FROM b WHERE b.k = a.k);", "SELECT w, k",
     "needs a subquery of one column; this one has 2"),
    ("SELECT i FROM a WHERE EXISTS (SELECT * FROM b WHERE b.ts > a.ts);", "b.ts > a.ts",
     "a correlated condition of EXISTS other than an equality"),
    ("SELECT i FROM a WHERE i IN (SELECT tn FROM t);", "i IN",
     "the join with lookup table 't' must use its whole primary key (tk)"),
    ("SELECT i FROM a WHERE k NOT IN (SELECT tk FROM t);", "k NOT IN",
     "NOT IN (subquery) where the left operand can be NULL does not run yet"),
    ("SELECT i FROM a WHERE k IN (SELECT event_time FROM b);", "k IN",
     "IN compares VARCHAR with the subquery's TIMESTAMP(3) column 'event_time'"),
])
def test_subquery_errors_are_positioned(sql: str, where: str, words: str,
                                        workspace: Path) -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", sql), [str(workspace / "catalog.sql")])
    text = info.value.render()
    assert words in text
    assert f"q.sql:1:{sql.index(where) + 1}:" in text


@pytest.mark.parametrize("sql, mode", [
    # Flink: a semi join forwards its inputs' changes (insert-only in, insert-only out)
    ("SELECT i, k FROM a WHERE k IN (SELECT k FROM b)", "I"),
    ("SELECT i, k FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k)", "I"),
    # an anti join takes a row back when its first match arrives
    ("SELECT i, k FROM a WHERE NOT EXISTS (SELECT * FROM b WHERE b.k = a.k)", "I,UB,UA,D"),
    # the subquery updates (a key leaves the HAVING): so does the semi join
    ("SELECT i, k FROM a WHERE k IN (SELECT k FROM b GROUP BY k HAVING COUNT(*) < 3)",
     "I,UB,UA,D"),
])
def test_semi_join_changelog_is_flinks(sql: str, mode: str, workspace: Path) -> None:
    from compiler import logical as lg

    compiled = compile_source(Source("q.sql", sql + ";"), [str(workspace / "catalog.sql")])
    assert lg.changelog(compiled.logical[0].input) == mode

"""Compiled INTERSECT and EXCEPT (distinct) of two streams against DuckDB's.

As in Flink they are updating results with state: the union of both sides
grouped by every column, a row in the result while both sides hold it
(INTERSECT) or only the left one does (EXCEPT). A NULL is a value like any
other here (two rows with NULL in the same column are the same row). For the
streams of test_union_differential (out of order, duplicates, NULLs) the
changelog applied equals DuckDB's result, whatever the batch size.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_union_differential import (  # noqa: F401  (workspace: a fixture)
    compile_queries,
    duck_rows,
    result,
    run,
    sample,
    streams,
    workspace,
)

from compiler import logical as lg
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

# name -> the query, the same text for sqlc and DuckDB (k VARCHAR, v INT, w DOUBLE)
QUERIES = {
    "intersect": "SELECT k FROM a INTERSECT SELECT k FROM b",
    "except": "SELECT k FROM a EXCEPT SELECT k FROM b",
    # two columns, INT and DOUBLE widened to DOUBLE, NULLs in both
    "intersect_widened": "SELECT k, v FROM a INTERSECT SELECT k, w FROM b",
    "except_widened": "SELECT k, v FROM a WHERE v >= 0 EXCEPT SELECT k, w FROM b",
    # the right side filtered: the left's rows leave as the right's arrive
    "except_filtered": "SELECT k, v FROM a EXCEPT SELECT k, w FROM b WHERE w > 1",
}


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return compile_queries(QUERIES, workspace)


def check(name: str, modules: dict[str, Path], a: list[dict], b: list[dict],
          workspace: Path, batch: int) -> None:
    actual = result(run(modules[name], {"a": a, "b": b}, workspace, batch), True)
    assert actual == duck_rows(QUERIES[name], a, b)


@pytest.mark.parametrize("batch", [1, 7, 500])
@pytest.mark.parametrize("name", list(QUERIES))
def test_sample_streams(name: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    a, b = sample()
    b += [{"i": 1_003, "k": None, "w": None, "ts": b[-1]["ts"]}]
    check(name, modules, a, b, workspace, batch)


@pytest.mark.parametrize("name", list(QUERIES))
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(name: str, events, batch: int, modules: dict[str, Path],
                           workspace: Path) -> None:
    check(name, modules, *events, workspace, batch)


def test_except_takes_a_row_back_when_the_right_side_gets_it(modules: dict[str, Path],
                                                             workspace: Path) -> None:
    base = 1_762_768_800_000
    a = [{"i": 1, "k": "x", "v": 1, "ts": base}]
    b = [{"i": 1_000, "k": "x", "w": 1.0, "ts": base + 60_000}]
    rows = run(modules["except"], {"a": a, "b": b}, workspace, 1)
    assert [r["_op"] for r in rows] in (["+I", "-U"], [])  # [] when b's row came first


def test_the_result_is_updating_with_the_left_names(workspace: Path) -> None:
    compiled = compile_source(Source("q.sql", "SELECT k AS key, v FROM a INTERSECT "
                                     "SELECT k, w AS other FROM b;"),
                              [str(workspace / "catalog.sql")])
    plan = compiled.logical[0].input
    assert lg.changelog(plan) == "I,UB,UA,D"
    assert [(f.name, f.type.sql()) for f in plan.schema] == [("key", "VARCHAR"),
                                                            ("v", "DOUBLE")]


@pytest.mark.parametrize("sql, where, words", [
    ("SELECT k FROM a INTERSECT ALL SELECT k FROM b;", "INTERSECT",
     "INTERSECT ALL is not supported on streams yet"),
    ("SELECT k FROM a EXCEPT ALL SELECT k FROM b;", "EXCEPT",
     "EXCEPT ALL is not supported on streams yet"),
    ("SELECT k, v FROM a INTERSECT SELECT k FROM b;", "SELECT k FROM b", "2 and 1 columns"),
    ("SELECT k FROM a EXCEPT SELECT event_time FROM b;", "event_time",
     "column 'k' is VARCHAR on the left and TIMESTAMP(3) on the right"),
])
def test_set_operation_errors_are_positioned(sql: str, where: str, words: str,
                                             workspace: Path) -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", sql), [str(workspace / "catalog.sql")])
    text = info.value.render()
    assert words in text
    assert f"q.sql:1:{sql.index(where) + 1}:" in text

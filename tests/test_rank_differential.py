"""Compiled Top-N without a window (RankExec) against DuckDB.

The output is a changelog; its final state (``+I``/``+U`` add a row,
``-U``/``-D`` take back an equal one, which must be there) must equal
DuckDB's ``QUALIFY ROW_NUMBER() | RANK() | DENSE_RANK() ... <= N`` over every
row (no row is late for a Top-N without a window, as in Flink), for any cut
into micro-batches. ROW_NUMBER numbers ties by arrival (DuckDB: ``ORDER BY
..., i``); over an updating input (a GROUP BY's changelog), where a group's
arrival is its last update, rows are compared without the key that ties
would make arbitrary.
"""

from __future__ import annotations

import collections
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_over_differential import run
from test_topn_differential import BASE, CATALOG, compile_all

INNER = "SELECT i, k, v, n, {fn}() OVER ({over}) AS rn FROM ev"
# case -> (sqlc query, DuckDB query over table ev, columns compared)
CASES = {
    "row_number_desc": (
        "SELECT i, k, v, rn FROM (" + INNER.format(
            fn="ROW_NUMBER", over="PARTITION BY k ORDER BY v DESC") + ") WHERE rn <= 2",
        "SELECT i, k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC NULLS LAST, i) AS rn "
        "FROM ev QUALIFY rn <= 2"),
    "rank_asc": (
        "SELECT i, k, v, rn FROM (" + INNER.format(
            fn="RANK", over="PARTITION BY k ORDER BY v") + ") WHERE rn < 3",
        "SELECT i, k, v, RANK() OVER (PARTITION BY k ORDER BY v ASC NULLS FIRST) AS rn "
        "FROM ev QUALIFY rn < 3"),
    "dense_global": (
        "SELECT i, n, rn FROM (" + INNER.format(fn="DENSE_RANK", over="ORDER BY n DESC")
        + ") WHERE rn <= 2",
        "SELECT i, n, DENSE_RANK() OVER (ORDER BY n DESC NULLS LAST) AS rn FROM ev "
        "QUALIFY rn <= 2"),
    "no_rank_column": (
        "SELECT i, k, v FROM (" + INNER.format(
            fn="ROW_NUMBER", over="PARTITION BY k ORDER BY v DESC, n") + ") WHERE rn <= 2",
        "SELECT i, k, v FROM ev QUALIFY ROW_NUMBER() OVER (PARTITION BY k ORDER BY "
        "v DESC NULLS LAST, n ASC NULLS FIRST, i) <= 2"),
    "order_by_limit": (
        "SELECT i, k, v FROM ev ORDER BY v DESC LIMIT 3",
        "SELECT i, k, v FROM ev ORDER BY v DESC NULLS LAST, i LIMIT 3"),
    "order_by_time_limit": (
        "SELECT i, k, ts FROM ev ORDER BY event_time, v DESC LIMIT 4",
        "SELECT i, k, ts FROM ev ORDER BY ts, v DESC NULLS LAST, i LIMIT 4"),
    "over_group_by": (
        "SELECT s, rn FROM (SELECT k, s, ROW_NUMBER() OVER (ORDER BY s DESC) AS rn FROM "
        "(SELECT k, SUM(n) AS s FROM ev GROUP BY k)) WHERE rn <= 2",
        "SELECT s, ROW_NUMBER() OVER (ORDER BY s DESC NULLS LAST) AS rn FROM "
        "(SELECT k, SUM(n) AS s FROM ev GROUP BY k) QUALIFY rn <= 2"),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rank")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return compile_all(workspace, {case: sql for case, (sql, _) in CASES.items()})


def final_state(records: list[dict]) -> collections.Counter:
    state: collections.Counter = collections.Counter()
    for r in records:
        op = r.pop("_op")
        row = tuple(sorted((k, repr(v)) for k, v in r.items()))
        if op in ("+I", "+U"):
            state[row] += 1
        else:
            assert state[row] > 0, f"{op} of a row not in the result: {r}"
            state[row] -= 1
    return +state


def duck_expected(case: str, events: list[dict]) -> collections.Counter:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT)")
    rows = [(e["i"], e["k"], e["v"], e["n"], e["ts"]) for e in events]
    if rows:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?)", rows)
    cursor = con.execute(CASES[case][1])
    names = [d[0] for d in cursor.description]
    return collections.Counter(tuple(sorted((k, repr(v)) for k, v in zip(names, row)))
                               for row in cursor.fetchall())


def check(case: str, module: Path, events: list[dict], workspace: Path, batch: int) -> None:
    records = run(module, events, workspace, f"{case}_{batch}", batch)
    assert all(r["_op"] in ("+I", "-U", "+U", "-D") for r in records)
    assert final_state(records) == duck_expected(case, events)


def event_streams():
    key = st.sampled_from(["a", "b", "c", None])
    value = st.one_of(st.none(), st.sampled_from([1.0, 2.0, 3.0]), st.floats(-10, 10).map(round))
    count = st.one_of(st.none(), st.integers(-3, 3))

    @st.composite
    def stream(draw):
        n = draw(st.integers(0, 40))
        one_key = draw(st.booleans())
        events = [{"k": "a" if one_key else draw(key), "v": draw(value), "n": draw(count),
                   "ts": BASE + draw(st.integers(0, 60_000))} for _ in range(n)]
        return [dict(e, i=i) for i, e in enumerate(events)]

    return stream()


def sample_events() -> list[dict]:
    return [{"i": i, "k": "abc"[i % 3] if i % 13 else None,
             "v": None if i % 11 == 0 else float(i * 37 % 13), "n": i * 7 % 5 - 2,
             "ts": BASE + i * 700} for i in range(150)]


@pytest.mark.parametrize("batch", [1, 7, 1000])
@pytest.mark.parametrize("case", list(CASES))
def test_sample_like_stream(case: str, batch: int, modules: dict[str, Path],
                            workspace: Path) -> None:
    check(case, modules[case], sample_events(), workspace, batch)


@pytest.mark.parametrize("case", list(CASES))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams(), batch=st.sampled_from([1, 7, 1000]))
def test_generated_streams(case: str, events: list[dict], batch: int,
                           modules: dict[str, Path], workspace: Path) -> None:
    check(case, modules[case], events, workspace, batch)


def test_a_row_entering_the_top_updates_the_ranks(modules: dict[str, Path],
                                                  workspace: Path) -> None:
    """With the rank column, a new first row shifts the others: -U/+U per rank."""
    events = [{"i": 0, "k": "a", "v": 1.0, "n": 0, "ts": BASE},
              {"i": 1, "k": "a", "v": 2.0, "n": 0, "ts": BASE}]
    records = run(modules["row_number_desc"], events, workspace, "shift", 1)
    assert [(r["_op"], r["i"], r["rn"]) for r in records] == [
        ("+I", 0, 1), ("-U", 0, 1), ("+U", 1, 1), ("+I", 0, 2)]


def test_a_group_below_the_top_comes_back_when_a_top_group_falls(modules: dict[str, Path],
                                                                 workspace: Path) -> None:
    """Over a GROUP BY, a row below the top N must be kept from the start: c (sum 1)
    arrives third, below the top 2, before any retraction; when a's sum falls to -2,
    c is second (Flink's RetractableTopNFunction). It was dropped before the fix."""
    events = [{"i": i, "k": k, "v": None, "n": n, "ts": BASE + i}
              for i, (k, n) in enumerate([("a", 3), ("b", 2), ("c", 1), ("a", -5)])]
    assert sorted(duck_expected("over_group_by", events)) == [
        (("rn", "1"), ("s", "2")), (("rn", "2"), ("s", "1"))]
    for batch in (1, 3):
        check("over_group_by", modules["over_group_by"], events, workspace, batch)

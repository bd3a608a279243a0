"""LISTAGG against DuckDB's ``string_agg`` and against a reference list.

Flink's LISTAGG(x [, sep]) joins the non-NULL values of a group with ','
(or ``sep``) in the order rows reach the aggregate; over an updating input
(ListAggWithRetract) a retracted value leaves the list at its first
occurrence. On an insert-only stream that order is arrival order, so the
differential tests compare the strings exactly with DuckDB's ``string_agg(x,
sep ORDER BY arrival)``, for a non-windowed GROUP BY (its changelog applied),
TUMBLE and HOP windows, with any batch size. Over an updating input the order
depends on when the input's updates arrive (per micro-batch), so there the
elements are compared as a multiset, and the order is checked exactly by the
state's own test against a reference list with ``list.remove``.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from state_roundtrip import roundtrip
from test_union_differential import BASE, result, run
from test_union_differential import streams as union_streams
from test_values_differential import compile_to, workspace  # noqa: F401  (a fixture)

from compiler.driver import compile_source
from compiler.errors import Source, SqlcError
from runtime_lib.aggregate_specs import Agg
from runtime_lib.columns import Column
from runtime_lib.operators.aggregates.listagg import ListAggState

HOP = "TABLE(HOP(TABLE a, DESCRIPTOR(event_time), INTERVAL '5' SECOND, INTERVAL '10' SECOND))"
# the DuckDB rows of HOP(5 s, 10 s): each row in the two windows that hold it
DUCK_HOP = ("(SELECT *, unnest([ts // 5000 * 5000 - 5000, ts // 5000 * 5000]) AS window_start "
            "FROM a)")

# name -> (sqlc query, DuckDB query, the result is a changelog, compare elements as a multiset)
QUERIES = {
    "group": ("SELECT k, LISTAGG(CAST(i AS STRING)) AS ids, LISTAGG(CAST(v AS STRING), '||') "
              "AS vs, COUNT(*) AS c FROM a GROUP BY k",
              "SELECT k, string_agg(CAST(i AS VARCHAR), ',' ORDER BY pos) AS ids, "
              "string_agg(CAST(v AS VARCHAR), '||' ORDER BY pos) AS vs, COUNT(*) AS c "
              "FROM a GROUP BY k", True, False),
    "filtered": ("SELECT LISTAGG(k, '') FILTER (WHERE v > 0) AS ks FROM a GROUP BY v IS NULL",
                 "SELECT string_agg(k, '' ORDER BY pos) FILTER (WHERE v > 0) AS ks FROM a "
                 "GROUP BY v IS NULL", True, False),
    "tumble": ("SELECT window_start, k, LISTAGG(CAST(i AS STRING), ';') AS ids FROM "
               "TABLE(TUMBLE(TABLE a, DESCRIPTOR(event_time), INTERVAL '10' SECOND)) "
               "GROUP BY window_start, window_end, k",
               "SELECT ts // 10000 * 10000 AS window_start, k, "
               "string_agg(CAST(i AS VARCHAR), ';' ORDER BY pos) AS ids FROM a GROUP BY 1, 2",
               False, False),
    "hop": (f"SELECT window_start, LISTAGG(k) AS ks, COUNT(*) AS c FROM {HOP} "
            "GROUP BY window_start, window_end",
            f"SELECT window_start, string_agg(k, ',' ORDER BY pos) AS ks, COUNT(*) AS c "
            f"FROM {DUCK_HOP} GROUP BY 1", False, False),
    # over an updating input (ListAggWithRetract): a key moves between counts
    "retract": ("SELECT c, LISTAGG(k) AS ks, COUNT(*) AS n FROM (SELECT k, COUNT(*) AS c "
                "FROM a GROUP BY k) GROUP BY c",
                "SELECT c, string_agg(k, ',') AS ks, COUNT(*) AS n FROM (SELECT k, COUNT(*) "
                "AS c FROM a GROUP BY k) GROUP BY c", True, True),
}


@pytest.fixture(scope="module")
def modules(workspace) -> dict:  # noqa: F811
    return {name: compile_to(workspace, f"listagg_{name}", sql + ";")
            for name, (sql, *_) in QUERIES.items()}


def _as_multisets(rows: Counter) -> Counter:
    """Each LISTAGG string as the sorted list of its elements."""
    out: Counter = Counter()
    for key, n in rows.items():
        out[tuple((k, ",".join(sorted(v.split(","))) if k == "ks" and v is not None else v)
                  for k, v in key)] += n
    return out


def duck_expected(name: str, a: list[dict]) -> Counter:
    con = duckdb.connect()
    con.execute("CREATE TABLE a (pos BIGINT, i BIGINT, k VARCHAR, v INT, ts BIGINT)")
    rows = [(n, e["i"], e["k"], e["v"], e["ts"]) for n, e in enumerate(a)]
    if rows:
        con.executemany("INSERT INTO a VALUES (?, ?, ?, ?, ?)", rows)
    cursor = con.execute(QUERIES[name][1])
    names = [d[0] for d in cursor.description]
    return result([dict(zip(names, row)) for row in cursor.fetchall()], False)


def check(name: str, modules: dict, a: list[dict], workspace, batch: int) -> None:  # noqa: F811
    _, _, changelog, multiset = QUERIES[name]
    actual = result(run(modules[name], {"a": a}, workspace, batch), changelog)
    expected = duck_expected(name, a)
    if multiset:
        actual, expected = _as_multisets(actual), _as_multisets(expected)
    assert actual == expected


def sample() -> list[dict]:
    a = [{"i": n, "k": "xyz"[n % 3] if n % 7 else None, "v": n % 5 - 1 if n % 4 else None,
          "ts": BASE + n * 700 - (n % 3) * 1_000} for n in range(60)]
    a.insert(6, dict(a[5]))  # a duplicate row, not late
    return a


@pytest.mark.parametrize("batch", [1, 7, 500])
@pytest.mark.parametrize("name", list(QUERIES))
def test_sample_stream(name: str, batch: int, modules: dict, workspace) -> None:  # noqa: F811
    check(name, modules, sample(), workspace, batch)


@pytest.mark.parametrize("name", list(QUERIES))
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=union_streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(name: str, events, batch: int, modules: dict,
                           workspace) -> None:  # noqa: F811
    check(name, modules, events[0], workspace, batch)


# -- the state: arrival order, retraction at the first occurrence ------------------

WORDS = st.sampled_from(["a", "b", "c", ""])


@st.composite
def changelogs(draw):
    """Micro-batches of (slot, word, takes back?) rows, consistent: a row
    takes back a (slot, word) the slot holds."""
    held: list[tuple[int, str]] = []
    batches = []
    for _ in range(draw(st.integers(1, 6))):
        rows = []
        for _ in range(draw(st.integers(0, 8))):
            if held and draw(st.booleans()):
                rows.append((*held.pop(draw(st.integers(0, len(held) - 1))), True))
            else:
                row = (draw(st.integers(0, 3)), draw(WORDS))
                held.append(row)
                rows.append((*row, False))
        batches.append(rows)
    return batches


def _reference(batches) -> dict[int, list[str]]:
    lists: dict[int, list[str]] = {}
    for rows in batches:
        for slot, word, back in rows:
            (lists.setdefault(slot, []).remove if back else lists.setdefault(slot, []).append)(word)
    return lists


def _feed(state: ListAggState, rows) -> None:
    slots = np.array([r[0] for r in rows], np.int64)
    words = Column(np.array([r[1] for r in rows] + [None], dtype=object)[:-1])
    state.update_signed(slots, [words], np.array([r[2] for r in rows], bool))


@settings(max_examples=200, deadline=None)
@given(batches=changelogs(), restore_after=st.integers(0, 6))
def test_state_keeps_arrival_order_and_takes_back_first_occurrences(batches,
                                                                    restore_after) -> None:
    state = ListAggState()
    for n, rows in enumerate(batches):
        if n == restore_after:  # through a checkpoint: the same lists afterwards
            copy = ListAggState()
            copy.restore(roundtrip(state.snapshot()))
            state = copy
        _feed(state, rows)
    expected = _reference(batches)
    aggs = [Agg("listagg", arg=0, separator="/")]
    got = state.results(aggs, np.arange(4), np.arange(5))[0].to_pylist()
    assert got == ["/".join(expected[s]) if expected.get(s) else None for s in range(4)]


def test_a_window_of_several_slots_is_in_arrival_order_and_merges_keep_it() -> None:
    state = ListAggState()
    state.update(np.array([1, 0, 1, 0]), [Column(np.array(list("abcd"), dtype=object))], None)
    aggs = [Agg("listagg", arg=0)]
    # a HOP window of panes 0 and 1: every element, in arrival order
    assert state.results(aggs, np.array([0, 1]), np.array([0, 2]))[0].to_pylist() == ["a,b,c,d"]
    state.merge(np.array([1, 0]), np.array([0, 2]))  # two sessions merged
    assert state.results(aggs, np.array([0]), np.array([0, 1]))[0].to_pylist() == ["a,b,c,d"]
    state.take(np.array([], np.int64))
    assert state.results(aggs, np.array([0]), np.array([0, 1]))[0].to_pylist() == [None]


@pytest.mark.parametrize("sql, where, words", [
    ("SELECT LISTAGG(i) FROM a GROUP BY k;", "LISTAGG", "LISTAGG takes a string"),
    ("SELECT LISTAGG(k, v) FROM a GROUP BY k;", "v)", "separator of LISTAGG must be a string"),
    ("SELECT LISTAGG(k, ',', ';') FROM a GROUP BY k;", "LISTAGG", "LISTAGG takes (value"),
    ("SELECT LISTAGG(k) OVER (PARTITION BY k ORDER BY event_time) FROM a;", "LISTAGG",
     "LISTAGG(...) OVER does not run yet"),
])
def test_listagg_errors_are_positioned(sql: str, where: str, words: str,
                                       workspace) -> None:  # noqa: F811
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", sql), [str(workspace / "catalog.sql")])
    text = info.value.render()
    assert words in text
    assert f"q.sql:1:{sql.index(where) + 1}:" in text

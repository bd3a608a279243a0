"""OVER over a window aggregate's rows (spec Queries 5, 18, 19), compiled and
run, against DuckDB's window functions over the same GROUP BY as a subquery.

A window aggregate's rows are append-only and final once their window fires;
an OVER ordered by window_start (window_end, window_time) over them, per
group key, gives each window its frame over the key's earlier windows.
Lateness is decided independently (``on_time_pairs``: a row misses a window
fired before it arrived); DuckDB aggregates the on-time (row, window) pairs,
then computes the OVER calls over the result.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.driver import compile_source
from compiler.errors import Source
from tests.test_over_differential import CATALOG, close, run
from tests.test_window_differential import event_streams, on_time_pairs, to_ms

TVFS = {
    "tumble": "TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND)",
    "hop": "HOP(TABLE ev, DESCRIPTOR(event_time), INTERVAL '5' SECOND, INTERVAL '15' SECOND)",
    "cumulate": "CUMULATE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '5' SECOND, INTERVAL '20' SECOND)",
}
# OVER calls written with {order} (the window column) and {agg}: (sqlc, DuckDB over `agg`)
CALLS = [
    ("avg_prev", "AVG(SUM(v)) OVER ({w} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING)",
     "AVG(s) OVER ({w} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING)"),
    ("sum_run", "SUM(COUNT(*)) OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
     "SUM(c) OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"),
    ("max_range", "MAX(COUNT(*)) OVER ({w} RANGE BETWEEN INTERVAL '20' SECOND PRECEDING AND CURRENT ROW)",
     "MAX(c) OVER ({w} RANGE BETWEEN 20000 PRECEDING AND CURRENT ROW)"),
    ("lag_c", "LAG(COUNT(*)) OVER ({w})", "LAG(c) OVER ({w})"),
    ("lag_s", "LAG(SUM(v), 2, -1.0) OVER ({w})", "LAG(s, 2, -1.0) OVER ({w})"),
    ("lead_c", "LEAD(COUNT(*)) OVER ({w})", "LEAD(c) OVER ({w})"),
    ("flag", "CASE WHEN SUM(v) > 1.5 * AVG(SUM(v)) OVER ({w} ROWS BETWEEN 3 PRECEDING AND 1 "
     "PRECEDING) THEN 'HI' ELSE 'LO' END",
     "CASE WHEN s > 1.5 * AVG(s) OVER ({w} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) "
     "THEN 'HI' ELSE 'LO' END"),
]
# name -> (window kind, ORDER BY column)
CASES = {
    "tumble_start": ("tumble", "window_start"),
    "tumble_time": ("tumble", "window_time"),
    "hop_start": ("hop", "window_start"),
    "hop_end": ("hop", "window_end"),
    "cumulate_end": ("cumulate", "window_end"),
    "tumble_delay": ("tumble", "window_start"),  # EMIT ... WITH DELAY: the rows come later
}
DELAY_MS = {"tumble_delay": 3_000}
# DuckDB's window_time: window_end - 1 ms, as sqlc's
DUCK_ORDER = {"window_start": "window_start", "window_end": "window_end",
              "window_time": "window_end - 1"}


def sqlc_query(case: str) -> str:
    kind, order = CASES[case]
    over = f"PARTITION BY k ORDER BY {order}"
    calls = ", ".join(f"{s.format(w=over)} AS {name}" for name, s, _ in CALLS)
    return (f"SELECT k, window_start, window_end, SUM(v) AS s, COUNT(*) AS c, {calls}\n"
            f"FROM TABLE({TVFS[kind]})\nGROUP BY k, window_start, window_end, window_time"
            + (f" EMIT AFTER WATERMARK WITH DELAY INTERVAL '{DELAY_MS[case] // 1000}' SECOND"
               if case in DELAY_MS else "") + ";")


def duck_query(case: str) -> str:
    over = f"PARTITION BY k ORDER BY {DUCK_ORDER[CASES[case][1]]}"
    calls = ", ".join(f"{d.format(w=over)} AS {name}" for name, _, d in CALLS)
    return f"SELECT k, window_start, window_end, s, c, {calls} FROM agg"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("over_agg")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


def compile_to(workspace: Path, name: str, sql: str) -> Path:
    compiled = compile_source(Source(f"{name}.sql", sql), [str(workspace / "catalog.sql")])
    module = workspace / f"{name}.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    return module


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return {case: compile_to(workspace, case, sqlc_query(case)) for case in CASES}


def aggregated(events: list[dict], kind: str, delay: int) -> duckdb.DuckDBPyConnection:
    """DuckDB with table ``agg``: the window aggregate over the on-time pairs."""
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?)",
                        [(e["i"], e["k"], e["v"], e["n"], e["ts"]) for e in events])
    con.execute("CREATE TABLE w (i BIGINT, ws BIGINT, we BIGINT)")
    pairs = on_time_pairs(kind, [e["ts"] for e in events], delay)
    if pairs:
        con.executemany("INSERT INTO w VALUES (?, ?, ?)", pairs)
    con.execute("""CREATE TABLE agg AS SELECT k, ws AS window_start, we AS window_end,
                   SUM(v) AS s, COUNT(*) AS c FROM ev JOIN w USING (i) GROUP BY k, ws, we""")
    return con


def keyed(rows: list[dict]) -> dict[tuple, dict]:
    out = {}
    for row in rows:
        row = {n: to_ms(v) if n.startswith("window_") and isinstance(v, str) else v
               for n, v in row.items()}
        key = (str(row["k"]), row["window_start"], row["window_end"])
        assert key not in out, f"two rows for {key}"
        out[key] = row
    return out


def on_the_edge(row: dict) -> bool:
    """The CASE compares ``s`` with ``1.5 * avg_prev`` within rounding."""
    s, avg = row["s"], row["avg_prev"]
    return s is not None and avg is not None and math.isclose(s, 1.5 * avg, abs_tol=1e-7)


def check(case: str, module: Path, events: list[dict], workspace: Path, batch: int) -> None:
    events = [dict(e, i=i) for i, e in enumerate(events)]
    actual = keyed(run(module, events, workspace, case, batch))
    cursor = aggregated(events, CASES[case][0], DELAY_MS.get(case, 0)).execute(duck_query(case))
    compare(case, actual, cursor)


def compare(case: str, actual: dict[tuple, dict], cursor: duckdb.DuckDBPyConnection) -> None:
    """The rows by (key, window) equal DuckDB's (``cursor``), calls within rounding."""
    names = [d[0] for d in cursor.description]
    expected = keyed([dict(zip(names, row)) for row in cursor.fetchall()])
    assert sorted(actual) == sorted(expected)
    for key, e in expected.items():
        a = actual[key]
        bad = {n: (a[n], e[n]) for n in e if not close(a[n], e[n], n)}
        if on_the_edge(e):  # sliding sums are exact to rounding: either side is right
            bad.pop("flag", None)
        assert not bad, (case, key, bad)


def sample_events() -> list[dict]:
    base = 1_762_768_800_000
    events = []
    for i in range(400):
        ts = base + i * 450 - (i % 7) * 900  # out of order within the 5 s bound
        v = None if i % 11 == 0 else (i * 37 % 101) / 3
        events.append({"k": "abc"[i % 3] if i % 13 else None, "v": v, "n": i % 5, "ts": ts})
    events.append({"k": "a", "v": 1.0, "n": 1, "ts": base + 1_000})  # late for its window
    events.append({"k": "a", "v": 2.0, "n": 1, "ts": base + 400_000})  # a gap of windows
    return events


@pytest.mark.parametrize("batch", [1, 7, 10_000])
@pytest.mark.parametrize("case", list(CASES))
def test_sample_stream(case: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    check(case, modules[case], sample_events(), workspace, batch)


@pytest.mark.parametrize("case", list(CASES))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(case: str, events: list[dict], batch: int,
                           modules: dict[str, Path], workspace: Path) -> None:
    check(case, modules[case], events, workspace, batch)

"""OVER calls of VARCHAR arguments, compiled and run, against DuckDB.

MIN/MAX compare strings by code point (Flink; DuckDB's binary collation
orders UTF-8 bytes, the same order), FIRST_VALUE/LAST_VALUE skip NULLs,
LAG/LEAD carry the string or their default. On a stream (ROWS and RANGE
frames, unbounded and lagged ones) and over a window aggregate's rows
ordered by window_start. Lateness is decided independently, as in
``test_over_differential`` and ``test_over_window_aggregate``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_over_differential import on_time, refusal, run
from tests.test_over_window_aggregate import compile_to, keyed
from tests.test_window_differential import on_time_pairs

CATALOG = """
CREATE STREAM ev (
    i BIGINT NOT NULL,
    k VARCHAR,
    s VARCHAR,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
"""
# strings whose code-point order is not their length's or ASCII's: '' and 'Z' < 'a' < 'ab' < 'é' < '😀'
STRINGS = ["", "Z", "a", "ab", "abc", "b", "é", "😀"]
ROWS = "ROWS BETWEEN 3 PRECEDING AND CURRENT ROW"
# (name, sqlc call, DuckDB call) with {w}: the PARTITION BY and ORDER BY of the case
STREAM_CALLS = [
    ("mn_rows", f"MIN(s) OVER ({{w}} {ROWS})", f"MIN(s) OVER ({{w}} {ROWS})"),
    ("mx_rows", f"MAX(s) OVER ({{w}} {ROWS})", f"MAX(s) OVER ({{w}} {ROWS})"),
    ("mn_range", "MIN(s) OVER ({w} RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW)",
     "MIN(s) OVER ({w} RANGE BETWEEN 10000 PRECEDING AND CURRENT ROW)"),
    ("mx_range", "MAX(s) OVER ({w} RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW)",
     "MAX(s) OVER ({w} RANGE BETWEEN 10000 PRECEDING AND CURRENT ROW)"),
    ("mn_all", "MIN(s) OVER ({w} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
     "MIN(s) OVER ({w} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"),
    ("mx_prev", "MAX(s) OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)",
     "MAX(s) OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"),
    ("fv_rows", f"FIRST_VALUE(s) OVER ({{w}} {ROWS})", f"FIRST(s IGNORE NULLS) OVER ({{w}} {ROWS})"),
    ("lv_lagged", "LAST_VALUE(s) OVER ({w} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING)",
     "LAST(s IGNORE NULLS) OVER ({w} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING)"),
    ("fv_range", ("FIRST_VALUE(s) OVER ({w} RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND "
                  "CURRENT ROW)"),
     "FIRST(s IGNORE NULLS) OVER ({w} RANGE BETWEEN 10000 PRECEDING AND CURRENT ROW)"),
    ("lv_all", "LAST_VALUE(s) OVER ({w})", "LAST(s IGNORE NULLS) OVER ({w})"),
    ("c_s", f"COUNT(s) OVER ({{w}} {ROWS})", f"COUNT(s) OVER ({{w}} {ROWS})"),
    ("lag1", "LAG(s) OVER ({w})", "LAG(s) OVER ({w})"),
    ("lag2", "LAG(s, 2, 'none') OVER ({w})", "LAG(s, 2, 'none') OVER ({w})"),
    ("lead1", "LEAD(s, 1, 'end') OVER ({w})", "LEAD(s, 1, 'end') OVER ({w})"),
]
# ORDER BY: ROWS frames and LAG/LEAD order ties by arrival (DuckDB: ts, i); RANGE frames give
# peers one result, so the RANGE calls' DuckDB ORDER BY is ts alone
RANGE_CALLS = {"mn_range", "mx_range", "mn_all", "fv_range", "lv_all"}


def stream_query(duck: bool) -> str:
    calls = []
    for name, sqlc, duck_call in STREAM_CALLS:
        if not duck:
            order = "PARTITION BY k ORDER BY event_time"
        else:
            order = "PARTITION BY k ORDER BY ts" + ("" if name in RANGE_CALLS else ", i")
        calls.append(f"{(duck_call if duck else sqlc).format(w=order)} AS {name}")
    return f"SELECT i, k, s, ts, {', '.join(calls)} FROM ev"


# over the rows of TUMBLE(10 s) GROUP BY k: (name, sqlc call, DuckDB call over table agg)
WINDOW_CALLS = [
    ("lag_mx", "LAG(MAX(s)) OVER ({w})", "LAG(mx) OVER ({w})"),
    ("lag_mn", "LAG(MIN(s), 2, '-') OVER ({w})", "LAG(mn, 2, '-') OVER ({w})"),
    ("lead_mx", "LEAD(MAX(s), 1, 'last') OVER ({w})", "LEAD(mx, 1, 'last') OVER ({w})"),
    ("mn_prev", "MIN(MIN(s)) OVER ({w} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING)",
     "MIN(mn) OVER ({w} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING)"),
    ("mx_range", ("MAX(MAX(s)) OVER ({w} RANGE BETWEEN INTERVAL '20' SECOND PRECEDING AND "
                  "CURRENT ROW)"),
     "MAX(mx) OVER ({w} RANGE BETWEEN 20000 PRECEDING AND CURRENT ROW)"),
    ("fv_all", "FIRST_VALUE(MIN(s)) OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
     "FIRST(mn IGNORE NULLS) OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"),
    ("lv_prev", "LAST_VALUE(MAX(s)) OVER ({w} ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING)",
     "LAST(mx IGNORE NULLS) OVER ({w} ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING)"),
]


def window_query() -> str:
    calls = ", ".join(f"{s.format(w='PARTITION BY k ORDER BY window_start')} AS {name}"
                      for name, s, _ in WINDOW_CALLS)
    return ("SELECT k, window_start, window_end, MIN(s) AS mn, MAX(s) AS mx, " + calls
            + "\nFROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND))"
            "\nGROUP BY k, window_start, window_end;")


def window_duck_query() -> str:
    calls = ", ".join(f"{d.format(w='PARTITION BY k ORDER BY window_start')} AS {name}"
                      for name, _, d in WINDOW_CALLS)
    return f"SELECT k, window_start, window_end, mn, mx, {calls} FROM agg"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("over_strings")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return {"stream": compile_to(workspace, "stream", stream_query(duck=False) + ";"),
            "window": compile_to(workspace, "window", window_query())}


def duck(events: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, s VARCHAR, ts BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?)",
                        [(e["i"], e["k"], e["s"], e["ts"]) for e in events])
    return con


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def check_stream(module: Path, events: list[dict], workspace: Path, batch: int) -> None:
    events = [dict(e, i=i) for i, e in enumerate(events)]
    actual = sorted(run(module, events, workspace, "stream", batch), key=lambda r: r["i"])
    expected = sorted(fetch(duck(on_time(events)), stream_query(duck=True)), key=lambda r: r["i"])
    assert [r["i"] for r in actual] == [r["i"] for r in expected]
    for a, e in zip(actual, expected):
        bad = {n: (a[n], e[n]) for n in e if a[n] != e[n]}
        assert not bad, (a["i"], bad)


def check_window(module: Path, events: list[dict], workspace: Path, batch: int) -> None:
    events = [dict(e, i=i) for i, e in enumerate(events)]
    actual = keyed(run(module, events, workspace, "window", batch))
    con = duck(events)
    con.execute("CREATE TABLE w (i BIGINT, ws BIGINT, we BIGINT)")
    pairs = on_time_pairs("tumble", [e["ts"] for e in events], 0)
    if pairs:
        con.executemany("INSERT INTO w VALUES (?, ?, ?)", pairs)
    con.execute("""CREATE TABLE agg AS SELECT k, ws AS window_start, we AS window_end,
                   MIN(s) AS mn, MAX(s) AS mx FROM ev JOIN w USING (i) GROUP BY k, ws, we""")
    expected = keyed(fetch(con, window_duck_query()))
    assert sorted(actual) == sorted(expected)
    for key, e in expected.items():
        bad = {n: (actual[key][n], e[n]) for n in e if actual[key][n] != e[n]}
        assert not bad, (key, bad)


def sample_events() -> list[dict]:
    base = 1_762_768_800_000
    events = []
    for i in range(300):
        ts = base + i * 700 - (i % 7) * 900  # out of order within the bound
        s = None if i % 11 == 0 else STRINGS[i * 5 % len(STRINGS)] + ("x" * (i % 3))
        events.append({"k": "abc"[i % 3] if i % 13 else None, "s": s, "ts": ts})
    events.append({"k": "a", "s": "late", "ts": base + 1_000})  # far late
    events.append({"k": "a", "s": "a", "ts": base + 400_000})  # a gap
    return events


def string_streams():
    """Out of order within the bound, far-late rows, equal times, NULL keys and
    strings, a few strings repeated (ties for MIN/MAX)."""
    base = 1_762_768_800_000
    key = st.sampled_from(["a", "b", None])
    string = st.one_of(st.none(), st.sampled_from(STRINGS), st.text("aZé", max_size=3))
    step = st.one_of(st.integers(0, 3_000), st.just(0), st.just(10_000))
    jitter = st.one_of(st.integers(-4_999, 0), st.just(0), st.integers(-60_000, -5_000))

    @st.composite
    def stream(draw):
        events, clock = [], base
        for _ in range(draw(st.integers(0, 50))):
            clock += draw(step)
            events.append({"k": draw(key), "s": draw(string), "ts": clock + draw(jitter)})
            if draw(st.integers(0, 6)) == 0:
                events.append(dict(events[-1]))  # the same row again
        return events

    return stream()


@pytest.mark.parametrize("batch", [1, 7, 10_000])
@pytest.mark.parametrize("case", ["stream", "window"])
def test_sample_stream(case: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    check = check_stream if case == "stream" else check_window
    check(modules[case], sample_events(), workspace, batch)


@pytest.mark.parametrize("case", ["stream", "window"])
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=string_streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(case: str, events: list[dict], batch: int, modules: dict[str, Path],
                           workspace: Path) -> None:
    check = check_stream if case == "stream" else check_window
    check(modules[case], events, workspace, batch)


def test_sum_of_a_string_is_refused_and_booleans_are_not_run(workspace: Path) -> None:
    found = refusal(workspace, "SELECT i, SUM(s) OVER (PARTITION BY k ORDER BY event_time) AS x "
                               "FROM ev;")
    assert [kind for kind, _, _ in found] == ["BindError"]
    found = refusal(workspace, "SELECT i, LAG(s = 'a') OVER (PARTITION BY k ORDER BY event_time) "
                               "AS x FROM ev;")
    assert [(kind, pos) for kind, pos, _ in found] == [("UnsupportedError", "1:11")]
    assert "strings for" in found[0][2]

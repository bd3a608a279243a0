"""Compiled OVER pipelines against DuckDB's window functions.

For a bounded input the final output of a compiled pipeline (every row, any
order) must equal DuckDB's ``SELECT ..., agg(x) OVER (...) FROM t`` over the
rows that were not late. Lateness is decided here independently, from
Flink's rule: a row is late when its event time is at or below the
watermark at its arrival, ``max(event time of the rows before it) - bound``.
ROWS frames order ties by arrival (DuckDB: ``ORDER BY ts, i``); RANGE frames
give peers one result (DuckDB: ``ORDER BY ts``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

BOUND_MS = 5_000
CATALOG = """
CREATE STREAM ev (
    i BIGINT NOT NULL,
    k VARCHAR,
    v DOUBLE,
    n BIGINT,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
"""

# (output name, sqlc call, DuckDB call) over the frame written as {w}
CALLS = [
    ("c_all", "COUNT(*)", "COUNT(*)"),
    ("c_v", "COUNT(v)", "COUNT(v)"),
    ("c_k", "COUNT(k)", "COUNT(k)"),
    ("s_v", "SUM(v)", "SUM(v)"),
    ("a_v", "AVG(v)", "AVG(v)"),
    ("min_v", "MIN(v)", "MIN(v)"),
    ("max_v", "MAX(v)", "MAX(v)"),
    ("s_n", "SUM(n)", "SUM(n)"),
    ("min_n", "MIN(n)", "MIN(n)"),
    ("max_n", "MAX(n)", "MAX(n)"),
    ("sd_pop", "STDDEV_POP(v)", "STDDEV_POP(v)"),
    ("var_s", "VAR_SAMP(v)", "VAR_SAMP(v)"),
    ("first_v", "FIRST_VALUE(v)", "FIRST(v IGNORE NULLS)"),
    ("last_v", "LAST_VALUE(v)", "LAST(v IGNORE NULLS)"),
]
# frame name -> (sqlc OVER clause, DuckDB OVER clause)
FRAMES = {
    "rows": ("PARTITION BY k ORDER BY event_time ROWS BETWEEN 3 PRECEDING AND CURRENT ROW",
             "PARTITION BY k ORDER BY ts, i ROWS BETWEEN 3 PRECEDING AND CURRENT ROW"),
    "rows_lagged": ("PARTITION BY k ORDER BY event_time ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING",
                    "PARTITION BY k ORDER BY ts, i ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING"),
    "range": ("PARTITION BY k ORDER BY event_time "
              "RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW",
              "PARTITION BY k ORDER BY ts RANGE BETWEEN 10000 PRECEDING AND CURRENT ROW"),
    "rows_unbounded": ("PARTITION BY k ORDER BY event_time "
                       "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
                       "PARTITION BY k ORDER BY ts, i ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"),
    "rows_unbounded_lagged": ("PARTITION BY k ORDER BY event_time "
                              "ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING",
                              "PARTITION BY k ORDER BY ts, i "
                              "ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING"),
    "range_unbounded": ("PARTITION BY k ORDER BY event_time", "PARTITION BY k ORDER BY ts"),
    "global_rows": ("ORDER BY event_time ROWS BETWEEN 2 PRECEDING AND CURRENT ROW",
                    "ORDER BY ts, i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW"),
}
LAGS = [("lag1", "LAG(v)", "LAG(v)"), ("lag2", "LAG(n, 2, -1)", "LAG(n, 2, -1)"),
        ("lag3", "LAG(v, 3, 0.5)", "LAG(v, 3, 0.5)"), ("lead1", "LEAD(v)", "LEAD(v)"),
        ("lead3", "LEAD(n, 3, -1)", "LEAD(n, 3, -1)")]
LAG_ORDER = ("PARTITION BY k ORDER BY event_time", "PARTITION BY k ORDER BY ts, i")


def query(frame: str, duck: bool) -> str:
    clause = FRAMES[frame][1 if duck else 0]
    calls = [f"{(d if duck else s)} OVER ({clause}) AS {name}" for name, s, d in CALLS]
    if frame in ("rows", "range"):  # LAG/LEAD ride along: other frames in the same operator
        order = LAG_ORDER[1 if duck else 0]
        calls += [f"{(d if duck else s)} OVER ({order}) AS {name}" for name, s, d in LAGS]
    return f"SELECT i, k, v, n, ts, {', '.join(calls)} FROM ev"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("over")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    found = {}
    for frame in FRAMES:
        compiled = compile_source(Source(f"{frame}.sql", query(frame, duck=False) + ";"),
                                  [str(workspace / "catalog.sql")])
        module = workspace / f"{frame}.py"
        module.write_text(compiled.module or "", encoding="utf-8")
        found[frame] = module
    return found


def on_time(events: list[dict]) -> list[dict]:
    kept, high = [], None
    for e in events:
        if high is None or e["ts"] > high - BOUND_MS:
            kept.append(e)
        high = e["ts"] if high is None else max(high, e["ts"])
    return kept


def run(module: Path, events: list[dict], workspace: Path, tag: str, batch: int) -> list[dict]:
    data = workspace / f"{tag}.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    out = workspace / f"{tag}.out.jsonl"
    assert run_module(module, ["--input", f"ev={data}", "--output", str(out), "--quiet",
                               "--batch-size", str(batch)]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def duck_expected(frame: str, events: list[dict]) -> list[dict]:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT)")
    rows = [(e["i"], e["k"], e["v"], e["n"], e["ts"]) for e in on_time(events)]
    if rows:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?)", rows)
    cursor = con.execute(query(frame, duck=True))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def close(a, e, name: str) -> bool:
    if a is None or e is None or isinstance(a, str) or isinstance(e, str):
        return a == e
    if isinstance(e, float) and math.isnan(e):
        return a is None
    # sums slide by adding and removing: a few ulps of the values they saw
    tol = 1e-4 if name in ("sd_pop", "var_s") else 1e-7
    return math.isclose(a, e, rel_tol=1e-9, abs_tol=tol)


def check(frame: str, module: Path, events: list[dict], workspace: Path, tag: str,
          batch: int = 7) -> None:
    actual = sorted(run(module, events, workspace, tag, batch), key=lambda r: r["i"])
    expected = sorted(duck_expected(frame, events), key=lambda r: r["i"])
    assert [r["i"] for r in actual] == [r["i"] for r in expected]
    for a, e in zip(actual, expected):
        assert a.keys() == e.keys()
        bad = {k: (a[k], e[k]) for k in a if not close(a[k], e[k], k)}
        assert not bad, (frame, a["i"], bad)


def event_streams():
    """Bounded streams: out of order within the bound, some far-late rows,
    equal timestamps, NULLs in every nullable column, several keys."""
    base = 1_762_768_800_000
    key = st.sampled_from(["a", "b", "c", None])
    value = st.one_of(st.none(), st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 2)),
                      st.sampled_from([0.0, 1.5, -2.0]))
    count = st.one_of(st.none(), st.integers(-5, 5))
    step = st.one_of(st.integers(0, 3_000), st.just(5_000), st.just(0), st.just(10_000))
    jitter = st.one_of(st.integers(-4_999, 0), st.just(0), st.integers(-60_000, -5_000))

    @st.composite
    def stream(draw):
        n = draw(st.integers(0, 50))
        events, clock = [], base
        for _ in range(n):
            clock += draw(step)
            ts = clock + draw(jitter)
            events.append({"k": draw(key), "v": draw(value), "n": draw(count), "ts": ts})
            if draw(st.integers(0, 7)) == 0:
                events.append(dict(events[-1]))  # the same time again
        return [dict(e, i=i) for i, e in enumerate(events)]

    return stream()


@pytest.mark.parametrize("frame", list(FRAMES))
def test_sample_like_stream(frame: str, modules: dict[str, Path], workspace: Path) -> None:
    base = 1_762_768_800_000
    events = []
    for i in range(300):
        ts = base + i * 700 - (i % 7) * 900  # out of order within the bound
        v = None if i % 11 == 0 else (i * 37 % 101) / 3
        events.append({"i": i, "k": "abc"[i % 3], "v": v, "n": i % 5, "ts": ts})
    events.append({"i": 300, "k": "a", "v": 1.0, "n": 1, "ts": base + 1_000})  # far late
    events.append({"i": 301, "k": None, "v": None, "n": None, "ts": base + 200_000})
    check(frame, modules[frame], events, workspace, f"sample_{frame}")


@pytest.mark.parametrize("frame", list(FRAMES))
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams(), batch=st.sampled_from([1, 3, 50]))
def test_generated_streams(frame: str, events: list[dict], batch: int,
                           modules: dict[str, Path], workspace: Path) -> None:
    check(frame, modules[frame], events, workspace, f"gen_{frame}", batch)


def test_late_rows_go_to_the_late_events_sink(modules: dict[str, Path], workspace: Path) -> None:
    """A row at or below the watermark is dropped from the results, counted,
    and written to --late-events with the operator and the reason."""
    base = 1_762_768_800_000
    events = [{"i": 0, "k": "a", "v": 1.0, "n": 1, "ts": base + 20_000},
              {"i": 1, "k": "a", "v": 2.0, "n": 2, "ts": base + 15_000},  # watermark 15 s: late
              {"i": 2, "k": "a", "v": 3.0, "n": 3, "ts": base + 15_001}]  # on time
    data, out, late = (workspace / f"late.{x}" for x in ("jsonl", "out.jsonl", "late.jsonl"))
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    assert run_module(modules["rows"], ["--input", f"ev={data}", "--output", str(out), "--quiet",
                                        "--late-events", str(late), "--batch-size", "1"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["i"], r["s_v"], r["lag1"]) for r in rows] == [(2, 3.0, None), (0, 4.0, 3.0)]
    dropped = [json.loads(line) for line in late.read_text(encoding="utf-8").splitlines()]
    assert [(e["operator"], e["reason"], e["row"]["i"]) for e in dropped] == [
        ("over_aggregate", "it came after the watermark had passed it", 1)]


def refusal(workspace: Path, sql: str) -> list[tuple[str, str, str]]:
    """(kind, "line:col", message) of each diagnostic compiling ``sql`` gives."""
    source = Source("q.sql", sql)
    with pytest.raises(SqlcError) as error:
        compile_source(source, [str(workspace / "catalog.sql")])
    return [(d.kind, "{}:{}".format(*source.line_col(d.span.start)), d.message)
            for d in error.value.diagnostics]


def test_what_does_not_run_yet_is_refused_at_the_call(workspace: Path) -> None:
    found = refusal(workspace, (
        "SELECT i, AVG(v) OVER (PARTITION BY k ORDER BY event_time RANGE BETWEEN INTERVAL '9' SECOND "
        "PRECEDING AND INTERVAL '1' SECOND PRECEDING) AS a,\n"
        "       SUM(v) OVER (PARTITION BY n ORDER BY event_time) AS b,\n"
        "       MAX(k = 'a') OVER (PARTITION BY k ORDER BY event_time) AS c FROM ev;"))
    assert [(kind, pos) for kind, pos, _ in found] == [
        ("UnsupportedError", "1:11"), ("UnsupportedError", "2:8"), ("UnsupportedError", "3:8")]
    assert found[0][2].startswith("a RANGE frame that ends before the current row")
    assert "different PARTITION BY" in found[1][2]
    assert "MAX(...) OVER of a BOOLEAN does not run yet" in found[2][2]


def test_named_window_is_the_inline_one(modules: dict[str, Path], workspace: Path) -> None:
    """``OVER w`` with ``WINDOW w AS (...)`` gives what the inline OVER (...) gives."""
    clause = FRAMES["rows"][0]
    sql = (f"SELECT i, SUM(v) OVER w AS s_v, MIN(v) OVER w AS min_v FROM ev "
           f"WINDOW w AS ({clause});")
    compiled = compile_source(Source("named.sql", sql), [str(workspace / "catalog.sql")])
    module = workspace / "named.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    base = 1_762_768_800_000
    events = [{"i": i, "k": "ab"[i % 2], "v": float(i % 7), "n": i, "ts": base + i * 300 - (i % 5) * 700}
              for i in range(100)]
    named = sorted(run(module, events, workspace, "named", 9), key=lambda r: r["i"])
    inline = sorted(run(modules["rows"], events, workspace, "inline", 9), key=lambda r: r["i"])
    assert named == [{"i": r["i"], "s_v": r["s_v"], "min_v": r["min_v"]} for r in inline]

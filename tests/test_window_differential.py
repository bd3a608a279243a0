"""Compiled window pipelines against DuckDB.

For a bounded input the final output of a compiled pipeline must equal the
same aggregation as a DuckDB batch query over the rows that were not late.
Lateness is decided here independently, from Flink's rule: a row is late for
a window when ``window_end - 1 + delay <= watermark``, where the watermark is
``max(event time of the rows before it) - bound``. Each (row, window) pair that
is on time goes into DuckDB, which does the aggregation.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

BOUND_MS = 5_000
CATALOG = """
CREATE STREAM ev (
    k VARCHAR,
    v DOUBLE,
    n BIGINT,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
"""

AGGREGATES = """
    COUNT(*) AS c_all, COUNT(v) AS c_v, SUM(v) AS s_v, AVG(v) AS a_v, MIN(v) AS min_v,
    MAX(v) AS max_v, SUM(n) AS s_n, MIN(n) AS min_n, COUNT(DISTINCT n) AS d_n,
    STDDEV_POP(v) AS sd_pop, VAR_SAMP(v) AS var_s,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY v) AS p50,
    PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY v) AS p90d,
    MAX(k) AS max_k
"""
DUCK_AGGREGATES = """
    COUNT(*) AS c_all, COUNT(v) AS c_v, SUM(v) AS s_v, AVG(v) AS a_v, MIN(v) AS min_v,
    MAX(v) AS max_v, SUM(n) AS s_n, MIN(n) AS min_n, COUNT(DISTINCT n) AS d_n,
    STDDEV_POP(v) AS sd_pop, VAR_SAMP(v) AS var_s,
    QUANTILE_CONT(v, 0.5) AS p50, QUANTILE_DISC(v, 0.9) AS p90d, MAX(k) AS max_k
"""

WINDOWS = {
    "tumble": ("TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND)", 0),
    "hop": ("HOP(TABLE ev, DESCRIPTOR(event_time), INTERVAL '5' SECOND, INTERVAL '15' SECOND)",
            0),
    "cumulate": ("CUMULATE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '5' SECOND, "
                 "INTERVAL '20' SECOND)", 0),
    "tumble_delay": ("TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND)", 3_000),
}


def windows_of(kind: str, ts: int) -> list[tuple[int, int]]:
    """The [start, end) windows a row at ``ts`` belongs to (epoch-aligned)."""
    if kind.startswith("tumble"):
        start = ts - ts % 10_000
        return [(start, start + 10_000)]
    if kind == "hop":
        last = ts - ts % 5_000
        return [(s, s + 15_000) for s in range(last - 10_000, last + 1, 5_000)]
    base = ts - ts % 20_000  # cumulate: [base, base + j*5s) that contain ts
    return [(base, base + j) for j in range(5_000, 20_001, 5_000) if base + j > ts]


def on_time_pairs(kind: str, times: list[int], delay: int) -> list[tuple[int, int, int]]:
    pairs = []
    high = None
    for i, ts in enumerate(times):
        watermark = None if high is None else high - BOUND_MS
        for start, end in windows_of(kind, ts):
            if watermark is None or end - 1 + delay > watermark:
                pairs.append((i, start, end))
        high = ts if high is None else max(high, ts)
    return pairs


def to_ms(text: str) -> int:
    moment = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
    return int(round(moment.timestamp() * 1000))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("windows")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


def compile_query(workspace: Path, name: str, sql: str) -> Path:
    compiled = compile_source(Source(f"{name}.sql", sql), [str(workspace / "catalog.sql")])
    module = workspace / f"{name}.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    return module


def run(module: Path, events: list[dict], workspace: Path, tag: str) -> list[dict]:
    data = workspace / f"{tag}.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    out = workspace / f"{tag}.out.jsonl"
    assert run_module(module, ["--input", f"ev={data}", "--output", str(out), "--quiet",
                               "--batch-size", "7"]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def duck_expected(kind: str, events: list[dict], delay: int) -> list[dict]:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?)",
                        [(i, e.get("k"), e.get("v"), e.get("n"), e["ts"]) for i, e in enumerate(events)])
    con.execute("CREATE TABLE w (i BIGINT, ws BIGINT, we BIGINT)")
    pairs = on_time_pairs(kind, [e["ts"] for e in events], delay)
    if pairs:
        con.executemany("INSERT INTO w VALUES (?, ?, ?)", pairs)
    cursor = con.execute(f"""
        SELECT k, ws AS window_start, we AS window_end, {DUCK_AGGREGATES}
        FROM ev JOIN w USING (i) GROUP BY k, ws, we""")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def normalize(rows: list[dict]) -> list[dict]:
    """Rows keyed by (k, window), window bounds as epoch ms, NaN as NULL."""
    out = {}
    for row in rows:
        row = {key: (value.item() if hasattr(value, "item") else value)
               for key, value in row.items()}
        for key in ("window_start", "window_end"):
            if isinstance(row[key], str):
                row[key] = to_ms(row[key])
        row = {key: None if isinstance(v, float) and math.isnan(v) else v
               for key, v in row.items()}
        out[(str(row["k"]), row["window_start"], row["window_end"])] = row
    return [out[key] for key in sorted(out)]


def same(actual: dict, expected: dict) -> bool:
    if actual.keys() != expected.keys():
        return False
    for key, a in actual.items():
        e = expected[key]
        if isinstance(a, float) or isinstance(e, float):
            if a is None or e is None or not math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif a != e:
            return False
    return True


def check(kind: str, module: Path, events: list[dict], workspace: Path, tag: str) -> None:
    delay = WINDOWS[kind][1]
    actual = normalize(run(module, events, workspace, tag))
    expected = normalize(duck_expected(kind, events, delay))
    assert len(actual) == len(expected), (actual, expected)
    for a, e in zip(actual, expected):
        assert same(a, e), (a, e)


def query_for(kind: str) -> str:
    tvf, delay = WINDOWS[kind]
    emit = f" EMIT AFTER WATERMARK WITH DELAY INTERVAL '{delay // 1000}' SECOND" if delay else ""
    return (f"SELECT k, window_start, window_end, {AGGREGATES} FROM TABLE({tvf}) "
            f"GROUP BY k, window_start, window_end{emit};")


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return {kind: compile_query(workspace, kind, query_for(kind)) for kind in WINDOWS}


def event_streams():
    """Bounded streams: out of order within the bound, some far-late rows,
    duplicates, NULLs in every nullable column, rows on window boundaries."""
    base = 1_762_768_800_000  # 2025-11-10 10:00:00 UTC, a multiple of every window size
    key = st.sampled_from(["a", "b", "c", None])
    value = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
                      st.sampled_from([0.0, 1.5, -2.0]))
    count = st.one_of(st.none(), st.integers(-5, 5))
    step = st.one_of(st.integers(0, 3_000), st.just(5_000), st.just(0))
    jitter = st.one_of(st.integers(-4_999, 0), st.just(0), st.integers(-60_000, -5_001))

    @st.composite
    def stream(draw):
        n = draw(st.integers(0, 60))
        events, clock = [], base
        for _ in range(n):
            clock += draw(step)
            ts = clock + draw(jitter)
            events.append({"k": draw(key), "v": draw(value), "n": draw(count), "ts": ts})
            if draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()):
                events.append(dict(events[-1]))  # an exact duplicate
        return events

    return stream()


@pytest.mark.parametrize("kind", list(WINDOWS))
def test_sample_like_stream(kind: str, modules: dict[str, Path], workspace: Path) -> None:
    base = 1_762_768_800_000
    events = []
    for i in range(400):
        ts = base + i * 700 - (i % 7) * 900  # out of order within the bound
        events.append({"k": "abc"[i % 3], "v": (i * 37 % 101) / 3, "n": i % 5, "ts": ts})
    events.append({"k": "a", "v": 1.0, "n": 1, "ts": base + 1_000})  # far late
    events.append({"k": None, "v": None, "n": None, "ts": base + 280_000 - 1})
    check(kind, modules[kind], events, workspace, f"sample_{kind}")


@pytest.mark.parametrize("kind", list(WINDOWS))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams())
def test_generated_streams(kind: str, events: list[dict], modules: dict[str, Path],
                           workspace: Path) -> None:
    check(kind, modules[kind], events, workspace, f"gen_{kind}")


def test_batch_size_does_not_change_the_output(modules: dict[str, Path], workspace: Path) -> None:
    base = 1_762_768_800_000
    events = [{"k": "ab"[i % 2], "v": float(i), "n": i, "ts": base + i * 400 - (i % 5) * 1_200}
              for i in range(300)]
    events += [{"k": "a", "v": 9.0, "n": 9, "ts": base}]  # late
    data = workspace / "sizes.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    outputs = []
    for size in (1, 7, 10_000):
        out = workspace / f"sizes_{size}.jsonl"
        run_module(modules["hop"], ["--input", f"ev={data}", "--output", str(out), "--quiet",
                                    "--batch-size", str(size)])
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].count("\n") > 10


# ----------------------------------------------------------------- sessions


def session_pairs(events: list[dict], gap: int, per_key: bool) -> list[tuple[int, int, int]]:
    """(row, session start, session end) for the rows that are not late: a plain
    simulation of Flink's session windows (merge on overlap or touch; a row is
    late only when it joins no open session and its own window is due)."""
    open_: dict = {}  # partition -> list of [start, end, rows]
    final: list[tuple[int, int, int]] = []
    high = None

    def fire(watermark: int | None) -> None:
        for part, sessions in open_.items():
            keep = []
            for s in sessions:
                if watermark is not None and s[1] - 1 <= watermark:
                    final.extend((i, s[0], s[1]) for i in s[2])
                else:
                    keep.append(s)
            open_[part] = keep

    for i, e in enumerate(events):
        watermark = None if high is None else high - BOUND_MS
        fire(watermark)
        part = e["k"] if per_key else None
        sessions = open_.setdefault(part, [])
        start, end = e["ts"], e["ts"] + gap
        touching = [s for s in sessions if s[0] <= end and start <= s[1]]
        if not touching and watermark is not None and end - 1 <= watermark:
            pass  # late: dropped
        else:
            merged = [min([start] + [s[0] for s in touching]),
                      max([end] + [s[1] for s in touching]),
                      [i] + [r for s in touching for r in s[2]]]
            open_[part] = [s for s in sessions if s not in touching] + [merged]
        high = e["ts"] if high is None else max(high, e["ts"])
    fire(None)
    for sessions in open_.values():
        for s in sessions:
            final.extend((i, s[0], s[1]) for i in s[2])
    return final


@pytest.fixture(scope="module")
def session_modules(workspace: Path) -> dict[str, Path]:
    per_key = ("SELECT k, window_start, window_end, COUNT(*) AS c_all, SUM(v) AS s_v, "
               "MAX(n) AS max_n FROM TABLE(SESSION(TABLE ev PARTITION BY k, "
               "DESCRIPTOR(event_time), INTERVAL '4' SECOND)) GROUP BY k, window_start, window_end;")
    global_ = per_key.replace("TABLE ev PARTITION BY k,", "TABLE ev,")
    return {"per_key": compile_query(workspace, "session_per_key", per_key),
            "global": compile_query(workspace, "session_global", global_)}


def check_sessions(module: Path, events: list[dict], per_key: bool, workspace: Path,
                   tag: str) -> None:
    actual = normalize(run(module, events, workspace, tag))
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT)")
    con.execute("CREATE TABLE w (i BIGINT, ws BIGINT, we BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?)",
                        [(i, e["k"], e["v"], e["n"]) for i, e in enumerate(events)])
    pairs = session_pairs(events, 4_000, per_key)
    if pairs:
        con.executemany("INSERT INTO w VALUES (?, ?, ?)", pairs)
    cursor = con.execute("""SELECT k, ws AS window_start, we AS window_end, COUNT(*) AS c_all,
        SUM(v) AS s_v, MAX(n) AS max_n FROM ev JOIN w USING (i) GROUP BY k, ws, we""")
    names = [d[0] for d in cursor.description]
    expected = normalize([dict(zip(names, r)) for r in cursor.fetchall()])
    assert len(actual) == len(expected), (actual, expected)
    for a, e in zip(actual, expected):
        assert same(a, e), (a, e)


@pytest.mark.parametrize("mode", ["per_key", "global"])
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams())
def test_sessions(mode: str, events: list[dict], session_modules: dict[str, Path],
                  workspace: Path) -> None:
    check_sessions(session_modules[mode], events, mode == "per_key", workspace, f"s_{mode}")


# ------------------------------------------------------- non-windowed GROUP BY


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams())
def test_group_by_changelog_materializes_to_the_batch_result(events: list[dict],
                                                             workspace: Path) -> None:
    module = workspace / "group_by.py"
    if not module.exists():
        compile_query(workspace, "group_by", "SELECT k, COUNT(*) AS c_all, SUM(v) AS s_v, "
                      "MIN(n) AS min_n FROM ev GROUP BY k;")
    rows = run(module, events, workspace, "group_by")
    table: dict = {}
    for row in rows:  # apply the changelog: +I/+U upsert, -U/-D retract
        op = row.pop("_op")
        key = row["k"]
        if op in ("+I", "+U"):
            table[key] = row
        else:
            assert table.pop(key) == row, "a retraction must repeat the row it retracts"
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (k VARCHAR, v DOUBLE, n BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?)",
                        [(e["k"], e["v"], e["n"]) for e in events])
    expected = {r[0]: {"k": r[0], "c_all": r[1], "s_v": r[2], "min_n": r[3]} for r in
                con.execute("SELECT k, COUNT(*), SUM(v), MIN(n) FROM ev GROUP BY k").fetchall()}
    assert table.keys() == expected.keys()
    for key in table:
        assert same(table[key], expected[key]), (table[key], expected[key])


# ------------------------------------------------------------- grouping sets


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams())
def test_grouping_sets_equal_duckdb(events: list[dict], workspace: Path) -> None:
    module = workspace / "sets.py"
    if not module.exists():
        compile_query(workspace, "sets", (
            "SELECT k, window_start, window_end, COUNT(*) AS c_all, SUM(v) AS s_v "
            "FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND)) "
            "GROUP BY GROUPING SETS ((k, window_start, window_end), (window_start, window_end));"))
    actual = run(module, events, workspace, "sets")
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE)")
    con.execute("CREATE TABLE w (i BIGINT, ws BIGINT, we BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?)",
                        [(i, e["k"], e["v"]) for i, e in enumerate(events)])
    pairs = on_time_pairs("tumble", [e["ts"] for e in events], 0)
    if pairs:
        con.executemany("INSERT INTO w VALUES (?, ?, ?)", pairs)
    cursor = con.execute("""SELECT k, ws AS window_start, we AS window_end, COUNT(*) AS c_all,
        SUM(v) AS s_v, GROUPING(k) AS rolled FROM ev JOIN w USING (i)
        GROUP BY GROUPING SETS ((k, ws, we), (ws, we))""")
    names = [d[0] for d in cursor.description]
    expected = [dict(zip(names, r)) for r in cursor.fetchall()]

    def key(row: dict) -> tuple:
        start = row["window_start"]
        start = to_ms(start) if isinstance(start, str) else start
        return (start, str(row["k"]), row["c_all"], round(row["s_v"] or 0.0, 6))

    # a rolled-up key is NULL, like a NULL key (as in Flink): compare as multisets
    assert sorted(map(key, actual)) == sorted(map(key, expected))

"""Compiled window TVF rows and window Top-N pipelines against a reference.

Window TVF rows (``SELECT ... FROM TABLE(TUMBLE|HOP|CUMULATE(...))``) are
checked against a small reference of Flink's rule here: each row gets one
copy per window it belongs to, and a copy is dropped when its window had
fired at the row's arrival (``window_end - 1 <= watermark``, the watermark
being ``max(event time of the rows before) - bound``). Window Top-N is then
checked against DuckDB's ``QUALIFY ROW_NUMBER() | RANK() | DENSE_RANK()``
over those on-time copies (directly, or over their ``GROUP BY``). ROW_NUMBER
numbers ties by arrival (DuckDB: ``ORDER BY ..., i``); over an aggregate,
where the arrival order of groups is the operator's, the rows are compared
without the key that ties would make arbitrary.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_over_differential import CATALOG, run

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

BOUND_MS = 5_000
BASE = 1_762_768_800_000  # an hour boundary
# window name -> (TVF call, reference: ts -> [(start, end)])
WINDOWS = {
    "tumble": ("TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND)",
               lambda t: [(t - t % 10_000, t - t % 10_000 + 10_000)]),
    "hop": ("HOP(TABLE ev, DESCRIPTOR(event_time), INTERVAL '5' SECOND, INTERVAL '15' SECOND)",
            lambda t: [(s, s + 15_000) for s in range(t - t % 5_000 - 10_000, t + 1, 5_000)]),
    "cumulate": ("CUMULATE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '5' SECOND, "
                 "INTERVAL '15' SECOND)",
                 lambda t: [(t - t % 15_000, e) for e in
                            range(t - t % 15_000 + 5_000, t - t % 15_000 + 15_001, 5_000)
                            if e > t]),
}
# case -> (window, sqlc query, DuckDB query over table w (the on-time copies), compare key)
RANKED = "SELECT {cols}, {fn}() OVER (PARTITION BY {part} ORDER BY {order}) AS rn FROM {src}"
CASES = {
    "rows_tumble": ("tumble", "SELECT i, k, v, window_start, window_end FROM TABLE({tvf})", None),
    "rows_hop": ("hop", "SELECT i, k, v, window_start, window_end FROM TABLE({tvf})", None),
    "rows_cumulate": ("cumulate", "SELECT i, k, v, window_start, window_end FROM TABLE({tvf})",
                      None),
    # window Top-N directly on the TVF's rows: ties on v, NULLs in v and k
    "top3_hop_desc": ("hop", "ROW_NUMBER", "window_start, window_end", "v DESC", 3, "<="),
    "top2_tumble_key": ("tumble", "ROW_NUMBER", "window_start, window_end, k", "v", 2, "<="),
    "first_cumulate": ("cumulate", "ROW_NUMBER", "window_end", "event_time", 1, "="),
    "rank_tumble": ("tumble", "RANK", "window_start", "v DESC", 3, "<"),
    "dense_hop": ("hop", "DENSE_RANK", "window_start, window_end", "n", 2, "<="),
    # without the rank column in the output
    "top2_no_rank": ("tumble", "ROW_NUMBER", "window_end", "v DESC", 2, "<=", False),
}
# the aggregate cases: (window, function, limit) over SUM(n) per k
AGG_CASES = {"agg_rn_tumble": ("tumble", "ROW_NUMBER", 2), "agg_rank_hop": ("hop", "RANK", 2),
             "agg_dense_cumulate": ("cumulate", "DENSE_RANK", 1)}
DUCK_ORDER = {"v DESC": "v DESC NULLS LAST", "v": "v ASC NULLS FIRST",
              "event_time": "ts", "n": "n ASC NULLS FIRST"}


def sqlc_query(case: str) -> str:
    if case in AGG_CASES:
        window, fn, limit = AGG_CASES[case]
        inner = (f"SELECT k, window_start, window_end, SUM(n) AS s, {fn}() OVER (PARTITION BY "
                 f"window_start, window_end ORDER BY SUM(n) DESC) AS rn FROM TABLE("
                 f"{WINDOWS[window][0]}) GROUP BY k, window_start, window_end")
        return f"SELECT k, window_start, window_end, s, rn FROM ({inner}) WHERE rn <= {limit}"
    window, *spec = CASES[case]
    tvf = WINDOWS[window][0]
    if len(spec) == 2:
        return spec[0].format(tvf=tvf)
    fn, part, order, limit, op, *rank = spec
    inner = RANKED.format(cols="i, k, v, n, window_start, window_end", fn=fn, part=part,
                          order=order, src=f"TABLE({tvf})")
    rn = ", rn" if rank != [False] else ""
    return (f"SELECT i, k, v, n, window_start, window_end{rn} FROM ({inner}) "
            f"WHERE rn {op} {limit}")


def duck_query(case: str) -> str:
    if case in AGG_CASES:
        _, fn, limit = AGG_CASES[case]
        return (f"SELECT k, window_start, window_end, SUM(n) AS s, {fn}() OVER (PARTITION BY "
                f"window_start, window_end ORDER BY SUM(n) DESC NULLS LAST) AS rn FROM w "
                f"GROUP BY k, window_start, window_end QUALIFY rn <= {limit}")
    _, *spec = CASES[case]
    if len(spec) == 2:
        return "SELECT i, k, v, window_start, window_end FROM w"
    fn, part, order, limit, op, *rank = spec
    tie = ", i" if fn == "ROW_NUMBER" else ""
    rn = f", {fn}() OVER (PARTITION BY {part} ORDER BY {DUCK_ORDER[order]}{tie}) AS rn"
    query = (f"SELECT i, k, v, n, window_start, window_end{rn} FROM w "
             f"QUALIFY rn {op} {limit}")
    return query if rank != [False] else f"SELECT * EXCLUDE (rn) FROM ({query})"


def window_of(case: str) -> str:
    return AGG_CASES[case][0] if case in AGG_CASES else CASES[case][0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("topn")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


def compile_all(workspace: Path, queries: dict[str, str]) -> dict[str, Path]:
    """Each query compiled against the workspace's catalog into a module file."""
    found = {}
    for case, sql in queries.items():
        compiled = compile_source(Source(f"{case}.sql", sql + ";"),
                                  [str(workspace / "catalog.sql")])
        module = workspace / f"{case}.py"
        module.write_text(compiled.module or "", encoding="utf-8")
        found[case] = module
    return found


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return compile_all(workspace, {case: sqlc_query(case) for case in [*CASES, *AGG_CASES]})


def on_time_copies(events: list[dict], window: str, delay_ms: int = 0) -> list[dict]:
    """Each event once per window it belongs to, without the windows that had
    fired when it arrived (Flink's window TVF; ``delay_ms``: EMIT WITH DELAY)."""
    kept, high = [], None
    assign = WINDOWS[window][1]
    for e in events:
        watermark = None if high is None else high - BOUND_MS
        for start, end in assign(e["ts"]):
            if watermark is None or end - 1 + delay_ms > watermark:
                kept.append(dict(e, window_start=start, window_end=end))
        high = e["ts"] if high is None else max(high, e["ts"])
    return kept


def stamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def duck_expected(case: str, events: list[dict]) -> list[dict]:
    con = duckdb.connect()
    con.execute("CREATE TABLE w (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT, "
                "window_start BIGINT, window_end BIGINT)")
    rows = [(c["i"], c["k"], c["v"], c["n"], c["ts"], c["window_start"], c["window_end"])
            for c in on_time_copies(events, window_of(case))]
    if rows:
        con.executemany("INSERT INTO w VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    cursor = con.execute(duck_query(case))
    names = [d[0] for d in cursor.description]
    found = [dict(zip(names, row)) for row in cursor.fetchall()]
    for r in found:
        r["window_start"], r["window_end"] = stamp(r["window_start"]), stamp(r["window_end"])
    return found


def comparable(case: str, rows: list[dict]) -> list[tuple]:
    """Rows as sortable tuples; over an aggregate with ROW_NUMBER, without the
    key (tied sums may be numbered either way)."""
    drop = {"k"} if case in AGG_CASES and AGG_CASES[case][1] == "ROW_NUMBER" else set()
    return sorted(tuple((name, repr(r[name])) for name in sorted(r) if name not in drop)
                   for r in rows)


def check(case: str, module: Path, events: list[dict], workspace: Path, batch: int) -> None:
    actual = run(module, events, workspace, f"{case}_{batch}", batch)
    expected = duck_expected(case, events)
    assert comparable(case, actual) == comparable(case, expected)


def event_streams():
    """Out of order within the bound, some far-late rows, rows exactly on
    window boundaries, equal timestamps, ties and NULLs on the ORDER BY
    columns, one key or several."""
    key = st.sampled_from(["a", "b", None])
    value = st.one_of(st.none(), st.sampled_from([1.0, 2.0, 3.0]), st.floats(-10, 10).map(round))
    count = st.one_of(st.none(), st.integers(0, 3))
    step = st.one_of(st.integers(0, 3_000), st.just(5_000), st.just(0))
    jitter = st.one_of(st.integers(-4_999, 0), st.just(0), st.integers(-40_000, -5_000))

    @st.composite
    def stream(draw):
        n = draw(st.integers(0, 40))
        one_key = draw(st.booleans())
        events, clock = [], BASE + 60_000
        for _ in range(n):
            clock += draw(step)
            ts = clock + draw(jitter)
            if draw(st.integers(0, 4)) == 0:
                ts -= ts % 5_000  # exactly on a window boundary
            events.append({"k": "a" if one_key else draw(key), "v": draw(value),
                           "n": draw(count), "ts": ts})
            if draw(st.integers(0, 7)) == 0:
                events.append(dict(events[-1]))  # a duplicate
        return [dict(e, i=i) for i, e in enumerate(events)]

    return stream()


def sample_events() -> list[dict]:
    events = []
    for i in range(200):
        ts = BASE + i * 700 - (i % 7) * 900  # out of order within the bound
        v = None if i % 11 == 0 else float(i * 37 % 13)  # ties
        events.append({"i": i, "k": "abc"[i % 3], "v": v, "n": i % 4, "ts": ts})
    events.append({"i": 200, "k": "a", "v": 99.0, "n": 9, "ts": BASE + 1_000})  # far late
    events.append({"i": 201, "k": None, "v": None, "n": None, "ts": BASE + 300_000})
    return events


@pytest.mark.parametrize("batch", [1, 7, 1000])
@pytest.mark.parametrize("case", [*CASES, *AGG_CASES])
def test_sample_like_stream(case: str, batch: int, modules: dict[str, Path],
                            workspace: Path) -> None:
    check(case, modules[case], sample_events(), workspace, batch)


@pytest.mark.parametrize("case", [*CASES, *AGG_CASES])
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams(), batch=st.sampled_from([1, 7, 1000]))
def test_generated_streams(case: str, events: list[dict], batch: int,
                           modules: dict[str, Path], workspace: Path) -> None:
    check(case, modules[case], events, workspace, batch)


def test_the_sample_drops_late_copies() -> None:
    """The sample has a row whose windows had all fired: the reference drops it
    (so the comparisons above do test lateness)."""
    kept = {c["i"] for c in on_time_copies(sample_events(), "tumble")}
    assert 200 not in kept and 199 in kept


def test_late_rows_go_to_the_late_events_sink(modules: dict[str, Path], workspace: Path) -> None:
    """A row all of whose windows had fired is dropped, counted and written to
    --late-events; a HOP row keeps its copies for the windows still open."""
    events = [{"i": 0, "k": "a", "v": 1.0, "n": 1, "ts": BASE + 40_000},
              {"i": 1, "k": "a", "v": 2.0, "n": 2, "ts": BASE + 20_000},  # watermark 35 s: late
              {"i": 2, "k": "a", "v": 3.0, "n": 3, "ts": BASE + 26_000}]  # [25, 40) still open
    data, out, late = (workspace / f"late.{x}" for x in ("jsonl", "out.jsonl", "late.jsonl"))
    data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    assert run_module(modules["rows_hop"], ["--input", f"ev={data}", "--output", str(out),
                                            "--quiet", "--late-events", str(late),
                                            "--batch-size", "2"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["i"], r["window_start"][-9:]) for r in rows] == [
        (0, "00:30.000"), (0, "00:35.000"), (0, "00:40.000"), (2, "00:25.000")]
    dropped = [json.loads(line) for line in late.read_text(encoding="utf-8").splitlines()]
    assert [(e["operator"], e["reason"], e["row"]["i"]) for e in dropped] == [
        ("window_tvf", "its windows had already fired", 1)]


def test_what_does_not_run_yet_is_refused(workspace: Path) -> None:
    from compiler.errors import SqlcError

    sql = ("SELECT i, rn FROM (SELECT i, ROW_NUMBER() OVER (PARTITION BY window_start, "
           "window_end ORDER BY v * 2 DESC) AS rn FROM TABLE(" + WINDOWS["tumble"][0] + "))\n"
           "WHERE rn <= 2;")
    source = Source("q.sql", sql)
    with pytest.raises(SqlcError) as error:
        compile_source(source, [str(workspace / "catalog.sql")])
    [diagnostic] = error.value.diagnostics
    assert source.line_col(diagnostic.span.start) == (2, 7)  # the Top-N's filter
    assert diagnostic.message.startswith("a Top-N partitioned or ordered by an expression")


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_top_n_over_an_aggregate_with_emit_delay(batch: int, workspace: Path) -> None:
    """WITH DELAY: the aggregate's windows arrive after their end; the Top-N
    waits for them as long (a regression: it took them for late)."""
    sql = ("SELECT k, window_start, c, rn FROM (SELECT k, window_start, c, ROW_NUMBER() OVER "
           "(PARTITION BY window_start ORDER BY c DESC) AS rn FROM (SELECT k, window_start, "
           "window_end, COUNT(*) AS c FROM TABLE(" + WINDOWS["tumble"][0] + ") GROUP BY k, "
           "window_start, window_end EMIT AFTER WATERMARK WITH DELAY INTERVAL '3' SECOND)) "
           "WHERE rn <= 2")
    module = compile_all(workspace, {"delayed": sql})["delayed"]
    events = sample_events()
    got = run(module, events, workspace, f"delayed_{batch}", batch)
    con = duckdb.connect()
    con.execute("CREATE TABLE w (k VARCHAR, ws BIGINT)")
    con.executemany("INSERT INTO w VALUES (?, ?)", [
        (c["k"], c["window_start"]) for c in on_time_copies(events, "tumble", delay_ms=3_000)])
    want = con.execute("SELECT ws, c, ROW_NUMBER() OVER (PARTITION BY ws ORDER BY c DESC) AS rn "
                       "FROM (SELECT ws, k, COUNT(*) AS c FROM w GROUP BY ws, k) QUALIFY rn <= 2"
                       ).fetchall()
    assert sorted((r["window_start"], r["c"], r["rn"]) for r in got) == sorted(
        (stamp(ws), c, rn) for ws, c, rn in want)

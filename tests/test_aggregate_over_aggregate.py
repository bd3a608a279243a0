"""Aggregations over an aggregation's rows, compiled and run, against DuckDB.

- Cascaded windows: a TUMBLE over another window aggregate's window_time
  (renamed, as in Flink's example): the inner windows' rows are final and
  arrive before the watermark that fires the outer window holding them.
- A GROUP BY over an updating GROUP BY (Nexmark q4's shape): the inner
  result's -U/+U take the old row back from the outer aggregates, MIN and MAX
  (numbers and strings) included.
- A GROUP BY over an OVER over a window aggregate (spec Query 14's shape).
- Per window, the maximum of per-window counts joined back to the counts
  (Nexmark q5's hot items): the maximum is an updating GROUP BY, so the join
  takes back the rows a higher count of the same window displaces.

Lateness is decided independently (``on_time_pairs``), DuckDB aggregates the
on-time rows; an updating result is compared after applying its changelog.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.driver import compile_source
from compiler.errors import Source, SqlcError
from tests.test_join_compiled_differential import final_rows
from tests.test_over_differential import CATALOG, run
from tests.test_window_differential import event_streams, on_time_pairs, to_ms

QUERIES = {
    "cascade": """
        WITH inner_w AS (
            SELECT k, window_start AS ws, window_time AS rowtime, COUNT(*) AS c, SUM(v) AS s
            FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
            GROUP BY k, window_start, window_end, window_time
        )
        SELECT k, window_start, window_end, SUM(c) AS total, MAX(c) AS peak, COUNT(*) AS windows,
               AVG(s) AS avg_s, MIN(ws) AS first_ws
        FROM TABLE(TUMBLE(TABLE inner_w, DESCRIPTOR(rowtime), INTERVAL '30' SECOND))
        GROUP BY k, window_start, window_end;""",
    "updating": """
        SELECT n, AVG(mx) AS avg_max, SUM(c) AS total, COUNT(*) AS keys, MAX(mx) AS top,
               MIN(c) AS fewest, MAX(k) AS last_k, MIN(k) AS first_k
        FROM (SELECT k, n, MAX(v) AS mx, COUNT(*) AS c FROM ev GROUP BY k, n)
        GROUP BY n;""",
    "cascade_delay": """
        WITH inner_w AS (
            SELECT k, window_start AS ws, window_time AS rowtime, COUNT(*) AS c, SUM(v) AS s
            FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
            GROUP BY k, window_start, window_end, window_time
            EMIT AFTER WATERMARK WITH DELAY INTERVAL '3' SECOND
        )
        SELECT k, window_start, window_end, SUM(c) AS total, MAX(c) AS peak, COUNT(*) AS windows,
               AVG(s) AS avg_s, MIN(ws) AS first_ws,
               LAG(SUM(c), 1, -1) OVER (PARTITION BY k ORDER BY window_start) AS prev_total
        FROM TABLE(TUMBLE(TABLE inner_w, DESCRIPTOR(rowtime), INTERVAL '30' SECOND))
        GROUP BY k, window_start, window_end;""",
    "hot": """
        WITH counts AS (
            SELECT k, window_start, window_end, COUNT(*) AS num
            FROM TABLE(HOP(TABLE ev, DESCRIPTOR(event_time), INTERVAL '5' SECOND,
                           INTERVAL '15' SECOND))
            GROUP BY k, window_start, window_end
        ), maxes AS (
            SELECT window_start, window_end, MAX(num) AS maxn FROM counts
            GROUP BY window_start, window_end
        )
        SELECT c.k, c.window_start, c.num FROM counts c JOIN maxes m
            ON c.window_start = m.window_start AND c.window_end = m.window_end
        WHERE c.num >= m.maxn;""",
    "over": """
        WITH w AS (
            SELECT k, window_start AS ws, window_time, COUNT(*) AS c
            FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
            GROUP BY k, window_start, window_end, window_time
        ), firsts AS (
            SELECT k, ws, c, MIN(ws) OVER (PARTITION BY k ORDER BY window_time
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS first_ws
            FROM w
        )
        SELECT first_ws, TIMESTAMPDIFF(SECOND, first_ws, ws) AS since, COUNT(DISTINCT k) AS keys,
               AVG(c) AS avg_c
        FROM firsts
        GROUP BY first_ws, TIMESTAMPDIFF(SECOND, first_ws, ws);""",
}
# DuckDB over table ``agg`` (the window aggregate of the on-time rows: TUMBLE 10 s, for
# "hot" HOP 5 s / 15 s) or ``ev``
DUCK = {
    "cascade": """
        SELECT k, (window_end - 1) // 30000 * 30000 AS window_start,
               (window_end - 1) // 30000 * 30000 + 30000 AS window_end, SUM(c) AS total,
               MAX(c) AS peak, COUNT(*) AS windows, AVG(s) AS avg_s, MIN(window_start) AS first_ws
        FROM agg GROUP BY ALL""",
    "updating": """
        SELECT n, AVG(mx) AS avg_max, SUM(c) AS total, COUNT(*) AS keys, MAX(mx) AS top,
               MIN(c) AS fewest, MAX(k) AS last_k, MIN(k) AS first_k
        FROM (SELECT k, n, MAX(v) AS mx, COUNT(*) AS c FROM ev GROUP BY k, n) GROUP BY n""",
    "cascade_delay": """
        SELECT *, LAG(total, 1, -1) OVER (PARTITION BY k ORDER BY window_start) AS prev_total
        FROM (SELECT k, (window_end - 1) // 30000 * 30000 AS window_start,
                     (window_end - 1) // 30000 * 30000 + 30000 AS window_end, SUM(c) AS total,
                     MAX(c) AS peak, COUNT(*) AS windows, AVG(s) AS avg_s,
                     MIN(window_start) AS first_ws
              FROM agg GROUP BY ALL)""",
    "hot": """
        SELECT k, window_start, c FROM agg
        WHERE c >= (SELECT MAX(c) FROM agg a WHERE a.window_start = agg.window_start)""",
    "over": """
        SELECT first_ws, (window_start - first_ws) // 1000 AS since, COUNT(DISTINCT k) AS keys,
               AVG(c) AS avg_c
        FROM (SELECT *, MIN(window_start) OVER (PARTITION BY k ORDER BY window_end
              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS first_ws FROM agg)
        GROUP BY ALL""",
}


# the inner window aggregate's EMIT ... WITH DELAY
DELAY_MS = {"cascade_delay": 3_000}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agg_agg")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    found = {}
    for name, sql in QUERIES.items():
        compiled = compile_source(Source(f"{name}.sql", sql), [str(workspace / "catalog.sql")])
        found[name] = workspace / f"{name}.py"
        found[name].write_text(compiled.module or "", encoding="utf-8")
    return found


def duck_rows(name: str, events: list[dict]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?)",
                        [(e["i"], e["k"], e["v"], e["n"], e["ts"]) for e in events])
    con.execute("CREATE TABLE w (i BIGINT, ws BIGINT, we BIGINT)")
    kind = "hop" if name == "hot" else "tumble"
    pairs = on_time_pairs(kind, [e["ts"] for e in events], DELAY_MS.get(name, 0))
    if pairs:
        con.executemany("INSERT INTO w VALUES (?, ?, ?)", pairs)
    con.execute("""CREATE TABLE agg AS SELECT k, ws AS window_start, we AS window_end,
                   SUM(v) AS s, COUNT(*) AS c FROM ev JOIN w USING (i) GROUP BY k, ws, we""")
    return con.execute(DUCK[name]).fetchall()


def normal(row: tuple) -> tuple:
    """Timestamps as epoch ms, floats rounded (sums are taken back and re-added)."""
    out = []
    for v in row:
        if isinstance(v, str) and v[:2] == "20" and v[4:5] == "-":
            v = to_ms(v)
        if isinstance(v, float):
            v = None if math.isnan(v) else round(v, 6)
        out.append(v)
    return tuple(out)


def ordered(rows) -> list[tuple]:
    return sorted((normal(r) for r in rows), key=lambda r: [(v is not None, v or 0) for v in r])


def check(name: str, module: Path, events: list[dict], workspace: Path, batch: int) -> None:
    events = [dict(e, i=i) for i, e in enumerate(events)]
    records = run(module, events, workspace, name, batch)
    actual = final_rows(records, changelog=not name.startswith("cascade"))
    assert ordered(actual) == ordered(duck_rows(name, events))


def sample_events() -> list[dict]:
    base = 1_762_768_800_000
    events = []
    for i in range(400):
        ts = base + i * 450 - (i % 7) * 900  # out of order within the 5 s bound
        v = None if i % 11 == 0 else float(i * 37 % 101)
        events.append({"k": "abcd"[i % 4] if i % 13 else None, "v": v,
                       "n": None if i % 17 == 0 else i % 3, "ts": ts})
    events.append({"k": "a", "v": 1.0, "n": 1, "ts": base + 1_000})  # late for its window
    events.append({"k": "e", "v": 2.0, "n": 1, "ts": base + 400_000})  # a new key, windows later
    return events


@pytest.mark.parametrize("batch", [1, 7, 10_000])
@pytest.mark.parametrize("name", list(QUERIES))
def test_sample_stream(name: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    check(name, modules[name], sample_events(), workspace, batch)


@pytest.mark.parametrize("name", list(QUERIES))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(name: str, events: list[dict], batch: int,
                           modules: dict[str, Path], workspace: Path) -> None:
    check(name, modules[name], events, workspace, batch)


def refusal(workspace: Path, sql: str) -> list[tuple[str, int, str]]:
    source = Source("q.sql", sql)
    with pytest.raises(SqlcError) as error:
        compile_source(source, [str(workspace / "catalog.sql")])
    return [(d.kind, source.line_col(d.span.start)[0], d.message) for d in error.value.diagnostics]


def test_window_columns_of_the_input_must_be_renamed(workspace: Path) -> None:
    """A TVF over rows that have a window_time already would have two: refused
    at the TVF's input, with the rename Flink's cascading example uses."""
    [(kind, line, message)] = refusal(workspace, (
        "WITH m AS (SELECT k, window_time, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE ev, "
        "DESCRIPTOR(event_time), INTERVAL '10' SECOND))\n"
        "    GROUP BY k, window_start, window_end, window_time)\n"
        "SELECT k, window_start, SUM(c) AS t FROM TABLE(TUMBLE(TABLE m, DESCRIPTOR(window_time), "
        "INTERVAL '1' MINUTE)) GROUP BY k, window_start, window_end;"))
    assert (kind, line) == ("BindError", 3)
    assert "m already has a column window_time" in message


def test_what_an_aggregation_over_an_aggregation_refuses(workspace: Path) -> None:
    """LAST_VALUE cannot take back a row of an updating input."""
    found = refusal(workspace, (
        "SELECT n, LAST_VALUE(c) AS latest FROM (SELECT k, n, COUNT(*) AS c FROM ev GROUP BY k, n)\n"
        "GROUP BY n;"))
    assert [(kind, line) for kind, line, _ in found] == [("UnsupportedError", 1)]
    assert "LAST_VALUE over an updating input" in found[0][2]


def test_an_inner_emit_delay_holds_the_watermark_after_it_back(workspace: Path) -> None:
    """The inner windows' rows come 3 s after the watermark passed them: the
    outer window and the OVER fire on the watermark less 3 s (held_back), and
    the OVER's lag is its window's size only."""
    module = compile_source(Source("q.sql", QUERIES["cascade_delay"]),
                            [str(workspace / "catalog.sql")]).module or ""
    assert 'self.window_aggregate_2.advance(held_back(watermarks["ev"], 3000))' in module
    assert 'self.over_aggregate.advance(held_back(watermarks["ev"], 3000))' in module
    assert "lag_ms=29999," in module

"""OVER over a SESSION window aggregate's rows ordered by window_start,
compiled and run, against DuckDB.

A session's row is final when the session fires; per session key, sessions
fire in the order of their starts (a row that would open a session before
one that fired is late, or comes after it), so the OVER takes each row as it
comes, its frame over the key's earlier sessions. Sessions and lateness are
simulated independently (``session_pairs``); DuckDB aggregates the on-time
rows per session, then computes the OVER calls over the result.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_over_differential import CATALOG, refusal, run
from tests.test_over_window_aggregate import CALLS, compare, compile_to, keyed
from tests.test_window_differential import event_streams, session_pairs

GAP_MS = 4_000
SESSIONS = {
    "per_key": "SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(event_time), INTERVAL '4' SECOND)",
    "global": "SESSION(TABLE ev, DESCRIPTOR(event_time), INTERVAL '4' SECOND)",
}
# a RANGE frame on a session's start, and a LAG default
MORE_CALLS = [
    ("sum_range", ("SUM(COUNT(*)) OVER ({w} RANGE BETWEEN INTERVAL '30' SECOND PRECEDING AND "
                   "CURRENT ROW)"),
     "SUM(c) OVER ({w} RANGE BETWEEN 30000 PRECEDING AND CURRENT ROW)"),
    ("max_n_prev", "LAG(MAX(n), 1, -9) OVER ({w})", "LAG(max_n, 1, -9) OVER ({w})"),
]


def sqlc_query(case: str) -> str:
    over = "PARTITION BY k ORDER BY window_start"
    calls = ", ".join(f"{s.format(w=over)} AS {name}" for name, s, _ in CALLS + MORE_CALLS)
    return (f"SELECT k, window_start, window_end, SUM(v) AS s, COUNT(*) AS c, {calls}\n"
            f"FROM TABLE({SESSIONS[case]})\nGROUP BY k, window_start, window_end;")


def duck_query() -> str:
    over = "PARTITION BY k ORDER BY window_start"
    calls = ", ".join(f"{d.format(w=over)} AS {name}" for name, _, d in CALLS + MORE_CALLS)
    return f"SELECT k, window_start, window_end, s, c, {calls} FROM agg"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("over_session")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return {case: compile_to(workspace, case, sqlc_query(case)) for case in SESSIONS}


def check(case: str, module: Path, events: list[dict], workspace: Path, batch: int) -> None:
    events = [dict(e, i=i) for i, e in enumerate(events)]
    actual = keyed(run(module, events, workspace, case, batch))
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT)")
    con.execute("CREATE TABLE w (i BIGINT, ws BIGINT, we BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?)",
                        [(e["i"], e["k"], e["v"], e["n"], e["ts"]) for e in events])
    pairs = session_pairs(events, GAP_MS, per_key=case == "per_key")
    if pairs:
        con.executemany("INSERT INTO w VALUES (?, ?, ?)", pairs)
    con.execute("""CREATE TABLE agg AS SELECT k, ws AS window_start, we AS window_end,
                   SUM(v) AS s, COUNT(*) AS c, MAX(n) AS max_n
                   FROM ev JOIN w USING (i) GROUP BY k, ws, we""")
    compare(case, actual, con.execute(duck_query()))


def sample_events() -> list[dict]:
    """Sessions of several rows per key, out of order within the bound, some
    merging late, a far-late row and a long gap."""
    base = 1_762_768_800_000
    events = []
    for i in range(400):
        ts = base + i * 900 - (i % 7) * 900 + (i // 25) * 6_000  # a session break every 25 rows
        v = None if i % 11 == 0 else (i * 37 % 101) / 3
        events.append({"k": "abc"[i % 3] if i % 13 else None, "v": v, "n": i % 5, "ts": ts})
    events.append({"k": "a", "v": 1.0, "n": 1, "ts": base + 1_000})  # its session has fired
    events.append({"k": "a", "v": 2.0, "n": 1, "ts": base + 900_000})
    return events


@pytest.mark.parametrize("batch", [1, 7, 10_000])
@pytest.mark.parametrize("case", list(SESSIONS))
def test_sample_stream(case: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    check(case, modules[case], sample_events(), workspace, batch)


@pytest.mark.parametrize("case", list(SESSIONS))
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams(), batch=st.sampled_from([1, 7, 500]))
def test_generated_streams(case: str, events: list[dict], batch: int, modules: dict[str, Path],
                           workspace: Path) -> None:
    check(case, modules[case], events, workspace, batch)


def test_a_partition_without_the_session_key_is_refused(workspace: Path) -> None:
    """Across session keys, sessions do not fire in the order of their starts
    (an open session can be arbitrarily old): such an OVER is refused, at it."""
    sql = ("SELECT k, n, window_start, LAG(COUNT(*)) OVER (PARTITION BY n ORDER BY window_start) "
           "AS p\nFROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(event_time), "
           "INTERVAL '5' SECOND))\nGROUP BY k, n, window_start, window_end;")
    [(kind, pos, message)] = refusal(workspace, sql)
    assert (kind, pos) == ("UnsupportedError", "1:28")
    assert "partitioned by the session's PARTITION BY columns" in message


def test_the_plan_says_rows_enter_as_their_sessions_fire(modules: dict[str, Path]) -> None:
    text = modules["per_key"].read_text(encoding="utf-8")
    assert "fires=[each row as its session fires (a key's sessions fire in start order)]" in text
    assert "arrival_order=True," in text

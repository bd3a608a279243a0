"""SESSION window TVF rows without an aggregation (``SELECT ... FROM
TABLE(SESSION(...))``) against two references.

Flink's rule, in a small reference here: rows in arrival order; the watermark
before a row is ``max(event time before) - 5 s``; sessions of a partition whose
``end - 1 <= watermark`` close (their rows leave with the session's bounds); a
row whose window ``[ts, ts + gap)`` overlaps or touches open sessions merges
them, else it opens one unless that window had already closed (late, dropped).
For streams in event-time order, DuckDB computes the same sessions by gaps
(a new session where the row is more than ``gap`` after the previous one).
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_over_differential import CATALOG, run
from test_topn_differential import BASE, BOUND_MS, compile_all, stamp

GAP_MS = 3_000
QUERIES = {
    "by_key": "SELECT i, k, v, window_start, window_end, window_time FROM TABLE(SESSION("
              "TABLE ev PARTITION BY k, DESCRIPTOR(event_time), INTERVAL '3' SECOND))",
    "global": "SELECT i, k, v, window_start, window_end, window_time FROM TABLE(SESSION("
              "TABLE ev, DESCRIPTOR(event_time), INTERVAL '3' SECOND))",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("session_rows")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace):
    return compile_all(workspace, QUERIES)


def reference(events: list[dict], by_key: bool) -> list[tuple]:
    """Flink's merging session windows, row by row."""
    sessions: dict[object, list[list]] = {}  # partition -> [[start, end, rows]]
    out, high = [], None
    def close(watermark):
        for open_ in sessions.values():
            for s in [s for s in open_ if s[1] - 1 <= watermark]:
                open_.remove(s)
                out.extend((r["i"], s[0], s[1]) for r in s[2])
    for e in events:
        watermark = None if high is None else high - BOUND_MS
        if watermark is not None:
            close(watermark)
        part = e["k"] if by_key else None
        t, end = e["ts"], e["ts"] + GAP_MS
        open_ = sessions.setdefault(part, [])
        hit = [s for s in open_ if s[0] <= end and t <= s[1]]
        if hit:
            for s in hit:
                open_.remove(s)
            open_.append([min([t] + [s[0] for s in hit]), max([end] + [s[1] for s in hit]),
                          [r for s in hit for r in s[2]] + [e]])
        elif watermark is None or end - 1 > watermark:
            open_.append([t, end, [e]])
        high = t if high is None else max(high, t)
    close(2**62)
    return sorted(out)


def by_gaps(events: list[dict], by_key: bool) -> list[tuple]:
    """DuckDB: sessions as runs of rows at most ``gap`` apart (in-order streams)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, ts BIGINT)")
    if events:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?)", [(e["i"], e["k"], e["ts"]) for e in events])
    part = "PARTITION BY k" if by_key else ""
    return sorted(con.execute(f"""
        WITH marked AS (SELECT *, CASE WHEN ts - LAG(ts) OVER (w) <= {GAP_MS} THEN 0 ELSE 1 END
                        AS new FROM ev WINDOW w AS ({part} ORDER BY ts, i)),
             numbered AS (SELECT *, SUM(new) OVER ({part} ORDER BY ts, i) AS s FROM marked)
        SELECT i, MIN(ts) OVER (PARTITION BY {"k, " if by_key else ""}s),
               MAX(ts) OVER (PARTITION BY {"k, " if by_key else ""}s) + {GAP_MS} FROM numbered
    """).fetchall())


def got(rows: list[dict]) -> list[tuple]:
    found = []
    for r in rows:
        assert r["window_time"] == stamp(_ms(r["window_end"]) - 1)
        found.append((r["i"], _ms(r["window_start"]), _ms(r["window_end"])))
    return sorted(found)


def _ms(text: str) -> int:
    from datetime import UTC, datetime
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


@st.composite
def streams(draw, in_order: bool = False):
    n = draw(st.integers(0, 30))
    events, clock = [], BASE + 60_000
    for i in range(n):
        clock += draw(st.one_of(st.integers(0, 4_000), st.just(GAP_MS), st.just(GAP_MS + 1)))
        ts = clock if in_order else clock + draw(st.one_of(st.just(0), st.integers(-12_000, 0)))
        events.append({"i": i, "k": draw(st.sampled_from(["a", "b", None])), "v": 1.0, "n": 1,
                       "ts": ts})
    return events


@pytest.mark.parametrize("batch", [1, 7, 1000])
@pytest.mark.parametrize("case", list(QUERIES))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=streams())
def test_session_rows_match_flinks_rule(case, batch, events, modules, workspace) -> None:
    actual = got(run(modules[case], events, workspace, f"{case}_{batch}", batch))
    assert actual == reference(events, case == "by_key")


@pytest.mark.parametrize("batch", [1, 7, 1000])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=streams(in_order=True))
def test_in_order_sessions_equal_duckdbs_gaps(batch, events, modules, workspace) -> None:
    for case in QUERIES:
        actual = got(run(modules[case], events, workspace, f"gaps_{case}_{batch}", batch))
        assert actual == by_gaps(events, case == "by_key")


@settings(max_examples=40, deadline=None)
@given(events=streams(), cut=st.integers(0, 30), step=st.integers(1, 7))
def test_a_checkpoint_round_trip_changes_nothing(events, cut, step) -> None:
    """SessionRows snapshotted after any batch (encoded as checkpoints are: JSON
    and numpy arrays) and restored into a new operator gives the same rows as
    the one that ran through."""
    import json

    import numpy as np

    from runtime_lib.checkpoint import _decode, _encode
    from runtime_lib.columns import Batch, column_from_pylist
    from runtime_lib.operators.session_rows import SessionRows

    def fresh():
        return SessionRows("ts", ["k"], GAP_MS, names=["i", "k", "ts"], kinds=["i", "O", "i"])

    def batches():
        high = None
        for at in range(0, len(events), step):
            part = events[at: at + step]
            marks = []
            for e in part:
                marks.append(-(2**63) if high is None else high - BOUND_MS)
                high = e["ts"] if high is None else max(high, e["ts"])
            cols = {n: column_from_pylist([e[n] for e in part], kind)
                    for n, kind in (("i", "i"), ("k", "O"), ("ts", "i"))}
            yield Batch(cols, len(part), np.array(marks, np.int64)), high - BOUND_MS

    def rows(out):
        return out.to_rows()

    whole, resumed = fresh(), fresh()
    expected, actual = [], []
    for n, (batch, watermark) in enumerate(batches()):
        whole.process(batch)
        expected += rows(whole.advance(watermark))
        resumed.process(batch)
        if n == cut // step:
            arrays: list = []
            encoded = json.loads(json.dumps(_encode(resumed.snapshot(), arrays, "session")))
            state = _decode(encoded, {str(i): a.copy() for i, a in enumerate(arrays)})
            resumed = fresh()
            resumed.restore(state)
        actual += rows(resumed.advance(watermark))
    expected += rows(whole.advance(2**63 - 1))
    actual += rows(resumed.advance(2**63 - 1))
    assert actual == expected

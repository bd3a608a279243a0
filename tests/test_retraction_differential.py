"""Compiled aggregations over a regular LEFT JOIN (spec Query 13's shape)
against DuckDB.

The LEFT JOIN emits a request at once NULL-padded (+I); when its first
feedback arrives it takes that row back (-D) and emits one joined row per
feedback (+I). The window aggregate applies both while the window is open.
When every feedback arrives before its request's window fires, the final
output equals DuckDB's batch ``LEFT JOIN`` + ``GROUP BY`` window: the
generated streams guarantee it (see ``streams``), independently of how the
driver cuts and interleaves the micro-batches. A feedback that comes after
the window fired is late: the window keeps its NULL-rating result and the
late changelog rows go to ``--late-events``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_window_differential import compile_query, same, to_ms, windows_of

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

BOUND_MS = 5_000  # both streams: WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
BASE = 1_762_768_800_000  # 2025-11-10 10:00:00 UTC, a multiple of every window size
CATALOG = """
CREATE STREAM requests (
    request_id VARCHAR,
    user_id VARCHAR,
    experiment_id VARCHAR,
    variant VARCHAR,
    latency_ms DOUBLE,
    cost DOUBLE,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'requests', 'format' = 'json');

CREATE STREAM feedback (
    request_id VARCHAR,
    rating INT,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'feedback', 'format' = 'json');
"""

JOIN = "FROM requests r LEFT JOIN feedback f ON r.request_id = f.request_id"
AGGREGATES = """COUNT(*) AS requests, SUM(latency_ms) AS total_latency, AVG(cost) AS avg_cost,
       SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END) * 100.0 / COUNT(*) AS satisfaction_rate,
       COUNT(rating) AS rated, SUM(rating) AS rating_sum, COUNT(*) FILTER (WHERE rating >= 4) AS good,
       MIN(rating) AS low, MAX(rating) AS high, MAX(latency_ms) AS slowest, MIN(user_id) AS first_user"""
DUCK_AGGREGATES = """COUNT(*) AS requests, SUM(latency_ms) AS total_latency, AVG(cost) AS avg_cost,
       CAST(SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END) * 100.0 / COUNT(*) AS DOUBLE) AS satisfaction_rate,
       COUNT(rating) AS rated, CAST(SUM(rating) AS BIGINT) AS rating_sum,
       COUNT(*) FILTER (WHERE rating >= 4) AS good,
       MIN(rating) AS low, MAX(rating) AS high, MAX(latency_ms) AS slowest, MIN(user_id) AS first_user"""
WINDOWS = {  # the sizes of test_window_differential.windows_of
    "tumble": "TUMBLE(r.event_time, INTERVAL '10' SECOND)",
    "hop": "HOP(r.event_time, INTERVAL '5' SECOND, INTERVAL '15' SECOND)",
}
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("retraction")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    out = {kind: compile_query(workspace, kind, (
        f"SELECT experiment_id, variant, window_start, window_end,\n       {AGGREGATES}\n{JOIN}\n"
        f"GROUP BY experiment_id, variant, {tvf};")) for kind, tvf in WINDOWS.items()}
    out["group"] = compile_query(workspace, "group", (
        f"SELECT experiment_id, variant,\n       {AGGREGATES}\n{JOIN}\nGROUP BY experiment_id, variant;"))
    return out


# ------------------------------------------------------------------- streams


def first_end(kind: str, ts: int) -> int:
    """The end of the first window of ``ts`` to fire."""
    return min(end for _, end in windows_of(kind, ts))


@st.composite
def streams(draw, kind: str):
    """(requests, feedback) in arrival order. Requests are out of order within
    the bound (never late). Feedback: none, one or several per request (a
    LEFT join then takes the NULL row back once and emits a row per match),
    NULL ratings, NULL join keys on both sides, feedback for no request,
    duplicate requests, gaps of empty windows. A feedback is kept only if no
    feedback before it in its stream pushes the watermark to its request's
    first window: ``max(earlier feedback ts) - bound < first end - 1``. Since
    the window fires at the lower of both streams' watermarks, every feedback
    (and every request) then arrives before its window fires, however the
    driver cuts and interleaves the micro-batches."""
    n = draw(st.integers(0, 25))
    clock = BASE + draw(st.sampled_from([0, 1, 4_999]))
    requests = []
    for i in range(n):
        clock += draw(st.one_of(st.integers(0, 3_000), st.just(0), st.just(5_000), st.just(31_000)))
        ts = clock - draw(st.one_of(st.just(0), st.integers(0, BOUND_MS - 1)))
        if requests and draw(st.integers(0, 9)) == 0:
            requests.append(dict(requests[-1]))  # a duplicate request
            continue
        requests.append({
            "request_id": None if draw(st.integers(0, 7)) == 0 else f"r{i}",
            "user_id": f"u{i % 3}",
            "experiment_id": draw(st.sampled_from(["e1", "e2"])),
            "variant": draw(st.sampled_from(["A", "B", None])),
            "latency_ms": draw(st.one_of(st.none(), st.integers(0, 40_000).map(lambda v: v / 4))),
            "cost": draw(st.one_of(st.none(), st.integers(0, 1_000).map(lambda v: v / 1_000))),
            "ts": ts,
        })
    rating = st.one_of(st.none(), st.integers(1, 5))
    candidates = []  # (order key, feedback)
    for r in requests:
        for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3]))):
            ts = r["ts"] + draw(st.integers(0, 8_000))
            candidates.append((ts + draw(st.integers(0, 3_000)),
                               {"request_id": r["request_id"], "rating": draw(rating), "ts": ts}))
    for _ in range(draw(st.integers(0, 3))):  # for no request, or with a NULL key
        ts = BASE + draw(st.integers(0, max(0, clock - BASE)))
        rid = draw(st.sampled_from([None, "nobody"]))
        candidates.append((ts, {"request_id": rid, "rating": draw(rating), "ts": ts}))
    candidates.sort(key=lambda c: c[0])
    first = {r["request_id"]: first_end(kind, r["ts"]) for r in requests if r["request_id"]}
    feedback, high = [], None
    for _, f in candidates:
        due = first.get(f["request_id"])
        if due is not None and high is not None and high - BOUND_MS >= due - 1:
            continue  # would arrive after its request's window fired
        feedback.append(f)
        high = f["ts"] if high is None else max(high, f["ts"])
    return requests, feedback


# -------------------------------------------------------------- run, DuckDB


def run(module: Path, requests: list[dict], feedback: list[dict], workspace: Path, tag: str,
        batch_size: int = 3, late_events: bool = False) -> tuple[list[dict], list[dict]]:
    """Run the module on both streams; returns (output rows, late-event records)."""
    argv = ["--output", str(workspace / f"{tag}.out.jsonl"), "--quiet", "--batch-size", str(batch_size)]
    for name, events in (("requests", requests), ("feedback", feedback)):
        data = workspace / f"{tag}.{name}.jsonl"
        data.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        argv += ["--input", f"{name}={data}"]
    if late_events:
        argv += ["--late-events", str(workspace / f"{tag}.late.jsonl")]
    assert run_module(module, argv) == 0
    rows = [json.loads(line) for line in (workspace / f"{tag}.out.jsonl").read_text().splitlines()]
    late = ([json.loads(line) for line in (workspace / f"{tag}.late.jsonl").read_text().splitlines()]
            if late_events else [])
    return rows, late


def duck(requests: list[dict], feedback: list[dict], kind: str | None) -> dict:
    """DuckDB's batch LEFT JOIN + GROUP BY (per window unless ``kind`` is None)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE r (i BIGINT, request_id VARCHAR, user_id VARCHAR, experiment_id VARCHAR, "
                "variant VARCHAR, latency_ms DOUBLE, cost DOUBLE, ts BIGINT)")
    con.execute("CREATE TABLE f (request_id VARCHAR, rating INT, ts BIGINT)")
    con.execute("CREATE TABLE w (i BIGINT, ws BIGINT, we BIGINT)")
    if requests:
        con.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (i, e["request_id"], e.get("user_id"), e["experiment_id"], e["variant"], e["latency_ms"],
             e["cost"], e["ts"])
            for i, e in enumerate(requests)])
        con.executemany("INSERT INTO w VALUES (?, ?, ?)", [
            (i, start, end) for i, e in enumerate(requests)
            for start, end in (windows_of(kind, e["ts"]) if kind else [(0, 0)])])
    if feedback:
        con.executemany("INSERT INTO f VALUES (?, ?, ?)", [(e["request_id"], e["rating"], e["ts"])
                                                           for e in feedback])
    cursor = con.execute(f"""
        SELECT experiment_id, variant, ws AS window_start, we AS window_end, {DUCK_AGGREGATES}
        FROM r JOIN w USING (i) LEFT JOIN f ON r.request_id = f.request_id
        GROUP BY ALL""")
    names = [d[0] for d in cursor.description]
    return keyed([dict(zip(names, row)) for row in cursor.fetchall()], windowed=kind is not None)


def keyed(rows: list[dict], windowed: bool = True) -> dict:
    """{(experiment_id, variant, window_start, window_end): row}, window bounds
    as epoch ms; each group once."""
    out = {}
    for row in rows:
        row = dict(row)
        if not windowed:
            row.pop("window_start", None), row.pop("window_end", None)
        for key in ("window_start", "window_end"):
            if isinstance(row.get(key), str):
                row[key] = to_ms(row[key])
        group = (row["experiment_id"], row["variant"], row.get("window_start"), row.get("window_end"))
        assert group not in out, f"group emitted twice: {group}"
        out[group] = row
    return out


def replay(rows: list[dict]) -> list[dict]:
    """The final table of a changelog: +I/+U add a row, -U/-D remove an equal one."""
    table: dict = {}
    for row in rows:
        row = dict(row)
        op = row.pop("_op")
        group = (row["experiment_id"], row["variant"])
        if op in ("+I", "+U"):
            assert group not in table, f"{op} of a visible group {group}"
            table[group] = row
        else:
            assert table.pop(group, None) == row, f"{op} must repeat the visible row of {group}"
    return list(table.values())


def assert_same(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys(), (sorted(actual, key=str), sorted(expected, key=str))
    for group, row in expected.items():
        assert same(actual[group], row), (group, actual[group], row)


# --------------------------------------------------------------------- tests


@pytest.mark.parametrize("kind", list(WINDOWS))
@SETTINGS
@given(data=st.data())
def test_window_over_left_join_equals_duckdb(kind: str, data, modules: dict[str, Path],
                                             workspace: Path) -> None:
    requests, feedback = data.draw(streams(kind), label="streams")
    batch_size = data.draw(st.sampled_from([1, 3, 1_000]), label="batch size")
    rows, late = run(modules[kind], requests, feedback, workspace, f"gen_{kind}", batch_size,
                     late_events=True)
    assert late == []  # what the streams promise (or DuckDB would not be the expectation)
    assert all("_op" not in row for row in rows)  # AFTER WATERMARK: final rows only
    assert_same(keyed(rows), duck(requests, feedback, kind))


@SETTINGS
@given(data=st.data())
def test_group_by_over_left_join_replays_to_duckdb(data, modules: dict[str, Path],
                                                   workspace: Path) -> None:
    """Non-windowed GROUP BY: an updating result; replayed to its final state it
    is DuckDB's (no lateness here: the streams of the HOP test serve)."""
    requests, feedback = data.draw(streams("hop"), label="streams")
    batch_size = data.draw(st.sampled_from([1, 4, 1_000]), label="batch size")
    rows, _ = run(modules["group"], requests, feedback, workspace, "gen_group", batch_size)
    assert_same(keyed(replay(rows), windowed=False), duck(requests, feedback, None))


def test_hand_made_streams(modules: dict[str, Path], workspace: Path) -> None:
    """Two feedbacks for r1 (one row per match), a NULL rating, a NULL key on
    each side, a request without feedback, a feedback for no request."""
    requests = [
        {"request_id": "r1", "experiment_id": "e1", "variant": "A", "latency_ms": 100.0, "cost": 0.5,
         "ts": BASE + 1_000},
        {"request_id": "r2", "experiment_id": "e1", "variant": "A", "latency_ms": 300.0, "cost": 0.25,
         "ts": BASE + 2_000},
        {"request_id": None, "experiment_id": "e1", "variant": "A", "latency_ms": 50.0, "cost": None,
         "ts": BASE + 3_000},
        {"request_id": "r3", "experiment_id": "e1", "variant": "B", "latency_ms": None, "cost": 1.0,
         "ts": BASE + 4_000},
    ]
    feedback = [
        {"request_id": "r1", "rating": 5, "ts": BASE + 5_000},
        {"request_id": "r1", "rating": 2, "ts": BASE + 5_500},
        {"request_id": "r2", "rating": None, "ts": BASE + 6_000},
        {"request_id": None, "rating": 5, "ts": BASE + 6_500},
        {"request_id": "r9", "rating": 4, "ts": BASE + 7_000},
    ]
    for batch_size in (1, 2, 100):
        rows, _ = run(modules["tumble"], requests, feedback, workspace, "hand", batch_size)
        got = keyed(rows)
        assert_same(got, duck(requests, feedback, "tumble"))
        a = got[("e1", "A", BASE, BASE + 10_000)]
        assert (a["requests"], a["rated"], a["rating_sum"], a["satisfaction_rate"]) == (4, 2, 7, 25.0)


def test_feedback_after_the_window_fired_is_late(modules: dict[str, Path], workspace: Path) -> None:
    """r1's window [0 s, 10 s) fires when both watermarks pass 10 s (r2 at
    30 s and the feedback for r2 at 30 s: 25 s); r1's feedback comes after.
    The window keeps its NULL-rating result; the join's -D (r1 NULL-padded)
    and +I (r1 with its rating) are late: written to --late-events as
    changelog rows."""
    requests = [
        {"request_id": "r1", "experiment_id": "e1", "variant": "A", "latency_ms": 100.0, "cost": 0.5,
         "ts": BASE + 1_000},
        {"request_id": "r2", "experiment_id": "e1", "variant": "A", "latency_ms": 200.0, "cost": 0.5,
         "ts": BASE + 30_000},
    ]
    feedback = [
        {"request_id": "r2", "rating": 3, "ts": BASE + 30_000},
        {"request_id": "r1", "rating": 5, "ts": BASE + 31_000},
    ]
    # batches of one row, round robin: requests [r1], feedback [r2's] (its watermark: 25 s),
    # requests [r2] (25 s: [0 s, 10 s) fires with r1 alone), feedback [r1's]: late
    rows, late = run(modules["tumble"], requests, feedback, workspace, "late", batch_size=1,
                     late_events=True)
    rows = [{k: v for k, v in r.items() if k in ("window_start", "requests", "satisfaction_rate", "rated",
                                                 "rating_sum")} for r in rows]
    assert rows == [
        {"window_start": "2025-11-10 10:00:00.000", "requests": 1, "satisfaction_rate": 0.0, "rated": 0,
         "rating_sum": None},
        {"window_start": "2025-11-10 10:00:30.000", "requests": 1, "satisfaction_rate": 0.0, "rated": 1,
         "rating_sum": 3},
    ]
    assert [(e["operator"], e["reason"]) for e in late] == [("window_aggregate", "its window had already fired")] * 2
    assert [(e["row"]["_op"], e["row"]["request_id"], e["row"]["rating"]) for e in late] == [
        ("-D", "r1", None), ("+I", "r1", 5)]
    # r1's event time, the window's time; the raw ts it is computed from is not carried
    # through the join (nothing reads it)
    assert all(e["row"]["event_time"] == BASE + 1_000 and "ts" not in e["row"] for e in late)


# ---------------------------------------------------------- compile-time refusal


def refusal(workspace: Path, sql: str) -> list[tuple[str, str, str]]:
    """(kind, "line:col", message) of each diagnostic compiling ``sql`` gives."""
    source = Source("q.sql", sql)
    with pytest.raises(SqlcError) as error:
        compile_source(source, [workspace / "catalog.sql"])
    return [(d.kind, "{}:{}".format(*source.line_col(d.span.start)), d.message)
            for d in error.value.diagnostics]


def test_first_value_and_count_distinct_over_the_left_join_are_refused(workspace: Path) -> None:
    found = refusal(workspace, (
        "SELECT experiment_id, window_start, COUNT(*) AS n,\n"
        "       FIRST_VALUE(latency_ms) AS one, COUNT(DISTINCT user_id) AS users\n"
        f"{JOIN}\n"
        "GROUP BY experiment_id, TUMBLE(r.event_time, INTERVAL '10' SECOND);"))
    assert [(kind, pos) for kind, pos, _ in found] == [("UnsupportedError", "2:8"), ("UnsupportedError", "2:40")]
    assert found[0][2].startswith("FIRST_VALUE over an updating input")
    assert found[1][2].startswith("COUNT(DISTINCT ...) over an updating input")
    for _, _, message in found:
        assert "COUNT, SUM, AVG, MIN, MAX, STDDEV/VARIANCE and LISTAGG do" in message


def test_corr_over_the_left_join_is_refused(workspace: Path) -> None:
    """CORR cannot take rows back exactly: a side left constant must give NULL."""
    found = refusal(workspace, f"SELECT variant, COUNT(*) AS n, CORR(latency_ms, rating) AS c\n{JOIN}\n"
                    "GROUP BY variant, TUMBLE(r.event_time, INTERVAL '10' SECOND);")
    assert [(kind, pos) for kind, pos, _ in found] == [("UnsupportedError", "1:32")]
    assert found[0][2].startswith("CORR over an updating input")


def test_last_value_in_a_group_by_over_the_left_join_is_refused(workspace: Path) -> None:
    found = refusal(workspace, f"SELECT variant, LAST_VALUE(latency_ms) AS latest\n{JOIN}\nGROUP BY variant;")
    assert [(kind, pos) for kind, pos, _ in found] == [("UnsupportedError", "1:17")]
    assert found[0][2].startswith("LAST_VALUE over an updating input")


def test_session_over_the_left_join_is_refused_at_the_window(workspace: Path) -> None:
    """The caret goes under the SESSION window, the part of the query to change."""
    found = refusal(workspace, (
        "SELECT experiment_id, window_start, COUNT(*) AS n\n"
        f"{JOIN}\n"
        "GROUP BY experiment_id, SESSION(r.event_time, INTERVAL '10' SECOND);"))
    assert len(found) == 1 and found[0][0] == "UnsupportedError"
    assert "a SESSION window over an updating input" in found[0][2]
    assert found[0][1] == "3:25", found  # SESSION(r.event_time, ...)

"""Compiled interval joins on the bundled sample data against DuckDB: the same
join as a batch query gives the same rows (for the single joins no request of
the sample is late enough to lose a partner, so no lateness adjustment is
needed; Query 20's two chained joins drop rows, which the tests below account
for one by one; the join operator's lateness rules are tested in
tests/runtime_joins)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from compiler.cli import run_module
from compiler.demo import SAMPLE_NOW

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"


def run_generated(name: str, sources: list[str], tmp_path: Path, *flags: str) -> list[dict]:
    """The rows of generated/<name>.py run on the bundled sample of each source."""
    argv = ["--output", str(tmp_path / "out.jsonl"), "--quiet", *flags]
    for source in sources:
        argv += ["--input", f"{source}={DATA / (source + '.jsonl')}"]
    assert run_module(ROOT / "generated" / f"{name}.py", argv) == 0
    return [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]

CASES = {
    "fr_join_001_stream_table": (
        ["llm_requests", "model_configs"],
        """SELECT r.request_id, r.model_id, r.latency_ms, c.max_tokens, c.cost_per_token,
                  r.tokens_used * c.cost_per_token
           FROM read_json('{llm_requests}') r
           LEFT JOIN read_json('{model_configs}') c ON r.model_id = c.model_id""",
    ),
    "fr_join_002_stream_stream": (
        ["llm_requests", "user_feedback"],
        """SELECT req.request_id, req.model_id, req.latency_ms, fb.rating, fb.feedback_text
           FROM read_json('{llm_requests}') req JOIN read_json('{user_feedback}') fb
           ON req.request_id = fb.request_id
           WHERE fb.timestamp_ms BETWEEN req.timestamp_ms AND req.timestamp_ms + 300000""",
    ),
    "fr_join_003_interval": (
        ["llm_requests", "error_events"],
        """SELECT l.request_id, l.latency_ms, r.error_count
           FROM read_json('{llm_requests}') l JOIN read_json('{error_events}') r
           ON l.request_id = r.request_id
           AND r.timestamp_ms BETWEEN l.timestamp_ms - 10000 AND l.timestamp_ms + 10000""",
    ),
}


def test_q07_rows_leave_in_event_time_order(tmp_path: Path) -> None:
    """Spec Query 7: the interval join's rows, ORDER BY req.event_time."""
    argv = ["--output", str(tmp_path / "out.jsonl"), "--quiet",
            "--input", f"llm_requests={DATA / 'llm_requests.jsonl'}",
            "--input", f"user_feedback={DATA / 'user_feedback.jsonl'}"]
    assert run_module(ROOT / "generated" / "q07_user_journey_feedback.py", argv) == 0
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    expected = duckdb.connect().execute(f"""
        SELECT req.request_id, req.timestamp_ms FROM read_json('{DATA / "llm_requests.jsonl"}') req
        JOIN read_json('{DATA / "user_feedback.jsonl"}') fb ON req.request_id = fb.request_id
        WHERE fb.timestamp_ms BETWEEN req.timestamp_ms AND req.timestamp_ms + 600000""").fetchall()
    times = dict(expected)
    assert sorted(g["request_id"] for g in got) == sorted(r[0] for r in expected)
    order = [times[g["request_id"]] for g in got]
    assert order == sorted(order)


@pytest.mark.parametrize("name", list(CASES))
def test_interval_join_equals_duckdb(name: str, tmp_path: Path) -> None:
    sources, sql = CASES[name]
    actual = sorted(tuple(row.values()) for row in run_generated(name, sources, tmp_path))
    query = sql.format(**{s: DATA / f"{s}.jsonl" for s in sources})
    expected = sorted(tuple(row) for row in duckdb.connect().execute(query).fetchall())
    assert len(actual) > 50
    assert actual == expected


# Spec Query 20 as a batch query at the pinned now; `dropped`: request ids to leave out
Q20_SOURCES = ["llm_requests", "error_events", "user_feedback"]
Q20 = """
    SELECT req.request_id, req.model_id, req.latency_ms, err.error_code, err.error_message,
           fb.rating
    FROM read_json('{llm_requests}') req
    LEFT JOIN read_json('{error_events}') err ON req.request_id = err.request_id
        AND err.timestamp_ms BETWEEN req.timestamp_ms AND req.timestamp_ms + 5000
    LEFT JOIN read_json('{user_feedback}') fb ON req.request_id = fb.request_id
        AND fb.timestamp_ms BETWEEN req.timestamp_ms AND req.timestamp_ms + 600000
    WHERE epoch_ms(req.timestamp_ms) > TIMESTAMP '{now}' - INTERVAL 1 HOUR
      AND NOT list_contains($dropped::VARCHAR[], req.request_id)"""


def q20_in_duckdb(dropped: list[str]) -> Counter:
    now = dt.datetime.fromisoformat(SAMPLE_NOW).strftime("%Y-%m-%d %H:%M:%S")
    query = Q20.format(now=now, **{s: DATA / f"{s}.jsonl" for s in Q20_SOURCES})
    return Counter(duckdb.connect().execute(query, {"dropped": dropped}).fetchall())


def run_q20(tmp_path: Path, *flags: str) -> tuple[Counter, list[dict]]:
    """Query 20's rows at the pinned now, and the rows its joins dropped as late."""
    late = tmp_path / "late.jsonl"
    rows = run_generated("q20_multi_stream_join", Q20_SOURCES, tmp_path, "--now", SAMPLE_NOW,
                         "--late-events", str(late), *flags)
    return (Counter(tuple(row.values()) for row in rows),
            [json.loads(line) for line in late.read_text().splitlines()])


def test_q20_equals_duckdb(tmp_path: Path) -> None:
    """Spec Query 20 at SAMPLE_NOW (13:00; the filter keeps the 1,199 requests
    after 12:00) gives exactly DuckDB's rows, and no row comes behind a join's
    watermark. (req-04965, 12:56:13.972, used to be dropped: the second join
    took min(requests, errors) as its left input's watermark, without the first
    join's 5 s hold-back; the generated code now uses the first join's
    ``output_watermark`` there, as ``advance`` does and as Flink does.)"""
    rows, late = run_q20(tmp_path)
    assert late == []
    assert rows == q20_in_duckdb(dropped=[])
    assert rows.total() == 1199


@pytest.mark.parametrize("batch_size", [100, 10])
def test_q20_differs_only_for_requests_behind_the_watermark(batch_size: int,
                                                            tmp_path: Path) -> None:
    """Smaller micro-batches interleave the three streams, and the sample's
    deliberately late requests arrive behind the joins' watermarks. As in
    Flink they are not dropped: joined with the rows still buffered (so a
    partner may be missing and the row NULL-padded). Every such request is in
    the late-events output, and every other request's rows are DuckDB's."""
    rows, late = run_q20(tmp_path, "--batch-size", str(batch_size))
    behind = sorted({e["row"]["request_id"] for e in late if "latency_ms" in e["row"]})
    assert all("behind the join's watermark" in e["reason"] for e in late)
    others = Counter({r: c for r, c in rows.items() if r[0] not in behind})
    assert others == q20_in_duckdb(behind)
    # each request still gives at least one row (LEFT joins): nothing vanished
    assert {r[0] for r in rows} >= set(behind) & {r[0] for r in q20_in_duckdb([])}


def test_lookup_join_against_the_real_postgres(postgres, tmp_path: Path, monkeypatch) -> None:
    """FR-JOIN-001 as generated, its table served by PostgreSQL (the DDL's
    connector, credentials from ${POSTGRES_*} at start), equals the file run."""
    import psycopg

    rows = [json.loads(line) for line in (DATA / "model_configs.jsonl").read_text().splitlines()]
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS model_configs")
        conn.execute("CREATE TABLE model_configs (model_id text PRIMARY KEY, max_tokens int, "
                     "temperature double precision, cost_per_token double precision, "
                     "max_qps double precision, updated_at timestamp)")
        for r in rows:
            conn.execute("INSERT INTO model_configs VALUES (%s, %s, %s, %s, %s, %s)",
                         (r["model_id"], r["max_tokens"], r["temperature"], r["cost_per_token"],
                          r["max_qps"], r["updated_at"]))
    monkeypatch.setenv("POSTGRES_URL", f"postgresql://{postgres.host}:{postgres.port}/"
                       f"{postgres.dbname}")
    monkeypatch.setenv("POSTGRES_USER", postgres.user)
    monkeypatch.setenv("POSTGRES_PASSWORD", postgres.password)
    module = ROOT / "generated" / "fr_join_001_stream_table.py"
    events = ["--input", f"llm_requests={DATA / 'llm_requests.jsonl'}", "--quiet"]
    assert run_module(module, events + ["--output", str(tmp_path / "pg.jsonl")]) == 0
    assert run_module(module, events + ["--output", str(tmp_path / "file.jsonl"), "--input",
                                        f"model_configs={DATA / 'model_configs.jsonl'}"]) == 0
    from_pg = (tmp_path / "pg.jsonl").read_text().splitlines()
    assert len(from_pg) == 4998
    assert from_pg == (tmp_path / "file.jsonl").read_text().splitlines()


def test_q15_regular_join_then_tumble_equals_duckdb(tmp_path: Path) -> None:
    """Spec Query 15: a regular INNER join (append-only) feeding a 1-hour group
    window; CORR over one pair is NULL in sqlc (DuckDB: NaN)."""
    import datetime as dt
    import math

    argv = ["--output", str(tmp_path / "out.jsonl"), "--quiet",
            "--input", f"llm_requests={DATA / 'llm_requests.jsonl'}",
            "--input", f"user_feedback={DATA / 'user_feedback.jsonl'}"]
    assert run_module(ROOT / "generated" / "q15_quality_correlation.py", argv) == 0

    def ms(text: str) -> int:
        moment = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")
        return int(moment.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)

    got = sorted((g["model_id"], ms(g["window_start"]), g["avg_latency"], g["avg_rating"],
                  g["latency_rating_correlation"])
                 for g in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines()))
    expected = duckdb.connect().execute(f"""
        SELECT model_id, (r.timestamp_ms // 3600000) * 3600000, AVG(latency_ms),
               AVG(CAST(rating AS DOUBLE)), CORR(latency_ms, CAST(rating AS DOUBLE))
        FROM read_json('{DATA / "llm_requests.jsonl"}') r
        JOIN read_json('{DATA / "user_feedback.jsonl"}') f ON r.request_id = f.request_id
        GROUP BY ALL ORDER BY 1, 2""").fetchall()
    assert len(got) == len(expected) > 10
    for a, e in zip(got, expected):
        assert a[:2] == e[:2]
        for x, y in zip(a[2:], e[2:]):
            if y is not None and math.isnan(y):
                assert x is None
            else:
                assert x is not None and math.isclose(x, y, rel_tol=1e-9)

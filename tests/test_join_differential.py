"""Compiled interval joins on the bundled sample data against DuckDB: the same
join as a batch query gives the same rows (no request of the sample is late
enough to lose a partner, so no lateness adjustment is needed here; the join
operator's lateness rules are tested in tests/runtime_joins)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from compiler.cli import run_module

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"

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
    argv = ["--output", str(tmp_path / "out.jsonl"), "--quiet"]
    for source in sources:
        argv += ["--input", f"{source}={DATA / (source + '.jsonl')}"]
    assert run_module(ROOT / "generated" / f"{name}.py", argv) == 0
    actual = sorted(tuple(json.loads(line).values())
                    for line in (tmp_path / "out.jsonl").read_text().splitlines())
    query = sql.format(**{s: DATA / f"{s}.jsonl" for s in sources})
    expected = sorted(tuple(row) for row in duckdb.connect().execute(query).fetchall())
    assert len(actual) > 50
    assert actual == expected


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

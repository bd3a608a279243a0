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

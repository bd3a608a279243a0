"""'state.ttl' on the streams of a regular join (Flink's per-table STATE_TTL
hint): the compiler reads it per side, warns only about the sides kept for ever,
shows it in EXPLAIN, and the generated Join expires rows after it (the expiry
itself is tested in tests/runtime_joins/test_regular_join_duckdb.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.driver import analyze, compile_source, plan
from compiler.errors import Source
from compiler.physical import explain_physical

QUERY = ("SELECT r.request_id, f.rating FROM requests r LEFT JOIN feedback f "
         "ON r.request_id = f.request_id;")


def catalog(tmp_path: Path, requests_ttl: str | None, feedback_ttl: str | None) -> list[str]:
    def ttl(value: str | None) -> str:
        return "" if value is None else f", 'state.ttl' = '{value}'"

    path = tmp_path / "catalog.sql"
    path.write_text(
        "CREATE STREAM requests (request_id VARCHAR, ts TIMESTAMP(3))\n"
        f"WITH ('connector' = 'file', 'path' = 'r.jsonl'{ttl(requests_ttl)});\n"
        "CREATE STREAM feedback (request_id VARCHAR, rating INT)\n"
        f"WITH ('connector' = 'file', 'path' = 'f.jsonl'{ttl(feedback_ttl)});\n",
        encoding="utf-8",
    )
    return [str(path)]


@pytest.mark.parametrize(("left", "right", "warning", "ttl", "state"), [
    (None, None, "every row of both inputs", None, "all rows of both sides (no TTL)"),
    ("1 h", None, "every row of its right input", "(3600000, None)",
     "left kept 1 h after its last write, right for ever"),
    (None, "10 min", "every row of its left input", "(None, 600000)",
     "left kept for ever, right 10 min after its last write"),
    ("1 h", "10 min", None, "(3600000, 600000)",
     "left kept 1 h after its last write, right 10 min after its last write"),
])
def test_state_ttl_per_side(tmp_path: Path, left, right, warning, ttl, state) -> None:
    paths = catalog(tmp_path, left, right)
    analysis = analyze(Source("q.sql", QUERY), paths)
    messages = [w.message for w in analysis.warnings]
    if warning is None:
        assert not any("no time bound" in m for m in messages), messages
    else:
        assert any(warning in m for m in messages), messages
        assert any("'state.ttl'" in (w.hint or "") for w in analysis.warnings)
    assert state in explain_physical(plan(analysis).physical[0])
    module = compile_source(Source("q.sql", QUERY), paths).module or ""
    if ttl is None:
        assert "state_ttl_ms" not in module
    else:
        assert f"state_ttl_ms={ttl}," in module

"""A file with several queries over the same source: each query gets the rows
it reads (one query's projection must not leak into the next), and all of them
write into the one --output file."""

from __future__ import annotations

import json
from pathlib import Path

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"

SQL = """
SELECT model_id, latency_ms FROM llm_requests WHERE latency_ms > 5000;
SELECT model_id, window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE llm_requests,
    DESCRIPTOR(event_time), INTERVAL '1' HOUR)) GROUP BY model_id, window_start, window_end;
"""


def test_two_queries_one_source_one_output(tmp_path: Path) -> None:
    compiled = compile_source(Source("two.sql", SQL), [str(ROOT / "examples" / "catalog.sql")])
    module = tmp_path / "two.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--input", f"llm_requests={DATA / 'llm_requests.jsonl'}",
                               "--output", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    slow = [r for r in rows if "latency_ms" in r]
    windows = [r for r in rows if "n" in r]
    events = [json.loads(line) for line in (DATA / "llm_requests.jsonl").read_text().splitlines()]
    assert len(slow) == sum(1 for e in events if (e["latency_ms"] or 0) > 5000)
    assert sum(r["n"] for r in windows) == len(events) - 1  # one request is late for its hour
    assert len(slow) + len(windows) == len(rows)

"""INSERT INTO a 'blackhole' table (Flink's connector that discards rows, the
sink of every Nexmark query) runs: the rows are counted, not written; with
--output they go to that file instead, so a benchmark query can be checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.driver import compile_source
from compiler.errors import Source
from compiler.project import run_module

SQL = """
CREATE TABLE ev (k VARCHAR, v INT) WITH ('connector' = 'filesystem', 'path' = 'ev.jsonl',
    'format' = 'json');
CREATE TABLE sunk (k VARCHAR, v INT) WITH ('connector' = 'blackhole');
INSERT INTO sunk SELECT k, v * 2 FROM ev WHERE v > 1;
"""


@pytest.fixture
def module(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "q.py"
    path.write_text(compile_source(Source("q.sql", SQL)).module or "", encoding="utf-8")
    events = tmp_path / "ev.jsonl"
    events.write_text("".join(json.dumps({"k": k, "v": v}) + "\n"
                              for k, v in (("a", 1), ("b", 2), ("c", 3))), encoding="utf-8")
    return path, events


def test_a_blackhole_sink_discards_and_counts_its_rows(module, capsys) -> None:
    path, events = module
    assert run_module(path, ["--input", f"ev={events}"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2 rows out" in captured.err.replace(",", "")


def test_output_keeps_the_rows_a_blackhole_would_discard(module, tmp_path: Path) -> None:
    path, events = module
    out = tmp_path / "out.jsonl"
    assert run_module(path, ["--input", f"ev={events}", "--output", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"k": "b", "v": 4}, {"k": "c", "v": 6}]

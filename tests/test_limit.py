"""LIMIT n [OFFSET m] on an append-only stream without ORDER BY (Flink's
Limit): the first n rows that arrive (after m) go on, then nothing, whatever
the batch size. For a bounded file the rows are DuckDB's for the same SQL on
the same rows read in file order (its LIMIT without ORDER BY keeps insertion
order), and a plain slice of the filtered rows. A pipeline restarted from its
checkpoint goes on counting (no row twice, none past the limit). The state
protocol case is in tests/runtime/test_state_protocol.py."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, UnsupportedError

CATALOG = """
CREATE TABLE t (
    i BIGINT NOT NULL,
    k VARCHAR,
    v INT,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json');
"""

# (sqlc query, the same for DuckDB, the reference: rows (dicts) -> result rows)
QUERIES = {
    "limit": ("SELECT i, k FROM t LIMIT 3", "SELECT i, k FROM t LIMIT 3",
              lambda rows: [(r["i"], r["k"]) for r in rows][:3]),
    "where-limit": ("SELECT i, v * 2 AS w FROM t WHERE v > 10 LIMIT 4",
                    "SELECT i, v * 2 AS w FROM t WHERE v > 10 LIMIT 4",
                    lambda rows: [(r["i"], r["v"] * 2) for r in rows
                                  if r["v"] is not None and r["v"] > 10][:4]),
    "offset": ("SELECT i FROM t LIMIT 2 OFFSET 3", "SELECT i FROM t LIMIT 2 OFFSET 3",
               lambda rows: [(r["i"],) for r in rows][3:5]),
    # OFFSET alone (Flink's Limit without a fetch): every row after the first m
    "offset-only": ("SELECT i FROM t OFFSET 3 ROWS", "SELECT i FROM t OFFSET 3",
                    lambda rows: [(r["i"],) for r in rows][3:]),
    "where-offset": ("SELECT i, k FROM t WHERE k = 'a' OFFSET 1",
                     "SELECT i, k FROM t WHERE k = 'a' OFFSET 1",
                     lambda rows: [(r["i"], r["k"]) for r in rows if r["k"] == "a"][1:]),
    "zero": ("SELECT i FROM t LIMIT 0", "SELECT i FROM t LIMIT 0", lambda rows: []),
}

ROWS = st.lists(st.fixed_dictionaries({
    "k": st.one_of(st.none(), st.sampled_from(["a", "b"])),
    "v": st.one_of(st.none(), st.integers(0, 30)),
    "dt": st.integers(0, 4_000),  # within the watermark bound: nothing is late
}), max_size=20)


def _events(drawn: list[dict]) -> list[dict]:
    return [{"i": n, "k": r["k"], "v": r["v"], "ts": 1_762_768_800_000 + r["dt"]}
            for n, r in enumerate(drawn)]


def _compile(tmp_path: Path, sql: str) -> Path:
    catalog = tmp_path / "catalog.sql"
    catalog.write_text(CATALOG, encoding="utf-8")
    compiled = compile_source(Source("q.sql", sql + ";"), [catalog], "q.sql")
    assert compiled.module is not None, compiled
    module = tmp_path / "q.py"
    module.write_text(compiled.module, encoding="utf-8")
    return module


def _run(module: Path, events: Path, out: Path, *flags: str) -> list[tuple]:
    assert run_module(module, ["--input", f"t={events}", "--output", str(out), "--quiet",
                               *flags]) == 0
    return [tuple(json.loads(line).values()) for line in out.read_text().splitlines()]


@pytest.mark.parametrize("name", list(QUERIES))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=ROWS, batch=st.sampled_from([1, 2, 7, 1000]))
def test_limit_against_duckdb(tmp_path: Path, name: str, drawn: list[dict], batch: int) -> None:
    ours_sql, duck_sql, reference = QUERIES[name]
    rows = _events(drawn)
    events = tmp_path / "t.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    module = _compile(tmp_path, ours_sql)
    got = _run(module, events, tmp_path / "out.jsonl", "--batch-size", str(batch))
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i BIGINT, k VARCHAR, v INTEGER, ts BIGINT)")
    if rows:
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)",
                        [(r["i"], r["k"], r["v"], r["ts"]) for r in rows])
    assert got == [tuple(r) for r in con.execute(duck_sql).fetchall()] == reference(rows)


def test_a_restarted_pipeline_goes_on_counting(tmp_path: Path) -> None:
    """Ten rows, LIMIT 6 OFFSET 2; the first run reads four of them and checkpoints,
    the second run (the same checkpoint directory) reads all ten: the output
    holds rows 2..7 once each."""
    module = _compile(tmp_path, "SELECT i FROM t LIMIT 6 OFFSET 2")
    rows = _events([{"k": "a", "v": 1, "dt": n} for n in range(10)])
    first, whole = tmp_path / "first.jsonl", tmp_path / "whole.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in rows[:4]), encoding="utf-8")
    whole.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    checkpoints = tmp_path / "checkpoints"
    out = tmp_path / "out.jsonl"  # the sink is committed with the checkpoint: the same file
    assert _run(module, first, out, "--checkpoint-dir", str(checkpoints)) == [(2,), (3,)]
    # the file grew: the restarted run resumes at its offset with the count restored
    first.write_text(whole.read_text(encoding="utf-8"), encoding="utf-8")
    assert _run(module, first, out, "--checkpoint-dir", str(checkpoints)) == [
        (i,) for i in range(2, 8)]


def test_limit_over_an_updating_result_is_refused(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.sql"
    catalog.write_text(CATALOG, encoding="utf-8")
    with pytest.raises(UnsupportedError) as refused:
        compile_source(Source("q.sql", "SELECT k, COUNT(*) AS n FROM t GROUP BY k LIMIT 3;"),
                       [catalog], "q.sql")
    assert "LIMIT over an updating result" in str(refused.value)
    assert "q.sql:1:1: error: UnsupportedError" in refused.value.render()

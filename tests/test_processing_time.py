"""Processing-time windows (FR-TIME-002, spec Query 11): PROCTIME() as the time
attribute of TUMBLE/HOP/CUMULATE/SESSION and of ``GROUP BY TUMBLE(PROCTIME(), ...)``.

A row's time is the instant it is processed; windows fire when the clock
passes them, and the end of a bounded input fires every window. With
``--now`` the clock is pinned: every row is processed "at" that instant, so
the result is reproducible, the rows' windows are those holding it, and
DuckDB's GROUP BY over all the rows (none can be late) is the reference.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source
from runtime_lib.columns import Batch, column_from_pylist
from runtime_lib.functions import pin_now
from runtime_lib.pipeline import Context, Counters
from runtime_lib.watermarks import WM_MAX, WM_MIN
from tests.test_over_differential import CATALOG
from tests.test_window_differential import to_ms

CLOCK_CATALOG = CATALOG.replace("    WATERMARK FOR", "    proc_time AS PROCTIME(),\n    WATERMARK FOR")
NOW = "2025-11-10T13:00:30Z"
NOW_MS = to_ms("2025-11-10 13:00:30.000")
AGGS = "COUNT(*) AS c, SUM(v) AS s, MAX(n) AS mx"
# name -> (sqlc query, the windows (start, end) holding NOW)
QUERIES = {
    "tumble": (f"SELECT k, window_start, window_end, {AGGS} FROM TABLE(TUMBLE(TABLE ev, "
               "DESCRIPTOR(proc_time), INTERVAL '1' MINUTE)) GROUP BY k, window_start, window_end;",
               [(NOW_MS - 30_000, NOW_MS + 30_000)]),
    "hop": (f"SELECT k, window_start, window_end, {AGGS} FROM TABLE(HOP(TABLE ev, "
            "DESCRIPTOR(proc_time), INTERVAL '1' MINUTE, INTERVAL '2' MINUTE)) "
            "GROUP BY k, window_start, window_end;",
            [(NOW_MS - 90_000, NOW_MS + 30_000), (NOW_MS - 30_000, NOW_MS + 90_000)]),
    "cumulate": (f"SELECT k, window_start, window_end, {AGGS} FROM TABLE(CUMULATE(TABLE ev, "
                 "DESCRIPTOR(proc_time), INTERVAL '1' MINUTE, INTERVAL '3' MINUTE)) "
                 "GROUP BY k, window_start, window_end;",
                 [(NOW_MS - 30_000, NOW_MS + d) for d in (30_000, 90_000, 150_000)]),
    "session": (f"SELECT k, window_start, window_end, {AGGS} FROM TABLE(SESSION(TABLE ev "
                "PARTITION BY k, DESCRIPTOR(proc_time), INTERVAL '10' SECOND)) "
                "GROUP BY k, window_start, window_end;", [(NOW_MS, NOW_MS + 10_000)]),
    "legacy": (f"SELECT k, TUMBLE_START(PROCTIME(), INTERVAL '1' MINUTE) AS window_start, "
               f"TUMBLE_END(PROCTIME(), INTERVAL '1' MINUTE) AS window_end, {AGGS} FROM ev "
               "GROUP BY k, TUMBLE(PROCTIME(), INTERVAL '1' MINUTE);",
               [(NOW_MS - 30_000, NOW_MS + 30_000)]),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("proctime")
    (path / "catalog.sql").write_text(CLOCK_CATALOG, encoding="utf-8")
    return path


def compile_to(workspace: Path, name: str, sql: str) -> Path:
    compiled = compile_source(Source(f"{name}.sql", sql), [str(workspace / "catalog.sql")])
    module = workspace / f"{name}.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    return module


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return {name: compile_to(workspace, name, sql) for name, (sql, _) in QUERIES.items()}


def events() -> list[dict]:
    """Event times far apart and out of order, some far behind the watermark:
    none of that matters to processing time."""
    base = 1_762_768_800_000
    out = []
    for i in range(300):
        ts = base + (i * 7_919 % 300) * 60_000  # spread over 5 hours, shuffled
        out.append({"i": i, "k": "abc"[i % 3] if i % 10 else None,
                    "v": None if i % 7 == 0 else float(i % 13), "n": i % 5, "ts": ts})
    return out


def expected(windows: list[tuple[int, int]]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT)")
    con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?)",
                    [(e["i"], e["k"], e["v"], e["n"], e["ts"]) for e in events()])
    rows = con.execute("SELECT k, COUNT(*), SUM(v), MAX(n) FROM ev GROUP BY k").fetchall()
    return sorted(((k, ws, we, c, s, mx) for ws, we in windows for k, c, s, mx in rows),
                  key=repr)


@pytest.mark.parametrize("batch", [1, 7, 10_000])
@pytest.mark.parametrize("name", list(QUERIES))
def test_pinned_clock_puts_every_row_in_the_windows_of_that_instant(
        name: str, batch: int, modules: dict[str, Path], workspace: Path) -> None:
    data, out, late = (workspace / f"{name}.{x}" for x in ("jsonl", "out.jsonl", "late.jsonl"))
    data.write_text("".join(json.dumps(e) + "\n" for e in events()), encoding="utf-8")
    assert run_module(modules[name], ["--input", f"ev={data}", "--output", str(out), "--quiet",
                                      "--now", NOW, "--batch-size", str(batch),
                                      "--late-events", str(late)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    actual = sorted(((r["k"], to_ms(r["window_start"]), to_ms(r["window_end"]), r["c"], r["s"],
                      r["mx"]) for r in rows), key=repr)
    assert actual == expected(QUERIES[name][1])
    assert late.read_text(encoding="utf-8") == ""  # processing time is never late


class Collect:
    """An output that keeps the batches written to it."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def write(self, batch: Batch, ops) -> None:
        names = ("k", "window_start", "c")
        self.rows += [tuple(row[n] for n in names)
                      for row in (dict(zip(batch.columns, r)) for r in batch.to_rows())]


def test_windows_fire_when_the_clock_passes_them(modules: dict[str, Path]) -> None:
    """The driver advances a processing-time pipeline on every micro-batch:
    a window fires once the clock has passed its end, with the rows processed
    while it was open, before the input ends (here the clock is stepped)."""
    spec = importlib.util.spec_from_file_location("legacy_proctime", modules["legacy"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sink = Collect()
    pipeline = module.Query(Context([sink], None, None, Counters()))
    assert pipeline.processing_time

    def rows(n: int, key: str) -> Batch:
        cols = {"i": column_from_pylist(list(range(n)), "i"),
                "k": column_from_pylist([key] * n, "O"),
                "v": column_from_pylist([1.0] * n, "f"), "n": column_from_pylist([n] * n, "i"),
                "ts": column_from_pylist([0] * n, "i")}
        cols["event_time"] = cols["ts"]
        return Batch(cols, n, np.full(n, WM_MIN, np.int64))

    minute = 60_000
    start = NOW_MS - NOW_MS % minute
    previous = pin_now(start + 10)
    try:
        pipeline.entries["ev"](rows(3, "a"))
        pipeline.advance({"ev": WM_MIN})
        assert sink.rows == []  # the window holding the clock stays open
        pin_now(start + minute + 5)
        pipeline.entries["ev"](rows(2, "a"))
        pipeline.advance({"ev": WM_MIN})
        assert sink.rows == [("a", start, 3)]
        pipeline.advance({"ev": WM_MAX})  # the end of input fires the rest
        assert sink.rows == [("a", start, 3),
                                                          ("a", start + minute, 2)]
    finally:
        pin_now(previous)

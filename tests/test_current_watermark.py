"""CURRENT_WATERMARK(rowtime): per row, the watermark the rows before it
established (``max(event time before) - bound``, NULL before the first), so the
result does not depend on micro-batch cuts; with it Flink's documented filter
of late rows (``WHERE CURRENT_WATERMARK(ts) IS NULL OR ts > CURRENT_WATERMARK(ts)``)
keeps exactly the rows above the watermark. A reference written here."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

BASE = 1_762_768_800_000
CATALOG = """
CREATE TABLE ev (
    i BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
"""
SQL = ("SELECT i, CURRENT_WATERMARK(event_time) AS wm FROM ev "
       "WHERE CURRENT_WATERMARK(event_time) IS NULL OR event_time > CURRENT_WATERMARK(event_time)")


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("current_watermark")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    compiled = compile_source(Source("q.sql", SQL + ";"), [str(path / "catalog.sql")])
    (path / "q.py").write_text(compiled.module or "", encoding="utf-8")
    return path / "q.py"


def text(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def expected(times: list[int]) -> list[dict]:
    rows, high = [], None
    for i, ts in enumerate(times):
        wm = None if high is None else high - 5_000
        if wm is None or ts > wm:
            rows.append({"i": i, "wm": None if wm is None else text(wm)})
        high = ts if high is None else max(high, ts)
    return rows


def check(module: Path, times: list[int], batch: int) -> None:
    data, out = module.parent / "ev.jsonl", module.parent / "out.jsonl"
    data.write_text("".join(json.dumps({"i": i, "ts": ts}) + "\n" for i, ts in enumerate(times)),
                    encoding="utf-8")
    assert run_module(module, ["--input", f"ev={data}", "--output", str(out), "--quiet",
                               "--batch-size", str(batch)]) == 0
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert got == expected(times)


def test_sample(module: Path) -> None:
    times = [BASE, BASE + 3_000, BASE - 10_000, BASE + 12_000, BASE + 7_000, BASE + 6_999]
    for batch in (1, 7, 500):
        check(module, times, batch)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(times=st.lists(st.integers(BASE, BASE + 30_000), max_size=40),
       batch=st.sampled_from([1, 7, 500]))
def test_generated(times: list[int], batch: int, module: Path) -> None:
    check(module, times, batch)


def test_it_needs_an_event_time_attribute(module: Path) -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", "SELECT CURRENT_WATERMARK(ts) AS w FROM ev;"),
                       [str(module.parent / "catalog.sql")])
    assert "CURRENT_WATERMARK takes an event-time attribute" in info.value.render()
    assert "q.sql:1:8:" in info.value.render()

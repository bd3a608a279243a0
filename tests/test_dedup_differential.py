"""Compiled deduplication (DeduplicateExec) and SELECT DISTINCT on a stream
against DuckDB.

Keep first (``ROW_NUMBER() OVER (PARTITION BY k ORDER BY event_time) = 1``)
is insert-only and waits for the watermark, so its rows equal DuckDB's over
the rows that were not late (``ts <= max(ts before) - bound``), ties on the
time broken by arrival. Keep last (``ORDER BY event_time DESC``) and SELECT
DISTINCT are updating: the final state of their changelog equals DuckDB's
over every row (Flink keeps late rows there). Window deduplication is a
window Top-1 (test_topn_differential.py's ``first_cumulate``).
"""

from __future__ import annotations

import collections
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_over_differential import on_time, run
from test_rank_differential import final_state
from test_topn_differential import BASE, CATALOG, compile_all

from compiler.driver import compile_source
from compiler.errors import Source

DEDUP = ("SELECT i, k, ts{rn} FROM (SELECT i, k, ts, ROW_NUMBER() OVER (PARTITION BY k "
         "ORDER BY event_time{desc}) AS rn FROM ev) WHERE rn {cond}")
# case -> (sqlc query, DuckDB query over table ev, over the on-time rows only)
CASES = {
    "first": (DEDUP.format(rn="", desc="", cond="= 1"),
              "SELECT i, k, ts FROM ev QUALIFY ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts, i) = 1",
              True),
    "first_with_rn": (DEDUP.format(rn=", rn", desc=" ASC", cond="<= 1"),
                      "SELECT i, k, ts, 1 AS rn FROM ev QUALIFY ROW_NUMBER() OVER "
                      "(PARTITION BY k ORDER BY ts, i) = 1", True),
    "last": (DEDUP.format(rn="", desc=" DESC", cond="= 1"),
             "SELECT i, k, ts FROM ev QUALIFY ROW_NUMBER() OVER (PARTITION BY k "
             "ORDER BY ts DESC, i DESC) = 1", False),
    "distinct": ("SELECT DISTINCT k, n FROM ev", "SELECT DISTINCT k, n FROM ev", False),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dedup")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    return compile_all(workspace, {case: sql for case, (sql, _, _) in CASES.items()})


def duck_expected(case: str, events: list[dict]) -> collections.Counter:
    _, query, on_time_only = CASES[case]
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, k VARCHAR, v DOUBLE, n BIGINT, ts BIGINT)")
    rows = [(e["i"], e["k"], e["v"], e["n"], e["ts"])
            for e in (on_time(events) if on_time_only else events)]
    if rows:
        con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?)", rows)
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    return collections.Counter(tuple(sorted((k, repr(v)) for k, v in zip(names, row)))
                               for row in cursor.fetchall())


def check(case: str, module: Path, events: list[dict], workspace: Path, batch: int) -> None:
    records = run(module, events, workspace, f"{case}_{batch}", batch)
    if CASES[case][2]:  # keep first: insert-only
        assert all("_op" not in r or r["_op"] == "+I" for r in records)
        for r in records:
            r["_op"] = "+I"
    assert final_state(records) == duck_expected(case, events)


def event_streams():
    key = st.sampled_from(["a", "b", "c", None])

    @st.composite
    def stream(draw):
        n = draw(st.integers(0, 40))
        events, clock = [], BASE
        for _ in range(n):
            clock += draw(st.one_of(st.integers(0, 3_000), st.just(0)))
            ts = clock + draw(st.one_of(st.integers(-4_999, 0), st.integers(-30_000, -5_000)))
            events.append({"k": draw(key), "v": None, "n": draw(st.integers(0, 2)), "ts": ts})
        return [dict(e, i=i) for i, e in enumerate(events)]

    return stream()


def sample_events() -> list[dict]:
    return [{"i": i, "k": "abcd"[i * 7 % 4] if i % 9 else None, "v": None, "n": i % 3,
             "ts": BASE + i * 500 - (i % 5) * 1_200 - (20_000 if i % 17 == 16 else 0)}
            for i in range(120)]


@pytest.mark.parametrize("batch", [1, 7, 1000])
@pytest.mark.parametrize("case", list(CASES))
def test_sample_like_stream(case: str, batch: int, modules: dict[str, Path],
                            workspace: Path) -> None:
    check(case, modules[case], sample_events(), workspace, batch)


@pytest.mark.parametrize("case", list(CASES))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=event_streams(), batch=st.sampled_from([1, 7, 1000]))
def test_generated_streams(case: str, events: list[dict], batch: int,
                           modules: dict[str, Path], workspace: Path) -> None:
    check(case, modules[case], events, workspace, batch)


def test_the_sample_has_late_rows() -> None:
    assert len(on_time(sample_events())) < len(sample_events())


def test_state_ttl_of_the_stream_is_the_deduplication_ttl(workspace: Path) -> None:
    """'state.ttl' on the stream bounds the keys a deduplication remembers
    (processing time, as Flink's state TTL): EXPLAIN says so and the module
    passes it on."""
    from compiler.driver import analyze, plan
    from compiler.physical import explain_physical

    catalog = workspace / "ttl_catalog.sql"
    catalog.write_text(CATALOG.replace("'format' = 'json'", "'format' = 'json', "
                                       "'state.ttl' = '1 h'"), encoding="utf-8")
    source = Source("ttl.sql", CASES["first"][0] + ";")
    compiled = compile_source(source, [str(catalog)])
    assert "state_ttl_ms=3600000,  # the stream's 'state.ttl'" in (compiled.module or "")
    text = explain_physical(plan(analyze(source, [str(catalog)])).physical[0])
    assert "a key is forgotten 1 h after its last row ('state.ttl')" in text

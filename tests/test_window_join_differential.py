"""Compiled window joins (two window TVFs of the same windows joined on
window_start, window_end and a key) against DuckDB's join of the same window
rows. A window join runs as an interval join on window_end with bounds 0..0
(``join_conditions.window_join_bounds``): pairs of one window match, and each
side's rows leave state (outer rows NULL-padded) when the watermark passes
the window's end. The streams here have no late rows (out of order within
the bound), so every row's windows are there on both sides; the final output
(insert-only) equals DuckDB's INNER / LEFT / FULL join.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_topn_differential import BASE, WINDOWS, on_time_copies, stamp

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

CATALOG = """
CREATE STREAM l (i BIGINT NOT NULL, k VARCHAR, ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'l', 'format' = 'json');
CREATE STREAM r (j BIGINT NOT NULL, k VARCHAR, ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'r', 'format' = 'json');
"""
CASES = {"inner_tumble": ("INNER", "tumble"), "left_hop": ("LEFT", "hop"),
         "full_cumulate": ("FULL", "cumulate")}


def side(name: str, window: str) -> str:
    tvf = WINDOWS[window][0].replace("TABLE ev", f"TABLE {name}")
    return f"(SELECT * FROM TABLE({tvf}))"


def sqlc_query(case: str) -> str:
    kind, window = CASES[case]
    return (f"SELECT L.i, L.window_start, L.window_end, R.j, R.window_start AS rs "
            f"FROM {side('l', window)} L {kind} JOIN {side('r', window)} R "
            "ON L.k = R.k AND L.window_start = R.window_start AND L.window_end = R.window_end")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("window_join")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, Path]:
    found = {}
    for case in CASES:
        compiled = compile_source(Source(f"{case}.sql", sqlc_query(case) + ";"),
                                  [str(workspace / "catalog.sql")])
        assert "IntervalJoinExec" in compiled.module, "a window join frees its state"
        module = workspace / f"{case}.py"
        module.write_text(compiled.module or "", encoding="utf-8")
        found[case] = module
    return found


def expected(case: str, left: list[dict], right: list[dict]) -> collections.Counter:
    kind, window = CASES[case]
    con = duckdb.connect()
    for name, rows, idc in (("l", left, "i"), ("r", right, "j")):
        con.execute(f"CREATE TABLE {name} ({idc} BIGINT, k VARCHAR, ws BIGINT, we BIGINT)")
        copies = [(c[idc], c["k"], c["window_start"], c["window_end"])
                  for c in on_time_copies(rows, window)]
        if copies:
            con.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?)", copies)
    found = con.execute(f"SELECT l.i, l.ws, l.we, r.j, r.ws FROM l {kind} JOIN r "
                        "ON l.k = r.k AND l.ws = r.ws AND l.we = r.we").fetchall()
    return collections.Counter(
        (i, None if ws is None else stamp(ws), None if we is None else stamp(we), j,
         None if rs is None else stamp(rs)) for i, ws, we, j, rs in found)


def run(module: Path, left, right, workspace: Path, tag: str, batch: int) -> collections.Counter:
    paths = []
    for name, rows in (("l", left), ("r", right)):
        path = workspace / f"{tag}.{name}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in rows), encoding="utf-8")
        paths += ["--input", f"{name}={path}"]
    out = workspace / f"{tag}.out.jsonl"
    assert run_module(module, [*paths, "--output", str(out), "--quiet",
                               "--batch-size", str(batch)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(r.get("_op", "+I") == "+I" for r in rows), "a window join only inserts"
    return collections.Counter((r["i"], r["window_start"], r["window_end"], r["j"], r["rs"])
                               for r in rows)


def streams():
    @st.composite
    def stream(draw, id_name: str):
        n = draw(st.integers(0, 25))
        rows, clock = [], BASE + 60_000
        for x in range(n):
            clock += draw(st.one_of(st.integers(0, 3_000), st.just(0), st.just(5_000)))
            ts = clock - draw(st.integers(0, 4_999))  # out of order within the bound
            rows.append({id_name: x, "k": draw(st.sampled_from(["a", "b", None])), "ts": ts})
        return rows

    return st.tuples(stream("i"), stream("j"))


def sample() -> tuple[list[dict], list[dict]]:
    left = [{"i": x, "k": "ab"[x % 2] if x % 7 else None, "ts": BASE + x * 900 - (x % 3) * 1_500}
            for x in range(60)]
    right = [{"j": x, "k": "abc"[x % 3], "ts": BASE + x * 1_300 - (x % 4) * 1_000}
             for x in range(40)]
    return left, right


@pytest.mark.parametrize("batch", [1, 7, 1000])
@pytest.mark.parametrize("case", list(CASES))
def test_sample_like_streams(case: str, batch: int, modules: dict[str, Path],
                             workspace: Path) -> None:
    left, right = sample()
    got = run(modules[case], left, right, workspace, f"{case}_{batch}", batch)
    assert got == expected(case, left, right)


@pytest.mark.parametrize("case", list(CASES))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sides=streams(), batch=st.sampled_from([1, 7, 1000]))
def test_generated_streams(case: str, sides, batch: int, modules: dict[str, Path],
                           workspace: Path) -> None:
    left, right = sides
    got = run(modules[case], left, right, workspace, f"gen_{case}", batch)
    assert got == expected(case, left, right)

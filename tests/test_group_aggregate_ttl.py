"""'state.ttl' on the streams of a GROUP BY without a window and of SELECT
DISTINCT (Flink's idle-state retention for GroupAggregate): a key without a
row for the TTL (processing time) is forgotten; a later row of it starts a
fresh accumulator and emits +I again, without a -U of the forgotten row.

The compiled pipeline runs with its operator's clock stepped by the test; the
reference is a dict of accumulators with each key's last write, expired at the
start of each micro-batch as Flink's TTL would have expired it by then. With a
TTL every write is passed on (-U/+U even when the result is unchanged), as in
Flink's GroupAggFunction, so the reference's changelog is exact per batch.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli import main
from compiler.driver import analyze, compile_source, plan
from compiler.errors import Source
from compiler.physical import explain_physical
from runtime_lib.columns import Batch, column_from_pylist
from runtime_lib.metrics import state_size
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.group_aggregate import GroupAggregate
from runtime_lib.pipeline import Context, Counters

TTL_MS = 100
CATALOG = """CREATE STREAM ev (k VARCHAR, g INT, v BIGINT)
WITH ('connector' = 'file', 'path' = 'ev.jsonl', 'format' = 'json'{ttl});
"""
QUERIES = {
    "group": "SELECT k, COUNT(*) AS n, SUM(v) AS s, MAX(v) AS mx FROM ev GROUP BY k;",
    "distinct": "SELECT DISTINCT k, g FROM ev;",
}


def catalog(folder: Path, ttl: str | None) -> str:
    path = folder / f"catalog_{'none' if ttl is None else ttl.replace(' ', '')}.sql"
    path.write_text(CATALOG.format(ttl="" if ttl is None else f", 'state.ttl' = '{ttl}'"),
                    encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("group_ttl")


@pytest.fixture(scope="module")
def modules(workspace: Path) -> dict[str, object]:
    found = {}
    for name, sql in QUERIES.items():
        compiled = compile_source(Source(f"{name}.sql", sql), [catalog(workspace, f"{TTL_MS} ms")])
        path = workspace / f"{name}.py"
        path.write_text(compiled.module or "", encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"group_ttl_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[name] = module
    return found


class Collect:
    """An output keeping (op, row) in the order written."""

    def __init__(self) -> None:
        self.batches: list[list[tuple]] = []

    def write(self, batch: Batch, ops) -> None:
        rows = batch.to_rows()
        self.batches[-1] += [(op, *(v for n, v in zip(batch.columns, row) if n != "op"))
                             for op, row in zip(ops, rows)]


class Reference:
    """Per key: the rows since it was (re)born and its last write; a key idle
    for the TTL is forgotten at the start of a batch."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.rows: dict[tuple, list] = {}  # key -> values of its rows since birth
        self.written: dict[tuple, int] = {}
        self.emitted: dict[tuple, tuple] = {}

    def result(self, key: tuple) -> tuple:
        if self.query == "distinct":
            return key
        values = [v for v in self.rows[key] if v is not None]
        return (*key, len(self.rows[key]), sum(values) if values else None,
                max(values) if values else None)

    def batch(self, events: list[dict], now: int) -> list[tuple]:
        for key in [k for k, t in self.written.items() if t <= now - TTL_MS]:
            del self.rows[key], self.written[key], self.emitted[key]
        order = []
        for e in events:
            key = (e["k"],) if self.query == "group" else (e["k"], e["g"])
            if key not in order:
                order.append(key)
            self.rows.setdefault(key, []).append(e["v"])
            self.written[key] = now
        # a batch's groups in the order they were first seen (since birth)
        births = {k: i for i, k in enumerate(self.rows)}
        out = []
        for key in sorted(order, key=births.__getitem__):
            new = self.result(key)
            if key in self.emitted:
                out += [("-U", *self.emitted[key]), ("+U", *new)]
            else:
                out.append(("+I", *new))
            self.emitted[key] = new
        return out


def events_batch(events: list[dict]) -> Batch:
    return Batch({"k": column_from_pylist([e["k"] for e in events], "O"),
                  "g": column_from_pylist([e["g"] for e in events], "i"),
                  "v": column_from_pylist([e["v"] for e in events], "i")}, len(events))


EVENT = st.fixed_dictionaries({
    "k": st.sampled_from(["a", "b", "c", None]),
    "g": st.sampled_from([1, 2, None]),
    "v": st.one_of(st.none(), st.integers(-5, 5)),
    "gap": st.sampled_from([0, 0, 1, 30, TTL_MS - 1, TTL_MS, TTL_MS + 1, 250]),
})


def run(module, query: str, events: list[dict], batch: int) -> tuple[list, list]:
    """(the pipeline's changelog per batch, the reference's); a batch is
    processed at the arrival time of its first row."""
    sink = Collect()
    pipeline = module.Query(Context([sink], None, None, Counters()))
    operator = pipeline.operators["group_aggregate"]
    now = [0]
    operator.clock = lambda: now[0]
    reference = Reference(query)
    expected = []
    arrival, times = 0, []
    for e in events:
        arrival += e["gap"]
        times.append(arrival)
    for start in range(0, len(events), batch):
        now[0] = times[start]
        sink.batches.append([])
        pipeline.entries["ev"](events_batch(events[start:start + batch]))
        expected.append(reference.batch(events[start:start + batch], now[0]))
    return sink.batches, expected


@pytest.mark.parametrize("query", list(QUERIES))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=st.lists(EVENT, max_size=40), batch=st.sampled_from([1, 7, 1000]))
def test_the_pipeline_forgets_idle_keys_as_the_reference(query: str, events: list[dict], batch: int,
                                                         modules: dict) -> None:
    got, expected = run(modules[query], query, events, batch)
    assert got == expected


def test_a_forgotten_key_starts_again_with_plus_i(modules: dict) -> None:
    events = [{"k": "a", "g": 1, "v": 5, "gap": 0}, {"k": "b", "g": 1, "v": 1, "gap": 60},
              {"k": "a", "g": 1, "v": 2, "gap": 60}, {"k": "b", "g": 1, "v": 1, "gap": 30}]
    got, _ = run(modules["group"], "group", events, 1)
    assert got == [[("+I", "a", 1, 5, 5)], [("+I", "b", 1, 1, 1)],
                   [("+I", "a", 1, 2, 2)],  # a: 120 ms idle, forgotten; no -U of (a, 1, 5, 5)
                   [("-U", "b", 1, 1, 1), ("+U", "b", 2, 2, 1)]]


def test_state_shrinks_to_the_live_keys() -> None:
    """The key dictionary, accumulators, emitted rows and first-seen order
    are compacted: the snapshot (what the state-rows metric measures) holds
    only the keys written within the TTL."""
    g = GroupAggregate(key_kinds=["i"], arg_kinds=["i"], aggs=[Agg("count_star"), Agg("max", arg=0)],
                       names=["k", "n", "mx"], state_ttl_ms=TTL_MS)
    keys = np.arange(5000)
    g.process([column_from_pylist(keys.tolist(), "i")], [column_from_pylist(keys.tolist(), "i")],
              now_ms=0)
    assert state_size(g.snapshot())[0] == 5000
    g.process([column_from_pylist([7, 8], "i")], [column_from_pylist([1, 1], "i")], now_ms=50)
    out = g.process([column_from_pylist([9], "i")], [column_from_pylist([3], "i")], now_ms=120)
    assert out.to_rows() == [("+I", 9, 1, 3)]
    assert g.groups == 3 and g.expired_keys == 4998
    snap = g.snapshot()
    assert state_size(snap)[0] == 3
    assert len(snap["emitted"]["a"]) == len(snap["first_seq"]) == len(snap["written"]) == 3


def test_a_retraction_of_a_forgotten_row_is_ignored() -> None:
    """Over an updating input, -U of a row the TTL forgot has nothing to take
    back (Flink ignores it): the +U after it starts the group again."""
    g = GroupAggregate(key_kinds=["O"], arg_kinds=["i"], aggs=[Agg("count_star"), Agg("sum", arg=0)],
                       names=["k", "n", "s"], state_ttl_ms=TTL_MS)

    def rows(vals, retract):
        return {"keys": [column_from_pylist(["a"] * len(vals), "O")],
                "args": [column_from_pylist(vals, "i")], "retract": np.array(retract, bool)}

    assert g.process(**rows([4], [False]), now_ms=0).to_rows() == [("+I", "a", 1, 4)]
    assert g.process(**rows([4, 6], [True, False]), now_ms=200).to_rows() == [("+I", "a", 1, 6)]
    assert g.process(**rows([6, 7], [True, False]), now_ms=210).to_rows() == [
        ("-U", "a", 1, 6), ("+U", "a", 1, 7)]


def test_snapshot_of_a_checkpoint_without_ttl_restores_with_every_key_written_now() -> None:
    before = GroupAggregate(key_kinds=["O"], aggs=[Agg("count_star")], names=["k", "n"])
    before.process([column_from_pylist(["a", "b"], "O")])
    after = GroupAggregate(key_kinds=["O"], aggs=[Agg("count_star")], names=["k", "n"],
                           state_ttl_ms=TTL_MS, clock=lambda: 1000)
    after.restore(before.snapshot())
    assert after.process([column_from_pylist(["a"], "O")], now_ms=1050).to_rows() == [
        ("-U", "a", 1), ("+U", "a", 2)]
    assert after.process([column_from_pylist(["b"], "O")], now_ms=1100).to_rows() == [("+I", "b", 1)]


@pytest.mark.parametrize("query", list(QUERIES))
@pytest.mark.parametrize("ttl", [None, "1 h"])
def test_explain_module_and_vet_say_where_the_ttl_applies(workspace: Path, capsys, query: str,
                                                          ttl) -> None:
    source = Source(f"{query}.sql", QUERIES[query])
    paths = [catalog(workspace, ttl)]
    text = explain_physical(plan(analyze(source, paths)).physical[0])
    module = compile_source(source, paths).module or ""
    sql = workspace / f"{query}.sql"
    sql.write_text(QUERIES[query], encoding="utf-8")
    capsys.readouterr()
    code = main(["vet", str(sql), "--catalog", paths[0]])
    warned = "warning: SV001 unbounded-state" in capsys.readouterr().err
    if ttl is None:
        assert "kept until the key is retracted (no TTL)" in text
        assert "state_ttl_ms" not in module
        assert (code, warned) == (1, True)
    else:
        assert "a key is forgotten 1 h after its last row ('state.ttl')" in text
        assert "state_ttl_ms=3600000,  # the streams' 'state.ttl'" in module
        assert (code, warned) == (0, False)

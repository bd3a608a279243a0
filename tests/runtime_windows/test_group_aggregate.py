"""GroupAggregate: the changelog, applied, equals DuckDB's GROUP BY over all rows
seen so far, after every micro-batch; HAVING turns groups on (+I) and off (-D)."""

from __future__ import annotations

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from window_helpers import (
    AGG_CASES,
    ARG_KINDS,
    assert_same,
    columns,
    events_table,
    expected_rows,
    streams,
)

from runtime_lib.columns import column_from_pylist as col
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.group_aggregate import GroupAggregate
from tests.state_roundtrip import roundtrip

CASES = AGG_CASES


def apply(state: dict, rows, n_keys: int):
    for r in rows:
        op, key, vals = r[0], tuple(r[1: 1 + n_keys]), tuple(r[1 + n_keys:])
        if op == "+I":
            assert key not in state, f"+I for a visible group {key}"
            state[key] = vals
        elif op in ("-U", "-D"):
            assert state.pop(key) == vals, "retraction must repeat the visible row"
        elif op == "+U":
            assert key not in state
            state[key] = vals
        else:
            raise AssertionError(op)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=streams(), batch_size=st.sampled_from([1, 5, 1000]), having=st.booleans())
def test_changelog_matches_duckdb_after_every_batch(ev, batch_size, having):
    aggs = [a for a, _ in CASES]
    pred = (lambda b: b["agg_0"].values >= 2) if having else None  # HAVING count(*) >= 2
    op = GroupAggregate(key_kinds=["O"], arg_kinds=ARG_KINDS, aggs=aggs, having=pred)
    con = duckdb.connect()
    state: dict = {}
    n = len(ev)
    starts = list(range(0, n, batch_size))
    check = set(starts[:: max(1, len(starts) // 8)]) | set(starts[-1:])  # DuckDB after these batches
    for a in starts:
        b = min(n, a + batch_size)
        keys, args, filters = columns(ev, a, b)
        out = op.process(keys[:1], args, filters)
        prev = dict(state)
        apply(state, out.to_rows(), 1)
        # coalesced: at most one change per group per batch
        keys_out = [r[1] for r in out.to_rows() if r[0] in ("+I", "+U", "-D")]
        assert len(keys_out) == len(set(keys_out))
        if not out.num_rows:
            assert prev == state
        if a not in check:
            continue
        sub = ev.__class__(**{f: getattr(ev, f)[:b] for f in ("part", "ts", "k", "g", "x", "i", "s", "f")})
        events_table(con, sub, [0] * b)
        want = expected_rows(con, "SELECT * FROM ev", ["k"], cases=CASES)
        if having:
            want = {k: v for k, v in want.items() if v[0] >= 2}
        assert_same(state, want, cases=CASES)


def test_having_on_and_off_by_hand():
    op = GroupAggregate(key_kinds=["O"], arg_kinds=["i"], aggs=[Agg("sum", arg=0), Agg("count_star")],
                        names=["k", "total", "n"], having=lambda b: b["total"].values > 5)
    assert op.process([col(["a", "a"], "O")], [col([3, 4], "i")]).to_rows() == [("+I", "a", 7, 2)]
    assert op.process([col(["a"], "O")], [col([None], "i")]).to_rows() == [("-U", "a", 7, 2), ("+U", "a", 7, 3)]
    assert op.process([col(["a"], "O")], [col([-10], "i")]).to_rows() == [("-D", "a", 7, 3)]
    assert op.process([col(["a"], "O")], [col([1], "i")]).to_rows() == []
    assert op.process([col(["a"], "O")], [col([9], "i")]).to_rows() == [("+I", "a", 7, 6)]


def test_unchanged_result_emits_nothing():
    op = GroupAggregate(key_kinds=["i"], arg_kinds=["i"], aggs=[Agg("max", arg=0)])
    assert op.process([col([1, 2], "i")], [col([5, 5], "i")]).to_rows() == [("+I", 1, 5), ("+I", 2, 5)]
    assert op.process([col([1], "i")], [col([3], "i")]).to_rows() == []
    assert op.process([col([None], "i")], [col([1], "i")]).to_rows() == [("+I", None, 1)]


def test_global_aggregate_without_keys():
    op = GroupAggregate(key_kinds=[], arg_kinds=["f"], aggs=[Agg("avg", arg=0)])
    assert op.process([], [col([1.0, 3.0], "f")]).to_rows() == [("+I", 2.0)]
    assert op.process([], [col([8.0], "f")]).to_rows() == [("-U", 2.0), ("+U", 4.0)]


@settings(max_examples=20, deadline=None)
@given(ev=streams(max_events=60), cut=st.integers(0, 60))
def test_snapshot_restore(ev, cut):
    aggs = [a for a, _ in CASES]
    mk = lambda: GroupAggregate(key_kinds=["O"], arg_kinds=ARG_KINDS, aggs=aggs,
                                having=lambda b: b["agg_0"].values % 2 == 1)
    n = len(ev)
    cut = min(cut, n)
    a, b = mk(), mk()
    rows_a = a.process(*_cols(ev, 0, cut)).to_rows() + a.process(*_cols(ev, cut, n)).to_rows()
    rows_b = b.process(*_cols(ev, 0, cut)).to_rows()
    c = mk()
    c.restore(roundtrip(b.snapshot()))
    rows_b += c.process(*_cols(ev, cut, n)).to_rows()
    assert rows_a == rows_b


def _cols(ev, a, b):
    keys, args, filters = columns(ev, a, b)
    return keys[:1], args, filters



"""Differential tests: streaming window results after end of input equal a DuckDB
batch query over the rows that were not late.

Lateness is decided by an independent reference (``reference_watermarks``: a
plain loop over the events) and applied in SQL per (event, window) pair:
``window_end - 1 + delay > watermark_before``."""

from __future__ import annotations

import itertools
import math

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from window_helpers import (
    AGG_CASES,
    ARG_KINDS,
    BASE,
    Cumulate,
    Hop,
    Tumble,
    assert_same,
    events_table,
    expected_rows,
    make_op,
    random_stream,
    reference_watermarks,
    result_dict,
    run,
    streams,
    window_sql,
)

from runtime_lib.operators.aggregates import Agg, reference_aggregate
from runtime_lib.operators.windows import AfterWatermark, Changes, WindowAggregate

WINDOWS = [
    Tumble(20), Tumble(25, offset_ms=5), Hop(slide_ms=5, size_ms=20), Hop(slide_ms=10, size_ms=25, offset_ms=3),
    Cumulate(step_ms=5, max_size_ms=20),
]
AGGS = [a for a, _ in AGG_CASES]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_against_duckdb(ev, window, delay, batch_size, n_keys=1):
    op = make_op(window, AGGS, AfterWatermark(delay), n_keys=n_keys)
    rows, late, _ = run(ev, op, batch_size, n_keys=n_keys)
    wmb = reference_watermarks(ev)
    con = duckdb.connect()
    events_table(con, ev, wmb)
    member_sql = window_sql(window, delay)
    group = ["k", "g"][:n_keys] + ["ws", "we"]
    want = expected_rows(con, member_sql, group)
    got = result_dict(rows, n_keys)
    assert_same(got, want)
    # the dropped rows are exactly those with no window they are on time for
    on_time = {r[0] for r in con.execute(f"SELECT DISTINCT seq FROM ({member_sql})").fetchall()}
    assert sorted(late) == sorted(set(range(len(ev))) - on_time)
    return got, late


@pytest.mark.parametrize("window", WINDOWS, ids=repr)
@SETTINGS
@given(ev=streams(), delay=st.sampled_from([0, 0, 7]), batch_size=st.sampled_from([1, 3, 16, 1000]))
def test_windows_match_duckdb(window, ev, delay, batch_size):
    check_against_duckdb(ev, window, delay, batch_size)


@pytest.mark.parametrize("window", [Tumble(20), Hop(slide_ms=5, size_ms=15)], ids=repr)
@settings(max_examples=30, deadline=None)
@given(ev=streams(keys=["a"]), batch_size=st.sampled_from([1, 5, 1000]))
def test_one_key_two_key_columns(window, ev, batch_size):
    check_against_duckdb(ev, window, 0, batch_size, n_keys=2)


@pytest.mark.parametrize("window", WINDOWS, ids=repr)
def test_thousands_of_keys(window):
    ev = random_stream(np.random.default_rng(7), 12_000, 3_000, bound=40, late_frac=0.03)
    got, late = check_against_duckdb(ev, window, 0, 2_500)
    assert len(got) > 6_000 and 100 < len(late) < 2_000  # not vacuous


@pytest.mark.parametrize("window", WINDOWS, ids=repr)
def test_empty_input(window):
    op = make_op(window, AGGS)
    from runtime_lib.columns import Column

    late = op.process(keys=[Column(np.zeros(0, object))], ts=np.zeros(0, np.int64),
                      watermark_before=np.zeros(0, np.int64))
    out = op.advance(2**63 - 1)
    assert len(late) == 0 and out.num_rows == 0
    assert list(out.columns) == op.names and out["agg_0"].values.dtype == np.int64


def test_boundaries_and_late_by_hand():
    """Rows exactly on window_end belong to the next window; a row is late once
    window_end - 1 <= watermark before it."""
    op = WindowAggregate(window=Tumble(10), key_kinds=[], arg_kinds=["i"], aggs=[Agg("count_star")])
    ts = np.array([0, 9, 10, 19, 8, 9, 20, 9])
    wmb = np.array([-100, 0, 9, 10, 19, 8, 19, 20])  # (not monotone on purpose: never goes back)
    late = op.process(keys=[], ts=ts, watermark_before=wmb)
    assert late.tolist() == [4, 5, 7]
    assert op.advance(19).to_rows() == [(0, 10, 9, 2), (10, 20, 19, 2)]
    assert op.advance(10**15).to_rows() == [(20, 30, 29, 1)]
    assert op.late_count == 3


def test_hop_row_late_for_some_windows_only():
    """HOP(5, 15): a row at 12 belongs to [0,15), [5,20), [10,25). With the
    watermark at 14 the first has fired; the row still counts for the others."""
    op = WindowAggregate(window=Hop(slide_ms=5, size_ms=15), key_kinds=[], aggs=[Agg("count_star")])
    op.process(keys=[], ts=np.array([1, 12]), watermark_before=np.array([-1000, 14]))
    assert op.advance(10**15).to_rows() == [
        (-10, 5, 4, 1), (-5, 10, 9, 1), (0, 15, 14, 1), (5, 20, 19, 1), (10, 25, 24, 1)]  # [0, 15): only the row at 1
    assert op.late_count == 0


def test_delay_keeps_late_rows_until_end_plus_delay():
    op = WindowAggregate(window=Tumble(10), key_kinds=[], aggs=[Agg("count_star")], emit=AfterWatermark(5))
    op.process(keys=[], ts=np.array([1, 2, 3]), watermark_before=np.array([0, 12, 14]))
    assert op.advance(13).num_rows == 0  # 9 + 5 = 14 not reached
    assert op.late_count == 1  # the row at watermark 14
    assert op.advance(14).to_rows() == [(0, 10, 9, 2)]


@pytest.mark.parametrize("window", WINDOWS + [Tumble(7)], ids=repr)
@settings(max_examples=25, deadline=None)
@given(ev=streams(max_events=120))
def test_batch_size_does_not_change_output(window, ev):
    """Same rows in the same order for batch sizes 1, 7 and 10,000."""
    outs = []
    for bs in (1, 7, 10_000):
        rows, late, _ = run(ev, make_op(window, AGGS, AfterWatermark(3)), bs)
        outs.append((rows, sorted(late)))
    assert outs[0] == outs[1] == outs[2]


def test_batch_size_large_stream():
    ev = random_stream(np.random.default_rng(3), 3_000, 50, bound=30)
    outs = [run(ev, make_op(Hop(slide_ms=10, size_ms=40), AGGS), bs)[:2] for bs in (1, 7, 10_000)]
    assert len(outs[0][0]) > 1000
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize("window", WINDOWS, ids=repr)
@settings(max_examples=20, deadline=None)
@given(ev=streams(max_events=100), every=st.integers(1, 4), changes=st.booleans())
def test_snapshot_restore_mid_stream(window, ev, every, changes):
    """Snapshot (numpy arrays and JSON values only) and restore into a fresh
    operator every few batches: same output as an uninterrupted run."""

    def make():
        return make_op(window, AGGS, Changes(delay_ms=2) if changes else AfterWatermark(2))

    plain = run(ev, make(), 5)[:2]
    restored = run(ev, make(), 5, snapshot_every=every, make=make)[:2]
    assert plain == restored


def _apply_changelog(rows, n_keys):
    state = {}
    for r in rows:
        op, key, vals = r[0], tuple(r[1: n_keys + 3]), tuple(r[n_keys + 4:])
        if op == "+I":
            assert key not in state
            state[key] = vals
        elif op == "-U":
            assert state.pop(key) == vals, "retraction must carry the previously emitted row"
        elif op == "+U":
            assert key not in state
            state[key] = vals
        else:
            raise AssertionError(op)
    return state


@pytest.mark.parametrize("window", WINDOWS, ids=repr)
@settings(max_examples=30, deadline=None)
@given(ev=streams(), batch_size=st.sampled_from([1, 4, 1000]), delay=st.sampled_from([0, 6]))
def test_emit_changes_final_state_matches_duckdb(window, ev, batch_size, delay):
    """EMIT CHANGES: applying the changelog (+I, -U/+U pairs) gives the final
    results; a window never changes after it closed."""
    cases = [c for c in AGG_CASES if c[0].func not in ("first_value",)]
    op = WindowAggregate(window=window, key_kinds=["O"], arg_kinds=ARG_KINDS, aggs=[a for a, _ in cases],
                         emit=Changes(delay_ms=delay))
    rows, _, _ = run(ev, op, batch_size)
    got = _apply_changelog(rows, 1)
    wmb = reference_watermarks(ev)
    con = duckdb.connect()
    events_table(con, ev, wmb)
    want = expected_rows(con, window_sql(window, delay), ["k", "ws", "we"], cases=cases)
    assert_same(got, want, cases=cases)
    # -U is always directly followed by +U of the same window
    for a, b in itertools.pairwise(rows):
        if a[0] == "-U":
            assert b[0] == "+U" and a[1:4] == b[1:4]


def test_emit_changes_per_batch():
    op = WindowAggregate(window=Tumble(10), key_kinds=["O"], arg_kinds=["i"],
                         aggs=[Agg("sum", arg=0)], emit=Changes(), names=["k", "ws", "we", "wt", "s"])
    from runtime_lib.columns import column_from_pylist as col

    op.process([col(["a", "b"], "O")], np.array([1, 2]), np.array([-9, -9]), [col([1, 2], "i")])
    assert op.advance(0).to_rows() == [("+I", "a", 0, 10, 9, 1), ("+I", "b", 0, 10, 9, 2)]
    op.process([col(["a", "b"], "O")], np.array([3, 4]), np.array([0, 0]), [col([5, 0], "i")])
    assert op.advance(9).to_rows() == [("-U", "a", 0, 10, 9, 1), ("+U", "a", 0, 10, 9, 6)]  # b unchanged
    op.process([col(["a"], "O")], np.array([5]), np.array([9]), [col([100], "i")])  # late: closed
    assert op.advance(9).num_rows == 0 and op.late_count == 1


@settings(max_examples=40, deadline=None)
@given(vals=st.lists(st.one_of(st.none(), st.just(0.0), st.tuples(st.sampled_from([-1, 1, 1]), st.floats(1e-2, 1e6))
                             .map(lambda t: t[0] * t[1])), max_size=300),
       q=st.sampled_from([0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 1.0]), alpha=st.sampled_from([0.01, 0.05]))
def test_approx_percentile_error_bound(vals, q, alpha):
    """|estimate - x_r| <= alpha * |x_r| with x_r the exact value of rank
    floor(q * (n - 1)), here over a HOP window made of several panes. The
    magnitudes span 1e8 < gamma**1024: the documented precondition holds."""
    gamma = (1 + alpha) / (1 - alpha)
    mags = [abs(v) for v in vals if v]
    assert not mags or max(mags) / min(mags) < gamma**1024
    agg = Agg("approx_percentile", arg=0, param=q, alpha=alpha)
    op = WindowAggregate(window=Hop(slide_ms=10, size_ms=40), key_kinds=[], arg_kinds=["f"], aggs=[agg])
    from runtime_lib.columns import column_from_pylist as col

    ts = np.arange(len(vals), dtype=np.int64) % 40 + BASE  # all rows in window [BASE, BASE + 40)
    op.process([], ts, np.full(len(vals), -(2**62)), [col(vals, "f")])
    rows = {r[0]: r[3] for r in op.advance(2**63 - 1).to_rows()}
    want = reference_aggregate(agg, vals)
    got = rows.get(BASE)
    if want is None:
        assert got is None
    else:
        assert abs(got - want) <= alpha * abs(want) * (1 + 1e-9), (got, want)


def test_approx_percentile_memory_is_fixed_and_collapse_keeps_high_ranks():
    """Values spanning far more than gamma**buckets: high quantiles stay within
    alpha, memory per slot does not depend on the number of rows."""
    rng = np.random.default_rng(0)
    vals = np.exp(rng.uniform(-30, 30, 200_000))  # 26 decades
    agg = Agg("approx_percentile", arg=0, param=0.99, alpha=0.01, sketch_buckets=512)
    op = WindowAggregate(window=Tumble(1000), key_kinds=[], arg_kinds=["f"], aggs=[agg])
    from runtime_lib.columns import Column

    op.process([], np.zeros(len(vals), np.int64), np.full(len(vals), -(2**62)), [Column(vals)])
    part = op.states._parts[0].state
    assert part.pos.shape[1] == 512 and part.pos.nbytes <= 16 * 512 * 4
    got = op.advance(2**63 - 1).to_rows()[0][3]
    exact = np.sort(vals)[math.floor(0.99 * (len(vals) - 1))]
    assert abs(got - exact) <= 0.01 * exact


def test_late_rows_can_go_to_a_sink():
    """The returned indices select the dropped rows of the input batch."""
    from runtime_lib.columns import Batch, Column

    op = WindowAggregate(window=Tumble(10), key_kinds=[], aggs=[Agg("count_star")])
    batch = Batch({"ts": Column(np.array([5, 1, 15]))}, 3, watermarks=np.array([0, 9, 9]))
    late = op.process(keys=[], ts=batch["ts"], watermark_before=batch.watermarks)
    assert batch.take(late).to_rows() == [(1,)]

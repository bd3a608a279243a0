"""Differential tests: an IntervalJoin's output after end of input equals the same
join as a DuckDB batch query over the rows that were not late, for INNER, LEFT,
RIGHT and FULL, with NULL keys, duplicate keys, matches exactly on both
interval bounds, a residual ON condition, any micro-batch size, and a
snapshot/restore in the middle.

Lateness comes from an independent reference (``reference_join_watermarks``, a
plain loop): a row is late when its event time is <= the join's watermark
before it. Also checked on every step: state holds no row whose bound the
watermark has reached, and every output row is on time for the watermark it
carries (so a window aggregate after the join drops nothing)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from join_helpers import (
    LEFT_KINDS,
    LEFT_NAMES,
    RIGHT_KINDS,
    RIGHT_NAMES,
    duckdb,
    events,
    norm,
    random_events,
    reference_interval_join,
    reference_join_watermarks,
    rows_of,
    run_join,
    side_tables,
)

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.joins import IntervalJoin
from runtime_lib.watermarks import WM_MIN

KINDS = ["INNER", "LEFT", "RIGHT", "FULL"]
INTERVALS = [(0, 10), (-10, 10), (-5, -2), (3, 8), (0, 0), (-20, 0)]
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def residual_x_lt_y(b: Batch) -> Column:
    """lx < ry, NULL when either is NULL (the ON condition's non-equi part)."""
    lx, ry = b["lx"], b["ry"]
    return Column(lx.values < ry.values, lx.is_valid() & ry.is_valid())


def make(kind, lower, upper, n_keys=2, residual=None):
    return IntervalJoin(kind=kind, key_kinds=["O", "i"][:n_keys], lower_ms=lower, upper_ms=upper,
                        left_names=LEFT_NAMES, right_names=RIGHT_NAMES, left_kinds=LEFT_KINDS,
                        right_kinds=RIGHT_KINDS, residual=residual)


def check_state(op, w):
    for st_ in op.state:
        n = st_.n
        alive = st_.alive[:n]
        assert not np.any(st_.bound[:n][alive] <= w), "state holds a row whose bound the watermark reached"


def expected(ev, keep, kind, lower, upper, n_keys=2, residual_sql=""):
    con = duckdb.connect()
    side_tables(con, ev, keep)
    on = "l.lk = r.rk" + (" AND l.lg = r.rg" if n_keys == 2 else "")
    q = (f"SELECT l.*, r.* FROM l {kind} JOIN r ON {on} "
         f"AND r.rt BETWEEN l.lt + {lower} AND l.lt + {upper} {residual_sql}")
    return con.execute(q).fetchall()


def x_lt_y(lx, ry) -> bool:
    return lx is not None and ry is not None and lx < ry


def check(ev, kind, lower, upper, batch_size, n_keys=2, residual=None, residual_sql="",
          snapshot_every=None, residual_py=None):
    op = make(kind, lower, upper, n_keys, residual)
    outs, late, op = run_join(ev, op, batch_size, n_keys=n_keys, check_state=check_state,
                              snapshot_every=snapshot_every,
                              make=lambda: make(kind, lower, upper, n_keys, residual))
    wmb = reference_join_watermarks(ev)
    want_late = [i for i in range(len(ev)) if ev.t[i] <= wmb[i]]
    assert sorted(late) == want_late  # behind the watermark: reported, but joined all the same
    assert op.late_count == len(want_late)
    got = rows_of(outs)
    want = reference_interval_join(ev, kind, lower, upper, n_keys, residual_py)
    assert norm(got) == norm(want)
    if not want_late:  # then Flink's rows are the batch join's
        assert norm(got) == norm(expected(ev, None, kind, lower, upper, n_keys, residual_sql))
    for b in outs:
        assert b.watermarks is not None and len(b.watermarks) == b.num_rows
        if not want_late:  # every output row is on time for the watermark it carries
            lt, rt = b["lt"], b["rt"]
            for t, ok in ((lt.values, lt.is_valid()), (rt.values, rt.is_valid())):
                assert np.all(~ok | (t > b.watermarks)), "output row late for its own watermark"
        assert b.ops is None  # append-only
    assert op.state_rows == 0
    return got


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("interval", INTERVALS, ids=str)
@SETTINGS
@given(ev=events(), batch_size=st.sampled_from([1, 3, 7, 1000]))
def test_interval_join_matches_duckdb(kind, interval, ev, batch_size):
    check(ev, kind, *interval, batch_size)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40, deadline=None)
@given(ev=events(late=False), batch_size=st.sampled_from([1, 4, 1000]))
def test_without_late_rows_equals_the_plain_batch_join(kind, ev, batch_size):
    """Nothing out of order beyond the watermark bound: nothing is late, and the
    result is the batch join of all rows."""
    got = check(ev, kind, -10, 10, batch_size)
    assert len(got) == len(expected(ev, None, kind, -10, 10))


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40, deadline=None)
@given(ev=events(), batch_size=st.sampled_from([1, 5, 1000]))
def test_residual_condition(kind, ev, batch_size):
    check(ev, kind, -10, 10, batch_size, residual=residual_x_lt_y, residual_sql="AND l.lx < r.ry",
          residual_py=x_lt_y)


@pytest.mark.parametrize("kind", ["LEFT", "FULL"])
@settings(max_examples=30, deadline=None)
@given(ev=events(keys=["a", None]), batch_size=st.sampled_from([1, 1000]))
def test_one_key_column(kind, ev, batch_size):
    check(ev, kind, 0, 10, batch_size, n_keys=1)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25, deadline=None)
@given(ev=events(max_events=80), batch_size=st.sampled_from([1, 3, 10]))
def test_snapshot_restore_midway(kind, ev, batch_size):
    check(ev, kind, -10, 10, batch_size, snapshot_every=3)


@pytest.mark.parametrize("kind", KINDS)
def test_thousands_of_keys(kind):
    ev = random_events(np.random.default_rng(3), 4_000, 1_500, bound=20, late_frac=0.02)
    got = check(ev, kind, -2_000, 2_000, 700)
    assert sum(1 for r in got if r[0] is not None and r[5] is not None) > 1_000


def test_exactly_on_both_bounds():
    """right.t == left.t + lower and right.t == left.t + upper both match; one
    millisecond outside does not."""
    from join_helpers import Events

    ev = Events(side=[0, 1, 1, 1, 1], k=["a"] * 5, g=[1] * 5, t=[100, 95, 94, 110, 111], x=[0.0] * 5, bound=50)
    got = check(ev, "FULL", -5, 10, 1)
    matched = sorted(r[8] for r in got if r[0] is not None and r[5] is not None)
    assert matched == [95, 110]


def test_empty_input_and_no_watermark():
    op = make("FULL", 0, 10)
    empty = Batch({n: Column(np.zeros(0, np.int64 if k == "i" else (np.float64 if k == "f" else object)))
                   for n, k in zip(LEFT_NAMES, LEFT_KINDS)}, 0)
    out, late = op.process_left([empty["lk"], empty["lg"]], np.zeros(0, np.int64), empty)
    assert out.num_rows == 0 and len(late) == 0 and list(out.columns) == LEFT_NAMES + RIGHT_NAMES
    assert op.advance(WM_MIN).num_rows == 0


def test_state_is_bounded_by_the_watermark():
    """A long in-order stream: state stays near (rate x interval), not stream length."""
    rng = np.random.default_rng(0)
    op = make("FULL", -1_000, 1_000, n_keys=1)
    peak = 0
    t = 1_700_000_000_000
    for b in range(200):
        for s in (0, 1):
            ts = t + np.sort(rng.integers(0, 1_000, 500))
            keys = np.array([f"r{v}" for v in rng.integers(0, 100_000, 500)], object)
            cols = [Column(np.arange(500)), Column(keys), Column(np.ones(500, np.int64)), Column(ts),
                    Column(rng.random(500))]
            rows = Batch(dict(zip(LEFT_NAMES if s == 0 else RIGHT_NAMES, cols)), 500)
            proc = op.process_left if s == 0 else op.process_right
            proc([cols[1]], ts, rows, watermark_before=t - 100)
        t += 1_000
        op.advance(t - 100)
        peak = max(peak, op.state_rows)
    # two sides x 500 rows per second x (1 s bound + 1 s of watermark lag and batch)
    assert peak < 4_000
    assert len(op.keys) < 20_000  # the key dictionary is compacted as keys expire

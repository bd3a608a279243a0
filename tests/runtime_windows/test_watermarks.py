"""Watermarks: the vectorized per-event 'watermark before' equals a plain loop,
whatever the batch boundaries; idle partitions stop holding the minimum back."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from window_helpers import Stream, reference_watermarks

from runtime_lib.watermarks import WM_MAX, WM_MIN, Watermarks, watermarks_before


@settings(max_examples=200, deadline=None)
@given(ts=st.lists(st.integers(-1000, 1000), max_size=50), parts=st.lists(st.integers(0, 2), max_size=50),
       bound=st.integers(0, 100), cuts=st.lists(st.integers(1, 10), max_size=50))
def test_before_matches_plain_loop_for_any_batching(ts, parts, bound, cuts):
    n = min(len(ts), len(parts))
    ev = Stream(part=parts[:n], ts=ts[:n], bound=bound, n_parts=3)
    want = reference_watermarks(ev)
    wm = Watermarks(bound, partitions=range(3))
    got = []
    i, c = 0, 0
    while i < n:
        size = cuts[c % len(cuts)] if cuts else 1
        c += 1
        j = i
        while j < n and j - i < size and parts[j] == parts[i]:
            j += 1
        before, current = wm.observe(parts[i], np.array(ts[i:j], np.int64), now_ms=0)
        got.extend(before.tolist())
        assert current >= (got[-1] if got else WM_MIN)
        i = j
    assert got == want


def test_running_max_helper():
    before, new_max = watermarks_before(np.array([5, 3, 9, 1]), 4, 2)
    assert before.tolist() == [2, 3, 3, 7] and new_max == 9
    before, new_max = watermarks_before(np.array([5]), WM_MIN, 2)
    assert before.tolist() == [WM_MIN] and new_max == 5


def test_idle_partition_stops_holding_back():
    wm = Watermarks(10, idle_timeout_ms=1000, partitions=[0, 1])
    _, cur = wm.observe(0, np.array([100, 200]), now_ms=0)
    assert cur == WM_MIN  # partition 1 has no data and is not idle yet
    _, cur = wm.observe(0, np.array([300]), now_ms=500)
    assert cur == WM_MIN
    before, cur = wm.observe(0, np.array([400, 500]), now_ms=1500)  # partition 1 idle since 1000
    assert before.tolist() == [290, 390] and cur == 490
    # partition 1 comes back behind: the operator watermark never goes back
    before, cur = wm.observe(1, np.array([50]), now_ms=1600)
    assert before.tolist() == [490] and cur == 490
    _, cur = wm.observe(1, np.array([700]), now_ms=1700)
    assert cur == 490  # min(490, 690)
    assert wm.tick(now_ms=5000) == 490  # everybody idle: stays
    assert wm.finish() == WM_MAX


def test_snapshot_restore():
    wm = Watermarks(5, partitions=["p0", "p1"])
    wm.observe("p0", np.array([10, 20]), now_ms=0)
    wm.observe("p1", np.array([15]), now_ms=0)
    w2 = Watermarks(5)
    import json

    w2.restore(json.loads(json.dumps(wm.snapshot())), now_ms=0)
    assert w2.observe("p1", np.array([30]), now_ms=0)[1] == wm.observe("p1", np.array([30]), now_ms=0)[1] == 15

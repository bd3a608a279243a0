"""Kernels against their pure-Python references (one registry drives these tests
and the benchmarks), aggregate-state merge laws, and numba's on-disk cache
under two processes compiling at once."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from window_helpers import values_equal

from runtime_lib import kernel_registry as K
from runtime_lib.columns import column_from_pylist
from runtime_lib.operators.aggregates import (
    Agg,
    AggregateStates,
    percentile_kernels,
    reference_aggregate,
)
from runtime_lib.operators.aggregates import kernels as aggregate_kernels

REPO = Path(__file__).resolve().parents[2]


def _copy(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


@pytest.mark.parametrize("name", sorted(K.REGISTRY))
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_kernel_matches_reference(name, seed):
    k = K.REGISTRY[name]
    args = k.make_args(np.random.default_rng(seed))
    a_jit, a_ref = _copy(args), _copy(args)
    r_jit, r_ref = k.jit(*a_jit), k.ref(*a_ref)
    assert r_jit == r_ref
    positions = k.compare if k.compare is not None else [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    assert positions
    for i in positions:
        np.testing.assert_allclose(a_jit[i], a_ref[i], rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=f"{name} arg {i}")


def test_a_retraction_of_a_forgotten_groups_value_is_ignored():
    """After 'state.ttl' forgot a group, a row taking back one of its old
    values meets an empty accumulator: it is ignored, so the count never goes
    below zero (it did, and the next added value divided by a zero count)."""
    n, mean, m2 = np.zeros(1, np.int64), np.zeros(1), np.zeros(1)
    slots = np.zeros(1, np.int64)
    aggregate_kernels.update_moments_signed(slots, np.ones(1, np.bool_), np.array([5.0]),
                                            n, mean, m2)
    assert n[0] == 0
    aggregate_kernels.update_moments(slots, np.array([3.0]), n, mean, m2)
    assert (n[0], mean[0], m2[0]) == (1, 3.0, 0.0)


def test_registry_covers_every_update_and_combine_kernel():
    names = {n for module in (aggregate_kernels, percentile_kernels) for n in dir(module)
             if n.startswith(("update_", "combine_", "batch_arg"))}
    checked_end_to_end = {"update_sketch", "combine_sketch"}  # by the APPROX_PERCENTILE bound tests
    assert names - checked_end_to_end <= set(K.REGISTRY)
    assert "update_count" in names and "combine_sketch" in names


# --- aggregate states: merging partial states is the same as one state --------

MERGE_AGGS = [
    Agg("count_star"), Agg("count", arg=0), Agg("count", arg=0, distinct=True), Agg("count", arg=2, distinct=True),
    Agg("sum", arg=0), Agg("sum", arg=1), Agg("avg", arg=0), Agg("min", arg=0), Agg("max", arg=1),
    Agg("min", arg=2), Agg("max", arg=2), Agg("stddev", arg=0), Agg("var_pop", arg=1), Agg("first_value", arg=2),
    Agg("last_value", arg=0), Agg("corr", arg=0, arg2=1), Agg("percentile_cont", arg=0, param=0.37),
    Agg("percentile_disc", arg=1, param=0.8), Agg("approx_percentile", arg=0, param=0.5),
    Agg("sum", arg=0, filter=0), Agg("max", arg=2, filter=0),
]
KINDS = ["f", "i", "O"]

rows_st = st.lists(st.tuples(
    st.one_of(st.none(), st.integers(-10**4, 10**4).map(lambda v: v / 8)),
    st.one_of(st.none(), st.integers(-100, 100)),
    st.one_of(st.none(), st.sampled_from(["a", "bb", "B", "é", ""])),
    st.booleans(),
), max_size=60)


def _states(rows, slot_of):
    st_ = AggregateStates(MERGE_AGGS, KINDS)
    n_slots = max(slot_of, default=-1) + 1
    st_.ensure(max(n_slots, 1))
    cols = [column_from_pylist([r[j] for r in rows], k) for j, k in enumerate(KINDS)]
    st_.update(np.array(slot_of, np.int64), cols, [np.array([r[3] for r in rows], bool)],
               np.arange(len(rows), dtype=np.int64))
    return st_


def _row(cols, g=0):
    return [c.to_pylist()[g] for c in cols]


def _close(a, b, agg):
    if agg.func == "approx_percentile":
        return (a is None) == (b is None) and (a is None or abs(a - b) <= 0.02 * abs(b) + 1e-12)
    return values_equal(a, b) or (isinstance(a, float) and b is not None and abs(a - b) <= 1e-7 * max(1, abs(b)))


@settings(max_examples=150, deadline=None)
@given(rows=rows_st, split=st.lists(st.integers(0, 3), max_size=60))
def test_merge_of_partial_states_equals_single_state(rows, split):
    """results over slots {0..3} grouped together == one slot with every row,
    and == the plain-Python reference; merge() (sessions) gives the same."""
    slot_of = [split[i] if i < len(split) else 0 for i in range(len(rows))]
    one = _states(rows, [0] * len(rows)).results(np.array([0]), np.array([0, 1]))
    parts = _states(rows, slot_of)
    grouped = parts.results(np.arange(4), np.array([0, 4]))
    parts.ensure(4)
    parts.merge(np.arange(4), np.array([0, 4]))
    merged = parts.results(np.array([0]), np.array([0, 1]))
    cols = list(zip(*rows)) if rows else [[], [], [], []]
    for j, agg in enumerate(MERGE_AGGS):
        vals = list(cols[agg.arg]) if agg.arg is not None else [None] * len(rows)
        vals2 = list(cols[agg.arg2]) if agg.arg2 is not None else None
        mask = list(cols[3]) if agg.filter is not None else None
        ref = reference_aggregate(agg, vals, vals2, mask)
        a, b, c = one[j].to_pylist()[0], grouped[j].to_pylist()[0], merged[j].to_pylist()[0]
        assert _close(a, ref, agg), (agg, a, ref)
        assert _close(b, ref, agg), (agg, b, ref)
        assert _close(c, ref, agg), (agg, c, ref)


@settings(max_examples=100, deadline=None)
@given(rows=rows_st, split=st.lists(st.integers(0, 2), max_size=60))
def test_merge_is_associative(rows, split):
    """((s0 + s1) + s2) and (s0 + (s1 + s2)) give the same results."""
    slot_of = [split[i] if i < len(split) else 0 for i in range(len(rows))]
    left = _states(rows, slot_of)
    left.ensure(3)
    left.merge(np.array([0, 1, 2]), np.array([0, 2, 3]))  # {0,1} {2}
    left.merge(np.array([0, 1]), np.array([0, 2]))
    right = _states(rows, slot_of)
    right.ensure(3)
    right.merge(np.array([0, 1, 2]), np.array([0, 1, 3]))  # {0} {1,2}
    right.merge(np.array([0, 1]), np.array([0, 2]))
    a = left.results(np.array([0]), np.array([0, 1]))
    b = right.results(np.array([0]), np.array([0, 1]))
    for agg, ca, cb in zip(MERGE_AGGS, a, b):
        x, y = ca.to_pylist()[0], cb.to_pylist()[0]
        assert _close(x, y, agg), (agg, x, y)


def test_take_frees_slots_and_keeps_the_rest():
    rows = [(1.0, 1, "a", True), (2.0, 2, "b", True), (3.0, 3, "c", False)]
    st_ = _states(rows, [0, 1, 2])
    st_.take(np.array([2, 0]))
    res = st_.results(np.array([0, 1]), np.array([0, 1, 2]))
    assert res[0].to_pylist() == [1, 1] and res[4].to_pylist() == [3.0, 1.0]


# --- numba's on-disk cache with two processes compiling at once ------------

CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    from runtime_lib.operators.aggregates import Agg
    from runtime_lib.columns import Column
    from runtime_lib.operators.windows import Hop, WindowAggregate
    aggs = [Agg("count_star"), Agg("avg", arg=0), Agg("max", arg=0), Agg("percentile_cont", arg=0, param=0.9),
            Agg("stddev", arg=0), Agg("approx_percentile", arg=0, param=0.5)]
    op = WindowAggregate(window=Hop(slide_ms=10, size_ms=30), key_kinds=["i"], arg_kinds=["f"], aggs=aggs)
    rng = np.random.default_rng(0)
    ts = np.sort(rng.integers(0, 1000, 5000))
    op.process([Column(rng.integers(0, 5, 5000))], ts, np.full(5000, -1), [Column(rng.normal(size=5000))])
    rows = op.advance(2**63 - 1).to_rows()
    print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(rows), "digest": repr(rows[:50])}))
""")


def _spawn(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), SQLC_NUMBA_CACHE="1", PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", CHILD], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_cache_two_processes(tmp_path):
    """Two cold processes compile into one cache directory at the same time;
    both succeed with the same results, and a third process starts warm."""
    procs = [_spawn(tmp_path), _spawn(tmp_path)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    assert outs[0]["digest"] == outs[1]["digest"] and outs[0]["rows"] > 100
    assert any(tmp_path.rglob("*.nbi")) and any(tmp_path.rglob("*.nbc"))
    t = time.perf_counter()
    warm = _spawn(tmp_path)
    out, err = warm.communicate(timeout=600)
    assert warm.returncode == 0, err
    warm_out = json.loads(out)
    assert warm_out["digest"] == outs[0]["digest"]
    # warm start loads machine code instead of compiling: several times faster
    assert warm_out["seconds"] < 0.5 * min(o["seconds"] for o in outs), (warm_out, outs, time.perf_counter() - t)


def test_cache_survives_import_under_another_name(tmp_path):
    """Running a kernel module under another module name (as doctest or a
    script does) must not leave cache entries that break it under its real
    name (``runtime_lib/jit.py``)."""
    here = REPO / "runtime_lib" / "operators" / "aggregates"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(here) + os.pathsep + str(REPO))
    code = "import numpy as np, kernels; c = np.zeros(2, np.int64); kernels.update_count(np.array([1]), c)"
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True, capture_output=True)
    p = _spawn(tmp_path)
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err


_shapes = st.sampled_from(["random", "few", "sorted", "reversed", "equal", "organ"])


@settings(max_examples=200, deadline=None)
@given(shape=_shapes, n=st.integers(0, 3000), nan_share=st.sampled_from([0.0, 0.0, 0.1, 1.0]),
       seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float64, np.int64]))
def test_partition_groups_places_the_read_ranks_as_a_sort_would(shape, n, nan_share, seed, dtype):
    """``partition_groups`` (quickselect, NaN last) puts every rank that
    ``ranks_from_groups`` reads where a full sort puts it, on inputs that
    defeat naive pivots (sorted, reversed, all equal, organ pipe) and for
    groups of every size, so the percentiles equal those of sorted groups."""
    rng = np.random.default_rng(seed)
    base = {"random": rng.normal(0, 1, n), "few": rng.integers(0, 4, n).astype(np.float64),
            "sorted": np.arange(n, dtype=np.float64), "reversed": -np.arange(n, dtype=np.float64),
            "equal": np.ones(n), "organ": -np.abs(np.arange(n) - n / 2)}[shape]
    if dtype is np.float64:
        base[rng.random(n) < nan_share] = np.nan
    vals = base.astype(dtype)
    sizes = rng.multinomial(n, [0.6, 0.3, 0.1]) if n else np.zeros(3, np.int64)
    counts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    qc = np.array([0.0, 0.05, 0.5, 0.95, 0.999, 1.0])
    qd = np.array([0.0, 0.3, 0.99, 1.0])
    selected = vals.copy()
    percentile_kernels.partition_groups(counts, selected, qc, qd)
    out = [np.full((3, len(qc)), np.nan), np.zeros((3, len(qd)), dtype)]
    percentile_kernels.ranks_from_groups(counts, selected, 0, qc, qd, *out)
    want = [np.full((3, len(qc)), np.nan), np.zeros((3, len(qd)), dtype)]
    ordered = np.concatenate([np.sort(vals[a:b]) for a, b in itertools.pairwise(counts)])
    percentile_kernels.ranks_from_groups(counts, ordered, 1 << 62, qc, qd, *want)
    for got, expected in zip(out, want):
        np.testing.assert_array_equal(got, expected)
    for a, b in itertools.pairwise(counts):  # a permutation of the group
        np.testing.assert_array_equal(np.sort(selected[a:b]), np.sort(vals[a:b]))

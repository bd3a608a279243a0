"""Numba kernels of the event-time core: dumb loops writing into preallocated outputs.

Everything that decides (dtype checks, casting, growth of arrays, dispatch) stays
in Python in ``keys.py``, ``aggregates.py`` and ``windows.py``; a kernel only
loops. Conventions shared by every kernel:

* a *slot* is an int64 row index into an operator's state arrays (one slot per
  (group key, pane) or (group key, session)); a slot of ``-1`` means "skip this
  row" (late, NULL argument, FILTER false);
* a *grouping* of slots is given in CSR form: ``idx`` lists source slots group
  after group and ``offs[g]:offs[g + 1]`` is the part of ``idx`` that belongs
  to group ``g`` (a window made of several panes, a merged session);
* kernels never allocate state; Python sizes the outputs.

Kernels compile lazily, once per argument dtype, on first call. ``cache=True``
keeps the machine code in numba's on-disk cache (``__pycache__`` next to this
file, or ``NUMBA_CACHE_DIR``) so that a pipeline that starts again does not
compile again; numba writes cache files atomically (temporary file + rename),
and ``tests/runtime_windows/test_kernels.py::test_cache_two_processes`` starts
two cold processes at once against one cache directory to check that this holds
here. ``SQLC_NUMBA_CACHE=0`` turns the cache off, and so does importing this file
under another module name (see ``CACHE``). Cold start (empty cache) compiles for
several seconds; ``WindowAggregate.warmup()`` does it before the first batch.

``REGISTRY`` maps kernel names to ``Kernel(jit, ref, make_args)``: the jitted
function, a pure-Python reference implementation with the same signature and a
generator of example arguments. It holds every ``update_*``, ``combine_*`` and
``batch_arg*`` kernel but the sketch's (a test checks that none is missing);
the hash-table, run-merging and session helpers are checked through the
kernels and operators that call them. The kernel tests run both on the same
inputs and compare every output array; the benchmarks time both.

>>> import numpy as np
>>> cnt = np.zeros(3, np.int64)
>>> update_count(np.array([0, 2, -1, 2]), cnt)
>>> cnt.tolist()
[1, 0, 2]
"""

# ruff: noqa: PLR0124  (x != x is the NaN test numba compiles for every dtype)

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

# numba keys its cache by source file and function, not by module name, and the
# cached code refers to the module by name: imported under another name (run as
# a script, ``python -m doctest runtime_lib/kernels.py``) this file would write
# entries that fail to load as runtime_lib.kernels. So cache only under its name.
CACHE = os.environ.get("SQLC_NUMBA_CACHE", "1") != "0" and __name__ == "runtime_lib.kernels"

jit = njit(cache=CACHE, nogil=True)

# ---------------------------------------------------------------------------
# Open-addressing hash table from an (int64, int64) pair to a dense id.
#
# tk1/tk2 hold the pair, tval the id (-1 = empty bucket); capacity is a power of
# two. Ids are handed out densely: the n-th new pair gets id n. Python keeps the
# load factor under one half by calling ``table_insert`` with ``limit`` and
# growing the table when the kernel stops early.
# ---------------------------------------------------------------------------


@jit
def _mix(a, b):
    h = np.uint64(a) * np.uint64(0x9E3779B97F4A7C15)
    h = h ^ (np.uint64(b) + np.uint64(0x632BE59BD9B4E019) + (h << np.uint64(6)) + (h >> np.uint64(2)))
    h = h ^ (h >> np.uint64(31))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(29))
    return h


@jit
def table_insert(tk1, tk2, tval, k1, k2, out, start, n_used, limit):
    """Look up or insert ``(k1[i], k2[i])`` for i >= start; ``out[i]`` = its id.
    Rows with ``k1[i] < 0`` are skipped (out = -1). Stops before a new id would
    reach ``limit``; returns (next row to do, ids in use)."""
    mask = np.uint64(len(tval) - 1)
    last_a = np.int64(-1)
    last_b = np.int64(0)
    last_v = np.int64(-1)
    for i in range(start, len(k1)):
        a = k1[i]
        b = k2[i]
        if a < 0:
            out[i] = -1
            continue
        if a == last_a and b == last_b:
            out[i] = last_v
            continue
        h = _mix(a, b) & mask
        while True:
            v = tval[h]
            if v < 0:
                if n_used >= limit:
                    return i, n_used
                tk1[h] = a
                tk2[h] = b
                tval[h] = n_used
                v = n_used
                n_used += 1
                break
            if tk1[h] == a and tk2[h] == b:
                break
            h = (h + np.uint64(1)) & mask
        out[i] = v
        last_a = a
        last_b = b
        last_v = v
    return len(k1), n_used


@jit
def table_lookup(tk1, tk2, tval, k1, k2, out):
    """``out[i]`` = id of ``(k1[i], k2[i])`` or -1 when absent (no insert)."""
    mask = np.uint64(len(tval) - 1)
    for i in range(len(k1)):
        a = k1[i]
        b = k2[i]
        out[i] = -1
        if a < 0:
            continue
        h = _mix(a, b) & mask
        while True:
            v = tval[h]
            if v < 0:
                break
            if tk1[h] == a and tk2[h] == b:
                out[i] = v
                break
            h = (h + np.uint64(1)) & mask


@jit
def table_fill(tk1, tk2, tval, k1, k2):
    """Insert distinct pairs ``(k1[i], k2[i])`` with id ``i`` (a rebuild)."""
    mask = np.uint64(len(tval) - 1)
    for i in range(len(k1)):
        h = _mix(k1[i], k2[i]) & mask
        while tval[h] >= 0:
            h = (h + np.uint64(1)) & mask
        tk1[h] = k1[i]
        tk2[h] = k2[i]
        tval[h] = i


# ---------------------------------------------------------------------------
# Row -> slot accumulation (one pass over the rows of a batch per aggregate).
# ---------------------------------------------------------------------------


@jit
def update_count(slots, cnt):
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            cnt[s] += 1


@jit
def update_sum(slots, vals, acc, cnt):
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            acc[s] += vals[i]
            cnt[s] += 1


@jit
def update_min(slots, vals, has, best):
    """NaN orders above every number (as in DuckDB and PostgreSQL)."""
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            v = vals[i]
            if not has[s]:
                best[s] = v
                has[s] = True
            elif v < best[s] or (best[s] != best[s] and v == v):
                best[s] = v


@jit
def update_max(slots, vals, has, best):
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            v = vals[i]
            if not has[s]:
                best[s] = v
                has[s] = True
            elif v > best[s] or (v != v and best[s] == best[s]):
                best[s] = v


@jit
def update_moments(slots, vals, n, mean, m2):
    """Welford's online update of count, mean and sum of squared deviations."""
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            x = np.float64(vals[i])
            n[s] += 1
            d = x - mean[s]
            mean[s] += d / n[s]
            m2[s] += d * (x - mean[s])


@jit
def update_comoments(slots, xs, ys, n, mx, my, m2x, m2y, cxy):
    """Welford for a pair: means, squared deviations and the co-moment."""
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            x = np.float64(xs[i])
            y = np.float64(ys[i])
            n[s] += 1
            dx = x - mx[s]
            mx[s] += dx / n[s]
            dy = y - my[s]
            my[s] += dy / n[s]
            m2x[s] += dx * (x - mx[s])
            m2y[s] += dy * (y - my[s])
            cxy[s] += dx * (y - my[s])


# Updating input (-D/-U rows of a regular outer join): ``retract[i]`` marks a
# row taken back with the exact inverse of its update; rows are applied in
# arrival order, so the result does not depend on how the stream is cut into
# batches. A slot whose count reaches 0 is reset to the empty state, so no
# rounding residue survives it.


@jit
def update_count_signed(slots, retract, cnt):
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            cnt[s] += -1 if retract[i] else 1


@jit
def update_sum_signed(slots, retract, vals, acc, cnt):
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            if not retract[i]:
                acc[s] += vals[i]
                cnt[s] += 1
            else:
                cnt[s] -= 1
                if cnt[s] == 0:
                    acc[s] = 0
                else:
                    acc[s] -= vals[i]


@jit
def update_moments_signed(slots, retract, vals, n, mean, m2):
    """Welford's update, or its inverse for a retracted row: n0 = n1 - 1,
    mean0 = (n1 mean1 - x) / n0, m2_0 = m2_1 - (x - mean0)(x - mean1)."""
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            x = np.float64(vals[i])
            if not retract[i]:
                n[s] += 1
                d = x - mean[s]
                mean[s] += d / n[s]
                m2[s] += d * (x - mean[s])
                continue
            n1 = n[s]
            n[s] = n1 - 1
            if n1 <= 1:
                mean[s] = 0.0
                m2[s] = 0.0
            else:
                m0 = (n1 * mean[s] - x) / (n1 - 1)
                m2[s] -= (x - m0) * (x - mean[s])
                mean[s] = m0


@jit
def update_arg_first(slots, seqs, has, best_seq, win_row):
    """Per slot, the row with the smallest arrival sequence number so far;
    ``win_row[s]`` = that row of this batch, or stays -1 when an older row wins."""
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0 and (not has[s] or seqs[i] < best_seq[s]):
            has[s] = True
            best_seq[s] = seqs[i]
            win_row[s] = i


@jit
def update_arg_last(slots, seqs, has, best_seq, win_row):
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0 and (not has[s] or seqs[i] > best_seq[s]):
            has[s] = True
            best_seq[s] = seqs[i]
            win_row[s] = i


@jit
def batch_arg_min(slots, ranks, win_row):
    """Per slot, the row of this batch with the smallest rank (first on ties)."""
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            w = win_row[s]
            if w < 0 or ranks[i] < ranks[w]:
                win_row[s] = i


@jit
def batch_arg_max(slots, ranks, win_row):
    for i in range(len(slots)):
        s = slots[i]
        if s >= 0:
            w = win_row[s]
            if w < 0 or ranks[i] > ranks[w]:
                win_row[s] = i


# ---------------------------------------------------------------------------
# Groups of slots -> one result per group (windows made of panes, merged
# sessions). Associative merges: sums add, Welford moments merge with Chan's
# formula, extremes and first/last pick a winning source slot.
# ---------------------------------------------------------------------------


@jit
def combine_sum(idx, offs, acc, cnt, out_acc, out_cnt):
    for g in range(len(offs) - 1):
        a = acc[idx[offs[g]]] * 0
        c = 0
        for j in range(offs[g], offs[g + 1]):
            s = idx[j]
            a += acc[s]
            c += cnt[s]
        out_acc[g] = a
        out_cnt[g] = c


@jit
def combine_arg_min(idx, offs, has, key, out_src):
    """``out_src[g]`` = the source slot holding the smallest key in group g
    (NaN largest; the earliest listed slot on ties), or -1 when none has one."""
    for g in range(len(offs) - 1):
        w = -1
        for j in range(offs[g], offs[g + 1]):
            s = idx[j]
            if has[s]:
                if w < 0:
                    w = s
                else:
                    v = key[s]
                    b = key[w]
                    if v < b or (b != b and v == v):
                        w = s
        out_src[g] = w


@jit
def combine_arg_max(idx, offs, has, key, out_src):
    for g in range(len(offs) - 1):
        w = -1
        for j in range(offs[g], offs[g + 1]):
            s = idx[j]
            if has[s]:
                if w < 0:
                    w = s
                else:
                    v = key[s]
                    b = key[w]
                    if v > b or (v != v and b == b):
                        w = s
        out_src[g] = w


@jit
def combine_moments(idx, offs, n, mean, m2, out_n, out_mean, out_m2):
    """Chan et al.'s pairwise merge of Welford states."""
    for g in range(len(offs) - 1):
        na = 0.0
        ma = 0.0
        qa = 0.0
        for j in range(offs[g], offs[g + 1]):
            s = idx[j]
            nb = np.float64(n[s])
            if nb == 0:
                continue
            nt = na + nb
            d = mean[s] - ma
            ma = ma + d * nb / nt
            qa = qa + m2[s] + d * d * na * nb / nt
            na = nt
        out_n[g] = na
        out_mean[g] = ma
        out_m2[g] = qa


@jit
def combine_comoments(idx, offs, n, mx, my, m2x, m2y, cxy, o_n, o_mx, o_my, o_m2x, o_m2y, o_cxy):
    for g in range(len(offs) - 1):
        na = 0.0
        ax = 0.0
        ay = 0.0
        qx = 0.0
        qy = 0.0
        c = 0.0
        for j in range(offs[g], offs[g + 1]):
            s = idx[j]
            nb = np.float64(n[s])
            if nb == 0:
                continue
            nt = na + nb
            dx = mx[s] - ax
            dy = my[s] - ay
            f = na * nb / nt
            qx = qx + m2x[s] + dx * dx * f
            qy = qy + m2y[s] + dy * dy * f
            c = c + cxy[s] + dx * dy * f
            ax = ax + dx * nb / nt
            ay = ay + dy * nb / nt
            na = nt
        o_n[g] = na
        o_mx[g] = ax
        o_my[g] = ay
        o_m2x[g] = qx
        o_m2y[g] = qy
        o_cxy[g] = c


# ---------------------------------------------------------------------------
# Exact percentiles over sorted runs.
#
# A slot's values live in one sorted run ``store[start[s]:start[s] + length[s]]``
# (NaNs last). A window made of several panes is the union of their runs; the
# value of rank r in that union is found by a selection over the runs (no
# re-sort): every value is sorted once, whatever the number of windows sharing
# its pane.
# ---------------------------------------------------------------------------


@jit
def group_by_slot(p_slots, p_vals, counts, buf):
    """Counting sort of values by slot: slot s's values end up in
    ``buf[counts[s]:counts[s + 1]]`` (arrival order). ``counts`` has
    n_slots + 1 zeros on entry."""
    n_slots = len(counts) - 1
    for i in range(len(p_slots)):
        counts[p_slots[i] + 1] += 1
    for s in range(n_slots):
        counts[s + 1] += counts[s]
    pos = counts[:-1].copy()
    for i in range(len(p_slots)):
        s = p_slots[i]
        buf[pos[s]] = p_vals[i]
        pos[s] += 1


@jit
def merge_into_runs(counts, buf, presorted_from, start, length, store, top):
    """For each slot s with new values ``buf[counts[s]:counts[s + 1]]`` (already
    sorted when there are at least ``presorted_from`` of them; sorted here
    otherwise): merge them with the slot's run into ``store[top:]`` (NaN last).
    Returns the new top."""
    for s in range(len(counts) - 1):
        lo = counts[s]
        m = counts[s + 1] - lo
        if m == 0:
            continue
        new = buf[lo: lo + m]
        if m < presorted_from:
            new.sort()
        a0 = start[s]
        na = length[s]
        i = 0
        j = 0
        o = top
        while i < na and j < m:
            x = store[a0 + i]
            y = new[j]
            # NaN last: take x unless y < x or x is NaN and y is not
            if y < x or (x != x and y == y):
                store[o] = y
                j += 1
            else:
                store[o] = x
                i += 1
            o += 1
        while i < na:
            store[o] = store[a0 + i]
            i += 1
            o += 1
        while j < m:
            store[o] = new[j]
            j += 1
            o += 1
        start[s] = top
        length[s] = na + m
        top = o
    return top


NUMPY_SORT_FROM = 64  # numpy's (SIMD) sort beats numba's from about this length


def seal_runs(p_slots, p_vals, start, length, store, top):
    """Merge newly arrived values (slot p_slots[i], value p_vals[i]) into their
    slot's sorted run, written at ``store[top:]`` (Python sized it): counting
    sort by slot, numpy's sort for long groups, numba for short ones, then a
    merge with each old run. Returns the new top."""
    counts = np.zeros(len(start) + 1, np.int64)
    buf = np.empty(len(p_vals), store.dtype)
    group_by_slot(p_slots, p_vals, counts, buf)
    sizes = np.diff(counts)
    for s in np.flatnonzero(sizes >= NUMPY_SORT_FROM).tolist():
        buf[counts[s]: counts[s + 1]].sort()
    return merge_into_runs(counts, buf, NUMPY_SORT_FROM, start, length, store, top)


@jit
def _count_non_nan(store, a, n):
    # runs are sorted with NaNs last: binary search for the first NaN
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        v = store[a + mid]
        if v != v:
            hi = mid
        else:
            lo = mid + 1
    return lo


@jit
def _lower(store, lo, hi, x):
    while lo < hi:
        mid = (lo + hi) // 2
        if store[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def _upper(store, lo, hi, x):
    while lo < hi:
        mid = (lo + hi) // 2
        if store[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def _select(store, a, b, r, lo, hi, pl, pu):
    """Value of rank r (0-based) in the union of sorted non-NaN ranges
    ``store[a[i]:b[i]]``. lo/hi/pl/pu are scratch arrays of len(a)."""
    k = len(a)
    for i in range(k):
        lo[i] = a[i]
        hi[i] = b[i]
    t = r
    while True:
        j = 0
        best = -1
        for i in range(k):
            if hi[i] - lo[i] > best:
                best = hi[i] - lo[i]
                j = i
        piv = store[(lo[j] + hi[j]) // 2]
        cl = 0
        cu = 0
        for i in range(k):
            pl[i] = _lower(store, lo[i], hi[i], piv)
            pu[i] = _upper(store, pl[i], hi[i], piv)
            cl += pl[i] - lo[i]
            cu += pu[i] - lo[i]
        if t < cl:
            for i in range(k):
                hi[i] = pl[i]
        elif t < cu:
            return piv
        else:
            for i in range(k):
                lo[i] = pu[i]
            t -= cu


@jit
def percentiles_from_runs(idx, offs, start, length, store, q_cont, q_disc, out_cont, out_disc, out_n):
    """For each group g (the slots idx[offs[g]:offs[g+1]]): PERCENTILE_CONT for
    each q in q_cont (linear interpolation at rank q*(n-1), as DuckDB's
    quantile_cont) into out_cont[g, :], PERCENTILE_DISC for each q in q_disc (the
    value of 0-based rank max(ceil(q*n) - 1, 0), SQL standard) into
    out_disc[g, :], and the number of values into out_n[g]."""
    for g in range(len(offs) - 1):
        k = offs[g + 1] - offs[g]
        a = np.empty(k, np.int64)
        b = np.empty(k, np.int64)
        n_all = 0
        n = 0
        for t in range(k):
            s = idx[offs[g] + t]
            a[t] = start[s]
            c = _count_non_nan(store, start[s], length[s])
            b[t] = start[s] + c
            n += c
            n_all += length[s]
        out_n[g] = n_all
        if n_all == 0:
            continue
        lo = np.empty(k, np.int64)
        hi = np.empty(k, np.int64)
        pl = np.empty(k, np.int64)
        pu = np.empty(k, np.int64)
        for t in range(len(q_cont)):
            pos = q_cont[t] * (n_all - 1)
            r0 = math.floor(pos)
            r1 = math.ceil(pos)
            if r0 >= n:
                out_cont[g, t] = np.nan
                continue
            if k == 1:
                v0 = np.float64(store[a[0] + r0])
            else:
                v0 = np.float64(_select(store, a, b, r0, lo, hi, pl, pu))
            if r1 == r0:
                out_cont[g, t] = v0
                continue
            if r1 >= n:
                out_cont[g, t] = np.nan
                continue
            if k == 1:
                v1 = np.float64(store[a[0] + r1])
            else:
                v1 = np.float64(_select(store, a, b, r1, lo, hi, pl, pu))
            out_cont[g, t] = v0 + (pos - r0) * (v1 - v0)
        for t in range(len(q_disc)):
            r = math.ceil(q_disc[t] * n_all) - 1
            r = max(r, 0)
            if r >= n:
                out_disc[g, t] = np.nan  # only reachable for float stores (NaN values)
                continue
            if k == 1:
                out_disc[g, t] = store[a[0] + r]
            else:
                out_disc[g, t] = _select(store, a, b, r, lo, hi, pl, pu)


@jit
def ranks_from_groups(counts, buf, presorted_from, q_cont, q_disc, out_cont, out_disc):
    """Percentiles of groups of values that are used once (a TUMBLE window or a
    session that fires and is freed): group g is ``buf[counts[g]:counts[g + 1]]``.
    Groups of at least ``presorted_from`` values arrive partitioned at the ranks
    needed (numpy's introselect, no full sort); smaller ones are sorted here.
    Same definitions as ``percentiles_from_runs``; NaN sorts last."""
    for g in range(len(counts) - 1):
        lo = counts[g]
        n = counts[g + 1] - lo
        if n == 0:
            continue
        seg = buf[lo: lo + n]
        if n < presorted_from:
            seg.sort()
        for t in range(len(q_cont)):
            pos = q_cont[t] * (n - 1)
            r0 = math.floor(pos)
            r1 = math.ceil(pos)
            v0 = np.float64(seg[r0])
            if r1 == r0:
                out_cont[g, t] = v0
            else:
                out_cont[g, t] = v0 + (pos - r0) * (np.float64(seg[r1]) - v0)
        for t in range(len(q_disc)):
            r = math.ceil(q_disc[t] * n) - 1
            out_disc[g, t] = seg[max(r, 0)]


def needed_ranks(n: int, q_cont, q_disc) -> list[int]:
    """The order statistics ``ranks_from_groups`` reads for a group of n values."""
    ranks = set()
    for q in q_cont:
        pos = q * (n - 1)
        ranks.update((math.floor(pos), math.ceil(pos)))
    for q in q_disc:
        ranks.add(max(math.ceil(q * n) - 1, 0))
    return sorted(ranks)


def select_percentiles(groups, vals, n_groups, q_cont, q_disc, out_cont, out_disc, out_n):
    """Percentiles per group of values given as (group[i], vals[i]), without
    keeping them: counting sort by group, numpy's partition for large groups,
    numba's sort for small ones."""
    counts = np.zeros(n_groups + 1, np.int64)
    buf = np.empty(len(vals), vals.dtype)
    group_by_slot(groups, vals, counts, buf)
    sizes = np.diff(counts)
    out_n[:] = sizes
    for g in np.flatnonzero(sizes >= NUMPY_SORT_FROM).tolist():
        seg = buf[counts[g]: counts[g + 1]]
        seg.partition(needed_ranks(len(seg), q_cont, q_disc))
    ranks_from_groups(counts, buf, NUMPY_SORT_FROM, q_cont, q_disc, out_cont, out_disc)


@jit
def merge_runs(idx, offs, start, length, store, out_start, out_length, top):
    """Persistent merge (sessions): group g's runs are concatenated and sorted
    into ``store[top:]``; returns the new top."""
    for g in range(len(offs) - 1):
        m = 0
        for j in range(offs[g], offs[g + 1]):
            m += length[idx[j]]
        buf = np.empty(m, store.dtype)
        o = 0
        for j in range(offs[g], offs[g + 1]):
            s = idx[j]
            for t in range(length[s]):
                buf[o] = store[start[s] + t]
                o += 1
        buf.sort()
        for t in range(m):
            store[top + t] = buf[t]
        out_start[g] = top
        out_length[g] = m
        top += m
    return top


@jit
def compact_runs(start, length, store, out_store):
    """Copy live runs to the front of ``out_store``; rewrites ``start``."""
    o = 0
    for s in range(len(start)):
        n = length[s]
        a = start[s]
        for t in range(n):
            out_store[o + t] = store[a + t]
        start[s] = o
        o += n
    return o


# ---------------------------------------------------------------------------
# COUNT(DISTINCT x): a set of (slot, value code) pairs.
# ---------------------------------------------------------------------------


@jit
def count_distinct_groups(idx, offs, ent_slot, ent_code, ent_order, slot_first, slot_count, out):
    """Distinct codes per group: ``ent_order`` sorts the entries by slot and
    ``slot_first[s]``/``slot_count[s]`` locate slot s's entries in it."""
    for g in range(len(offs) - 1):
        m = 0
        for j in range(offs[g], offs[g + 1]):
            m += slot_count[idx[j]]
        buf = np.empty(m, np.int64)
        o = 0
        for j in range(offs[g], offs[g + 1]):
            s = idx[j]
            for t in range(slot_count[s]):
                buf[o] = ent_code[ent_order[slot_first[s] + t]]
                o += 1
        buf.sort()
        c = 0
        for t in range(m):
            if t == 0 or buf[t] != buf[t - 1]:
                c += 1
        out[g] = c


# ---------------------------------------------------------------------------
# APPROX_PERCENTILE: a DDSketch-style log-bucket histogram per slot.
#
# A positive value x goes to bucket i = ceil(log(x) / log(gamma)), gamma =
# (1 + alpha) / (1 - alpha); bucket i is represented by 2 gamma^i / (gamma + 1),
# which is within a relative alpha of every value in (gamma^(i-1), gamma^i].
# Each slot keeps a window of M consecutive buckets (counts[s, 0:M] for indexes
# off[s] .. off[s] + M - 1) for positive values, the same for negative values
# by magnitude, and a count of zeros. When a slot's values span more than M
# buckets the lowest buckets collapse into the lowest kept bucket ("collapsing
# lowest" store of DDSketch), so the memory per slot is fixed.
# ---------------------------------------------------------------------------


@jit
def _sketch_index(x, inv_log_gamma):
    v = math.log(x) * inv_log_gamma
    if v > 4.0e15:
        v = 4.0e15
    elif v < -4.0e15:
        v = -4.0e15
    return np.int64(math.ceil(v))


@jit
def _sketch_add(counts, off, lo, hi, s, i, c):
    """Add c to bucket index i of slot s's store (counts[s, :], window off[s]);
    lo[s]/hi[s] are the lowest/highest occupied indexes (hi < lo when empty)."""
    m = counts.shape[1]
    if hi[s] < lo[s]:
        off[s] = i - m // 2
        lo[s] = i
        hi[s] = i
    if i < off[s] or i >= off[s] + m:
        nlo = min(lo[s], i)
        nhi = max(hi[s], i)
        if nhi - nlo < m:
            new_off = nlo - (m - 1 - (nhi - nlo)) // 2
        else:
            new_off = nhi - m + 1
        # move the window from off[s] to new_off, collapsing what falls below
        tmp = np.zeros(m, counts.dtype)
        for t in range(m):
            cc = counts[s, t]
            if cc != 0:
                j = off[s] + t - new_off
                j = max(j, 0)
                tmp[j] += cc
        for t in range(m):
            counts[s, t] = tmp[t]
        off[s] = new_off
        lo[s] = max(lo[s], new_off)
    j = i - off[s]
    if j < 0:
        j = 0
        i = off[s]
    counts[s, j] += c
    lo[s] = min(lo[s], i)
    hi[s] = max(hi[s], i)


@jit
def update_sketch(slots, vals, inv_log_gamma, pos, pos_off, pos_lo, pos_hi, neg, neg_off, neg_lo, neg_hi, zeros):
    """Add each value to its slot's sketch (NaN is ignored). ``neg`` may have
    zero rows when no negative value was seen yet (Python allocates it then)."""
    for i in range(len(slots)):
        s = slots[i]
        if s < 0:
            continue
        x = np.float64(vals[i])
        if x > 0:
            _sketch_add(pos, pos_off, pos_lo, pos_hi, s, _sketch_index(x, inv_log_gamma), 1)
        elif x < 0:
            _sketch_add(neg, neg_off, neg_lo, neg_hi, s, _sketch_index(-x, inv_log_gamma), 1)
        elif x == 0:
            zeros[s] += 1


@jit
def _sketch_merge_store(idx, offs, g, counts, off, lo, hi, o_counts, o_off, o_lo, o_hi):
    m = counts.shape[1]
    nlo = np.int64(2**62)
    nhi = np.int64(-(2**62))
    for j in range(offs[g], offs[g + 1]):
        s = idx[j]
        if hi[s] >= lo[s]:
            nlo = min(nlo, lo[s])
            nhi = max(nhi, hi[s])
    if nhi < nlo:
        o_lo[g] = 1
        o_hi[g] = 0
        o_off[g] = 0
        return
    if nhi - nlo < m:
        new_off = nlo - (m - 1 - (nhi - nlo)) // 2
    else:
        new_off = nhi - m + 1
    o_off[g] = new_off
    o_lo[g] = max(nlo, new_off)
    o_hi[g] = nhi
    for j in range(offs[g], offs[g + 1]):
        s = idx[j]
        if hi[s] < lo[s]:
            continue
        for t in range(m):
            cc = counts[s, t]
            if cc != 0:
                k = off[s] + t - new_off
                k = max(k, 0)
                o_counts[g, k] += cc


@jit
def combine_sketch(idx, offs, pos, pos_off, pos_lo, pos_hi, neg, neg_off, neg_lo, neg_hi, zeros,
                   o_pos, o_pos_off, o_pos_lo, o_pos_hi, o_neg, o_neg_off, o_neg_lo, o_neg_hi, o_zeros):
    has_neg = neg.shape[0] > 0
    for g in range(len(offs) - 1):
        _sketch_merge_store(idx, offs, g, pos, pos_off, pos_lo, pos_hi, o_pos, o_pos_off, o_pos_lo, o_pos_hi)
        if has_neg:
            _sketch_merge_store(idx, offs, g, neg, neg_off, neg_lo, neg_hi, o_neg, o_neg_off, o_neg_lo, o_neg_hi)
        z = 0
        for j in range(offs[g], offs[g + 1]):
            z += zeros[idx[j]]
        o_zeros[g] = z


@jit
def sketch_quantiles(gamma, pos, pos_off, pos_lo, pos_hi, neg, neg_off, neg_lo, neg_hi, zeros, qs, out):
    """out[s, t] = estimate of the value of 0-based rank floor(qs[t] * (n - 1))
    in slot s (NaN when the slot holds no value)."""
    m = pos.shape[1]
    has_neg = neg.shape[0] > 0
    for s in range(len(zeros)):
        n = zeros[s]
        if pos_hi[s] >= pos_lo[s]:
            for t in range(m):
                n += pos[s, t]
        if has_neg and neg_hi[s] >= neg_lo[s]:
            for t in range(m):
                n += neg[s, t]
        for q in range(len(qs)):
            if n == 0:
                out[s, q] = np.nan
                continue
            rank = qs[q] * (n - 1)
            cum = 0
            found = False
            if has_neg and neg_hi[s] >= neg_lo[s]:
                for t in range(m - 1, -1, -1):
                    cum += neg[s, t]
                    if cum > rank:
                        out[s, q] = -2.0 * gamma ** np.float64(neg_off[s] + t) / (gamma + 1.0)
                        found = True
                        break
            if found:
                continue
            cum += zeros[s]
            if cum > rank:
                out[s, q] = 0.0
                continue
            for t in range(m):
                cum += pos[s, t]
                if cum > rank:
                    out[s, q] = 2.0 * gamma ** np.float64(pos_off[s] + t) / (gamma + 1.0)
                    found = True
                    break
            if not found:  # rounding: rank is at most n - 1
                out[s, q] = np.nan


# ---------------------------------------------------------------------------
# SESSION windows: sequential assignment of rows to sessions.
# ---------------------------------------------------------------------------


@jit
def assign_sessions(parts, ts, wm, gap, delay, head, nxt, n_start, n_end, n_parent, n_open, n_part,
                    n_used, row_node, closed, n_closed):
    """Rows in arrival order; for each row: close the partition's open sessions
    whose ``end - 1 + delay <= wm[i]`` (appended to ``closed``), then merge every
    open session that overlaps or touches ``[ts, ts + gap)`` together with the
    row, or open a new session, or mark the row late (``row_node = -1``) when its
    own window ``[ts, ts + gap)`` is already due. Sessions are nodes of a
    union-find forest (``n_parent``); ``head[p]``/``nxt[node]`` chain the open
    roots of partition p. Python sizes the node arrays for len(ts) new nodes.
    Returns (nodes in use, closed count)."""
    for i in range(len(ts)):
        p = parts[i]
        t = ts[i]
        w = wm[i]
        e = t + gap
        target = -1
        prev = -1
        node = head[p]
        while node >= 0:
            nx = nxt[node]
            if n_end[node] - 1 + delay <= w:
                n_open[node] = False
                closed[n_closed] = node
                n_closed += 1
                if prev < 0:
                    head[p] = nx
                else:
                    nxt[prev] = nx
                node = nx
                continue
            if n_start[node] <= e and t <= n_end[node]:
                if target < 0:
                    target = node
                    n_start[target] = min(n_start[target], t)
                    n_end[target] = max(n_end[target], e)
                    prev = node
                else:
                    # absorb node into target, unlink it
                    n_start[target] = min(n_start[target], n_start[node])
                    n_end[target] = max(n_end[target], n_end[node])
                    n_parent[node] = target
                    n_open[node] = False
                    if prev < 0:
                        head[p] = nx
                    else:
                        nxt[prev] = nx
                node = nx
                continue
            prev = node
            node = nx
        if target >= 0:
            row_node[i] = target
            continue
        if e - 1 + delay <= w:
            row_node[i] = -1
            continue
        nd = n_used
        n_used += 1
        n_start[nd] = t
        n_end[nd] = e
        n_parent[nd] = nd
        n_open[nd] = True
        n_part[nd] = p
        nxt[nd] = head[p]
        head[p] = nd
        row_node[i] = nd
    return n_used, n_closed


@jit
def find_roots(parent, nodes, out):
    """Union-find roots with path compression; -1 stays -1."""
    for i in range(len(nodes)):
        x = nodes[i]
        if x < 0:
            out[i] = -1
            continue
        r = x
        while parent[r] != r:
            r = parent[r]
        while parent[x] != r:
            y = parent[x]
            parent[x] = r
            x = y
        out[i] = r


# ---------------------------------------------------------------------------
# Reference implementations (pure Python, same signatures) and the registry.
# ---------------------------------------------------------------------------


def _ref_table_insert(tk1, tk2, tval, k1, k2, out, start, n_used, limit):
    """Same ids as the kernel (the table's bucket layout is not compared)."""
    mapping = {(int(a), int(b)): int(v) for a, b, v in zip(tk1, tk2, tval) if v >= 0}
    for i in range(start, len(k1)):
        a, b = int(k1[i]), int(k2[i])
        if a < 0:
            out[i] = -1
            continue
        if (a, b) not in mapping:
            if n_used >= limit:
                return i, n_used
            mapping[(a, b)] = n_used
            n_used += 1
        out[i] = mapping[(a, b)]
    return len(k1), n_used


def _ref_table_lookup(tk1, tk2, tval, k1, k2, out):
    mapping = {(int(a), int(b)): int(v) for a, b, v in zip(tk1, tk2, tval) if v >= 0}
    for i in range(len(k1)):
        out[i] = mapping.get((int(k1[i]), int(k2[i])), -1) if k1[i] >= 0 else -1


def _ref_update_count(slots, cnt):
    for s in slots:
        if s >= 0:
            cnt[s] += 1


def _ref_update_sum(slots, vals, acc, cnt):
    for s, v in zip(slots, vals):
        if s >= 0:
            acc[s] += v
            cnt[s] += 1


def _ref_lt(a, b):  # total order with NaN largest
    an, bn = a != a, b != b
    if an or bn:
        return bn and not an
    return a < b


def _ref_update_min(slots, vals, has, best):
    for s, v in zip(slots, vals):
        if s >= 0 and (not has[s] or _ref_lt(v, best[s])):
            best[s] = v
            has[s] = True


def _ref_update_max(slots, vals, has, best):
    for s, v in zip(slots, vals):
        if s >= 0 and (not has[s] or _ref_lt(best[s], v)):
            best[s] = v
            has[s] = True


def _ref_update_moments(slots, vals, n, mean, m2):
    # two-pass definition on all values seen so far per slot, rebuilt from the
    # running state: merge each new value as a one-element group (Chan == Welford)
    for s, v in zip(slots, vals):
        if s >= 0:
            x = float(v)
            n[s] += 1
            d = x - mean[s]
            mean[s] += d / n[s]
            m2[s] += d * (x - mean[s])


def _ref_update_comoments(slots, xs, ys, n, mx, my, m2x, m2y, cxy):
    for s, x, y in zip(slots, xs, ys):
        if s >= 0:
            x, y = float(x), float(y)
            n[s] += 1
            dx = x - mx[s]
            mx[s] += dx / n[s]
            dy = y - my[s]
            my[s] += dy / n[s]
            m2x[s] += dx * (x - mx[s])
            m2y[s] += dy * (y - my[s])
            cxy[s] += dx * (y - my[s])


def _ref_update_count_signed(slots, retract, cnt):
    for s, r in zip(slots, retract):
        if s >= 0:
            cnt[s] += -1 if r else 1


def _ref_update_sum_signed(slots, retract, vals, acc, cnt):
    for s, r, v in zip(slots, retract, vals):
        if s >= 0 and not r:
            acc[s] += v
            cnt[s] += 1
        elif s >= 0:
            cnt[s] -= 1
            acc[s] = 0 if cnt[s] == 0 else acc[s] - v


def _ref_update_moments_signed(slots, retract, vals, n, mean, m2):
    # Welford, and for a retracted row the inverse of Chan's merge of a one-element group
    for s, r, v in zip(slots, retract, vals):
        if s < 0:
            continue
        x, n1 = float(v), int(n[s])
        if not r:
            n[s] = n1 + 1
            d = x - mean[s]
            mean[s] += d / n[s]
            m2[s] += d * (x - mean[s])
            continue
        n[s] = n1 - 1
        if n1 <= 1:
            mean[s], m2[s] = 0.0, 0.0
            continue
        m0 = (n1 * mean[s] - x) / (n1 - 1)
        m2[s] -= (x - m0) * (x - mean[s])
        mean[s] = m0


def _ref_update_arg_first(slots, seqs, has, best_seq, win_row):
    for i, (s, q) in enumerate(zip(slots, seqs)):
        if s >= 0 and (not has[s] or q < best_seq[s]):
            has[s], best_seq[s], win_row[s] = True, q, i


def _ref_update_arg_last(slots, seqs, has, best_seq, win_row):
    for i, (s, q) in enumerate(zip(slots, seqs)):
        if s >= 0 and (not has[s] or q > best_seq[s]):
            has[s], best_seq[s], win_row[s] = True, q, i


def _ref_batch_arg_min(slots, ranks, win_row):
    for i, s in enumerate(slots):
        if s >= 0 and (win_row[s] < 0 or ranks[i] < ranks[win_row[s]]):
            win_row[s] = i


def _ref_batch_arg_max(slots, ranks, win_row):
    for i, s in enumerate(slots):
        if s >= 0 and (win_row[s] < 0 or ranks[i] > ranks[win_row[s]]):
            win_row[s] = i


def _groups(idx, offs):
    return [list(idx[offs[g]: offs[g + 1]]) for g in range(len(offs) - 1)]


def _ref_combine_sum(idx, offs, acc, cnt, out_acc, out_cnt):
    for g, members in enumerate(_groups(idx, offs)):
        out_acc[g] = sum((acc[s] for s in members), acc.dtype.type(0))
        out_cnt[g] = sum(int(cnt[s]) for s in members)


def _ref_combine_arg_min(idx, offs, has, key, out_src):
    for g, members in enumerate(_groups(idx, offs)):
        w = -1
        for s in members:
            if has[s] and (w < 0 or _ref_lt(key[s], key[w])):
                w = s
        out_src[g] = w


def _ref_combine_arg_max(idx, offs, has, key, out_src):
    for g, members in enumerate(_groups(idx, offs)):
        w = -1
        for s in members:
            if has[s] and (w < 0 or _ref_lt(key[w], key[s])):
                w = s
        out_src[g] = w


def _ref_combine_moments(idx, offs, n, mean, m2, out_n, out_mean, out_m2):
    # naive pooled formulas: total mean and M2 = sum(m2 + n * (mean - total)^2)
    for g, members in enumerate(_groups(idx, offs)):
        nt = sum(float(n[s]) for s in members)
        if nt == 0:
            out_n[g], out_mean[g], out_m2[g] = 0.0, 0.0, 0.0
            continue
        mt = sum(float(n[s]) * mean[s] for s in members) / nt
        out_n[g] = nt
        out_mean[g] = mt
        out_m2[g] = sum(m2[s] + float(n[s]) * (mean[s] - mt) ** 2 for s in members if n[s] > 0)


def _ref_combine_comoments(idx, offs, n, mx, my, m2x, m2y, cxy, o_n, o_mx, o_my, o_m2x, o_m2y, o_cxy):
    for g, members in enumerate(_groups(idx, offs)):
        members = [s for s in members if n[s] > 0]
        nt = sum(float(n[s]) for s in members)
        if nt == 0:
            o_n[g] = o_mx[g] = o_my[g] = o_m2x[g] = o_m2y[g] = o_cxy[g] = 0.0
            continue
        ax = sum(float(n[s]) * mx[s] for s in members) / nt
        ay = sum(float(n[s]) * my[s] for s in members) / nt
        o_n[g], o_mx[g], o_my[g] = nt, ax, ay
        o_m2x[g] = sum(m2x[s] + n[s] * (mx[s] - ax) ** 2 for s in members)
        o_m2y[g] = sum(m2y[s] + n[s] * (my[s] - ay) ** 2 for s in members)
        o_cxy[g] = sum(cxy[s] + n[s] * (mx[s] - ax) * (my[s] - ay) for s in members)


def _ref_seal_runs(p_slots, p_vals, start, length, store, top):
    for s in sorted({int(v) for v in p_slots}):
        old = store[start[s]: start[s] + length[s]].tolist()
        new = [v for q, v in zip(p_slots, p_vals) if q == s]
        vals = sorted(old + new, key=lambda v: (v != v, v))
        store[top: top + len(vals)] = vals
        start[s], length[s] = top, len(vals)
        top += len(vals)
    return top


def _ref_select_percentiles(groups, vals, n_groups, q_cont, q_disc, out_cont, out_disc, out_n):
    members = [[v for g, v in zip(groups, vals) if g == k] for k in range(n_groups)]
    offs = np.arange(n_groups + 1, dtype=np.int64)
    lengths = np.array([len(m) for m in members], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    store = np.array([v for m in members for v in sorted(m, key=lambda v: (v != v, v))], vals.dtype)
    _ref_percentiles_from_runs(offs[:-1], offs, starts, lengths, store, q_cont, q_disc, out_cont, out_disc, out_n)


def _ref_percentiles_from_runs(idx, offs, start, length, store, q_cont, q_disc, out_cont, out_disc, out_n):
    for g, members in enumerate(_groups(idx, offs)):
        vals = sorted(
            (v for s in members for v in store[start[s]: start[s] + length[s]].tolist()),
            key=lambda v: (v != v, v),
        )
        out_n[g] = len(vals)
        if not vals:
            continue
        for t, q in enumerate(q_cont):
            pos = q * (len(vals) - 1)
            lo, hi = math.floor(pos), math.ceil(pos)
            out_cont[g, t] = vals[lo] + (pos - lo) * (vals[hi] - vals[lo]) if hi != lo else vals[lo]
        for t, q in enumerate(q_disc):
            out_disc[g, t] = vals[max(math.ceil(q * len(vals)) - 1, 0)]


def _ref_count_distinct_groups(idx, offs, ent_slot, ent_code, ent_order, slot_first, slot_count, out):
    for g, members in enumerate(_groups(idx, offs)):
        ms = {int(s) for s in members}
        out[g] = len({int(c) for s, c in zip(ent_slot, ent_code) if int(s) in ms})


def _ref_find_roots(parent, nodes, out):
    for i, x in enumerate(nodes):
        if x < 0:
            out[i] = -1
            continue
        while parent[x] != x:
            x = parent[x]
        out[i] = x


# --- example argument generators (rng -> tuple of arrays); outputs are fresh --


def _ex_slots(rng, n, n_slots):
    s = rng.integers(-1, n_slots, n).astype(np.int64)
    return s


def _ex_table_insert(rng):
    n = int(rng.integers(0, 200))
    cap = 1024
    k1 = rng.integers(-1, 20, n).astype(np.int64)
    k2 = rng.integers(-5, 5, n).astype(np.int64)
    tk1 = np.zeros(cap, np.int64)
    tk2 = np.zeros(cap, np.int64)
    tval = np.full(cap, -1, np.int64)
    return (tk1, tk2, tval, k1, k2, np.zeros(n, np.int64), 0, 0, 500)


def _ex_update_count(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    return (_ex_slots(rng, n, k), np.zeros(k, np.int64))


def _ex_update_sum(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    return (_ex_slots(rng, n, k), rng.integers(-1000, 1000, n).astype(np.int64),
            np.zeros(k, np.int64), np.zeros(k, np.int64))


def _ex_update_minmax(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    vals = rng.normal(size=n)
    vals[rng.random(n) < 0.05] = np.nan
    return (_ex_slots(rng, n, k), vals, np.zeros(k, np.bool_), np.zeros(k, np.float64))


def _ex_update_moments(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    return (_ex_slots(rng, n, k), rng.normal(5, 3, n), np.zeros(k, np.int64), np.zeros(k), np.zeros(k))


def _ex_update_comoments(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    x = rng.normal(5, 3, n)
    return (_ex_slots(rng, n, k), x, x * 2 + rng.normal(size=n), np.zeros(k, np.int64),
            *(np.zeros(k) for _ in range(5)))


def _ex_signed(make: Callable) -> Callable:
    """Arguments for a signed update: ``make``'s rows, about a third of them
    retracting, each only while its slot holds more additions than retractions."""

    def make_args(rng):
        slots, *rest = make(rng)
        held: dict[int, int] = {}
        retract = np.zeros(len(slots), np.bool_)
        for i, (s, coin) in enumerate(zip(slots.tolist(), rng.random(len(slots)) < 0.35)):
            retract[i] = coin and held.get(s, 0) > 0
            held[s] = held.get(s, 0) + (-1 if retract[i] else 1)
        return (slots, retract, *rest)

    return make_args


def _ex_update_arg(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    return (_ex_slots(rng, n, k), np.arange(n, dtype=np.int64) + 100, np.zeros(k, np.bool_),
            np.zeros(k, np.int64), np.full(k, -1, np.int64))


def _ex_batch_arg(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    return (_ex_slots(rng, n, k), rng.integers(0, 50, n).astype(np.int64), np.full(k, -1, np.int64))


def _ex_csr(rng, n_slots):
    g = int(rng.integers(0, 10))
    sizes = rng.integers(1, 5, g)
    idx = rng.integers(0, n_slots, int(sizes.sum())).astype(np.int64)
    offs = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return idx, offs, g


def _ex_combine_sum(rng):
    k = 12
    idx, offs, g = _ex_csr(rng, k)
    return (idx, offs, rng.integers(-100, 100, k).astype(np.int64), rng.integers(0, 9, k).astype(np.int64),
            np.zeros(g, np.int64), np.zeros(g, np.int64))


def _ex_combine_arg(rng):
    k = 12
    idx, offs, g = _ex_csr(rng, k)
    key = rng.integers(0, 5, k).astype(np.float64)
    key[rng.random(k) < 0.1] = np.nan
    return (idx, offs, rng.random(k) < 0.8, key, np.zeros(g, np.int64))


def _ex_combine_moments(rng):
    k = 12
    idx, offs, g = _ex_csr(rng, k)
    n = rng.integers(0, 9, k).astype(np.float64)
    mean = np.where(n > 0, rng.normal(size=k), 0.0)
    m2 = np.where(n > 1, rng.random(k) * n, 0.0)
    return (idx, offs, n, mean, m2, np.zeros(g), np.zeros(g), np.zeros(g))


def _ex_combine_comoments(rng):
    k = 12
    idx, offs, g = _ex_csr(rng, k)
    n = rng.integers(0, 9, k).astype(np.float64)
    z = lambda: np.where(n > 0, rng.normal(size=k), 0.0)
    return (idx, offs, n, z(), z(), np.abs(z()) * n, np.abs(z()) * n, z() * n, *(np.zeros(g) for _ in range(6)))


def _ex_seal_runs(rng):
    k = int(rng.integers(1, 7))
    lengths = rng.integers(0, 10, k).astype(np.int64)
    runs = [np.sort(rng.integers(0, 20, n).astype(np.float64)) for n in lengths]
    store = np.zeros(1000)
    store[: lengths.sum()] = np.concatenate(runs)
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    m = int(rng.integers(0, 400))  # long groups take numpy's sort, short ones numba's
    p_vals = rng.integers(0, 20, m).astype(np.float64)
    p_vals[rng.random(m) < 0.1] = np.nan
    return (rng.integers(0, k, m).astype(np.int64), p_vals, start, lengths, store, int(lengths.sum()))


def _ex_select_percentiles(rng):
    g = int(rng.integers(1, 6))
    m = int(rng.integers(0, 500))  # long groups take numpy's partition, short ones numba's sort
    vals = rng.integers(0, 50, m).astype(np.float64)
    vals[rng.random(m) < 0.05] = np.nan
    qc = np.array([0.0, 0.25, 0.5, 0.95, 1.0])
    qd = np.array([0.0, 0.3, 0.5, 0.99, 1.0])
    return (rng.integers(0, g, m).astype(np.int64), vals, g, qc, qd, np.full((g, 5), np.nan), np.zeros((g, 5)),
            np.zeros(g, np.int64))


def _ex_percentiles(rng):
    k = 8
    lengths = rng.integers(0, 30, k).astype(np.int64)
    store = np.concatenate([np.sort(rng.integers(0, 20, n).astype(np.float64)) for n in lengths])
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    idx, offs, g = _ex_csr(rng, k)
    qc = np.array([0.0, 0.25, 0.5, 0.95, 1.0])
    qd = np.array([0.0, 0.3, 0.5, 0.99, 1.0])
    return (idx, offs, start, lengths, store, qc, qd, np.zeros((g, 5)), np.zeros((g, 5)), np.zeros(g, np.int64))


def _ex_count_distinct(rng):
    k = 8
    m = int(rng.integers(0, 60))
    ent_slot = rng.integers(0, k, m).astype(np.int64)
    ent_code = rng.integers(0, 10, m).astype(np.int64)
    order = np.argsort(ent_slot, kind="stable").astype(np.int64)
    count = np.bincount(ent_slot, minlength=k).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    idx, offs, g = _ex_csr(rng, k)
    return (idx, offs, ent_slot, ent_code, order, first, count, np.zeros(g, np.int64))


def _ex_find_roots(rng):
    k = 20
    parent = np.arange(k, dtype=np.int64)
    for x in range(k):
        if rng.random() < 0.5 and x > 0:
            parent[x] = rng.integers(0, x)
    return (parent, rng.integers(-1, k, 30).astype(np.int64), np.zeros(30, np.int64))


@dataclass(frozen=True)
class Kernel:
    jit: Callable
    ref: Callable
    make_args: Callable[[np.random.Generator], tuple]
    compare: tuple[int, ...] | None = None  # argument positions to compare; None = all arrays


REGISTRY: dict[str, Kernel] = {
    "table_insert": Kernel(table_insert, _ref_table_insert, _ex_table_insert, compare=(5,)),
    "update_count": Kernel(update_count, _ref_update_count, _ex_update_count),
    "update_sum": Kernel(update_sum, _ref_update_sum, _ex_update_sum),
    "update_min": Kernel(update_min, _ref_update_min, _ex_update_minmax),
    "update_max": Kernel(update_max, _ref_update_max, _ex_update_minmax),
    "update_moments": Kernel(update_moments, _ref_update_moments, _ex_update_moments),
    "update_comoments": Kernel(update_comoments, _ref_update_comoments, _ex_update_comoments),
    "update_count_signed": Kernel(update_count_signed, _ref_update_count_signed,
                                  _ex_signed(_ex_update_count)),
    "update_sum_signed": Kernel(update_sum_signed, _ref_update_sum_signed, _ex_signed(_ex_update_sum)),
    "update_moments_signed": Kernel(update_moments_signed, _ref_update_moments_signed,
                                    _ex_signed(_ex_update_moments)),
    "update_arg_first": Kernel(update_arg_first, _ref_update_arg_first, _ex_update_arg),
    "update_arg_last": Kernel(update_arg_last, _ref_update_arg_last, _ex_update_arg),
    "batch_arg_min": Kernel(batch_arg_min, _ref_batch_arg_min, _ex_batch_arg),
    "batch_arg_max": Kernel(batch_arg_max, _ref_batch_arg_max, _ex_batch_arg),
    "combine_sum": Kernel(combine_sum, _ref_combine_sum, _ex_combine_sum),
    "combine_arg_min": Kernel(combine_arg_min, _ref_combine_arg_min, _ex_combine_arg),
    "combine_arg_max": Kernel(combine_arg_max, _ref_combine_arg_max, _ex_combine_arg),
    "combine_moments": Kernel(combine_moments, _ref_combine_moments, _ex_combine_moments),
    "combine_comoments": Kernel(combine_comoments, _ref_combine_comoments, _ex_combine_comoments),
    "seal_runs": Kernel(seal_runs, _ref_seal_runs, _ex_seal_runs),
    "select_percentiles": Kernel(select_percentiles, _ref_select_percentiles, _ex_select_percentiles),
    "percentiles_from_runs": Kernel(percentiles_from_runs, _ref_percentiles_from_runs, _ex_percentiles),
    "count_distinct_groups": Kernel(count_distinct_groups, _ref_count_distinct_groups, _ex_count_distinct),
    "find_roots": Kernel(find_roots, _ref_find_roots, _ex_find_roots, compare=(2,)),
}
"""Kernels whose reference shares their signature. The sketch and session
kernels are checked end to end instead (APPROX_PERCENTILE against
``aggregates.reference_aggregate`` within its error bound, in
tests/runtime_windows/test_windows_duckdb.py; SESSION windows against DuckDB in
tests/runtime_windows/test_sessions.py), since their references are whole
algorithms rather than loops."""

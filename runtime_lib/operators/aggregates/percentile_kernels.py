"""Numba kernels of PERCENTILE_CONT/DISC (exact: sorted runs) and
APPROX_PERCENTILE (a log-bucket sketch per slot); conventions as in
``kernels.py`` (slots, CSR groupings, outputs sized by Python).
"""

# ruff: noqa: PLR0124  (x != x is the NaN test numba compiles for every dtype)

from __future__ import annotations

import math

import numpy as np

from runtime_lib.jit import kernel_jit

jit = kernel_jit(__name__)

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


SORT_BELOW = 64  # a group this small is sorted in numba, as before the selection kernel (sessions of a few dozen values)


@jit
def _nan_last(seg):
    """Move the NaNs of ``seg`` to its end; returns the number of other values."""
    m = len(seg)
    i = 0
    while i < m:
        v = seg[i]
        if v != v:
            m -= 1
            seg[i] = seg[m]
            seg[m] = v
        else:
            i += 1
    return m


@jit
def _select_rank(seg, lo, hi, r):
    """Reorder ``seg[lo:hi]`` (no NaN) so that ``seg[r]`` is the value of
    rank r there, the values before it no larger and those after it no
    smaller (a quickselect with a median-of-three pivot and a three-way
    split, so runs of equal values end it early; after 2 log2(n) + 8 rounds
    the rest is sorted, which bounds the worst case)."""
    rounds = 8
    n = hi - lo
    while n > 1:
        rounds += 2
        n //= 2
    while hi - lo > SORT_BELOW:
        rounds -= 1
        if rounds == 0:
            break
        mid = (lo + hi - 1) // 2
        a = seg[lo]
        b = seg[mid]
        c = seg[hi - 1]
        if a > b:
            a, b = b, a
        pivot = b if b <= c else max(a, c)
        lt = lo
        i = lo
        gt = hi
        while i < gt:
            v = seg[i]
            if v < pivot:
                seg[i] = seg[lt]
                seg[lt] = v
                lt += 1
                i += 1
            elif v > pivot:
                gt -= 1
                seg[i] = seg[gt]
                seg[gt] = v
            else:
                i += 1
        if r < lt:
            hi = lt
        elif r >= gt:
            lo = gt
        else:
            return
    seg[lo:hi].sort()


@jit
def partition_groups(counts, buf, q_cont, q_disc):
    """Group g is ``buf[counts[g]:counts[g + 1]]``: put the values of the
    ranks ``ranks_from_groups`` reads in their sorted places (NaN last), as
    numpy's partition would, without sorting the group; small groups are
    sorted. One kernel call for all groups (no Python per group)."""
    n_ranks = 2 * len(q_cont) + len(q_disc)
    ranks = np.empty(n_ranks, np.int64)
    for g in range(len(counts) - 1):
        lo = counts[g]
        n = counts[g + 1] - lo
        if n == 0:
            continue
        seg = buf[lo: lo + n]
        if n < SORT_BELOW:
            seg.sort()
            continue
        m = _nan_last(seg)
        k = 0
        for t in range(len(q_cont)):
            pos = q_cont[t] * (n - 1)
            ranks[k] = math.floor(pos)
            ranks[k + 1] = math.ceil(pos)
            k += 2
        for t in range(len(q_disc)):
            ranks[k] = max(math.ceil(q_disc[t] * n) - 1, 0)
            k += 1
        ranks.sort()
        done = 0  # seg[:done] holds the ranks below it in place
        for j in range(n_ranks):
            r = ranks[j]
            if r >= m:  # a NaN's place: they are all last already
                break
            if r < done:
                continue
            _select_rank(seg, done, m, r)
            done = r + 1


def select_percentiles(groups, vals, n_groups, q_cont, q_disc, out_cont, out_disc, out_n):
    """Percentiles per group of values given as (group[i], vals[i]), without
    keeping them: counting sort by group, then each group partitioned at the
    ranks needed (``partition_groups``, no full sort)."""
    counts = np.zeros(n_groups + 1, np.int64)
    buf = np.empty(len(vals), vals.dtype)
    group_by_slot(groups, vals, counts, buf)
    out_n[:] = np.diff(counts)
    partition_groups(counts, buf, q_cont, q_disc)
    ranks_from_groups(counts, buf, 0, q_cont, q_disc, out_cont, out_disc)


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

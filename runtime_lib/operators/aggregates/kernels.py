"""Numba kernels of the aggregates: dumb loops writing into preallocated outputs.

Everything that decides (dtype checks, casting, growth of arrays, dispatch)
stays in Python in ``states.py``; a kernel only loops. Conventions shared by
every kernel here and in ``percentile_kernels.py``:

* a *slot* is an int64 row index into an operator's state arrays (one slot per
  (group key, pane) or (group key, session)); a slot of ``-1`` means "skip this
  row" (late, NULL argument, FILTER false);
* a *grouping* of slots is given in CSR form: ``idx`` lists source slots group
  after group and ``offs[g]:offs[g + 1]`` is the part of ``idx`` that belongs
  to group ``g`` (a window made of several panes, a merged session);
* kernels never allocate state; Python sizes the outputs.

Compilation and the on-disk cache: ``runtime_lib/jit.py``. Every kernel has a
pure-Python reference in ``runtime_lib/kernel_registry.py``; the kernel tests
compare both on the same inputs, the benchmarks time both.

>>> import numpy as np
>>> cnt = np.zeros(3, np.int64)
>>> update_count(np.array([0, 2, -1, 2]), cnt)
>>> cnt.tolist()
[1, 0, 2]
"""

# ruff: noqa: PLR0124  (x != x is the NaN test numba compiles for every dtype)

from __future__ import annotations

import numpy as np

from runtime_lib.jit import kernel_jit

jit = kernel_jit(__name__)

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
def unmatched_retractions(slots, retract, cnt, out):
    """``out[i]`` = row i retracts from a slot holding no row at that point
    (its key's state expired or was never there): Flink ignores such a
    retraction. ``cnt`` (each slot's rows before the batch) is updated in
    arrival order, without the ignored rows."""
    for i in range(len(slots)):
        s = slots[i]
        if s < 0:
            continue
        if not retract[i]:
            cnt[s] += 1
        elif cnt[s] > 0:
            cnt[s] -= 1
        else:
            out[i] = True


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
            if n1 <= 0:  # nothing to take back: its group was forgotten ('state.ttl')
                continue
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
# Chains: per slot a singly linked list of entries (``heads[slot]`` its first
# entry or -1, ``nxt[entry]`` the next or -1), e.g. the values a retractable
# MIN/MAX holds for a group. ``chain_lengths`` sizes, ``chain_fill`` lists.
# ---------------------------------------------------------------------------


@jit
def count_entries(eid, retract, cnt):
    """``cnt[eid[i]]`` += 1, or -= 1 where row i retracts; returns how many
    more entries hold rows (count > 0) than before."""
    live = 0
    for i in range(len(eid)):
        e = eid[i]
        before = cnt[e]
        cnt[e] = before - 1 if retract[i] else before + 1
        if before <= 0 < cnt[e]:
            live += 1
        elif cnt[e] <= 0 < before:
            live -= 1
    return live


@jit
def chain_lengths(heads, nxt, out):
    """``out[j]`` = the number of entries chained from ``heads[j]``."""
    for j in range(len(heads)):
        n = 0
        e = heads[j]
        while e >= 0:
            n += 1
            e = nxt[e]
        out[j] = n


@jit
def chain_fill(heads, nxt, offs, out):
    """The entries chained from ``heads[j]`` into ``out[offs[j]:offs[j + 1]]``."""
    for j in range(len(heads)):
        k = offs[j]
        e = heads[j]
        while e >= 0:
            out[k] = e
            k += 1
            e = nxt[e]


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

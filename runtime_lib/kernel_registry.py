"""Every numba kernel of the runtime with a pure-Python reference of the same
signature and a generator of example arguments: ``REGISTRY`` maps a kernel's
name to ``Kernel(jit, ref, make_args)``. The kernel tests
(``tests/runtime_windows/test_kernels.py``) run both on the same inputs and
compare every output array; the benchmarks (``benchmarks/windows``) time both.
"""

# ruff: noqa: PLR0124  (x != x is the NaN test)

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runtime_lib.keys import table_insert
from runtime_lib.operators.aggregates.kernels import (
    batch_arg_max,
    batch_arg_min,
    chain_fill,
    chain_lengths,
    combine_arg_max,
    combine_arg_min,
    combine_comoments,
    combine_moments,
    combine_sum,
    count_distinct_groups,
    count_entries,
    unmatched_retractions,
    update_arg_first,
    update_arg_last,
    update_comoments,
    update_count,
    update_count_signed,
    update_max,
    update_min,
    update_moments,
    update_moments_signed,
    update_sum,
    update_sum_signed,
)
from runtime_lib.operators.aggregates.percentile_kernels import (
    percentiles_from_runs,
    seal_runs,
    select_percentiles,
)
from runtime_lib.operators.windows.sessions import find_roots


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


def _ref_unmatched_retractions(slots, retract, cnt, out):
    for i, (s, r) in enumerate(zip(slots, retract)):
        if s < 0:
            continue
        if not r:
            cnt[s] += 1
        elif cnt[s] > 0:
            cnt[s] -= 1
        else:
            out[i] = True


def _ex_unmatched_retractions(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    return (_ex_slots(rng, n, k), rng.random(n) < 0.5, rng.integers(0, 3, k).astype(np.int64),
            np.zeros(n, np.bool_))


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
        if n1 <= 0:  # a value of a forgotten group: ignored
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


def _ref_count_entries(eid, retract, cnt):
    before = int((cnt > 0).sum())
    for e, r in zip(eid, retract):
        cnt[e] += -1 if r else 1
    return int((cnt > 0).sum()) - before


def _ex_count_entries(rng):
    n, k = int(rng.integers(0, 300)), int(rng.integers(1, 20))
    return (rng.integers(0, k, n).astype(np.int64), rng.random(n) < 0.4,
            rng.integers(-1, 3, k).astype(np.int64))


def _ref_chain_lengths(heads, nxt, out):
    for j, e in enumerate(heads):
        n = 0
        while e >= 0:
            n, e = n + 1, nxt[e]
        out[j] = n


def _ref_chain_fill(heads, nxt, offs, out):
    for j, e in enumerate(heads):
        k = offs[j]
        while e >= 0:
            out[k], k, e = e, k + 1, nxt[e]


def _ex_chains(rng):
    """Entries 0..n-1 spread over k chains (each entry in one), some heads of none."""
    n, k = int(rng.integers(0, 200)), int(rng.integers(1, 20))
    owner = rng.integers(0, k, n)
    heads, nxt = np.full(k, -1, np.int64), np.full(n, -1, np.int64)
    for e in rng.permutation(n).tolist():
        nxt[e], heads[owner[e]] = heads[owner[e]], e
    return heads, nxt


def _ex_chain_lengths(rng):
    heads, nxt = _ex_chains(rng)
    return heads, nxt, np.zeros(len(heads), np.int64)


def _ex_chain_fill(rng):
    heads, nxt = _ex_chains(rng)
    lengths = np.zeros(len(heads), np.int64)
    _ref_chain_lengths(heads, nxt, lengths)
    offs = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return heads, nxt, offs, np.full(int(offs[-1]), -1, np.int64)


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
    m = int(rng.integers(0, 500))
    # few distinct values (runs of equal ones) or all distinct; groups small
    # (sorted) and large (selected)
    vals = rng.integers(0, 50, m).astype(np.float64) if rng.random() < 0.5 else rng.normal(0, 1, m)
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
    "unmatched_retractions": Kernel(unmatched_retractions, _ref_unmatched_retractions,
                                    _ex_unmatched_retractions),
    "update_sum_signed": Kernel(update_sum_signed, _ref_update_sum_signed, _ex_signed(_ex_update_sum)),
    "update_moments_signed": Kernel(update_moments_signed, _ref_update_moments_signed,
                                    _ex_signed(_ex_update_moments)),
    "update_arg_first": Kernel(update_arg_first, _ref_update_arg_first, _ex_update_arg),
    "update_arg_last": Kernel(update_arg_last, _ref_update_arg_last, _ex_update_arg),
    "batch_arg_min": Kernel(batch_arg_min, _ref_batch_arg_min, _ex_batch_arg),
    "batch_arg_max": Kernel(batch_arg_max, _ref_batch_arg_max, _ex_batch_arg),
    "count_entries": Kernel(count_entries, _ref_count_entries, _ex_count_entries),
    "chain_lengths": Kernel(chain_lengths, _ref_chain_lengths, _ex_chain_lengths),
    "chain_fill": Kernel(chain_fill, _ref_chain_fill, _ex_chain_fill),
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
kernels are checked end to end instead (``aggregates.reference_approx_percentile``
and the SESSION differential tests), since their references are whole
algorithms rather than loops."""

"""Aggregate state: columnar arrays per slot, one layout per kind of function
(counts, sums, extremes, moments, distinct sets, sorted runs, sketches), and
``AggregateStates``, all the aggregates of one operator. See the package
docstring.
"""



from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from runtime_lib.columns import FILLERS, Column
from runtime_lib.keys import Dictionary, PairTable, numeric_bits
from runtime_lib.operators.aggregates import kernels as K
from runtime_lib.operators.aggregates.listagg import ListAggState
from runtime_lib.operators.aggregates import percentile_kernels as PK
from runtime_lib.aggregate_specs import (
    RETRACTABLE,
    VARIANCE_FUNCS,
    Agg,
    accumulator_key,
    accumulator_names,
    result_kind,
)


def _grow(arr: np.ndarray, cap: int, fill) -> np.ndarray:
    if arr.shape[0] >= cap:
        return arr
    new = np.full((cap,) + arr.shape[1:], fill, dtype=arr.dtype)
    new[: arr.shape[0]] = arr
    return new


def _nullable(values: np.ndarray, valid: np.ndarray, kind: str) -> Column:
    if valid.all():
        return Column(values)
    values = values.copy()
    values[~valid] = FILLERS[kind]
    return Column(values, valid)


def _store_dtype(kind: str):
    return object if kind == "O" else (np.float64 if kind == "f" else np.int64)


def _is_singletons(offs: np.ndarray) -> bool:
    return len(offs) - 1 == (offs[-1] - offs[0]) if len(offs) else True


class _State:
    """Interface of one state layout serving one or more Agg specs."""

    arrays: tuple[str, ...] = ()  # names of per-slot arrays (first axis = slot)
    fills: tuple = ()
    retractable = False  # has ``update_signed(slots, cols, retract)``

    def ensure(self, cap: int) -> None:
        for name, fill in zip(self.arrays, self.fills):
            setattr(self, name, _grow(getattr(self, name), cap, fill))

    def take(self, keep: np.ndarray) -> None:
        for name in self.arrays:
            setattr(self, name, getattr(self, name)[keep])

    def snapshot(self) -> dict:
        return {name: getattr(self, name) for name in self.arrays}

    def restore(self, snap: dict) -> None:
        for name in self.arrays:
            setattr(self, name, np.array(snap[name]))

    def merge(self, idx: np.ndarray, offs: np.ndarray) -> None:
        raise NotImplementedError


class CountState(_State):
    arrays, fills = ("cnt",), (0,)

    def __init__(self):
        self.cnt = np.zeros(0, np.int64)

    retractable = True

    def update(self, slots, cols, seqs):
        K.update_count(slots, self.cnt)

    def update_signed(self, slots, cols, retract):
        K.update_count_signed(slots, retract, self.cnt)

    def _combined(self, idx, offs):
        if _is_singletons(offs):
            return self.cnt[idx]
        out = np.zeros(len(offs) - 1, np.int64)
        K.combine_sum(idx, offs, self.cnt, self.cnt, out, np.zeros(len(out), np.int64))
        return out

    def results(self, aggs, idx, offs):
        c = self._combined(idx, offs)
        return [Column(c.copy()) for _ in aggs]

    def merge(self, idx, offs):
        self.cnt = self._combined(idx, offs)


class SumState(_State):
    """SUM and AVG of one argument."""

    arrays, fills = ("acc", "cnt"), (0, 0)

    def __init__(self, kind):
        self.kind = kind
        self.acc = np.zeros(0, np.float64 if kind == "f" else np.int64)
        self.cnt = np.zeros(0, np.int64)

    retractable = True

    def update(self, slots, cols, seqs):
        K.update_sum(slots, cols[0].values, self.acc, self.cnt)

    def update_signed(self, slots, cols, retract):
        K.update_sum_signed(slots, retract, cols[0].values, self.acc, self.cnt)

    def _combined(self, idx, offs):
        if _is_singletons(offs):
            return self.acc[idx], self.cnt[idx]
        acc = np.zeros(len(offs) - 1, self.acc.dtype)
        cnt = np.zeros(len(offs) - 1, np.int64)
        K.combine_sum(idx, offs, self.acc, self.cnt, acc, cnt)
        return acc, cnt

    def results(self, aggs, idx, offs):
        acc, cnt = self._combined(idx, offs)
        out = []
        for agg in aggs:
            if agg.func == "sum":
                out.append(_nullable(acc.copy(), cnt > 0, self.kind))
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    avg = acc.astype(np.float64) / cnt
                out.append(_nullable(avg, cnt > 0, "f"))
        return out

    def merge(self, idx, offs):
        self.acc, self.cnt = self._combined(idx, offs)


def _batch_ranks(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Ranks (by Python ordering, i.e. code point for str) of values[rows],
    as an int64 array over all rows of the batch (0 elsewhere)."""
    ranks = np.zeros(len(values), np.int64)
    if len(rows):
        _, inv = np.unique(values[rows], return_inverse=True)
        ranks[rows] = inv
    return ranks


class MinMaxState(_State):
    arrays, fills = ("has", "best"), (False, None)

    def __init__(self, kind, is_min):
        self.kind, self.is_min = kind, is_min
        self.has = np.zeros(0, bool)
        self.best = np.zeros(0, _store_dtype(kind) if kind != "b" else np.int64)
        self.fills = (False, None if kind == "O" else 0)
        self._win = np.zeros(0, np.int64)

    def ensure(self, cap):
        super().ensure(cap)
        self._win = _grow(self._win, cap, -1)

    def take(self, keep):
        super().take(keep)
        self._win = np.full(len(keep), -1, np.int64)

    def update(self, slots, cols, seqs):
        vals = cols[0].values
        if self.kind == "O":
            rows = np.flatnonzero(slots >= 0)
            ranks = _batch_ranks(vals, rows)
            (K.batch_arg_min if self.is_min else K.batch_arg_max)(slots, ranks, self._win)
            winners = rows[self._win[slots[rows]] == rows]
            ws = slots[winners]
            self._win[ws] = -1
            cand = vals[winners]
            cur = self.best[ws]
            had = self.has[ws]
            if self.is_min:
                better = [not h or c < b for c, b, h in zip(cand, cur, had)]
            else:
                better = [not h or c > b for c, b, h in zip(cand, cur, had)]
            better = np.array(better, dtype=bool)
            self.best[ws[better]] = cand[better]
            self.has[ws] = True
            return
        if self.kind == "b":
            vals = vals.astype(np.int64)
        (K.update_min if self.is_min else K.update_max)(slots, vals, self.has, self.best)

    def _winners(self, idx, offs):
        if _is_singletons(offs):
            return np.where(self.has[idx], idx, -1)
        key = self.best
        if self.kind == "O":
            key = np.zeros(len(self.best), np.int64)
            live = idx[self.has[idx]]
            key[live] = _batch_ranks(self.best, live)[live]
        src = np.empty(len(offs) - 1, np.int64)
        (K.combine_arg_min if self.is_min else K.combine_arg_max)(idx, offs, self.has, key, src)
        return src

    def results(self, aggs, idx, offs):
        src = self._winners(idx, offs)
        ok = src >= 0
        vals = self.best[np.where(ok, src, 0)]
        if self.kind == "b":
            vals = vals.astype(bool)
        return [_nullable(vals, ok, self.kind) for _ in aggs]

    def merge(self, idx, offs):
        src = self._winners(idx, offs)
        self.best, self.has = self.best[np.where(src >= 0, src, 0)], src >= 0
        self._win = np.full(len(src), -1, np.int64)

    def snapshot(self):
        if self.kind == "O":
            return {"has": self.has, "best": [v if h else None for v, h in zip(self.best.tolist(), self.has)]}
        return super().snapshot()

    def restore(self, snap):
        self.has = np.array(snap["has"], bool)
        if self.kind == "O":
            self.best = np.empty(len(snap["best"]), object)
            self.best[:] = list(snap["best"])
        else:
            self.best = np.array(snap["best"])
        self._win = np.full(len(self.has), -1, np.int64)


class FirstLastState(MinMaxState):
    """FIRST_VALUE / LAST_VALUE by arrival sequence number (NULLs skipped)."""

    arrays = ("has", "best", "seq")

    def __init__(self, kind, is_first):
        super().__init__(kind, is_first)
        self.seq = np.zeros(0, np.int64)
        self.fills = (False, None if kind == "O" else 0, 0)

    def update(self, slots, cols, seqs):
        vals = cols[0].values
        (K.update_arg_first if self.is_min else K.update_arg_last)(slots, seqs, self.has, self.seq, self._win)
        rows = np.flatnonzero(slots >= 0)
        winners = rows[self._win[slots[rows]] == rows]
        ws = slots[winners]
        self._win[ws] = -1
        self.best[ws] = vals[winners] if self.kind != "b" else vals[winners].astype(np.int64)

    def _winners(self, idx, offs):
        if _is_singletons(offs):
            return np.where(self.has[idx], idx, -1)
        src = np.empty(len(offs) - 1, np.int64)
        (K.combine_arg_min if self.is_min else K.combine_arg_max)(idx, offs, self.has, self.seq, src)
        return src

    def merge(self, idx, offs):
        src = self._winners(idx, offs)
        pick = np.where(src >= 0, src, 0)
        self.best, self.seq, self.has = self.best[pick], self.seq[pick], src >= 0
        self._win = np.full(len(src), -1, np.int64)

    def snapshot(self):
        snap = super().snapshot()
        snap["seq"] = self.seq
        return snap

    def restore(self, snap):
        super().restore(snap)
        self.seq = np.array(snap["seq"], np.int64)


class MomentsState(_State):
    """Welford moments serving STDDEV/VARIANCE in all their variants."""

    arrays, fills = ("n", "mean", "m2"), (0, 0.0, 0.0)

    def __init__(self):
        self.n = np.zeros(0, np.int64)
        self.mean = np.zeros(0)
        self.m2 = np.zeros(0)

    retractable = True

    def update(self, slots, cols, seqs):
        K.update_moments(slots, cols[0].values, self.n, self.mean, self.m2)

    def update_signed(self, slots, cols, retract):
        K.update_moments_signed(slots, retract, cols[0].values, self.n, self.mean, self.m2)

    def _combined(self, idx, offs):
        if _is_singletons(offs):
            return self.n[idx].astype(np.float64), self.mean[idx], self.m2[idx]
        g = len(offs) - 1
        n, mean, m2 = np.zeros(g), np.zeros(g), np.zeros(g)
        K.combine_moments(idx, offs, self.n, self.mean, self.m2, n, mean, m2)
        return n, mean, m2

    def results(self, aggs, idx, offs):
        n, _, m2 = self._combined(idx, offs)
        m2 = np.maximum(m2, 0.0)
        out = []
        with np.errstate(invalid="ignore", divide="ignore"):
            for agg in aggs:
                pop = agg.func in ("stddev_pop", "var_pop")
                v = m2 / n if pop else m2 / (n - 1)
                if agg.func.startswith("stddev"):
                    v = np.sqrt(v)
                out.append(_nullable(v, n >= (1 if pop else 2), "f"))
        return out

    def merge(self, idx, offs):
        n, self.mean, self.m2 = self._combined(idx, offs)
        self.n = n.astype(np.int64)


class CorrState(_State):
    arrays, fills = ("n", "mx", "my", "m2x", "m2y", "cxy"), (0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def __init__(self):
        self.n = np.zeros(0, np.int64)
        self.mx, self.my, self.m2x, self.m2y, self.cxy = (np.zeros(0) for _ in range(5))

    def update(self, slots, cols, seqs):
        K.update_comoments(slots, cols[0].values, cols[1].values, self.n, self.mx, self.my,
                           self.m2x, self.m2y, self.cxy)

    def _combined(self, idx, offs):
        if _is_singletons(offs):
            return [self.n[idx].astype(np.float64)] + [getattr(self, a)[idx] for a in self.arrays[1:]]
        g = len(offs) - 1
        outs = [np.zeros(g) for _ in range(6)]
        K.combine_comoments(idx, offs, self.n, self.mx, self.my, self.m2x, self.m2y, self.cxy, *outs)
        return outs

    def results(self, aggs, idx, offs):
        n, _, _, m2x, m2y, cxy = self._combined(idx, offs)
        ok = (n >= 2) & (m2x > 0) & (m2y > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.clip(cxy / np.sqrt(m2x * m2y), -1.0, 1.0)
        return [_nullable(r, ok, "f") for _ in aggs]

    def merge(self, idx, offs):
        outs = self._combined(idx, offs)
        outs[0] = outs[0].astype(np.int64)
        for name, arr in zip(self.arrays, outs):
            setattr(self, name, arr)


class DistinctState(_State):
    """COUNT(DISTINCT x): the set of (slot, value code) pairs, deduplicated on insert."""

    arrays, fills = ("cnt",), (0,)

    def __init__(self, kind):
        self.kind = kind
        self.cnt = np.zeros(0, np.int64)
        self.pairs = PairTable()
        self.dictionary = Dictionary("O") if kind == "O" else None

    def _codes(self, slots: np.ndarray, col: Column) -> np.ndarray:
        if self.kind == "O":
            codes = np.zeros(len(slots), np.int64)
            rows = np.flatnonzero(slots >= 0)
            codes[rows] = self.dictionary.encode(Column(col.values[rows]))
            return codes
        return numeric_bits(Column(col.values), self.kind)

    def update(self, slots, cols, seqs):
        n_before = self.pairs.n
        self.pairs.insert(slots, self._codes(slots, cols[0]))
        if self.pairs.n > n_before:
            np.add.at(self.cnt, self.pairs.keys1[n_before: self.pairs.n], 1)

    def _counts(self, idx, offs):
        if _is_singletons(offs):
            return self.cnt[idx]
        n = self.pairs.n
        ent_slot = self.pairs.keys1[:n]
        order = np.argsort(ent_slot, kind="stable")
        count = np.bincount(ent_slot, minlength=len(self.cnt)).astype(np.int64)
        first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        out = np.zeros(len(offs) - 1, np.int64)
        K.count_distinct_groups(idx, offs, ent_slot, self.pairs.keys2[:n], order, first, count, out)
        return out

    def results(self, aggs, idx, offs):
        c = self._counts(idx, offs)
        return [Column(c.copy()) for _ in aggs]

    def _rebuild(self, new_slot_of_old: np.ndarray, n_new: int) -> None:
        n = self.pairs.n
        slot = new_slot_of_old[self.pairs.keys1[:n]] if n else np.zeros(0, np.int64)
        code = self.pairs.keys2[:n]
        live = slot >= 0
        table = PairTable()
        table.insert(slot[live], code[live])  # dedupes pairs that now share a slot
        self.pairs = table
        self.cnt = np.bincount(table.keys1[: table.n], minlength=n_new).astype(np.int64)
        if self.dictionary is not None and len(self.dictionary) > 2 * table.n + 4096:
            self._compact_dictionary()

    def _compact_dictionary(self) -> None:
        n = self.pairs.n
        live = np.unique(self.pairs.keys2[:n])
        values = self.dictionary.decode(live)
        fresh = Dictionary("O")
        codes = fresh.encode(values)
        remap = np.full(len(self.dictionary), -1, np.int64)
        remap[live] = codes
        self.dictionary = fresh
        self.pairs = PairTable.from_pairs(self.pairs.keys1[:n], remap[self.pairs.keys2[:n]])

    def take(self, keep):
        new = np.full(len(self.cnt), -1, np.int64)
        new[keep] = np.arange(len(keep))
        self._rebuild(new, len(keep))

    def merge(self, idx, offs):
        new = np.full(len(self.cnt), -1, np.int64)
        new[idx] = np.repeat(np.arange(len(offs) - 1), np.diff(offs))
        self._rebuild(new, len(offs) - 1)

    def ensure(self, cap):
        self.cnt = _grow(self.cnt, cap, 0)

    def snapshot(self):
        n = self.pairs.n
        snap = {"cnt": self.cnt, "slot": self.pairs.keys1[:n].copy(), "code": self.pairs.keys2[:n].copy()}
        if self.dictionary is not None:
            snap["dictionary"] = self.dictionary.decode(np.arange(len(self.dictionary))).to_pylist()
        return snap

    def restore(self, snap):
        self.cnt = np.array(snap["cnt"], np.int64)
        if self.dictionary is not None:
            self.dictionary = Dictionary("O")
            vals = np.empty(len(snap["dictionary"]), object)
            vals[:] = list(snap["dictionary"])
            self.dictionary.encode(Column(vals))
        self.pairs = PairTable.from_pairs(np.asarray(snap["slot"], np.int64), np.asarray(snap["code"], np.int64))


class PercentileState(_State):
    """Exact PERCENTILE_CONT / PERCENTILE_DISC of one argument: sorted runs."""

    arrays, fills = ("start", "length"), (0, 0)

    def __init__(self, kind):
        self.kind = kind
        self.dtype = np.float64 if kind == "f" else np.int64
        self.start = np.zeros(0, np.int64)
        self.length = np.zeros(0, np.int64)
        self.store = np.zeros(1024, self.dtype)
        self.top = 0
        self.garbage = 0
        self._pend_slots: list[np.ndarray] = []
        self._pend_vals: list[np.ndarray] = []

    def update(self, slots, cols, seqs):
        keep = slots >= 0
        if keep.any():
            self._pend_slots.append(slots[keep])
            self._pend_vals.append(cols[0].values[keep].astype(self.dtype, copy=False))

    def _reserve(self, extra: int) -> None:
        need = self.top + extra
        if need > len(self.store):
            live = int(self.length.sum())
            if self.garbage > live // 2:
                self._compact(extra)
                need = self.top + extra
            if need > len(self.store):
                new = np.zeros(max(need, 2 * len(self.store)), self.dtype)
                new[: self.top] = self.store[: self.top]
                self.store = new

    def _compact(self, extra: int = 0) -> None:
        live = int(self.length.sum())
        new = np.zeros(max(1024, 2 * (live + extra)), self.dtype)
        self.top = PK.compact_runs(self.start, self.length, self.store, new)
        self.store = new
        self.garbage = 0

    def _take_pending(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remove and return the pending values of slots ``idx``."""
        if not self._pend_slots:
            return np.zeros(0, np.int64), np.zeros(0, self.dtype)
        slots = np.concatenate(self._pend_slots)
        vals = np.concatenate(self._pend_vals)
        want = np.zeros(len(self.length), bool)
        want[idx] = True
        sel = want[slots]
        self._pend_slots, self._pend_vals = ([slots[~sel]], [vals[~sel]]) if not sel.all() else ([], [])
        return slots[sel], vals[sel]

    def seal(self) -> None:
        if not self._pend_slots:
            return
        slots = np.concatenate(self._pend_slots)
        vals = np.concatenate(self._pend_vals)
        self._pend_slots, self._pend_vals = [], []
        touched = np.bincount(slots, minlength=len(self.length)) > 0
        old = int(self.length[touched].sum())
        self._reserve(old + len(vals))
        self.top = PK.seal_runs(slots, vals, self.start, self.length, self.store, self.top)
        self.garbage += old

    def results(self, aggs, idx, offs, final: bool = False):
        g = len(offs) - 1
        qc = np.array([a.param for a in aggs if a.func == "percentile_cont"], np.float64)
        qd = np.array([a.param for a in aggs if a.func == "percentile_disc"], np.float64)
        out_c = np.full((g, len(qc)), np.nan)
        out_d = np.zeros((g, len(qd)), self.dtype)
        n = np.zeros(g, np.int64)
        if final and _is_singletons(offs):
            # the slots are freed right after (a TUMBLE window, a session): select
            # the ranks from their values, no sorted run is kept
            slots, vals = self._take_pending(idx)
            sealed = idx[self.length[idx] > 0]
            if len(sealed):  # (runs exist after a restore or a session merge)
                runs = [self.store[a: a + n] for a, n in zip(self.start[sealed], self.length[sealed])]
                slots = np.concatenate([slots, np.repeat(sealed, self.length[sealed])])
                vals = np.concatenate([vals] + runs)
            group_of = np.full(len(self.length), -1, np.int64)
            group_of[idx] = np.arange(g)
            PK.select_percentiles(group_of[slots], vals, g, qc, qd, out_c, out_d, n)
        else:
            self.seal()
            PK.percentiles_from_runs(idx, offs, self.start, self.length, self.store, qc, qd, out_c, out_d, n)
        ok = n > 0
        cols, ic, id_ = [], 0, 0
        for a in aggs:
            if a.func == "percentile_cont":
                cols.append(_nullable(out_c[:, ic].copy(), ok, "f"))
                ic += 1
            else:
                cols.append(_nullable(out_d[:, id_].copy(), ok, self.kind))
                id_ += 1
        return cols

    def take(self, keep):
        prefix = np.array_equal(keep, np.arange(len(keep)))  # slots kept in place (a snapshot)
        if prefix and all(not len(s) or int(s.max()) < len(keep) for s in self._pend_slots):
            pass  # pending values keep their slots: nothing to renumber
        elif self._pend_slots:  # renumber pending values, drop those of freed slots
            remap = np.full(len(self.length), -1, np.int64)
            remap[keep] = np.arange(len(keep))
            slots = remap[np.concatenate(self._pend_slots)]
            vals = np.concatenate(self._pend_vals)
            live = slots >= 0
            self._pend_slots, self._pend_vals = [slots[live]], [vals[live]]
        self.garbage += int(self.length.sum()) - int(self.length[keep].sum())
        super().take(keep)
        if self.garbage > max(1 << 16, int(self.length.sum())):
            self._compact()

    def merge(self, idx, offs):
        self.seal()
        g = len(offs) - 1
        start = np.zeros(g, np.int64)
        length = np.zeros(g, np.int64)
        total = int(self.length[idx].sum())
        self._reserve(total)
        self.garbage += int(self.length.sum())
        self.top = PK.merge_runs(idx, offs, self.start, self.length, self.store, start, length, self.top)
        self.start, self.length = start, length

    def snapshot(self):
        self.seal()
        self._compact()
        return {"length": self.length, "store": self.store[: self.top].copy()}

    def restore(self, snap):
        self.length = np.array(snap["length"], np.int64)
        self.start = np.concatenate([[0], np.cumsum(self.length)[:-1]]).astype(np.int64)
        store = np.asarray(snap["store"], self.dtype)
        self.store = np.zeros(max(1024, 2 * len(store)), self.dtype)
        self.store[: len(store)] = store
        self.top = len(store)
        self.garbage = 0
        self._pend_slots, self._pend_vals = [], []


class SketchState(_State):
    """APPROX_PERCENTILE: one log-bucket histogram per slot (see module docstring)."""

    arrays = ("pos", "pos_off", "pos_lo", "pos_hi", "neg", "neg_off", "neg_lo", "neg_hi", "zeros")
    fills = (0, 0, 1, 0, 0, 0, 1, 0, 0)

    def __init__(self, alpha, buckets):
        self.alpha, self.buckets = alpha, buckets
        self.gamma = (1.0 + alpha) / (1.0 - alpha)
        self.inv_log_gamma = 1.0 / math.log(self.gamma)
        self.pos = np.zeros((0, buckets), np.int32)
        self.neg = np.zeros((0, buckets), np.int32)  # allocated on the first negative value
        for name in ("pos_off", "pos_lo", "pos_hi", "neg_off", "neg_lo", "neg_hi", "zeros"):
            setattr(self, name, np.zeros(0, np.int64))

    def ensure(self, cap):
        neg_used = self.neg.shape[0] > 0
        for name, fill in zip(self.arrays, self.fills):
            if name == "neg" and not neg_used:
                continue
            setattr(self, name, _grow(getattr(self, name), cap, fill))

    def take(self, keep):
        for name in self.arrays:
            if name == "neg" and self.neg.shape[0] == 0:
                continue
            setattr(self, name, getattr(self, name)[keep])

    def update(self, slots, cols, seqs):
        vals = cols[0].values
        if self.neg.shape[0] == 0 and np.any((vals < 0) & (slots >= 0)):
            self.neg = np.zeros((len(self.pos_off), self.buckets), np.int32)
        PK.update_sketch(slots, vals, self.inv_log_gamma, self.pos, self.pos_off, self.pos_lo, self.pos_hi,
                        self.neg, self.neg_off, self.neg_lo, self.neg_hi, self.zeros)

    def _combined(self, idx, offs):
        g = len(offs) - 1
        m = self.buckets
        o_pos = np.zeros((g, m), np.int32)
        o_neg = np.zeros((g if self.neg.shape[0] else 0, m), np.int32)
        o = [np.zeros(g, np.int64) for _ in range(7)]
        PK.combine_sketch(idx, offs, self.pos, self.pos_off, self.pos_lo, self.pos_hi, self.neg, self.neg_off,
                         self.neg_lo, self.neg_hi, self.zeros, o_pos, o[0], o[1], o[2], o_neg, o[3], o[4],
                         o[5], o[6])
        return [o_pos, o[0], o[1], o[2], o_neg, o[3], o[4], o[5], o[6]]

    def results(self, aggs, idx, offs):
        parts = self._combined(idx, offs)
        qs = np.array([a.param for a in aggs], np.float64)
        out = np.zeros((len(offs) - 1, len(qs)))
        PK.sketch_quantiles(self.gamma, *parts, qs, out)
        return [_nullable(out[:, t].copy(), ~np.isnan(out[:, t]), "f") for t in range(len(qs))]

    def merge(self, idx, offs):
        for name, arr in zip(self.arrays, self._combined(idx, offs)):
            setattr(self, name, arr)

    def restore(self, snap):
        super().restore(snap)
        self.pos = self.pos.astype(np.int32).reshape(-1, self.buckets)
        self.neg = self.neg.astype(np.int32).reshape(-1, self.buckets)


@dataclass
class _Part:
    state: _State
    inputs: tuple[int, ...]  # argument columns the state reads
    filter: int | None
    positions: list[int]  # positions of the Aggs it serves
    count_star: bool = False


class AggregateStates:
    """The state of all aggregates of one operator, over ``n_slots`` slots.

    ``rows`` counts every row added to a slot (a window exists when it has one).
    ``update(slots, args, filters, seqs, retract=None)``: ``slots[i]`` is row
    i's slot or -1; ``args`` the argument columns, ``filters`` boolean masks
    (None = all true), ``seqs`` the rows' arrival sequence numbers (for
    FIRST/LAST_VALUE); ``retract`` marks rows that take an earlier row back
    (-D/-U of an updating input): they are applied with the inverse of each
    aggregate's update, which only ``RETRACTABLE`` functions have; MIN and MAX
    only with ``updating_input`` (they then keep a count per distinct value,
    ``extremes.MinMaxRetractState``)."""

    def __init__(self, aggs: list[Agg], arg_kinds: list[str], updating_input: bool = False,
                 arg_names: list[str] | None = None, filter_names: list[str] | None = None):
        self.aggs = list(aggs)
        self.arg_kinds = list(arg_kinds)
        self.updating_input = updating_input
        self.arg_names, self.filter_names = arg_names, filter_names
        self.output_kinds = [result_kind(a, self.arg_kinds) for a in self.aggs]
        self.rows = CountState()
        self.n_slots = 0
        self._parts: list[_Part] = []
        self.part_names: list[str] = []  # what a snapshot stores each part under
        names = accumulator_names(self.aggs, arg_names, filter_names)
        # each aggregate's result by what it computes, not by its column's name (an
        # edit of the projection renames columns): an operator's emitted rows are
        # checkpointed under these
        self.result_names = [
            " ".join([a.func, *([f"param={a.param}"] if a.param is not None else []),
                      *([f"separator={a.separator!r}"] if a.separator is not None else []), name])
            for a, name in zip(self.aggs, names, strict=True)]
        shared: dict[tuple, _Part] = {}
        for pos, a in enumerate(self.aggs):
            key = accumulator_key(a, pos)
            if key not in shared:
                make, inputs = self._accumulator(a)
                shared[key] = _Part(make(), inputs, a.filter, [], a.func == "count_star")
                self._parts.append(shared[key])
                self.part_names.append(names[pos])
            shared[key].positions.append(pos)

    def _accumulator(self, a: Agg):
        """(a constructor of the state serving ``a``, the argument columns it reads)."""
        kind = self.arg_kinds[a.arg] if a.arg is not None else None
        if a.func == "count_star":
            return CountState, ()
        if a.func == "count" and a.distinct:
            return (lambda: DistinctState(kind)), (a.arg,)
        if a.func == "count":
            return CountState, (a.arg,)
        if a.func in ("sum", "avg"):
            return (lambda: SumState(kind)), (a.arg,)
        if a.func in ("min", "max"):
            from runtime_lib.operators.aggregates.extremes import MinMaxRetractState

            extreme = MinMaxRetractState if self.updating_input else MinMaxState
            return (lambda: extreme(kind, a.func == "min")), (a.arg,)
        if a.func in ("first_value", "last_value"):
            return (lambda: FirstLastState(kind, a.func == "first_value")), (a.arg,)
        if a.func == "listagg":  # the separators are the Aggs' own, read at results
            return ListAggState, (a.arg,)
        if a.func in VARIANCE_FUNCS:
            return MomentsState, (a.arg,)
        if a.func == "corr":
            return CorrState, (a.arg, a.arg2)
        if a.func in ("percentile_cont", "percentile_disc"):
            return (lambda: PercentileState(kind)), (a.arg,)
        return (lambda: SketchState(a.alpha, a.sketch_buckets)), (a.arg,)

    def ensure(self, n_slots: int) -> None:
        """Make room for slots 0..n_slots-1 (new slots start empty)."""
        self.n_slots = max(self.n_slots, n_slots)
        cap = len(self.rows.cnt)
        if n_slots > cap:
            cap = max(16, n_slots, 2 * cap)
            self.rows.ensure(cap)
            for p in self._parts:
                p.state.ensure(cap)

    @property
    def retractable(self) -> bool:
        return all(p.state.retractable for p in self._parts)

    def update(self, slots: np.ndarray, args: list[Column], filters: list, seqs: np.ndarray,
               retract: np.ndarray | None = None) -> None:
        if retract is not None and retract.any():
            if not self.retractable:
                raise ValueError("these aggregates cannot take rows back (an updating input needs "
                                 f"{', '.join(sorted(RETRACTABLE))}; MIN/MAX with "
                                 "updating_input=True)")
            retract = np.asarray(retract, bool)
        else:
            retract = None
        if retract is None:
            K.update_count(slots, self.rows.cnt)
        else:  # in arrival order, one pass: the same result for any batch cuts
            K.update_count_signed(slots, retract, self.rows.cnt)
        masked: dict[tuple, np.ndarray] = {}
        for p in self._parts:
            mkey = (p.inputs, p.filter)
            if mkey not in masked:
                ok = None
                if p.filter is not None and filters[p.filter] is not None:
                    f = filters[p.filter]
                    ok = f.values.astype(bool) & f.is_valid() if isinstance(f, Column) else np.asarray(f, bool)
                for i in p.inputs:
                    if args[i].valid is not None:
                        ok = args[i].valid if ok is None else ok & args[i].valid
                masked[mkey] = slots if ok is None else np.where(ok, slots, -1)
            if retract is None:
                p.state.update(masked[mkey], [args[i] for i in p.inputs], seqs)
            else:
                p.state.update_signed(masked[mkey], [args[i] for i in p.inputs], retract)

    def results(self, idx: np.ndarray, offs: np.ndarray, final: bool = False) -> list[Column]:
        """One column per Agg, one row per group of slots (CSR ``idx``/``offs``).
        ``final``: the caller frees these slots right after (lets exact
        percentiles select ranks instead of keeping sorted runs)."""
        idx = np.asarray(idx, np.int64)
        offs = np.asarray(offs, np.int64)
        out: list = [None] * len(self.aggs)
        for p in self._parts:
            aggs = [self.aggs[i] for i in p.positions]
            if isinstance(p.state, PercentileState):
                cols = p.state.results(aggs, idx, offs, final=final)
            else:
                cols = p.state.results(aggs, idx, offs)
            for pos, col in zip(p.positions, cols):
                out[pos] = col
        return out

    def row_counts(self, idx: np.ndarray, offs: np.ndarray) -> np.ndarray:
        return self.rows._combined(np.asarray(idx, np.int64), np.asarray(offs, np.int64))

    def take(self, keep: np.ndarray) -> None:
        """Keep slots ``keep`` (renumbered 0..len-1 in that order); free the rest."""
        keep = np.asarray(keep, np.int64)
        self.rows.take(keep)
        for p in self._parts:
            p.state.take(keep)
        self.n_slots = len(keep)
        self.ensure(max(16, len(keep)))
        self.n_slots = len(keep)

    def merge(self, idx: np.ndarray, offs: np.ndarray) -> None:
        """Replace the state by one slot per group of slots (each slot in at most one group)."""
        idx = np.asarray(idx, np.int64)
        offs = np.asarray(offs, np.int64)
        self.rows.merge(idx, offs)
        for p in self._parts:
            p.state.merge(idx, offs)
        g = len(offs) - 1
        self.n_slots = g
        cap = len(self.rows.cnt)
        for p in self._parts:  # bring every array back to one common capacity
            p.state.ensure(cap)
        self.ensure(max(16, g))
        self.n_slots = g

    def snapshot(self) -> dict:
        """Every state array cut to the slots in use, copied (later updates do
        not reach it); strings as lists. Each part under its accumulator's
        name (``names``), so that a query with other aggregates restores the
        ones it shares."""
        n = self.n_slots
        self.take(np.arange(n))  # trims every array to n slots
        parts = []
        for p in self._parts:
            part = p.state.snapshot()
            parts.append({name: val[:n].copy() if name in p.state.arrays else val for name, val in part.items()})
        return {"n_slots": n, "rows": self.rows.cnt[:n].copy(), "parts": parts,
                "names": list(self.part_names)}

    def restore(self, data: dict) -> None:
        """Restore ``data``: each part from the snapshot's part of the same name
        (a part the snapshot has not got starts empty in every slot; one it has
        and this operator has not is dropped). A snapshot without names (sqlc
        before 0.x stored parts by position) must have the same parts."""
        self.__init__(self.aggs, self.arg_kinds, self.updating_input, self.arg_names, self.filter_names)
        self.n_slots = int(data["n_slots"])
        self.rows.cnt = np.array(data["rows"], np.int64)
        saved = data["parts"]
        if "names" in data:
            by_name = dict(zip(data["names"], saved, strict=True))
            saved = [by_name.get(name) for name in self.part_names]
        for p, part in zip(self._parts, saved, strict=True):
            if part is not None:
                p.state.restore(part)
        cap = max(16, self.n_slots)
        self.rows.ensure(cap)
        for p in self._parts:
            p.state.ensure(cap)
            if isinstance(p.state, MinMaxState):
                p.state._win = np.full(cap, -1, np.int64)


"""Stream-stream joins: ``IntervalJoin`` (FR-JOIN-003, time-bounded, append-only
output) and ``Join`` (a regular join without time bounds: an updating result).

A generated module calls them in straight-line code. Each input has its own
``Watermarks``; the join's watermark is the minimum of the two, so the
per-row watermark handed to the join is ``min(this side's watermark before the
row, the other side's current watermark)``::

    join = IntervalJoin(kind="LEFT", key_kinds=["O"], lower_ms=0, upper_ms=5_000,
                        left_names=["request_id", "model_id", "req_time"],
                        right_names=["err_request_id", "error_code", "err_time"],
                        left_kinds=["O", "O", "i"], right_kinds=["O", "O", "i"])
    for side, batch in interleave(requests, errors):        # source batches in arrival order
        if side == "req":
            before, _ = wm_req.observe(partition, batch["req_time"].values)
            joined, late = join.process_left([batch["request_id"]], batch["req_time"].values, batch,
                                             watermark_before=np.minimum(before, wm_err.current))
        else:
            before, _ = wm_err.observe(partition, batch["err_time"].values)
            joined, late = join.process_right([batch["request_id"]], batch["err_time"].values, batch,
                                              watermark_before=np.minimum(before, wm_req.current))
        out_sink.write(joined)
        out_sink.write(join.advance(min(wm_req.current, wm_err.current)))
    out_sink.write(join.advance(WM_MAX))                       # end of input

Runnable (lower 0, upper 10: ``left.t <= right.t <= left.t + 10``):

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> def rows(names, **cols):
...     return Batch({n: column_from_pylist(v, "O" if n.endswith("k") else "i") for n, v in cols.items()},
...                  len(next(iter(cols.values()))))
>>> j = IntervalJoin(kind="FULL", key_kinds=["O"], lower_ms=0, upper_ms=10,
...                  left_names=["lk", "lt"], right_names=["rk", "rt"],
...                  left_kinds=["O", "i"], right_kinds=["O", "i"])
>>> left = rows(["lk", "lt"], lk=["a", "b", None], lt=[100, 100, 101])
>>> out, late = j.process_left([left["lk"]], left["lt"].values, left, watermark_before=90)
>>> out.to_rows()  # the NULL-key row can never match: NULL-padded at once
[(None, 101, None, None)]
>>> right = rows(["rk", "rt"], rk=["a", "a", "b"], rt=[110, 111, 95])
>>> out, late = j.process_right([right["rk"]], right["rt"].values, right, watermark_before=94)
>>> out.to_rows()  # 110 is on the bound (100 + 10), 111 beyond it; b at 95 is too early
[('a', 100, 'a', 110)]
>>> j.advance(120).to_rows()  # watermark passes every bound: unmatched rows NULL-padded
[(None, None, 'b', 95), ('b', 100, None, None), (None, None, 'a', 111)]
>>> out, late = j.process_left([left["lk"]], left["lt"].values, left, watermark_before=120)
>>> out.to_rows()  # behind the watermark, bounds passed: partners freed, NULL-padded at once (Flink)
[('a', 100, None, None), ('b', 100, None, None), (None, 101, None, None)]
>>> late.tolist(), j.late_count  # counted as behind the watermark, not dropped
([0, 1, 2], 3)

Semantics (FLINK_SEMANTICS.md, Joins):

* Rows match when their keys are equal (a NULL in any key column never
  matches) and ``left.t + lower_ms <= right.t <= left.t + upper_ms``, both ends
  inclusive; ``residual`` (optional) is the rest of the ON condition, a callable
  from a Batch of candidate joined rows (named ``left_names + right_names``) to
  a boolean mask (or a BOOLEAN Column, NULL = false). A pair that fails it is
  not a match, so the rows may still come out NULL-padded in an outer join.
* Every row has a *bound*: the last event time of the other side it can match
  (``left.t + upper_ms`` for a left row, ``right.t - lower_ms`` for a right row).
  A row is kept until the watermark reaches its bound; then it is freed and,
  on an outer side, emitted NULL-padded if nothing matched it. State is
  therefore bounded by watermark progress.
* ``watermark_before[i]`` (default: ``rows.watermarks``, else the join's own
  watermark) is the join's input watermark before row i. Rows of the other
  side whose bound that watermark reached are freed before row i, whatever
  the micro-batches. As in Flink's interval join, no row is dropped: a row
  *behind* the watermark (event time ``<=`` it; counted in ``late_count``,
  its index returned) still meets the partners that are still buffered, is
  buffered itself if its own bound is ahead of the watermark, and otherwise,
  on an outer side with no match, comes out NULL-padded at once (its partners
  may have been freed: Flink gives the same row). A row that is not behind
  the watermark meets every partner, so when nothing is behind the watermark
  the final output equals the batch join, for any micro-batches.
* ``process_*`` returns the rows these input rows produce, in arrival order,
  and also the NULL-padded rows of buffered rows whose bound the watermark
  passes inside the batch (at that point of the batch); ``advance(w)`` returns
  the NULL-padded rows due at ``w`` (ordered by bound, then arrival).
* Output is append-only: every row is an insert (``ops`` is None). Each output
  row carries the watermark downstream operators must use before it
  (``Batch.watermarks``), held back by ``output_delay_ms = max(upper_ms,
  -lower_ms, 0)`` as Flink holds back the watermark of an interval join:
  joined and NULL-padded rows can be older than the input watermark. Feed
  both the ``process_*`` and the ``advance(w)`` output downstream first, then
  advance the downstream operator to ``output_watermark(w)`` (Flink fires the
  join's timers before it forwards a watermark);
  ``tests/runtime_joins/test_join_then_window.py`` wires a TUMBLE this way.

State: both joins implement ``runtime_lib.state.Stateful`` (``snapshot()`` /
``restore(data)``: numpy arrays and JSON values, never pickle).

Memory: one buffered row per row whose bound is ahead of the watermark (both
sides), with its columns; key dictionaries are compacted as keys expire.
Matching is a binary search per row in an index sorted by (key, time), kept
sorted by merging each batch in (numba): no Python loop per row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from runtime_lib.codes import Codes
from runtime_lib.columns import DTYPES, FILLERS, Batch, Column
from runtime_lib.jit import kernel_jit
from runtime_lib.keys import PairTable, numeric_bits
from runtime_lib.state import values_data, values_from_data
from runtime_lib.watermarks import WM_MAX, WM_MIN

jit = kernel_jit(__name__)

_CLAMP = 1 << 62  # watermarks and bounds are clamped to +-2^62 before arithmetic
_JOIN_KINDS = ("INNER", "LEFT", "RIGHT", "FULL")
L, R = 0, 1
_FROM_BATCH, _FROM_STATE, _NULL = 0, 1, 2


class JoinResult(NamedTuple):
    """What ``process_left`` / ``process_right`` return: the joined rows and the
    indices (into the input batch) of the rows that arrived behind the
    watermark (joined all the same: a metric, nothing is dropped)."""

    rows: Batch
    late: np.ndarray


def _as_ts(ts) -> np.ndarray:
    if isinstance(ts, Column):
        if ts.valid is not None and not ts.valid.all():
            raise ValueError("event time must not be NULL (route such rows to the dead-letter sink)")
        ts = ts.values
    return np.asarray(ts, dtype=np.int64)


def _clamp(w: int) -> int:
    return max(-_CLAMP, min(_CLAMP, int(w)))


def _effective_wm(watermark_before, n: int, floor: int) -> np.ndarray:
    wm = np.asarray(watermark_before, dtype=np.int64)
    if wm.shape == ():
        wm = np.full(n, int(wm), np.int64)
    if len(wm) != n:
        raise ValueError("watermark_before must have one value per row")
    eff = np.maximum(wm, floor)
    np.maximum.accumulate(eff, out=eff)  # watermarks never go back
    return np.clip(eff, -_CLAMP, _CLAMP)


def _empty_batch(names: list[str], kinds: list[str], with_wm: bool, with_ops: bool = False) -> Batch:
    cols = {n: Column(np.zeros(0, DTYPES[k])) for n, k in zip(names, kinds)}
    return Batch(cols, 0, np.zeros(0, np.int64) if with_wm else None,
                 np.zeros(0, object) if with_ops else None)


def _mask_of(result, n: int) -> np.ndarray:
    """A residual's answer as a boolean mask (NULL = false)."""
    if isinstance(result, Column):
        mask = np.asarray(result.values, bool)
        return mask if result.valid is None else mask & result.valid
    mask = np.asarray(result, bool)
    return np.full(n, bool(mask)) if mask.shape == () else mask


# ---------------------------------------------------------------------------
# Kernels: an index of buffered rows sorted by (key id, time)
# ---------------------------------------------------------------------------


@jit
def _merge_index(o_pos, o_kid, o_ts, n_pos, n_kid, n_ts, out_pos, out_kid, out_ts):
    """Merge two runs sorted by (kid, ts); on ties the old run comes first
    (its positions are smaller, so the merged run is sorted by (kid, ts, pos))."""
    i = 0
    j = 0
    k = 0
    while i < len(o_pos) and j < len(n_pos):
        if n_kid[j] < o_kid[i] or (n_kid[j] == o_kid[i] and n_ts[j] < o_ts[i]):
            out_pos[k] = n_pos[j]
            out_kid[k] = n_kid[j]
            out_ts[k] = n_ts[j]
            j += 1
        else:
            out_pos[k] = o_pos[i]
            out_kid[k] = o_kid[i]
            out_ts[k] = o_ts[i]
            i += 1
        k += 1
    while i < len(o_pos):
        out_pos[k] = o_pos[i]
        out_kid[k] = o_kid[i]
        out_ts[k] = o_ts[i]
        i += 1
        k += 1
    while j < len(n_pos):
        out_pos[k] = n_pos[j]
        out_kid[k] = n_kid[j]
        out_ts[k] = n_ts[j]
        j += 1
        k += 1


@jit
def _probe_ranges(s_kid, s_ts, q_kid, q_lo, q_hi, start, end):
    """For each query: the run of the index with kid == q_kid and q_lo <= ts <=
    q_hi, as [start, end). Queries with q_kid < 0 get an empty run."""
    n = len(s_kid)
    for i in range(len(q_kid)):
        k = q_kid[i]
        if k < 0:
            start[i] = 0
            end[i] = 0
            continue
        lo = q_lo[i]
        a = 0
        b = n
        while a < b:
            m = (a + b) >> 1
            if s_kid[m] < k or (s_kid[m] == k and s_ts[m] < lo):
                a = m + 1
            else:
                b = m
        s = a
        hi = q_hi[i]
        b = n
        while a < b:
            m = (a + b) >> 1
            if s_kid[m] < k or (s_kid[m] == k and s_ts[m] <= hi):
                a = m + 1
            else:
                b = m
        start[i] = s
        end[i] = a


def _expand(start: np.ndarray, end: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query row, buffered position) for every element of every run."""
    cnt = end - start
    total = int(cnt.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    qi = np.repeat(np.arange(len(cnt), dtype=np.int64), cnt)
    first = np.cumsum(cnt) - cnt
    at = start[qi] + (np.arange(total, dtype=np.int64) - first[qi])
    return qi, order[at]


# ---------------------------------------------------------------------------
# Key ids
# ---------------------------------------------------------------------------


class _KeyIds:
    """Dense int64 ids for join keys (equal keys of both inputs get one id).

    Rows with a NULL key never reach it (they never match). Unlike
    ``keys.KeyEncoder`` the ids are never decoded, so a string column is one
    dict looked up in C, and ``compact`` renumbers the live ids in their order
    (so an index sorted by id stays sorted)."""

    def __init__(self, kinds: list[str]):
        self.kinds = list(kinds)
        self.cols = [Codes() if k == "O" else PairTable() for k in self.kinds]
        self.folds = [PairTable() for _ in self.kinds[1:]]

    def __len__(self) -> int:
        if len(self.kinds) > 1:
            return self.folds[-1].n
        c = self.cols[0]
        return len(c) if isinstance(c, Codes) else c.n

    def _codes(self, j: int, material) -> np.ndarray:
        table = self.cols[j]
        if isinstance(table, Codes):
            return table.encode(material)
        return table.insert(np.zeros(len(material), np.int64), material)

    def _material(self, cols: list[Column]) -> list:
        return [c.values if k == "O" else numeric_bits(c, k) for c, k in zip(cols, self.kinds)]

    def _ids(self, material: list) -> np.ndarray:
        ids = self._codes(0, material[0])
        for j, fold in enumerate(self.folds, start=1):
            ids = fold.insert(ids, self._codes(j, material[j]))
        return ids

    def encode(self, cols: list[Column]) -> np.ndarray:
        return self._ids(self._material(cols))

    def _column_codes(self, ids: np.ndarray) -> list[np.ndarray]:
        codes = [None] * len(self.kinds)
        for j in range(len(self.kinds) - 1, 0, -1):
            codes[j] = self.folds[j - 1].keys2[ids]
            ids = self.folds[j - 1].keys1[ids]
        codes[0] = ids
        return codes

    def _material_of(self, ids: np.ndarray) -> list:
        """What ``_ids`` takes to give these keys again (strings, numeric bits)."""
        out = []
        for table, codes in zip(self.cols, self._column_codes(ids)):
            if isinstance(table, Codes):
                arr = np.empty(len(codes), object)
                arr[:] = [table.by_code[c] for c in codes.tolist()]
                out.append(arr)
            else:
                out.append(table.keys2[codes].copy())
        return out

    def compact(self, live: np.ndarray) -> np.ndarray:
        """Keep the ids in ``live`` (sorted, distinct) as 0..len(live)-1, in order;
        returns ``remap`` with remap[old] = new or -1."""
        remap = np.full(len(self), -1, np.int64)
        material = self._material_of(live)
        self.__init__(self.kinds)
        if len(live):
            self._ids(material)
        remap[live] = np.arange(len(live), dtype=np.int64)
        return remap

    def snapshot(self) -> dict:
        ids = np.arange(len(self), dtype=np.int64)
        snap: dict = {"n": len(ids)}
        for j, m in enumerate(self._material_of(ids)):
            snap[f"c{j}"] = m.tolist() if m.dtype == object else m
        return snap

    def restore(self, snap: dict) -> None:
        self.__init__(self.kinds)
        if int(snap["n"]):
            material = []
            for j, k in enumerate(self.kinds):
                m = snap[f"c{j}"]
                if k == "O":
                    arr = np.empty(len(m), object)
                    arr[:] = m
                    material.append(arr)
                else:
                    material.append(np.asarray(m, np.int64))
            self._ids(material)

    def nbytes(self) -> int:
        import sys

        total = sum(f._tval.nbytes * 3 for f in self.folds)
        for c in self.cols:
            total += sys.getsizeof(c.index) + 8 * len(c) if isinstance(c, Codes) else c._tval.nbytes * 3
        return total


# ---------------------------------------------------------------------------
# Buffered rows of one input
# ---------------------------------------------------------------------------


class _Rows:
    """The rows of one join input held in state: their columns, key id, time,
    bound (when they expire), arrival seq, match count and liveness, plus an
    index of positions sorted by (key id, time). Freed rows stay in place (not
    alive) until ``compact``; a freed row can never be matched by a row that
    is not late, so it may stay in the index until then."""

    _INT_FIELDS = ("kid", "ts", "bound", "seq", "hits")

    def __init__(self, kinds: list[str]):
        self.kinds = list(kinds)
        self.n = 0
        self.n_alive = 0
        cap = 16
        self.vals = [np.zeros(cap, DTYPES[k]) for k in self.kinds]
        self.ok = [np.ones(cap, bool) for _ in self.kinds]
        for name in self._INT_FIELDS:
            setattr(self, name, np.zeros(cap, np.int64))
        self.alive = np.zeros(cap, bool)
        self.order = np.zeros(0, np.int64)
        self.s_kid = np.zeros(0, np.int64)
        self.s_ts = np.zeros(0, np.int64)

    def _grow(self, need: int) -> None:
        cap = len(self.alive)
        if need <= cap:
            return
        cap = max(need, 2 * cap)

        def grown(arr):
            out = np.zeros(cap, arr.dtype) if arr.dtype != object else np.empty(cap, object)
            out[: self.n] = arr[: self.n]
            return out

        self.vals = [grown(v) for v in self.vals]
        self.ok = [grown(v) for v in self.ok]
        for name in self._INT_FIELDS:
            setattr(self, name, grown(getattr(self, name)))
        self.alive = grown(self.alive)

    def append(self, cols: list[Column], kid, ts, bound, seq, hits) -> None:
        m = len(kid)
        if m == 0:
            return
        a, b = self.n, self.n + m
        self._grow(b)
        for v, ok, c in zip(self.vals, self.ok, cols):
            v[a:b] = c.values
            ok[a:b] = c.is_valid()
        self.kid[a:b], self.ts[a:b], self.bound[a:b], self.seq[a:b], self.hits[a:b] = kid, ts, bound, seq, hits
        self.alive[a:b] = True
        self.n = b
        self.n_alive += m
        o = np.lexsort((ts, kid))
        self._merge(np.arange(a, b, dtype=np.int64)[o], np.asarray(kid)[o], np.asarray(ts)[o])

    def _merge(self, pos, kid, ts) -> None:
        total = len(self.order) + len(pos)
        out_pos, out_kid, out_ts = (np.empty(total, np.int64) for _ in range(3))
        _merge_index(self.order, self.s_kid, self.s_ts, pos, kid, ts, out_pos, out_kid, out_ts)
        self.order, self.s_kid, self.s_ts = out_pos, out_kid, out_ts

    def probe(self, q_kid, q_lo, q_hi) -> tuple[np.ndarray, np.ndarray]:
        """(query row, position) of every buffered row with the query's key id and
        a time in [q_lo, q_hi], ordered by query row, then time, then arrival."""
        if len(self.order) == 0 or len(q_kid) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        start = np.empty(len(q_kid), np.int64)
        end = np.empty(len(q_kid), np.int64)
        _probe_ranges(self.s_kid, self.s_ts, q_kid, q_lo, q_hi, start, end)
        return _expand(start, end, self.order)

    def due(self, upto: int) -> np.ndarray:
        """Positions of live rows whose bound is <= ``upto``, by (bound, seq)."""
        n = self.n
        if n == 0:
            return np.zeros(0, np.int64)
        pos = np.flatnonzero(self.alive[:n] & (self.bound[:n] <= upto))
        if len(pos) > 1:
            pos = pos[np.lexsort((self.seq[pos], self.bound[pos]))]
        return pos

    def kill(self, pos: np.ndarray) -> None:
        self.alive[pos] = False
        self.n_alive -= len(pos)

    def column(self, j: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.vals[j][pos], self.ok[j][pos]

    @property
    def dead(self) -> int:
        return self.n - self.n_alive

    def compact(self) -> None:
        """Drop freed rows (positions renumbered; the index stays sorted)."""
        n = self.n
        keep = np.flatnonzero(self.alive[:n])
        remap = np.full(n, -1, np.int64)
        remap[keep] = np.arange(len(keep), dtype=np.int64)
        live = remap[self.order] >= 0
        self.order = remap[self.order[live]]
        self.s_kid = self.s_kid[live]
        self.s_ts = self.s_ts[live]
        m = len(keep)
        cap = max(16, 2 * m)
        for name in ("vals", "ok"):
            arrs = []
            for arr in getattr(self, name):
                out = np.zeros(cap, arr.dtype) if arr.dtype != object else np.empty(cap, object)
                out[:m] = arr[keep]
                arrs.append(out)
            setattr(self, name, arrs)
        for name in self._INT_FIELDS:
            out = np.zeros(cap, np.int64)
            out[:m] = getattr(self, name)[keep]
            setattr(self, name, out)
        self.alive = np.zeros(cap, bool)
        self.alive[:m] = True
        self.n = self.n_alive = m

    def remap_keys(self, remap: np.ndarray) -> None:
        """New key ids (an increasing map of the live ids: the index stays sorted).
        Call after ``compact``."""
        n = self.n
        self.kid[:n] = remap[self.kid[:n]]
        self.s_kid = remap[self.s_kid]

    def live_keys(self) -> np.ndarray:
        return self.kid[: self.n][self.alive[: self.n]]

    def snapshot(self) -> dict:
        self.compact()
        n = self.n
        data: dict = {name: getattr(self, name)[:n].copy() for name in self._INT_FIELDS}
        data["values"] = [values_data(v[:n]) for v in self.vals]
        data["valid"] = [ok[:n].copy() for ok in self.ok]
        return data

    def restore(self, data: dict) -> None:
        self.__init__(self.kinds)
        cols = [Column(values_from_data(v, k), np.asarray(ok, bool))
                for k, v, ok in zip(self.kinds, data["values"], data["valid"], strict=True)]
        self.append(cols, *(np.asarray(data[name], np.int64) for name in self._INT_FIELDS))


# ---------------------------------------------------------------------------
# Output assembly
# ---------------------------------------------------------------------------


def _pick(kind: str, src: np.ndarray, idx: np.ndarray, batch_col: Column | None, state: _Rows, j: int) -> Column:
    """One output column: rows from the input batch, from state, or NULL."""
    m = len(src)
    vals = np.empty(m, object) if kind == "O" else np.zeros(m, DTYPES[kind])
    ok = np.zeros(m, bool)
    sel = np.flatnonzero(src == _FROM_BATCH)
    if len(sel):
        vals[sel] = batch_col.values[idx[sel]]
        ok[sel] = batch_col.is_valid()[idx[sel]]
    sel = np.flatnonzero(src == _FROM_STATE)
    if len(sel):
        v, o = state.column(j, idx[sel])
        vals[sel] = v
        ok[sel] = o
    if ok.all():
        return Column(vals)
    if kind == "O":
        vals[~ok] = FILLERS["O"]
    return Column(vals, ok)


class _Sides:
    """Configuration and buffers shared by IntervalJoin and Join."""

    def __init__(self, kind, key_kinds, left_names, right_names, left_kinds, right_kinds, residual):
        kind = kind.upper()
        if kind not in _JOIN_KINDS:
            raise ValueError(f"join kind must be one of {_JOIN_KINDS}, got {kind!r}")
        self.kind = kind
        self.outer = (kind in ("LEFT", "FULL"), kind in ("RIGHT", "FULL"))
        self.key_kinds = list(key_kinds)
        if not self.key_kinds:
            raise ValueError("a stream-stream join needs at least one equality key")
        self.side_names = (list(left_names), list(right_names))
        self.side_kinds = (list(left_kinds), list(right_kinds))
        for names, kinds in zip(self.side_names, self.side_kinds):
            if len(names) != len(kinds):
                raise ValueError("names and kinds differ in length")
        self.names = self.side_names[L] + self.side_names[R]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"output column names must be unique: {self.names}")
        self.kinds = self.side_kinds[L] + self.side_kinds[R]
        self.residual = residual
        self.keys = _KeyIds(self.key_kinds)
        self.state = (_Rows(self.side_kinds[L]), _Rows(self.side_kinds[R]))
        self._seq = 0

    def _input_columns(self, s: int, rows: Batch) -> list[Column]:
        cols = list(rows.columns.values())
        if len(cols) != len(self.side_names[s]):
            side = "left" if s == L else "right"
            raise ValueError(f"{side} rows have {len(cols)} columns, the join expects "
                             f"{len(self.side_names[s])} ({self.side_names[s]})")
        return cols

    def _encode(self, keys: list[Column], n: int) -> np.ndarray:
        """Key id per row; -1 where a key column is NULL (never matches)."""
        if len(keys) != len(self.key_kinds):
            raise ValueError(f"expected {len(self.key_kinds)} key columns, got {len(keys)}")
        ok = np.ones(n, bool)
        for k in keys:
            if k.valid is not None:
                ok &= k.valid
        kid = np.full(n, -1, np.int64)
        if ok.all():
            return self.keys.encode(keys) if n else kid
        sel = np.flatnonzero(ok)
        if len(sel):
            kid[sel] = self.keys.encode([k.take(sel) for k in keys])
        return kid

    def _new_seqs(self, n: int) -> np.ndarray:
        seqs = np.arange(self._seq, self._seq + n, dtype=np.int64)
        self._seq += n
        return seqs

    def _candidates(self, s: int, cols: list[Column], qi: np.ndarray, pos: np.ndarray) -> Batch:
        """Joined rows of (batch row qi, state row pos of the other side)."""
        o = 1 - s
        m = len(qi)
        src_b = np.full(m, _FROM_BATCH, np.int8)
        src_s = np.full(m, _FROM_STATE, np.int8)
        out = {}
        for side in (L, R):
            src, idx = (src_b, qi) if side == s else (src_s, pos)
            for j, (name, kind) in enumerate(zip(self.side_names[side], self.side_kinds[side])):
                out[name] = _pick(kind, src, idx, cols[j] if side == s else None, self.state[o], j)
        return Batch(out, m)

    def _apply_residual(self, s, cols, qi, pos):
        if self.residual is None or len(qi) == 0:
            return qi, pos
        keep = _mask_of(self.residual(self._candidates(s, cols, qi, pos)), len(qi))
        return qi[keep], pos[keep]

    def _assemble(self, s: int, cols: list[Column] | None, lsrc, lidx, rsrc, ridx,
                  watermarks=None, ops=None) -> Batch:
        """Output rows from (source, index) per side: sources are the input batch
        (side ``s``), the state of that side, or NULL."""
        out = {}
        for side, src, idx in ((L, lsrc, lidx), (R, rsrc, ridx)):
            for j, (name, kind) in enumerate(zip(self.side_names[side], self.side_kinds[side])):
                batch_col = cols[j] if (cols is not None and side == s) else None
                out[name] = _pick(kind, src, idx, batch_col, self.state[side], j)
        return Batch(out, len(lsrc), watermarks, ops)

    def _compact(self, force: bool = False) -> None:
        """Drop freed rows when they outnumber live ones; then renumber the keys
        when the dictionary is much larger than the live keys."""
        for st in self.state:
            if st.dead and (force or st.dead > max(st.n_alive, 4096)):
                st.compact()
        if len(self.keys) > 2 * (self.state[L].n_alive + self.state[R].n_alive) + 4096 or (force and len(self.keys)):
            for st in self.state:
                if st.dead:
                    st.compact()
            live = np.unique(np.concatenate([self.state[L].live_keys(), self.state[R].live_keys()]))
            remap = self.keys.compact(live)
            for st in self.state:
                st.remap_keys(remap)

    @property
    def state_rows(self) -> int:
        """Rows held in state (both inputs)."""
        return self.state[L].n_alive + self.state[R].n_alive

    def state_bytes(self) -> int:
        """Memory held by the buffers (allocated arrays, plus the Python objects
        of live rows in object columns) and the key dictionary's arrays. Walks
        the live strings: for monitoring and benchmarks, not per batch."""
        import sys

        total = 0
        for st in self.state:
            arrays = [*st.vals, *st.ok, *(getattr(st, n) for n in st._INT_FIELDS), st.alive,
                      st.order, st.s_kid, st.s_ts]
            total += sum(a.nbytes for a in arrays)
            live = st.alive[: st.n]
            for v in st.vals:
                if v.dtype == object:
                    total += sum(map(sys.getsizeof, v[: st.n][live].tolist()))
        return total + self.keys.nbytes()


# ---------------------------------------------------------------------------
# IntervalJoin
# ---------------------------------------------------------------------------


class IntervalJoin(_Sides):
    """Time-bounded join of two append-only streams; see the module docstring.

    ``IntervalJoin(kind, key_kinds, lower_ms, upper_ms, left_names, right_names,
    left_kinds, right_kinds, residual=None)``: rows match when the keys are
    equal and ``left.t + lower_ms <= right.t <= left.t + upper_ms``. For the SQL
    ``r.t BETWEEN l.t - INTERVAL '10' SECOND AND l.t + INTERVAL '5' SECOND``:
    ``lower_ms=-10_000, upper_ms=5_000``. ``left_names``/``right_names`` name the
    output columns of each side's rows (in the order of the columns of the
    batches given to ``process_left``/``process_right``); ``*_kinds`` are their
    storage kinds ('b', 'i', 'f', 'O')."""

    def __init__(self, kind: str, key_kinds: list[str], lower_ms: int, upper_ms: int,
                 left_names: list[str], right_names: list[str], left_kinds: list[str], right_kinds: list[str],
                 residual: Callable[[Batch], np.ndarray] | None = None):
        super().__init__(kind, key_kinds, left_names, right_names, left_kinds, right_kinds, residual)
        self.lower_ms, self.upper_ms = int(lower_ms), int(upper_ms)
        self.output_delay_ms = max(self.upper_ms, -self.lower_ms, 0)
        self.late_count = 0
        self.late_left = 0
        self.late_right = 0
        self.peak_state_rows = 0
        self._wm = WM_MIN

    @property
    def watermark(self) -> int:
        """The join's input watermark (the highest seen or advanced to)."""
        return self._wm

    def output_watermark(self, watermark: int) -> int:
        """The watermark downstream operators get when the join's input
        watermark is ``watermark`` (held back by ``output_delay_ms``)."""
        w = int(watermark)
        if w in (WM_MIN, WM_MAX):
            return w
        return max(WM_MIN, w - self.output_delay_ms)

    def _out_wm(self, w: np.ndarray) -> np.ndarray:
        return np.where(w <= -_CLAMP, WM_MIN, w - self.output_delay_ms)

    def process_left(self, keys: list[Column], ts, rows: Batch, watermark_before=None) -> JoinResult:
        """Join a micro-batch of left rows (in arrival order) with the buffered
        right rows; returns (joined rows, indices of the late rows)."""
        return self._process(L, keys, ts, rows, watermark_before)

    def process_right(self, keys: list[Column], ts, rows: Batch, watermark_before=None) -> JoinResult:
        """Join a micro-batch of right rows with the buffered left rows."""
        return self._process(R, keys, ts, rows, watermark_before)

    def _bounds(self, s: int, ts: np.ndarray):
        """(lowest partner time, highest partner time = the row's bound)."""
        if s == L:
            return ts + self.lower_ms, ts + self.upper_ms
        return ts - self.upper_ms, ts - self.lower_ms

    def _process(self, s: int, keys, ts, rows: Batch, watermark_before) -> JoinResult:
        o = 1 - s
        ts = _as_ts(ts)
        n = len(ts)
        cols = self._input_columns(s, rows)
        if rows.num_rows != n:
            raise ValueError("ts and rows differ in length")
        if n == 0:
            return JoinResult(_empty_batch(self.names, self.kinds, True), np.zeros(0, np.int64))
        if watermark_before is None:
            watermark_before = rows.watermarks if rows.watermarks is not None else self._wm
        wm0 = self._wm
        eff = _effective_wm(watermark_before, n, wm0)
        late_idx = np.flatnonzero(ts <= eff)  # behind the watermark: joined all the same
        self.late_count += len(late_idx)
        if s == L:
            self.late_left += len(late_idx)
        else:
            self.late_right += len(late_idx)
        kid = self._encode(keys, n)
        seqs = self._new_seqs(n)
        lo, bound = self._bounds(s, ts)

        # pairs with the other side's buffered rows; a partner whose bound the
        # watermark before row i reached was freed before row i (only a row
        # behind the watermark can meet one)
        qi, pos = self.state[o].probe(kid, lo, bound)
        if len(late_idx) and len(qi):
            alive = self.state[o].bound[pos] > eff[qi]
            qi, pos = qi[alive], pos[alive]
        qi, pos = self._apply_residual(s, cols, qi, pos)
        hits = np.bincount(qi, minlength=n).astype(np.int64)
        if len(pos):
            np.add.at(self.state[o].hits, pos, 1)

        # (position in the batch, sub-order, tiebreak) of every output row:
        # sub 0 = NULL-padded rows whose bound the watermark passed just before
        # row `position`; sub 1 = row `position`'s own output
        parts = []  # (lsrc, lidx, rsrc, ridx, position, sub, tie1, tie2, wm)

        def wm_before_position(p):
            prev = np.concatenate([[wm0], eff[:-1]])
            return prev[p]

        if len(qi):
            src_b = np.full(len(qi), _FROM_BATCH, np.int8)
            src_s = np.full(len(qi), _FROM_STATE, np.int8)
            sides = (src_b, qi, src_s, pos) if s == L else (src_s, pos, src_b, qi)
            parts.append((*sides, qi, np.ones(len(qi), np.int64), np.zeros(len(qi), np.int64),
                          np.arange(len(qi), dtype=np.int64), eff[qi]))

        # buffered rows (either side) whose bound the watermark passes in this batch
        for side in (L, R):
            st = self.state[side]
            due = st.due(int(eff[-1]))
            if not len(due):
                continue
            at = np.searchsorted(eff, st.bound[due], side="left")
            if self.outer[side]:
                emit = st.hits[due] == 0
                self._null_part(parts, side, _FROM_STATE, due[emit], at[emit], 0, st.bound[due[emit]],
                                st.seq[due[emit]], wm_before_position(at[emit]))
            st.kill(due)

        # this batch's rows: NULL-padded now, later in the batch, or buffered
        keep = np.ones(n, bool)
        exp_at = np.searchsorted(eff, bound, side="left")  # first row whose watermark reaches the bound
        null_key = keep & (kid < 0)
        at_arrival = keep & (kid >= 0) & (exp_at <= np.arange(n))
        mid_batch = keep & (kid >= 0) & ~at_arrival & (exp_at < n)
        buffered = keep & (kid >= 0) & (exp_at >= n)
        if self.outer[s]:
            now = np.flatnonzero((null_key | at_arrival) & (hits == 0))
            self._null_part(parts, s, _FROM_BATCH, now, now, 1, np.zeros(len(now), np.int64),
                            seqs[now], eff[now])
            later = np.flatnonzero(mid_batch & (hits == 0))
            self._null_part(parts, s, _FROM_BATCH, later, exp_at[later], 0, bound[later], seqs[later],
                            wm_before_position(exp_at[later]))
        sel = np.flatnonzero(buffered)
        if len(sel):
            self.state[s].append([c.take(sel) for c in cols], kid[sel], ts[sel], bound[sel], seqs[sel], hits[sel])
        self._wm = int(eff[-1])
        self.peak_state_rows = max(self.peak_state_rows, self.state_rows)
        out = self._emit(s, cols, parts)
        self._compact()
        return JoinResult(out, late_idx)

    def _null_part(self, parts, side, src, idx, position, sub, tie1, tie2, wm) -> None:
        if not len(idx):
            return
        m = len(idx)
        null = np.full(m, _NULL, np.int8)
        mine = np.full(m, src, np.int8)
        zero = np.zeros(m, np.int64)
        sides = (mine, idx, null, zero) if side == L else (null, zero, mine, idx)
        parts.append((*sides, np.asarray(position, np.int64), np.full(m, sub, np.int64),
                      np.asarray(tie1, np.int64), np.asarray(tie2, np.int64), np.asarray(wm, np.int64)))

    def _emit(self, s, cols, parts) -> Batch:
        if not parts:
            return _empty_batch(self.names, self.kinds, True)
        lsrc, lidx, rsrc, ridx, position, sub, tie1, tie2, wm = (np.concatenate(x) for x in zip(*parts))
        order = np.lexsort((tie2, tie1, sub, position))
        return self._assemble(s, cols, lsrc[order], lidx[order], rsrc[order], ridx[order],
                              watermarks=self._out_wm(wm[order]))

    def advance(self, watermark: int) -> Batch:
        """Move the join's watermark to ``watermark``: buffered rows whose bound
        it reaches are freed, and the unmatched ones of an outer side are
        returned NULL-padded (by bound, then arrival)."""
        w = max(_clamp(watermark), self._wm)
        prev = self._wm
        parts = []
        for side in (L, R):
            st = self.state[side]
            due = st.due(w)
            if not len(due):
                continue
            if self.outer[side]:
                emit = due[st.hits[due] == 0]
                self._null_part(parts, side, _FROM_STATE, emit, np.zeros(len(emit), np.int64), 0,
                                st.bound[emit], st.seq[emit], np.full(len(emit), prev, np.int64))
            st.kill(due)
        self._wm = w
        out = self._emit(L, None, parts)
        self._compact()
        return out

    # -- snapshot ----------------------------------------------------------

    def snapshot(self) -> dict:
        """State as numpy arrays and JSON-able values (no pickle)."""
        self._compact(force=True)
        return {"wm": self._wm, "seq": self._seq, "late_count": self.late_count,
                "late_left": self.late_left, "late_right": self.late_right,
                "peak_state_rows": self.peak_state_rows, "keys": self.keys.snapshot(),
                "left": self.state[L].snapshot(), "right": self.state[R].snapshot()}

    def restore(self, data: dict) -> None:
        """Bring a freshly constructed join of the same configuration back to ``data``."""
        for name in ("late_count", "late_left", "late_right", "peak_state_rows"):
            setattr(self, name, int(data[name]))
        self._wm, self._seq = int(data["wm"]), int(data["seq"])
        self.keys.restore(data["keys"])
        self.state[L].restore(data["left"])
        self.state[R].restore(data["right"])


# ---------------------------------------------------------------------------
# Join (regular, no time bound)
# ---------------------------------------------------------------------------

_RETRACT = ("-D", "-U")


class Join(_Sides):
    """A regular join (no time bound) of two streams: an updating result, as
    Flink's ``StreamingJoinOperator``.

    ``Join(kind, key_kinds, left_names, right_names, left_kinds, right_kinds,
    residual=None, state_ttl_ms=None, clock=None)``;
    ``process_left(keys, rows, now_ms=None) -> Batch`` and ``process_right``.
    Both inputs are kept in state (every row with a non-NULL key) and each
    arriving row is joined with every stored row of the other side with the
    same key (and ``residual`` true). Output rows carry their changelog kind in
    ``Batch.ops``:

    * INNER: ``+I`` per pair (the input row's kind when the input is itself a
      changelog: ``+U``, ``-U``, ``-D``).
    * An outer side's row with no match comes out ``+I`` NULL-padded at once;
      when its first match arrives, ``-D`` of that NULL-padded row comes
      first, then ``+I`` of the pair; when its last match is retracted, ``+I``
      of the NULL-padded row again.
    * Input rows with kind ``-D``/``-U`` retract a stored equal row (if any)
      and every pair it formed (``-D``). Insert-only input runs vectorized;
      retraction rows are handled one at a time.

    ``insert_only`` (the compiler's promise for an INNER join of insert-only
    inputs): the output carries no ``ops``, as any append-only result.

    ``state_ttl_ms`` (Flink's ``'table.exec.state.ttl'``, processing time):
    a stored row not written for that long is dropped silently (a later match
    is then missed, as in Flink); one value for both sides, or a pair
    ``(left, right)`` with None for a side kept for ever (Flink's per-table
    ``STATE_TTL`` hint; sqlc reads it from each stream's ``'state.ttl'``).
    Without it state grows with the number of distinct rows: the compiler warns. ``now_ms``/``clock`` give processing
    time (default: a monotonic clock).

    >>> from runtime_lib.columns import Batch, column_from_pylist
    >>> j = Join(kind="LEFT", key_kinds=["O"], left_names=["req", "lat"], right_names=["fb_req", "rating"],
    ...          left_kinds=["O", "i"], right_kinds=["O", "i"])
    >>> left = Batch({"req": column_from_pylist(["r1", "r2"], "O"), "lat": column_from_pylist([10, 20], "i")}, 2)
    >>> out = j.process_left([left["req"]], left)
    >>> list(zip(out.ops, out.to_rows()))
    [('+I', ('r1', 10, None, None)), ('+I', ('r2', 20, None, None))]
    >>> right = Batch({"fb_req": column_from_pylist(["r1", "r1"], "O"), "rating": column_from_pylist([5, 3], "i")}, 2)
    >>> out = j.process_right([right["fb_req"]], right)
    >>> list(zip(out.ops, out.to_rows()))
    [('-D', ('r1', 10, None, None)), ('+I', ('r1', 10, 'r1', 5)), ('+I', ('r1', 10, 'r1', 3))]
    """

    def __init__(self, kind: str, key_kinds: list[str], left_names: list[str], right_names: list[str],
                 left_kinds: list[str], right_kinds: list[str], residual: Callable | None = None,
                 state_ttl_ms: int | tuple[int | None, int | None] | None = None,
                 clock: Callable[[], int] | None = None, insert_only: bool = False):
        super().__init__(kind, key_kinds, left_names, right_names, left_kinds, right_kinds, residual)
        if insert_only and kind != "INNER":
            raise ValueError("only an INNER join of insert-only inputs is insert-only")
        self.insert_only = insert_only
        pair = state_ttl_ms if isinstance(state_ttl_ms, (tuple, list)) else (state_ttl_ms, state_ttl_ms)
        self.ttl = tuple(None if t is None else int(t) for t in pair)
        if any(t is not None and t <= 0 for t in self.ttl):
            raise ValueError("state_ttl_ms must be positive")
        from runtime_lib.watermarks import _now_ms

        self.clock = clock or _now_ms
        self.expired_rows = 0
        self.peak_state_rows = 0

    def process_left(self, keys: list[Column], rows: Batch, now_ms: int | None = None) -> Batch:
        """Join a micro-batch of left rows (in arrival order); returns the changelog."""
        return self._process(L, keys, rows, now_ms)

    def process_right(self, keys: list[Column], rows: Batch, now_ms: int | None = None) -> Batch:
        """Join a micro-batch of right rows; returns the changelog."""
        return self._process(R, keys, rows, now_ms)

    def expire(self, now_ms: int | None = None) -> int:
        """Drop stored rows older than the TTL (also done by every process call);
        returns how many."""
        if self.ttl == (None, None):
            return 0
        now = self.clock() if now_ms is None else int(now_ms)
        dropped = 0
        for st in self.state:
            due = st.due(now)
            st.kill(due)
            dropped += len(due)
        self.expired_rows += dropped
        self._compact()
        return dropped

    def _until(self, side: int, now: int) -> int:
        """The expiry deadline of a row of ``side`` written at ``now``."""
        ttl = self.ttl[side]
        return _CLAMP if ttl is None else now + ttl

    def _process(self, s: int, keys, rows: Batch, now_ms) -> Batch:
        n = rows.num_rows
        cols = self._input_columns(s, rows)
        now = self.clock() if now_ms is None else int(now_ms)
        self.expire(now)
        if n == 0:
            return _empty_batch(self.names, self.kinds, False, True)
        kid = self._encode(keys, n)
        ops = rows.ops
        retract = np.zeros(n, bool) if ops is None else np.isin(ops, _RETRACT)
        kinds = np.full(n, "+I", object) if ops is None else np.asarray(ops, object)
        parts: list = []
        # runs of accumulate rows (vectorized) and single retraction rows
        cuts = np.flatnonzero(retract[1:] != retract[:-1]) + 1
        bounds = np.concatenate([[0], cuts, [n]])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            if retract[a]:
                for i in range(a, b):
                    self._retract_one(s, cols, kid, kinds, i, now, parts)
            else:
                self._accumulate(s, cols, kid, kinds, a, b, now, parts)
        out = self._emit(s, cols, parts)
        self.peak_state_rows = max(self.peak_state_rows, self.state_rows)
        self._compact()
        if self.insert_only:  # every row is +I: a plain append-only result
            out = Batch(out.columns, out.num_rows, out.watermarks)
        return out

    def _pairs(self, s, cols, kid_rows, rows_idx):
        """Pairs (input row index, other-side position) of the given input rows."""
        o = 1 - s
        zero = np.zeros(len(rows_idx), np.int64)
        qi, pos = self.state[o].probe(kid_rows, zero, zero)
        qi = rows_idx[qi]
        if self.residual is not None and len(qi):
            alive = self.state[o].alive[pos]
            qi, pos = qi[alive], pos[alive]
            qi, pos = self._apply_residual(s, cols, qi, pos)
        elif len(qi):
            alive = self.state[o].alive[pos]  # freed (expired) rows may linger in the index
            qi, pos = qi[alive], pos[alive]
        return qi, pos

    def _accumulate(self, s, cols, kid, kinds, a, b, now, parts) -> None:
        o = 1 - s
        idx = np.arange(a, b, dtype=np.int64)
        qi, pos = self._pairs(s, cols, kid[a:b], idx)
        other = self.state[o]
        n_pairs = np.bincount(qi - a, minlength=b - a).astype(np.int64)
        if len(pos):
            if self.outer[o]:
                # the first pair of a stored outer row that had no match retracts its NULL row
                _, first = np.unique(pos, return_index=True)
                first = first[other.hits[pos[first]] == 0]
                self._part(parts, o, _FROM_STATE, pos[first], qi[first], 0, "-D", np.arange(len(first)))
            np.add.at(other.hits, pos, 1)
            if self.outer[o]:  # the match count of an outer row is state: the write refreshes its TTL
                other.bound[np.unique(pos)] = self._until(o, now)
            out_kind = "+I" if self.outer[s] else kinds[qi]
            self._pair_part(parts, s, qi, pos, out_kind)
        if self.outer[s]:
            lone = np.flatnonzero(n_pairs == 0) + a
            self._part(parts, s, _FROM_BATCH, lone, lone, 1, "+I", np.zeros(len(lone), np.int64))
        keep = np.flatnonzero(kid[a:b] >= 0) + a
        if len(keep):
            self.state[s].append([c.take(keep) for c in cols], kid[keep], np.zeros(len(keep), np.int64),
                                 np.full(len(keep), self._until(s, now), np.int64), self._new_seqs(len(keep)),
                                 n_pairs[keep - a])

    def _retract_one(self, s, cols, kid, kinds, i, now, parts) -> None:
        o = 1 - s
        own = self.state[s]
        one = np.array([i], np.int64)
        if kid[i] >= 0:  # remove one stored row equal to this one
            zero = np.zeros(1, np.int64)
            _, cand = own.probe(kid[one], zero, zero)
            cand = cand[own.alive[cand]]
            for j, c in enumerate(cols):
                if not len(cand):
                    break
                v, ok = own.column(j, cand)
                same_null = ok == bool(c.is_valid()[i])
                same_val = ~ok | _equal(v, c.values[i])
                cand = cand[same_null & same_val]
            if len(cand):
                own.kill(cand[:1])
        qi, pos = self._pairs(s, cols, kid[one], one)
        if not len(pos):
            if self.outer[s]:
                self._part(parts, s, _FROM_BATCH, one, one, 1, "-D", np.zeros(1, np.int64))
            return
        self._pair_part(parts, s, qi, pos, "-D" if self.outer[s] else kinds[i])
        other = self.state[o]
        if self.outer[o]:
            back = pos[other.hits[pos] == 1]
            self._part(parts, o, _FROM_STATE, back, np.full(len(back), i), 2, "+I", np.arange(len(back)))
        other.hits[pos] = np.maximum(other.hits[pos] - 1, 0)
        if self.outer[o]:
            other.bound[pos] = self._until(o, now)

    def _pair_part(self, parts, s, qi, pos, kind) -> None:
        m = len(qi)
        src_b = np.full(m, _FROM_BATCH, np.int8)
        src_s = np.full(m, _FROM_STATE, np.int8)
        sides = (src_b, qi, src_s, pos) if s == L else (src_s, pos, src_b, qi)
        ops = np.empty(m, object)
        ops[:] = kind
        parts.append((*sides, qi, np.ones(m, np.int64), np.arange(m, dtype=np.int64), ops))

    def _part(self, parts, side, src, idx, position, sub, kind, tie) -> None:
        """NULL-padded rows of ``side`` (from the batch or from state)."""
        m = len(idx)
        if not m:
            return
        null = np.full(m, _NULL, np.int8)
        mine = np.full(m, src, np.int8)
        zero = np.zeros(m, np.int64)
        sides = (mine, idx, null, zero) if side == L else (null, zero, mine, idx)
        ops = np.empty(m, object)
        ops[:] = kind
        parts.append((*sides, np.asarray(position, np.int64), np.full(m, sub, np.int64),
                      np.asarray(tie, np.int64), ops))

    def _emit(self, s, cols, parts) -> Batch:
        if not parts:
            return _empty_batch(self.names, self.kinds, False, True)
        lsrc, lidx, rsrc, ridx, position, sub, tie, ops = (np.concatenate(x) for x in zip(*parts))
        order = np.lexsort((tie, sub, position))
        return self._assemble(s, cols, lsrc[order], lidx[order], rsrc[order], ridx[order], ops=ops[order])

    def snapshot(self) -> dict:
        """State as numpy arrays and JSON-able values (no pickle). Processing-time
        TTL deadlines are stored as they are (monotonic clock: restore on the
        same host, or pass a ``clock`` that continues it)."""
        self._compact(force=True)
        return {"seq": self._seq, "expired_rows": self.expired_rows, "peak_state_rows": self.peak_state_rows,
                "keys": self.keys.snapshot(), "left": self.state[L].snapshot(), "right": self.state[R].snapshot()}

    def restore(self, data: dict) -> None:
        self._seq, self.expired_rows = int(data["seq"]), int(data["expired_rows"])
        self.peak_state_rows = int(data["peak_state_rows"])
        self.keys.restore(data["keys"])
        self.state[L].restore(data["left"])
        self.state[R].restore(data["right"])


def _equal(values: np.ndarray, x) -> np.ndarray:
    """values == x elementwise, NaN equal to NaN (rows are compared as wholes)."""
    if values.dtype == object:
        return np.fromiter((v == x for v in values.tolist()), bool, count=len(values))
    eq = values == x
    if values.dtype.kind == "f" and x != x:  # noqa: PLR0124 (NaN test)
        eq |= values != values  # noqa: PLR0124
    return eq

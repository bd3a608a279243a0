"""What both stream-stream joins are made of: the key ids of the join keys,
the buffered rows of each input (with an index sorted by key and time, and
the numba kernels that keep it sorted and probe it), and ``Sides``, the
configuration and buffers both joins share.
"""

from __future__ import annotations

import numpy as np

from runtime_lib.codes import Codes
from runtime_lib.columns import DTYPES, FILLERS, Batch, Column, truth_mask
from runtime_lib.jit import kernel_jit
from runtime_lib.keys import PairTable, numeric_bits
from runtime_lib.state import values_data, values_from_data
from runtime_lib.watermarks import CLAMP, event_times, row_watermarks

jit = kernel_jit(__name__)

JOIN_KINDS = ("INNER", "LEFT", "RIGHT", "FULL")
L, R = 0, 1
FROM_BATCH, FROM_STATE, NULL = 0, 1, 2  # where an output column's value comes from


def clamp(w: int) -> int:
    return max(-CLAMP, min(CLAMP, int(w)))


def empty_batch(names: list[str], kinds: list[str], with_wm: bool, with_ops: bool = False) -> Batch:
    cols = {n: Column(np.zeros(0, DTYPES[k])) for n, k in zip(names, kinds)}
    return Batch(cols, 0, np.zeros(0, np.int64) if with_wm else None,
                 np.zeros(0, object) if with_ops else None)


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


class KeyIds:
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

    def columns(self) -> list[Column]:
        """The key of every id, as columns of the key's kinds (for its key group)."""
        out = []
        for kind, material in zip(self.kinds, self._material_of(np.arange(len(self), dtype=np.int64))):
            if kind == "O":
                out.append(Column(material))
            elif kind == "f":
                out.append(Column(material.view(np.float64)))
            else:
                out.append(Column(material.astype(DTYPES[kind])))
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


class Rows:
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

    @staticmethod
    def merge_snapshots(a: dict, b: dict, keys_a: int) -> dict:
        """Two inputs' snapshots as one, ``b``'s key ids shifted by ``keys_a``."""
        out = {name: np.concatenate([np.asarray(a[name], np.int64), np.asarray(b[name], np.int64)])
               for name in Rows._INT_FIELDS}
        out["kid"] = np.concatenate([np.asarray(a["kid"], np.int64),
                                     np.asarray(b["kid"], np.int64) + keys_a])
        out["values"] = [list(x) + list(y) if isinstance(x, list) or isinstance(y, list)
                         else np.concatenate([x, y]) for x, y in zip(a["values"], b["values"])]
        out["valid"] = [np.concatenate([x, y]) for x, y in zip(a["valid"], b["valid"])]
        return out

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


def _pick(kind: str, src: np.ndarray, idx: np.ndarray, batch_col: Column | None, state: Rows, j: int) -> Column:
    """One output column: rows from the input batch, from state, or NULL."""
    m = len(src)
    vals = np.empty(m, object) if kind == "O" else np.zeros(m, DTYPES[kind])
    ok = np.zeros(m, bool)
    sel = np.flatnonzero(src == FROM_BATCH)
    if len(sel):
        vals[sel] = batch_col.values[idx[sel]]
        ok[sel] = batch_col.is_valid()[idx[sel]]
    sel = np.flatnonzero(src == FROM_STATE)
    if len(sel):
        v, o = state.column(j, idx[sel])
        vals[sel] = v
        ok[sel] = o
    if ok.all():
        return Column(vals)
    if kind == "O":
        vals[~ok] = FILLERS["O"]
    return Column(vals, ok)


class Sides:
    """Configuration and buffers shared by IntervalJoin and Join."""

    def __init__(self, kind, key_kinds, left_names, right_names, left_kinds, right_kinds, residual):
        kind = kind.upper()
        if kind not in JOIN_KINDS:
            raise ValueError(f"join kind must be one of {JOIN_KINDS}, got {kind!r}")
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
        self.keys = KeyIds(self.key_kinds)
        self.state = (Rows(self.side_kinds[L]), Rows(self.side_kinds[R]))
        self._seq = 0

    def _input_columns(self, s: int, rows: Batch) -> list[Column]:
        cols = list(rows.columns.values())
        if len(cols) != len(self.side_names[s]):
            side = "left" if s == L else "right"
            raise ValueError(f"{side} rows have {len(cols)} columns, the join expects "
                             f"{len(self.side_names[s])} ({self.side_names[s]})")
        return cols

    def _arrival(self, s: int, ts, rows: Batch,
                 watermark_before) -> tuple[np.ndarray, list[Column], np.ndarray | None]:
        """A side's micro-batch as the event-time joins take it: its event times,
        its input columns and the watermark before each row (the given one, else
        the batch's, else the join's ``_wm``); None for an empty batch's."""
        ts = event_times(ts)
        cols = self._input_columns(s, rows)
        if rows.num_rows != len(ts):
            raise ValueError("ts and rows differ in length")
        if len(ts) == 0:
            return ts, cols, None
        if watermark_before is None:
            watermark_before = rows.watermarks if rows.watermarks is not None else self._wm
        return ts, cols, row_watermarks(watermark_before, len(ts), self._wm)

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
        src_b = np.full(m, FROM_BATCH, np.int8)
        src_s = np.full(m, FROM_STATE, np.int8)
        out = {}
        for side in (L, R):
            src, idx = (src_b, qi) if side == s else (src_s, pos)
            for j, (name, kind) in enumerate(zip(self.side_names[side], self.side_kinds[side])):
                out[name] = _pick(kind, src, idx, cols[j] if side == s else None, self.state[o], j)
        return Batch(out, m)

    def _apply_residual(self, s, cols, qi, pos):
        if self.residual is None or len(qi) == 0:
            return qi, pos
        keep = truth_mask(self.residual(self._candidates(s, cols, qi, pos)), len(qi))
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

    # -- key groups (runtime_lib.keygroups) -----------------------------------

    def retain_key_groups(self, owned) -> None:
        """Keep only the buffered rows of both inputs whose join key is in the
        key groups ``owned`` (after a restore from a checkpoint of more of
        them); the others are dropped without output (an outer join's
        unmatched rows are another process's to emit). Rows with a NULL key
        are never buffered."""
        from runtime_lib.keygroups import keeps_counters, key_group

        groups = key_group(self.keys.columns(), owned.max_parallelism)
        mine = owned.contains(groups)
        for st in self.state:
            n = st.n
            st.kill(np.flatnonzero(st.alive[:n] & ~mine[st.kid[:n]]))
            st.compact()
        if not keeps_counters(owned):
            for name in ("late_count", "late_left", "late_right", "expired_rows"):
                if hasattr(self, name):
                    setattr(self, name, 0)

    @staticmethod
    def merge_snapshots(a: dict, b: dict) -> dict:
        """Two snapshots of disjoint key groups as one (``keygroups.merge``): the
        keys and each input's rows one after the other, counters summed, the
        watermark the lower one, the peak of held rows the sum (an upper bound)."""
        from runtime_lib.keygroups import merge_key_dictionaries

        keys_a = int(a["keys"]["n"])
        out = dict(a)
        out["keys"] = merge_key_dictionaries(a["keys"], b["keys"])
        for side in ("left", "right", "versions"):
            if side in a:
                out[side] = Rows.merge_snapshots(a[side], b[side], keys_a)
        for name in ("late_count", "late_left", "late_right", "expired_rows", "peak_state_rows"):
            if name in a:
                out[name] = int(a[name]) + int(b[name])
        out["seq"] = max(int(a["seq"]), int(b["seq"]))
        if "wm" in a:
            out["wm"] = min(int(a["wm"]), int(b["wm"]))
        if "latest" in a:  # a temporal join's newest version time per key
            from runtime_lib.watermarks import WM_MIN

            latest_a = np.full(keys_a, WM_MIN, np.int64)
            latest_a[: min(keys_a, len(a["latest"]))] = np.asarray(a["latest"], np.int64)[:keys_a]
            out["latest"] = np.concatenate([latest_a, np.asarray(b["latest"], np.int64)])
        return out

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

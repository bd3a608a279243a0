"""TUMBLE, HOP and CUMULATE windows: state per (group key, pane).

A pane is a slide of a HOP window or a step of a CUMULATE window (for TUMBLE,
the window itself); a window is a range of panes, so rows are added once to
their pane and a HOP window's result combines the partial states of its
panes. See ``runtime_lib.operators.windows`` for the semantics.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.changelog import EmittedRows
from runtime_lib.operators.windows.base import (
    Cumulate,
    Hop,
    Tumble,
    WindowAggregate,
    slice_columns,
)
from runtime_lib.watermarks import CLAMP, event_times, row_watermarks

# ---------------------------------------------------------------------------
# Pane grid: windows of TUMBLE / HOP / CUMULATE as ranges of panes.
#
# Pane p covers [offset + p*P, offset + (p+1)*P). Window w covers panes
# first(w)..last(w); every pane belongs to windows wlo(p)..whi(p); window ids
# increase with window_end, so "windows due at watermark W" is a range.
# ---------------------------------------------------------------------------


class _Grid:
    def __init__(self, window, delay_ms: int):
        self.delay = int(delay_ms)
        if isinstance(window, Tumble):
            self.P, self.s, self.z, self.m = window.size_ms, 1, 1, 0
            self.O = window.offset_ms
        elif isinstance(window, Hop):
            if window.slide_ms <= 0 or window.size_ms <= 0:
                raise ValueError("HOP slide and size must be positive")
            self.P = math.gcd(window.slide_ms, window.size_ms)
            self.s, self.z, self.m = window.slide_ms // self.P, window.size_ms // self.P, 0
            self.O = window.offset_ms
        elif isinstance(window, Cumulate):
            if window.max_size_ms % window.step_ms:
                raise ValueError("CUMULATE max size must be a multiple of the step")
            self.P, self.s, self.z = window.step_ms, 1, 1
            self.m = window.max_size_ms // window.step_ms
            self.O = window.offset_ms
        else:
            raise TypeError(f"not a pane window: {window!r}")
        if self.P <= 0:
            raise ValueError("window size must be positive")
        self.shared = self.s != 1 or self.z != 1 or self.m > 1  # panes feed several windows

    def pane_of(self, ts):
        return np.floor_divide(ts - self.O, self.P)

    def wlo(self, p):
        if self.m:
            return p
        return -np.floor_divide(-(p - self.z + 1), self.s)

    def whi(self, p):
        if self.m:
            return np.floor_divide(p, self.m) * self.m + self.m - 1
        return np.floor_divide(p, self.s)

    def panes(self, w):
        """(first pane, number of panes) of windows w."""
        if self.m:
            return np.floor_divide(w, self.m) * self.m, np.mod(w, self.m) + 1
        return w * self.s, np.full(np.shape(w), self.z, np.int64)

    def start(self, w):
        if self.m:
            return self.O + np.floor_divide(w, self.m) * self.m * self.P
        return self.O + w * self.s * self.P

    def end(self, w):
        if self.m:
            return self.O + (w + 1) * self.P
        return self.O + w * self.s * self.P + self.z * self.P

    def w_upto(self, wm):
        """Largest window id whose threshold end - 1 + delay <= wm (array or int)."""
        if isinstance(wm, (int, np.integer)):
            wm = max(-CLAMP, min(CLAMP, int(wm)))
        if self.m or self.s == 1 and self.z == 1:
            return np.floor_divide(wm - self.O + 1 - self.delay, self.P) - 1
        return np.floor_divide(wm - self.O - self.z * self.P + 1 - self.delay, self.s * self.P)


class PaneWindowAggregate(WindowAggregate):
    """TUMBLE, HOP and CUMULATE: state per (group key, pane)."""

    def __init__(self, window, **kwargs):
        super().__init__(window, **kwargs)
        self.grid = _Grid(window, self.delay)
        if self.changes:
            self._emitted = EmittedRows(self.states.output_kinds, self.states.result_names)
            self._touched: list[np.ndarray] = []

    @property
    def open_windows(self) -> int:
        """Windows that hold state and have not fired (per group key)."""
        n = self.slots.n
        if n == 0:
            return 0
        pane = self.slots.b[:n]
        lo = np.maximum(self.grid.wlo(pane), self.grid.w_upto(self._fired_wm) + 1)
        hi = self.grid.whi(pane)
        cnt = np.maximum(hi - lo + 1, 0)
        src = np.repeat(np.arange(n), cnt)
        w = lo[src] + (np.arange(len(src)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        return len(np.unique(np.stack([self.slots.a[src], w]), axis=1).T) if len(src) else 0

    def process(self, keys: list[Column], ts, watermark_before, args: list[Column] = (),
                filters: list = (), retract: np.ndarray | None = None) -> np.ndarray:
        """Add a batch of rows (in arrival order; ``retract`` marks rows taken
        back). Returns the indices of the rows dropped as late (late for every
        window they belong to)."""
        ts = event_times(ts)
        n = len(ts)
        seqs = self._new_seqs(n)
        kid = self.keys.encode_rows(keys, n)
        if n == 0:
            return np.zeros(0, np.int64)
        eff = row_watermarks(watermark_before, n, self._fired_wm)
        g = self.grid
        pane = g.pane_of(ts)
        wu = g.w_upto(eff)
        late = g.whi(pane) <= wu
        late_idx = np.flatnonzero(late)
        self.late_count += len(late_idx)
        kid = np.where(late, -1, kid)
        if g.shared:
            cuts = np.flatnonzero(wu[1:] != wu[:-1]) + 1
            bounds = np.concatenate([[0], cuts, [n]])
        else:
            bounds = np.array([0, n])
        args = list(args)
        filters = list(filters)
        for a, b in itertools.pairwise(bounds):
            if g.shared:
                self._fire(int(eff[a]), mid_batch=True)
            slots = self.slots.insert(kid[a:b], pane[a:b], seqs[a:b])
            self.states.ensure(self.slots.n)
            self.states.update(slots, slice_columns(args, a, b), slice_columns(filters, a, b), seqs[a:b],
                               None if retract is None else np.asarray(retract, bool)[a:b])
            if self.changes:
                self._touched.append(np.unique(slots[slots >= 0]))
        return late_idx

    def _fire(self, wm: int, mid_batch: bool = False) -> None:
        if wm <= self._fired_wm:
            return
        g = self.grid
        wl = int(g.w_upto(self._fired_wm)) + 1
        wh = int(g.w_upto(wm))
        self._fired_wm = wm
        n = self.slots.n
        if wh < wl or n == 0:
            return
        if self.changes:
            self._emit_changes(wl, wh)
        pane = self.slots.b[:n]
        key = self.slots.a[:n]
        if not self.changes:
            lo = np.maximum(g.wlo(pane), wl)
            hi = np.minimum(g.whi(pane), wh)
            cnt = np.maximum(hi - lo + 1, 0)
            if cnt.any():
                self._pending.append(self._window_results(key, lo, cnt))
        else:
            # closing windows: forget what was emitted for them
            lo = np.maximum(g.wlo(pane), wl)
            hi = np.minimum(g.whi(pane), wh)
            cnt = np.maximum(hi - lo + 1, 0)
            src = np.repeat(np.arange(n), cnt)
            w = lo[src] + (np.arange(len(src)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
            self._emitted.remove(key[src], w)
        keep = np.flatnonzero(g.whi(pane) > wh)
        if len(keep) < n:
            self._free(keep)

    def _groups(self, key, lo, cnt):
        """Explode slots into (window, key) groups: returns idx, offs, w, key of groups."""
        n = len(cnt)
        src = np.repeat(np.arange(n), cnt)
        w = lo[src] + (np.arange(len(src)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        k = key[src]
        order = np.lexsort((k, w))
        idx = src[order].astype(np.int64)
        w, k = w[order], k[order]
        if len(w):
            change = np.concatenate([[True], (w[1:] != w[:-1]) | (k[1:] != k[:-1])])
            starts = np.flatnonzero(change)
        else:
            starts = np.zeros(0, np.int64)
        offs = np.concatenate([starts, [len(idx)]]).astype(np.int64)
        return idx, offs, w[starts], k[starts]

    def _window_results(self, key, lo, cnt) -> Batch:
        idx, offs, gw, gk = self._groups(key, lo, cnt)
        cols = self.states.results(idx, offs, final=not self.grid.shared)  # TUMBLE panes are freed now
        gseq = np.minimum.reduceat(self.slots.seq[idx], offs[:-1]) if len(idx) else idx
        order = np.lexsort((gseq, gw))
        order = order[self.states.row_counts(idx, offs)[order] > 0]  # all rows taken back: no window
        g = self.grid
        return self._build(gk[order], g.start(gw[order]), g.end(gw[order]), [c.take(order) for c in cols])

    def _emit_remaining_changes(self) -> None:
        self._emit_changes(int(self.grid.w_upto(self._fired_wm)) + 1, None)

    def _emit_changes(self, lo_w: int, hi_w: int | None) -> None:
        """Emit changed results of the windows touched since the last call with
        ids in [lo_w, hi_w] (hi_w None: all; otherwise the windows about to
        close, whose touches are then forgotten by ``_free``)."""
        if not self._touched:
            return
        g = self.grid
        touched = np.unique(np.concatenate(self._touched))
        pane = self.slots.b[touched]
        lo = np.maximum(g.wlo(pane), lo_w)
        hi = g.whi(pane) if hi_w is None else np.minimum(g.whi(pane), hi_w)
        cnt = np.maximum(hi - lo + 1, 0)
        src = np.repeat(np.arange(len(touched)), cnt)
        w = lo[src] + (np.arange(len(src)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        k = self.slots.a[touched][src]
        if hi_w is None:
            self._touched = []
        if len(w) == 0:
            return
        wk = np.unique(np.stack([w, k]), axis=1)
        w, k = wk[0], wk[1]
        # all panes of these windows, looked up in the slot table
        first, npanes = g.panes(w)
        rep = np.repeat(np.arange(len(w)), npanes)
        p = first[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(npanes) - npanes, npanes))
        s = self.slots.table.lookup(k[rep], p)
        ok = s >= 0
        rep, s = rep[ok], s[ok]  # rep is sorted: windows stay grouped
        counts = np.bincount(rep, minlength=len(w))
        offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        s = s.astype(np.int64)
        cols = self.states.results(s, offs)
        alive = self.states.row_counts(s, offs) > 0
        gseq = np.minimum.reduceat(self.slots.seq[s], offs[:-1])
        order = np.lexsort((gseq, w))
        w, k, cols = w[order], k[order], [c.take(order) for c in cols]
        self._pending.append(self._changelog(k, w, g.start(w), g.end(w), cols, alive[order]))

    def _changelog(self, k, w, start, end, cols, alive=None) -> Batch:
        """Rows for windows whose results were recomputed: ``+I`` new, ``-U``/``+U``
        changed, ``-D`` gone (``alive`` False: every row taken back)."""
        if alive is None:
            alive = np.ones(len(k), bool)
        rid, had, changed = self._emitted.diff(k, w, cols)
        emit = alive & (~had | changed)
        gone = had & ~alive
        old = self._emitted.old(rid)
        self._emitted.store(rid[emit], [c.take(emit) for c in cols], np.ones(int(emit.sum()), bool))
        self._emitted.store(rid[gone], [c.take(gone) for c in old], np.zeros(int(gone.sum()), bool))
        # rows: per window, ('-U' old, '+U' new), '+I' new or '-D' old
        upd = had & changed & alive
        emit = emit | gone
        n_out = int(emit.sum() + upd.sum())
        pos_new = np.cumsum(emit.astype(np.int64) + upd.astype(np.int64)) - 1  # position of the new row
        sel_new = np.flatnonzero(emit)
        sel_old = np.flatnonzero(upd)
        idx = np.zeros(n_out, np.int64)
        from_old = np.zeros(n_out, bool)
        idx[pos_new[sel_new]] = sel_new
        idx[pos_new[sel_old] - 1] = sel_old
        from_old[pos_new[sel_old] - 1] = True
        ops = np.where(from_old, "-U", np.where(had[idx], "+U", "+I")).astype(object)
        dead = gone[idx]
        from_old |= dead
        ops[dead] = "-D"
        merged = []
        for c_new, c_old in zip(cols, old):
            v = c_new.values[idx].copy()
            ok = c_new.is_valid()[idx].copy()
            v[from_old] = c_old.values[idx[from_old]]
            ok[from_old] = c_old.valid[idx[from_old]]
            merged.append(Column(v, None if ok.all() else ok))
        return self._build(k[idx], start[idx], end[idx], merged, ops=list(ops))

    def _free(self, keep: np.ndarray) -> None:
        self.states.take(keep)
        if self.changes and self._touched:
            remap = np.full(self.slots.n, -1, np.int64)
            remap[keep] = np.arange(len(keep))
            touched = remap[np.concatenate(self._touched)]
            self._touched = [touched[touched >= 0]]
        self.slots.take(keep)

    def _compact(self) -> None:
        """Drop keys no state refers to (between batches only: ids stay valid within one)."""
        live = np.unique(self.slots.a[: self.slots.n])
        if len(self.keys) > 2 * len(live) + 1024:
            remap = self.keys.compact(live)
            n = self.slots.n
            self.slots.rebuild(remap[self.slots.a[:n]], self.slots.b[:n].copy(), self.slots.seq[:n].copy())
            if self.changes:
                self._emitted.remap_a(np.concatenate([remap, [-1]]))

    # -- key groups (runtime_lib.keygroups) -----------------------------------

    def unsplittable(self) -> str | None:
        return None if self.key_kinds else ("a window aggregate without a GROUP BY key holds "
                                            "each window whole")

    def retain_key_groups(self, owned) -> None:
        """Keep only the (key, pane) slots whose key is in the key groups
        ``owned`` (after a restore from a checkpoint of more of them)."""
        from runtime_lib.keygroups import keeps_counters, owned_keys

        kept = owned_keys(self.keys, owned)
        n = self.slots.n
        self._free(np.flatnonzero(np.isin(self.slots.a[:n], kept)))
        remap = self.keys.compact(kept)
        n = self.slots.n
        self.slots.rebuild(remap[self.slots.a[:n]], self.slots.b[:n].copy(), self.slots.seq[:n].copy())
        if self.changes:
            self._emitted.keep_a(np.concatenate([remap, [-1]]))
        if not keeps_counters(owned):
            self.late_count = 0

    @staticmethod
    def merge_snapshots(a: dict, b: dict) -> dict:
        """Two snapshots of disjoint key groups as one (``keygroups.merge``): the
        fired watermark is the lower one, late rows add up."""
        from runtime_lib.keygroups import (
            merge_aggregate_states,
            merge_emitted,
            merge_key_dictionaries,
        )

        keys_a = int(a["keys"]["n"])
        sa, sb = a["slots"], b["slots"]
        data = {"kind": a["kind"], "late_count": int(a["late_count"]) + int(b["late_count"]),
                "seq": max(int(a["seq"]), int(b["seq"])),
                "fired_wm": min(int(a["fired_wm"]), int(b["fired_wm"])),
                "slots": {"a": np.concatenate([sa["a"], np.asarray(sb["a"], np.int64) + keys_a]),
                          "b": np.concatenate([sa["b"], sb["b"]]),
                          "seq": np.concatenate([sa["seq"], sb["seq"]])},
                "keys": merge_key_dictionaries(a["keys"], b["keys"]),
                "states": merge_aggregate_states(a["states"], b["states"])}
        if "emitted" in a:
            data["emitted"] = merge_emitted(a["emitted"], b["emitted"], keys_a)
        return data

    # -- snapshot ----------------------------------------------------------

    def snapshot(self) -> dict:
        self._check_pending()
        if self.changes and self._touched:
            raise RuntimeError("call advance() before snapshot()")
        data = {"kind": type(self.window).__name__, "late_count": self.late_count, "seq": self._seq,
                "fired_wm": self._fired_wm, "slots": self.slots.snapshot(), "keys": self.keys.snapshot(),
                "states": self.states.snapshot()}
        if self.changes:
            data["emitted"] = self._emitted.snapshot()
        return data

    def restore(self, data: dict) -> None:
        self.late_count, self._seq, self._fired_wm = (int(data[k]) for k in ("late_count", "seq", "fired_wm"))
        self.slots.restore(data["slots"])
        self.keys.restore(data["keys"])
        self.states.restore(data["states"])
        if self.changes:
            self._emitted.restore(data["emitted"])
            self._touched = []
        self._pending = []

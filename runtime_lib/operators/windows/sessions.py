"""SESSION windows: state per (group key, session).

Sessions are nodes of a union-find forest, chained per partition while open;
a row that bridges two sessions merges them (``assign_sessions``, a numba kernel at the end of this module),
and the state of merged sessions is merged with the aggregates' combine
kernels. See ``runtime_lib.operators.windows`` for the semantics.
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.jit import kernel_jit
from runtime_lib.keys import KeyEncoder
from runtime_lib.operators.changelog import EmittedRows
from runtime_lib.operators.windows.base import WindowAggregate
from runtime_lib.watermarks import CLAMP, event_times, row_watermarks

jit = kernel_jit(__name__)


class SessionWindowAggregate(WindowAggregate):
    """SESSION windows: state per (group key, session); sessions are nodes of a
    union-find forest, chained per partition while open."""

    def __init__(self, window, **kwargs):
        super().__init__(window, **kwargs)
        if self.changes:
            # last emitted row per (group key, session node), window bounds included
            self._emitted = EmittedRows(self.states.output_kinds + ["i", "i"],
                                        [*self.states.result_names, "window_start", "window_end"])
            self._touched: list[np.ndarray] = []
        if window.gap_ms <= 0:
            raise ValueError("SESSION gap must be positive")
        self.gap = int(window.gap_ms)
        self.partition_by = tuple(window.partition_by)
        self._part_is_key = self.partition_by == tuple(range(len(self.key_kinds))) and self.key_kinds
        self.parts = KeyEncoder([self.key_kinds[i] for i in self.partition_by])
        cap = 16
        self.n_start, self.n_end, self.n_parent, self.n_part, self.nxt = (np.zeros(cap, np.int64) for _ in range(5))
        self.n_open = np.zeros(cap, bool)
        self.n_used = 0
        self.head = np.full(16, -1, np.int64)
        self._closed: list[np.ndarray] = []  # sessions closed inside process(), not fired yet

    @property
    def open_windows(self) -> int:
        """(group key, session) pairs holding state."""
        return self.slots.n

    @property
    def open_sessions(self) -> int:
        return int(self.n_open[: self.n_used].sum())

    def _ensure_nodes(self, extra: int) -> None:
        need = self.n_used + extra
        if need > len(self.n_start):
            cap = max(need, 2 * len(self.n_start))
            for name in ("n_start", "n_end", "n_parent", "n_part", "nxt"):
                arr = np.zeros(cap, np.int64)
                arr[: self.n_used] = getattr(self, name)[: self.n_used]
                setattr(self, name, arr)
            op = np.zeros(cap, bool)
            op[: self.n_used] = self.n_open[: self.n_used]
            self.n_open = op

    def process(self, keys: list[Column], ts, watermark_before, args: list[Column] = (),
                filters: list = (), retract: np.ndarray | None = None) -> np.ndarray:
        if retract is not None and np.any(retract):
            raise ValueError("SESSION windows cannot take rows back (an updating input)")
        ts = event_times(ts)
        n = len(ts)
        seqs = self._new_seqs(n)
        kid = self.keys.encode_rows(keys, n)
        if self._part_is_key:
            pid = kid
            n_parts = len(self.keys)
        else:
            pid = self.parts.encode_rows([keys[i] for i in self.partition_by], n)
            n_parts = max(len(self.parts), 1)
        if n == 0:
            return np.zeros(0, np.int64)
        eff = row_watermarks(watermark_before, n, self._fired_wm)
        if n_parts > len(self.head):
            self.head = np.concatenate([self.head, np.full(max(n_parts, 2 * len(self.head)) - len(self.head), -1)])
        self._ensure_nodes(n)
        row_node = np.empty(n, np.int64)
        closed = np.empty(self.n_used + n, np.int64)
        self.n_used, n_closed = assign_sessions(
            pid, ts, eff, self.gap, self.delay, self.head, self.nxt, self.n_start, self.n_end, self.n_parent,
            self.n_open, self.n_part, self.n_used, row_node, closed, 0)
        late = row_node < 0
        late_idx = np.flatnonzero(late)
        self.late_count += len(late_idx)
        # sessions merged in this batch: regroup the state of their older slots
        ns = self.slots.n
        if ns:
            node = self.slots.b[:ns]
            if np.any(self.n_parent[node] != node):
                root = np.empty(ns, np.int64)
                find_roots(self.n_parent, node.copy(), root)
                self._regroup(root)
        roots = np.empty(n, np.int64)
        find_roots(self.n_parent, row_node, roots)
        slots = self.slots.insert(np.where(late, -1, kid), roots, seqs)
        self.states.ensure(self.slots.n)
        self.states.update(slots, list(args), list(filters), seqs)
        if self.changes:
            # every group of a session whose rows arrived: its bounds may have moved
            nodes = np.unique(roots[roots >= 0])
            self._touched.append(np.flatnonzero(np.isin(self.slots.b[: self.slots.n], nodes)))
        if n_closed:  # closed while rows passed their end: fired with the others at advance()
            self._closed.append(closed[:n_closed].copy())
        return late_idx

    def _regroup(self, root: np.ndarray) -> None:
        ns = self.slots.n
        key = self.slots.a[:ns]
        order = np.lexsort((root, key))
        k, r = key[order], root[order]
        change = np.concatenate([[True], (k[1:] != k[:-1]) | (r[1:] != r[:-1])])
        starts = np.flatnonzero(change)
        offs = np.concatenate([starts, [ns]]).astype(np.int64)
        idx = order.astype(np.int64)
        seq = np.minimum.reduceat(self.slots.seq[idx], offs[:-1])
        if self.changes:
            # rows emitted for sessions that were absorbed into another: '-D'
            node = self.slots.b[:ns]
            moved = np.flatnonzero(root != node)
            self._retract(key[moved], node[moved])
        self.states.merge(idx, offs)
        self.slots.rebuild(k[starts], r[starts], seq)
        if self.changes:
            self._touched = [np.arange(self.slots.n)]  # ids changed; unchanged rows emit nothing

    def _fire(self, wm: int, mid_batch: bool = False) -> None:
        if wm <= self._fired_wm and not self._closed:
            return
        self._fired_wm = max(wm, self._fired_wm)
        u = self.n_used
        due = self.n_open[:u] & (self.n_end[:u] - 1 + self.delay <= min(wm, CLAMP))
        nodes = np.concatenate([np.flatnonzero(due)] + self._closed)
        self._closed = []
        if len(nodes):
            self.n_open[nodes] = False
            self._fire_nodes(nodes)

    def _fire_nodes(self, nodes: np.ndarray) -> None:
        ns = self.slots.n
        closing = np.zeros(self.n_used, bool)
        closing[nodes] = True
        node_of_slot = self.slots.b[:ns]
        fire = np.flatnonzero(closing[node_of_slot])
        if self.changes:
            self._emit_changes(only=fire)
            self._emitted.remove(self.slots.a[fire], node_of_slot[fire])
        elif len(fire):
            nd = node_of_slot[fire]
            order = np.lexsort((self.slots.seq[fire], self.n_end[nd]))
            fire = fire[order].astype(np.int64)
            nd = nd[order]
            cols = self.states.results(fire, np.arange(len(fire) + 1, dtype=np.int64), final=True)
            self._pending.append(self._build(self.slots.a[fire], self.n_start[nd], self.n_end[nd], cols))
        keep = np.flatnonzero(~closing[node_of_slot])
        self.states.take(keep)
        if self.changes and self._touched:
            remap = np.full(ns, -1, np.int64)
            remap[keep] = np.arange(len(keep))
            touched = remap[np.concatenate(self._touched)]
            self._touched = [touched[touched >= 0]]
        self.slots.take(keep)

    def _emit_changes(self, only: np.ndarray | None = None) -> None:
        """Changelog rows of the sessions touched since the last call (of the
        slots ``only`` when given: sessions about to close). A session whose
        bounds moved (it grew or absorbed another) retracts its old row with
        '-D' and inserts the new one with '+I'; same bounds, new values: '-U'/'+U'."""
        if not self._touched:
            return
        touched = np.unique(np.concatenate(self._touched))
        if only is not None:
            sel = np.isin(touched, only)
            self._touched = [touched[~sel]]
            touched = touched[sel]
        else:
            self._touched = []
        if len(touched) == 0:
            return
        touched = touched[np.argsort(self.slots.seq[touched], kind="stable")]
        k, nd = self.slots.a[touched], self.slots.b[touched]
        start, end = self.n_start[nd], self.n_end[nd]
        cols = self.states.results(touched, np.arange(len(touched) + 1, dtype=np.int64))
        stored = cols + [Column(start), Column(end)]
        rid, had, changed = self._emitted.diff(k, nd, stored)
        old = self._emitted.old(rid)
        moved = had & ((old[-2].values != start) | (old[-1].values != end))
        emit = ~had | changed
        self._emitted.store(rid[emit], [c.take(emit) for c in stored], np.ones(int(emit.sum()), bool))
        n_old, n_new = (had & changed).astype(np.int64), emit.astype(np.int64)
        pos = np.cumsum(n_old + n_new) - n_new
        total = int((n_old + n_new).sum())
        idx = np.zeros(total, np.int64)
        from_old = np.zeros(total, bool)
        sel = np.flatnonzero(emit)
        idx[pos[sel]] = sel
        sel_o = np.flatnonzero(had & changed)
        idx[pos[sel_o] - 1] = sel_o
        from_old[pos[sel_o] - 1] = True
        ops = np.where(from_old, np.where(moved[idx], "-D", "-U"),
                       np.where(had[idx] & ~moved[idx], "+U", "+I")).astype(object)
        merged = []
        for c_new, c_old in zip(stored, old):
            v = c_new.values[idx].copy()
            ok = c_new.is_valid()[idx].copy()
            v[from_old] = c_old.values[idx[from_old]]
            ok[from_old] = c_old.valid[idx[from_old]]
            merged.append(Column(v, None if ok.all() else ok))
        self._pending.append(self._build(k[idx], merged[-2].values, merged[-1].values, merged[:-2], ops=list(ops)))

    def _emit_remaining_changes(self) -> None:
        self._emit_changes()

    def _retract(self, k: np.ndarray, nd: np.ndarray) -> None:
        """'-D' for the emitted rows of (key, session) pairs that disappear."""
        rid = self._emitted.table.lookup(k, nd)
        ok = rid >= 0
        ok[ok] = self._emitted.alive[rid[ok]]
        if not ok.any():
            return
        rid = rid[ok]
        old = self._emitted.old(rid)
        ops = ["-D"] * len(rid)
        self._pending.append(self._build(k[ok], old[-2].values, old[-1].values, old[:-2], ops=ops))
        self._emitted.remove(k[ok], nd[ok])

    def _compact(self) -> None:
        u = self.n_used
        live = np.flatnonzero(self.n_open[:u])
        if u > 2 * len(live) + 1024:
            remap = np.full(u, -1, np.int64)
            remap[live] = np.arange(len(live))
            for name in ("n_start", "n_end", "n_part"):
                setattr(self, name, getattr(self, name)[live])
            self.n_parent = np.arange(len(live), dtype=np.int64)
            self.n_open = np.ones(len(live), bool)
            self.nxt = np.full(len(live), -1, np.int64)
            self.n_used = len(live)
            ns = self.slots.n
            self.slots.rebuild(self.slots.a[:ns].copy(), remap[self.slots.b[:ns]], self.slots.seq[:ns].copy())
            if self.changes:
                self._emitted.remap_b(remap)
            self._ensure_nodes(16)
            self._relink()
        # key dictionaries
        ns = self.slots.n
        live_keys = np.unique(self.slots.a[:ns])
        if self._part_is_key:
            live_keys = np.union1d(live_keys, self.n_part[: self.n_used][self.n_open[: self.n_used]])
        if len(self.keys) > 2 * len(live_keys) + 1024:
            remap = self.keys.compact(live_keys)
            self.slots.rebuild(remap[self.slots.a[:ns]], self.slots.b[:ns].copy(), self.slots.seq[:ns].copy())
            if self.changes:
                self._emitted.remap_a(remap)
            if self._part_is_key:
                u = self.n_used
                self.n_part[:u] = np.where(self.n_open[:u], remap[self.n_part[:u]], 0)
                self._relink()
        if not self._part_is_key and self.partition_by and len(self.parts) > 1024:
            u = self.n_used
            live_parts = np.unique(self.n_part[:u][self.n_open[:u]])
            if len(self.parts) > 2 * len(live_parts) + 1024:
                remap = self.parts.compact(live_parts)
                self.n_part[:u] = np.where(self.n_open[:u], remap[self.n_part[:u]], 0)
                self._relink()

    def _relink(self) -> None:
        """Rebuild the per-partition chains of open sessions."""
        self.head = np.full(max(16, len(self.head)), -1, np.int64)
        u = self.n_used
        for node in np.flatnonzero(self.n_open[:u]).tolist():
            p = int(self.n_part[node])
            if p >= len(self.head):
                self.head = np.concatenate([self.head, np.full(max(p + 1, 2 * len(self.head)) - len(self.head), -1)])
            self.nxt[node] = self.head[p]
            self.head[p] = node

    # -- key groups (runtime_lib.keygroups) -----------------------------------

    def unsplittable(self) -> str | None:
        return None if self.partition_by else ("a SESSION window without PARTITION BY has one "
                                               "session for every row")

    def retain_key_groups(self, owned) -> None:
        """Keep only the sessions whose partition (the SESSION's PARTITION BY
        columns, which the key group is computed from: a session spans the
        group keys of its partition) is in the key groups ``owned``."""
        from runtime_lib.keygroups import keeps_counters, key_group

        def groups_of(encoder, ids, columns):
            cols = encoder.decode(ids)
            return key_group([cols[i] for i in columns], owned.max_parallelism)

        ns, u = self.slots.n, self.n_used
        slot_groups = groups_of(self.keys, self.slots.a[:ns], self.partition_by)
        if self._part_is_key:
            node_groups = groups_of(self.keys, self.n_part[:u], self.partition_by)
        else:
            node_groups = groups_of(self.parts, self.n_part[:u], range(len(self.partition_by)))
        keep = np.flatnonzero(owned.contains(slot_groups))
        self.states.take(keep)
        if self.changes:
            gone = np.full(len(self.keys) + 1, -1, np.int64)
            kept_keys = np.unique(self.slots.a[keep])
            gone[kept_keys] = kept_keys
            self._emitted.keep_a(gone)
        self.slots.take(keep)
        self.n_open[:u] &= owned.contains(node_groups)
        # the key dictionary down to the keys still held (as the periodic compaction does)
        ns = self.slots.n
        live_keys = np.unique(self.slots.a[:ns])
        if self._part_is_key:
            live_keys = np.union1d(live_keys, self.n_part[:u][self.n_open[:u]])
        remap = self.keys.compact(live_keys)
        self.slots.rebuild(remap[self.slots.a[:ns]], self.slots.b[:ns].copy(), self.slots.seq[:ns].copy())
        if self.changes:
            self._emitted.remap_a(remap)
        if self._part_is_key:
            self.n_part[:u] = np.where(self.n_open[:u], remap[self.n_part[:u]], 0)
        self._relink()
        if not keeps_counters(owned):
            self.late_count = 0

    def snapshot(self) -> dict:
        self._check_pending()
        if self.changes and self._touched and any(len(t) for t in self._touched):
            raise RuntimeError("call advance() before snapshot()")
        u = self.n_used
        data = {"kind": "Session", "late_count": self.late_count, "seq": self._seq, "fired_wm": self._fired_wm,
                "slots": self.slots.snapshot(), "keys": self.keys.snapshot(), "parts": self.parts.snapshot(),
                "states": self.states.snapshot(),
                "sessions": {name: getattr(self, name)[:u].copy()
                             for name in ("n_start", "n_end", "n_parent", "n_part", "n_open")}}
        if self.changes:
            data["emitted"] = self._emitted.snapshot()
        return data

    def restore(self, data: dict) -> None:
        self.late_count, self._seq, self._fired_wm = (int(data[k]) for k in ("late_count", "seq", "fired_wm"))
        self.slots.restore(data["slots"])
        sessions = data["sessions"]
        self.n_used = len(sessions["n_start"])
        cap = max(16, self.n_used)
        for name in ("n_start", "n_end", "n_parent", "n_part"):
            arr = np.zeros(cap, np.int64)
            arr[: self.n_used] = sessions[name]
            setattr(self, name, arr)
        self.n_open = np.zeros(cap, bool)
        self.n_open[: self.n_used] = sessions["n_open"]
        self.nxt = np.full(cap, -1, np.int64)
        self.keys.restore(data["keys"])
        self.parts.restore(data["parts"])
        self.states.restore(data["states"])
        if self.changes:
            self._emitted.restore(data["emitted"])
            self._touched = []
        self._relink()
        self._pending = []


# ---------------------------------------------------------------------------
# SESSION windows: sequential assignment of rows to sessions.
# ---------------------------------------------------------------------------


@jit
def assign_sessions(parts, ts, wm, gap, delay, head, nxt, n_start, n_end, n_parent, n_open, n_part,
                    n_used, row_node, closed, n_closed):
    """Rows in arrival order; for each row: close the partition's open sessions
    whose ``end - 1 + delay <= wm[i]`` (appended to ``closed``; sessions fired
    since they were chained are only unlinked), then merge every
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
                # a session _fire() fired stays chained until now: unlinked, not closed again
                if n_open[node]:
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

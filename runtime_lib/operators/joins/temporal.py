"""TemporalJoin: Flink's event-time temporal join (``JOIN versioned FOR
SYSTEM_TIME AS OF stream.rowtime``), INNER or LEFT.

The right input is a *versioned table*: a changelog with a primary key and an
event-time attribute, each row a version of its key valid from its time on
(a ``-D`` ends the key's versions: from its time on the key has no row). Each
left (stream) row joins the version of its key valid at the row's event time,
the one with the highest version time ``<=`` the row's time (of versions with
the same time, the one that arrived last). The row is held until the join's
watermark (the lower of its two inputs') passes its time, then emitted with the
version then valid; a LEFT join gives NULL right columns when no version is
valid (none yet, a ``-D``, a NULL key, or ``residual`` false for the pair).
The output is append-only::

    join = TemporalJoin(kind="LEFT", key_kinds=["O"],
                        left_names=["order_id", "currency", "order_time"],
                        right_names=["r_currency", "rate", "update_time"],
                        left_kinds=["O", "O", "i"], right_kinds=["O", "f", "i"])
    joined, late = join.process_left([orders["currency"]], orders["order_time"].values, orders,
                                     watermark_before=np.minimum(orders.row_watermarks(), wm_rates))
    join.process_right([rates["currency"]], rates["update_time"].values, rates)
    out_sink.write(join.advance(min(wm_orders, wm_rates)))

Runnable:

>>> from runtime_lib.columns import Batch, column_from_pylist
>>> def rows(**cols):
...     return Batch({n: column_from_pylist(v, "O" if n.endswith("k") else "i") for n, v in cols.items()},
...                  len(next(iter(cols.values()))))
>>> j = TemporalJoin(kind="LEFT", key_kinds=["O"], left_names=["lk", "lt"], right_names=["rk", "rv", "rt"],
...                  left_kinds=["O", "i"], right_kinds=["O", "i", "i"])
>>> versions = rows(rk=["a", "a", "b"], rv=[1, 2, 3], rt=[10, 20, 10])
>>> j.process_right([versions["rk"]], versions["rt"].values, versions)
>>> left = rows(lk=["a", "a", "b", "c", None], lt=[15, 25, 5, 30, 12])
>>> out, late = j.process_left([left["lk"]], left["lt"].values, left, watermark_before=0)
>>> out.to_rows()  # a NULL key joins nothing: NULL-padded at once
[(None, 12, None, None, None)]
>>> j.advance(20).to_rows()  # the watermark passed 5 and 15: b has no version at 5 yet
[('b', 5, None, None, None), ('a', 15, 'a', 1, 10)]
>>> j.advance(100).to_rows()
[('a', 25, 'a', 2, 20), ('c', 30, None, None, None)]
>>> out, late = j.process_left([left["lk"]], left["lt"].values, left, watermark_before=100)
>>> late.tolist(), j.late_count  # behind the watermark: dropped (and counted)
([0, 1, 2, 3, 4], 5)

``latest_only=True`` reads the history under a versioned view (the last row
per key by ``ROW_NUMBER() ... ORDER BY rowtime DESC``): as that view's
keep-last deduplication does row by row in Flink, a row older than an earlier
row of its key is no version:

>>> v = TemporalJoin(kind="LEFT", key_kinds=["O"], left_names=["lk", "lt"],
...                  right_names=["rk", "rv", "rt"], left_kinds=["O", "i"],
...                  right_kinds=["O", "i", "i"], latest_only=True)
>>> history = rows(rk=["a", "a", "a"], rv=[1, 2, 3], rt=[10, 5, 10])
>>> v.process_right([history["rk"]], history["rt"].values, history)
>>> left = rows(lk=["a", "a"], lt=[7, 12])
>>> _ = v.process_left([left["lk"]], left["lt"].values, left, watermark_before=0)
>>> v.advance(100).to_rows()  # 5 came after 10: no version; of the two at 10, the last
[('a', 7, None, None, None), ('a', 12, 'a', 3, 10)]

``changelog=True`` reads the changes of a changelog table (an upsert-kafka
topic): a tombstone (``-D``) whose time is NULL takes the time of its key's
previous row, as Flink's ChangelogNormalize emits the previous row as the
delete, and so replaces that version; one of a key without a row deletes
nothing:

>>> c = TemporalJoin(kind="LEFT", key_kinds=["O"], left_names=["lk", "lt"],
...                  right_names=["rk", "rv", "rt"], left_kinds=["O", "i"],
...                  right_kinds=["O", "i", "i"], changelog=True)
>>> changes = Batch({"rk": column_from_pylist(["a", "a", "a", "b"], "O"),
...                  "rv": column_from_pylist([1, 2, None, None], "i"),
...                  "rt": column_from_pylist([10, 20, None, None], "i")}, 4,
...                 ops=np.array(["+U", "+U", "-D", "-D"], object))
>>> c.process_right([changes["rk"]], changes["rt"], changes)
>>> left = rows(lk=["a", "a", "b"], lt=[15, 25, 30])
>>> _ = c.process_left([left["lk"]], left["lt"].values, left, watermark_before=0)
>>> c.advance(100).to_rows()  # a's delete took 20, the time of its version 2
[('a', 15, 'a', 1, 10), ('a', 25, None, None, None), ('b', 30, None, None, None)]

Late rows: a left row whose time is not after the join's watermark when it
arrives is dropped (its index is returned, for the late-events sink), as
Flink's temporal join drops it. A version behind the watermark is kept: the
left rows still to come see it.

State: the left rows not yet emitted, and per key the versions newer than the
watermark plus the one valid at it (older ones can never be joined again, and
are dropped at each ``advance``). Both are ``Rows`` buffers with an index sorted
by (key id, time); the valid version of every emitted row is found by one
binary search in that index (numba), no Python loop per row. ``snapshot()`` /
``restore(data)``: numpy arrays and JSON values, never pickle.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.joins.buffers import (
    FROM_BATCH,
    FROM_STATE,
    NULL,
    L,
    R,
    Sides,
    _probe_ranges,
    clamp,
    empty_batch,
)
from runtime_lib.operators.joins.interval import JoinResult
from runtime_lib.watermarks import CLAMP, WM_MIN, event_times

# in the versions' buffer, ``hits`` says what a version is
VERSION, DELETION = 0, 1


class TemporalJoin(Sides):
    """Event-time temporal join of a stream (left) with a versioned table
    (right); see the module docstring. ``key_kinds`` are the storage kinds of
    the key columns (the table's primary key), ``*_names`` / ``*_kinds`` the
    output names and kinds of each side's columns, ``residual`` the rest of the
    ON condition (a callable from joined rows to a boolean mask)."""

    def __init__(self, kind: str, key_kinds: list[str], left_names: list[str], right_names: list[str],
                 left_kinds: list[str], right_kinds: list[str],
                 residual: Callable[[Batch], np.ndarray] | None = None,
                 latest_only: bool = False, changelog: bool = False):
        if kind.upper() not in ("INNER", "LEFT"):
            raise ValueError(f"a temporal join is INNER or LEFT, not {kind!r}")
        super().__init__(kind, key_kinds, left_names, right_names, left_kinds, right_kinds, residual)
        self.late_count = 0
        self.peak_state_rows = 0
        self._wm = WM_MIN
        # a versioned view's versions: only a row not older than its key's
        # latest (by key id: the latest version time seen)
        self.latest_only = latest_only
        self._latest = np.zeros(0, np.int64)
        # versions from a changelog (an upsert-kafka table): a tombstone takes
        # its key's last change's time, so that change is kept in state
        self.changelog = changelog

    @property
    def watermark(self) -> int:
        """The join's input watermark (the highest seen or advanced to)."""
        return self._wm

    def output_watermark(self, watermark: int) -> int:
        """The watermark after the join: its input's (rows are emitted before
        the watermark that passes them is forwarded)."""
        return int(watermark)

    def process_left(self, keys: list[Column], ts, rows: Batch, watermark_before=None) -> JoinResult:
        """Buffer a micro-batch of stream rows until the watermark passes them;
        returns the rows due at once (LEFT: NULL keys, NULL-padded) and the
        indices of the rows dropped as late."""
        ts, cols, eff = self._arrival(L, ts, rows, watermark_before)
        if eff is None:
            return JoinResult(empty_batch(self.names, self.kinds, True), np.zeros(0, np.int64))
        n = len(ts)
        late = ts <= eff
        late_idx = np.flatnonzero(late)
        self.late_count += len(late_idx)
        kid = self._encode(keys, n)
        seqs = self._new_seqs(n)
        now = np.flatnonzero(~late & (kid < 0)) if self.outer[L] else np.zeros(0, np.int64)
        keep = np.flatnonzero(~late & (kid >= 0))
        if len(keep):
            self.state[L].append([c.take(keep) for c in cols], kid[keep], ts[keep], ts[keep], seqs[keep],
                                 np.zeros(len(keep), np.int64))
        self._wm = int(eff[-1])
        self.peak_state_rows = max(self.peak_state_rows, self.state_rows)
        m = len(now)
        out = self._assemble(L, cols, np.full(m, FROM_BATCH, np.int8), now, np.full(m, NULL, np.int8),
                             np.zeros(m, np.int64), watermarks=eff[now])
        return JoinResult(out, late_idx)

    def process_right(self, keys: list[Column], ts, rows: Batch) -> None:
        """Take in a micro-batch of versions (``rows.ops``: ``-D`` ends its
        key's versions; ``-U`` is skipped, the ``+U`` after it is the new
        version). Rows with a NULL key are no version of any key.

        ``ts`` may be a Column with NULLs on ``-D`` rows: a tombstone of an
        upsert-kafka table carries only its key, and then takes the time of
        its key's previous row, as Flink's ChangelogNormalize emits the
        previous row as the delete (``_tombstone_times``)."""
        ops = rows.ops
        missing = None
        if isinstance(ts, Column) and ts.valid is not None and not ts.valid.all():
            missing = ~ts.valid
            if ops is None or not np.isin(ops[missing], ("-D", "-U")).all():
                raise ValueError("event time must not be NULL but on a -D (a tombstone)")
            ts = np.where(missing, 0, ts.values)
        ts = event_times(ts)
        n = len(ts)
        cols = self._input_columns(R, rows)
        if n == 0:
            return
        kid = self._encode(keys, n)
        seqs = self._new_seqs(n)
        flag = np.zeros(n, np.int64) if ops is None else np.where(ops == "-D", DELETION, VERSION)
        keep = kid >= 0
        if ops is not None:
            keep &= ops != "-U"
        if missing is not None:
            ts, known = self._tombstone_times(kid, ts, flag, keep, missing)
            keep &= known
        if self.latest_only:
            keep &= self._not_older(kid, ts, keep)
        sel = np.flatnonzero(keep)
        if len(sel):
            self.state[R].append([c.take(sel) for c in cols], kid[sel], ts[sel], ts[sel], seqs[sel],
                                 flag[sel])
        self.peak_state_rows = max(self.peak_state_rows, self.state_rows)

    def _tombstone_times(self, kid: np.ndarray, ts: np.ndarray, flag: np.ndarray,
                         keep: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The times of the ``-D`` rows without one (``missing``): the time of
        the key's previous change when it is a version (the row before it in
        the batch, else the key's last version to arrive in state), as Flink's
        ChangelogNormalize turns a tombstone into the delete of the previous
        row. A tombstone after a delete, or of a key never seen, deletes
        nothing (``known`` False: dropped, as ChangelogNormalize drops it).

        Its time being the previous version's, and arriving after it, the
        delete replaces that version from its time on (as the later of two
        rows at one time does, and as Flink's temporal join keeps one right
        row per time). For this the join keeps each key's last change to
        arrive in state (``changelog=True``), even one no row can join any
        more (an older version that arrived after a newer one)."""
        ts = ts.copy()
        known = np.ones(len(ts), bool)
        change = np.flatnonzero(keep)  # the changes of keys, in arrival order
        order = change[np.argsort(kid[change], kind="stable")]  # by key, then arrival
        ks = kid[order]
        first = np.ones(len(order), bool)  # the key's first change in this batch
        first[1:] = ks[1:] != ks[:-1]
        # the time and kind of the key's last change in state, for first changes
        last_ts, last_is_version = self._last_in_state(ks[first])
        prev_ts = np.zeros(len(order), np.int64)
        prev_version = np.zeros(len(order), bool)
        prev_ts[first], prev_version[first] = last_ts, last_is_version
        # otherwise a tombstone's previous change is the row before it of its
        # key (a delete, whether or not it deletes anything: then this one
        # deletes nothing)
        sel = np.flatnonzero(missing[order])
        later = sel[~first[sel]]
        prev_version[later] = flag[order[later - 1]] == VERSION
        prev_ts[later] = ts[order[later - 1]]
        known[order[sel]] = prev_version[sel]
        ts[order[sel]] = prev_ts[sel]
        return ts, known

    def _last_in_state(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per key id: the time of its last change to arrive in state, and
        whether it is a version (False: a delete, or no change)."""
        times = np.zeros(len(keys), np.int64)
        is_version = np.zeros(len(keys), bool)
        versions = self.state[R]
        n = versions.n
        if not len(keys) or not n:
            return times, is_version
        mine = np.flatnonzero(versions.alive[:n] & np.isin(versions.kid[:n], keys))
        if not len(mine):
            return times, is_version
        # the last to arrive per key: sorted by (key, seq), each key's last
        mine = mine[np.lexsort((versions.seq[mine], versions.kid[mine]))]
        k = versions.kid[mine]
        last = mine[np.r_[k[1:] != k[:-1], True]]
        last_keys = versions.kid[last]  # sorted, unique
        pos = np.minimum(np.searchsorted(last_keys, keys), len(last) - 1)
        hit = last_keys[pos] == keys
        times[hit] = versions.ts[last[pos[hit]]]
        is_version[hit] = versions.hits[last[pos[hit]]] == VERSION
        return times, is_version

    def _not_older(self, kid: np.ndarray, ts: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Per row, whether its time is not older than its key's latest so far,
        rows of the batch before it included (as Flink's keep-last rowtime
        deduplication, row by row: ties are newer); records the new latest."""
        out = np.zeros(len(kid), bool)
        sel = np.flatnonzero(keep)
        if not len(sel):
            return out
        k, t = kid[sel], ts[sel]
        top = int(k.max()) + 1
        if len(self._latest) < top:
            self._latest = np.concatenate(
                (self._latest, np.full(top - len(self._latest), WM_MIN, np.int64)))
        # a running maximum per key, in arrival order: by key, the times' ranks
        # offset by the key's position, so one accumulate serves all keys
        order = np.argsort(k, kind="stable")
        ks, rank = k[order], np.unique(t, return_inverse=True)[1].reshape(-1)[order]
        group = np.concatenate(([0], np.cumsum(ks[1:] != ks[:-1])))
        stride = len(t) + 1
        running = np.maximum.accumulate(group * stride + rank) - group * stride
        ok = np.empty(len(sel), bool)
        ok[order] = (rank == running) & (t[order] >= self._latest[ks])
        out[sel] = ok
        np.maximum.at(self._latest, k[ok], t[ok])
        return out

    def valid_versions(self, kid: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Per query (key id, time): the position of the version valid then in
        the versions' buffer, or -1 (no version, or a deletion)."""
        versions = self.state[R]
        out = np.full(len(kid), -1, np.int64)
        if len(versions.order) == 0 or len(kid) == 0:
            return out
        start = np.empty(len(kid), np.int64)
        end = np.empty(len(kid), np.int64)
        _probe_ranges(versions.s_kid, versions.s_ts, kid, np.full(len(kid), -CLAMP - 1, np.int64),
                      ts, start, end)
        found = np.flatnonzero(end > start)
        # the index is sorted by (key, time, arrival): the run's last is the latest
        pos = versions.order[end[found] - 1]
        live = versions.hits[pos] == VERSION
        out[found[live]] = pos[live]
        return out

    def advance(self, watermark: int) -> Batch:
        """Move the join's watermark to ``watermark``: the held rows it passes
        are joined with the versions valid at their times and returned (by
        time, then arrival); the versions no row can join any more are freed."""
        w = max(clamp(watermark), self._wm)
        prev = self._wm
        left = self.state[L]
        due = left.due(w)
        out = empty_batch(self.names, self.kinds, True)
        if len(due):
            cols = [Column(*left.column(j, due)) for j in range(len(self.side_kinds[L]))]
            cols = [c if c.valid is None or not c.valid.all() else Column(c.values) for c in cols]
            pos = self.valid_versions(left.kid[due], left.ts[due])
            qi = np.flatnonzero(pos >= 0)
            mi, mpos = self._apply_residual(L, cols, qi, pos[qi])
            matched = np.full(len(due), -1, np.int64)
            matched[mi] = mpos
            rows = np.arange(len(due), dtype=np.int64) if self.outer[L] else mi
            rsrc = np.where(matched[rows] >= 0, FROM_STATE, NULL).astype(np.int8)
            out = self._assemble(L, cols, np.full(len(rows), FROM_BATCH, np.int8), rows, rsrc,
                                 np.maximum(matched[rows], 0),
                                 watermarks=np.full(len(rows), prev, np.int64))
            left.kill(due)
        self._expire_versions(w)
        self._wm = w
        self._compact()
        return out

    def _expire_versions(self, w: int) -> None:
        """Free every version older than the one valid at ``w`` (per key)."""
        versions = self.state[R]
        if len(versions.order) == 0:
            return
        idx = np.flatnonzero((versions.s_ts <= w) & versions.alive[versions.order])
        if len(idx) < 2:
            return
        k = versions.s_kid[idx]
        older = versions.order[idx[:-1][k[:-1] == k[1:]]]  # a later one of the key is also <= w
        if self.changelog and len(older):
            # each key's last change to arrive stays: a tombstone takes its time
            n = versions.n
            live = np.flatnonzero(versions.alive[:n])
            live = live[np.lexsort((versions.seq[live], versions.kid[live]))]
            kk = versions.kid[live]
            older = older[~np.isin(older, live[np.r_[kk[1:] != kk[:-1], True]])]
        versions.kill(older)

    @property
    def versions(self) -> int:
        """Versions held in state (the one valid at the watermark and newer ones)."""
        return self.state[R].n_alive

    # -- snapshot ----------------------------------------------------------

    def snapshot(self) -> dict:
        """State as numpy arrays and JSON-able values (no pickle)."""
        self._compact(force=True)
        return {"wm": self._wm, "seq": self._seq, "late_count": self.late_count,
                "peak_state_rows": self.peak_state_rows, "keys": self.keys.snapshot(),
                "left": self.state[L].snapshot(), "versions": self.state[R].snapshot(),
                "latest": self._latest.copy()}

    def restore(self, data: dict) -> None:
        """Bring a freshly constructed join of the same configuration back to ``data``."""
        self.late_count, self.peak_state_rows = int(data["late_count"]), int(data["peak_state_rows"])
        self._wm, self._seq = int(data["wm"]), int(data["seq"])
        self.keys.restore(data["keys"])
        self.state[L].restore(data["left"])
        self.state[R].restore(data["versions"])
        self._latest = np.asarray(data.get("latest", np.zeros(0, np.int64)), np.int64)

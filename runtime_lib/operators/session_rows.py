"""A SESSION window TVF that no aggregation consumes: ``SELECT * FROM
TABLE(SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap))`` gives each input
row with its session's ``window_start``, ``window_end`` and ``window_time``
(= ``window_end - 1``). A session's bounds are known only once it closes, so,
as in Flink, the rows are held until the watermark passes ``window_end - 1``
and then leave together (sessions in the order of their ends, a session's rows
in arrival order).

Sessions are assigned by the SESSION aggregate's kernel (``assign_sessions``):
a row whose window ``[ts, ts + gap)`` overlaps or touches an open session of
its partition joins it (and merges the sessions it bridges); a row that joins
no open session and whose own window had already closed is late.

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> rows = SessionRows("t", ["k"], gap_ms=5, names=["k", "t"], kinds=["O", "i"])
>>> batch = Batch({"k": column_from_pylist(["a", "a", "b", "a"], "O"),
...                "t": column_from_pylist([1, 4, 2, 20], "i")}, 4, np.zeros(4, np.int64))
>>> rows.process(batch).tolist()
[]
>>> rows.advance(10).to_rows()  # a's [1, 9) and b's [2, 7) have closed
[('b', 2, 2, 7, 6), ('a', 1, 1, 9, 8), ('a', 4, 1, 9, 8)]
>>> rows.advance(2**63 - 1).to_rows()
[('a', 20, 20, 25, 24)]
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Batch, Column, concat_batches, null_column
from runtime_lib.keys import KeyEncoder
from runtime_lib.operators.windows.sessions import assign_sessions, find_roots
from runtime_lib.state import values_data, values_from_data
from runtime_lib.watermarks import CLAMP, event_times

__all__ = ["SessionRows"]


class SessionRows:
    """``SessionRows(time_column, partition_by, gap_ms, names, kinds)``:
    ``names``/``kinds`` are the columns of the batches it is given; it gives
    them back with ``window_start``, ``window_end`` and ``window_time``."""

    def __init__(self, time_column: str, partition_by: list[str], gap_ms: int,
                 names: list[str], kinds: list[str]):
        if gap_ms <= 0:
            raise ValueError("SESSION gap must be positive")
        self.time_column, self.partition_by, self.gap = time_column, list(partition_by), int(gap_ms)
        self.names, self.kinds = list(names), list(kinds)
        self._part_kinds = [kinds[names.index(n)] for n in self.partition_by]
        self._empty = Batch({n: null_column(k, 0) for n, k in zip(names, kinds)}, 0)
        self.late_count = 0
        self._reset_nodes(0)
        self._held = self._empty  # rows of sessions not emitted yet, in arrival order
        self._held_node = np.zeros(0, np.int64)  # each held row's session node

    def _reset_nodes(self, n: int) -> None:
        self.parts = KeyEncoder(self._part_kinds)
        cap = max(16, n)
        self.n_start, self.n_end, self.n_parent, self.n_part, self.nxt = (
            np.zeros(cap, np.int64) for _ in range(5))
        self.n_open = np.zeros(cap, bool)
        self.n_used = 0
        self.head = np.full(16, -1, np.int64)
        self._closed: list[np.ndarray] = []  # closed inside process(), emitted at advance()

    @property
    def held_rows(self) -> int:
        return self._held.num_rows

    def _part_ids(self, batch: Batch) -> np.ndarray:
        if not self.partition_by:
            self.parts.encode_rows([], 0)
            return np.zeros(batch.num_rows, np.int64)
        return self.parts.encode_rows([batch[n] for n in self.partition_by], batch.num_rows)

    def _ensure(self, extra: int, n_parts: int) -> None:
        need = self.n_used + extra
        if need > len(self.n_start):
            cap = max(need, 2 * len(self.n_start))
            for name in ("n_start", "n_end", "n_parent", "n_part", "nxt", "n_open"):
                old = getattr(self, name)
                arr = np.zeros(cap, old.dtype)
                arr[: self.n_used] = old[: self.n_used]
                setattr(self, name, arr)
        if n_parts > len(self.head):
            grown = max(n_parts, 2 * len(self.head))
            self.head = np.concatenate([self.head, np.full(grown - len(self.head), -1, np.int64)])

    def process(self, batch: Batch) -> np.ndarray:
        """Hold the rows in their sessions; returns the indices of late rows."""
        n = batch.num_rows
        if n == 0:
            return np.zeros(0, np.int64)
        ts = event_times(batch[self.time_column].values)
        pid = self._part_ids(batch)
        self._ensure(n, max(len(self.parts), 1))
        wm = np.minimum(batch.row_watermarks(), CLAMP)
        row_node = np.empty(n, np.int64)
        closed = np.empty(self.n_used + n, np.int64)
        self.n_used, n_closed = assign_sessions(
            pid, ts, wm, self.gap, 0, self.head, self.nxt, self.n_start, self.n_end,
            self.n_parent, self.n_open, self.n_part, self.n_used, row_node, closed, 0)
        if n_closed:
            self._closed.append(closed[:n_closed].copy())
        late = np.flatnonzero(row_node < 0)
        self.late_count += len(late)
        keep = row_node >= 0
        taken = batch.take(keep)
        self._held = concat_batches([self._held, Batch(taken.columns, taken.num_rows)])
        self._held_node = np.concatenate([self._held_node, row_node[keep]])
        return late

    def _roots(self) -> np.ndarray:
        roots = np.empty(len(self._held_node), np.int64)
        find_roots(self.n_parent, self._held_node.copy(), roots)
        return roots

    def advance(self, watermark: int) -> Batch:
        """The rows of the sessions the watermark closes, with their bounds."""
        u = self.n_used
        due = self.n_open[:u] & (self.n_end[:u] - 1 <= min(watermark, CLAMP))
        nodes = np.concatenate([np.flatnonzero(due)] + self._closed).astype(np.int64)
        self._closed = []
        if len(nodes) == 0 or self._held.num_rows == 0:
            self.n_open[nodes] = False
            return self._empty_out()
        self.n_open[nodes] = False
        closing = np.zeros(u, bool)
        closing[nodes] = True
        roots = self._roots()
        self._held_node = roots
        out = closing[roots]
        idx = np.flatnonzero(out)
        root = roots[idx]
        # sessions by their end, then by their first row's arrival; rows in arrival order
        first = np.full(u, len(roots), np.int64)
        np.minimum.at(first, root, idx)
        order = np.lexsort((idx, first[root], self.n_end[root]))
        idx, root = idx[order], root[order]
        rows = self._held.take(idx)
        self._held = self._held.take(~out)
        self._held_node = roots[~out]
        start, end = self.n_start[root], self.n_end[root]
        columns = dict(rows.columns)
        columns["window_start"] = Column(start.copy())
        columns["window_end"] = Column(end.copy())
        columns["window_time"] = Column(end - 1)
        return Batch(columns, len(idx))

    def _empty_out(self) -> Batch:
        columns = dict(self._empty.columns)
        for name in ("window_start", "window_end", "window_time"):
            columns[name] = Column(np.zeros(0, np.int64))
        return Batch(columns, 0)

    def snapshot(self) -> dict:
        """The held rows, column by column, and each one's session (bounds and
        whether it has closed, to be emitted at the next advance)."""
        roots = self._roots()
        closed = np.zeros(self.n_used, bool)
        if self._closed:
            closed[np.concatenate(self._closed)] = True
        held = self._held
        return {"late_count": self.late_count,
                "values": [values_data(held[n].values) for n in self.names],
                "valid": [held[n].is_valid().copy() for n in self.names],
                "start": self.n_start[roots].tolist(), "end": self.n_end[roots].tolist(),
                "closed": closed[roots].tolist()}

    def restore(self, data: dict) -> None:
        self.late_count = int(data["late_count"])
        cols = {n: Column(values_from_data(v, k), np.asarray(ok, bool))
                for n, k, v, ok in zip(self.names, self.kinds, data["values"], data["valid"], strict=True)}
        n_rows = len(data["start"])
        self._held = Batch(cols, n_rows) if n_rows else self._empty
        self._reset_nodes(n_rows)
        pid = self._part_ids(self._held) if n_rows else np.zeros(0, np.int64)
        start, end = np.asarray(data["start"], np.int64), np.asarray(data["end"], np.int64)
        closed = np.asarray(data["closed"], bool)
        # one node per (partition, session): sessions of a partition never share bounds
        _, first, node = np.unique(np.stack([pid, start, end]), axis=1, return_index=True,
                                   return_inverse=True) if n_rows else (None, [], [])
        first = np.asarray(first, np.int64)
        self._ensure(len(first), max(len(self.parts), 1))
        k = len(first)
        self.n_used = k
        self.n_start[:k], self.n_end[:k] = start[first], end[first]
        self.n_parent[:k] = np.arange(k)
        self.n_part[:k] = pid[first]
        self.n_open[:k] = ~closed[first]
        for nd in range(k):
            if self.n_open[nd]:
                p = self.n_part[nd]
                self.nxt[nd] = self.head[p]
                self.head[p] = nd
        if np.any(closed[first]):
            self._closed = [np.flatnonzero(closed[first]).astype(np.int64)]
        self._held_node = np.asarray(node, np.int64).reshape(-1)

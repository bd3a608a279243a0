"""Window Top-N (Flink's WindowRank): ``ROW_NUMBER() | RANK() | DENSE_RANK()
OVER (PARTITION BY window_start, window_end[, k] ORDER BY ...)`` filtered by
``rn <= N``, over a window TVF's rows or a window aggregate's results.

Each window's top N rows per partition leave once, when the watermark passes
the window's end (``window_end - 1 <= watermark``), insert-only, in the order
window end, partition (by its first row's arrival), rank. State is the top N
rows of each partition of each open window: a micro-batch's rows are merged
with them and the rest dropped (a row's rank can only grow as rows arrive, so
a dropped row never comes back); a window's rows are freed when it fires.

Ties (rows equal on every ORDER BY column): ROW_NUMBER numbers them in arrival
order, RANK gives them one rank and skips the next ones, DENSE_RANK gives them
one rank and skips none; RANK and DENSE_RANK keep every row of rank <= N.
NULLs order as the smallest value (first for ASC, last for DESC) unless
NULLS FIRST/LAST says otherwise, as in Flink.

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> rank = WindowRank("window_end", names=["k", "window_end", "v"], kinds=["O", "i", "i"],
...                   partition_by=["window_end"], order_by=[("v", True, None)], limit=2,
...                   fn="rank", rank_name="rn")
>>> rows = Batch({"k": column_from_pylist(["a", "b", "c", "d"], "O"),
...               "window_end": column_from_pylist([10, 10, 10, 20], "i"),
...               "v": column_from_pylist([5, 7, 7, 1], "i")}, 4)
>>> rank.process(rows).tolist()
[]
>>> rank.advance(9).to_rows()  # window [0, 10) has passed: 'b' and 'c' tie for 1st
[('b', 10, 7, 1), ('c', 10, 7, 1)]
>>> rank.held_rows
1
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Batch, Column, concat_batches, null_column
from runtime_lib.state import values_data, values_from_data
from runtime_lib.watermarks import WM_MIN

RANKINGS = ("row_number", "rank", "dense_rank")


def _sort_codes(column: Column, descending: bool, nulls_first: bool | None) -> list[np.ndarray]:
    """Integer keys (most significant first) that order ``column`` as SQL does."""
    values, valid = column.values, column.is_valid()
    if values.dtype == object:
        # strings by code point; the fillers of NULLs are replaced first
        filled = np.where(valid, values, "")
        codes = np.unique(filled.astype(str), return_inverse=True)[1].astype(np.int64)
    elif values.dtype == np.bool_:
        codes = values.astype(np.int64)
    else:
        codes = np.where(valid, values, 0)
    if descending:
        codes = -codes
    first = (not descending) if nulls_first is None else nulls_first  # NULL is smallest
    nulls = np.where(valid, 1, 0) if first else np.where(valid, 0, 1)
    return [nulls, codes]


def order_codes(batch: Batch, order_by: list[tuple[str, bool, bool | None]]) -> list[np.ndarray]:
    """The sort keys of ORDER BY (column, descending, nulls_first) ... over ``batch``."""
    keys: list[np.ndarray] = []
    for name, descending, nulls_first in order_by:
        keys += _sort_codes(batch[name], descending, nulls_first)
    return keys


def group_ids(columns: list[Column], n: int) -> np.ndarray:
    """Dense ids of the distinct value tuples of ``columns`` (NULL is one value)."""
    if not columns:
        return np.zeros(n, np.int64)
    keys = []
    for c in columns:
        keys += _sort_codes(c, False, True)
    order = np.lexsort(keys[::-1])
    stacked = np.stack([k[order] for k in keys])
    new = np.ones(n, bool)
    new[1:] = (stacked[:, 1:] != stacked[:, :-1]).any(axis=0)
    ids = np.empty(n, np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def rank_within(group: np.ndarray, order_keys: list[np.ndarray], seq: np.ndarray,
                fn: str) -> tuple[np.ndarray, np.ndarray]:
    """(row order: by group, then ORDER BY, then arrival; each row's rank in
    its group, in that order)."""
    n = len(group)
    order = np.lexsort([seq, *order_keys[::-1], group])
    g = group[order]
    starts = np.ones(n, bool)
    starts[1:] = g[1:] != g[:-1]
    position = np.arange(n) - np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    if fn == "row_number":
        return order, position + 1
    peer = starts.copy()  # a row that differs from the one before on ORDER BY
    for k in order_keys:
        ks = k[order]
        peer[1:] |= ks[1:] != ks[:-1]
    if fn == "rank":
        first_peer = np.maximum.accumulate(np.where(peer, np.arange(n), 0))
        return order, position[first_peer] + 1
    distinct = np.cumsum(peer)
    group_first = np.maximum.accumulate(np.where(starts, distinct, 0))
    return order, distinct - group_first + 1


class WindowRank:
    """``WindowRank(end_column, names, kinds, partition_by, order_by, limit, fn,
    rank_name, end_offset_ms)``: rows (columns ``names``/``kinds``) fire when
    ``end_column + end_offset_ms - 1 <= watermark`` (the window's end is
    ``window_start + size`` when only the start is there). ``partition_by``
    are column names, ``order_by`` (name, descending, nulls_first) triples."""

    def __init__(self, end_column: str, names: list[str], kinds: list[str],
                 partition_by: list[str], order_by: list[tuple[str, bool, bool | None]],
                 limit: int, fn: str = "row_number", rank_name: str | None = None,
                 end_offset_ms: int = 0):
        if fn not in RANKINGS:
            raise ValueError(f"unknown ranking {fn!r}")
        self.end_column, self.end_offset = end_column, int(end_offset_ms)
        self.names, self.kinds = list(names), list(kinds)
        self.partition_by, self.order_by = list(partition_by), list(order_by)
        self.limit, self.fn, self.rank_name = int(limit), fn, rank_name
        self._empty = Batch({n: null_column(k, 0) for n, k in zip(names, kinds)}, 0)
        self._held = self._empty
        self._seq = np.zeros(0, np.int64)  # arrival number of each held row
        self._next = 0
        self.watermark = WM_MIN  # the last watermark the windows fired at
        self.late_count = 0

    @property
    def held_rows(self) -> int:
        return self._held.num_rows

    def _ends(self, batch: Batch) -> np.ndarray:
        return batch[self.end_column].values + self.end_offset

    def _ranked(self, batch: Batch, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows in output order (window end, partition, rank) and their ranks."""
        n = batch.num_rows
        group = group_ids([Column(self._ends(batch))]
                          + [batch[p] for p in self.partition_by], n)
        # partitions in order of window end, then of their first row's arrival
        first = np.full(group.max() + 1 if n else 0, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(first, group, seq)
        ends = np.zeros(len(first), np.int64)
        ends[group] = self._ends(batch)
        by_first = np.lexsort([first, ends])
        position = np.empty(len(first), np.int64)
        position[by_first] = np.arange(len(first))
        return rank_within(position[group], order_codes(batch, self.order_by), seq, self.fn)

    def process(self, batch: Batch) -> np.ndarray:
        """Merge a batch's rows into the top N; returns the indices of rows
        whose window had already fired (late)."""
        late = np.flatnonzero(self._ends(batch) - 1 <= self.watermark)
        if len(late):
            self.late_count += len(late)
            keep = np.ones(batch.num_rows, bool)
            keep[late] = False
            batch = batch.take(keep)
        if batch.num_rows:
            rows = Batch({n: batch[n] for n in self.names}, batch.num_rows)
            seq = np.arange(self._next, self._next + rows.num_rows, dtype=np.int64)
            self._next += rows.num_rows
            held = concat_batches([self._held, rows])
            seq = np.concatenate([self._seq, seq])
            order, rank = self._ranked(held, seq)
            top = order[rank <= self.limit]
            top.sort()  # held rows stay in arrival order
            self._held, self._seq = held.take(top), seq[top]
        return late

    def advance(self, watermark: int) -> Batch:
        """The ranked rows of the windows the watermark has closed."""
        self.watermark = max(self.watermark, int(watermark))
        due = self._ends(self._held) - 1 <= self.watermark
        if not due.any():
            return self._with_rank(self._empty, np.zeros(0, np.int64))
        rows, seq = self._held.take(due), self._seq[due]
        self._held, self._seq = self._held.take(~due), self._seq[~due]
        order, rank = self._ranked(rows, seq)
        return self._with_rank(rows.take(order), rank)

    def _with_rank(self, rows: Batch, rank: np.ndarray) -> Batch:
        if self.rank_name is None:
            return rows
        return Batch({**rows.columns, self.rank_name: Column(rank.astype(np.int64))},
                     rows.num_rows)

    def snapshot(self) -> dict:
        """The held rows column by column, their arrival numbers, the watermark."""
        held = self._held
        return {"late_count": self.late_count, "watermark": self.watermark, "next": self._next,
                "seq": self._seq.copy(),
                "values": [values_data(held[n].values) for n in self.names],
                "valid": [held[n].is_valid().copy() for n in self.names]}

    def restore(self, data: dict) -> None:
        self.late_count, self.watermark = int(data["late_count"]), int(data["watermark"])
        self._next = int(data["next"])
        self._seq = np.asarray(data["seq"], np.int64)
        cols = {n: Column(values_from_data(v, k), np.asarray(ok, bool))
                for n, k, v, ok in zip(self.names, self.kinds, data["values"], data["valid"],
                                       strict=True)}
        self._held = Batch(cols, len(self._seq))

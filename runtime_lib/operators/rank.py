"""Top-N without a window (Flink's Rank): ``ROW_NUMBER() | RANK() |
DENSE_RANK() OVER (PARTITION BY k ORDER BY ...)`` filtered by ``rn <= N``,
and ``ORDER BY ... LIMIT N`` on a stream: an updating result.

After each micro-batch, the partitions it touched are ranked again and their
output is diffed against what was emitted before: a row that enters the top
N is inserted (``+I``), one that leaves is deleted (``-D``); with the rank
column every row whose rank moved is updated, ``-U`` (old rank) then ``+U``
(new rank), for ROW_NUMBER paired by rank (as an upsert keyed by partition
and rank wants it). A partition's retractions come before its insertions.
Ties and NULL order are those of ``window_rank`` (arrival order for
ROW_NUMBER; NULL is the smallest value).

State: over an append-only input, only the top N rows of each partition (a
row that falls out can never come back). Over an updating input (``-U``/``-D``
rows take back an equal row), every row that is still alive, because a
retraction in the top N lets the next row in: Flink keeps the same.

>>> from runtime_lib.columns import Batch, column_from_pylist
>>> top = Rank(names=["k", "v"], kinds=["O", "i"], partition_by=["k"],
...            order_by=[("v", True, None)], limit=1, rank_name="rn")
>>> def rows(k, v):
...     return Batch({"k": column_from_pylist(k, "O"), "v": column_from_pylist(v, "i")}, len(k))
>>> out = top.process(rows(["a", "a"], [1, 3]))
>>> list(zip(out.ops, out.to_rows()))
[('+I', ('a', 3, 1))]
>>> out = top.process(rows(["a", "b"], [5, 2]))
>>> list(zip(out.ops, out.to_rows()))
[('-U', ('a', 3, 1)), ('+U', ('a', 5, 1)), ('+I', ('b', 2, 1))]
>>> top.held_rows
2
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from runtime_lib.columns import Batch, Column, concat_batches, null_column
from runtime_lib.keys import KeyEncoder
from runtime_lib.operators.window_rank import RANKINGS, group_ids, order_codes, rank_within
from runtime_lib.state import values_data, values_from_data


class Rank:
    """``Rank(names, kinds, partition_by, order_by, limit, fn, rank_name)``:
    rows have the columns ``names``/``kinds``; ``partition_by`` are column
    names, ``order_by`` (name, descending, nulls_first) triples."""

    def __init__(self, names: list[str], kinds: list[str], partition_by: list[str],
                 order_by: list[tuple[str, bool, bool | None]], limit: int,
                 fn: str = "row_number", rank_name: str | None = None,
                 updating_input: bool = False):
        if fn not in RANKINGS:
            raise ValueError(f"unknown ranking {fn!r}")
        self.names, self.kinds = list(names), list(kinds)
        self.partition_by, self.order_by = list(partition_by), list(order_by)
        self.limit, self.fn, self.rank_name = int(limit), fn, rank_name
        kind_of = dict(zip(self.names, self.kinds))
        self.keys = KeyEncoder([kind_of[p] for p in self.partition_by])
        self._held = Batch({n: null_column(k, 0) for n, k in zip(names, kinds)}, 0)
        self._pid = np.zeros(0, np.int64)  # partition of each held row
        self._seq = np.zeros(0, np.int64)  # arrival number of each held row
        self._shown = np.zeros(0, np.int64)  # the rank it was last emitted with; 0: not shown
        self._next = 0
        self.retracted_missing = 0  # retractions of rows it does not hold
        # over an updating input (the compiler knows) every row is kept from the start,
        # as Flink's RetractableTopNFunction does: a row below the top N comes back
        # up when a top row is taken back. Without the flag, the first retraction
        # turns it on (rows dropped before it are gone).
        self._updating = bool(updating_input)

    @property
    def held_rows(self) -> int:
        return self._held.num_rows

    def process(self, batch: Batch) -> Batch:
        """Add (and, over an updating input, take back) a batch's rows; the
        changes of the touched partitions' top N, as a changelog (``ops``)."""
        batch = Batch({n: batch[n] for n in self.names}, batch.num_rows, None, batch.ops)
        pid = self.keys.encode_rows([batch[p] for p in self.partition_by], batch.num_rows)
        retract = batch.retracted()
        retract = np.zeros(batch.num_rows, bool) if retract is None else retract
        adds = ~retract
        n_add = int(adds.sum())
        self._held = concat_batches([self._held, Batch(
            {n: batch[n].take(adds) for n in self.names}, n_add)])
        self._pid = np.concatenate([self._pid, pid[adds]])
        self._seq = np.concatenate([self._seq, np.arange(self._next, self._next + n_add)])
        self._shown = np.concatenate([self._shown, np.zeros(n_add, np.int64)])
        self._next += n_add
        alive = np.ones(self._held.num_rows, bool)
        if retract.any():
            alive[self._matches(batch.take(retract))] = False
        return self._emit(np.unique(pid), alive, self._updating)

    def _matches(self, gone: Batch) -> np.ndarray:
        """The held rows equal to each retracted row (earliest first), one each."""
        self._updating = True
        both = concat_batches([self._held, gone])
        ids = group_ids([both[n] for n in self.names], both.num_rows)
        held_ids, gone_ids = ids[: self._held.num_rows], ids[self._held.num_rows:]
        candidates: dict[int, list[int]] = defaultdict(list)
        wanted = set(gone_ids.tolist())
        for row in np.argsort(self._seq, kind="stable").tolist():
            if int(held_ids[row]) in wanted:
                candidates[int(held_ids[row])].append(row)
        found = []
        for gid in gone_ids.tolist():
            rows = candidates.get(gid)
            if rows:
                found.append(rows.pop(0))
            else:
                self.retracted_missing += 1
        return np.array(found, np.int64)

    def _emit(self, touched: np.ndarray, alive: np.ndarray, keep_all: bool) -> Batch:
        in_touched = np.isin(self._pid, touched)
        # untouched partitions keep their ranks; retracted rows leave
        new = np.where(in_touched & alive, 0, self._shown)
        new[~alive] = 0
        sel = np.flatnonzero(in_touched & alive)
        if len(sel):
            rows = self._held.take(sel)
            order, rank = rank_within(self._pid[sel], order_codes(rows, self.order_by),
                                      self._seq[sel], self.fn)
            new[sel[order]] = np.where(rank <= self.limit, rank, 0)
        old = self._shown
        moved = (old != new) if self.rank_name else ((old > 0) != (new > 0))
        out_old = np.flatnonzero(moved & (old > 0))
        out_new = np.flatnonzero(moved & (new > 0))
        out = self._changes(out_old, old[out_old], out_new, new[out_new])
        self._shown = new
        # over an append-only input a row out of the top N never comes back
        keep = alive if keep_all else alive & ((new > 0) | ~in_touched)
        self._held, self._pid = self._held.take(keep), self._pid[keep]
        self._seq, self._shown = self._seq[keep], self._shown[keep]
        return out

    def _changes(self, gone: np.ndarray, gone_rank: np.ndarray, came: np.ndarray,
                 came_rank: np.ndarray) -> Batch:
        """Retractions (old rank) then insertions (new rank) per partition."""
        rows = np.concatenate([gone, came])
        ranks = np.concatenate([gone_rank, came_rank])
        is_new = np.concatenate([np.zeros(len(gone), bool), np.ones(len(came), bool)])
        pid = self._pid[rows]
        order = np.lexsort([ranks, is_new, pid])
        rows, ranks, is_new, pid = rows[order], ranks[order], is_new[order], pid[order]
        ops = np.where(is_new, "+I", "-D").astype(object)
        if self.rank_name and self.fn == "row_number":  # the same rank both ways: an update
            slot = pid * (self.limit + 1) + ranks
            both = np.intersect1d(slot[~is_new], slot[is_new])
            paired = np.isin(slot, both)
            ops[paired & ~is_new] = "-U"
            ops[paired & is_new] = "+U"
        taken = self._held.take(rows)
        columns = dict(taken.columns)
        if self.rank_name:
            columns[self.rank_name] = Column(ranks.astype(np.int64))
        return Batch(columns, len(rows), None, ops)

    # -- key groups (runtime_lib.keygroups) -----------------------------------

    def unsplittable(self) -> str | None:
        return None if self.partition_by else "a Top-N without PARTITION BY ranks every row"

    def retain_key_groups(self, owned) -> None:
        """Keep only the held rows of the partitions in the key groups ``owned``."""
        from runtime_lib.keygroups import keeps_counters, owned_keys

        remap = self.keys.compact(owned_keys(self.keys, owned))  # -1: another's key
        keep = remap[self._pid] >= 0 if len(self._pid) else np.zeros(0, bool)
        self._held, self._pid = self._held.take(keep), remap[self._pid[keep]]
        self._seq, self._shown = self._seq[keep], self._shown[keep]
        if not keeps_counters(owned):
            self.retracted_missing = 0

    @staticmethod
    def merge_snapshots(a: dict, b: dict) -> dict:
        """Two snapshots of disjoint key groups as one (``keygroups.merge``)."""
        from runtime_lib.keygroups import merge_key_dictionaries, merge_rows

        keys_a = int(a["keys"]["n"])
        return {"next": max(int(a["next"]), int(b["next"])),
                "updating": bool(a["updating"]) or bool(b["updating"]),
                "missing": int(a["missing"]) + int(b["missing"]),
                "keys": merge_key_dictionaries(a["keys"], b["keys"]),
                "pid": np.concatenate([np.asarray(a["pid"], np.int64),
                                       np.asarray(b["pid"], np.int64) + keys_a]),
                "seq": np.concatenate([np.asarray(a["seq"], np.int64), np.asarray(b["seq"], np.int64)]),
                "shown": np.concatenate([np.asarray(a["shown"], np.int64),
                                         np.asarray(b["shown"], np.int64)]),
                "values": merge_rows(a["values"], b["values"]),
                "valid": merge_rows(a["valid"], b["valid"])}

    def snapshot(self) -> dict:
        held = self._held
        return {"next": self._next, "updating": self._updating,
                "missing": self.retracted_missing, "keys": self.keys.snapshot(),
                "pid": self._pid.copy(), "seq": self._seq.copy(), "shown": self._shown.copy(),
                "values": [values_data(held[n].values) for n in self.names],
                "valid": [held[n].is_valid().copy() for n in self.names]}

    def restore(self, data: dict) -> None:
        self._next, self._updating = int(data["next"]), bool(data["updating"])
        self.retracted_missing = int(data["missing"])
        self.keys.restore(data["keys"])
        self._pid = np.asarray(data["pid"], np.int64)
        self._seq = np.asarray(data["seq"], np.int64)
        self._shown = np.asarray(data["shown"], np.int64)
        cols = {n: Column(values_from_data(v, k), np.asarray(ok, bool))
                for n, k, v, ok in zip(self.names, self.kinds, data["values"], data["valid"],
                                       strict=True)}
        self._held = Batch(cols, len(self._seq))

"""Deduplication (Flink's Deduplicate): ``ROW_NUMBER() OVER (PARTITION BY k
ORDER BY <time attribute> ASC | DESC)`` filtered by ``rn = 1`` (or ``<= 1``).

* Keep first (ASC): each key's first row by event time (ties: the first to
  arrive), emitted once, insert-only, when the watermark passes its time: any
  earlier row arriving after that would be late. Until then one candidate per
  key is held; afterwards the key is remembered and its rows are dropped
  (they are duplicates). Rows at or below the watermark when they arrive are
  late (counted, sent to the late-events sink), as for OVER. Flink itself
  emits at once and retracts when an earlier row comes; sqlc waits for the
  watermark so the result is append-only (the same final rows).
* Keep last (DESC): each key's latest row by event time (ties: the last to
  arrive), an updating result: ``+I`` for a key's first row, ``-U``/``+U``
  when a row at the same or a later time replaces it (coalesced per
  micro-batch); nothing is late (Flink keeps late rows here too).

State: per key seen, a flag (first) or the current row (last): for ever
(the dictionary of keys grows with the number of distinct keys), or, with
``state_ttl_ms`` (the stream's ``'state.ttl'``, processing time as in
Flink), until the key has had no row for that long: it is then forgotten,
and a later row of it counts as its first again (as in Flink).

>>> import numpy as np
>>> from runtime_lib.columns import Batch, column_from_pylist
>>> d = Deduplicate("t", names=["k", "t"], kinds=["O", "i"], partition_by=["k"], keep="first")
>>> rows = Batch({"k": column_from_pylist(["a", "a", "b"], "O"),
...               "t": column_from_pylist([5, 3, 9], "i")}, 3, np.array([0, 0, 0]))
>>> out, late = d.process(rows)
>>> d.advance(6).to_rows()  # a's first row (t=3) is final once the watermark passes 3
[('a', 3)]
>>> d.advance(9).to_rows()
[('b', 9)]

With a TTL (processing time), a key without a row for that long is forgotten:

>>> d = Deduplicate("t", names=["k", "t"], kinds=["O", "i"], partition_by=["k"], keep="last",
...                 state_ttl_ms=100)
>>> def rows(k, t):
...     return Batch({"k": column_from_pylist(k, "O"), "t": column_from_pylist(t, "i")}, len(k))
>>> out, _ = d.process(rows(["a", "b"], [1, 2]), now_ms=0)
>>> out, _ = d.process(rows(["b"], [3]), now_ms=80)
>>> list(zip(out.ops, out.to_rows()))
[('-U', ('b', 2)), ('+U', ('b', 3))]
>>> out, _ = d.process(rows(["a"], [0]), now_ms=150)  # a has had no row for 150 ms
>>> list(zip(out.ops, out.to_rows())), d.keys_seen, d.expired_keys  # a is new again
([('+I', ('a', 0))], 2, 1)
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Batch, Column, concat_batches, null_column
from runtime_lib.keys import KeyEncoder
from runtime_lib.state import values_data, values_from_data
from runtime_lib.watermarks import monotonic_ms


def _grow(array: np.ndarray, n: int, fill) -> np.ndarray:
    if n <= len(array):
        return array
    grown = np.full(max(n, 2 * len(array), 16), fill, array.dtype)
    grown[: len(array)] = array
    return grown


def _winners(kid: np.ndarray, ts: np.ndarray, seq: np.ndarray, last: bool) -> np.ndarray:
    """Per key, the index of its first row by (time, arrival), or its last."""
    order = np.lexsort([seq, ts, kid])
    k = kid[order]
    edge = np.ones(len(k), bool)
    if last:
        edge[:-1] = k[:-1] != k[1:]
    else:
        edge[1:] = k[1:] != k[:-1]
    return order[edge]


class Deduplicate:
    """``Deduplicate(time_column, names, kinds, partition_by, keep, rank_name)``:
    rows have the columns ``names``/``kinds``; ``keep`` is "first" or "last";
    with ``rank_name`` the output has that column, always 1."""

    def __init__(self, time_column: str, names: list[str], kinds: list[str],
                 partition_by: list[str], keep: str = "first", rank_name: str | None = None,
                 state_ttl_ms: int | None = None, clock=None):
        if keep not in ("first", "last"):
            raise ValueError(f"keep is 'first' or 'last', not {keep!r}")
        if state_ttl_ms is not None and state_ttl_ms <= 0:
            raise ValueError("state_ttl_ms must be positive")
        self.ttl, self.clock = state_ttl_ms, clock or monotonic_ms
        self._written = np.zeros(16, np.int64)  # per key: when it last had a row
        self.expired_keys = 0
        self.time_column, self.keep, self.rank_name = time_column, keep, rank_name
        self.names, self.kinds, self.partition_by = list(names), list(kinds), list(partition_by)
        kind_of = dict(zip(self.names, self.kinds))
        self.keys = KeyEncoder([kind_of[p] for p in self.partition_by])
        self._empty = Batch({n: null_column(k, 0) for n, k in zip(names, kinds)}, 0)
        self._rows = self._empty  # first: the candidates; last: the current row per key
        self._kid = np.zeros(0, np.int64)  # the key of each of those rows
        self._seq = np.zeros(0, np.int64)
        self._done = np.zeros(16, bool)  # first: keys whose row was emitted
        self._slot = np.full(16, -1, np.int64)  # last: key -> its row in _rows
        self._next = 0
        self.late_count = 0

    @property
    def held_rows(self) -> int:
        return self._rows.num_rows

    @property
    def keys_seen(self) -> int:
        return len(self.keys)

    def process(self, batch: Batch, now_ms: int | None = None) -> tuple[Batch, np.ndarray]:
        """(the changes emitted now, the indices of late rows)."""
        rows = Batch({n: batch[n] for n in self.names}, batch.num_rows)
        if self.ttl is not None:
            self._expire(self.clock() if now_ms is None else int(now_ms))
        kid = self.keys.encode_rows([rows[p] for p in self.partition_by], rows.num_rows)
        if self.ttl is not None:
            self._written = _grow(self._written, len(self.keys), 0)
            self._written[kid] = self.clock() if now_ms is None else int(now_ms)
        seq = np.arange(self._next, self._next + rows.num_rows, dtype=np.int64)
        self._next += rows.num_rows
        if self.keep == "last":
            return self._replace(rows, kid, seq), np.zeros(0, np.int64)
        ts = rows[self.time_column].values
        late = np.flatnonzero(ts <= batch.row_watermarks())
        self.late_count += len(late)
        self._done = _grow(self._done, len(self.keys), False)
        fresh = ts > batch.row_watermarks()
        fresh &= ~self._done[kid]
        pool = concat_batches([self._rows, rows.take(fresh)])
        pool_kid = np.concatenate([self._kid, kid[fresh]])
        pool_seq = np.concatenate([self._seq, seq[fresh]])
        win = _winners(pool_kid, pool[self.time_column].values, pool_seq, last=False)
        win.sort()
        self._rows, self._kid, self._seq = pool.take(win), pool_kid[win], pool_seq[win]
        return self._with_rank(self._empty), late

    def advance(self, watermark: int) -> Batch:
        """Keep first: the first rows the watermark has made final, by time."""
        if self.keep == "last" or not self._rows.num_rows:
            return self._with_rank(self._empty)
        ts = self._rows[self.time_column].values
        due = ts <= watermark
        order = np.flatnonzero(due)[np.lexsort([self._seq[due], ts[due]])]
        out = self._rows.take(order)
        self._done[self._kid[due]] = True
        keep = ~due
        self._rows, self._kid, self._seq = self._rows.take(keep), self._kid[keep], self._seq[keep]
        return self._with_rank(out)

    def _expire(self, now: int) -> None:
        """Forget the keys without a row for the TTL (none with a pending first
        row): the dictionary, flags and rows are compacted to the live keys."""
        n = len(self.keys)
        if not n:
            return
        live = self._written[:n] > now - int(self.ttl)  # type: ignore[arg-type]
        if self.keep == "first":
            live[self._kid] = True  # a pending first row keeps its key
        if live.all():
            return
        self.expired_keys += int((~live).sum())
        self._keep_keys(live)

    def _keep_keys(self, live: np.ndarray) -> None:
        """Forget the keys not ``live`` (a mask over key ids): the dictionary,
        flags and rows are compacted to the others."""
        remap = self.keys.compact(np.flatnonzero(live))
        keep_rows = remap[self._kid] >= 0
        self._rows, self._kid = self._rows.take(keep_rows), remap[self._kid[keep_rows]]
        if self.keep == "first":  # keep last holds no arrival numbers
            self._seq = self._seq[keep_rows]
        kept = np.flatnonzero(live)
        self._done = _grow(self._done[kept], 16, False)
        self._written = _grow(self._written[kept], 16, 0)
        self._slot = np.full(max(16, len(kept)), -1, np.int64)
        if self.keep == "last":
            self._slot[self._kid] = np.arange(len(self._kid))

    def _replace(self, rows: Batch, kid: np.ndarray, seq: np.ndarray) -> Batch:
        """Keep last: each key's latest row of the batch against its current one."""
        win = _winners(kid, rows[self.time_column].values, seq, last=True)
        win = win[np.argsort(seq[win])]  # in arrival order of the winners
        new, new_kid = rows.take(win), kid[win]
        self._slot = _grow(self._slot, len(self.keys), -1)
        slot = self._slot[new_kid]
        had = slot >= 0
        old_ts = np.where(had, self._rows[self.time_column].values[np.maximum(slot, 0)]
                          if self._rows.num_rows else 0, 0)
        replaces = ~had | (new[self.time_column].values >= old_ts)
        new, new_kid, slot, had = new.take(replaces), new_kid[replaces], slot[replaces], had[replaces]
        old = self._rows.take(slot[had])
        # the changelog: per key -U (old) then +U (new), or +I
        n = new.num_rows
        pos = np.cumsum(had.astype(np.int64) + 1) - 1  # where each key's new row goes
        index = np.zeros(n + int(had.sum()), np.int64)
        from_old = np.zeros(len(index), bool)
        index[pos] = np.arange(n)
        index[pos[had] - 1] = np.arange(int(had.sum()))
        from_old[pos[had] - 1] = True
        out = concat_batches([new, old]).take(np.where(from_old, index + n, index))
        ops = np.where(from_old, "-U", np.where(np.isin(np.arange(len(index)), pos[had]),
                                                 "+U", "+I")).astype(object)
        # store: a replaced key's row in place, a new key's row appended
        self._rows = concat_batches([self._rows, new.take(~had)])
        start = len(self._kid)
        self._kid = np.concatenate([self._kid, new_kid[~had]])
        self._slot[new_kid[~had]] = np.arange(start, len(self._kid))
        if had.any():
            cols = {}
            for name in self.names:
                col = self._rows[name]
                values, valid = col.values.copy(), col.is_valid().copy()
                values[slot[had]] = new[name].values[had]
                valid[slot[had]] = new[name].is_valid()[had]
                cols[name] = Column(values, valid)
            self._rows = Batch(cols, self._rows.num_rows)
        out = self._with_rank(Batch(out.columns, out.num_rows))
        return Batch(out.columns, out.num_rows, None, ops)

    def _with_rank(self, rows: Batch) -> Batch:
        if self.rank_name is None:
            return rows
        return Batch({**rows.columns, self.rank_name: Column(np.ones(rows.num_rows, np.int64))},
                     rows.num_rows, rows.watermarks, rows.ops)

    # -- key groups (runtime_lib.keygroups) -----------------------------------

    def unsplittable(self) -> str | None:
        return None if self.partition_by else "deduplication without PARTITION BY keeps one row"

    def retain_key_groups(self, owned) -> None:
        """Keep only the keys (and their rows) in the key groups ``owned``."""
        from runtime_lib.keygroups import keeps_counters, owned_keys

        n = len(self.keys)
        live = np.zeros(n, bool)
        live[owned_keys(self.keys, owned)] = True
        # (the per-key arrays grow only where their mode uses them)
        self._done, self._written = _grow(self._done, n, False), _grow(self._written, n, 0)
        if len(live):
            self._keep_keys(live)
        if not keeps_counters(owned):
            self.late_count = self.expired_keys = 0

    @staticmethod
    def merge_snapshots(a: dict, b: dict) -> dict:
        """Two snapshots of disjoint key groups as one (``keygroups.merge``)."""
        from runtime_lib.keygroups import merge_key_dictionaries, merge_rows, padded

        keys_a, keys_b, rows_a = int(a["keys"]["n"]), int(b["keys"]["n"]), len(a["kid"])
        slot_b = padded(b["slot"], keys_b, -1).astype(np.int64)
        return {"next": max(int(a["next"]), int(b["next"])),
                "late_count": int(a["late_count"]) + int(b["late_count"]),
                "keys": merge_key_dictionaries(a["keys"], b["keys"]),
                "written": np.concatenate([padded(a["written"], keys_a, 0),
                                           padded(b["written"], keys_b, 0)]).astype(np.int64),
                "expired": int(a["expired"]) + int(b["expired"]),
                "kid": np.concatenate([np.asarray(a["kid"], np.int64),
                                       np.asarray(b["kid"], np.int64) + keys_a]),
                "seq": np.concatenate([np.asarray(a["seq"], np.int64),
                                       np.asarray(b["seq"], np.int64)]),
                "done": np.concatenate([padded(a["done"], keys_a, False),
                                        padded(b["done"], keys_b, False)]).astype(bool),
                "slot": np.concatenate([padded(a["slot"], keys_a, -1).astype(np.int64),
                                        np.where(slot_b >= 0, slot_b + rows_a, -1)]),
                "values": merge_rows(a["values"], b["values"]),
                "valid": merge_rows(a["valid"], b["valid"])}

    def snapshot(self) -> dict:
        n = len(self.keys)
        return {"next": self._next, "late_count": self.late_count, "keys": self.keys.snapshot(),
                "written": self._written[:n].copy(), "expired": self.expired_keys,
                "kid": self._kid.copy(), "seq": self._seq.copy(),
                "done": self._done[:n].copy(), "slot": self._slot[:n].copy(),
                "values": [values_data(self._rows[c].values) for c in self.names],
                "valid": [self._rows[c].is_valid().copy() for c in self.names]}

    def restore(self, data: dict) -> None:
        self._next, self.late_count = int(data["next"]), int(data["late_count"])
        self._written = _grow(np.asarray(data["written"], np.int64), 16, 0)
        self.expired_keys = int(data["expired"])
        self.keys.restore(data["keys"])
        self._kid = np.asarray(data["kid"], np.int64)
        self._seq = np.asarray(data["seq"], np.int64)
        self._done = _grow(np.asarray(data["done"], bool), 16, False)
        self._slot = _grow(np.asarray(data["slot"], np.int64), 16, -1)
        cols = {n: Column(values_from_data(v, k), np.asarray(ok, bool))
                for n, k, v, ok in zip(self.names, self.kinds, data["values"], data["valid"],
                                       strict=True)}
        self._rows = Batch(cols, len(self._kid))

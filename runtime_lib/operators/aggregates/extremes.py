"""MIN and MAX over an updating input: the state that can take rows back.

An extreme cannot be un-added from its value alone, so, as Flink's
``MinWithRetractAggFunction``/``MaxWithRetractAggFunction`` keep a map
value -> count per group, ``MinMaxRetractState`` keeps one *entry* per
(slot, distinct value) with its count of rows, and the current extreme per
slot (``has``/``best``, as ``MinMaxState``). Rows are applied in one pass:

* every row adds +1 (or -1 when it retracts) to its entry (a ``PairTable``
  from (slot, value code) to the entry: numeric bits, or a dictionary code
  for strings);
* the added rows update the extreme as in ``MinMaxState`` (numba kernels,
  string ranks per batch);
* a slot where a retraction left the entry of its extreme without rows has
  lost it: it is recomputed from its entries that still hold rows. Each
  slot's entries form a chain (``heads``/``nxt``, walked by the
  ``chain_*`` kernels), so the work is per distinct value of those slots
  only, never a scan of the whole state.

Entries left without rows are dropped when they outnumber the live ones
(and by ``take``, so a snapshot holds only live entries).

>>> import numpy as np
>>> from runtime_lib.columns import Column
>>> st = MinMaxRetractState("i", is_min=False)
>>> st.ensure(2)
>>> st.update_signed(np.array([0, 0, 1]), [Column(np.array([5, 9, 7]))], np.zeros(3, bool))
>>> st.best[:2].tolist()
[9, 7]
>>> st.update_signed(np.array([0]), [Column(np.array([9]))], np.array([True]))  # 9 taken back
>>> st.best[:2].tolist(), st.entries
([5, 7], 2)
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.keys import Dictionary, PairTable, numeric_bits
from runtime_lib.operators.aggregates import kernels as K
from runtime_lib.operators.aggregates.states import MinMaxState, _grow, _store_dtype
from runtime_lib.state import values_data, values_from_data


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality, NaN equal to NaN (one value, as in the entries' codes)."""
    if a.dtype.kind == "f":
        return (a == b) | (np.isnan(a) & np.isnan(b))
    return np.asarray(a == b, bool)


class MinMaxRetractState(MinMaxState):
    """MIN or MAX of one argument that takes rows back (see the module docstring)."""

    retractable = True

    def __init__(self, kind, is_min):
        super().__init__(kind, is_min)
        self.heads = np.zeros(0, np.int64)  # per slot: its first entry, -1 for none
        self._clear_entries()

    def _clear_entries(self) -> None:
        self.pairs = PairTable()
        self.dictionary = Dictionary("O") if self.kind == "O" else None
        self.ent_val = np.zeros(16, _store_dtype(self.kind))
        self.ent_cnt = np.zeros(16, np.int64)
        self.nxt = np.full(16, -1, np.int64)
        self.heads[:] = -1
        self.entries = 0  # entries that hold rows

    def ensure(self, cap):
        super().ensure(cap)
        self.heads = _grow(self.heads, cap, -1)

    def _codes(self, vals: np.ndarray) -> np.ndarray:
        if self.kind == "O":
            return self.dictionary.encode(Column(vals))
        return numeric_bits(Column(vals), self.kind)

    def _add_entries(self, slots: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """The entry of each (slot, value); new ones are created and chained."""
        n_before = self.pairs.n
        eid = self.pairs.insert(slots, self._codes(vals))
        n = self.pairs.n
        if n == n_before:
            return eid
        cap = max(n, 2 * len(self.ent_cnt))
        if n > len(self.ent_cnt):
            self.ent_val, self.ent_cnt = _grow(self.ent_val, cap, 0), _grow(self.ent_cnt, cap, 0)
            self.nxt = _grow(self.nxt, cap, -1)
        # new ids come in order of first appearance: where the running maximum grows
        grows = np.diff(np.maximum.accumulate(eid), prepend=n_before - 1) > 0
        new = np.arange(n_before, n, dtype=np.int64)
        self.ent_val[new] = vals[np.flatnonzero(grows & (eid >= n_before))]
        self._chain(new)
        return eid

    def _chain(self, new: np.ndarray) -> None:
        """Put entries ``new`` (ascending) at the heads of their slots' chains."""
        slot = self.pairs.keys1[new]
        order = np.argsort(slot, kind="stable")
        ss, se = slot[order], new[order]
        same = ss[:-1] == ss[1:]
        self.nxt[se[:-1][same]] = se[1:][same]
        last = np.append(~same, True)
        self.nxt[se[last]] = self.heads[ss[last]]
        first = np.insert(~same, 0, True)
        self.heads[ss[first]] = se[first]

    def update(self, slots, cols, seqs):
        self.update_signed(slots, cols, np.zeros(len(slots), bool))

    def update_signed(self, slots, cols, retract):
        rows = np.flatnonzero(slots >= 0)
        if not len(rows):
            return
        s, back = slots[rows], np.asarray(retract, bool)[rows]
        eid = self._add_entries(s, cols[0].values[rows])
        self.entries += int(K.count_entries(eid, back, self.ent_cnt))
        super().update(np.where(np.asarray(retract, bool), -1, slots), cols, None)
        emptied = np.flatnonzero(back & (self.ent_cnt[eid] <= 0))
        if len(emptied):  # the slots whose extreme was one of those values
            lost = _same(self.ent_val[eid[emptied]], self.best[s[emptied]])
            if lost.any():
                self._recompute(np.unique(s[emptied[lost]]))
        dead = self.pairs.n - self.entries
        if dead > max(1024, self.pairs.n // 2):
            self._rebuild(np.arange(len(self.has), dtype=np.int64))

    def _recompute(self, dirty: np.ndarray) -> None:
        """The extreme of ``dirty`` slots from their entries holding rows."""
        lengths = np.zeros(len(dirty), np.int64)
        heads = self.heads[dirty]
        K.chain_lengths(heads, self.nxt, lengths)
        offs = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ents = np.empty(int(offs[-1]), np.int64)
        K.chain_fill(heads, self.nxt, offs, ents)
        ents = ents[self.ent_cnt[ents] > 0]
        self.has[dirty] = False
        super().update(self.pairs.keys1[ents], [Column(self.ent_val[ents])], None)

    def _rebuild(self, new_slot_of_old: np.ndarray) -> None:
        """Entries that hold rows, their slots renumbered (-1: dropped), chained anew."""
        n = self.pairs.n
        slot = new_slot_of_old[self.pairs.keys1[:n]]
        keep = np.flatnonzero((slot >= 0) & (self.ent_cnt[:n] > 0))
        slot, vals, cnt = slot[keep], self.ent_val[keep], self.ent_cnt[keep]
        self._clear_entries()
        self._set_entries(slot, vals, cnt)

    def _set_entries(self, slot: np.ndarray, vals: np.ndarray, cnt: np.ndarray) -> None:
        eid = self._add_entries(slot, vals)  # distinct pairs: ids 0..len-1 in order
        self.ent_cnt[eid] = cnt
        self.entries = int((cnt > 0).sum())

    def take(self, keep):
        new = np.full(len(self.has), -1, np.int64)
        new[keep] = np.arange(len(keep))
        super().take(keep)
        self.heads = np.full(len(keep), -1, np.int64)
        self._rebuild(new)

    def merge(self, idx, offs):
        raise NotImplementedError("a retractable MIN/MAX does not merge (sessions over "
                                  "an updating input are refused)")

    def snapshot(self):
        n = self.pairs.n
        snap = super().snapshot()
        snap.update(ent_slot=self.pairs.keys1[:n].copy(), ent_val=values_data(self.ent_val[:n]),
                    ent_cnt=self.ent_cnt[:n].copy())
        return snap

    def restore(self, snap):
        super().restore(snap)
        self.heads = np.full(len(self.has), -1, np.int64)
        self._clear_entries()
        self._set_entries(np.asarray(snap["ent_slot"], np.int64),
                          values_from_data(snap["ent_val"], "O" if self.kind == "O" else
                                           ("f" if self.kind == "f" else "i")),
                          np.asarray(snap["ent_cnt"], np.int64))

"""LISTAGG(x [, separator]): the non-NULL strings of a group joined by the
separator (',' by default), in arrival order; NULL when there are none.

Flink's ListAggFunction appends each value to a list in the order the rows
reach the aggregate, and ListAggWithRetractAggFunction (over an updating
input) takes a retracted value out of the list at its first occurrence. The
state here is the same list, kept flat for all slots: per element its slot,
its arrival number (a counter of the state, so the order does not depend on
how rows were cut into micro-batches) and its string. A window made of
several slots (the panes of a HOP window, merged sessions) concatenates its
slots' elements in arrival order.

Taking values back is vectorized: in a consistent changelog a retraction
always removes the earliest element of its (slot, value) still present, and
elements are appended in arrival order, so the elements removed from a
(slot, value) are always its first ones: ``k`` retractions remove its ``k``
earliest elements. A retraction of a value the slot does not hold (an
inconsistent changelog) removes nothing.

>>> import numpy as np
>>> from runtime_lib.aggregate_specs import Agg
>>> from runtime_lib.columns import Column
>>> st = ListAggState()
>>> words = Column(np.array(["a", "b", "c", "a"], dtype=object))
>>> st.update(np.array([0, 1, 0, 0]), [words], None)
>>> st.update_signed(np.array([0]), [Column(np.array(["a"], dtype=object))], np.array([True]))
>>> aggs = [Agg("listagg", arg=0), Agg("listagg", arg=0, separator=" | ")]
>>> [c.to_pylist() for c in st.results(aggs, np.array([0, 1]), np.array([0, 1, 2]))]
[['c,a', 'b'], ['c | a', 'b']]
"""

from __future__ import annotations

import numpy as np

from runtime_lib.columns import Column

class ListAggState:
    """The elements of every slot (see the module docstring); the separators
    of the LISTAGG calls sharing the state are applied when results are read."""

    arrays: tuple[str, ...] = ()  # nothing per slot: elements are kept flat
    fills: tuple = ()
    retractable = True

    def __init__(self) -> None:
        self.slot = np.zeros(0, np.int64)
        self.seq = np.zeros(0, np.int64)
        self.value = np.zeros(0, object)
        self.next_seq = 0

    # -- adding and taking back -----------------------------------------------------

    def ensure(self, cap: int) -> None:
        pass

    def _append(self, slots: np.ndarray, values: np.ndarray) -> None:
        seqs = np.arange(self.next_seq, self.next_seq + len(slots), dtype=np.int64)
        self.next_seq += len(slots)
        self.slot = np.concatenate([self.slot, slots])
        self.seq = np.concatenate([self.seq, seqs])
        self.value = np.concatenate([self.value, values.astype(object, copy=False)])

    def update(self, slots, cols, seqs) -> None:
        keep = slots >= 0
        self._append(slots[keep], cols[0].values[keep])

    def update_signed(self, slots, cols, retract) -> None:
        keep = slots >= 0
        added = keep & ~retract
        self._append(slots[added], cols[0].values[added])
        taken = keep & retract
        if taken.any():
            self._remove(slots[taken], cols[0].values[taken])

    def _remove(self, slots: np.ndarray, values: np.ndarray) -> None:
        """Remove, per (slot, value), as many of its earliest elements as it has
        retractions."""
        touched = np.isin(self.slot, slots)
        candidates = np.flatnonzero(touched)
        if not len(candidates):
            return
        words, codes = np.unique(np.concatenate([self.value[candidates], values]),
                                 return_inverse=True)
        width = len(words)
        element_key = self.slot[candidates] * width + codes[:len(candidates)]
        retract_key = slots * width + codes[len(candidates):]
        keys, counts = np.unique(retract_key, return_counts=True)
        order = np.lexsort((self.seq[candidates], element_key))
        sorted_keys = element_key[order]
        # rank of each element among the elements of its key, in arrival order
        first = np.searchsorted(sorted_keys, sorted_keys, side="left")
        rank = np.arange(len(order)) - first
        where = np.searchsorted(keys, sorted_keys)
        found = (where < len(keys)) & (keys[np.minimum(where, len(keys) - 1)] == sorted_keys)
        allowed = np.where(found, counts[np.minimum(where, len(keys) - 1)], 0)
        removed = candidates[order[rank < allowed]]
        alive = np.ones(len(self.slot), bool)
        alive[removed] = False
        self._keep_elements(alive)

    def _keep_elements(self, alive: np.ndarray) -> None:
        self.slot, self.seq, self.value = self.slot[alive], self.seq[alive], self.value[alive]

    # -- results ----------------------------------------------------------------------

    def results(self, aggs, idx, offs) -> list[Column]:
        """One column per LISTAGG call: each group's elements joined by its
        separator, in arrival order; NULL for a group without any."""
        idx, offs = np.asarray(idx, np.int64), np.asarray(offs, np.int64)
        groups = len(offs) - 1
        per_group = self._elements_of_groups(idx, offs)
        out = []
        for agg in aggs:
            separator = agg.separator if agg.separator is not None else ","
            values = np.empty(groups, object)
            valid = np.zeros(groups, bool)
            for g, elements in enumerate(per_group):
                if len(elements):
                    values[g] = separator.join(self.value[elements])
                    valid[g] = True
                else:
                    values[g] = ""
            out.append(Column(values, None if valid.all() else valid))
        return out

    def _elements_of_groups(self, idx: np.ndarray, offs: np.ndarray) -> list[np.ndarray]:
        """Per group of slots, its elements' positions in arrival order."""
        order = np.lexsort((self.seq, self.slot))  # by slot, then arrival
        sorted_slots = self.slot[order]
        starts = np.searchsorted(sorted_slots, idx, side="left")
        stops = np.searchsorted(sorted_slots, idx, side="right")
        groups = []
        for g in range(len(offs) - 1):
            a, b = offs[g], offs[g + 1]
            if b - a == 1:
                groups.append(order[starts[a]:stops[a]])  # one slot: already in order
                continue
            parts = [order[s:e] for s, e in zip(starts[a:b], stops[a:b])]
            elements = np.concatenate(parts) if parts else np.zeros(0, np.int64)
            groups.append(elements[np.argsort(self.seq[elements], kind="stable")])
        return groups

    # -- slots kept, merged; checkpoints ------------------------------------------

    def _renumber(self, new_slot_of_old: np.ndarray) -> None:
        inside = self.slot < len(new_slot_of_old)
        new = np.full(len(self.slot), -1, np.int64)
        new[inside] = new_slot_of_old[self.slot[inside]]
        alive = new >= 0
        self.slot = new
        self._keep_elements(alive)

    def take(self, keep: np.ndarray) -> None:
        keep = np.asarray(keep, np.int64)
        size = int(max(keep.max(initial=-1), self.slot.max(initial=-1))) + 1
        remap = np.full(size, -1, np.int64)
        remap[keep] = np.arange(len(keep))
        self._renumber(remap)

    def merge(self, idx: np.ndarray, offs: np.ndarray) -> None:
        size = int(max(idx.max(initial=-1), self.slot.max(initial=-1))) + 1
        remap = np.full(size, -1, np.int64)
        remap[idx] = np.repeat(np.arange(len(offs) - 1), np.diff(offs))
        self._renumber(remap)

    def snapshot(self) -> dict:
        return {"slot": self.slot.copy(), "seq": self.seq.copy(),
                "value": self.value.tolist(), "next_seq": np.array([self.next_seq], np.int64)}

    def restore(self, snap: dict) -> None:
        self.slot = np.array(snap["slot"], np.int64)
        self.seq = np.array(snap["seq"], np.int64)
        self.value = np.empty(len(snap["value"]), object)
        self.value[:] = list(snap["value"])
        self.next_seq = int(np.asarray(snap["next_seq"]).reshape(-1)[0])

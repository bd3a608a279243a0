"""LISTAGG(x [, separator]): the non-NULL strings of a group joined by the
separator (',' by default), in arrival order; NULL when there are none.

Flink's ListAggFunction appends each value to a list in the order the rows
reach the aggregate, and ListAggWithRetractAggFunction (over an updating
input) takes a retracted value out of the list at its first occurrence. The
state here is the same list, kept flat for all slots: per element its slot
and its string, in arrival order (which does not depend on how rows were
cut into micro-batches). A window made of several slots (the panes of a HOP
window, merged sessions) concatenates its slots' elements in arrival order.

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
from runtime_lib.keys import Dictionary


class ListAggState:
    """The elements of every slot (see the module docstring), kept in arrival
    order: appended in that order, and every removal and renumbering keeps
    it, so an element's position is its arrival rank. Each value also has an
    integer code (a dictionary of the strings seen), so that taking values
    back compares numbers. The separators of the LISTAGG calls sharing the
    state are applied when results are read."""

    arrays: tuple[str, ...] = ()  # nothing per slot: elements are kept flat
    fills: tuple = ()
    retractable = True

    def __init__(self) -> None:
        self.slot = np.zeros(0, np.int64)
        self.value = np.zeros(0, object)
        self.code = np.zeros(0, np.int64)
        self._words = Dictionary("O")
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # -- adding and taking back -----------------------------------------------------

    def ensure(self, cap: int) -> None:
        pass

    def _append(self, slots: np.ndarray, values: np.ndarray) -> None:
        if len(slots):
            values = values.astype(object, copy=False)
            self._pending.append((slots, values, self._words.encode(Column(values))))

    def _flush(self) -> None:
        """The appended elements joined to the others (once, not per batch)."""
        if self._pending:
            slots, values, codes = zip(*self._pending)
            self.slot = np.concatenate([self.slot, *slots])
            self.value = np.concatenate([self.value, *values])
            self.code = np.concatenate([self.code, *codes])
            self._pending = []

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
        self._flush()
        width = len(self._words) + 1  # (slot, code) as one number
        codes = self._words.encode(Column(values.astype(object, copy=False)))
        width = max(width, len(self._words) + 1)
        keys, counts = np.unique(slots * width + codes, return_counts=True)
        element_key = self.slot * width + self.code
        candidates = np.flatnonzero(np.isin(element_key, keys))
        if not len(candidates):
            return
        ranked = candidates[np.argsort(element_key[candidates], kind="stable")]
        sorted_keys = element_key[ranked]  # by key, then arrival
        first = np.searchsorted(sorted_keys, sorted_keys, side="left")
        rank = np.arange(len(ranked)) - first  # among the key's elements, in arrival order
        allowed = counts[np.searchsorted(keys, sorted_keys)]
        alive = np.ones(len(self.slot), bool)
        alive[ranked[rank < allowed]] = False
        self._keep_elements(alive)

    def _keep_elements(self, alive: np.ndarray) -> None:
        self.slot, self.value, self.code = self.slot[alive], self.value[alive], self.code[alive]

    # -- results ----------------------------------------------------------------------

    def results(self, aggs, idx, offs) -> list[Column]:
        """One column per LISTAGG call: each group's elements joined by its
        separator, in arrival order; NULL for a group without any."""
        self._flush()
        idx, offs = np.asarray(idx, np.int64), np.asarray(offs, np.int64)
        groups = len(offs) - 1
        per_group = self._elements_of_groups(idx, offs)
        out = []
        for agg in aggs:
            separator = agg.separator if agg.separator is not None else ","
            values = np.empty(groups, object)
            valid = np.zeros(groups, bool)
            for g, elements in enumerate(per_group):
                values[g] = separator.join(self.value[elements]) if len(elements) else ""
                valid[g] = len(elements) > 0
            out.append(Column(values, None if valid.all() else valid))
        return out

    def _elements_of_groups(self, idx: np.ndarray, offs: np.ndarray) -> list[np.ndarray]:
        """Per group of slots, its elements' positions in arrival order."""
        order = np.argsort(self.slot, kind="stable")  # by slot, then arrival
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
            groups.append(np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64))
        return groups

    # -- slots kept, merged; checkpoints ------------------------------------------

    def _renumber(self, new_slot_of_old: np.ndarray) -> None:
        self._flush()
        inside = self.slot < len(new_slot_of_old)
        new = np.full(len(self.slot), -1, np.int64)
        new[inside] = new_slot_of_old[self.slot[inside]]
        self.slot = new
        self._keep_elements(new >= 0)

    def take(self, keep: np.ndarray) -> None:
        keep = np.asarray(keep, np.int64)
        self._flush()
        size = int(max(keep.max(initial=-1), self.slot.max(initial=-1))) + 1
        remap = np.full(size, -1, np.int64)
        remap[keep] = np.arange(len(keep))
        self._renumber(remap)

    def merge(self, idx: np.ndarray, offs: np.ndarray) -> None:
        self._flush()
        size = int(max(idx.max(initial=-1), self.slot.max(initial=-1))) + 1
        remap = np.full(size, -1, np.int64)
        remap[idx] = np.repeat(np.arange(len(offs) - 1), np.diff(offs))
        self._renumber(remap)

    def snapshot(self) -> dict:
        """The elements in arrival order: their slots and strings."""
        self._flush()
        return {"slot": self.slot.copy(), "value": self.value.tolist()}

    def restore(self, snap: dict) -> None:
        self.__init__()  # type: ignore[misc]
        slots = np.array(snap["slot"], np.int64)
        values = np.empty(len(snap["value"]), object)
        values[:] = list(snap["value"])
        self._append(slots, values)
        self._flush()

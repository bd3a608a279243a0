"""The last result row an updating operator emitted per group.

EMIT CHANGES windows and GroupAggregate emit a changelog (``+I``, ``-U``/``+U``,
``-D``): to know which results changed, they keep the row they emitted last
for each (a, b) pair (group key id, window or session id; 0 for GroupAggregate)
and ``diff`` new results against it.
"""

# ruff: noqa: PLR0124  (x != x is the NaN test)

from __future__ import annotations

import numpy as np

from runtime_lib.columns import DTYPES, Column
from runtime_lib.keys import PairTable
from runtime_lib.state import values_data, values_from_data


class EmittedRows:
    """The last emitted result row per (a, b); see the module docstring."""

    def __init__(self, kinds: list[str], names: list[str] | None = None):
        self.kinds = kinds
        self.names = names  # the columns' names: a snapshot stores them by name
        self.table = PairTable()
        self.alive = np.zeros(16, bool)
        self.cols: list[Column] = [Column(np.zeros(16, DTYPES[k]), np.zeros(16, bool)) for k in kinds]
        self.dead = 0

    def _ensure(self, n: int) -> None:
        if n > len(self.alive):
            cap = max(n, 2 * len(self.alive))
            self.alive = np.concatenate([self.alive, np.zeros(cap - len(self.alive), bool)])
            self.cols = [
                Column(np.concatenate([c.values, np.zeros(cap - len(c.values), c.values.dtype)]),
                       np.concatenate([c.valid, np.zeros(cap - len(c.valid), bool)]))
                for c in self.cols
            ]

    def diff(self, a, b, new: list[Column]):
        """Compare new results with the last emitted ones. Returns (row ids,
        whether a row is visible, whether it differs); the caller decides what
        to emit and ``store``s it."""
        rid = self.table.insert(a, b)
        self._ensure(self.table.n)
        had = self.alive[rid]
        changed = np.zeros(len(rid), bool)
        for c_old, c_new in zip(self.cols, new):
            ov, ok_old = c_old.values[rid], c_old.valid[rid]
            nv, ok_new = c_new.values, c_new.is_valid()
            if nv.dtype == object:
                neq = np.array([x != y for x, y in zip(ov, nv)], bool) if len(nv) else np.zeros(0, bool)
            else:
                neq = (ov != nv) & ~((ov != ov) & (nv != nv))
            changed |= (ok_old != ok_new) | (ok_old & ok_new & neq)
        return rid, had, changed

    def old(self, rid: np.ndarray) -> list[Column]:
        return [Column(c.values[rid], c.valid[rid]) for c in self.cols]

    def store(self, rid: np.ndarray, new: list[Column], alive: np.ndarray) -> None:
        for c_old, c_new in zip(self.cols, new):
            c_old.values[rid] = c_new.values
            c_old.valid[rid] = c_new.is_valid()
        self.dead += int((self.alive[rid] & ~alive).sum())
        self.alive[rid] = alive

    def remove(self, a: np.ndarray, b: np.ndarray) -> None:
        rid = self.table.lookup(a, b)
        rid = rid[rid >= 0]
        self.dead += len(rid)
        self.alive[rid] = False
        if self.dead > max(1024, self.table.n // 2):
            self._compact()

    def _compact(self) -> None:
        n = self.table.n
        keep = np.flatnonzero(self.alive[:n])
        a, b = self.table.keys1[keep], self.table.keys2[keep]
        self.table = PairTable.from_pairs(a, b)
        self.cols = [Column(c.values[keep], c.valid[keep]) for c in self.cols]
        self.alive = np.ones(len(keep), bool)
        self._ensure(16)
        self.dead = 0

    def remap_a(self, remap: np.ndarray) -> None:
        self._compact()
        n = self.table.n
        self.table = PairTable.from_pairs(remap[self.table.keys1[:n]], self.table.keys2[:n])

    def keep_a(self, remap: np.ndarray) -> None:
        """Forget the rows whose ``a`` maps to -1 (a key whose state expired:
        nothing is retracted) and renumber the others' ``a`` by ``remap``."""
        self._compact()
        n = self.table.n
        keep = np.flatnonzero(remap[self.table.keys1[:n]] >= 0)
        self.table = PairTable.from_pairs(remap[self.table.keys1[keep]], self.table.keys2[keep])
        self.cols = [Column(c.values[keep], c.valid[keep]) for c in self.cols]
        self.alive = np.ones(len(keep), bool)
        self._ensure(16)

    def remap_b(self, remap: np.ndarray) -> None:
        self._compact()
        n = self.table.n
        self.table = PairTable.from_pairs(self.table.keys1[:n], remap[self.table.keys2[:n]])

    def snapshot(self) -> dict:
        self._compact()
        n = self.table.n
        data = {"a": self.table.keys1[:n].copy(), "b": self.table.keys2[:n].copy(),
                "values": [values_data(c.values[:n]) for c in self.cols],
                "valid": [c.valid[:n].copy() for c in self.cols]}
        if self.names is not None:
            data["names"] = list(self.names)
        return data

    def restore(self, data: dict) -> None:
        """Restore ``data``; with names on both sides by name: a column the
        snapshot has not got (an aggregate added to the query) was emitted as
        NULL, as far as retracting it goes."""
        a = np.asarray(data["a"], np.int64)
        self.table = PairTable.from_pairs(a, np.asarray(data["b"], np.int64))
        saved = list(zip(data["values"], data["valid"], strict=True))
        if self.names is not None and "names" in data:
            by_name = dict(zip(data["names"], saved, strict=True))
            saved = [by_name[name] if name in by_name
                     else (np.zeros(len(a), DTYPES[kind]), np.zeros(len(a), bool))
                     for name, kind in zip(self.names, self.kinds, strict=True)]
        self.cols = [Column(values_from_data(v, k), np.asarray(ok, bool))
                     for k, (v, ok) in zip(self.kinds, saved, strict=True)]
        self.alive = np.ones(len(a), bool)
        self._ensure(16)
        self.dead = 0

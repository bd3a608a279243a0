"""Dictionary encoding of group keys: any tuple of key columns -> a dense int64 id.

Kernels only see numbers, so every operator turns its GROUP BY / PARTITION BY
columns into one int64 id per row, assigned densely in order of first
appearance (the first new key is 0, the next 1, ...). NULL is a key of its own
(SQL groups all NULLs together), and so is NaN; ``-0.0`` and ``0.0`` are one key.

* numeric columns (bool, int64, float64, timestamps) go through a numba hash
  table (``table_insert``, below), no Python per row;
* string columns go through a Python dict whose ``__missing__`` hands out the
  next code, driven by ``map`` (a C loop: about 30-50 ns per row);
* several columns are folded pairwise: ``id = table[(id_of_first_columns,
  code_of_next_column)]``.

``decode(ids)`` gives the key columns back, for output. ``compact(live)``
renumbers the keys an operator still holds state for, so that a stream whose
keys come and go (request ids, users of a day) does not grow the dictionary
forever; operators call it when the dictionary is much larger than their live
keys.

>>> from runtime_lib.columns import column_from_pylist
>>> enc = KeyEncoder(["O", "i"])
>>> enc.encode([column_from_pylist(["a", "b", "a", None], "O"),
...             column_from_pylist([1, 1, 1, None], "i")]).tolist()
[0, 1, 0, 2]
>>> [c.to_pylist() for c in enc.decode(np.array([2, 1]))]
[[None, 'b'], [None, 1]]
"""

from __future__ import annotations

import numpy as np

from runtime_lib.codes import Codes
from runtime_lib.columns import FILLERS, Column
from runtime_lib.jit import kernel_jit

jit = kernel_jit(__name__)

_NULL = object()  # dictionary key of NULL in string columns (never equal to a str)


# ---------------------------------------------------------------------------
# Open-addressing hash table from an (int64, int64) pair to a dense id.
#
# tk1/tk2 hold the pair, tval the id (-1 = empty bucket); capacity is a power of
# two. Ids are handed out densely: the n-th new pair gets id n. Python keeps the
# load factor under one half by calling ``table_insert`` with ``limit`` and
# growing the table when the kernel stops early.
# ---------------------------------------------------------------------------


@jit
def _mix(a, b):
    h = np.uint64(a) * np.uint64(0x9E3779B97F4A7C15)
    h = h ^ (np.uint64(b) + np.uint64(0x632BE59BD9B4E019) + (h << np.uint64(6)) + (h >> np.uint64(2)))
    h = h ^ (h >> np.uint64(31))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(29))
    return h


@jit
def table_insert(tk1, tk2, tval, k1, k2, out, start, n_used, limit):
    """Look up or insert ``(k1[i], k2[i])`` for i >= start; ``out[i]`` = its id.
    Rows with ``k1[i] < 0`` are skipped (out = -1). Stops before a new id would
    reach ``limit``; returns (next row to do, ids in use)."""
    mask = np.uint64(len(tval) - 1)
    last_a = np.int64(-1)
    last_b = np.int64(0)
    last_v = np.int64(-1)
    for i in range(start, len(k1)):
        a = k1[i]
        b = k2[i]
        if a < 0:
            out[i] = -1
            continue
        if a == last_a and b == last_b:
            out[i] = last_v
            continue
        h = _mix(a, b) & mask
        while True:
            v = tval[h]
            if v < 0:
                if n_used >= limit:
                    return i, n_used
                tk1[h] = a
                tk2[h] = b
                tval[h] = n_used
                v = n_used
                n_used += 1
                break
            if tk1[h] == a and tk2[h] == b:
                break
            h = (h + np.uint64(1)) & mask
        out[i] = v
        last_a = a
        last_b = b
        last_v = v
    return len(k1), n_used


@jit
def table_lookup(tk1, tk2, tval, k1, k2, out):
    """``out[i]`` = id of ``(k1[i], k2[i])`` or -1 when absent (no insert)."""
    mask = np.uint64(len(tval) - 1)
    for i in range(len(k1)):
        a = k1[i]
        b = k2[i]
        out[i] = -1
        if a < 0:
            continue
        h = _mix(a, b) & mask
        while True:
            v = tval[h]
            if v < 0:
                break
            if tk1[h] == a and tk2[h] == b:
                out[i] = v
                break
            h = (h + np.uint64(1)) & mask


@jit
def table_fill(tk1, tk2, tval, k1, k2):
    """Insert distinct pairs ``(k1[i], k2[i])`` with id ``i`` (a rebuild)."""
    mask = np.uint64(len(tval) - 1)
    for i in range(len(k1)):
        h = _mix(k1[i], k2[i]) & mask
        while tval[h] >= 0:
            h = (h + np.uint64(1)) & mask
        tk1[h] = k1[i]
        tk2[h] = k2[i]
        tval[h] = i


class PairTable:
    """Growable map from (int64, int64) pairs to dense ids 0, 1, 2, ...

    ``keys1[:n]``/``keys2[:n]`` hold the pair of every id. Rows whose first
    component is negative are skipped (id -1). Used for slot tables ((key, pane)
    -> state row), distinct sets and multi-column keys."""

    __slots__ = ("_tk1", "_tk2", "_tval", "keys1", "keys2", "n")

    def __init__(self, capacity: int = 16):
        cap = 16
        while cap < 2 * capacity:
            cap *= 2
        self.n = 0
        self.keys1 = np.zeros(cap // 2, np.int64)
        self.keys2 = np.zeros(cap // 2, np.int64)
        self._tk1 = np.zeros(cap, np.int64)
        self._tk2 = np.zeros(cap, np.int64)
        self._tval = np.full(cap, -1, np.int64)

    @classmethod
    def from_pairs(cls, k1: np.ndarray, k2: np.ndarray) -> PairTable:
        """A table whose ids are 0..len-1 for these (distinct) pairs."""
        t = cls(len(k1))
        t.keys1[: len(k1)] = k1
        t.keys2[: len(k1)] = k2
        t.n = len(k1)
        table_fill(t._tk1, t._tk2, t._tval, t.keys1[: t.n], t.keys2[: t.n])
        return t

    def _grow(self) -> None:
        cap = len(self._tval) * 2
        n = self.n
        keys1 = np.zeros(cap // 2, np.int64)
        keys2 = np.zeros(cap // 2, np.int64)
        keys1[:n] = self.keys1[:n]
        keys2[:n] = self.keys2[:n]
        self.keys1, self.keys2 = keys1, keys2
        self._tk1 = np.zeros(cap, np.int64)
        self._tk2 = np.zeros(cap, np.int64)
        self._tval = np.full(cap, -1, np.int64)
        table_fill(self._tk1, self._tk2, self._tval, keys1[:n], keys2[:n])

    def insert(self, k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
        """Ids of the pairs, new pairs numbered in order of first appearance."""
        out = np.empty(len(k1), np.int64)
        start = 0
        while True:
            n_before = self.n
            start, self.n = table_insert(
                self._tk1, self._tk2, self._tval, k1, k2, out, start, n_before, len(self._tval) // 2
            )
            if self.n > n_before:
                new = out[: start] >= n_before
                ids = out[: start][new]
                self.keys1[ids] = k1[: start][new]
                self.keys2[ids] = k2[: start][new]
            if start == len(k1):
                return out
            self._grow()

    def lookup(self, k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
        out = np.empty(len(k1), np.int64)
        table_lookup(self._tk1, self._tk2, self._tval, k1, k2, out)
        return out


def numeric_bits(col: Column, kind: str) -> np.ndarray:
    """The int64 bits of a numeric key column, such that equal keys have equal
    bits: ``-0.0`` is ``0.0`` and every NaN one NaN (SQL groups them together)."""
    v = col.values
    if kind == "f":
        v = v.astype(np.float64) + 0.0  # -0.0 -> 0.0
        v[np.isnan(v)] = np.nan  # one NaN payload
        return v.view(np.int64)
    return v.astype(np.int64, copy=False)


class Dictionary:
    """Codes of one column's values (kind 'b', 'i', 'f' or 'O'), NULL included."""

    def __init__(self, kind: str):
        if kind not in FILLERS:
            raise ValueError(f"unknown column kind {kind!r}")
        self.kind = kind
        if kind == "O":
            self._codes = Codes()
        else:
            self._table = PairTable()

    def __len__(self) -> int:
        return len(self._codes) if self.kind == "O" else self._table.n

    def encode(self, col: Column) -> np.ndarray:
        if self.kind == "O":
            values = col.values
            if col.valid is not None and not col.valid.all():
                values = values.copy()
                values[~col.valid] = _NULL
            return self._codes.encode(values)
        bits = numeric_bits(col, self.kind)
        marker = np.zeros(len(bits), np.int64)
        if col.valid is not None:
            marker[~col.valid] = 1
            bits = np.where(col.valid, bits, 0)
        # (0, bits) is a value, (1, 0) is NULL; table ids are the codes
        return self._table.insert(marker, bits)

    def decode(self, codes: np.ndarray) -> Column:
        if self.kind == "O":
            vals = np.empty(len(codes), dtype=object)
            if len(codes):
                lookup = np.fromiter(self._codes.by_code, object, count=len(self._codes))
                vals[:] = lookup[codes]
            valid = np.fromiter((v is not _NULL for v in vals), bool, count=len(vals))
            if not valid.all():
                vals[~valid] = None
                return Column(vals, valid)
            return Column(vals)
        valid = self._table.keys1[codes] == 0
        bits = self._table.keys2[codes]
        if self.kind == "f":
            vals = bits.view(np.float64).copy()
        elif self.kind == "b":
            vals = bits.astype(bool)
        else:
            vals = bits.copy()
        if not valid.all():
            vals[~valid] = FILLERS[self.kind]
            return Column(vals, valid)
        return Column(vals)


class KeyEncoder:
    """Row ids for a tuple of key columns of the given kinds ('b', 'i', 'f', 'O').

    With no key columns every row gets id 0 (a global aggregate)."""

    def __init__(self, kinds: list[str]):
        self.kinds = list(kinds)
        self._dicts = [Dictionary(k) for k in self.kinds]
        self._folds = [PairTable() for _ in self.kinds[1:]]
        self._seen_any = False

    def __len__(self) -> int:
        if not self.kinds:
            return int(self._seen_any)
        if len(self.kinds) == 1:
            return len(self._dicts[0])
        return self._folds[-1].n

    def encode(self, cols: list[Column]) -> np.ndarray:
        if len(cols) != len(self.kinds):
            raise ValueError(f"expected {len(self.kinds)} key columns, got {len(cols)}")
        if not self.kinds:
            raise ValueError("encode_rows(n) encodes keyless rows")
        ids = self._dicts[0].encode(cols[0])
        for d, fold, col in zip(self._dicts[1:], self._folds, cols[1:]):
            ids = fold.insert(ids, d.encode(col))
        return ids

    def encode_rows(self, cols: list[Column], num_rows: int) -> np.ndarray:
        """``encode`` that also handles zero key columns (all rows id 0)."""
        if not self.kinds:
            self._seen_any = self._seen_any or num_rows > 0
            return np.zeros(num_rows, np.int64)
        return self.encode(cols)

    def decode(self, ids: np.ndarray) -> list[Column]:
        ids = np.asarray(ids, dtype=np.int64)
        codes = [None] * len(self.kinds)
        for j in range(len(self.kinds) - 1, 0, -1):
            fold = self._folds[j - 1]
            codes[j] = fold.keys2[ids]
            ids = fold.keys1[ids]
        if self.kinds:
            codes[0] = ids
        return [d.decode(c) for d, c in zip(self._dicts, codes)]

    def compact(self, live: np.ndarray) -> np.ndarray:
        """Keep only the ids in ``live`` (sorted, distinct), renumbered 0..n-1 in
        the same order; returns ``remap`` with remap[old] = new or -1."""
        old_n = len(self)
        remap = np.full(old_n, -1, np.int64)
        if not self.kinds:
            remap[live] = np.arange(len(live))
            self._seen_any = len(live) > 0
            return remap
        cols = self.decode(live)
        fresh = KeyEncoder(self.kinds)
        new_ids = fresh.encode(cols) if len(live) else np.zeros(0, np.int64)
        self._dicts, self._folds = fresh._dicts, fresh._folds
        remap[live] = new_ids
        return remap

    def snapshot(self) -> dict:
        n = len(self)
        out: dict = {"n": n}
        if self.kinds:
            for j, col in enumerate(self.decode(np.arange(n, dtype=np.int64))):
                if self.kinds[j] == "O":
                    out[f"values_{j}"] = col.to_pylist()
                else:
                    out[f"values_{j}"] = col.values
                    out[f"valid_{j}"] = col.is_valid()
        return out

    def restore(self, snap: dict) -> None:
        self.__init__(self.kinds)
        n = int(snap["n"])
        if not self.kinds:
            self._seen_any = n > 0
            return
        cols = []
        for j, kind in enumerate(self.kinds):
            if kind == "O":
                vals = list(snap[f"values_{j}"])
                arr = np.empty(len(vals), dtype=object)
                arr[:] = vals
                valid = np.fromiter((v is not None for v in vals), bool, count=len(vals))
                cols.append(Column(arr, valid))
            else:
                cols.append(Column(np.asarray(snap[f"values_{j}"]), np.asarray(snap[f"valid_{j}"], bool)))
        if n:
            self.encode(cols)

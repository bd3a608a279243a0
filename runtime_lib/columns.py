"""Columnar batches: the unit every runtime operator consumes and produces.

A column is a numpy array of values plus an optional validity mask (``None``
means "no NULLs", which is the common case and costs nothing). Physical types:

=================  ==========================================================
SQL type           numpy storage
=================  ==========================================================
BOOLEAN            bool
TINYINT..BIGINT    int64 (INT semantics are checked by the compiler)
FLOAT, DOUBLE      float64
DECIMAL(p, s)      float64 (deliberate deviation, docs/differences-from-flink.md)
VARCHAR, CHAR      object (Python ``str``)
TIMESTAMP(3),      int64 epoch milliseconds, UTC
TIMESTAMP_LTZ(3)
DATE               int64 days since 1970-01-01
TIME               int64 milliseconds since midnight
ARRAY, MAP, ROW    object (Python list / dict)
=================  ==========================================================

Where a value is NULL its slot in ``values`` holds a harmless filler (0, 0.0,
False, "" or None) so that vectorized arithmetic never trips over it; every
operation must combine validity masks, never look at fillers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FILLERS: dict[str, object] = {"b": False, "i": 0, "f": 0.0, "O": None}
#: numpy dtype of each storage kind (the one table; schema.KINDS maps SQL types to kinds)
DTYPES: dict[str, type] = {"b": np.bool_, "i": np.int64, "f": np.float64, "O": object}


@dataclass(frozen=True, slots=True)
class Column:
    values: np.ndarray
    valid: np.ndarray | None = None  # bool mask, True = not NULL; None = no NULLs

    def __len__(self) -> int:
        return len(self.values)

    @property
    def null_count(self) -> int:
        return 0 if self.valid is None else int(len(self.valid) - self.valid.sum())

    def take(self, index: np.ndarray) -> Column:
        """Rows selected by a boolean mask or an integer index array."""
        valid = None if self.valid is None else self.valid[index]
        return Column(self.values[index], valid)

    def is_valid(self) -> np.ndarray:
        """The validity mask, materialized (all True when there are no NULLs)."""
        if self.valid is None:
            return np.ones(len(self.values), dtype=bool)
        return self.valid

    def to_pylist(self) -> list:
        """Python values with None for NULL (slow path: output and tests only)."""
        values = self.values.tolist()
        if self.valid is None:
            return values
        return [v if ok else None for v, ok in zip(values, self.valid.tolist())]


@dataclass(frozen=True, slots=True)
class Batch:
    """Named columns of equal length, in schema order.

    ``watermarks`` (int64 epoch ms per row, optional) is the watermark that held
    when each row arrived: stateful operators decide lateness per row with it,
    so results do not depend on where micro-batches happen to be cut.

    ``ops`` (object array of '+I', '-U', '+U', '-D', optional) marks the rows of
    an updating result (a changelog); ``None`` means insert-only."""

    columns: dict[str, Column]
    num_rows: int
    watermarks: np.ndarray | None = None
    ops: np.ndarray | None = None

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]

    def take(self, index: np.ndarray) -> Batch:
        taken = {name: col.take(index) for name, col in self.columns.items()}
        num_rows = int(index.sum()) if index.dtype == bool else len(index)
        watermarks = None if self.watermarks is None else self.watermarks[index]
        ops = None if self.ops is None else self.ops[index]
        return Batch(taken, num_rows, watermarks, ops)

    def row_watermarks(self) -> np.ndarray:
        """``watermarks``, or "no watermark yet" for every row when there are none."""
        if self.watermarks is not None:
            return self.watermarks
        return np.full(self.num_rows, np.iinfo(np.int64).min, dtype=np.int64)

    def project(self, columns: dict[str, Column]) -> Batch:
        """The same rows with other columns (a projection)."""
        return Batch(columns, self.num_rows, self.watermarks, self.ops)

    def split_ops(self, name: str = "op") -> Batch:
        """A changelog batch whose ``name`` column holds the row kinds, with the
        kinds moved to ``ops``."""
        ops = self.columns[name].values
        columns = {k: v for k, v in self.columns.items() if k != name}
        return Batch(columns, self.num_rows, self.watermarks, ops)

    def retracted(self) -> np.ndarray | None:
        """Rows that take an earlier row back (``-D``, ``-U``); None when the
        batch is insert-only."""
        if self.ops is None:
            return None
        return np.isin(self.ops, ("-D", "-U"))

    def to_rows(self) -> list[tuple]:
        return list(zip(*(col.to_pylist() for col in self.columns.values())))


def column_from_pylist(values: list, dtype: str) -> Column:
    """Build a column from Python values (None = NULL). ``dtype`` is a numpy
    kind: 'b' bool, 'i' int64, 'f' float64, 'O' object."""
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    filler = FILLERS[dtype]
    filled = [filler if v is None else v for v in values]
    np_dtype = DTYPES[dtype]
    if dtype == "O":
        arr = np.empty(len(filled), dtype=object)
        arr[:] = filled
    else:
        arr = np.asarray(filled, dtype=np_dtype)
    return Column(arr, None if valid.all() else valid)


def concat_columns(parts: list[Column]) -> Column:
    """One column holding the rows of ``parts`` in order (masks combined)."""
    if len(parts) == 1:
        return parts[0]
    values = np.concatenate([p.values for p in parts])
    if all(p.valid is None for p in parts):
        return Column(values)
    valid = np.concatenate([p.is_valid() for p in parts])
    return Column(values, None if valid.all() else valid)


def concat_batches(parts: list[Batch]) -> Batch:
    """The rows of batches with the same columns, in order."""
    if len(parts) == 1:
        return parts[0]
    names = list(parts[0].columns)
    columns = {name: concat_columns([p.columns[name] for p in parts]) for name in names}
    watermarks = None
    if all(p.watermarks is not None for p in parts):
        watermarks = np.concatenate([p.watermarks for p in parts])
    ops = None
    if all(p.ops is not None for p in parts):
        ops = np.concatenate([p.ops for p in parts])
    return Batch(columns, sum(p.num_rows for p in parts), watermarks, ops)


def null_column(kind: str, n: int) -> Column:
    """``n`` NULLs of storage kind 'b', 'i', 'f' or 'O' (a rolled-up grouping key)."""
    np_dtype = DTYPES[kind]
    values = np.empty(n, dtype=object) if kind == "O" else np.zeros(n, dtype=np_dtype)
    return Column(values, np.zeros(n, dtype=bool))


def truth_mask(result, n: int) -> np.ndarray:
    """A condition's answer (a boolean mask, a scalar, or a BOOLEAN Column) as
    a mask of ``n`` rows, NULL = false: how joins read their residual."""
    if isinstance(result, Column):
        mask = np.asarray(result.values, bool)
        return mask if result.valid is None else mask & result.valid
    mask = np.asarray(result, bool)
    return np.full(n, bool(mask)) if mask.shape == () else mask


def unnest(batch: Batch, container: Column, names: list[str], kinds: list[str],
           outer: bool = False) -> Batch:
    """``CROSS JOIN UNNEST(container) AS t (names)``: each row once per element
    of its ARRAY (one name) or entry of its MAP (two: key, value), the new
    columns after the batch's. ``outer`` (LEFT JOIN ... ON TRUE) keeps a row
    whose container is NULL or empty once, its new columns NULL.

    >>> b = Batch({"i": column_from_pylist([1, 2, 3], "i")}, 3)
    >>> arrays = column_from_pylist([["a", "b"], [], None], "O")
    >>> unnest(b, arrays, ["tag"], ["O"]).to_rows()
    [(1, 'a'), (1, 'b')]
    >>> unnest(b, arrays, ["tag"], ["O"], outer=True).to_rows()
    [(1, 'a'), (1, 'b'), (2, None), (3, None)]
    """
    valid = container.is_valid()
    items = [list(v.items()) if isinstance(v, dict) else list(v) if ok else []
             for v, ok in zip(container.values.tolist(), valid.tolist())]
    counts = np.fromiter((len(x) for x in items), dtype=np.int64, count=len(items))
    padded = (counts == 0) if outer else np.zeros(len(items), dtype=bool)
    rows = np.repeat(np.arange(len(items)), np.maximum(counts, padded.astype(np.int64)))
    out = batch.take(rows)
    elements: list = []
    for x, pad in zip(items, padded.tolist()):
        elements.extend([None] if pad else x)
    columns = dict(out.columns)
    if len(names) == 2:  # a MAP: key and value
        pairs = [e if e is not None else (None, None) for e in elements]
        parts = [[p[0] for p in pairs], [p[1] for p in pairs]]
    else:
        parts = [elements]
    for name, kind, values in zip(names, kinds, parts):
        columns[name] = column_from_pylist(values, kind)
    return out.project(columns)

"""What every SQL function is built on: arguments (Columns or Python literals),
NULL masks, result columns; and ``literal``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import repeat
from operator import is_not
from typing import Any

import numpy as np

from runtime_lib.columns import DTYPES, Column

Arg = Any  # Column | bool | int | float | str | None

# ---------------------------------------------------------------------------
# plumbing


def _length(args: Sequence[Arg]) -> int:
    for arg in args:
        if isinstance(arg, Column):
            return len(arg)
    return 1


def _kind_of(arg: Arg) -> str:
    """numpy kind of an argument: 'b', 'i', 'f', 'O' (None for the NULL literal)."""
    if isinstance(arg, Column):
        return arg.values.dtype.kind if arg.values.dtype.kind != "u" else "i"
    if arg is None:
        return "N"
    if isinstance(arg, (bool, np.bool_)):
        return "b"
    if isinstance(arg, (int, np.integer)):
        return "i"
    if isinstance(arg, (float, np.floating)):
        return "f"
    return "O"


def _values(arg: Arg, n: int) -> np.ndarray | Any:
    """The values of a Column, or the literal itself (numpy broadcasts it)."""
    return arg.values if isinstance(arg, Column) else arg


def _full(arg: Arg, n: int) -> np.ndarray:
    """The values materialized as an array of length n."""
    if isinstance(arg, Column):
        return arg.values
    if isinstance(arg, str) or arg is None:
        out = np.empty(n, dtype=object)
        out[:] = [arg] * n if n else []
        return out
    return np.full(n, arg)


def _valid(args: Sequence[Arg], n: int) -> np.ndarray | None | bool:
    """Combined validity: None (no NULLs), False (all NULL) or a bool mask."""
    mask = None
    for arg in args:
        if arg is None:
            return False
        if isinstance(arg, Column) and arg.valid is not None:
            mask = arg.valid if mask is None else mask & arg.valid
    return mask


def _result(values: Any, valid: np.ndarray | None | bool, n: int, dtype: Any = None) -> Column:
    """A Column from computed values and validity, fillers put into NULL slots."""
    if np.ndim(values) == 0 and not isinstance(values, np.ndarray) or (
        isinstance(values, np.ndarray) and values.ndim == 0
    ):
        values = _full(values.item() if isinstance(values, np.generic) else values, n)
    if dtype is not None and values.dtype != dtype:
        values = values.astype(dtype)
    if valid is False:
        return _nulls(n, values.dtype)
    if valid is None:
        return Column(values)
    if valid.all():
        return Column(values)
    if values.dtype == object:
        values = values.copy()
        values[~valid] = None
    return Column(values, valid)


def _nulls(n: int, dtype: Any = object) -> Column:
    dtype = np.dtype(dtype)
    if dtype.kind in "US":
        dtype = np.dtype(object)
    values = np.empty(n, dtype=object) if dtype == object else np.zeros(n, dtype=dtype)
    return Column(values, np.zeros(n, dtype=bool))


def _null_dtype(*args: Arg) -> Any:
    kinds = {_kind_of(a) for a in args} - {"N"}
    if "O" in kinds:
        return object
    if "f" in kinds:
        return np.float64
    if "i" in kinds:
        return np.int64
    if "b" in kinds:
        return np.bool_
    return object


_SHAREABLE = {str, int, float, bool, type(None), bytes}


def _apply(fn: Callable, values: list, strings: bool) -> list:
    """``[fn(v) for v in values]`` without a Python loop; for text (an object
    column) with repeated values (model ids, regions), fn runs once per
    distinct value. The functions are pure, so this changes nothing but time."""
    if strings and len(values) > 16:
        try:
            distinct = dict.fromkeys(values)
        except TypeError:  # unhashable (ARRAY/MAP values)
            distinct = None
        if distinct is not None and 4 * len(distinct) <= len(values):
            for value in distinct:
                distinct[value] = fn(value)
            # rows may share a result object only when it is immutable
            if set(map(type, distinct.values())) <= _SHAREABLE:
                return list(map(distinct.__getitem__, values))
    return list(map(fn, values))


def _map_valid(
    fn: Callable, args: Sequence[Arg], out_dtype: Any = object, n: int | None = None
) -> Column:
    """Apply a Python function row by row where every argument is non-NULL
    (string functions with no vectorized numpy form). ``fn`` may return None
    to make that row NULL."""
    n = _length(args) if n is None else n
    valid = _valid(args, n)
    if valid is False:
        return _nulls(n, out_dtype)
    columns = [_full(a, n).tolist() if isinstance(a, Column) else None for a in args]
    rows = range(n) if valid is None else np.flatnonzero(valid).tolist()
    getters = [
        (lambda i, c=c: c[i]) if c is not None else (lambda i, a=a: a)
        for c, a in zip(columns, args)
    ]
    out_list: list = [None] * n
    if len(args) == 1 and columns[0] is not None:
        col = columns[0]
        strings = args[0].values.dtype == object
        if valid is None:
            out_list = _apply(fn, col, strings)
        else:
            for i, result in zip(rows, _apply(fn, [col[i] for i in rows], strings)):
                out_list[i] = result
    else:
        for i in rows:
            out_list[i] = fn(*[g(i) for g in getters])
    result_valid = np.fromiter(map(is_not, out_list, repeat(None)), dtype=bool, count=n)
    if out_dtype == object:
        values = np.empty(n, dtype=object)
        values[:] = out_list
    elif result_valid.all():
        values = np.fromiter(out_list, dtype=out_dtype, count=n)
    else:
        filler = {np.bool_: False, np.int64: 0, np.float64: 0.0}[out_dtype]
        values = np.array([filler if v is None else v for v in out_list], dtype=out_dtype)
    return Column(values, None if result_valid.all() else result_valid)



def literal(value: Any, n: int, type_name: str | None = None) -> Column:
    """A constant column (a SELECT of a literal); None gives a NULL column."""
    if value is None:
        from runtime_lib.schema import numpy_kind

        kind = numpy_kind(type_name) if type_name else "O"
        return _nulls(n, DTYPES[kind])
    return Column(_full(value, n))

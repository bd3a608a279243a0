"""Comparisons (= <> < <= > >=, BETWEEN, IN, GREATEST, LEAST, IS [NOT]
DISTINCT FROM), logic (AND, OR, NOT, IS [NOT] TRUE/FALSE/NULL) with SQL's
three-valued NULLs, CASE, COALESCE and NULLIF."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.functions.base import (
    Arg,
    _full,
    _kind_of,
    _length,
    _map_valid,
    _null_dtype,
    _nulls,
    _result,
    _valid,
    _values,
)

# ---------------------------------------------------------------------------
# comparisons


def _compare(ufunc: Callable, a: Arg, b: Arg) -> Column:
    n = _length((a, b))
    valid = _valid((a, b), n)
    if valid is False:
        return _nulls(n, np.bool_)
    av, bv = _values(a, n), _values(b, n)
    if _kind_of(a) == "O" or _kind_of(b) == "O":
        # object columns hold None fillers: compare only the valid rows
        out = np.zeros(n, dtype=bool)
        if valid is None:
            out[:] = ufunc(_full(a, n), _full(b, n))
        else:
            rows = np.flatnonzero(valid)
            left = av[rows] if isinstance(a, Column) else av
            right = bv[rows] if isinstance(b, Column) else bv
            out[rows] = ufunc(left, right)
        return _result(out, valid, n)
    return _result(np.asarray(ufunc(av, bv), dtype=bool), valid, n)


def eq(a: Arg, b: Arg) -> Column:
    return _compare(np.equal, a, b)


def ne(a: Arg, b: Arg) -> Column:
    return _compare(np.not_equal, a, b)


def lt(a: Arg, b: Arg) -> Column:
    return _compare(np.less, a, b)


def le(a: Arg, b: Arg) -> Column:
    return _compare(np.less_equal, a, b)


def gt(a: Arg, b: Arg) -> Column:
    return _compare(np.greater, a, b)


def ge(a: Arg, b: Arg) -> Column:
    return _compare(np.greater_equal, a, b)


def between(x: Arg, lo: Arg, hi: Arg) -> Column:
    """x BETWEEN lo AND hi  =  x >= lo AND x <= hi (3VL). A half whose
    arguments are both constants is one row long: it counts for every row."""
    n = _length((x, lo, hi))
    return and_(*(_rows(half, n) for half in (ge(x, lo), le(x, hi))))


def _rows(column: Column, n: int) -> Column:
    """``column`` as ``n`` rows (a one-row column repeated)."""
    if len(column) == n:
        return column
    valid = None if column.valid is None else np.repeat(column.valid, n)
    return Column(np.repeat(column.values, n), valid)


def not_between(x: Arg, lo: Arg, hi: Arg) -> Column:
    return not_(between(x, lo, hi))


# ---------------------------------------------------------------------------
# logic (three-valued)


def _truth(arg: Arg, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(is TRUE, is FALSE) masks of a boolean argument."""
    if arg is None:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if not isinstance(arg, Column):
        value = bool(arg)
        return np.full(n, value), np.full(n, not value)
    values = arg.values.astype(bool, copy=False)
    if arg.valid is None:
        return values, ~values
    return values & arg.valid, ~values & arg.valid


def and_(*args: Arg) -> Column:
    """Three-valued AND: FALSE if any argument is FALSE, else NULL if any is
    NULL, else TRUE (FALSE AND NULL = FALSE)."""
    n = _length(args)
    all_true = np.ones(n, dtype=bool)
    any_false = np.zeros(n, dtype=bool)
    for arg in args:
        t, f = _truth(arg, n)
        all_true &= t
        any_false |= f
    valid = all_true | any_false
    return Column(all_true, None if valid.all() else valid)


def or_(*args: Arg) -> Column:
    """Three-valued OR: TRUE if any argument is TRUE, else NULL if any is NULL,
    else FALSE (TRUE OR NULL = TRUE)."""
    n = _length(args)
    any_true = np.zeros(n, dtype=bool)
    all_false = np.ones(n, dtype=bool)
    for arg in args:
        t, f = _truth(arg, n)
        any_true |= t
        all_false &= f
    valid = any_true | all_false
    return Column(any_true, None if valid.all() else valid)


def not_(a: Arg) -> Column:
    """NOT a; NOT NULL is NULL."""
    n = _length((a,))
    t, f = _truth(a, n)
    valid = t | f
    return Column(f, None if valid.all() else valid)


def is_null(a: Arg) -> Column:
    n = _length((a,))
    if a is None:
        return Column(np.ones(n, dtype=bool))
    if not isinstance(a, Column) or a.valid is None:
        return Column(np.zeros(n, dtype=bool))
    return Column(~a.valid)


def is_not_null(a: Arg) -> Column:
    return Column(~is_null(a).values)


def is_true(a: Arg) -> Column:
    return Column(_truth(a, _length((a,)))[0])


def is_false(a: Arg) -> Column:
    return Column(_truth(a, _length((a,)))[1])


def is_not_true(a: Arg) -> Column:
    return Column(~_truth(a, _length((a,)))[0])


def is_not_false(a: Arg) -> Column:
    return Column(~_truth(a, _length((a,)))[1])


def is_distinct_from(a: Arg, b: Arg) -> Column:
    """NULL-safe inequality: never NULL; NULL is not distinct from NULL."""
    a_null = is_null(a).values
    b_null = is_null(b).values
    both = ~a_null & ~b_null
    differs = ne(a, b)
    out = np.where(both, differs.values & differs.is_valid(), a_null != b_null)
    return Column(out.astype(bool))


def is_not_distinct_from(a: Arg, b: Arg) -> Column:
    return Column(~is_distinct_from(a, b).values)


def filter_mask(col: Arg, n: int | None = None) -> np.ndarray:
    """Rows a WHERE keeps: True exactly where the value is non-NULL and TRUE."""
    if isinstance(col, Column):
        return _truth(col, len(col))[0]
    return np.full(1 if n is None else n, col is not None and bool(col))


# ---------------------------------------------------------------------------
# IN, LIKE, CASE


def in_list(x: Arg, values: Sequence[Arg]) -> Column:
    """x IN (v1, ..., vk) = x = v1 OR ... OR x = vk (3VL): NULL when x is NULL,
    TRUE when x equals a value, else NULL when the list holds a NULL, else FALSE."""
    n = _length((x, *values))
    if x is None:
        return _nulls(n, np.bool_)
    literals = [v for v in values if not isinstance(v, Column) and v is not None]
    columns = [v for v in values if isinstance(v, Column)]
    has_null_literal = any(v is None for v in values)
    xv = _full(x, n)
    x_valid = x.is_valid() if isinstance(x, Column) else np.ones(n, dtype=bool)
    if literals:
        if xv.dtype == object:
            wanted = set(literals)
            hit = np.fromiter(
                (v in wanted for v in xv.tolist()), dtype=bool, count=n
            ) & x_valid
        else:
            hit = np.isin(xv, np.asarray(literals)) & x_valid
    else:
        hit = np.zeros(n, dtype=bool)
    result = Column(hit)
    parts = [result] + [eq(x, c) for c in columns]
    if has_null_literal:
        parts.append(None)
    combined = or_(*parts) if len(parts) > 1 else result
    valid = combined.is_valid() & x_valid
    return Column(combined.values & valid, None if valid.all() else valid)


def not_in_list(x: Arg, values: Sequence[Arg]) -> Column:
    """x NOT IN (...) = NOT (x IN (...)): NULL when the list holds a NULL and x
    matches nothing."""
    return not_(in_list(x, values))


def case_when(conditions: Sequence[Arg], values: Sequence[Arg], else_value: Arg = None) -> Column:
    """CASE WHEN c1 THEN v1 ... ELSE e END: the first TRUE condition wins; a
    NULL condition is not TRUE; no ELSE means NULL."""
    n = _length((*conditions, *values, else_value))
    branches = list(values) + [else_value]
    dtype = np.dtype(_null_dtype(*branches))
    if dtype == np.bool_ and any(_kind_of(v) in "if" for v in branches):
        dtype = np.dtype(np.float64)
    out = np.empty(n, dtype=object) if dtype == object else np.zeros(n, dtype=dtype)
    valid = np.zeros(n, dtype=bool)
    undecided = np.ones(n, dtype=bool)
    for cond, value in zip(list(conditions) + [True], branches):
        take = filter_mask(cond, n) & undecided
        if not take.any():
            continue
        undecided &= ~take
        if value is None:
            continue
        if isinstance(value, Column):
            out[take] = value.values[take]
            valid[take] = value.is_valid()[take]
        else:
            out[take] = value
            valid[take] = True
        if not undecided.any():
            break
    return _result(out, valid, n)


# ---------------------------------------------------------------------------
# NULL functions


def coalesce(*args: Arg) -> Column:
    """The first non-NULL argument."""
    n = _length(args)
    dtype = np.dtype(_null_dtype(*args))
    out = np.empty(n, dtype=object) if dtype == object else np.zeros(n, dtype=dtype)
    valid = np.zeros(n, dtype=bool)
    for arg in args:
        if arg is None:
            continue
        todo = ~valid
        if isinstance(arg, Column):
            take = todo & arg.is_valid()
            out[take] = arg.values[take]
        else:
            take = todo
            out[take] = arg
        valid |= take
        if valid.all():
            break
    return _result(out, valid, n)


def nullif(a: Arg, b: Arg) -> Column:
    """NULL when a = b, else a."""
    n = _length((a, b))
    same = filter_mask(eq(a, b), n)
    if a is None:
        return _nulls(n, _null_dtype(b))
    values = _full(a, n)
    valid = (a.is_valid() if isinstance(a, Column) else np.ones(n, dtype=bool)) & ~same
    return _result(values, valid, n)


def _extreme(ufunc: Callable, args: Sequence[Arg]) -> Column:
    n = _length(args)
    valid = _valid(args, n)
    if valid is False:
        return _nulls(n, _null_dtype(*args))
    if any(_kind_of(a) == "O" for a in args):
        pick = max if ufunc is np.maximum else min
        return _map_valid(lambda *vs: pick(vs), args)
    out = np.asarray(_values(args[0], n))
    for arg in args[1:]:
        out = ufunc(out, _values(arg, n))
    return _result(np.asarray(out), valid, n)


def greatest(*args: Arg) -> Column:
    """GREATEST(a, b, ...): NULL if any argument is NULL (Flink)."""
    return _extreme(np.maximum, args)


def least(*args: Arg) -> Column:
    """LEAST(a, b, ...): NULL if any argument is NULL (Flink)."""
    return _extreme(np.minimum, args)


def ifnull(a: Arg, replacement: Arg) -> Column:
    """IFNULL(a, replacement): replacement where a is NULL (COALESCE of two;
    Flink types the result NOT NULL when the replacement is)."""
    return coalesce(a, replacement)


def overlaps(r0: Arg, r1: Arg, r2: Arg, r3: Arg) -> Column:
    """(r0, r1) OVERLAPS (r2, r3), the ends already computed for a (start,
    interval) period: Calcite's rewrite (Flink's planner), each period's ends
    sorted with ``CASE WHEN r0 <= r1 THEN r0 ELSE r1 END`` (a NULL comparison
    takes the ELSE branch), then ``e0 >= s1 AND e1 >= s0``: closed periods,
    so touching periods overlap."""
    first, second = le(r0, r1), le(r2, r3)
    s0, e0 = case_when([first], [r0], r1), case_when([first], [r1], r0)
    s1, e1 = case_when([second], [r2], r3), case_when([second], [r3], r2)
    return and_(ge(e0, s1), ge(e1, s0))

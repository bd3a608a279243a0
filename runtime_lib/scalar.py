"""Vectorized SQL scalar functions on Columns, with SQL three-valued NULL logic.

Every function takes Columns or Python scalar literals (``None`` is the NULL
literal) and returns a Column whose length is that of its Column arguments
(length 1 when all arguments are literals; the compiler folds those). The
generated code calls these by name; the names and signatures are the API.

Semantics follow Flink SQL (see FLINK_SEMANTICS.md); where Flink would fail the
job at run time, sqlc keeps the pipeline running and produces NULL instead.
The rules, each also stated at its function:

- **NULL in, NULL out** for every function except the logic operators
  (``and_``, ``or_``: FALSE AND NULL = FALSE, TRUE OR NULL = TRUE), the IS
  predicates, ``coalesce``, ``concat_ws`` (skips NULL arguments), ``in_list``
  (x IN (1, NULL) is TRUE when x = 1, else NULL) and ``case_when``.
- **Integer division** truncates toward zero: ``-7 / 2 = -3``. Integer division
  or ``MOD`` by zero is NULL (Flink raises ArithmeticException and fails the
  job). DOUBLE arithmetic is IEEE 754, as in Flink/Java: ``1.0 / 0 = Infinity``,
  ``0.0 / 0 = NaN``, ``MOD(x, 0.0) = NaN``. Integer overflow wraps (as Java).
- **MOD** has the sign of the dividend: ``MOD(-7, 2) = -1``.
- **ROUND** is HALF_UP on the decimal value, for DOUBLE too: Flink computes
  ``BigDecimal.valueOf(x).setScale(d, HALF_UP)``, so ``ROUND(2.5) = 3``,
  ``ROUND(-2.5) = -3`` and ``ROUND(2.675, 2) = 2.68`` (the shortest decimal
  representation of the double is rounded, not its binary expansion).
- **CAST** returns NULL where Flink raises (unparsable string, NaN to integer)
  — ``cast`` and ``try_cast`` compute the same values; ``cast`` additionally
  counts each non-NULL input that became NULL in ``CAST_FAILURES`` so the
  pipeline can report it. DOUBLE to integer truncates toward zero
  (``CAST(-2.7 AS INT) = -2``); out of the target range is NULL. BIGINT to a
  narrower integer wraps (Java narrowing). DOUBLE to VARCHAR prints like Java
  ``Double.toString`` (``'1.5'``, ``'1.0E10'``, ``'1.0E-4'``, ``'NaN'``); BOOLEAN
  to VARCHAR is ``'TRUE'``/``'FALSE'``; TIMESTAMP(p) to VARCHAR is
  ``'YYYY-MM-DD HH:MM:SS'`` plus p (at most 3) fractional digits. Numeric to
  TIMESTAMP/TIMESTAMP_LTZ reads epoch *seconds* (Flink); TIMESTAMP to BIGINT
  gives epoch seconds. DECIMAL(p, s) rounds HALF_UP to s places (stored as
  DOUBLE).
- **Strings** compare by code point; LIKE is case-sensitive, ``%`` any sequence,
  ``_`` one character, ``escape`` makes the next character literal.
- **Time**: TIMESTAMP values are int64 epoch milliseconds UTC; interval
  arithmetic is ``add``/``sub`` of milliseconds. ``extract(DAYOFWEEK)`` is
  Sunday=1..Saturday=7, ``WEEK`` is the ISO week, ``MILLISECOND`` is
  seconds*1000 + milliseconds (as Calcite/Flink). CURRENT_TIMESTAMP, NOW(),
  LOCALTIMESTAMP, CURRENT_DATE and PROCTIME() read the wall clock, or the
  instant the driver pinned (``pin_now``: ``--now``, ``SQLC_NOW``).
"""

from __future__ import annotations

import builtins
import math
import operator
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np

from .columns import DTYPES, Column
from .schema import (
    FLOAT_TYPES,
    INT_RANGES,
    INTEGER_TYPES,
    STRING_TYPES,
    TIMESTAMP_TYPES,
    base_type,
    normalize_type_name,
    timestamp_precision,
    type_args,
)
from .temporal import (
    MS_PER_DAY,
    MS_PER_HOUR,
    MS_PER_MINUTE,
    MS_PER_SECOND,
    format_dates,
    format_times,
    format_timestamps,
    parse_dates,
    parse_times,
    parse_timestamps,
)

Arg = Any  # Column | bool | int | float | str | None

#: cast() failures by "FROM->TO": non-NULL inputs that became NULL.
CAST_FAILURES: Counter[str] = Counter()

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
        for i in rows:
            out_list[i] = fn(col[i])
    else:
        for i in rows:
            out_list[i] = fn(*[g(i) for g in getters])
    result_valid = np.fromiter((v is not None for v in out_list), dtype=bool, count=n)
    if out_dtype == object:
        values = np.empty(n, dtype=object)
        values[:] = out_list
    else:
        filler = {np.bool_: False, np.int64: 0, np.float64: 0.0}[out_dtype]
        values = np.array([filler if v is None else v for v in out_list], dtype=out_dtype)
    return Column(values, None if result_valid.all() else result_valid)


# ---------------------------------------------------------------------------
# arithmetic


def _arith(ufunc: Callable, a: Arg, b: Arg) -> Column:
    n = _length((a, b))
    valid = _valid((a, b), n)
    if valid is False:
        return _nulls(n, _null_dtype(a, b))
    with np.errstate(all="ignore"):
        values = ufunc(_values(a, n), _values(b, n))
    return _result(np.asarray(values), valid, n)


def add(a: Arg, b: Arg) -> Column:
    """a + b (also TIMESTAMP + INTERVAL, both in milliseconds)."""
    return _arith(np.add, a, b)


def sub(a: Arg, b: Arg) -> Column:
    """a - b (also TIMESTAMP - INTERVAL and TIMESTAMP - TIMESTAMP in ms)."""
    return _arith(np.subtract, a, b)


def mul(a: Arg, b: Arg) -> Column:
    return _arith(np.multiply, a, b)


def neg(a: Arg) -> Column:
    n = _length((a,))
    valid = _valid((a,), n)
    if valid is False:
        return _nulls(n, _null_dtype(a))
    with np.errstate(all="ignore"):
        return _result(np.negative(_full(a, n)), valid, n)


def _is_integer(*args: Arg) -> bool:
    return all(_kind_of(a) in ("i", "b", "N") for a in args)


def div(a: Arg, b: Arg) -> Column:
    """a / b. Integers: truncates toward zero (-7 / 2 = -3); division by zero
    is NULL (Flink fails the job). Otherwise IEEE 754 DOUBLE division
    (x / 0.0 = +-Infinity, 0.0 / 0.0 = NaN, as Java)."""
    n = _length((a, b))
    valid = _valid((a, b), n)
    if valid is False:
        return _nulls(n, _null_dtype(a, b, 0.0) if not _is_integer(a, b) else np.int64)
    if not _is_integer(a, b):
        with np.errstate(all="ignore"):
            values = np.true_divide(_values(a, n), _values(b, n))
        return _result(np.asarray(values, dtype=np.float64), valid, n)
    x = np.asarray(_full(a, n), dtype=np.int64)
    y = np.asarray(_full(b, n), dtype=np.int64)
    zero = y == 0
    safe = np.where(zero, 1, y)
    with np.errstate(all="ignore"):
        q = np.floor_divide(x, safe)
        r = x - q * safe
    q += (r != 0) & ((x < 0) != (safe < 0))
    if zero.any():
        q[zero] = 0
        valid = ~zero if valid is None else valid & ~zero
    return _result(q, valid, n)


def mod(a: Arg, b: Arg) -> Column:
    """MOD(a, b) with the sign of the dividend (MOD(-7, 2) = -1). Integer MOD
    by zero is NULL (Flink fails the job); DOUBLE MOD by zero is NaN."""
    n = _length((a, b))
    valid = _valid((a, b), n)
    if valid is False:
        return _nulls(n, np.int64 if _is_integer(a, b) else np.float64)
    if not _is_integer(a, b):
        with np.errstate(all="ignore"):
            values = np.fmod(_values(a, n), _values(b, n))
        return _result(np.asarray(values, dtype=np.float64), valid, n)
    x = np.asarray(_full(a, n), dtype=np.int64)
    y = np.asarray(_full(b, n), dtype=np.int64)
    zero = y == 0
    with np.errstate(all="ignore"):
        values = np.fmod(x, np.where(zero, 1, y))
    if zero.any():
        values[zero] = 0
        valid = ~zero if valid is None else valid & ~zero
    return _result(values, valid, n)


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
    """x BETWEEN lo AND hi  =  x >= lo AND x <= hi (3VL)."""
    return and_(ge(x, lo), le(x, hi))


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


def _like_regex(pattern: str, escape: str | None) -> re.Pattern:
    parts, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


_LIKE_CACHE: dict[tuple[str, str | None], Callable[[str], bool]] = {}


def _like_matcher(pattern: str, escape: str | None) -> Callable[[str], bool]:
    key = (pattern, escape)
    matcher = _LIKE_CACHE.get(key)
    if matcher is None:
        special = set("%_") | ({escape} if escape else set())
        body = pattern.strip("%")
        if not special & set(body):
            if pattern.startswith("%") and pattern.endswith("%") and len(pattern) > 1:
                matcher = lambda s, b=body: b in s  # '%abc%' ('%%' matches all)
            elif pattern.startswith("%"):
                matcher = operator.methodcaller("endswith", body)
            elif pattern.endswith("%"):
                matcher = operator.methodcaller("startswith", body)
            else:
                matcher = pattern.__eq__
            if pattern.count("%") > 2 or pattern == "%":
                matcher = _like_regex(pattern, escape).fullmatch
        else:
            regex = _like_regex(pattern, escape)
            matcher = lambda s, f=regex.fullmatch: f(s) is not None
        _LIKE_CACHE[key] = matcher
    return matcher


def like(x: Arg, pattern: Arg, escape: str | None = None) -> Column:
    """x LIKE pattern [ESCAPE e]: '%' any sequence, '_' one character,
    case-sensitive, matches the whole string."""
    if isinstance(pattern, Column):
        return _map_valid(
            lambda s, p: bool(_like_matcher(p, escape)(s)), (x, pattern), np.bool_
        )
    if pattern is None:
        return _nulls(_length((x,)), np.bool_)
    matcher = _like_matcher(pattern, escape)
    return _map_valid(lambda s: bool(matcher(s)), (x,), np.bool_)


def not_like(x: Arg, pattern: Arg, escape: str | None = None) -> Column:
    return not_(like(x, pattern, escape))


def similar_to(x: Arg, pattern: str) -> Column:
    """x SIMILAR TO pattern: the SQL regex dialect ('%', '_', '|', '*', '+',
    '?', '{m,n}', '[...]', '(...)'), matching the whole string."""
    if pattern is None:
        return _nulls(_length((x,)), np.bool_)
    translated = (
        pattern.replace("\\", "\\\\").replace(".", "\\.").replace("^", "\\^")
        .replace("$", "\\$").replace("%", ".*").replace("_", ".")
    )
    regex = re.compile(translated, re.DOTALL)
    return _map_valid(lambda s: regex.fullmatch(s) is not None, (x,), np.bool_)


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


# ---------------------------------------------------------------------------
# numeric functions


def _unary(fn: Callable, a: Arg, dtype: Any = None) -> Column:
    n = _length((a,))
    valid = _valid((a,), n)
    if valid is False:
        return _nulls(n, dtype or _null_dtype(a))
    with np.errstate(all="ignore"):
        values = fn(np.asarray(_full(a, n)))
    return _result(np.asarray(values, dtype=dtype) if dtype else np.asarray(values), valid, n)


def abs(a: Arg) -> Column:
    return _unary(np.abs, a)


def ceil(a: Arg) -> Column:
    """CEIL: integers unchanged; DOUBLE -> DOUBLE."""
    if _is_integer(a):
        return _unary(lambda v: v, a)
    return _unary(np.ceil, a, np.float64)


def floor(a: Arg) -> Column:
    if _is_integer(a):
        return _unary(lambda v: v, a)
    return _unary(np.floor, a, np.float64)


def power(a: Arg, b: Arg) -> Column:
    """POWER(a, b) as DOUBLE."""
    n = _length((a, b))
    valid = _valid((a, b), n)
    if valid is False:
        return _nulls(n, np.float64)
    with np.errstate(all="ignore"):
        values = np.power(
            np.asarray(_values(a, n), dtype=np.float64), np.asarray(_values(b, n), dtype=np.float64)
        )
    return _result(np.asarray(values, dtype=np.float64), valid, n)


def sqrt(a: Arg) -> Column:
    """SQRT as DOUBLE; negative input gives NaN (Java Math.sqrt)."""
    return _unary(lambda v: np.sqrt(v.astype(np.float64)), a, np.float64)


def ln(a: Arg) -> Column:
    """LN as DOUBLE; 0 gives -Infinity, negative NaN (Java Math.log)."""
    return _unary(lambda v: np.log(v.astype(np.float64)), a, np.float64)


def log10(a: Arg) -> Column:
    return _unary(lambda v: np.log10(v.astype(np.float64)), a, np.float64)


def exp(a: Arg) -> Column:
    return _unary(lambda v: np.exp(v.astype(np.float64)), a, np.float64)


def sign(a: Arg) -> Column:
    """SIGN: -1, 0, 1 in the argument's type."""
    return _unary(np.sign, a)


def _round_decimal(value: float, digits: int) -> float:
    quantum = Decimal(1).scaleb(-digits)
    try:
        return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    except InvalidOperation:  # too many digits for the context: already exact
        return value


def _round_float(x: np.ndarray, digits: int) -> np.ndarray:
    """HALF_UP rounding of the shortest decimal form of each double (Flink's
    BigDecimal.valueOf(x).setScale(d, HALF_UP)); exact ties are decided in
    Decimal, everything else vectorized."""
    scale = 10.0**digits
    with np.errstate(all="ignore"):
        scaled = np.abs(x) * scale
        rounded = np.floor(scaled + 0.5)
        out = np.copysign(rounded / scale, x) + 0.0
        frac = scaled - np.floor(scaled)
        big = ~np.isfinite(scaled) | (scaled >= 2.0**52)
        suspicious = (np.abs(frac - 0.5) < 1e-6) & ~big
    out = np.where(big, x, out)
    for i in np.flatnonzero(suspicious).tolist():
        out[i] = _round_decimal(float(x[i]), digits) + 0.0
    return out


def _round_int(x: np.ndarray, digits: int) -> np.ndarray:
    if digits >= 0:
        return x
    if digits < -18:
        return np.zeros_like(x)
    unit = 10 ** (-digits)
    with np.errstate(all="ignore"):
        magnitude = (np.abs(x) + unit // 2) // unit * unit
    return np.where(x < 0, -magnitude, magnitude)


def round(x: Arg, d: int = 0) -> Column:
    """ROUND(x, d): HALF_UP (away from zero on ties) for integers and DOUBLE:
    ROUND(2.5) = 3.0, ROUND(-2.5) = -3.0, ROUND(2.675, 2) = 2.68,
    ROUND(1250, -2) = 1300. ``d`` is a literal."""
    if isinstance(d, Column) or d is None:
        if d is None:
            return _nulls(_length((x,)), _null_dtype(x))
        return _map_valid(
            lambda v, k: _round_decimal(float(v), int(k)) if isinstance(v, float) else
            int(_round_int(np.array([v]), int(k))[0]),
            (x, d),
            np.float64 if _kind_of(x) == "f" else np.int64,
        )
    d = int(d)
    if _is_integer(x):
        return _unary(lambda v: _round_int(v.astype(np.int64), d), x, np.int64)
    return _unary(lambda v: _round_float(v.astype(np.float64), d), x, np.float64)


# ---------------------------------------------------------------------------
# strings


def _str_unary(fn: Callable[[str], Any], a: Arg, dtype: Any = object) -> Column:
    return _map_valid(fn, (a,), dtype)


def upper(s: Arg) -> Column:
    return _str_unary(str.upper, s)


def lower(s: Arg) -> Column:
    return _str_unary(str.lower, s)


def length(s: Arg) -> Column:
    """CHAR_LENGTH: number of code points."""
    return _str_unary(len, s, np.int64)


char_length = length
character_length = length


def trim(s: Arg, chars: str = " ") -> Column:
    """TRIM(BOTH chars FROM s); default removes spaces only (not tabs)."""
    return _map_valid(lambda v: v.strip(chars), (s,))


def ltrim(s: Arg, chars: str = " ") -> Column:
    return _map_valid(lambda v: v.lstrip(chars), (s,))


def rtrim(s: Arg, chars: str = " ") -> Column:
    return _map_valid(lambda v: v.rstrip(chars), (s,))


def _substring(text: str, pos: int, count: int | None) -> str | None:
    # Flink BinaryStringDataUtil.substringSQL
    if count is not None and count < 0:
        return None
    n = len(text)
    if n == 0:
        return ""
    if pos > 0:
        start = pos - 1
        if start >= n:
            return ""
    elif pos < 0:
        start = n + pos
        if start < 0:
            return ""
    else:
        start = 0
    end = n if count is None or n - start < count else start + count
    return text[start:end]


def substring(s: Arg, start: Arg, length: Arg = None) -> Column:
    """SUBSTRING(s FROM start [FOR length]), 1-based (Flink rules): start 0 is
    treated as 1; a negative start counts from the end (-3 = the last three
    characters), and before the beginning gives ''; a negative length is NULL."""
    if length is None:
        return _map_valid(lambda v, p: _substring(v, int(p), None), (s, start))
    return _map_valid(lambda v, p, k: _substring(v, int(p), int(k)), (s, start, length))


def concat(*args: Arg) -> Column:
    """CONCAT(a, b, ...): NULL if any argument is NULL."""
    return _map_valid(lambda *vs: "".join(vs), args)


def concat_ws(sep: Arg, *args: Arg) -> Column:
    """CONCAT_WS(sep, a, b, ...): NULL arguments are skipped; NULL sep -> NULL."""
    n = _length((sep, *args))
    if sep is None:
        return _nulls(n)
    lists = [
        a.to_pylist() if isinstance(a, Column) else [a] * n for a in args
    ]
    seps = sep.to_pylist() if isinstance(sep, Column) else [sep] * n
    out = [
        None if s is None else s.join(v for v in row if v is not None)
        for s, row in zip(seps, zip(*lists) if lists else [()] * n)
    ]
    return _from_list(out, object)


def _from_list(values: list, dtype: Any) -> Column:
    n = len(values)
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    if dtype == object:
        arr = np.empty(n, dtype=object)
        arr[:] = values
    else:
        filler = {np.bool_: False, np.int64: 0, np.float64: 0.0}[dtype]
        arr = np.array([filler if v is None else v for v in values], dtype=dtype)
    return Column(arr, None if valid.all() else valid)


def position(substr: Arg, s: Arg) -> Column:
    """POSITION(substr IN s): 1-based index of the first occurrence, 0 if none
    (POSITION('' IN s) = 1)."""
    return _map_valid(lambda needle, hay: hay.find(needle) + 1, (substr, s), np.int64)


def replace(s: Arg, search: Arg, replacement: Arg) -> Column:
    """REPLACE(s, search, replacement): every occurrence."""
    return _map_valid(lambda v, a, b: v.replace(a, b), (s, search, replacement))


_REGEX_CACHE: dict[str, re.Pattern | None] = {}


def _regex(pattern: str) -> re.Pattern | None:
    if pattern not in _REGEX_CACHE:
        try:
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except re.error:
            _REGEX_CACHE[pattern] = None
    return _REGEX_CACHE[pattern]


def regexp_extract(s: Arg, regex: Arg, group: Arg = 0) -> Column:
    """REGEXP_EXTRACT(s, regex[, group]): the group of the first match (search,
    not full match); NULL when nothing matches, the regex is invalid, or the
    group does not exist. Java regex syntax is read as Python ``re`` (the
    common subset is identical)."""

    def extract(text: str, pattern: str, index: int) -> str | None:
        compiled = _regex(pattern)
        if compiled is None:
            return None
        match = compiled.search(text)
        if match is None:
            return None
        try:
            return match.group(int(index))
        except IndexError:
            return None

    return _map_valid(extract, (s, regex, group))


def regexp_replace(s: Arg, regex: Arg, replacement: Arg) -> Column:
    """REGEXP_REPLACE(s, regex, replacement) of every match ($1 is not
    expanded: the replacement is literal); NULL for an invalid regex."""

    def sub(text: str, pattern: str, repl: str) -> str | None:
        compiled = _regex(pattern)
        return None if compiled is None else compiled.sub(lambda _m: repl, text)

    return _map_valid(sub, (s, regex, replacement))


def split_index(s: Arg, sep: Arg, index: Arg) -> Column:
    """SPLIT_INDEX(s, sep, index): the index-th (0-based) piece of s split at
    the separator string (empty pieces kept); NULL when out of range, for a
    negative index, or for an empty s."""

    def pick(text: str, separator: str, i: int) -> str | None:
        i = int(i)
        if i < 0 or text == "" or separator == "":
            return None
        pieces = text.split(separator)
        return pieces[i] if i < len(pieces) else None

    return _map_valid(pick, (s, sep, index))


# ---------------------------------------------------------------------------
# CAST


def _infer_type(x: Arg) -> str:
    return {"b": "BOOLEAN", "i": "BIGINT", "f": "DOUBLE", "O": "VARCHAR", "N": "NULL"}[
        _kind_of(x)
    ]


def java_double_to_string(x: float) -> str:
    """Java Double.toString: '1.5', '100.0', '1.0E7', '1.0E-4', 'NaN', 'Infinity'."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    magnitude = builtins.abs(x)
    if 1e-3 <= magnitude < 1e7:
        text = repr(x)
        return text if "e" not in text else format(Decimal(text), "f")
    sign_, digits, exponent = Decimal(repr(x)).as_tuple()
    digits_text = "".join(map(str, digits)).rstrip("0") or "0"
    sci_exponent = exponent + len(digits) - 1
    mantissa = digits_text[0] + "." + (digits_text[1:] or "0")
    return f"{'-' if sign_ else ''}{mantissa}E{sci_exponent}"


_BOOL_TEXT = {
    "t": True, "true": True, "y": True, "yes": True, "1": True,
    "f": False, "false": False, "n": False, "no": False, "0": False,
}  # fmt: skip
_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_FLOAT_TEXT = re.compile(
    r"\s*[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|NaN|Infinity)\s*"
)


def _cast_values(x: Arg, target: str, source: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, ok) for the non-NULL rows of x cast from ``source`` to ``target``."""
    tbase, sbase = base_type(target), base_type(source)
    values = _full(x, n)
    ok = np.ones(n, dtype=bool)
    valid = x.is_valid() if isinstance(x, Column) else np.ones(n, dtype=bool)

    if tbase in INTEGER_TYPES:
        low, high = INT_RANGES[tbase]
        if sbase in FLOAT_TYPES:
            v = values.astype(np.float64)
            with np.errstate(all="ignore"):
                truncated = np.trunc(v)
                ok = np.isfinite(v) & (truncated >= low) & (truncated <= high)
                out = np.where(ok, truncated, 0).astype(np.int64)
            return out, ok
        if sbase in TIMESTAMP_TYPES:
            return np.floor_divide(values.astype(np.int64), MS_PER_SECOND), ok
        if sbase in INTEGER_TYPES or sbase == "BOOLEAN":
            out = values.astype(np.int64)
            if tbase != "BIGINT":  # Java narrowing: keep the low bits, wrap
                bits = {"TINYINT": np.int8, "SMALLINT": np.int16, "INT": np.int32}[tbase]
                out = out.astype(bits).astype(np.int64)
            return out, ok
        if sbase in STRING_TYPES:
            out = np.zeros(n, dtype=np.int64)
            for i in np.flatnonzero(valid).tolist():
                text = values[i]
                if _INT_TEXT.fullmatch(text) and low <= int(text) <= high:
                    out[i] = int(text)
                else:
                    ok[i] = False
            return out, ok
    if tbase in FLOAT_TYPES:
        if sbase in STRING_TYPES:
            out = np.zeros(n, dtype=np.float64)
            for i in np.flatnonzero(valid).tolist():
                text = values[i]
                if _FLOAT_TEXT.fullmatch(text):
                    out[i] = float(text)
                else:
                    ok[i] = False
        elif sbase in TIMESTAMP_TYPES:
            out = values.astype(np.float64) / MS_PER_SECOND
        else:
            out = values.astype(np.float64)
        if tbase == "DECIMAL":
            args = type_args(target)
            scale = int(args[1]) if len(args) > 1 else 0
            out = _round_float(out, scale)
        return out, ok
    if tbase == "BOOLEAN":
        if sbase in STRING_TYPES:
            out = np.zeros(n, dtype=bool)
            for i in np.flatnonzero(valid).tolist():
                parsed = _BOOL_TEXT.get(values[i].strip().lower())
                if parsed is None:
                    ok[i] = False
                else:
                    out[i] = parsed
            return out, ok
        return values.astype(bool), ok
    if tbase in STRING_TYPES:
        out = np.empty(n, dtype=object)
        rows = np.flatnonzero(valid)
        if sbase in STRING_TYPES:
            out[:] = values
        elif sbase == "BOOLEAN":
            out[rows] = np.where(values[rows], "TRUE", "FALSE").astype(object)
        elif sbase in INTEGER_TYPES:
            out[rows] = values[rows].astype(np.int64).astype(str).astype(object)
        elif sbase in FLOAT_TYPES:
            out[rows] = [java_double_to_string(v) for v in values[rows].tolist()]
        elif sbase in TIMESTAMP_TYPES:
            texts = format_timestamps(values[rows])
            digits = builtins.min(timestamp_precision(source), 3)
            cut = 19 + (digits + 1 if digits else 0)
            out[rows] = [t[:cut] for t in texts]
        elif sbase == "DATE":
            out[rows] = format_dates(values[rows])
        elif sbase == "TIME":
            out[rows] = format_times(values[rows])
        else:
            out[rows] = [str(v) for v in values[rows].tolist()]
        return out, ok
    if tbase in TIMESTAMP_TYPES:
        if sbase in STRING_TYPES:
            rows = np.flatnonzero(valid)
            out = np.zeros(n, dtype=np.int64)
            parsed, good = parse_timestamps([values[i].strip() for i in rows.tolist()])
            out[rows] = parsed
            ok[rows] = good
            return out, ok
        if sbase in TIMESTAMP_TYPES:
            return values.astype(np.int64), ok
        if sbase == "DATE":
            return values.astype(np.int64) * MS_PER_DAY, ok
        if sbase in INTEGER_TYPES:
            return values.astype(np.int64) * MS_PER_SECOND, ok
        if sbase in FLOAT_TYPES:
            v = values.astype(np.float64) * MS_PER_SECOND
            ok = np.isfinite(v)
            return np.where(ok, np.trunc(v), 0).astype(np.int64), ok
    if tbase == "DATE":
        if sbase in STRING_TYPES:
            rows = np.flatnonzero(valid)
            out = np.zeros(n, dtype=np.int64)
            parsed, good = parse_dates([values[i].strip() for i in rows.tolist()])
            out[rows] = parsed
            ok[rows] = good
            return out, ok
        if sbase in TIMESTAMP_TYPES:
            return np.floor_divide(values.astype(np.int64), MS_PER_DAY), ok
        if sbase == "DATE":
            return values.astype(np.int64), ok
    if tbase == "TIME":
        if sbase in STRING_TYPES:
            rows = np.flatnonzero(valid)
            out = np.zeros(n, dtype=np.int64)
            parsed, good = parse_times([values[i].strip() for i in rows.tolist()])
            out[rows] = parsed
            ok[rows] = good
            return out, ok
        if sbase in TIMESTAMP_TYPES:
            return np.mod(values.astype(np.int64), MS_PER_DAY), ok
        if sbase == "TIME":
            return values.astype(np.int64), ok
    raise TypeError(f"CAST from {source} to {target} is not supported")


def try_cast(x: Arg, type_name: str, from_type: str | None = None) -> Column:
    """TRY_CAST(x AS type): NULL where the value cannot be converted.
    ``from_type`` is the SQL type of x (needed to tell BIGINT from TIMESTAMP,
    both int64); inferred from the storage when omitted."""
    return _cast(x, type_name, from_type, count=False)


def cast(x: Arg, type_name: str, from_type: str | None = None) -> Column:
    """CAST(x AS type): as try_cast (NULL where Flink would raise), and each
    non-NULL value that became NULL is counted in CAST_FAILURES."""
    return _cast(x, type_name, from_type, count=True)


def _cast(x: Arg, type_name: str, from_type: str | None, count: bool) -> Column:
    target = normalize_type_name(type_name)
    source = normalize_type_name(from_type) if from_type else _infer_type(x)
    n = _length((x,))
    from .schema import numpy_kind

    kind = numpy_kind(target)
    dtype = DTYPES[kind]
    if x is None or source == "NULL":
        return _nulls(n, dtype)
    valid = x.is_valid() if isinstance(x, Column) else np.ones(n, dtype=bool)
    values, ok = _cast_values(x, target, source, n)
    failed = valid & ~ok
    if count and failed.any():
        CAST_FAILURES[f"{source}->{target}"] += int(failed.sum())
    return _result(np.asarray(values, dtype=dtype), valid & ok, n)


# ---------------------------------------------------------------------------
# time

_UNIT_MS = {
    "MILLISECOND": 1,
    "SECOND": MS_PER_SECOND,
    "MINUTE": MS_PER_MINUTE,
    "HOUR": MS_PER_HOUR,
    "DAY": MS_PER_DAY,
    "WEEK": 7 * MS_PER_DAY,
}


def _unit(unit: str) -> str:
    u = unit.upper().rstrip("S") if unit.upper() not in ("DOW", "DOY") else unit.upper()
    return {"DOW": "DAYOFWEEK", "DOY": "DAYOFYEAR", "DAYOFMONTH": "DAY", "MILLISECOND": "MILLISECOND",
            "MICROSECOND": "MICROSECOND", "YEAR": "YEAR", "SQL_TSI_DAY": "DAY"}.get(u, u)  # fmt: skip


def _ms(ts: Arg, n: int, from_type: str | None) -> np.ndarray:
    values = np.asarray(_full(ts, n), dtype=np.int64)
    if from_type is not None and base_type(from_type) == "DATE":
        return values * MS_PER_DAY
    return values


def _civil(ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(days since epoch, year, month 1-12, day of month 1-31)."""
    days = np.floor_divide(ms, MS_PER_DAY)
    d = days.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (d - month_start).astype(np.int64) + 1
    return days, year, month, day


def _iso_week(days: np.ndarray) -> np.ndarray:
    weekday = (days + 3) % 7  # Monday = 0 (1970-01-01 was a Thursday)
    thursday = days - weekday + 3
    year_start = thursday.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]")
    return (thursday - year_start.astype(np.int64)) // 7 + 1


def extract(unit: str, ts: Arg, from_type: str | None = None) -> Column:
    """EXTRACT(unit FROM ts) as BIGINT. Units: YEAR, QUARTER, MONTH, WEEK (ISO),
    DAY, DAYOFWEEK (Sunday=1), DAYOFYEAR, HOUR, MINUTE, SECOND, MILLISECOND
    (seconds*1000 + ms), MICROSECOND, EPOCH (seconds). ``from_type='DATE'`` for
    a DATE argument (days)."""
    n = _length((ts,))
    valid = _valid((ts,), n)
    if valid is False:
        return _nulls(n, np.int64)
    ms = _ms(ts, n, from_type)
    u = _unit(unit)
    in_day = np.mod(ms, MS_PER_DAY)
    if u in ("YEAR", "QUARTER", "MONTH", "DAY", "WEEK", "DAYOFWEEK", "DAYOFYEAR"):
        days, year, month, day = _civil(ms)
        if u == "YEAR":
            out = year
        elif u == "QUARTER":
            out = (month - 1) // 3 + 1
        elif u == "MONTH":
            out = month
        elif u == "DAY":
            out = day
        elif u == "WEEK":
            out = _iso_week(days)
        elif u == "DAYOFWEEK":
            out = (days + 4) % 7 + 1
        else:
            year_start = days.astype("datetime64[D]").astype("datetime64[Y]")
            out = days - year_start.astype("datetime64[D]").astype(np.int64) + 1
    elif u == "HOUR":
        out = in_day // MS_PER_HOUR
    elif u == "MINUTE":
        out = in_day // MS_PER_MINUTE % 60
    elif u == "SECOND":
        out = in_day // MS_PER_SECOND % 60
    elif u == "MILLISECOND":
        out = in_day % MS_PER_MINUTE
    elif u == "MICROSECOND":
        out = in_day % MS_PER_MINUTE * 1000
    elif u == "EPOCH":
        out = np.floor_divide(ms, MS_PER_SECOND)
    else:
        raise ValueError(f"EXTRACT unit {unit!r} is not supported")
    return _result(np.asarray(out, dtype=np.int64), valid, n)


def date_trunc(unit: str, ts: Arg) -> Column:
    """Truncate a TIMESTAMP (ms) to the start of its YEAR, QUARTER, MONTH,
    WEEK (Monday), DAY, HOUR, MINUTE, SECOND or MILLISECOND."""
    n = _length((ts,))
    valid = _valid((ts,), n)
    if valid is False:
        return _nulls(n, np.int64)
    ms = _ms(ts, n, None)
    u = _unit(unit)
    if u in _UNIT_MS and u != "WEEK":
        step = _UNIT_MS[u]
        out = np.floor_divide(ms, step) * step
    elif u == "WEEK":
        days = np.floor_divide(ms, MS_PER_DAY)
        out = (days - (days + 3) % 7) * MS_PER_DAY
    elif u in ("YEAR", "QUARTER", "MONTH"):
        months = np.floor_divide(ms, MS_PER_DAY).astype("datetime64[D]").astype("datetime64[M]")
        m = months.astype(np.int64)
        if u == "YEAR":
            m = m - m % 12
        elif u == "QUARTER":
            m = m - m % 3
        out = m.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) * MS_PER_DAY
    else:
        raise ValueError(f"date_trunc unit {unit!r} is not supported")
    return _result(np.asarray(out, dtype=np.int64), valid, n)


_JAVA_TOKEN = re.compile(r"'([^']*)'|(y+|M+|d+|H+|h+|m+|s+|S+|a|E+|D+)|([A-Za-z])|([^A-Za-z']+)")


def _java_format_fields(pattern: str) -> tuple[str, list[str]]:
    """Translate a Java date pattern to a str.format template over named fields."""
    template, fields = [], []
    for quoted, token, unknown, literal in _JAVA_TOKEN.findall(pattern):
        if unknown:
            raise ValueError(f"date pattern letter {unknown!r} is not supported in {pattern!r}")
        if not token:  # literal text, 'quoted text', or '' (a quote)
            text = literal or quoted or "'"
            template.append(text.replace("{", "{{").replace("}", "}}"))
            continue
        letter, width = token[0], len(token)
        name = {"y": "year", "M": "month", "d": "day", "H": "hour", "m": "minute",
                "s": "second", "S": "milli", "h": "hour12", "a": "ampm", "E": "dayname",
                "D": "dayofyear"}[letter]  # fmt: skip
        fields.append(name)
        if letter == "y" and width == 2:
            template.append("{year2:02d}")
            fields[-1] = "year2"
        elif letter == "S":
            template.append("{milli:03d}")
        elif letter in "aE":
            template.append("{" + name + "}")
        elif letter == "M" and width >= 3:
            template.append("{monthname}" if width == 3 else "{monthfull}")
            fields[-1] = "monthname" if width == 3 else "monthfull"
        else:
            template.append("{" + name + ":0" + str(width) + "d}")
    return "".join(template), fields


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTHS_FULL = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]  # fmt: skip
_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


def date_format(ts: Arg, pattern: str, from_type: str | None = None) -> Column:
    """DATE_FORMAT(ts, pattern) with a Java SimpleDateFormat pattern: yyyy yy
    MM MMM dd HH hh mm ss SSS a E D and 'quoted literal' text; other
    characters are literal. A VARCHAR argument is parsed as a timestamp first."""
    n = _length((ts,))
    if ts is None or pattern is None:
        return _nulls(n)
    if _kind_of(ts) == "O" and (from_type is None or base_type(from_type) in STRING_TYPES):
        ts = try_cast(ts, "TIMESTAMP(3)", "VARCHAR")
    valid = _valid((ts,), n)
    if valid is False:
        return _nulls(n)
    template, fields = _java_format_fields(pattern)
    ms = _ms(ts, n, from_type)
    days, year, month, day = _civil(ms)
    in_day = np.mod(ms, MS_PER_DAY)
    hour = in_day // MS_PER_HOUR
    parts: dict[str, list] = {}
    for name in set(fields):
        if name == "year":
            parts[name] = year.tolist()
        elif name == "year2":
            parts[name] = (year % 100).tolist()
        elif name == "month":
            parts[name] = month.tolist()
        elif name == "monthname":
            parts[name] = [_MONTHS[m - 1] for m in month.tolist()]
        elif name == "monthfull":
            parts[name] = [_MONTHS_FULL[m - 1] for m in month.tolist()]
        elif name == "day":
            parts[name] = day.tolist()
        elif name == "hour":
            parts[name] = hour.tolist()
        elif name == "hour12":
            parts[name] = ((hour + 11) % 12 + 1).tolist()
        elif name == "ampm":
            parts[name] = ["AM" if h < 12 else "PM" for h in hour.tolist()]
        elif name == "minute":
            parts[name] = (in_day // MS_PER_MINUTE % 60).tolist()
        elif name == "second":
            parts[name] = (in_day // MS_PER_SECOND % 60).tolist()
        elif name == "milli":
            parts[name] = (in_day % MS_PER_SECOND).tolist()
        elif name == "dayname":
            parts[name] = [_DAYS[d] for d in ((days + 4) % 7).tolist()]
        elif name == "dayofyear":
            parts[name] = extract("DAYOFYEAR", Column(ms)).values.tolist()
    names = sorted(parts)
    fmt = template.format_map
    out = [fmt(dict(zip(names, row))) for row in zip(*(parts[k] for k in names))] if names else [
        template.replace("{{", "{").replace("}}", "}")
    ] * n
    values = np.empty(n, dtype=object)
    values[:] = out
    return _result(values, valid, n)


def _months_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Calcite DateTimeUtils.subtractMonths(t0, t1) on ms timestamps: whole
    months from t1 to t0 (day-of-month clamped), minus one when the day
    matches but t0's time of day is earlier."""

    def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
        d = days.astype("datetime64[D]")
        start = d.astype("datetime64[M]")
        dom = (d - start).astype(np.int64)
        target = (start.astype(np.int64) + months).astype("datetime64[M]")
        next_start = (target.astype(np.int64) + 1).astype("datetime64[M]")
        length_ = (next_start.astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
            np.int64
        )
        return target.astype("datetime64[D]").astype(np.int64) + np.minimum(dom, length_ - 1)

    millis0, millis1 = np.mod(later, MS_PER_DAY), np.mod(earlier, MS_PER_DAY)
    d0, d1 = np.floor_divide(later, MS_PER_DAY), np.floor_divide(earlier, MS_PER_DAY)
    forward = d0 >= d1
    hi, lo = np.where(forward, d0, d1), np.where(forward, d1, d0)
    months_of = lambda d: d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    m = months_of(hi) - months_of(lo)
    m = np.where(add_months(lo, m) > hi, m - 1, m)
    x = np.where(forward, m, -m)
    tie = (add_months(d1, x) == d0) & (millis0 < millis1)
    return x - tie


def timestampdiff(unit: str, a: Arg, b: Arg) -> Column:
    """TIMESTAMPDIFF(unit, a, b) = b - a in whole units, truncated toward zero;
    MONTH/QUARTER/YEAR count whole calendar months (Flink/Calcite rules)."""
    n = _length((a, b))
    valid = _valid((a, b), n)
    if valid is False:
        return _nulls(n, np.int64)
    x, y = _ms(a, n, None), _ms(b, n, None)
    u = _unit(unit)
    if u in _UNIT_MS:
        step = _UNIT_MS[u]
        diff = y - x
        out = np.sign(diff) * (np.abs(diff) // step)
    elif u in ("MONTH", "QUARTER", "YEAR"):
        months = _months_between(y, x)
        per = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[u]
        out = np.sign(months) * (np.abs(months) // per)
    else:
        raise ValueError(f"TIMESTAMPDIFF unit {unit!r} is not supported")
    return _result(np.asarray(out, dtype=np.int64), valid, n)


def timestampadd(unit: str, amount: Arg, ts: Arg) -> Column:
    """TIMESTAMPADD(unit, amount, ts); MONTH/QUARTER/YEAR clamp the day of
    month (Jan 31 + 1 month = Feb 28/29)."""
    n = _length((amount, ts))
    valid = _valid((amount, ts), n)
    if valid is False:
        return _nulls(n, np.int64)
    k = np.asarray(_full(amount, n), dtype=np.int64)
    ms = _ms(ts, n, None)
    u = _unit(unit)
    if u in _UNIT_MS:
        out = ms + k * _UNIT_MS[u]
    elif u in ("MONTH", "QUARTER", "YEAR"):
        months = k * {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[u]
        days = np.floor_divide(ms, MS_PER_DAY)
        in_day = ms - days * MS_PER_DAY
        d = days.astype("datetime64[D]")
        start = d.astype("datetime64[M]")
        dom = (d - start).astype(np.int64)
        target = (start.astype(np.int64) + months).astype("datetime64[M]")
        next_start = (target.astype(np.int64) + 1).astype("datetime64[M]")
        month_len = (next_start.astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
            np.int64
        )
        new_days = target.astype("datetime64[D]").astype(np.int64) + np.minimum(dom, month_len - 1)
        out = new_days * MS_PER_DAY + in_day
    else:
        raise ValueError(f"TIMESTAMPADD unit {unit!r} is not supported")
    return _result(np.asarray(out, dtype=np.int64), valid, n)


def to_timestamp(x: Arg, pattern: str | None = None) -> Column:
    """TO_TIMESTAMP: a BIGINT is epoch milliseconds (sqlc, as the spec's
    examples assume); a VARCHAR is parsed as 'YYYY-MM-DD HH:MM:SS[.fff]'
    (or with the given Java pattern of yyyy MM dd HH mm ss SSS); unparsable
    text is NULL."""
    n = _length((x,))
    if x is None:
        return _nulls(n, np.int64)
    if _kind_of(x) in "ib":
        return _result(np.asarray(_full(x, n), dtype=np.int64), _valid((x,), n), n)
    if _kind_of(x) == "f":
        return try_cast(mul(x, 1), "TIMESTAMP(3)", "DOUBLE")  # seconds, as CAST
    if pattern is None:
        return try_cast(x, "TIMESTAMP(3)", "VARCHAR")
    regex, order = _java_parse_regex(pattern)

    def parse(text: str) -> int | None:
        match = regex.fullmatch(text)
        if match is None:
            return None
        fields = dict(zip(order, map(int, match.groups())))
        iso = (
            f"{fields.get('y', 1970):04d}-{fields.get('M', 1):02d}-{fields.get('d', 1):02d}"
            f"T{fields.get('H', 0):02d}:{fields.get('m', 0):02d}:{fields.get('s', 0):02d}"
            f".{fields.get('S', 0):03d}"
        )
        try:
            return int(np.datetime64(iso, "ms").astype(np.int64))
        except ValueError:
            return None

    return _map_valid(parse, (x,), np.int64)


def _java_parse_regex(pattern: str) -> tuple[re.Pattern, list[str]]:
    parts, order = [], []
    for quoted, token, unknown, literal in _JAVA_TOKEN.findall(pattern):
        if unknown:
            raise ValueError(f"date pattern letter {unknown!r} is not supported in {pattern!r}")
        if token:
            letter = token[0]
            if letter not in "yMdHmsS":
                raise ValueError(f"date pattern {token!r} cannot be parsed")
            order.append(letter)
            parts.append(f"(\\d{{{len(token)}}})" if letter in "yS" else "(\\d{1,2})")
        else:
            parts.append(re.escape(literal or quoted or "'"))
    return re.compile("".join(parts)), order


def to_timestamp_ltz(x: Arg, precision: int = 3) -> Column:
    """TO_TIMESTAMP_LTZ(n, precision): precision 3 reads epoch milliseconds,
    0 epoch seconds. Event time in UTC."""
    n = _length((x,))
    if x is None:
        return _nulls(n, np.int64)
    if precision not in (0, 3):
        raise ValueError("TO_TIMESTAMP_LTZ precision must be 0 or 3")
    valid = _valid((x,), n)
    values = np.asarray(_full(x, n))
    if precision == 0:
        with np.errstate(all="ignore"):
            values = values * MS_PER_SECOND
    if values.dtype.kind == "f":
        good = np.isfinite(values)
        values = np.where(good, np.trunc(values), 0).astype(np.int64)
        valid = good if valid is None else valid & good
    return _result(values.astype(np.int64), valid, n)


#: The instant SQL's clock functions read (epoch ms UTC), None for the wall
#: clock; set by the driver's --now / SQLC_NOW through ``pin_now``.
_pinned_now_ms: int | None = None


def pin_now(ms: int | None) -> int | None:
    """Make CURRENT_TIMESTAMP, NOW(), LOCALTIMESTAMP, CURRENT_DATE and
    PROCTIME() read the instant ``ms`` (epoch milliseconds UTC) instead of the
    wall clock, for replays of history and tests; None returns to the wall
    clock. Returns the previous setting, for the caller to restore. Only these
    SQL functions are pinned: cache and state TTLs and idle timeouts run on
    the real clock."""
    global _pinned_now_ms
    previous, _pinned_now_ms = _pinned_now_ms, ms
    return previous


def _now_ms() -> int:
    if _pinned_now_ms is not None:
        return _pinned_now_ms
    return time.time_ns() // 1_000_000


def current_timestamp(n: int) -> Column:
    """CURRENT_TIMESTAMP for a batch of n rows: one value (now, ms UTC; the
    pinned instant when ``pin_now`` set one)."""
    return Column(np.full(n, _now_ms(), dtype=np.int64))


now = current_timestamp
localtimestamp = current_timestamp


def current_date(n: int) -> Column:
    """CURRENT_DATE (UTC) for a batch of n rows, as days since epoch."""
    return Column(np.full(n, _now_ms() // MS_PER_DAY, dtype=np.int64))


def literal(value: Any, n: int, type_name: str | None = None) -> Column:
    """A constant column (a SELECT of a literal); None gives a NULL column."""
    if value is None:
        from .schema import numpy_kind

        kind = numpy_kind(type_name) if type_name else "O"
        return _nulls(n, DTYPES[kind])
    return Column(_full(value, n))

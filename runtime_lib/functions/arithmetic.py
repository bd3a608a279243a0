"""Arithmetic operators (+ - * / %, unary minus) and math functions (ABS,
CEIL, FLOOR, POWER, SQRT, LN, LOG10, EXP, SIGN, ROUND)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

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


def _truncate_decimal(v: float, d: int) -> float:
    if v != v or v in (float("inf"), float("-inf")):
        return v
    # Flink: BigDecimal.valueOf(v) (the shortest decimal form) cut toward zero
    return float(Decimal(repr(v)).quantize(Decimal(1).scaleb(-d), rounding=ROUND_DOWN))


def truncate(x: Arg, d: Arg = 0) -> Column:
    """TRUNCATE(x[, d]): x cut toward zero to d decimal places (d < 0 zeroes
    digits left of the point): TRUNCATE(42.324, 2) = 42.32,
    TRUNCATE(-42.9) = -42.0, TRUNCATE(1255, -1) = 1250. Integers are computed
    on int64 arrays; a DOUBLE is cut on its shortest decimal form, as Flink's
    BigDecimal, one row at a time (numpy's binary x * 10**d would give
    TRUNCATE(0.29, 2) = 0.28)."""
    n = _length((x, d))
    if isinstance(d, Column) or d is None or not _is_integer(x):
        if d is None:
            return _nulls(n, _null_dtype(x))
        if _is_integer(x):
            return _map_valid(lambda v, k: int(_truncate_int(np.array([v]), int(k))[0]),
                              (x, d), np.int64)
        return _map_valid(lambda v, k: _truncate_decimal(float(v), int(k)), (x, d), np.float64)
    return _unary(lambda v: _truncate_int(v.astype(np.int64), int(d)), x, np.int64)


def _truncate_int(v: np.ndarray, d: int) -> np.ndarray:
    if d >= 0:
        return v
    step = 10 ** min(-d, 18)
    return np.sign(v) * (np.abs(v) // step * step)

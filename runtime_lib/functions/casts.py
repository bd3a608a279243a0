"""CAST and TRY_CAST between SQL types (NULL where Flink raises; ``cast``
counts those in ``CAST_FAILURES``)."""

from __future__ import annotations

import builtins
import math
import re
from collections import Counter
from decimal import Decimal

import numpy as np

from runtime_lib.columns import DTYPES, Column
from runtime_lib.functions.arithmetic import _round_float
from runtime_lib.functions.base import Arg, _full, _kind_of, _length, _nulls, _result
from runtime_lib.schema import (
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
from runtime_lib.temporal import (
    MS_PER_DAY,
    MS_PER_SECOND,
    format_dates,
    format_times,
    format_timestamps,
    parse_dates,
    parse_times,
    parse_timestamps,
)

#: cast() failures by "FROM->TO": non-NULL inputs that became NULL.
CAST_FAILURES: Counter[str] = Counter()

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
    from runtime_lib.schema import numpy_kind

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

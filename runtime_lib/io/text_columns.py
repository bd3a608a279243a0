"""CSV text to typed values: one value at a time (``convert_text``, the
reference) and a whole column of a micro-batch at a time (``text_column``).

The bulk step of ``CsvDecoder``: each field's texts are checked with one regex
over the column joined by newlines and converted with ``map(int|float, ...)``
into numpy, so no Python code runs per record. It either converts the whole
column exactly as ``convert_text`` converts each value, or answers
``None`` ("some value here needs the per-record path"); it never guesses. The
per-record path then finds which records are bad and why.

>>> column = text_column(Field("n", "BIGINT"), ["1", "", "-3"])
>>> column.to_pylist()
[1, None, -3]
>>> text_column(Field("n", "BIGINT"), ["1", "2.5"]) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import compress
from typing import Any

import numpy as np

from runtime_lib.columns import Column
from runtime_lib.schema import (
    FLOAT_TYPES,
    INT_RANGES,
    INTEGER_TYPES,
    STRING_TYPES,
    TIMESTAMP_TYPES,
    Field,
)
from runtime_lib.temporal import parse_dates, parse_times, parse_timestamps

__all__ = ["FLOAT_TEXT", "INT_TEXT", "TIMESTAMP_HINT", "BadValue", "convert_text", "text_column"]

_INT = r"[+-]?\d+"
_FLOAT = r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|NaN|Infinity)"
INT_TEXT = re.compile(_INT)
FLOAT_TEXT = re.compile(_FLOAT)
# the same patterns for a column of values joined by "\n" (a value holding a
# "\n" itself can pass these, but then int()/float() refuse it)
_INT_LINES = re.compile(f"{_INT}(?:\n{_INT})*")
_FLOAT_LINES = re.compile(f"(?:{_FLOAT})(?:\n(?:{_FLOAT}))*")

TIMESTAMP_HINT = "(epoch millis or 'YYYY-MM-DD HH:MM:SS[.fff]')"


class BadValue(Exception):
    """A value that does not fit its column; the message is the reason's tail."""


def convert_text(field: Field, text: str) -> Any:
    """Column value for one non-empty CSV field (the per-record path, and the
    specification of ``text_column``); raises BadValue."""
    base = field.base
    if base in STRING_TYPES or base == "BYTES":
        return text
    if base in INTEGER_TYPES:
        if not INT_TEXT.fullmatch(text):
            raise BadValue(f"expected {field.type_name}, got {text[:40]!r}")
        value = int(text)
        low, high = INT_RANGES[base]
        if not low <= value <= high:
            raise BadValue(f"expected {field.type_name}, got out-of-range integer {value}")
        return value
    if base in FLOAT_TYPES:
        if not FLOAT_TEXT.fullmatch(text):
            raise BadValue(f"expected {field.type_name}, got {text[:40]!r}")
        return float(text)
    if base == "BOOLEAN":
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise BadValue(f"expected BOOLEAN, got {text[:40]!r}")
    if base in TIMESTAMP_TYPES:
        if INT_TEXT.fullmatch(text):
            value = int(text)
            if -(2**63) <= value < 2**63:
                return value
        else:
            millis, ok = parse_timestamps([text])
            if ok[0]:
                return int(millis[0])
        raise BadValue(f"expected {field.type_name} {TIMESTAMP_HINT}, got {text[:40]!r}")
    if base in ("DATE", "TIME"):
        parsed, ok = (parse_dates if base == "DATE" else parse_times)([text])
        if ok[0]:
            return int(parsed[0])
        raise BadValue(f"expected {field.type_name}, got {text[:40]!r}")
    raise BadValue(f"{field.type_name} columns cannot be read from CSV")


_FILLERS = {"i": (np.int64, 0), "f": (np.float64, 0.0), "b": (np.bool_, False)}


def text_column(field: Field, texts: list[str]) -> Column | None:
    """The column of ``texts`` (an empty text is NULL), or None when some text
    does not convert (or is empty in a NOT NULL column)."""
    has_empty = "" in texts
    if has_empty and not field.nullable:
        return None
    present = list(filter(None, texts)) if has_empty else texts
    convert = _converter(field)
    if convert is None:
        return None
    values = convert(present) if present else np.zeros(0, dtype=_FILLERS.get(field.kind, (object,))[0])
    if values is None:
        return None
    if not has_empty:
        return Column(values)
    return _with_nulls(field, texts, values)


def _with_nulls(field: Field, texts: list[str], present: np.ndarray) -> Column:
    """Spread the converted non-empty values over the rows; NULL rows hold
    the same filler as the per-record path's (None for objects, else 0)."""
    valid = np.fromiter(map(bool, texts), dtype=bool, count=len(texts))
    if field.kind == "O":
        out = np.full(len(texts), None, dtype=object)
    else:
        dtype, filler = _FILLERS[field.kind]
        out = np.full(len(texts), filler, dtype=dtype)
    out[valid] = present
    return Column(out, valid)


def _converter(field: Field) -> Callable[[list[str]], np.ndarray | None] | None:
    base = field.base
    if base in STRING_TYPES or base == "BYTES":
        return lambda texts: np.fromiter(texts, dtype=object, count=len(texts))
    if base in INTEGER_TYPES:
        return lambda texts: _integers(texts, *INT_RANGES[base])
    if base in FLOAT_TYPES:
        return _floats
    if base == "BOOLEAN":
        return _booleans
    if base in TIMESTAMP_TYPES:
        return _timestamps
    if base == "DATE":
        return lambda texts: _parsed(parse_dates, texts)
    if base == "TIME":
        return lambda texts: _parsed(parse_times, texts)
    return None  # not readable from CSV: the per-record path says so


# Texts of only these characters are numbers exactly when int()/float() take
# them (those accept whitespace, '_' and other digits too, the patterns not):
# one character-class search instead of the slower full pattern.
_NOT_INT_CHAR = re.compile(r"[^0-9+\-\n]")
_NOT_FLOAT_CHAR = re.compile(r"[^0-9eE.+\-\n]")


def _integers(texts: list[str], low: int, high: int) -> np.ndarray | None:
    joined = "\n".join(texts)
    if _NOT_INT_CHAR.search(joined) and not _INT_LINES.fullmatch(joined):
        return None
    try:
        values = np.fromiter(map(int, texts), dtype=np.int64, count=len(texts))
    except (ValueError, OverflowError):
        return None
    if values.min() < low or values.max() > high:
        return None
    return values


def _floats(texts: list[str]) -> np.ndarray | None:
    joined = "\n".join(texts)
    if _NOT_FLOAT_CHAR.search(joined) and not _FLOAT_LINES.fullmatch(joined):
        return None
    try:
        return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:
        return None


def _booleans(texts: list[str]) -> np.ndarray | None:
    lowered = list(map(str.lower, texts))
    if not set(lowered) <= {"true", "false"}:
        return None
    return np.fromiter(map("true".__eq__, lowered), dtype=bool, count=len(texts))


def _timestamps(texts: list[str]) -> np.ndarray | None:
    """Integer texts are epoch millis, the others timestamp strings."""
    if _INT_LINES.fullmatch("\n".join(texts)):
        return _integers(texts, -(2**63), 2**63 - 1)
    is_int = np.fromiter(map(bool, map(INT_TEXT.fullmatch, texts)), dtype=bool, count=len(texts))
    strings = _parsed(parse_timestamps, list(compress(texts, ~is_int)))
    if strings is None:
        return None
    values = np.zeros(len(texts), dtype=np.int64)
    values[~is_int] = strings
    if is_int.any():
        millis = _integers(list(compress(texts, is_int)), -(2**63), 2**63 - 1)
        if millis is None:
            return None
        values[is_int] = millis
    return values


def _parsed(parse: Callable, texts: list[str]) -> np.ndarray | None:
    values, ok = parse(texts)
    return values.astype(np.int64, copy=False) if ok.all() else None

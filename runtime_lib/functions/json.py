"""JSON functions: JSON_VALUE, JSON_QUERY, JSON_EXISTS and IS JSON over
VARCHAR columns of JSON text, with Flink's path subset (Jayway JsonPath
under Calcite's modes, as Flink's ``SqlJsonUtils``): ``$``, ``.key``,
``['key']`` / ``["key"]``, ``[n]`` (``[-1]`` the last), the wildcards
``.*`` and ``[*]``, and a ``lax`` or ``strict`` mode; a path without one is
strict, as in Flink. Parsing JSON text has no vectorized form: each distinct
document of a batch is parsed once with orjson, and the path is walked in
Python, row by row (no columnar JSON path library exists for this)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from runtime_lib.columns import Column, column_from_pylist
from runtime_lib.functions.base import Arg, _full, _length, _map_valid, _nulls, _valid

_STEP = re.compile(r"""\.([A-Za-z_$][\w$]*)|\[\s*(-?\d+)\s*\]|\[\s*'((?:[^']|'')*)'\s*\]"""
                   r"""|\[\s*"([^"]*)"\s*\]|(\.\*|\[\s*\*\s*\])|\.(?=\[)""")
_WILDCARD = "*"  # a step that takes every member of an object or element of an array


@dataclass(frozen=True)
class JsonPath:
    """A parsed path: its mode, its steps (str key, int index or the
    wildcard), and whether it is definite (no wildcard: one value or none)."""

    strict: bool
    steps: tuple[str | int, ...]
    wild: frozenset[int] = frozenset()  # positions of the wildcard steps

    @property
    def definite(self) -> bool:
        return not self.wild


def json_path(path: str) -> JsonPath:
    """The path parsed; raises ValueError for what the subset does not have
    (filters, deep scan, slices, unions)."""
    text = path.strip()
    strict = True  # Flink: a path without a mode is strict
    mode = re.match(r"(lax|strict)\s+", text, re.IGNORECASE)
    if mode:
        strict = mode.group(1).lower() == "strict"
        text = text[mode.end():].strip()
    if not text.startswith("$"):
        raise ValueError(f"a JSON path starts with '$': {path!r}")
    steps: list[str | int] = []
    wild: set[int] = set()
    i = 1
    while i < len(text):
        match = _STEP.match(text, i)
        if match is None:
            raise ValueError(f"JSON path {path!r} is not supported at {text[i:]!r} (sqlc reads "
                             "$, .key, ['key'], [n], .* and [*])")
        key, index, quoted, double, star = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
        elif quoted is not None:
            steps.append(quoted.replace("''", "'"))
        elif double is not None:
            steps.append(double)
        elif star is not None:
            wild.add(len(steps))
            steps.append(_WILDCARD)
        i = match.end()
    return JsonPath(strict, tuple(steps), frozenset(wild))


def json_path_error(path: str) -> str | None:
    """Why a JSON path is not supported (None if it is): for the compiler."""
    try:
        json_path(path)
    except ValueError as error:
        return str(error)
    return None


_MISSING = object()
_INVALID = object()


def _parse(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _INVALID


def _step(value: Any, step: str | int) -> Any:
    if isinstance(step, int):
        if not isinstance(value, list) or not -len(value) <= step < len(value):
            return _MISSING
        return value[step]
    if not isinstance(value, dict) or step not in value:
        return _MISSING
    return value[step]


def _matches(value: Any, path: JsonPath, start: int, out: list) -> None:
    """Every value an indefinite path reaches from ``value`` (Jayway: a
    member missing under a wildcard is skipped, not an error)."""
    for position in range(start, len(path.steps)):
        if position in path.wild:
            members = (value.values() if isinstance(value, dict)
                       else value if isinstance(value, list) else ())
            for member in members:
                _matches(member, path, position + 1, out)
            return
        value = _step(value, path.steps[position])
        if value is _MISSING:
            return
    out.append(value)


class _Error:
    """The path raised (Flink's context with an exception): invalid JSON or
    a missing member in strict mode."""


_ERROR = _Error()


def _context(doc: Any, path: JsonPath) -> Any:
    """What Flink's ``jsonApiCommonSyntax`` gives: the value at the path
    (None for JSON null, or for nothing in lax mode), a list of the matches
    for an indefinite path, or _ERROR."""
    if doc is _INVALID:
        return _ERROR if path.strict else None
    if not path.definite:
        # Jayway: before the first wildcard a member is required (strict mode
        # raises, lax mode finds nothing); after it, a missing one is skipped
        first = min(path.wild)
        value = doc
        for step in path.steps[:first]:
            found = _step(value, step)
            if found is _MISSING:
                out_of_range = isinstance(step, int) and isinstance(value, list)
                return _ERROR if path.strict and not out_of_range else []
            value = found
        out: list = []
        _matches(value, path, first, out)
        return out
    value = doc
    for step in path.steps:
        value = _step(value, step)
        if value is _MISSING:
            return _ERROR if path.strict else None
    return value


def _documents(j: Arg, n: int) -> list:
    """The parsed documents of a column (None where NULL), each text once."""
    texts = _full(j, n).tolist()
    valid = _valid((j,), n)
    mask = [True] * n if valid is None else (valid.tolist() if valid is not False else [False] * n)
    cache: dict[str, Any] = {}
    out = []
    for text, ok in zip(texts, mask):
        if not ok or text is None:
            out.append(None)
            continue
        if text not in cache:
            cache[text] = _parse(text)
        out.append(cache[text])
    return out


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _convert(value: Any, returning: str) -> Any:
    """The JSON scalar as the RETURNING type; _INVALID when it cannot be."""
    if returning == "VARCHAR":
        return _scalar_text(value)
    if returning == "BOOLEAN":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return _INVALID
    if isinstance(value, bool):
        return _INVALID
    try:
        if returning in ("INT", "BIGINT", "SMALLINT", "TINYINT"):
            if isinstance(value, float) and not value.is_integer():
                return _INVALID
            return int(value)
        return float(value)
    except (TypeError, ValueError):
        return _INVALID


_DTYPES = {"VARCHAR": object, "BOOLEAN": np.bool_, "DOUBLE": np.float64, "INT": np.int64,
           "BIGINT": np.int64, "SMALLINT": np.int64, "TINYINT": np.int64, "FLOAT": np.float64}


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def json_value(j: Arg, path: str, returning: str = "VARCHAR", on_empty: str = "NULL",
               empty_default: Arg = None, on_error: str = "NULL",
               error_default: Arg = None) -> Column:
    """JSON_VALUE(j, path [RETURNING type] [NULL | DEFAULT x ON EMPTY]
    [NULL | DEFAULT x ON ERROR]): the scalar at ``path``, as VARCHAR by
    default (true -> 'true', 1.5 -> '1.5'). Empty: JSON null at the path,
    and in lax mode nothing there (invalid JSON too) or an object or array.
    Error: in strict mode (a path's default) a missing path, invalid JSON or
    an object or array; in both modes a value the RETURNING type cannot hold.
    An indefinite path (a wildcard) reaches a list: never a scalar. NULL j
    is NULL."""
    n = _length((j,))
    dtype = _DTYPES.get(returning, object)
    if j is None or path is None:
        return _nulls(n, dtype)
    parsed = json_path(path)
    docs = _documents(j, n)
    out: list = [None] * n
    status = np.zeros(n, dtype=np.int8)  # 0 value (or NULL input), 1 empty, 2 error
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        value = _context(doc, parsed)
        if value is _ERROR:
            status[i] = 2
        elif value is None or not parsed.strict and not _is_scalar(value):
            status[i] = 1
        elif not _is_scalar(value):
            status[i] = 2
        else:
            converted = _convert(value, returning)
            if converted is _INVALID:
                status[i] = 2
            else:
                out[i] = converted
    for code, kind, default in ((1, on_empty, empty_default), (2, on_error, error_default)):
        if kind != "DEFAULT" or not (status == code).any():
            continue
        defaults = _full(default, n).tolist() if isinstance(default, Column) else [default] * n
        dvalid = default.is_valid().tolist() if isinstance(default, Column) else [True] * n
        for i in np.flatnonzero(status == code).tolist():
            value = defaults[i] if dvalid[i] and defaults[i] is not None else None
            out[i] = None if value is None else _convert(value, returning)
            if out[i] is _INVALID:
                out[i] = None
    valid = np.fromiter((v is not None for v in out), dtype=bool, count=n)
    if dtype == object:
        values = np.empty(n, dtype=object)
        values[:] = out
    else:
        filler = {np.bool_: False, np.int64: 0, np.float64: 0.0}[dtype]
        values = np.array([filler if v is None else v for v in out], dtype=dtype)
    return Column(values, None if valid.all() else valid)


# JSON_EXISTS's ON ERROR: the result where the path raises (UNKNOWN is NULL)
EXISTS_ON_ERROR = {"FALSE": False, "TRUE": True, "UNKNOWN": None}


def json_exists(j: Arg, path: str, on_error: str = "FALSE") -> Column:
    """JSON_EXISTS(j, path [TRUE | FALSE | UNKNOWN ON ERROR]): TRUE if the
    path reaches a value that is not JSON null (an indefinite path reaches a
    list, even an empty one: TRUE, as Flink's ``context.obj != null``); in
    strict mode a missing path or invalid JSON is an error, giving the ON
    ERROR value (FALSE by default); NULL j is NULL."""
    parsed = json_path(path)
    if_error = EXISTS_ON_ERROR[on_error]

    def exists(text: str) -> bool | None:
        value = _context(_parse(text), parsed)
        return if_error if value is _ERROR else value is not None

    return _map_valid(exists, (j,), np.bool_)


def _dumps(value: Any) -> str:
    # Flink writes JSON_QUERY's result with Jackson ordering object members by key
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# JSON_QUERY's ON EMPTY / ON ERROR results (ERROR is refused by the compiler)
QUERY_ON = {"NULL": None, "EMPTY ARRAY": "[]", "EMPTY OBJECT": "{}"}
QUERY_WRAPPERS = ("WITHOUT ARRAY", "CONDITIONAL ARRAY", "UNCONDITIONAL ARRAY")


def json_query(j: Arg, path: str, wrapper: str = "WITHOUT ARRAY", on_empty: str = "NULL",
               on_error: str = "NULL", returning: str = "STRING") -> Column:
    """JSON_QUERY(j, path [WITHOUT | WITH [CONDITIONAL | UNCONDITIONAL] ARRAY
    WRAPPER] [NULL | EMPTY ARRAY | EMPTY OBJECT ON EMPTY] [... ON ERROR]):
    the object or array at the path as compact JSON text (members ordered by
    key, as Flink writes them). WITH UNCONDITIONAL ARRAY WRAPPER wraps the
    value in an array, CONDITIONAL only a value that is not an array. Empty:
    nothing (JSON null), and in lax mode a scalar; error: in strict mode a
    missing path, invalid JSON or a scalar. NULL j is NULL.

    RETURNING ARRAY<STRING> (``returning`` "ARRAY"): the array's elements as
    strings, as Flink's SqlJsonUtils gives them: a string itself, another
    scalar as Java's String.valueOf writes it, an object or array as JSON
    text, null as NULL; a value that is no array is an error (EMPTY ARRAY
    gives an empty array)."""
    parsed = json_path(path)
    if_empty, if_error = QUERY_ON[on_empty], QUERY_ON[on_error]
    if returning == "ARRAY":
        if_empty = None if if_empty is None else []
        if_error = None if if_error is None else []

    def query(text: str) -> str | None:
        value = _context(_parse(text), parsed)
        if value is _ERROR:
            return if_error
        if value is not None and (wrapper == "UNCONDITIONAL ARRAY" or
                                  wrapper == "CONDITIONAL ARRAY" and not isinstance(value, list)):
            value = [value]
        if value is None or not parsed.strict and _is_scalar(value):
            return if_empty
        if _is_scalar(value):
            return if_error
        if returning == "ARRAY":
            if not isinstance(value, list):
                return if_error
            return [None if e is None else _java_string(e) if _is_scalar(e) else _dumps(e)
                    for e in value]
        return _dumps(value)

    return _map_valid(query, (j,))


def _java_string(value: Any) -> str:
    """A JSON scalar as Java's String.valueOf writes the value Jackson read:
    ``true``, ``7``, ``1.5``, ``1.0E20`` (a double in [1e-3, 1e7) plainly,
    else with an exponent)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(float(value))
        return text if "e" not in text else f"{value:.17g}"
    mantissa, exponent = f"{value!r}".replace("e+", "e").split("e") if "e" in repr(value) \
        else (repr(value), "0")
    digits = mantissa.replace("-", "").replace(".", "").rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    lead = len(mantissa.replace("-", "").split(".")[0])
    exp = int(exponent) + lead - 1
    frac = digits[1:] or "0"
    return f"{sign}{digits[0]}.{frac}E{exp}"


def is_json(j: Arg, kind: str = "VALUE") -> Column:
    """j IS JSON [VALUE | SCALAR | ARRAY | OBJECT]: whether the text is valid
    JSON of that kind; NULL IS JSON is FALSE (Flink)."""
    n = _length((j,))

    def check(text: str) -> bool:
        doc = _parse(text)
        if doc is _INVALID:
            return False
        if kind == "OBJECT":
            return isinstance(doc, dict)
        if kind == "ARRAY":
            return isinstance(doc, list)
        if kind == "SCALAR":
            return not isinstance(doc, (dict, list))
        return True

    if j is None:
        return Column(np.zeros(n, dtype=bool))
    result = _map_valid(check, (j,), np.bool_)
    return Column(result.values & result.is_valid())


def _rows(args: tuple[Arg, ...], n: int) -> list[tuple]:
    """The arguments' values row by row (None for NULL)."""
    columns = [a.to_pylist() if isinstance(a, Column) else [a] * n for a in args]
    return list(zip(*columns)) if columns else [()] * n


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


def json_string(value: Arg) -> Column:
    """JSON_STRING(v): v as JSON text (``1``, ``true``, ``"a"``), written as
    JSON_ARRAY writes its values; NULL for NULL."""
    return _map_valid(_dump, (value,))


def format_json(value: Arg) -> Column:
    """A JSON_ARRAY or JSON_OBJECT value that is itself a JSON constructor's
    result (``JSON_ARRAY(JSON_ARRAY(1))``): its text goes in as JSON, not as a
    string, as in Flink. Only JSON_ARRAY and JSON_OBJECT read this column."""
    if not isinstance(value, Column):  # a constant: one fragment for every row
        return None if value is None else orjson.Fragment(value)
    return _map_valid(orjson.Fragment, (value,))


def json_array(null_mode: str, *values: Arg) -> Column:
    """JSON_ARRAY(v1, ...) [ABSENT ON NULL (the default) | NULL ON NULL]: the
    values as a JSON array text, compact as Flink writes it (``[1,"a"]``); a
    value from ``format_json`` is inserted as JSON."""
    n = _length(values) if values else 1
    keep_nulls = null_mode == "NULL"
    out = [_dump([v for v in row if keep_nulls or v is not None]) for row in _rows(values, n)]
    return column_from_pylist(out, "O")


def json_object(null_mode: str, *pairs: Arg) -> Column:
    """JSON_OBJECT(KEY k VALUE v, ...) [NULL ON NULL (the default) | ABSENT ON
    NULL]: a JSON object text (``{"k":1}``), members ordered by key as Flink
    writes them; a NULL key makes the row NULL."""
    n = _length(pairs) if pairs else 1
    keep_nulls = null_mode != "ABSENT"
    out: list[str | None] = []
    for row in _rows(pairs, n):
        keys, values = row[0::2], row[1::2]
        if any(k is None for k in keys):
            out.append(None)
            continue
        members = {k: v for k, v in zip(keys, values) if keep_nulls or v is not None}
        out.append(orjson.dumps(members, option=orjson.OPT_SORT_KEYS).decode())
    return column_from_pylist(out, "O")

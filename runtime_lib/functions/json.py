"""JSON functions: JSON_VALUE, JSON_QUERY, JSON_EXISTS and IS JSON over
VARCHAR columns of JSON text, with Flink's path subset: ``$``, ``.key``,
``['key']`` / ``["key"]``, ``[n]``, an optional ``lax`` (the default) or
``strict`` mode. Parsing JSON text has no vectorized form: each distinct
document of a batch is parsed once with orjson, in Python."""

from __future__ import annotations

import json as _json
import re
from typing import Any

import numpy as np
import orjson

from runtime_lib.columns import Column, column_from_pylist
from runtime_lib.functions.base import Arg, _full, _length, _map_valid, _nulls, _valid

_STEP = re.compile(r"""\.([A-Za-z_$][\w$]*)|\[\s*(\d+)\s*\]|\[\s*'((?:[^']|'')*)'\s*\]"""
                   r"""|\[\s*"([^"]*)"\s*\]|\.(?=\[)""")


def json_path(path: str) -> tuple[bool, tuple[str | int, ...]]:
    """(strict, steps) of a path: keys are str, array indexes int. Raises
    ValueError for what the subset does not have (wildcards, filters)."""
    text = path.strip()
    strict = False
    mode = re.match(r"(lax|strict)\s+", text, re.IGNORECASE)
    if mode:
        strict = mode.group(1).lower() == "strict"
        text = text[mode.end():]
    if not text.startswith("$"):
        raise ValueError(f"a JSON path starts with '$': {path!r}")
    steps: list[str | int] = []
    i = 1
    while i < len(text):
        match = _STEP.match(text, i)
        if match is None:
            raise ValueError(f"JSON path {path!r} is not supported at {text[i:]!r} (sqlc reads "
                             "$, .key, ['key'], [n])")
        key, index, quoted, double = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
        elif quoted is not None:
            steps.append(quoted.replace("''", "'"))
        elif double is not None:
            steps.append(double)
        i = match.end()
    return strict, tuple(steps)


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


def _lookup(document: Any, steps: tuple[str | int, ...]) -> Any:
    value = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return _MISSING
        elif not isinstance(value, dict) or step not in value:
            return _MISSING
        value = value[step]
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


def json_value(j: Arg, path: str, returning: str = "VARCHAR", on_empty: str = "NULL",
               empty_default: Arg = None, on_error: str = "NULL",
               error_default: Arg = None) -> Column:
    """JSON_VALUE(j, path [RETURNING type] [NULL | DEFAULT x ON EMPTY]
    [NULL | DEFAULT x ON ERROR]): the scalar at ``path``, as VARCHAR by
    default (true -> 'true', 1.5 -> '1.5'). Empty: the path is missing in
    lax mode, or the value is JSON null. Error: invalid JSON, a missing path
    in strict mode, an object or array at the path, or a value the
    RETURNING type cannot hold. NULL j is NULL."""
    n = _length((j,))
    dtype = _DTYPES.get(returning, object)
    if j is None or path is None:
        return _nulls(n, dtype)
    strict, steps = json_path(path)
    docs = _documents(j, n)
    out: list = [None] * n
    status = np.zeros(n, dtype=np.int8)  # 0 value (or NULL input), 1 empty, 2 error
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if doc is _INVALID:
            status[i] = 2
            continue
        value = _lookup(doc, steps)
        if value is _MISSING:
            status[i] = 2 if strict else 1
        elif value is None:
            status[i] = 1
        elif isinstance(value, (dict, list)):
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


def json_exists(j: Arg, path: str) -> Column:
    """JSON_EXISTS(j, path): TRUE if the path leads to a value (JSON null
    included); FALSE for a missing path or invalid JSON (FALSE ON ERROR, the
    default); NULL j is NULL."""
    strict, steps = json_path(path)

    def exists(text: str) -> bool:
        doc = _parse(text)
        return doc is not _INVALID and _lookup(doc, steps) is not _MISSING

    return _map_valid(exists, (j,), np.bool_)


def _dumps(value: Any) -> str:
    return _json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_query(j: Arg, path: str) -> Column:
    """JSON_QUERY(j, path): the object or array at the path as compact JSON
    text; NULL for a scalar (WITHOUT ARRAY WRAPPER), a missing path or
    invalid JSON (NULL ON EMPTY, NULL ON ERROR)."""
    strict, steps = json_path(path)

    def query(text: str) -> str | None:
        doc = _parse(text)
        if doc is _INVALID:
            return None
        value = _lookup(doc, steps)
        return _dumps(value) if isinstance(value, (dict, list)) else None

    return _map_valid(query, (j,))


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


def json_array(null_mode: str, *values: Arg) -> Column:
    """JSON_ARRAY(v1, ...) [ABSENT ON NULL (the default) | NULL ON NULL]: the
    values as a JSON array text, compact as Flink writes it (``[1,"a"]``)."""
    n = _length(values) if values else 1
    keep_nulls = null_mode == "NULL"
    out = [_dump([v for v in row if keep_nulls or v is not None]) for row in _rows(values, n)]
    return column_from_pylist(out, "O")


def json_object(null_mode: str, *pairs: Arg) -> Column:
    """JSON_OBJECT(KEY k VALUE v, ...) [NULL ON NULL (the default) | ABSENT ON
    NULL]: a JSON object text (``{"k":1}``); a NULL key makes the row NULL."""
    n = _length(pairs) if pairs else 1
    keep_nulls = null_mode != "ABSENT"
    out: list[str | None] = []
    for row in _rows(pairs, n):
        keys, values = row[0::2], row[1::2]
        if any(k is None for k in keys):
            out.append(None)
            continue
        out.append(_dump({k: v for k, v in zip(keys, values) if keep_nulls or v is not None}))
    return column_from_pylist(out, "O")

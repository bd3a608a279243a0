"""Decode micro-batches of raw records (JSON lines, CSV) into columnar Batches.

A decoder never raises on bad input and never drops a record silently: every
record either becomes a row of the returned ``Batch`` or a ``DeadLetter`` with
a precise reason and its position.

JSON: how it works and why
==========================
Candidates measured on 1,000,000 generated LLM request events (12 fields,
~355 bytes each), each producing the same validated numpy columns (VARCHAR as
Python ``str``, NULL masks), in events per CPU-second of one process (one
core; polars with ``POLARS_MAX_THREADS=1``, pyarrow with ``use_threads=False``;
best of 3 rounds, on a shared 2-core machine under load)::

    .venv/bin/python benchmarks/decode/bench_decode.py --events 1000000 --repeat 3

    candidate                                      all 12 fields   5 fields
    msgspec Struct, one JSON array per batch          0.55 M/s     1.13 M/s
    msgspec Struct, Decoder.decode_lines              0.63 M/s     1.17 M/s
    msgspec Struct, one decode per line (chosen)      0.60 M/s     1.10 M/s
    orjson.loads per line + Python type checks        0.16 M/s     0.29 M/s
    polars.read_ndjson(schema) + to_numpy             0.69 M/s     0.97 M/s
    pyarrow.json.read_json(schema) + to_numpy         0.52 M/s     0.78 M/s
    whole path decode+filter+project+encode (chosen)  0.50 M/s     0.83 M/s

(full output in ``benchmarks/decode/RESULTS.md``). The three msgspec variants
are within noise of each other; their order changed from run to run. The
Rust/C++ readers are no faster once their strings become Python ``str``
objects (the VARCHAR convention): polars is 15% ahead on all 12 fields and
behind on the 5-field projection real queries decode. Neither can say which
record was bad (polars fails the whole read, and turns JSON numbers into
strings for VARCHAR, which we reject) nor accept "epoch millis or timestamp
string" in one column. So the decoder is built on msgspec:

- **Bulk path.** A ``msgspec.Struct`` type is generated from the schema
  (``BIGINT`` -> range-checked ``int``, ``DOUBLE`` -> ``float`` which accepts
  JSON integers, ``TIMESTAMP`` -> ``int | str``, nullable -> ``T | None = None``,
  unknown keys ignored). Records are decoded one per call with
  ``list.extend(map(decode, it))``, in slices of 1,024 records whose structs
  are still in the CPU cache when columns are cut out of them with
  ``operator.attrgetter`` and numpy (1.6x faster than whole 65,536-record
  batches): ``np.fromiter(map(getter, rows))`` straight into the column, with
  no list in between and no Python scan for None (a DOUBLE's NULLs are the
  NaNs fromiter makes of None, as JSON has no NaN; an integer column tries
  fromiter first and splits out NULLs only when it meets one). As fast as ``decode_lines`` on a joined buffer (also measured with
  a vectorized check that every line starts with '{' and ends with '}': no
  gain), and, unlike any joining of records into one document, a record can
  never bleed into its neighbour (a truncated line followed by lines that
  complete it would otherwise decode as one "good" record).
- **Isolation.** When a record fails, ``extend`` has kept every row decoded so
  far and the iterator stands just after the bad record: its index is known
  exactly, so the record alone is explained by a slow Python validator and
  bulk decoding resumes with the next record. A batch with k bad records costs
  k exceptions, not a second pass.
- **Whole pieces of a file** (``decode_lines``, the file source's path). A
  piece of about 64 KB of JSON lines is decoded by one msgspec
  ``Decoder.decode_lines`` call, so no ``bytes`` object is made per line and
  no block is split. ``decode_lines`` reads whitespace-separated values, not
  lines, so the piece is taken only when every line break stands between
  ``}`` and ``{`` and there is one more object than breaks (one vectorized
  look at the bytes, see ``_line_breaks`` for why that proves one object per
  line; the file source looks at a whole 4 MB block's breaks at once,
  ``between_objects``, and passes each piece's line count); otherwise the caller splits the piece and ``decode`` names the bad
  records exactly as before. Measured on the benchmark's events (cachegrind,
  instructions per event, 100k events, whole generated query): filter +
  projection 10,416 -> 9,797, TUMBLE + p95 11,485 -> 11,076; in CPU time the
  gain is within the shared machine's noise, as the check (numpy
  ``flatnonzero``, ~750 instructions an event) costs most of what the split
  cost. A list of records (Kafka values) stays one decode per record: joining
  them into one buffer for ``decode_lines`` (join + check) was slower,
  843 against 711 ns an event (65,536-value batches, 4 columns).
- **Projection pushdown.** Give the decoder only the columns the query reads
  (``Schema.select``); msgspec skips the other keys without building strings,
  which is most of the cost (see the 5-field column).

``decode_reference`` decodes record by record in plain Python with the same
rules; tests check that both paths give identical batches and dead letters.

JSON typing rules (stricter than Flink's JSON format, which coerces; sqlc
reports instead of guessing):

- VARCHAR/CHAR need a JSON string; BOOLEAN a JSON boolean.
- TINYINT..BIGINT need a JSON integer within the type's range (a JSON number
  with a fraction or exponent, ``1.0`` too, is an error).
- FLOAT/DOUBLE/DECIMAL accept JSON integers and numbers (a string, even
  ``"1.5"``, is an error).
- TIMESTAMP(p)/TIMESTAMP_LTZ(p) accept an integer (epoch milliseconds,
  whatever p) or a string ``YYYY-MM-DD HH:MM:SS[.fff]`` (see temporal.py).
  DATE accepts ``YYYY-MM-DD``, TIME ``HH:MM:SS[.fff]``.
- ARRAY<T>/MAP<K,V> are checked element-wise for the numeric/string/boolean
  element types (elements may be null); their elements are kept as decoded
  JSON values (nested timestamps are not converted). ROW accepts any object.
- A missing key is NULL; a missing or null value for a NOT NULL column is an
  error. Unknown keys are ignored. Duplicate keys: the last one wins.
- A record nested deeper than msgspec follows (Python's recursion limit, about
  1,000 levels less the call stack) is malformed, like any other record msgspec
  refuses. The reason for a malformed record is sqlc's own (malformed.py: the
  byte, line and column where it goes wrong, found with the stdlib parser and
  our own scans), never the library's message, which changes between versions.

CSV: header row names the columns (matched by name, so column order in the
file is free; schema columns absent from the header are NULL); an empty field
is NULL (so an empty string cannot be expressed); values are parsed with the
same typing rules from text (``true``/``false`` case-insensitive for BOOLEAN,
integer text for TIMESTAMP is epoch milliseconds).

CSV bulk path: the batch is decoded as one UTF-8 text; when no record quotes
a field (no '"', CR or NUL, no empty record, every record with the header's
field count) the csv module's answer is the plain split on the delimiter, done
once for the whole batch (the fields of column j are every k-th); otherwise
the csv module parses the batch in one call. Each column is then converted at
once (``text_columns.text_column``: one regex over the joined column, then
``map(int|float)`` into numpy). Only a batch in which some record is bad is
converted record by record, which names the records and the reasons exactly
as ``decode_reference`` does (a property test checks both agree).
"""

from __future__ import annotations

import csv
import math
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Annotated, Any

import msgspec
import numpy as np

from runtime_lib.columns import Batch, Column, concat_batches
from runtime_lib.io import nested
from runtime_lib.io.text_columns import INT_TEXT, convert_text, text_column
from runtime_lib.io.text_columns import TIMESTAMP_HINT as _TIMESTAMP_HINT
from runtime_lib.io.text_columns import BadValue as _Bad
from runtime_lib.malformed import csv_reason, json_reason, utf8_reason
from runtime_lib.schema import (
    FLOAT_TYPES,
    INT_RANGES,
    INTEGER_TYPES,
    STRING_TYPES,
    TIMESTAMP_TYPES,
    Field,
    Schema,
    as_schema,
    base_type,
    type_args,
)
from runtime_lib.temporal import parse_dates, parse_times, parse_timestamps

__all__ = ["CsvDecoder", "DeadLetter", "JsonDecoder", "describe_json_value"]

CHUNK = 1024  # records decoded and transposed together (cache locality)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that could not become a row: the raw bytes, why, where from.

    ``position`` is the record's place in its source: a 1-based line number for
    files, an offset (or "partition:offset") for Kafka.
    """

    raw: bytes
    reason: str
    source: str
    position: int | str


# --------------------------------------------------------------------------
# msgspec types generated from SQL types


def _ranged_int(base: str) -> Any:
    low, high = INT_RANGES[base]
    return Annotated[int, msgspec.Meta(ge=low, le=high)]


def _element_type(type_name: str) -> Any:
    """msgspec type for an element of ARRAY/MAP (elements may be null)."""
    base = base_type(type_name)
    if base in INTEGER_TYPES:
        inner = _ranged_int(base)
    elif base in FLOAT_TYPES:
        inner = float
    elif base in STRING_TYPES:
        inner = str
    elif base == "BOOLEAN":
        inner = bool
    else:  # nested timestamps, rows, arrays: kept as decoded JSON
        inner = Any
    return typing.Optional[inner]


def _msgspec_type(field: Field) -> Any:
    base = field.base
    if base in INTEGER_TYPES:
        return _ranged_int(base)
    if base in FLOAT_TYPES:
        return float
    if base in STRING_TYPES:
        return str
    if base == "BOOLEAN":
        return bool
    if base in TIMESTAMP_TYPES:
        return typing.Union[_ranged_int("BIGINT"), str]
    if base in ("DATE", "TIME", "BYTES"):
        return str
    if base == "ARRAY":
        (element,) = type_args(field.type_name)
        return list[_element_type(element)]  # type: ignore[misc]
    if base == "MAP":
        key, value = type_args(field.type_name)
        key_type = _ranged_int(base_type(key)) if base_type(key) in INTEGER_TYPES else str
        return dict[key_type, _element_type(value)]  # type: ignore[valid-type]
    if base == "MULTISET":
        return dict
    if base == "ROW":
        return dict
    return Any


def _make_struct(schema: Schema) -> type:
    """A Struct with attributes f0..fn, renamed to the schema's (arbitrary) names."""
    fields = []
    for i, field in enumerate(schema):
        kind = _msgspec_type(field)
        if field.nullable:
            fields.append((f"f{i}", typing.Optional[kind], None))
        else:
            fields.append((f"f{i}", kind))
    rename = {f"f{i}": field.name for i, field in enumerate(schema)}
    return msgspec.defstruct(
        "Record", fields, rename=rename, kw_only=True, gc=False, omit_defaults=False
    )


# --------------------------------------------------------------------------
# describing bad values


def describe_json_value(value: Any) -> str:
    """'string 'fast'', 'number 1.5', 'integer 3', 'null', 'array', ..."""
    if value is None:
        return "null"
    if value is True or value is False:
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:40] + "..."
        return f"string {text!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _convert_json_value(field: Field, value: Any) -> Any:
    """The column value for one JSON value (reference path); raises _Bad."""
    base = field.base
    kind_of = type(value)
    if base in INTEGER_TYPES:
        if kind_of is not int:
            raise _Bad(f"expected {field.type_name}, got {describe_json_value(value)}")
        low, high = INT_RANGES[base]
        if not low <= value <= high:
            raise _Bad(f"expected {field.type_name}, got out-of-range integer {value}")
        return value
    if base in FLOAT_TYPES:
        if kind_of is not float and kind_of is not int:
            raise _Bad(f"expected {field.type_name}, got {describe_json_value(value)}")
        try:
            result = float(value)
        except OverflowError:
            result = math.inf
        if math.isinf(result):
            raise _Bad(f"expected {field.type_name}, got out-of-range number")
        return result
    if base in STRING_TYPES or base == "BYTES":
        if kind_of is not str:
            raise _Bad(f"expected {field.type_name}, got {describe_json_value(value)}")
        return value
    if base == "BOOLEAN":
        if kind_of is not bool:
            raise _Bad(f"expected {field.type_name}, got {describe_json_value(value)}")
        return value
    if base in TIMESTAMP_TYPES:
        if kind_of is int:
            low, high = INT_RANGES["BIGINT"]
            if not low <= value <= high:
                raise _Bad(f"expected {field.type_name}, got out-of-range integer {value}")
            return value
        if kind_of is str:
            millis, ok = parse_timestamps([value])
            if ok[0]:
                return int(millis[0])
        raise _Bad(
            f"expected {field.type_name} {_TIMESTAMP_HINT}, got {describe_json_value(value)}"
        )
    if base in ("DATE", "TIME"):
        if kind_of is str:
            parsed, ok = (parse_dates if base == "DATE" else parse_times)([value])
            if ok[0]:
                return int(parsed[0])
        hint = "'YYYY-MM-DD'" if base == "DATE" else "'HH:MM:SS[.fff]'"
        raise _Bad(f"expected {field.type_name} ({hint}), got {describe_json_value(value)}")
    # ARRAY / MAP / ROW / MULTISET: msgspec decides (the same type as the bulk
    # path's), the reason names the first element that does not fit
    try:
        return msgspec.convert(value, _msgspec_type(field), strict=True)
    except RecursionError:
        raise _Bad(f"expected {field.type_name}, got a value nested deeper than the "
                   "decoder follows") from None
    except msgspec.ValidationError:
        detail = _element_problem(field, value)
        raise _Bad(f"expected {field.type_name}, got {describe_json_value(value)}"
                   + (f" ({detail})" if detail else "")) from None


def _element_problem(field: Field, value: Any) -> str | None:
    """Which element of an ARRAY/MAP value does not fit, in our words (None
    when no element check applies)."""
    base = field.base
    if base == "ARRAY" and type(value) is list:
        (element,) = type_args(field.type_name)
        for i, item in enumerate(value):
            problem = _element_mismatch(element, item)
            if problem:
                return f"element {i}: {problem}"
    if base == "MAP" and type(value) is dict:
        key_type, value_type = type_args(field.type_name)
        for key, item in value.items():
            if base_type(key_type) in INTEGER_TYPES and not INT_TEXT.fullmatch(key):
                return f"key {key[:40]!r}: expected {key_type}"
            problem = _element_mismatch(value_type, item)
            if problem:
                return f"value of key {key[:40]!r}: {problem}"
    return None


def _element_mismatch(type_name: str, item: Any) -> str | None:
    """Why one ARRAY/MAP element does not fit its type (None: it fits or is
    not checked: nested types, timestamps)."""
    if item is None:
        return None
    base = base_type(type_name)
    kind_of = type(item)
    if base in INTEGER_TYPES:
        low, high = INT_RANGES[base]
        ok = kind_of is int and low <= item <= high
    elif base in FLOAT_TYPES:
        ok = kind_of is float or kind_of is int
    elif base in STRING_TYPES:
        ok = kind_of is str
    elif base == "BOOLEAN":
        ok = kind_of is bool
    else:
        return None
    return None if ok else f"expected {type_name}, got {describe_json_value(item)}"


# --------------------------------------------------------------------------
# columns from Python value lists


def _object_array(values: list) -> np.ndarray:
    # fromiter never broadcasts nested lists into a 2-D array
    return np.fromiter(values, dtype=object, count=len(values))


def _null_split(values: list, dtype: Any, filler: Any, nullable: bool = True) -> Column:
    """Column from a list that may hold None (NULL)."""
    if not nullable or None not in values:
        return Column(np.fromiter(values, dtype=dtype, count=len(values)))
    arr = _object_array(values)
    valid = arr != None
    arr[~valid] = filler
    return Column(arr.astype(dtype), valid)


def _object_column(values: list, nullable: bool = True) -> Column:
    arr = _object_array(values)
    if not nullable or None not in values:
        return Column(arr)
    return Column(arr, arr != None)


# A builder turns one field of decoded structs into a Column plus a dict of bad
# rows {row index: reason} for values msgspec accepted but the column cannot
# hold (timestamp strings that do not parse). Numbers and strings go straight
# from the structs into numpy (``np.fromiter`` over ``map(getter, rows)``, no
# list in between, no Python scan for None); msgspec has already checked them.
Builder = Callable[[list, Callable], tuple[Column, dict[int, str]]]


def _builder(field: Field) -> Builder:
    base, nullable = field.base, field.nullable
    if base in INTEGER_TYPES:
        return lambda rows, get: (_int_column(rows, get, nullable), {})
    if base in FLOAT_TYPES:
        return lambda rows, get: (_float_column(rows, get, nullable), {})
    if base == "BOOLEAN":  # (fromiter would read None as False)
        return lambda rows, get: (_null_split(list(map(get, rows)), np.bool_, False, nullable), {})
    if base in STRING_TYPES or base == "BYTES":
        return lambda rows, get: (_str_column(rows, get, nullable), {})
    if base in TIMESTAMP_TYPES:
        return lambda rows, get: _temporal_column(
            field, list(map(get, rows)), parse_timestamps, allow_int=True)
    if base == "DATE":
        return lambda rows, get: _temporal_column(
            field, list(map(get, rows)), parse_dates, allow_int=False)
    if base == "TIME":
        return lambda rows, get: _temporal_column(
            field, list(map(get, rows)), parse_times, allow_int=False)
    return lambda rows, get: (_object_column(list(map(get, rows)), nullable), {})


def _int_column(rows: list, get: Callable, nullable: bool) -> Column:
    if nullable:
        try:
            return Column(np.fromiter(map(get, rows), dtype=np.int64, count=len(rows)))
        except TypeError:  # a None (NULL) among them
            return _null_split(list(map(get, rows)), np.int64, 0)
    return Column(np.fromiter(map(get, rows), dtype=np.int64, count=len(rows)))


def _float_column(rows: list, get: Callable, nullable: bool) -> Column:
    # fromiter reads None as NaN, and a decoded JSON number is never NaN (JSON
    # has no NaN), so the NaNs are exactly the NULLs
    values = np.fromiter(map(get, rows), dtype=np.float64, count=len(rows))
    if not nullable:
        return Column(values)
    nulls = np.isnan(values)
    if not nulls.any():
        return Column(values)
    values[nulls] = 0.0
    return Column(values, ~nulls)


def _str_column(rows: list, get: Callable, nullable: bool) -> Column:
    values = np.fromiter(map(get, rows), dtype=object, count=len(rows))
    if not nullable:
        return Column(values)
    valid = values != None  # elementwise
    return Column(values) if valid.all() else Column(values, valid)


def _temporal_column(
    field: Field, values: list, parse: Callable, allow_int: bool
) -> tuple[Column, dict[int, str]]:
    # (np.fromiter would silently parse numeric strings, hence the type test)
    kinds = set(map(type, values))
    if allow_int and kinds == {int}:
        return Column(np.fromiter(values, dtype=np.int64, count=len(values))), {}
    if kinds == {str}:  # the usual column of texts: parsed at once when all are good
        parsed, ok = parse(values)
        if ok.all():
            return Column(parsed), {}
    n = len(values)
    out = np.zeros(n, dtype=np.int64)
    valid = np.ones(n, dtype=bool)
    bad: dict[int, str] = {}
    string_rows = [i for i, v in enumerate(values) if type(v) is str]
    if string_rows:
        parsed, ok = parse([values[i] for i in string_rows])
        out[np.asarray(string_rows, dtype=np.int64)] = parsed
        for i, good in zip(string_rows, ok.tolist()):
            if not good:
                hint = _TIMESTAMP_HINT if field.base in TIMESTAMP_TYPES else "(unparsable)"
                got = describe_json_value(values[i])
                bad[i] = f"field {field.name!r}: expected {field.type_name} {hint}, got {got}"
    for i, v in enumerate(values):
        if v is None:
            valid[i] = False
        elif type(v) is int:
            out[i] = v
    return Column(out, None if valid.all() else valid), bad


def _take_rows(columns: dict[str, Column], keep: np.ndarray) -> dict[str, Column]:
    out = {}
    for name, col in columns.items():
        taken = col.take(keep)
        if taken.valid is not None and taken.valid.all():
            taken = Column(taken.values)
        out[name] = taken
    return out


_NEWLINE, _CR, _OPEN, _CLOSE = ord("\n"), ord("\r"), ord("{"), ord("}")


def between_objects(data: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """For each line break at ``data[breaks[i]]`` (``data`` the bytes as
    uint8): whether it stands between a ``}`` (or ``}\\r``) and a ``{``. A
    break at either end of ``data`` is not (there is nothing on that side).

    Why that matters (``_line_breaks``): no JSON value can go on across such
    a break, since a raw line break is not allowed inside a string, and
    inside an array or an object a closed object is followed by ``,`` or a
    closing bracket, never by ``{``."""
    last = len(data) - 1
    after = data[np.minimum(breaks + 1, last)]
    before = data[np.maximum(breaks - 1, 0)]
    ok = (after == _OPEN) & (breaks < last) & (breaks > 0)
    crlf = before == _CR
    if crlf.any():  # \r\n line ends: the byte before the \r
        before[crlf] = data[np.maximum(breaks[crlf] - 2, 0)]
        ok &= ~crlf | (breaks > 1)
    return ok & (before == _CLOSE)


def _line_breaks(buffer: Any, values: int) -> np.ndarray | None:
    """The offsets of the line breaks in ``buffer`` when the ``values`` JSON
    values msgspec's ``decode_lines`` found in it are exactly its lines, one
    per line; else None.

    ``decode_lines`` reads whitespace-separated values, not lines:
    ``{"a":1} {"a":2}`` on one line is two values, ``{"a":`` and ``1}`` on two
    lines one. So every line break must stand between a ``}`` (or ``}\\r``)
    and a ``{`` (``between_objects``): then no value goes on across a break,
    so every value lies within one line, no line is blank, and the lines are
    one value each exactly when there is one more value than breaks. (The
    file source checks the breaks of a whole block at once and passes the
    line count instead: ``decode_lines(..., lines=)``.)
    """
    data = np.frombuffer(buffer, dtype=np.uint8)
    breaks = np.flatnonzero(data == _NEWLINE)
    if len(breaks) + 1 != values:
        return None
    return breaks if between_objects(data, breaks).all() else None


def _positions(positions: Sequence[int | str] | None, n: int) -> Sequence[int | str]:
    return range(n) if positions is None else positions


# --------------------------------------------------------------------------
# JSON


class JsonDecoder:
    """JSON-lines records (one object per ``bytes``) -> (Batch, dead letters).

    >>> dec = JsonDecoder([Field("id", "BIGINT", False), Field("x", "DOUBLE")], "demo")
    >>> batch, dead = dec.decode([b'{"id": 1, "x": 2}', b'{"id": "a"}'])
    >>> batch.to_rows(), dead[0].reason, dead[0].position
    ([(1, 2.0)], "field 'id': expected BIGINT, got string 'a'", 1)
    """

    def __init__(self, schema: Schema | Iterable[Field], source: str = "json") -> None:
        self.schema = as_schema(schema)
        self.source = source
        self._struct = _make_struct(self.schema)
        self._getters = [attrgetter(f"f{i}") for i in range(len(self.schema))]
        # fields of ROW columns (Field.path): nested Structs, see nested.py
        self._nested = nested.Layout(self.schema, _msgspec_type) if nested.has_paths(
            self.schema) else None
        if self._nested is not None:
            self._struct, self._getters = self._nested.struct, self._nested.getters
        self._decode_one = msgspec.json.Decoder(self._struct).decode
        self._decode_lines = msgspec.json.Decoder(self._struct).decode_lines
        self._decode_any = msgspec.json.Decoder().decode
        self._builders = [_builder(f) for f in self.schema]

    # -- the bulk path --------------------------------------------------------

    def decode(
        self, records: Sequence[bytes], positions: Sequence[int | str] | None = None
    ) -> tuple[Batch, list[DeadLetter]]:
        """Decode a micro-batch. ``positions[i]`` names record i in dead letters
        (default: its index in ``records``)."""
        bad: list[int] = []  # record indexes that failed, ascending
        reasons: dict[int, str] = {}
        parts = []
        # Slices of CHUNK records: the structs of a slice are still in the CPU
        # cache when the columns are cut out of them (1.6x faster than 65,536).
        for start in range(0, len(records), CHUNK):
            chunk = records[start : start + CHUNK]
            chunk_bad: list[int] = []
            rows = self._rows_one_by_one(chunk, start, chunk_bad, reasons)
            columns, late_bad = self._columns_from_structs(rows)
            if late_bad:
                columns = self._drop_late_bad(columns, late_bad, len(chunk), chunk_bad,
                                              start, reasons)
            bad.extend(start + i for i in chunk_bad)
            parts.append(Batch(columns, len(chunk) - len(chunk_bad)))
        batch = concat_batches(parts) if parts else _batch_from_rows(self.schema, [])
        return batch, self._dead_letters(records, positions, bad, reasons)

    def decode_lines(self, buffer: Any, first: int,
                     lines: int | None = None) -> tuple[Batch, list[DeadLetter], int] | None:
        """The lines of ``buffer`` (JSON lines, ``\\n`` or ``\\r\\n``, no final
        line break) as records numbered ``first``, ``first + 1``, ...: (the
        batch, its dead letters, the number of lines), or None when some line
        is not one JSON object the bulk decoder takes (malformed, blank, two
        objects, an object across lines): then ``decode`` of the split lines
        says which and why. The file source's path: no ``bytes`` per line.

        ``lines``: the caller has found ``lines - 1`` line breaks in
        ``buffer``, each between two objects (``between_objects``, done for
        a whole block of the file at once); then only the number of values
        is compared, not the bytes looked at again."""
        rows = self._parse_lines(buffer, lines)
        if rows is None:
            return None
        n = len(rows)
        columns, late_bad = self._columns_from_structs(rows)
        if not late_bad:
            return Batch(columns, n), [], n
        chunk_bad: list[int] = []
        reasons: dict[int, str] = {}
        columns = self._drop_late_bad(columns, late_bad, n, chunk_bad, 0, reasons)
        breaks = np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) == _NEWLINE)
        starts = np.concatenate(([0], breaks + 1)).tolist()
        ends = np.concatenate((breaks, [len(buffer)])).tolist()
        dead = []
        for i in chunk_bad:
            raw = bytes(buffer[starts[i] : ends[i]])
            dead.append(DeadLetter(raw.removesuffix(b"\r"), reasons[i], self.source, first + i))
        return Batch(columns, n - len(chunk_bad)), dead, n

    def _parse_lines(self, buffer: Any, lines: int | None) -> list | None:
        """The structs of ``buffer`` when each of its lines is one JSON object
        the bulk type takes, else None (``lines``: see ``decode_lines``)."""
        try:
            rows = self._decode_lines(buffer)
        except Exception:  # noqa: BLE001  some line is bad: the caller finds which
            return None
        if lines is not None:
            return rows if len(rows) == lines else None
        return rows if _line_breaks(buffer, len(rows)) is not None else None

    def _rows_one_by_one(self, chunk: Sequence[bytes], start: int, chunk_bad: list[int],
                         reasons: dict[int, str]) -> list:
        """The structs of the good records of ``chunk``; the bad ones' indexes
        go to ``chunk_bad`` and their reasons (by ``start + index``) to
        ``reasons``. One exception per bad record, no second pass."""
        rows: list = []
        remaining = iter(chunk)
        while True:
            try:
                rows.extend(map(self._decode_one, remaining))
                return rows
            except Exception as exc:  # noqa: BLE001  any failure is the record's
                index = len(rows) + len(chunk_bad)
                chunk_bad.append(index)
                reasons[start + index] = self.explain(chunk[index]) or (
                    f"refused by the bulk decoder ({type(exc).__name__}) although the "
                    "reference decoder takes it: a sqlc bug, please report it")

    def _drop_late_bad(self, columns: dict[str, Column], late_bad: dict[int, str], n: int,
                       chunk_bad: list[int], start: int,
                       reasons: dict[int, str]) -> dict[str, Column]:
        """The columns without the rows msgspec accepted but a column refused
        (timestamp text), whose record indexes join ``chunk_bad`` (kept sorted)."""
        good_index = np.setdiff1d(np.arange(n), chunk_bad)
        keep = np.ones(n - len(chunk_bad), dtype=bool)
        for row, reason in late_bad.items():
            keep[row] = False
            reasons[start + int(good_index[row])] = reason
            chunk_bad.append(int(good_index[row]))
        chunk_bad.sort()
        return _take_rows(columns, keep)

    def _columns_from_structs(self, rows: list) -> tuple[dict[str, Column], dict[int, str]]:
        columns: dict[str, Column] = {}
        late_bad: dict[int, str] = {}
        if self._nested is not None:
            lists = self._nested.expand(rows)
            sources = [lists[i] for i in self._nested.sources]
        else:
            sources = [rows] * len(self._builders)
        for field, getter, build, source in zip(self.schema, self._getters, self._builders,
                                                sources):
            column, bad = build(source, getter)
            columns[field.name] = column
            for row, reason in bad.items():
                late_bad.setdefault(row, reason)
        return columns, late_bad

    def _dead_letters(
        self,
        records: Sequence[bytes],
        positions: Sequence[int | str] | None,
        bad: list[int],
        reasons: dict[int, str],
    ) -> list[DeadLetter]:
        where = _positions(positions, len(records))
        return [
            DeadLetter(bytes(records[i]), reasons[i], self.source, where[i]) for i in bad
        ]

    # -- the slow path --------------------------------------------------------

    def explain(self, raw: bytes) -> str | None:
        """Why this record cannot be a row, or None when it can."""
        _, reason = self._convert_record(raw)
        return reason

    def _convert_record(self, raw: Any) -> tuple[list | None, str | None]:
        try:
            obj = self._decode_any(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):  # (msgspec < 0.23: UnicodeDecodeError)
            return None, json_reason(raw)
        except RecursionError:  # nested deeper than msgspec follows
            return None, json_reason(raw, nested=True)
        except TypeError:
            return None, f"not a JSON record: got {type(raw).__name__}"
        if type(obj) is not dict:
            return None, f"expected a JSON object, got {describe_json_value(obj)}"
        values, problems = [], []
        for field in self.schema:
            holder, key = obj, field.name
            if field.path:  # a field of a ROW column
                holder, key, problem = nested.locate(obj, field, describe_json_value)
                if problem is not None:
                    problems += [problem] if problem not in problems else []
                    values.append(None)
                    continue
            if key not in holder:
                if not field.nullable:
                    why = f" ({field.note})" if field.note else ""
                    problems.append(f"field {field.name!r}: missing, but the column is NOT NULL{why}")
                values.append(None)
                continue
            value = holder[key]
            if value is None:
                if not field.nullable:
                    why = f" ({field.note})" if field.note else ""
                    problems.append(
                        f"field {field.name!r}: expected {field.type_name} NOT NULL, got null{why}"
                    )
                values.append(None)
                continue
            try:
                values.append(_convert_json_value(field, value))
            except _Bad as bad:
                problems.append(f"field {field.name!r}: {bad}")
                values.append(None)
        if problems:
            return None, "; ".join(problems)
        return values, None

    def decode_reference(
        self, records: Sequence[bytes], positions: Sequence[int | str] | None = None
    ) -> tuple[Batch, list[DeadLetter]]:
        """Record-by-record decoding in plain Python: the specification the bulk
        path is tested against (and the path that produces the reasons)."""
        good_rows, bad, reasons = [], [], {}
        for i, raw in enumerate(records):
            values, reason = self._convert_record(raw)
            if reason is None:
                good_rows.append(values)
            else:
                bad.append(i)
                reasons[i] = reason
        batch = _batch_from_rows(self.schema, good_rows)
        return batch, self._dead_letters(records, positions, bad, reasons)


def _batch_from_rows(schema: Schema, rows: list[list]) -> Batch:
    """Columns from converted Python rows (None = NULL), for the slow paths."""
    columns = {}
    transposed = list(zip(*rows)) if rows else [() for _ in schema]
    for field, values in zip(schema, transposed):
        values = list(values)
        kind = field.kind
        if kind == "O":
            column = _object_column(values)
        else:
            dtype, filler = {"i": (np.int64, 0), "f": (np.float64, 0.0), "b": (np.bool_, False)}[
                kind
            ]
            column = _null_split(values, dtype, filler)
        columns[field.name] = column
    return Batch(columns, len(rows))


# --------------------------------------------------------------------------
# CSV

class CsvDecoder:
    """CSV records (one ``bytes`` per record, no line terminator) -> (Batch,
    dead letters). ``header`` is the file's header row (column names in file
    order); schema columns are matched by name.

    Records are parsed with the csv module in one call; a record whose field
    count is wrong, that is not UTF-8, or whose value does not parse becomes a
    dead letter. ``decode_reference`` is the per-record specification.
    """

    def __init__(
        self,
        schema: Schema | Iterable[Field],
        header: Sequence[str],
        source: str = "csv",
        delimiter: str = ",",
    ) -> None:
        self.schema = as_schema(schema)
        self.header = list(header)
        self.source = source
        self.delimiter = delimiter
        index = {name: i for i, name in enumerate(self.header)}
        self._slots = [index.get(f.name) for f in self.schema]
        # a first line that names none of the columns is no header (Flink's csv
        # files have none): each record says so in a dead letter rather than
        # decoding to a row of NULLs
        self._no_header = None
        if self._slots and all(slot is None for slot in self._slots):
            self._no_header = (
                f"the file's first line {delimiter.join(self.header)!r} names none of the "
                f"columns {', '.join(self.schema.names)}: CSV fields are read by the column "
                "names of a header line"
            )

    def _parse_record(self, raw: bytes) -> tuple[list | None, str | None]:
        if self._no_header is not None:
            return None, self._no_header
        data = bytes(raw)
        bad_utf8 = utf8_reason(data)
        if bad_utf8 is not None:
            return None, f"malformed CSV: {bad_utf8}"
        text = data.decode("utf-8")
        try:
            rows = list(csv.reader([text], delimiter=self.delimiter, strict=True))
        except csv.Error:
            return None, csv_reason(text, self.delimiter)
        if len(rows) != 1:
            return None, f"malformed CSV: expected one record, got {len(rows)}"
        return self._convert_fields(rows[0])

    def _convert_fields(self, fields: list[str]) -> tuple[list | None, str | None]:
        if len(fields) != len(self.header):
            return None, f"expected {len(self.header)} CSV fields, got {len(fields)}"
        values, problems = [], []
        for field, slot in zip(self.schema, self._slots):
            text = "" if slot is None else fields[slot]
            if text == "":
                if not field.nullable:
                    problems.append(
                        f"field {field.name!r}: expected {field.type_name} NOT NULL, got empty"
                    )
                values.append(None)
                continue
            try:
                values.append(convert_text(field, text))
            except _Bad as bad:
                problems.append(f"field {field.name!r}: {bad}")
                values.append(None)
        if problems:
            return None, "; ".join(problems)
        return values, None

    def decode(
        self, records: Sequence[bytes], positions: Sequence[int | str] | None = None
    ) -> tuple[Batch, list[DeadLetter]]:
        """The batch as one text: split on the delimiter when no field is
        quoted, else parsed by the csv module in one call; converted a column
        at a time; per record only when some record is bad."""
        if self._no_header is not None:
            return self.decode_reference(records, positions)
        try:
            text = b"\n".join(records).decode("utf-8")
        except UnicodeDecodeError:
            return self.decode_reference(records, positions)
        lines = text.split("\n")
        if len(lines) != len(records):  # a record holds a line break
            return self.decode_reference(records, positions)
        fields_of = self._unquoted_fields(text, lines)
        if fields_of is not None:
            columns = self._bulk_columns(fields_of, len(lines))
            if columns is not None:
                return Batch(columns, len(lines)), []
        try:
            parsed = list(csv.reader(lines, delimiter=self.delimiter, strict=True))
        except csv.Error:
            return self.decode_reference(records, positions)
        if len(parsed) != len(records):
            return self.decode_reference(records, positions)
        if fields_of is None and set(map(len, parsed)) == {len(self.header)}:
            columns = self._bulk_columns(lambda slot: list(map(itemgetter(slot), parsed)),
                                         len(parsed))
            if columns is not None:
                return Batch(columns, len(parsed)), []
        # some record is bad: the per-record conversion says which and why
        good_rows, bad, reasons = [], [], {}
        for i, fields in enumerate(parsed):
            values, reason = self._convert_fields(fields)
            if reason is None:
                good_rows.append(values)
            else:
                bad.append(i)
                reasons[i] = reason
        return self._finish(records, positions, good_rows, bad, reasons)

    def _unquoted_fields(self, text: str, lines: list[str]) -> Callable[[int], list[str]] | None:
        """When no record quotes a field (and none is empty, or holds a CR or
        NUL, which the csv module treats apart) and each has the header's
        field count, the csv module's split is the plain split on the
        delimiter: the fields of column ``slot`` are every k-th of them."""
        delimiter, k = self.delimiter, len(self.header)
        if '"' in text or "\r" in text or "\0" in text or "" in lines:
            return None
        counts = np.fromiter(map(str.count, lines, repeat(delimiter)), dtype=np.int64,
                             count=len(lines))
        if not (counts == k - 1).all():
            return None
        flat = text.replace("\n", delimiter).split(delimiter)
        return lambda slot: flat[slot::k]

    def _bulk_columns(self, fields_of: Callable[[int], list[str]], n: int) -> dict[str, Column] | None:
        """Every schema column converted at once (text_columns) from the texts
        ``fields_of(slot)`` of its CSV column, or None when some value does
        not convert."""
        columns = {}
        for field, slot in zip(self.schema, self._slots):
            column = text_column(field, [""] * n if slot is None else fields_of(slot))
            if column is None:
                return None
            columns[field.name] = column
        return columns

    def decode_reference(
        self, records: Sequence[bytes], positions: Sequence[int | str] | None = None
    ) -> tuple[Batch, list[DeadLetter]]:
        good_rows, bad, reasons = [], [], {}
        for i, raw in enumerate(records):
            values, reason = self._parse_record(raw)
            if reason is None:
                good_rows.append(values)
            else:
                bad.append(i)
                reasons[i] = reason
        return self._finish(records, positions, good_rows, bad, reasons)

    def _finish(self, records, positions, good_rows, bad, reasons):
        where = _positions(positions, len(records))
        dead = [DeadLetter(bytes(records[i]), reasons[i], self.source, where[i]) for i in bad]
        return _batch_from_rows(self.schema, good_rows), dead

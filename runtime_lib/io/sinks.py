"""Sinks: JSON lines to a file or stdout, an aligned table for people, and the
dead-letter file.

Row encoding (``encode_json_lines``), one JSON object per row, keys in column
order:

- TIMESTAMP(p) / TIMESTAMP_LTZ(p): ``"YYYY-MM-DD HH:MM:SS.fff"`` in UTC;
  DATE: ``"YYYY-MM-DD"``; TIME: ``"HH:MM:SS"`` (``.fff`` when not zero).
- NULL: ``null``. DOUBLE: a JSON number; NaN and +-Infinity, which JSON cannot
  express, are written as ``null`` (the row is kept; a reader cannot tell them
  from NULL, which is the usual JSON convention and what orjson does).
- BIGINT: a JSON integer (exact, even beyond 2**53). BOOLEAN: true/false.
  ARRAY/MAP/ROW: JSON arrays/objects.
- Updating results carry a first key ``"_op"`` with ``+I``, ``-U``, ``+U`` or
  ``-D`` when the batch carries ``ops`` (``Batch.ops``) or an ops array is
  passed explicitly (strings, or codes 0..3 in that order).

Encoding is batch-wise: each column is converted once (timestamps through
numpy, see temporal.py), and flat rows are written by one msgspec
``encode_lines`` call over one Struct per row (``_encode_rows``; 3x the
per-row byte templates on rows with unique strings, see
benchmarks/decode/RESULTS.md). The format stays orjson's, byte for byte:
where msgspec would write a number differently (a DOUBLE of 1e16 or more)
the batch goes through per-column orjson fragments and per-row templates;
batches with nested ARRAY/MAP/ROW values are encoded row by row with orjson.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import msgspec
import numpy as np
import orjson

from runtime_lib.columns import Batch, Column
from runtime_lib.io.decode import DeadLetter
from runtime_lib.io.nested import encode_nested_lines, nest_rows
from runtime_lib.schema import STRING_TYPES, TIMESTAMP_TYPES, Field, Schema, as_schema, base_type
from runtime_lib.temporal import format_dates, format_times, format_timestamps

OPS = ("+I", "-U", "+U", "-D")


class SinkConfigError(ValueError):
    """A sink that cannot be opened as configured (a missing table, an
    unreachable or unreadable database URL): the run does not start, exit code 2."""


class SinkFault(RuntimeError):
    """A sink failed while running (a lost database connection after its
    retries, a row the database refused): ``pipeline.run`` ends with exit code
    1, as for a ``KafkaFault``."""
_NESTED = frozenset({"ARRAY", "MAP", "ROW", "MULTISET"})


def _schema_for(batch: Batch, schema: Schema | Iterable[Field] | None) -> Schema:
    if schema is not None:
        return as_schema(schema)
    inferred = []
    for name, col in batch.columns.items():
        kind = col.values.dtype.kind
        type_name = {"b": "BOOLEAN", "i": "BIGINT", "u": "BIGINT", "f": "DOUBLE"}.get(
            kind, "VARCHAR"
        )
        inferred.append(Field(name, type_name))
    return Schema(tuple(inferred))


def column_to_json_values(col: Column, type_name: str) -> list:
    """Python values ready for JSON: None for NULL, formatted temporals."""
    base = base_type(type_name)
    valid = col.valid
    if base in TIMESTAMP_TYPES or base in ("DATE", "TIME"):
        values = col.values if valid is None else np.where(valid, col.values, 0)
        formatter = (
            format_timestamps
            if base in TIMESTAMP_TYPES
            else format_dates
            if base == "DATE"
            else format_times
        )
        out = formatter(values)
    else:
        out = col.values.tolist()
    if valid is None:
        return out
    return [v if ok else None for v, ok in zip(out, valid.tolist())]


def _batch_ops(batch: Batch, ops: Sequence | np.ndarray | None) -> Sequence | np.ndarray | None:
    """Explicit ops win; otherwise the batch's own changelog kinds, if any."""
    return ops if ops is not None else getattr(batch, "ops", None)


def op_codes(ops: np.ndarray) -> np.ndarray:
    """'+I' 0, '-U' 1, '+U' 2, '-D' 3 (ints pass through)."""
    if ops.dtype.kind in "iu":
        return ops.astype(np.int64)
    codes = np.zeros(len(ops), dtype=np.int64)
    codes[ops == "-U"] = 1
    codes[ops == "+U"] = 2
    codes[ops == "-D"] = 3
    return codes


def _ops_list(ops: Sequence | np.ndarray, n: int) -> list[str]:
    ops_list = list(ops.tolist() if isinstance(ops, np.ndarray) else ops)
    if len(ops_list) != n:
        raise ValueError(f"ops has {len(ops_list)} entries for {n} rows")
    return [OPS[o] if isinstance(o, int) else o for o in ops_list]


def encode_json_lines(
    batch: Batch,
    schema: Schema | Iterable[Field] | None = None,
    ops: Sequence | np.ndarray | None = None,
) -> bytes:
    """The batch as JSON lines (each line ends with a newline)."""
    n = batch.num_rows
    if n == 0:
        return b""
    ops = _batch_ops(batch, ops)
    fields = _schema_for(batch, schema)
    keys = [f.name for f in fields]
    columns = [column_to_json_values(batch[f.name], f.type_name) for f in fields]
    if ops is not None:
        keys.insert(0, "_op")
        columns.insert(0, _ops_list(ops, n))
    if any(f.path for f in fields):  # the fields of a selected ROW, as nested objects
        paths = [(key,) for key in keys[: len(keys) - len(fields)]]
        paths += [f.path or (f.name,) for f in fields]
        if _msgspec_writes_alike(batch, fields):
            data = encode_nested_lines(paths, columns)
            if data is not None:
                return data
        return b"\n".join(map(orjson.dumps, nest_rows(paths, columns))) + b"\n"
    if any(f.base in _NESTED or f.base not in STRING_TYPES and f.kind == "O" for f in fields):
        dumps = orjson.dumps
        rows = [dict(zip(keys, row)) for row in zip(*columns)]
        return b"".join(dumps(row) + b"\n" for row in rows)
    if _msgspec_writes_alike(batch, fields):
        data = _encode_rows(tuple(keys), columns)
        if data is not None:
            return data
    # Flat rows: each column becomes a list of JSON fragments at once, and one
    # bytes template per row joins them (no dict per row).
    kinds = ["O"] + [f.kind for f in fields] if ops is not None else [f.kind for f in fields]
    fragments = [_json_fragments(values, kind) for values, kind in zip(columns, kinds)]
    template = (b"{" + b",".join(orjson.dumps(k).replace(b"%", b"%%") + b":%b" for k in keys)
                + b"}")
    return b"\n".join(map(template.__mod__, zip(*fragments))) + b"\n"


#: |x| from which orjson writes a DOUBLE with an exponent, as ``1e+16``, where
#: msgspec writes ``1e16``; below it (and for every other value) the two agree
#: byte for byte (tests/runtime/test_sink_encoding.py checks both sides of it).
_EXPONENT_FROM = 1e16


def _msgspec_writes_alike(batch: Batch, fields: Schema) -> bool:
    """Whether msgspec's encoding of these flat rows is byte-identical to
    orjson's (the sinks' format): true unless a DOUBLE column holds a finite
    value of magnitude 1e16 or more (then orjson's ``e+`` exponent is kept)."""
    for f in fields:
        if f.kind == "f" and f.base not in TIMESTAMP_TYPES:
            magnitude = np.abs(batch[f.name].values)
            if ((magnitude >= _EXPONENT_FROM) & (magnitude != np.inf)).any():
                return False
    return True


_ROW_ENCODER = msgspec.json.Encoder()


@functools.lru_cache(maxsize=256)
def _row_struct(keys: tuple[str, ...]) -> type | None:
    """A Struct whose fields encode as ``keys``, in order (None: keys msgspec
    cannot name: the same key twice, or one holding a quote, a backslash or a
    control character; those batches keep the template path)."""
    try:
        return msgspec.defstruct("Row", [(f"f{i}", object) for i in range(len(keys))],
                                 rename={f"f{i}": k for i, k in enumerate(keys)})
    except (TypeError, ValueError):
        return None


def _encode_rows(keys: tuple[str, ...], columns: list[list]) -> bytes | None:
    """Flat rows as JSON lines in one msgspec call over one Struct per row;
    None when msgspec
    refuses a value (a lone surrogate in a string: the caller's orjson path
    says so as it did before)."""
    row = _row_struct(keys)
    if row is None:
        return None
    try:
        return _ROW_ENCODER.encode_lines(map(row, *columns))
    except (TypeError, ValueError, UnicodeEncodeError):
        return None


def _json_fragments(values: list, kind: str) -> list[bytes]:
    """JSON text of each value of a column. Numbers and booleans are encoded as
    one array and split (they contain no commas); strings one by one, with
    repeated values (model ids, regions) encoded once."""
    if kind in "bif":
        return orjson.dumps(values)[1:-1].split(b",")
    encoded: dict = {}
    dumps = orjson.dumps
    return [encoded[v] if v in encoded else encoded.setdefault(v, dumps(v)) for v in values]


@dataclass
class SinkCounters:
    rows: int = 0
    batches: int = 0
    bytes: int = 0
    by_op: dict[str, int] = field(default_factory=dict)

    def count(self, rows: int, size: int, ops: list[str] | None) -> None:
        self.rows += rows
        self.batches += 1
        self.bytes += size
        if ops:
            for op in set(ops):
                self.by_op[op] = self.by_op.get(op, 0) + ops.count(op)


class JsonLinesFileSink:
    """Appends JSON lines to a file (created, or truncated when ``append`` is
    False). Call ``close()`` (or use as a context manager) to flush."""

    def __init__(
        self,
        path: str | Path,
        schema: Schema | Iterable[Field] | None = None,
        append: bool = False,
    ) -> None:
        self.path = Path(path)
        self.schema = None if schema is None else as_schema(schema)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[bytes] = open(self.path, "ab" if append else "wb")
        self.counters = SinkCounters()

    def write(self, batch: Batch, ops: Sequence | np.ndarray | None = None) -> None:
        ops = _batch_ops(batch, ops)
        data = encode_json_lines(batch, self.schema, ops)
        self._handle.write(data)
        ops_list = None if ops is None else _ops_list(ops, batch.num_rows)
        self.counters.count(batch.num_rows, len(data), ops_list)

    def flush(self) -> None:
        self._handle.flush()

    def position(self) -> dict:
        """For a checkpoint: the file's length, flushed and fsynced."""
        from runtime_lib.recovery import file_length

        return {"path": str(self.path), "length": file_length(self._handle)}

    def resume(self, position: dict | None) -> None:
        """After a restore: cut the file back to the checkpoint's length (what
        was written after it is written again); None: start it empty."""
        from runtime_lib.recovery import truncate_to

        self._handle.flush()
        truncate_to(self.path, 0 if position is None else int(position["length"]), "output file")

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> JsonLinesFileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _display(value: object) -> str:
    if value is None:
        return "NULL"
    if value is True:
        return "TRUE"
    if value is False:
        return "FALSE"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return str(value)


def format_table(
    batch: Batch, schema: Schema | Iterable[Field] | None = None, ops: Sequence | None = None
) -> str:
    """Plain aligned text table: header, rule, rows; numbers right-aligned."""
    ops = _batch_ops(batch, ops)
    fields = _schema_for(batch, schema)
    headers = [f.name for f in fields]
    columns = [
        [_display(v) for v in column_to_json_values(batch[f.name], f.type_name)] for f in fields
    ]
    numeric = [f.kind in "if" and f.base not in TIMESTAMP_TYPES | {"DATE", "TIME"} for f in fields]
    if ops is not None:
        headers.insert(0, "op")
        columns.insert(0, _ops_list(ops, batch.num_rows))
        numeric.insert(0, False)
    widths = [max([len(h)] + [len(v) for v in col]) for h, col in zip(headers, columns)]
    lines = [
        " | ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
        "-+-".join("-" * w for w in widths),
    ]
    for row in zip(*columns):
        cells = [
            v.rjust(w) if right else v.ljust(w) for v, w, right in zip(row, widths, numeric)
        ]
        lines.append(" | ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


class StdoutSink:
    """Rows to standard output: JSON lines, or with ``pretty=True`` an aligned
    table per batch (drawn with ``rich`` when it is installed)."""

    def __init__(
        self,
        schema: Schema | Iterable[Field] | None = None,
        pretty: bool = False,
        stream: IO[str] | None = None,
    ) -> None:
        self.schema = None if schema is None else as_schema(schema)
        self.pretty = pretty
        self.stream = stream if stream is not None else sys.stdout
        self.counters = SinkCounters()

    def write(self, batch: Batch, ops: Sequence | np.ndarray | None = None) -> None:
        ops = _batch_ops(batch, ops)
        ops_list = None if ops is None else _ops_list(ops, batch.num_rows)
        if self.pretty:
            if batch.num_rows == 0:
                return
            text = self._pretty(batch, ops_list)
            self.stream.write(text)
            size = len(text)
        else:
            data = encode_json_lines(batch, self.schema, ops_list)
            buffer = getattr(self.stream, "buffer", None)
            if buffer is not None:
                self.stream.flush()
                buffer.write(data)
            else:
                self.stream.write(data.decode("utf-8"))
            size = len(data)
        self.counters.count(batch.num_rows, size, ops_list)

    def _pretty(self, batch: Batch, ops: list[str] | None) -> str:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            return format_table(batch, self.schema, ops)
        import io

        fields = _schema_for(batch, self.schema)
        table = Table(show_lines=False)
        if ops is not None:
            table.add_column("op")
        for f in fields:
            right = f.kind in "if" and f.base not in TIMESTAMP_TYPES | {"DATE", "TIME"}
            table.add_column(f.name, justify="right" if right else "left")
        columns = [
            [_display(v) for v in column_to_json_values(batch[f.name], f.type_name)]
            for f in fields
        ]
        if ops is not None:
            columns.insert(0, ops)
        for row in zip(*columns):
            table.add_row(*row)
        out = io.StringIO()
        Console(file=out, width=200, force_terminal=False, color_system=None).print(table)
        return out.getvalue()

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.flush()


class BlackholeSink:
    """Flink's ``blackhole`` connector: rows are counted and discarded (the
    sink of the Nexmark benchmark queries, which measure the pipeline alone)."""

    def __init__(self, schema: Schema | Iterable[Field] | None = None) -> None:
        self.schema = None if schema is None else as_schema(schema)
        self.counters = SinkCounters()

    def write(self, batch: Batch, ops: Sequence | np.ndarray | None = None) -> None:
        ops = _batch_ops(batch, ops)
        self.counters.count(batch.num_rows, 0,
                            None if ops is None else _ops_list(ops, batch.num_rows))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class DeadLetterSink:
    """Dead letters as JSON lines ``{"reason", "source", "position", "raw"}``
    (raw decoded as UTF-8, invalid bytes replaced by U+FFFD). ``path=None``
    writes to standard error. Counts per source."""

    def __init__(self, path: str | Path | None = None, append: bool = True) -> None:
        self.path = None if path is None else Path(path)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle: IO[bytes] = open(self.path, "ab" if append else "wb")
        else:
            self._handle = sys.stderr.buffer
        self.count = 0
        self.by_source: dict[str, int] = {}

    def write(self, dead: Sequence[DeadLetter]) -> None:
        if not dead:
            return
        lines = [
            orjson.dumps(
                {
                    "reason": d.reason,
                    "source": d.source,
                    "position": d.position,
                    "raw": bytes(d.raw).decode("utf-8", errors="replace"),
                }
            )
            + b"\n"
            for d in dead
        ]
        self._handle.write(b"".join(lines))
        self.count += len(dead)
        for d in dead:
            self.by_source[d.source] = self.by_source.get(d.source, 0) + 1

    def flush(self) -> None:
        self._handle.flush()

    def position(self) -> dict | None:
        """For a checkpoint: the file's length (None when writing to stderr)."""
        from runtime_lib.recovery import file_length

        if self.path is None:
            return None
        return {"path": str(self.path), "length": file_length(self._handle)}

    def resume(self, position: dict | None) -> None:
        """After a restore: cut the file back to the checkpointed length."""
        from runtime_lib.recovery import truncate_to

        if self.path is not None:
            self._handle.flush()
            truncate_to(self.path, 0 if position is None else int(position["length"]),
                        "dead-letter file")

    def close(self) -> None:
        if self.path is not None and not self._handle.closed:
            self._handle.close()
        else:
            self._handle.flush()

    def __enter__(self) -> DeadLetterSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

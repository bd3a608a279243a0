"""The driver every generated module runs on.

A generated module defines ``Source`` specs and a ``Query(Pipeline)`` class
with one ``on_<source>(batch)`` method per source and, when it has stateful
operators, an ``advance(watermarks)`` method. ``run`` does the rest: opens the
sources (files given by ``--input NAME=PATH`` or the DDL's connectors), decodes
micro-batches into columns, sends bad records to the dead-letter sink,
computes watermarks, calls the query, and writes its outputs.

Bounded inputs end with a final +inf watermark, so every window fires before
the process exits 0. Counters go to stderr at exit.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.schema import Field
from runtime_lib.watermarks import WM_MAX, WM_MIN, Watermarks

__all__ = ["Context", "Field", "Output", "Pipeline", "Source", "Watermark", "main", "run"]


class PipelineError(Exception):
    """A start-up or run-time problem the user can fix (bad flag, missing variable)."""


@dataclass(frozen=True)
class Watermark:
    """``WATERMARK FOR column AS column - INTERVAL delay`` (or a custom expression)."""

    column: str
    delay_ms: int | None = None
    expression: Callable[[Batch], Column] | None = None
    idle_timeout_ms: int | None = None


@dataclass(frozen=True)
class Source:
    name: str
    fields: tuple[Field, ...]  # what the decoder reads (physical columns)
    properties: dict[str, str]
    watermark: Watermark | None = None
    computed: Callable[[Batch], Batch] | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Output:
    target: str | None  # None: the command line's output; else a catalog sink
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()  # the upsert key of an updating result
    properties: dict[str, str] = field(default_factory=dict)  # the sink's connector


@dataclass
class Counters:
    records_in: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    late_rows: dict[str, int] = field(default_factory=dict)
    rows_out: int = 0


class Context:
    """What a running pipeline writes to: its outputs, dead letters, late rows."""

    def __init__(self, outputs: list, dead_letters, late_events, counters: Counters):
        self.outputs = outputs
        self.dead_letters = dead_letters
        self.late_events = late_events
        self.counters = counters


class Pipeline:
    """Base of the generated ``Query`` classes."""

    sources: ClassVar[tuple[Source, ...]] = ()
    outputs: ClassVar[tuple[Output, ...]] = ()

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def write(self, index: int, batch: Batch) -> None:
        if batch.num_rows:
            self.ctx.counters.rows_out += batch.num_rows
            self.ctx.outputs[index].write(batch, batch.ops)

    def late(self, operator: str, batch: Batch, reason: str) -> None:
        """Rows an operator dropped because their window had fired: counted, and
        written to the late-events sink when one is configured."""
        if not batch.num_rows:
            return
        counters = self.ctx.counters.late_rows
        counters[operator] = counters.get(operator, 0) + batch.num_rows
        if self.ctx.late_events is not None:
            self.ctx.late_events.write_rows(operator, batch, reason)

    def advance(self, watermarks: dict[str, int]) -> None:
        """Called when a source's watermark moves; stateful queries override it."""


# ----------------------------------------------------------------------- running


def _parse_args(argv: list[str], query: type[Pipeline]) -> argparse.Namespace:
    names = ", ".join(s.name for s in query.sources)
    parser = argparse.ArgumentParser(
        description=f"Run the pipeline (sources: {names}).",
        epilog="Without --input a source uses the connector of its DDL.",
    )
    parser.add_argument("--input", action="append", default=[], metavar="NAME=PATH",
                        help="read source NAME from a JSON-lines or CSV file")
    parser.add_argument("--output", metavar="PATH", help="write result rows as JSON lines")
    parser.add_argument("--pretty", action="store_true", help="print an aligned table")
    parser.add_argument("--dead-letter", metavar="PATH",
                        help="where bad records go (default: beside the output, or stderr)")
    parser.add_argument("--late-events", metavar="PATH",
                        help="write rows dropped as late to this JSON-lines file")
    parser.add_argument("--batch-size", type=int, default=65_536, metavar="N",
                        help="records per micro-batch")
    parser.add_argument("--quiet", action="store_true", help="no summary on stderr")
    return parser.parse_args(argv)


def _inputs(args: argparse.Namespace, query: type[Pipeline]) -> dict[str, str]:
    known = {s.name.lower(): s.name for s in query.sources}
    inputs: dict[str, str] = {}
    for item in args.input:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise PipelineError(f"--input takes NAME=PATH, got {item!r}")
        if name.lower() not in known:
            raise PipelineError(
                f"--input {name}: this query reads no source of that name "
                f"(it reads {', '.join(known.values())})"
            )
        if not Path(path).is_file():
            raise PipelineError(f"--input {name}: no such file: {path}")
        inputs[known[name.lower()]] = path
    return inputs


def _open_source(source: Source, path: str | None, batch_size: int):
    from runtime_lib.env import resolve_properties
    from runtime_lib.sources import FileSource

    if path is not None:
        fmt = "csv" if path.lower().endswith(".csv") else "json"
        return FileSource(path, source.fields, format=fmt, batch_size=batch_size,
                          source_name=source.name)
    properties = resolve_properties(source.properties)
    connector = properties.get("connector", "")
    if connector in ("file", "filesystem"):
        return FileSource(properties["path"], source.fields,
                          format=properties.get("format", "json"), batch_size=batch_size,
                          source_name=source.name)
    raise PipelineError(
        f"source {source.name} uses connector '{connector}', which this runtime cannot open "
        f"yet; pass --input {source.name}=FILE to read a file instead"
    )


def run(query: type[Pipeline], argv: list[str] | None = None) -> int:
    """Run a generated pipeline to the end of its inputs; returns the exit code."""
    from runtime_lib import sinks

    try:
        args = _parse_args(sys.argv[1:] if argv is None else argv, query)
        inputs = _inputs(args, query)
        readers = {s.name: _open_source(s, inputs.get(s.name), args.batch_size)
                   for s in query.sources}
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a missing ${VAR}, an unreadable file
        print(f"error: {error}", file=sys.stderr)
        return 2
    counters = Counters()
    outputs = [_open_output(args, out) for out in query.outputs]
    dead_path = args.dead_letter or (f"{args.output}.dead-letter.jsonl" if args.output else None)
    dead_letters = sinks.DeadLetterSink(dead_path, append=False)
    late_events = LateEventSink(args.late_events) if args.late_events else None
    pipeline = query(Context(outputs, dead_letters, late_events, counters))
    started = time.perf_counter()
    try:
        _drive(pipeline, query.sources, readers, counters)
    finally:
        for out in outputs:
            out.close()
        dead_letters.close()
        if late_events is not None:
            late_events.close()
    elapsed = time.perf_counter() - started
    if not args.quiet:
        _summary(counters, dead_letters, elapsed)
    return 0


def _open_output(args: argparse.Namespace, output: Output):
    from runtime_lib import sinks

    if output.target is not None:
        raise PipelineError(
            f"INSERT INTO {output.target}: writing to catalog sinks needs their connector, "
            "which this runtime cannot open yet"
        )
    if args.output:
        return sinks.JsonLinesFileSink(args.output, output.fields)
    return sinks.StdoutSink(output.fields, pretty=args.pretty)


class LateEventSink:
    """Rows dropped as late, as JSON lines with the operator and the reason."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._handle = open(self.path, "wb")

    def write_rows(self, operator: str, batch: Batch, reason: str) -> None:
        import orjson

        from runtime_lib.sinks import encode_json_lines

        for line in encode_json_lines(batch).splitlines():
            record = {"operator": operator, "reason": reason, "row": orjson.loads(line)}
            self._handle.write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        self._handle.close()


def _drive(pipeline: Pipeline, sources: tuple[Source, ...], readers: dict,
           counters: Counters) -> None:
    """Round-robin over the sources, one micro-batch at a time, to the end."""
    marks = {s.name: Watermarks(s.watermark.delay_ms or 0, s.watermark.idle_timeout_ms)
             for s in sources if s.watermark is not None}
    current = {name: WM_MIN for name in marks}
    iterators = {s.name: iter(readers[s.name]) for s in sources}
    specs = {s.name: s for s in sources}
    active = list(iterators)
    while active:
        for name in list(active):
            try:
                batch, dead = next(iterators[name])
            except StopIteration:
                active.remove(name)
                continue
            counters.records_in[name] = counters.records_in.get(name, 0) + batch.num_rows + len(
                dead)
            spec = specs[name]
            if spec.computed is not None:
                batch = spec.computed(batch)
            if spec.watermark is not None:
                batch, late_dead = _with_event_time(batch, spec, marks[name])
                dead = list(dead) + late_dead
            if dead:
                counters.dead_letters += len(dead)
                pipeline.ctx.dead_letters.write(dead)
            getattr(pipeline, f"on_{_method_name(name)}")(batch)
            if name in marks and marks[name].current > current[name]:
                current[name] = marks[name].current
                pipeline.advance(dict(current))
    for name in marks:
        current[name] = marks[name].finish()
    pipeline.advance(dict(current))


def _method_name(source_name: str) -> str:
    import keyword
    import re

    text = re.sub(r"[^0-9a-zA-Z_]", "_", source_name).lower().strip("_") or "x"
    if text[0].isdigit():
        text = "_" + text
    if keyword.iskeyword(text) or keyword.issoftkeyword(text):
        text += "_"
    return text


def _with_event_time(batch: Batch, spec: Source, marks: Watermarks) -> tuple[Batch, list]:
    """Attach the watermark before each row; rows without event time are dead letters."""
    from runtime_lib.decode import DeadLetter

    assert spec.watermark is not None
    column = batch[spec.watermark.column]
    dead: list = []
    if column.valid is not None and not column.valid.all():
        missing = np.flatnonzero(~column.valid)
        for i in missing.tolist():
            dead.append(DeadLetter(b"", f"event time column '{spec.watermark.column}' is NULL",
                                   spec.name, i))
        batch = batch.take(column.valid)
        column = batch[spec.watermark.column]
    times = column.values
    if spec.watermark.expression is not None:  # a custom watermark: its own value per row
        times = spec.watermark.expression(batch).values
    before, _ = marks.observe(0, times)
    return Batch(batch.columns, batch.num_rows, before), dead


def _summary(counters: Counters, dead_letters, elapsed: float) -> None:
    read = sum(counters.records_in.values())
    parts = [f"{read} records read"]
    rate = read / elapsed if elapsed > 0 else 0.0
    parts.append(f"{counters.rows_out} rows out")
    parts.append(f"{counters.dead_letters} dead letters"
                 + (f" ({dead_letters.path})" if counters.dead_letters and dead_letters.path
                    else ""))
    late = sum(counters.late_rows.values())
    parts.append(f"{late} late rows dropped")
    parts.append(f"{elapsed:.2f} s ({rate:,.0f} records/s)")
    print("sqlc: " + ", ".join(parts), file=sys.stderr)


def main(query: type[Pipeline]) -> None:
    sys.exit(run(query))

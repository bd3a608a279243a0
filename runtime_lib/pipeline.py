"""The driver every generated module runs on.

A generated module defines ``Source`` specs and a ``Query(Pipeline)`` class
with one ``on_<source>(batch)`` method per source and, when it has stateful
operators, an ``advance(watermarks)`` method. ``run`` does the rest: opens the
sources (files given by ``--input NAME=PATH``, or the DDL's connectors: files
and Kafka, see kafka.py), decodes micro-batches into columns, sends bad records
to the dead-letter sink (a file, or the source's Kafka ``dead-letter.topic``),
computes watermarks per source partition, calls the query, and writes its
outputs (stdout, a file, or Kafka for ``INSERT INTO`` a Kafka stream and
``--sink kafka:TOPIC``).

Readers share one interface (``FileReader``, ``kafka.KafkaSource``):
``partitions``, ``finished``, ``read(timeout) -> Chunk | None``, ``commits``,
``commit(offsets)``, ``close()``. Bounded inputs (files; Kafka with
``--until-end``) end with a final +inf watermark, so every window fires before
the process exits 0; unbounded Kafka sources run until SIGINT/SIGTERM, which
stop cleanly (flush, commit, exit 0), and so they do while the pipeline is
still starting (stopping.py). Counters go to stderr at exit.
``--now`` (or ``SQLC_NOW``) pins the instant SQL's CURRENT_TIMESTAMP & co.
read, to replay history reproducibly (a sqlc addition; Flink has none).

Delivery (at-least-once): every ``--commit-interval`` seconds and at the end,
the driver works out which source offsets are done (all results derived from
them emitted: at once for stateless queries; for windowed ones once the
watermark has passed their event time by the window size + delay), flushes
every sink and waits for Kafka to acknowledge every record, and only then
commits those offsets to the source's consumer group. Queries with other state
(GROUP BY without windows, sessions, joins) commit nothing until checkpoints
exist: a restart reads from the start position again, and an upsert output
converges to the same values.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from runtime_lib import functions as scalar
from runtime_lib import monitor, standby, stopping
from runtime_lib.columns import Batch, Column
from runtime_lib.schema import Field

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
    rows: tuple[tuple, ...] | None = None  # a VALUES table's rows (connector 'values')
    # a changelog table read as a stream of changes (the versions of an event-time
    # temporal join): its primary key, and the field naming each change's kind
    changelog_key: tuple[str, ...] = ()
    op_field: str | None = None


@dataclass(frozen=True)
class Output:
    target: str | None  # None: the command line's output; else a catalog sink
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()  # the upsert key of an updating result
    properties: dict[str, str] = field(default_factory=dict)  # the sink's connector
    partitioned_by: tuple[str, ...] = ()  # a filesystem sink's partition columns


@dataclass
class Counters:
    records_in: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    dead_by_source: dict[str, int] = field(default_factory=dict)
    late_rows: dict[str, int] = field(default_factory=dict)
    late_joined: dict[str, int] = field(default_factory=dict)  # behind a join's watermark, kept
    rows_out: int = 0


class Context:
    """What a running pipeline writes to: its outputs, dead letters, late rows."""

    def __init__(self, outputs: list, dead_letters, late_events, counters: Counters,
                 inputs: dict[str, str] | None = None):
        self.outputs = outputs
        self.dead_letters = dead_letters
        self.late_events = late_events
        self.counters = counters
        self.inputs = inputs or {}  # --input NAME=PATH, sources and lookup tables


class Pipeline:
    """Base of the generated ``Query`` classes."""

    sources: ClassVar[tuple[Source, ...]] = ()
    outputs: ClassVar[tuple[Output, ...]] = ()
    tables: ClassVar[tuple[str, ...]] = ()  # lookup tables, which --input may replace
    sql_hash: ClassVar[str] = ""  # of the SQL the module was generated from
    # per stateful operator, what its state means (compiler/layout.py, runtime_lib/layout.py)
    state_layout: ClassVar[dict[str, dict]] = {}
    # the SQL's SET options ('execution.checkpointing.dir' -> '/var/lib/q02'): the
    # defaults of flags such as --checkpoint-dir (_recovery)
    settings: ClassVar[dict[str, str]] = {}
    # processing-time windows: ``advance`` reads the clock, so the driver calls
    # it after every micro-batch and while waiting, not only when a watermark moves
    processing_time = False

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # filled by the generated __init__: the method each source's rows enter
        # by, and every stateful operator by name (what a checkpoint snapshots)
        self.entries: dict[str, Callable[[Batch], None]] = {}
        self.operators: dict[str, object] = {}

    def write(self, index: int, batch: Batch) -> None:
        if batch.num_rows:
            self.ctx.counters.rows_out += batch.num_rows
            self.ctx.outputs[index].write(batch, batch.ops)

    def late(self, operator: str, batch: Batch, reason: str, dropped: bool = True) -> None:
        """Rows an operator dropped because their window had fired (or, with
        ``dropped=False``, rows an interval join still joined although they came
        behind its watermark, so partners may be missing): counted, and written
        to the late-events sink when one is configured."""
        if not batch.num_rows:
            return
        counters = self.ctx.counters.late_rows if dropped else self.ctx.counters.late_joined
        counters[operator] = counters.get(operator, 0) + batch.num_rows
        if self.ctx.late_events is not None:
            self.ctx.late_events.write_rows(operator, batch, reason)

    def advance(self, watermarks: dict[str, int]) -> None:
        """Called when a source's watermark moves; stateful queries override it."""


# ----------------------------------------------------------------------- running


#: The SET options that give the checkpoint flags their defaults (the first set wins).
CHECKPOINT_DIR_KEYS = ("execution.checkpointing.dir", "state.checkpoints.dir")
CHECKPOINT_INTERVAL_KEY = "execution.checkpointing.interval"
CHECKPOINTS_RETAINED_KEY = "state.checkpoints.num-retained"


def _from_set(query: type[Pipeline], *keys: str, fallback: str) -> str:
    """For --help: the value a SET in the SQL gives a flag, or how one would."""
    for key in keys:
        if key in query.settings:
            return f"{query.settings[key]!r}, from the SQL's SET {key!r}".replace("%", "%%")
    return f"{fallback}; SET {keys[0]!r} = '...' in the SQL gives one"


def _parse_args(argv: list[str], query: type[Pipeline]) -> argparse.Namespace:
    return build_parser(query).parse_args(argv)


def build_parser(query: type[Pipeline]) -> argparse.ArgumentParser:
    """A generated module's flags (docs/gen_reference.py documents them from here)."""
    names = ", ".join(s.name for s in query.sources)
    parser = argparse.ArgumentParser(
        description=f"Run the pipeline (sources: {names}).",
        epilog="Without --input a source uses the connector of its DDL. Exit codes: 0 done "
               "(or stopped by SIGINT/SIGTERM), 1 a run-time fault (Kafka unreachable, a "
               "failed delivery), 2 a bad flag or property.",
    )
    parser.add_argument("--input", action="append", default=[], metavar="NAME=PATH",
                        help="read source NAME from a JSON-lines or CSV file, or from a Kafka "
                             "topic with NAME=kafka:TOPIC")
    parser.add_argument("--output", metavar="PATH",
                        help="write result rows as JSON lines (also those of an INSERT INTO a "
                             "blackhole table)")
    parser.add_argument("--sink", metavar="kafka:TOPIC",
                        help="write the query's result (not its INSERT INTOs) to a Kafka topic")
    parser.add_argument("--bootstrap", metavar="HOST:PORT",
                        help="Kafka bootstrap servers for every Kafka source and sink "
                             "(overrides 'properties.bootstrap.servers')")
    parser.add_argument("--until-end", action="store_true",
                        help="bounded run: read Kafka sources up to the end of each partition, "
                             "fire every window, and exit")
    parser.add_argument("--connect-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long to retry an unreachable Kafka at start (default 60)")
    parser.add_argument("--delivery-timeout", type=float, default=None, metavar="SECONDS",
                        help="how long a record written to Kafka may wait for the broker's "
                             "acknowledgement before the run fails with exit code 1 (default: "
                             "a sink's 'properties.delivery.timeout.ms', else 120)")
    parser.add_argument("--commit-interval", type=float, default=1.0, metavar="SECONDS",
                        help="how often delivered results are flushed and source offsets "
                             "committed (default 1)")
    parser.add_argument("--checkpoint-dir", metavar="DIR",
                        help="take checkpoints into DIR and resume from the newest one there: "
                             "a restarted run goes on where the last checkpoint was, with "
                             "nothing lost and, for file and transactional sinks, nothing "
                             "written twice (default: "
                             + _from_set(query, *CHECKPOINT_DIR_KEYS, fallback="none") + ")")
    parser.add_argument("--checkpoint-interval", metavar="DURATION", default=None,
                        help="how often to checkpoint, e.g. 10s, 500 ms, 1 min (default: "
                             + _from_set(query, CHECKPOINT_INTERVAL_KEY, fallback="10s")
                             + "; SIGTERM and the end of a bounded run always take one)")
    parser.add_argument("--rebuild-state", action="store_true",
                        help="restoring a checkpoint the edited query cannot take: rebuild "
                             "the incompatible operators by replaying the sources (files, "
                             "Kafka partitions) up to the checkpoint, from the earliest event "
                             "time they need where that is bounded (their results are not "
                             "emitted again) instead of refusing it")
    parser.add_argument("--key-groups", metavar="FIRST-LAST", default=None,
                        help="run as one of several processes: restore and keep only the "
                             "keyed state of key groups FIRST-LAST (of the job's max "
                             "parallelism, e.g. 0-63 of 128), and feed it only the rows of "
                             "those keys; refused for a query with state that is not split "
                             "by key (a global aggregate, LIMIT, a Top-N without PARTITION "
                             "BY) (default: every key group of the checkpoint)")
    parser.add_argument("--max-parallelism", metavar="N", type=int, default=None,
                        help="the number of key groups keyed state is split into, fixed for "
                             "the life of the job: the first checkpoint records it (default: "
                             "the checkpoint's, else 128)")
    parser.add_argument("--checkpoints-retained", metavar="N", default=None,
                        help="how many complete checkpoints to keep, the newest (default: "
                             + _from_set(query, CHECKPOINTS_RETAINED_KEY, fallback="3") + ")")
    parser.add_argument("--pretty", action="store_true", help="print an aligned table")
    parser.add_argument("--dead-letter", metavar="PATH",
                        help="where bad records go (default: the source's 'dead-letter.topic', "
                             "else beside the output, or stderr)")
    parser.add_argument("--late-events", metavar="PATH",
                        help="write rows dropped as late to this JSON-lines file")
    parser.add_argument("--batch-size", type=int, default=65_536, metavar="N",
                        help="records per micro-batch")
    parser.add_argument("--now", metavar="TIMESTAMP",
                        help="evaluate CURRENT_TIMESTAMP, NOW(), LOCALTIMESTAMP, CURRENT_DATE "
                             "and PROCTIME() at this instant instead of the wall clock, to "
                             "replay history or test: ISO-8601 (2025-11-10T13:00:00Z; UTC "
                             "unless it has an offset) or epoch milliseconds (default: "
                             f"${NOW_VARIABLE}). Only SQL-visible time is pinned: lookup-cache "
                             "TTLs, idle-source timeouts and state TTL keep the real clock")
    parser.add_argument("--quiet", action="store_true", help="no summary on stderr")
    monitor.add_arguments(parser)  # --metrics-port, --log-format, --no-progress
    standby.add_arguments(parser)  # --standby
    return parser


#: The environment variable --now falls back to (a replay pins every run of a shell).
NOW_VARIABLE = "SQLC_NOW"


def _pinned_now(args: argparse.Namespace) -> int | None:
    """The instant --now (else a non-empty $SQLC_NOW) gives, in epoch ms UTC;
    None: the wall clock."""
    import os

    from runtime_lib.temporal import parse_instant

    if args.now is not None:
        where, text = "--now", args.now
    else:
        where, text = NOW_VARIABLE, os.environ.get(NOW_VARIABLE, "")
        if not text.strip():
            return None
    try:
        return parse_instant(text)
    except ValueError as error:
        raise PipelineError(f"{where}: {error}") from None


def _inputs(args: argparse.Namespace, query: type[Pipeline]) -> dict[str, str]:
    known = {s.name.lower(): s.name for s in query.sources if s.rows is None}
    known.update({t.lower(): t for t in query.tables})
    inputs: dict[str, str] = {}
    for item in args.input:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise PipelineError(f"--input takes NAME=PATH, got {item!r}")
        if name.lower() not in known:
            raise PipelineError(
                f"--input {name}: this query reads no source of that name "
                + (f"(it reads {', '.join(known.values())})" if known
                   else "(it reads only VALUES tables)")
            )
        if path.startswith("kafka:"):
            if not path[len("kafka:"):]:
                raise PipelineError(f"--input {name}=kafka:TOPIC needs a topic")
        elif not Path(path).is_file():
            raise PipelineError(f"--input {name}: no such file: {path}")
        inputs[known[name.lower()]] = path
    return inputs


def _kafka_properties(properties: dict[str, str], args: argparse.Namespace) -> dict[str, str]:
    """Connector properties with --bootstrap applied, ${VAR} resolved."""
    from runtime_lib.env import resolve_properties

    properties = dict(properties)
    if args.bootstrap:
        properties["properties.bootstrap.servers"] = args.bootstrap
    return resolve_properties(properties)


class FileReader:
    """A bounded file source behind the reader interface the driver uses:
    ``partitions``, ``finished``, ``read(timeout) -> Chunk | None``,
    ``commits``, ``commit(offsets)``, ``close()``."""

    commits = False
    partitions = (0,)
    dead_letter_topic = None

    def __init__(self, source) -> None:
        self.source = source
        self._batches = iter(source)
        self.finished = False

    def read(self, timeout: float = 0.0):
        from runtime_lib.io.kafka import Chunk

        try:
            batch, dead = next(self._batches)
        except StopIteration:
            self.finished = True
            return None
        return Chunk(batch, dead)

    def commit(self, offsets: dict) -> bool:
        return True

    def position(self) -> dict:
        """For a checkpoint: the lines consumed."""
        return {"line": int(self.source.offset)}

    def resume(self, position: dict) -> None:
        """Before the first read: go on after the checkpointed line."""
        self.source.start_line = self.source.offset = int(position["line"])

    def close(self) -> None:
        pass


def _open_source(source: Source, path: str | None, args: argparse.Namespace,
                 replay: dict | None = None):
    """The reader of one source: a file (--input PATH, or a file connector) or
    Kafka (its connector, or --input NAME=kafka:TOPIC). Kafka readers are
    returned unopened (``open()`` connects); with ``replay`` (the ``stop`` and
    ``rewind_ms`` of a --rebuild-state replay) a Kafka one is a ``KafkaReplay``."""
    from functools import partial

    from runtime_lib.env import resolve_properties
    from runtime_lib.io.kafka import KafkaSource
    from runtime_lib.io.kafka.replay import KafkaReplay
    from runtime_lib.io.sources import FileSource, ValuesReader

    batch_size = args.batch_size
    if source.rows is not None:
        return ValuesReader(source.fields, source.rows, batch_size)
    if source.changelog_key:
        return _open_changelog_source(source, path, args, replay)
    if path is not None and not path.startswith("kafka:"):
        fmt = "csv" if path.lower().endswith(".csv") else "json"
        return FileReader(FileSource(path, source.fields, format=fmt, batch_size=batch_size,
                                     source_name=source.name))
    properties = dict(source.properties)
    if path is not None:  # --input NAME=kafka:TOPIC
        if properties.get("connector") != "kafka":
            properties = {k: v for k, v in properties.items()
                          if k in ("format", "scan.watermark.idle-timeout")}
            properties["connector"] = "kafka"
            properties.setdefault("properties.bootstrap.servers", "${KAFKA_BOOTSTRAP_SERVERS}")
        properties["topic"] = path[len("kafka:"):]
    connector = properties.get("connector", "")
    if connector == "kafka":
        if source.metadata and any(k not in ("timestamp", "partition", "offset", "topic",
                                             "timestamp-type", "leader-epoch")
                                   for k in source.metadata.values()):
            raise PipelineError(f"source {source.name}: unknown metadata key")
        if replay is not None:
            return partial(KafkaReplay, **replay)(
                source.name, source.fields, _kafka_properties(properties, args),
                metadata=source.metadata, batch_size=batch_size,
                connect_timeout=args.connect_timeout)
        return KafkaSource(source.name, source.fields, _kafka_properties(properties, args),
                           metadata=source.metadata, batch_size=batch_size,
                           bounded=args.until_end, connect_timeout=args.connect_timeout)
    properties = resolve_properties(properties)
    if connector in ("file", "filesystem"):
        return FileReader(FileSource(properties["path"], source.fields,
                                     format=properties.get("format", "json"),
                                     batch_size=batch_size, source_name=source.name))
    raise PipelineError(
        f"source {source.name} uses connector '{connector}', which this runtime cannot open "
        f"yet; pass --input {source.name}=FILE to read a file instead"
    )


def _open_changelog_source(source: Source, path: str | None, args: argparse.Namespace,
                           replay: dict | None):
    """The reader of a changelog table scanned as a stream (rows with ops):
    an upsert-kafka or keyed Kafka topic, or a file of changes."""
    from runtime_lib.io.tables.changelog import changelog_stream

    if replay is not None:
        raise PipelineError(f"--rebuild-state: source {source.name} is a changelog (connector "
                            f"'{source.properties.get('connector')}'), which a replay does not "
                            "read yet; start with a new --checkpoint-dir instead")
    from runtime_lib.env import resolve_properties

    properties = dict(source.properties)
    connector = properties.get("connector", "")
    if path is not None and not path.startswith("kafka:"):  # --input NAME=FILE
        properties = {k: v for k, v in properties.items() if k in ("connector", "format")}
    if connector in ("file", "filesystem") or (path is not None and not path.startswith("kafka:")):
        reader = changelog_stream(source.name, source.fields, resolve_properties(properties),
                                  source.changelog_key, source.op_field, path,
                                  batch_size=args.batch_size)
        return FileReader(reader)
    properties = _kafka_properties(properties, args)
    return changelog_stream(source.name, source.fields, properties, source.changelog_key,
                            source.op_field, path, metadata=source.metadata,
                            batch_size=args.batch_size, bounded=args.until_end,
                            connect_timeout=args.connect_timeout)


def _open_output(args: argparse.Namespace, output: Output, pool=None, kafka_sources=(),
                 resume: bool = False):
    """The sink of one output: a catalog sink (INSERT INTO a Kafka stream), the
    --sink override, --output, or stdout."""
    from runtime_lib.io import sinks
    from runtime_lib.io.kafka import KafkaSink

    connector = dict(output.properties).get("connector", "")
    if output.target is not None and not (connector == "blackhole" and args.output):
        # (--output keeps what a blackhole sink would discard, to check a benchmark's rows)
        properties = dict(output.properties)
        if connector in ("kafka", "upsert-kafka"):
            assert pool is not None
            properties = _kafka_properties(properties, args)
            return KafkaSink(properties.get("topic", ""), output.fields, output.key,
                             properties, pool, f"sink {output.target}")
        if connector in ("print",):
            return sinks.StdoutSink(output.fields, pretty=args.pretty)
        if connector == "blackhole":
            return sinks.BlackholeSink(output.fields)
        if connector in ("filesystem", "file"):
            from runtime_lib.env import resolve_properties
            from runtime_lib.io.filesystem_sink import FileSystemSink

            return FileSystemSink(output.fields, output.partitioned_by,
                                  resolve_properties(properties), f"sink {output.target}")
        if connector in ("postgres", "jdbc"):
            from runtime_lib.env import resolve_properties
            from runtime_lib.io.postgres_sink import PostgresSink

            return PostgresSink(output.fields, output.key, resolve_properties(properties),
                                f"sink {output.target}")
        raise PipelineError(
            f"INSERT INTO {output.target}: connector '{connector}' cannot be written by this "
            "runtime yet"
        )
    if args.sink:
        scheme, _, topic = args.sink.partition(":")
        if scheme != "kafka" or not topic:
            raise PipelineError(f"--sink takes kafka:TOPIC, got {args.sink!r}")
        assert pool is not None
        import os

        bootstrap = (args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
                     or next((s.bootstrap for s in kafka_sources), None))
        if not bootstrap:
            raise PipelineError("--sink kafka:TOPIC needs --bootstrap HOST:PORT (or "
                                "KAFKA_BOOTSTRAP_SERVERS)")
        properties = {"topic": topic, "format": "json",
                      "properties.bootstrap.servers": bootstrap}
        return KafkaSink(topic, output.fields, output.key, properties, pool, f"--sink {topic}")
    if args.output:
        # several queries in one file share the --output file: one handle, each
        # query's rows encoded with its own schema
        shared = _OUTPUT_FILES.get(args.output)
        if shared is None:
            # (when resuming, recovery cuts the file back to its checkpointed length)
            shared = _OUTPUT_FILES[args.output] = sinks.JsonLinesFileSink(
                args.output, output.fields, append=resume)
            return shared
        return _SharedFileOutput(shared, output.fields)
    return sinks.StdoutSink(output.fields, pretty=args.pretty)


_OUTPUT_FILES: dict = {}


class _SharedFileOutput:
    """A second query's rows in the --output file another query opened."""

    def __init__(self, owner, fields: tuple[Field, ...]) -> None:
        self.owner = owner
        self.fields = fields

    def write(self, batch: Batch, ops=None) -> None:
        from runtime_lib.io.sinks import encode_json_lines

        self.owner._handle.write(encode_json_lines(batch, self.fields, ops))

    def flush(self) -> None:
        if not self.owner._handle.closed:
            self.owner.flush()

    def close(self) -> None:
        """Nothing to do: the owner flushes and closes the file."""


class DeadLetterRouter:
    """Dead letters to their source's dead-letter topic, or to the dead-letter
    file (stderr when none)."""

    def __init__(self, default, topics: dict) -> None:
        self.default = default
        self.topics = topics  # source name -> KafkaDeadLetterSink
        self.path = default.path

    def write(self, dead) -> None:
        if not self.topics:
            self.default.write(dead)
            return
        rest = [d for d in dead if d.source not in self.topics]
        for source, sink in self.topics.items():
            mine = [d for d in dead if d.source == source]
            if mine:
                sink.write(mine)
        if rest:
            self.default.write(rest)

    def describe(self) -> str:
        where = [f"topic {sink.topic}" for sink in self.topics.values() if sink.count]
        if self.default.count and self.path:
            where.append(str(self.path))
        return f" ({', '.join(where)})" if where else ""

    def flush(self) -> None:
        self.default.flush()

    def position(self) -> dict | None:
        return self.default.position()

    def resume(self, position: dict | None) -> None:
        self.default.resume(position)

    def close(self) -> None:
        self.default.close()


def run(query: type[Pipeline], argv: list[str] | None = None) -> int:
    """Run a generated pipeline to the end of its inputs (or, for unbounded
    Kafka sources, until SIGINT/SIGTERM); returns the exit code."""
    with monitor.Session() as session:  # metrics port, JSON logs, progress bar
        return _run(query, argv, session)


def _run(query: type[Pipeline], argv: list[str] | None, session: monitor.Session) -> int:
    from runtime_lib.io import sinks
    from runtime_lib.io.kafka import (
        KafkaDeadLetterSink,
        KafkaFault,
        KafkaSink,
        KafkaSource,
        KafkaTransactions,
        ProducerPool,
    )
    from runtime_lib.recovery import RecoveryError

    readers: dict = {}
    outputs: list = []
    pool = recovery = restored = None
    args = dead_letters = late_events = None
    began = time.perf_counter()
    stop = stopping.Stop()
    stop.install()  # before anything slow (connecting, JIT warm-up in operators)
    try:
        if stopping.EARLY.take():  # a signal came while Python imported the pipeline
            raise stopping.StopRequested
        args = _parse_args(sys.argv[1:] if argv is None else argv, query)
        session.open(args, query)  # the metrics port answers probes while starting
        now_ms = _pinned_now(args)
        if args.delivery_timeout is not None and not args.delivery_timeout > 0:
            raise PipelineError("--delivery-timeout takes a positive number of seconds, got "
                                f"{args.delivery_timeout:g}")
        inputs = _inputs(args, query)
        recovery = _recovery(args, query)
        readers = {s.name: _open_source(s, inputs.get(s.name), args) for s in query.sources}
        kafka_sources = [r for r in readers.values() if isinstance(r, KafkaSource)]
        needs_pool = (kafka_sources or args.sink
                      or any(o.target is not None for o in query.outputs))
        pool = ProducerPool(args.connect_timeout, args.delivery_timeout) if needs_pool else None
        if recovery is not None and pool is not None and _exactly_once(query, args):
            pool.transactional_id = recovery.id  # before the first producer is made
        if args.sink and all(o.target is not None for o in query.outputs):
            raise PipelineError("--sink: this query has no result of its own; it writes "
                                "with INSERT INTO "
                                + ", ".join(str(o.target) for o in query.outputs))
        for reader in kafka_sources:
            reader.connect()  # partitions are assigned once the checkpoint is known
        if args.standby:  # an upgrade: warm, and wait for the old version to have stopped
            standby.stand_by(args.standby, query, session.metrics)
        _OUTPUT_FILES.clear()
        outputs = [_open_output(args, out, pool, kafka_sources, resume=recovery is not None)
                   for out in query.outputs]
        dead_topics = {}
        for name, reader in readers.items():
            topic = getattr(reader, "dead_letter_topic", None)
            if topic and not args.dead_letter:
                assert pool is not None
                dead_topics[name] = KafkaDeadLetterSink(topic, name, reader.properties, pool)
        counters = Counters()
        dead_path = args.dead_letter or (f"{args.output}.dead-letter.jsonl" if args.output
                                         else None)
        resume = recovery is not None  # files are cut back to the checkpoint, not emptied
        dead_letters = DeadLetterRouter(sinks.DeadLetterSink(dead_path, append=resume),
                                        dead_topics)
        late_events = (LateEventSink(args.late_events, append=resume) if args.late_events
                       else None)
        # the operators: lookup tables resolve their ${VAR}s and properties here
        pipeline = query(Context(outputs, dead_letters, late_events, counters, inputs))
        restored = None
        if recovery is not None:
            recovery.committers = [o for o in outputs if getattr(o, "transactional", False)]
            kafka_sinks = [o for o in outputs if isinstance(o, KafkaSink)]
            if pool is not None and pool.transactional_id is not None and kafka_sinks:
                recovery.committers.append(KafkaTransactions(pool, kafka_sinks[0].topic,
                                                             "exactly-once Kafka sinks"))
            restored = recovery.restore(pipeline, readers, outputs, dead_letters, late_events)
            if restored is not None and recovery.rebuilding:
                _rebuild(query, pipeline, recovery, restored, inputs, args)
        for reader in kafka_sources:
            reader.open(recovery.kafka_positions(restored, reader.name) if restored else None)
        stop.deferred = True  # from here on a signal ends the run cleanly
    except BaseException as error:
        if isinstance(error, SystemExit):  # --help, or a bad flag (argparse exits 2)
            stop.uninstall()
            raise
        _close_quietly(readers, outputs, dead_letters, late_events, stop)
        # a stop while starting is as clean as one while running: nothing was read.
        # (Raised inside a Kafka client's C code, the stop may come back as another
        # error: the signal tells.)
        if isinstance(error, stopping.StopRequested) or (
                stop.requested and not isinstance(error, KeyboardInterrupt)):
            given = sys.argv[1:] if argv is None else argv
            if not (args.quiet if args is not None else "--quiet" in given):
                monitor.summary(Counters(), None, time.perf_counter() - began, stopped=True,
                         starting=True)
            return 0
        if isinstance(error, KeyboardInterrupt):  # a second signal
            print("sqlc: interrupted while starting", file=sys.stderr)
            return 130
        if not isinstance(error, Exception):
            raise
        print(f"error: {error}", file=sys.stderr)
        # 1: a run-time fault (Kafka unreachable); 2: a bad flag, property, file, ${VAR}
        return 1 if isinstance(error, KafkaFault) else 2
    delivery = _Delivery(outputs, dead_letters, late_events, pool)
    # What was built to start (modules, numba, the clients, the query's operators)
    # lives as long as the run: kept out of the collector's sight, so that a full
    # collection while running walks only what the run made since (it took 40-90 ms,
    # a pause in the middle of a micro-batch; benchmarks/kafka/RESULTS.md)
    gc.freeze()
    started = time.perf_counter()
    cpu_started = time.process_time()
    code = 0
    # pinned for this run only: run() may be called again in the same process
    previous_now = scalar.pin_now(now_ms) if now_ms is not None else None
    try:
        from runtime_lib.driver import drive

        drive(pipeline, query.sources, readers, counters, delivery=delivery,
               commit_interval=args.commit_interval, stop=stop, recovery=recovery,
               restored=restored, monitor=session.watch(args, query, readers))
        # (a record that waits longer fails by the delivery timeout anyway)
        delivery.finish(timeout=10.0 if stop.requested or pool is None
                        else pool.longest_timeout + 5.0)
    except (KafkaFault, RecoveryError, sinks.SinkFault) as error:
        print(f"error: {error}", file=sys.stderr)
        code = 1
    finally:
        gc.unfreeze()  # run() may be called again in this process (tests)
        if now_ms is not None:
            scalar.pin_now(previous_now)
        stop.uninstall()
        for reader in readers.values():
            reader.close()
        for committer in recovery.committers if recovery is not None else ():
            committer.close()  # what no checkpoint covers is rolled back
        for out in outputs:
            try:
                out.close()
            except KafkaFault:
                code = code or 1
            except sinks.SinkFault as error:
                print(f"error: {error}", file=sys.stderr)
                code = code or 1
        dead_letters.close()
        if late_events is not None:
            late_events.close()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if not args.quiet:
        monitor.summary(counters, dead_letters, elapsed, stopped=stop.requested, cpu=cpu,
                 now_ms=now_ms)
    return code


def _exactly_once(query: type[Pipeline], args: argparse.Namespace) -> bool:
    """Whether a Kafka sink of this run writes in transactions: with
    checkpoints, unless its 'sink.delivery-guarantee' says otherwise."""
    from runtime_lib.io.kafka import wants_transactions

    targets = [o.properties for o in query.outputs if o.target is not None
               and dict(o.properties).get("connector") in ("kafka", "upsert-kafka")]
    return bool(args.sink) or any(wants_transactions(dict(p)) for p in targets)


def _recovery(args: argparse.Namespace, query: type[Pipeline]):
    """The checkpointing of this run: None without --checkpoint-dir or a SET
    'execution.checkpointing.dir' in the SQL (the flags win over the SETs)."""
    from runtime_lib.env import resolve_env
    from runtime_lib.recovery import (
        DEFAULT_INTERVAL_S,
        KEEP,
        Recovery,
        checkpoint_directory,
        parse_interval,
    )

    directory, where = args.checkpoint_dir, "--checkpoint-dir"
    for key in CHECKPOINT_DIR_KEYS if directory is None else ():
        if key in query.settings:
            where = f"SET {key!r}"
            directory = checkpoint_directory(resolve_env(query.settings[key], key), where)
            break
    if directory is None:
        for flag, value in (("--checkpoint-interval", args.checkpoint_interval),
                            ("--checkpoints-retained", args.checkpoints_retained),
                            ("--key-groups", args.key_groups),
                            ("--max-parallelism", args.max_parallelism)):
            if value is not None:
                raise PipelineError(f"{flag} needs --checkpoint-dir DIR (where the "
                                    "checkpoints go)")
        return None
    interval = DEFAULT_INTERVAL_S
    if args.checkpoint_interval is not None:
        interval = parse_interval(args.checkpoint_interval)
    elif CHECKPOINT_INTERVAL_KEY in query.settings:
        interval = parse_interval(query.settings[CHECKPOINT_INTERVAL_KEY],
                                  f"SET {CHECKPOINT_INTERVAL_KEY!r}")
    retained, retained_where = args.checkpoints_retained, "--checkpoints-retained"
    if retained is None and CHECKPOINTS_RETAINED_KEY in query.settings:
        retained = query.settings[CHECKPOINTS_RETAINED_KEY]
        retained_where = f"SET {CHECKPOINTS_RETAINED_KEY!r}"
    keep = KEEP if retained is None else _retained(retained, retained_where)
    if Path(directory).exists() and not Path(directory).is_dir():
        raise PipelineError(f"{where} {directory}: not a directory")
    recovery = Recovery(directory, interval, keep=keep)
    recovery.rebuild = args.rebuild_state
    recovery.key_groups_text = args.key_groups
    if args.max_parallelism is not None and args.max_parallelism < 1:
        raise PipelineError(f"--max-parallelism takes a positive number, got "
                            f"{args.max_parallelism}")
    recovery.max_parallelism = args.max_parallelism
    return recovery


class _Discarded:
    """Where a replay's dead letters and late rows go: they were written the
    first time the rows were read."""

    path = None

    def write(self, *_: object) -> None:
        pass

    def write_rows(self, *_: object) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _rebuild(query: type[Pipeline], pipeline: Pipeline, recovery, restored, inputs: dict,
             args: argparse.Namespace) -> None:
    """--rebuild-state: the operators ``recovery.rebuilding`` names get the state
    a run of this query would have at the checkpoint. A second instance of the
    query reads each source up to the position the checkpoint had read (a
    file's lines), into sinks that discard (what fired before the checkpoint
    is not emitted again), and without the end of input (open windows stay
    open); its state of those operators replaces theirs.

    Where the rebuilt operator is a window aggregate fed by the sources alone
    (``recovery.replay_start``), its rows before the earliest window that had
    not fired at the checkpoint are dropped as they are read (a file is still
    read from its start); otherwise every row is replayed. What it cost is
    said on stderr."""
    import tempfile
    import time

    from runtime_lib.driver import drive
    from runtime_lib.io import sinks
    from runtime_lib.recovery import operators_of, replay_start

    began = time.perf_counter()
    positions = restored.state["sources"]
    start_ms = replay_start(pipeline, recovery.rebuilding, restored)
    readers: dict = {}
    with tempfile.TemporaryDirectory(prefix="sqlc-rebuild-") as folder:
        try:
            for source in query.sources:
                readers[source.name] = _replay_reader(source, positions.get(source.name) or {},
                                                      inputs.get(source.name), Path(folder),
                                                      start_ms, args)
            counters = Counters()
            replay = query(Context([sinks.BlackholeSink(o.fields) for o in query.outputs],
                                   _Discarded(), _Discarded(), counters, inputs))
            skipped = (_skip_before(replay, query.sources, start_ms) if start_ms is not None
                       else None)
            drive(replay, query.sources, readers, counters, end_of_input=False)
        finally:
            for reader in readers.values():
                reader.close()
    rebuilt, theirs = operators_of(pipeline), operators_of(replay)
    for name in recovery.rebuilding:
        rebuilt[name].restore(theirs[name].snapshot())
    read = sum(counters.records_in.values())
    if skipped is None:
        how = "from the start of the sources"  # (see recovery.replay_start)
    else:
        how = (f"from event time {_iso_ms(start_ms)}, the earliest window not fired at the "
               f"checkpoint ({skipped[0]:,} earlier records skipped)")
    print(f"sqlc: rebuilt operator(s) {', '.join(recovery.rebuilding)} by replaying {read:,} "
          f"records of the sources up to checkpoint {restored.id} {how} "
          f"({time.perf_counter() - began:.2f} s)", file=sys.stderr)
    for name, reader in readers.items():
        starts = getattr(reader, "starts", None)  # a Kafka replay's
        if starts:
            ranges = ", ".join(f"{t}/{p} {o:,}..{reader.stop.get((t, p), 0):,}"
                               for (t, p), o in sorted(starts.items()))
            print(f"sqlc: source {name} replayed offsets {ranges}", file=sys.stderr)


def _replay_reader(source: Source, where: dict, path: str | None, folder: Path,
                   start_ms: int | None, args: argparse.Namespace):
    """The reader of one source for a --rebuild-state replay, opened: a
    file's lines up to the checkpoint's (copied into ``folder``), or a second
    Kafka consumer from the rewound offsets up to the checkpoint's
    (``runtime_lib.io.kafka.replay``): by the record timestamps from
    ``start_ms`` minus the watermark delay and a margin where the event time is
    the record timestamp, else from each partition's first record."""
    from runtime_lib.io.kafka.replay import REWIND_MARGIN_MS

    if source.rows is not None:
        return _open_source(source, path, args)  # a VALUES table: read whole again
    if "kafka" in where:
        stop = {(t, int(p)): int(o) for t, p, o in where["kafka"]}
        rewind_ms = None
        if start_ms is not None and _rewinds_by_record_time(source):
            rewind_ms = start_ms - (source.watermark.delay_ms or 0) - REWIND_MARGIN_MS
        mode = source.properties.get("scan.startup.mode", "earliest-offset")
        if start_ms is None and mode != "earliest-offset":
            raise PipelineError(
                f"--rebuild-state: source {source.name} starts at '{mode}', and the state to "
                "rebuild has no bound in event time: the replay would need the records from "
                "where the first run began, which the checkpoint does not record. Start with "
                "a new --checkpoint-dir instead")
        reader = _open_source(source, path, args,
                              replay={"stop": stop, "rewind_ms": rewind_ms})
        return reader.open()
    path = path or source.properties.get("path")
    if "line" not in where or path is None:
        raise PipelineError(f"--rebuild-state: the checkpoint has no position of source "
                            f"{source.name} to replay up to; start with a new "
                            "--checkpoint-dir instead")
    prefix = folder / f"{source.name}{Path(str(path)).suffix}"
    _copy_lines(Path(str(path)), prefix, int(where["line"]))
    return _open_source(source, str(prefix), args)


def _rewinds_by_record_time(source: Source) -> bool:
    """Whether a Kafka replay of ``source`` may rewind by the record timestamps
    (``'scan.rebuild.rewind'``): by default where its event time is the record
    timestamp (``METADATA FROM 'timestamp'``), else only where the property
    says that the timestamps follow the event time.

    >>> from runtime_lib.pipeline import Source, Watermark
    >>> stamped = Source("s", (), {}, Watermark("t", 5000), metadata={"t": "timestamp"})
    >>> payload = Source("s", (), {}, Watermark("t", 5000))
    >>> said = Source("s", (), {"scan.rebuild.rewind": "record-timestamp"}, Watermark("t"))
    >>> refused = Source("s", (), {"scan.rebuild.rewind": "earliest"}, Watermark("t"),
    ...                  metadata={"t": "timestamp"})
    >>> [_rewinds_by_record_time(s) for s in (stamped, payload, said, refused)]
    [True, False, True, False]
    """
    if source.watermark is None:
        return False
    stamped = source.metadata.get(source.watermark.column) == "timestamp"
    how = source.properties.get("scan.rebuild.rewind",
                                "record-timestamp" if stamped else "earliest")
    if how not in ("record-timestamp", "earliest"):
        raise PipelineError(f"source {source.name}: 'scan.rebuild.rewind' = '{how}' is not "
                            "one of record-timestamp, earliest")
    return how == "record-timestamp"


def _skip_before(replay: Pipeline, sources, start_ms: int) -> list[int]:
    """Make each source's rows before ``start_ms`` (its event time) skip the
    replay's operators; returns a counter of the rows skipped, filled as the
    replay runs. The watermarks still advance by every row read (the driver
    computes them before a batch enters), as in the run that is replayed."""
    import numpy as np

    skipped = [0]

    def skipping(enter, column: str):
        def entry(batch) -> None:
            times = batch[column]
            keep = times.values >= start_ms
            if times.valid is not None:
                keep |= ~times.valid  # (a NULL time goes where the operators say)
            if not keep.all():
                skipped[0] += int(batch.num_rows - np.count_nonzero(keep))
                batch = batch.take(keep)
            if batch.num_rows:
                enter(batch)

        return entry

    for source in sources:
        replay.entries[source.name] = skipping(replay.entries[source.name],
                                               source.watermark.column)
    return skipped


def _iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC, for messages."""
    from datetime import UTC, datetime

    text = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _copy_lines(source: Path, target: Path, lines: int) -> None:
    """The first ``lines`` lines of ``source`` into ``target``."""
    with source.open("rb") as read, target.open("wb") as write:
        for _ in range(lines):
            line = read.readline()
            if not line:
                break
            write.write(line)


def _retained(text: str, where: str) -> int:
    """A count of checkpoints to keep: a whole number, at least 1."""
    text = str(text).strip()
    if not text.isdigit() or int(text) < 1:
        raise PipelineError(f"{where} {text!r}: a whole number of checkpoints, at least 1")
    return int(text)


def _close_quietly(readers: dict, outputs: list, dead_letters, late_events,
                   stop: stopping.Stop) -> None:
    """Close what a start that failed (or was stopped) opened: no file is
    left half written."""
    stop.uninstall()
    for thing in [*readers.values(), *outputs, dead_letters, late_events]:
        if thing is not None:
            with contextlib.suppress(Exception):  # already failing
                thing.close()


class _Delivery:
    """Makes results durable before offsets are committed: flushes the file
    sinks and waits for every Kafka record (sinks and dead letters) to be
    acknowledged. With transactions, this is where the commit of a transaction
    goes (exactly-once)."""

    def __init__(self, outputs: list, dead_letters, late_events, pool) -> None:
        self.outputs = outputs
        self.dead_letters = dead_letters
        self.late_events = late_events
        self.pool = pool

    def poll(self) -> None:
        if self.pool is not None:
            self.pool.poll()
            self.pool.check()

    def flush(self, timeout: float = 5.0) -> bool:
        for out in self.outputs:
            if not hasattr(out, "pool"):
                out.flush()
        self.dead_letters.flush()
        if self.late_events is not None:
            self.late_events.flush()
        if self.pool is None:
            return True
        return self.pool.flush(timeout)

    def finish(self, timeout: float = 60.0) -> None:
        """End of the run: everything delivered, or KafkaFault."""
        from runtime_lib.io.kafka import KafkaFault

        if self.pool is not None and not self.flush(timeout):
            raise KafkaFault(f"results not delivered to Kafka within {timeout:g} s")


class LateEventSink:
    """Rows dropped as late, as JSON lines with the operator and the reason."""

    def __init__(self, path: str, append: bool = False) -> None:
        self.path = Path(path)
        self._handle = open(self.path, "ab" if append else "wb")

    def write_rows(self, operator: str, batch: Batch, reason: str) -> None:
        import orjson

        from runtime_lib.io.sinks import encode_json_lines

        for line in encode_json_lines(batch).splitlines():
            record = {"operator": operator, "reason": reason, "row": orjson.loads(line)}
            self._handle.write(orjson.dumps(record) + b"\n")

    def flush(self) -> None:
        self._handle.flush()

    def position(self) -> dict:
        from runtime_lib.recovery import file_length

        return {"path": str(self.path), "length": file_length(self._handle)}

    def resume(self, position: dict | None) -> None:
        from runtime_lib.recovery import truncate_to

        self._handle.flush()
        truncate_to(self.path, 0 if position is None else int(position["length"]),
                    "late-events file")

    def close(self) -> None:
        self._handle.close()


def main(query: type[Pipeline]) -> None:
    """The ``__main__`` of a generated module: run, and exit with run's code."""
    import signal

    code = run(query)
    # The run is over, stopped or not: a signal while Python tears down numpy and
    # numba (about a tenth of a second) must not turn its exit code into -15.
    # (SIG_IGN, unlike a Python handler, survives the interpreter's finalization.)
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(sig, signal.SIG_IGN)
    sys.exit(code)

"""Kafka sources and sinks on confluent-kafka (librdkafka).

Source (``'connector' = 'kafka'``)
==================================
- **Assignment.** Like Flink's Kafka source, the reader assigns itself every
  partition of its topic(s) (``Consumer.assign``); it does not join a consumer
  group, so it starts reading at once (a group join takes 1-23 s on tansu, see
  tests/services/README.md). ``properties.group.id``, when given, is the group
  the offsets are committed to and read back from (``group-offsets``).
  Partitions added to a topic while the pipeline runs are not picked up.
- **Start position** (``scan.startup.mode``): ``earliest-offset`` (the default),
  ``latest-offset``, ``group-offsets`` (the group's committed offsets; where it
  has none, ``properties.auto.offset.reset``, default ``earliest``) and
  ``timestamp`` (``scan.startup.timestamp-millis``: per partition, the first
  record whose timestamp is >= the given one). ``offsets_for_times`` gives that
  offset; because tansu answers 0 whatever the timestamp, the reader also skips
  records before the first one at or after the timestamp, which is the same
  definition and costs nothing once it is reached.
- **Batches.** ``consume(num_messages=batch_size)`` takes what the client has
  fetched (without waiting when records are ready; when none are, it waits for
  the first one at most ``timeout``), and the values are decoded in one call of
  the bulk decoders in decode.py (``format`` / ``value.format``: ``json``,
  ``csv`` (fields in column order, no header) or ``raw`` (the value as the one
  VARCHAR/BYTES column)). Per-message Python work is a few ``map`` calls over
  the message list (value, partition), nothing per field.
- **Keys.** ``key.format`` + ``key.fields`` (``'a;b'``): those columns are
  decoded from the message key, the others from the value (Flink's
  ``value.fields-include = EXCEPT_KEY``; with ``raw`` the key is the one
  field's text).
- **Metadata columns** (``METADATA FROM 'timestamp' | 'partition' | 'offset' |
  'topic' | 'timestamp-type' | 'leader-epoch'``) are cut from the messages
  only when the query reads them.
- **Watermarks per partition.** Each chunk carries the partition of every row
  (``Chunk.parts``); the driver observes each run of rows of one partition
  with ``Watermarks.observe(partition, ts)``, so the operator watermark is the
  minimum over the partitions, and ``scan.watermark.idle-timeout`` lets a
  partition without data stop holding it back. Every assigned partition is
  declared up front: an empty partition holds the watermark until it times
  out (Flink's rule).
- **Bounded reading** (``--until-end`` or ``'scan.bounded.mode' =
  'latest-offset'``): each partition is read up to its end-of-partition event
  (``enable.partition.eof``; tansu's ListOffsets high watermark is wrong, the
  EOF event is right), then paused; when all are, the source is finished and
  the final watermark fires every window. Unbounded by default.
- **Bad records** become dead letters (``KafkaDeadLetter``: reason, raw value,
  key, topic/partition/offset), written to ``'dead-letter.topic'`` with headers
  ``sqlc.error.reason``, ``sqlc.source.name``, ``sqlc.source.topic``,
  ``sqlc.source.partition``, ``sqlc.source.offset`` (or to the dead-letter file
  when the source names no topic). A tombstone (null value) is a dead letter
  too: an append stream has no use for it, and it is never dropped silently.

Changelog mode
==============
``KafkaSource(..., changelog_key=[...], op_field=None)`` reads a topic as
Flink's upsert-kafka does, for the tables a lookup join keeps in state
(lookup.py ``KafkaTable``): each chunk's batch carries ``ops``. A message is
an upsert of its key (``+U``; with ``op_field``, the kind that column holds:
``+I``/``+U`` upsert, ``-U``/``-D`` delete); a tombstone deletes the key its
message key names (``-D``, decoded with ``key.format``, JSON by default, the
other columns NULL). A message that does not decode, whose key is missing,
or whose kind is unknown, is a dead letter. ``caught_up`` says when every
partition has been read to its end once (the end-of-partition events).

Sink
====
``KafkaSink`` writes a result ``Batch`` as JSON values (``format`` ``json``, or
``raw`` for one string column), with ``produce_batch`` (one C call per batch).

- Append-only results: value = the row; key = ``key.fields`` of the sink when
  given, else none.
- Updating results (``Batch.ops``) with an upsert key (``Output.key``): key =
  the key columns as a JSON object, value = the row (+I, +U) or a tombstone
  (-D), as Flink's upsert-kafka writes them, so a compacted topic holds the
  current result. -U rows are not written: the +U that follows them carries the
  same key and replaces the value (upsert-kafka consumes the same changelog
  without UPDATE_BEFORE); writing a tombstone for them would only make readers
  of the topic see the row disappear for a moment.
- Updating results without a key: the row with a leading ``"_op"`` field
  (the changelog as JSON lines, like the file sinks).

Delivery: producers run with ``acks=all`` and idempotence (a retried batch is
not written twice; tansu forgets producer ids when it restarts, which stalls an
idempotent producer: set ``'properties.enable.idempotence' = 'false'`` there),
and report only failed deliveries (``delivery.report.only.error``); a failed delivery stops the
pipeline with exit code 1 (never a silent drop). So does a stalled one: a
record not acknowledged within the delivery timeout (``--delivery-timeout``
seconds, else the sink's ``'properties.delivery.timeout.ms'``, else 120 s, the
Java client's default that Flink runs with; librdkafka's own is 300 s) fails
by librdkafka's ``message.timeout.ms``, and the pool's own watch ends the run
5 s later if librdkafka does not: one line, ``error: sink S: N record(s) not
delivered to Kafka at HOST:PORT within T s: ...``, exit code 1. ``flush`` waits for every
queued record; the driver commits source offsets only after it (see
pipeline.py, at-least-once). Exactly-once will wrap the same points in a
transaction (``begin``/``send_offsets_to_transaction``/``commit``).

Faults
======
A broker that cannot be reached at start is retried with exponential backoff
(0.5 s doubling to 8 s) and a message per attempt, for ``connect_timeout``
seconds, then ``KafkaUnavailable`` (exit 1). While running, lost connections
are retried by librdkafka (``reconnect.backoff.max.ms`` 1000) and reported at
most every 10 s; the consumer keeps its positions and the producer its queue,
so the pipeline resumes where it was. A broker that comes back without its data
(tansu: all of it) is noticed by the reader (``KafkaSource._watch_partitions``):
a topic that is gone is waited for ``connect_timeout`` seconds, then the run
fails; a topic that came back (re-created) and a partition that now ends before
the reader's position are read again from ``auto.offset.reset`` (earliest),
each said in one line, as Apache Kafka's OFFSET_OUT_OF_RANGE does for a
consumer (tansu answers such a fetch with nothing).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_, itemgetter, methodcaller
from typing import Any

import numpy as np

from runtime_lib.columns import Batch, Column, concat_columns, null_column
from runtime_lib.io.decode import CsvDecoder, DeadLetter, JsonDecoder
from runtime_lib.malformed import utf8_reason
from runtime_lib.schema import TIMESTAMP_TYPES, Field, as_schema

__all__ = [
    "Chunk",
    "KafkaConfigError",
    "KafkaDeadLetter",
    "KafkaDeadLetterSink",
    "KafkaFault",
    "KafkaSink",
    "KafkaSource",
    "KafkaUnavailable",
    "ProducerPool",
    "client_properties",
]

STARTUP_MODES = ("earliest-offset", "latest-offset", "group-offsets", "timestamp")
FORMATS = ("json", "csv", "raw")
_CHANGE_KINDS = ("+I", "+U", "-U", "-D")

# Defaults for every consumer the runtime creates; properties.* override them.
CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,  # offsets are committed after delivery (pipeline.py)
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,  # bounded reading; tansu's high watermark is wrong
    "auto.offset.reset": "earliest",  # no committed offset / position past the end
    # tansu answers an empty fetch only after fetch.wait.max.ms even when a record
    # arrives meanwhile (README of tests/services): 10 ms keeps the end-to-end
    # latency low; Apache Kafka answers as soon as data arrives anyway.
    "fetch.wait.max.ms": 10,
    "reconnect.backoff.max.ms": 1000,  # back within a second of a broker restart
    "socket.nagle.disable": True,
}
PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
    "batch.num.messages": 10_000,
    "delivery.report.only.error": True,  # callbacks only for failures
    "reconnect.backoff.max.ms": 1000,
    "socket.nagle.disable": True,
}

log = logging.getLogger("sqlc.kafka")


class KafkaConfigError(ValueError):
    """A property the runtime cannot use (exit code 2)."""


class KafkaFault(RuntimeError):
    """Kafka failed while running: a failed delivery, a fatal client error (exit 1)."""


class KafkaUnavailable(KafkaFault):
    """The broker (or a topic) could not be reached within the connect timeout."""


def _say(message: str) -> None:
    print(f"sqlc: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------- config


def client_properties(properties: dict[str, str]) -> dict[str, str]:
    """The ``properties.*`` entries, prefix removed: what the client is given."""
    return {k[len("properties."):]: v for k, v in properties.items() if k.startswith("properties.")}


# consumer settings a producer warns about (the dead-letter producer starts
# from the source's properties.*)
_CONSUMER_ONLY = ("group.", "fetch.", "auto.", "enable.auto.", "enable.partition.eof",
                  "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
                  "isolation.level", "partition.assignment.strategy", "queued.",
                  "check.crcs", "max.partition.fetch.bytes", "consume.callback.max.messages",
                  "offset.store.", "allow.auto.create.topics", "client.rack")


def producer_properties(client: dict[str, str]) -> dict[str, str]:
    """A source's client properties without the consumer-only ones."""
    return {k: v for k, v in client.items() if not k.startswith(_CONSUMER_ONLY)}


def _split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(";") if part.strip()]


class _Reporter:
    """librdkafka errors and logs, reported at most every ``every`` seconds per
    kind (a broker that is down makes the client log every reconnect)."""

    def __init__(self, what: str, bootstrap: str = "", every: float = 10.0) -> None:
        self.what = what
        self.bootstrap = bootstrap
        self.every = every
        self._last: dict[str, float] = {}
        self.fatal: Any = None
        self.down_since: float | None = None
        self.outages = 0  # how often the connection was lost
        self.quiet = False  # while wait_for_cluster reports the attempts itself

    def _rate_limited(self, kind: str, message: str) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self._last.get(kind, -1e9) >= self.every:
            self._last[kind] = now
            _say(f"{self.what}: {message}")

    def error(self, err: Any) -> None:  # librdkafka error_cb
        from confluent_kafka import KafkaError

        if err.fatal():
            self.fatal = err
            return
        if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            if self.down_since is None:
                self.down_since = time.monotonic()
                self.outages += 1
            where = f" at {self.bootstrap}" if self.bootstrap else ""
            self._rate_limited("down", f"Kafka unreachable{where}; retrying")
            return
        self._rate_limited(str(err.code()), f"Kafka reports {err.name()} ({err.str()})")

    def up(self) -> None:
        if self.down_since is not None:
            down = time.monotonic() - self.down_since
            if down >= 1.0 and not self.quiet:
                _say(f"{self.what}: Kafka reachable again after {down:.1f} s")
            self.down_since = None

    def logger(self) -> logging.Logger:
        """A logger for librdkafka's own log lines (``logger`` config): warnings
        and errors only, rate limited."""
        client_log = logging.getLogger(f"sqlc.kafka.client.{id(self)}")
        client_log.propagate = False
        client_log.setLevel(logging.WARNING)
        reporter = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                text = record.getMessage()
                kind = text.split(" ", 1)[0]
                if kind == "FAIL":  # connection failures: error_cb reports them
                    return
                reporter._rate_limited("log:" + kind, text)

        client_log.handlers = [_Handler()]
        return client_log

    def check(self) -> None:
        if self.fatal is not None:
            raise KafkaFault(f"{self.what}: fatal Kafka error: {self.fatal.str()}")


def wait_for_cluster(client: Any, bootstrap: str, topics: Sequence[str], timeout_s: float,
                     what: str, reporter: _Reporter | None = None) -> Any:
    """Cluster metadata once the broker answers and every topic exists; retried
    with backoff (0.5 s doubling to 8 s) and a message per attempt, for
    ``timeout_s`` seconds, then ``KafkaUnavailable``.

    Asks for all topics' metadata (not for the topics by name, which makes
    brokers with auto-creation, tansu among them, create the topic)."""
    if reporter is not None:
        reporter.quiet = True
    metadata = _wait_for_cluster(client, bootstrap, topics, timeout_s, what)
    if reporter is not None:  # (stays quiet after a failure: the error says it all)
        reporter.quiet = False
        reporter.down_since = None
    return metadata


def _wait_for_cluster(client: Any, bootstrap: str, topics: Sequence[str], timeout_s: float,
                      what: str) -> Any:
    from confluent_kafka import KafkaException

    started = time.monotonic()
    deadline = started + timeout_s
    delay = 0.5
    attempt = 0
    while True:
        attempt += 1
        remaining = max(0.1, deadline - time.monotonic())
        try:
            # a down broker makes list_topics wait its whole timeout: keep it short
            metadata = client.list_topics(timeout=min(1.0, max(0.1, remaining / 2)))
            missing = [t for t in topics
                       if t not in metadata.topics or metadata.topics[t].error is not None
                       or not metadata.topics[t].partitions]
            if not missing:
                if attempt > 1:
                    _say(f"{what}: connected to Kafka at {bootstrap}")
                return metadata
            problem = ("topic " + ", ".join(repr(t) for t in missing)
                       + f" does not exist on Kafka at {bootstrap}")
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            code = err.code() if hasattr(err, "code") else None
            detail = ("" if code is None or code in _transient_codes()
                      else f" (error {_code_name(code)})")
            problem = f"cannot reach Kafka at {bootstrap}{detail}"
        elapsed = time.monotonic() - started
        if time.monotonic() + delay > deadline:
            raise KafkaUnavailable(
                f"{what}: {problem}; gave up after {attempt} attempts in {elapsed:.1f} s "
                "(--connect-timeout)")
        _say(f"{what}: {problem}; retrying in {delay:g} s (attempt {attempt})")
        time.sleep(delay)
        delay = min(delay * 2, 8.0)


# ----------------------------------------------------------------------- source


@dataclass(frozen=True, slots=True)
class KafkaDeadLetter(DeadLetter):
    """A dead letter that remembers its message: key, topic, partition, offset."""

    key: bytes | None = None
    topic: str = ""
    partition: int = -1
    offset: int = -1


@dataclass
class Chunk:
    """What a reader hands the driver: decoded rows, dead letters, and where
    the rows came from.

    ``parts[i]`` is the index (into ``keys``) of row i's partition, or ``None``
    when every row comes from ``keys[0]``; ``ends`` maps a partition to the
    offset after the last record of it consumed in this chunk (bad records
    included), for commits."""

    batch: Batch
    dead: list
    parts: np.ndarray | None = None
    keys: Sequence = (0,)
    ends: dict | None = None


_METADATA_KINDS = {"timestamp": "i", "partition": "i", "offset": "i", "topic": "O",
                   "timestamp-type": "O", "leader-epoch": "i"}
_TIMESTAMP_TYPES = {0: "NoTimestampType", 1: "CreateTime", 2: "LogAppendTime"}


class _RawDecoder:
    """``format = 'raw'``: the whole value is the one physical column."""

    def __init__(self, schema: Sequence[Field], source: str) -> None:
        fields = list(schema)
        if len(fields) != 1:
            raise KafkaConfigError(
                f"source {source}: format 'raw' reads exactly one physical column, "
                f"the query reads {len(fields)} ({', '.join(f.name for f in fields)})")
        self.field = fields[0]
        self.source = source
        if self.field.base not in ("VARCHAR", "CHAR", "STRING", "BYTES", "VARBINARY", "BINARY"):
            raise KafkaConfigError(
                f"source {source}: format 'raw' needs a VARCHAR or BYTES column, "
                f"{self.field.name} is {self.field.type_name}")

    def decode(self, records: Sequence[bytes], positions=None) -> tuple[Batch, list]:
        if self.field.base in ("BYTES", "VARBINARY", "BINARY"):
            values = np.fromiter(records, dtype=object, count=len(records))
            return Batch({self.field.name: Column(values)}, len(records)), []
        texts: list = []
        dead: list = []
        try:
            texts = [bytes(r).decode("utf-8") for r in records]
        except UnicodeDecodeError:
            keep = []
            texts = []
            for i, r in enumerate(records):
                try:
                    texts.append(bytes(r).decode("utf-8"))
                    keep.append(i)
                except UnicodeDecodeError:
                    where = i if positions is None else positions[i]
                    dead.append(DeadLetter(bytes(r), f"raw value: {utf8_reason(bytes(r))}",
                                           self.source, where))
        values = np.fromiter(texts, dtype=object, count=len(texts))
        return Batch({self.field.name: Column(values)}, len(texts)), dead


def _decoder(fmt: str, fields: Sequence[Field], source: str, role: str):
    if fmt == "json":
        return JsonDecoder(fields, source)
    if fmt == "csv":
        return CsvDecoder(fields, [f.name for f in fields], source)
    if fmt == "raw":
        return _RawDecoder(fields, source)
    raise KafkaConfigError(f"source {source}: {role} format '{fmt}' is not one of "
                           + ", ".join(FORMATS))


class KafkaSource:
    """Micro-batches from the partitions of one or more topics (``'topic' =
    'a;b'``). Use ``open()``, then ``read(timeout)`` until ``finished``; see
    the module docstring.

    ``properties`` are the source's connector properties, already resolved
    (``${VAR}`` replaced)."""

    def __init__(self, name: str, fields: Sequence[Field], properties: dict[str, str], *,
                 metadata: dict[str, str] | None = None, batch_size: int = 65_536,
                 bounded: bool = False, connect_timeout: float = 60.0,
                 changelog_key: Sequence[str] | None = None, op_field: str | None = None,
                 what: str | None = None) -> None:
        self.name = name
        self.what = what = what or f"source {name}"  # how messages name this reader
        self.properties = dict(properties)
        self.batch_size = max(1, int(batch_size))
        self.connect_timeout = connect_timeout
        self.metadata = dict(metadata or {})
        self.topics = _split_list(properties.get("topic"))
        if not self.topics:
            raise KafkaConfigError(f"{what}: the property 'topic' is missing or empty")
        if "topic-pattern" in properties:
            raise KafkaConfigError(f"{what}: 'topic-pattern' is not supported; list "
                                   "the topics in 'topic' separated by ';'")
        mode = properties.get("scan.startup.mode", "earliest-offset")
        if mode not in STARTUP_MODES:
            raise KafkaConfigError(f"{what}: 'scan.startup.mode' = '{mode}' is not one "
                                   "of " + ", ".join(STARTUP_MODES))
        self.startup_mode = mode
        self.startup_ts: int | None = None
        if mode == "timestamp":
            text = properties.get("scan.startup.timestamp-millis")
            try:
                self.startup_ts = int(text)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise KafkaConfigError(
                    f"{what}: 'scan.startup.mode' = 'timestamp' needs "
                    f"'scan.startup.timestamp-millis' (epoch milliseconds), got {text!r}") from None
        bounded_mode = properties.get("scan.bounded.mode", "unbounded")
        if bounded_mode not in ("unbounded", "latest-offset"):
            raise KafkaConfigError(f"{what}: 'scan.bounded.mode' = '{bounded_mode}' is "
                                   "not supported (unbounded or latest-offset)")
        self.bounded = bounded or bounded_mode == "latest-offset"
        value_format = properties.get("value.format", properties.get("format", "json"))
        key_format = properties.get("key.format")
        key_names = _split_list(properties.get("key.fields"))
        by_name = {f.name: f for f in fields}
        if key_names and key_format is None:
            raise KafkaConfigError(f"{what}: 'key.fields' needs 'key.format'")
        # key columns the query does not read were pruned from `fields`: not decoded
        self.key_fields = [by_name[k] for k in key_names if k in by_name]
        value_fields = [f for f in fields if f.name not in key_names]
        self.value_decoder = _decoder(value_format, value_fields, name, "value")
        self.key_decoder = (_decoder(key_format, self.key_fields, name, "key")
                            if key_format is not None and self.key_fields else None)
        self.field_order = [f.name for f in fields]
        self._kinds = [f.kind for f in fields]
        self.changelog_key = None if changelog_key is None else list(changelog_key)
        self.op_field = op_field
        self.delete_decoder = None
        if self.changelog_key is not None:
            wanted = self.changelog_key + ([op_field] if op_field else [])
            missing = [k for k in wanted if k not in by_name]
            if missing:
                raise KafkaConfigError(f"{what}: no column {', '.join(missing)}")
            if key_names and not set(self.changelog_key) <= set(key_names):
                raise KafkaConfigError(
                    f"{what}: 'key.fields' ({'; '.join(key_names)}) must hold the primary "
                    f"key ({', '.join(self.changelog_key)}): a tombstone has only the key")
            # a tombstone's row: the key fields, from the message key
            self.delete_decoder = self.key_decoder if key_names else _decoder(
                key_format or "json", [by_name[k] for k in self.changelog_key], name, "key")
        for column, key in self.metadata.items():
            if key not in _METADATA_KINDS:
                raise KafkaConfigError(f"{what}: unknown Kafka metadata key '{key}' "
                                       f"(column {column})")
        conf = dict(CONSUMER_DEFAULTS)
        conf.update(client_properties(properties))
        self.bootstrap = str(conf.get("bootstrap.servers", ""))
        if not self.bootstrap:
            raise KafkaConfigError(f"{what}: 'properties.bootstrap.servers' is not set")
        self.group_id = conf.get("group.id")
        if mode == "group-offsets" and not self.group_id:
            raise KafkaConfigError(f"{what}: 'scan.startup.mode' = 'group-offsets' "
                                   "needs 'properties.group.id'")
        self.commits = bool(self.group_id)
        if not self.group_id:  # the client needs one; nothing is committed to it
            conf["group.id"] = f"sqlc-{name}-{uuid.uuid4().hex[:8]}"
        conf.setdefault("client.id", f"sqlc-{name}")
        self.reporter = _Reporter(what, self.bootstrap)
        conf["error_cb"] = self.reporter.error
        conf["logger"] = self.reporter.logger()
        self.conf = conf
        reset = str(conf.get("auto.offset.reset", "earliest")).lower()
        self._reset_to = ("earliest" if reset in ("earliest", "smallest", "beginning") else
                          "latest" if reset in ("latest", "largest", "end") else "error")
        self.dead_letter_topic = properties.get("dead-letter.topic") or None
        self.consumer: Any = None
        self._metadata: Any = None  # of the topics, from connect()
        self.keys: list = []  # partition keys: int (one topic) or (topic, partition)
        self._code: dict[tuple[str, int], int] = {}
        self._code_table: np.ndarray | None = None  # partition number -> code (one topic)
        self._done: set[int] = set()  # codes at their end (bounded)
        self._reached: set[int] = set()  # codes that were at their end at least once
        self._skipping: set[int] = set()  # codes still before the startup timestamp
        self.records_read = 0
        self.finished = False
        self._tps: list = []  # the assigned TopicPartitions, in code order
        self._checked_at = 0.0  # when _watch_partitions last ran
        self._outages_seen = 0  # reporter.outages when the topics were last checked
        self._missing_since: float | None = None  # a topic is gone since then
        self._gone: set[str] = set()  # topics seen missing since the last check
        self._partition_counts: dict[str, int] = {}  # per topic, when reading began

    # -- opening ------------------------------------------------------------

    @property
    def partitions(self) -> list:
        return list(self.keys)

    @property
    def caught_up(self) -> bool:
        """Every partition was read to its end at least once (its
        end-of-partition event came): what existed when reading began is read."""
        return self.consumer is not None and len(self._reached) == len(self.keys)

    def connect(self) -> Any:
        """Make the consumer and wait for the cluster and the topics (their
        metadata, once: ``open`` uses it)."""
        from confluent_kafka import Consumer, KafkaException

        if self._metadata is None:
            try:
                self.consumer = Consumer(self.conf)
            except KafkaException as exc:
                raise KafkaConfigError(f"{self.what}: {exc.args[0].str()}") from None
            self._metadata = wait_for_cluster(self.consumer, self.bootstrap, self.topics,
                                              self.connect_timeout, self.what, self.reporter)
        return self._metadata

    def position_of(self, key) -> tuple[str, int]:
        """(topic, partition) of a partition key."""
        return (self.topics[0], int(key)) if len(self.topics) == 1 else (key[0], int(key[1]))

    def open(self, positions: dict[tuple[str, int], int] | None = None) -> KafkaSource:
        """Connect and assign every partition, at its startup position, or at
        ``positions[(topic, partition)]`` (the next offset to read, from a
        checkpoint) where one is given."""
        from confluent_kafka import (
            OFFSET_BEGINNING,
            OFFSET_END,
            OFFSET_STORED,
            KafkaException,
            TopicPartition,
        )

        metadata = self.connect()
        tps = []
        for topic in self.topics:
            for p in sorted(metadata.topics[topic].partitions):
                self._code[(topic, p)] = len(self.keys)
                self.keys.append(p if len(self.topics) == 1 else (topic, p))
                tps.append(TopicPartition(topic, p))
        if len(self.topics) == 1 and self.keys == list(range(len(self.keys))):
            self._code_table = np.arange(len(self.keys), dtype=np.int64)  # code = partition
        if self.startup_mode == "earliest-offset":
            for tp in tps:
                tp.offset = OFFSET_BEGINNING
        elif self.startup_mode == "latest-offset":
            for tp in tps:
                tp.offset = OFFSET_END
        elif self.startup_mode == "group-offsets":
            for tp in tps:
                tp.offset = OFFSET_STORED
        else:
            assert self.startup_ts is not None
            query = [TopicPartition(tp.topic, tp.partition, self.startup_ts) for tp in tps]
            try:
                found = self.consumer.offsets_for_times(query, timeout=self.connect_timeout)
            except KafkaException as exc:
                raise KafkaUnavailable(f"{self.what}: offsets for timestamp "
                                       f"{self.startup_ts}: {exc.args[0].str()}") from None
            for tp, hit in zip(tps, found):
                tp.offset = hit.offset if hit.offset >= 0 else OFFSET_END
            self._skipping = set(range(len(tps)))
        for code, tp in enumerate(tps):
            resume = (positions or {}).get((tp.topic, tp.partition))
            if resume is not None:  # a checkpoint says where this partition goes on
                tp.offset = int(resume)
                self._skipping.discard(code)
        self.consumer.assign(tps)
        self._tps = [TopicPartition(tp.topic, tp.partition) for tp in tps]
        self._partition_counts = {t: len(metadata.topics[t].partitions) for t in self.topics}
        self._checked_at = time.monotonic()
        if not tps:
            self.finished = self.bounded
        return self

    # -- reading ------------------------------------------------------------

    def read(self, timeout: float = 0.1) -> Chunk | None:
        """The next micro-batch, or None when nothing arrived within ``timeout``
        seconds (or the source is finished)."""
        if self.finished:
            return None
        consumer = self.consumer
        messages = consumer.consume(self.batch_size, 0)
        if not messages and timeout > 0:
            messages = consumer.consume(1, timeout)
            if messages and self.batch_size > 1:
                messages += consumer.consume(self.batch_size - 1, 0)
        self.reporter.check()
        if time.monotonic() - self._checked_at >= 0.5:
            self._watch_partitions()
        if not messages:
            return None
        self.reporter.up()
        return self._chunk(messages)

    # -- after the broker lost data -----------------------------------------

    def _watch_partitions(self) -> None:
        """What librdkafka does not report when a broker comes back without its
        data (tansu keeps topics in memory), checked twice a second from local
        state, plus one metadata request after each outage. Apache Kafka
        answers a fetch past the end with OFFSET_OUT_OF_RANGE, and the consumer
        goes to ``auto.offset.reset``; tansu answers with nothing, so a reader
        would wait silently until new records pass its old position, skipping
        those before. Each case is said in one line, and the partitions the
        broker lost are read again from ``auto.offset.reset`` (earliest by
        default; with ``error`` the run fails):

        - a topic that is gone is waited for, for --connect-timeout seconds
          (then KafkaUnavailable); when it is back it is a new topic;
        - a topic with another number of partitions than when reading began
          was re-created (partitions added are not read until a restart);
        - a partition that ends before the reader's position (the high
          watermark of the broker's fetch responses is lower) lost records.

        A topic re-created with as many partitions, to which new records come
        faster than the reader's first fetch after the outage, is not noticed."""
        from confluent_kafka import KafkaException

        self._checked_at = time.monotonic()
        if self.reporter.outages != self._outages_seen or self._missing_since is not None:
            try:
                metadata = self.consumer.list_topics(timeout=0.5)
            except KafkaException:
                metadata = None  # still unreachable: librdkafka retries, the reporter says so
            if metadata is not None:
                self._outages_seen = self.reporter.outages
                self._check_topics(metadata)
        live = [tp for code, tp in enumerate(self._tps) if code not in self._done]
        if not live:
            return
        try:
            positions = self.consumer.position(live)
        except KafkaException:
            return
        lost = []
        for tp in positions:
            if tp.offset < 0:
                continue  # not fetched yet (or just reset)
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if 0 <= high < tp.offset:
                lost.append(tp)
                _say(f"{self.what}: topic '{tp.topic}' partition {tp.partition} ends at offset "
                     f"{high}, before the reader's position {tp.offset}: the broker lost records "
                     "(it restarted without its data?)")
        if lost:
            self._read_again(lost)

    def _check_topics(self, metadata: Any) -> None:
        now = time.monotonic()
        missing = [t for t in self.topics
                   if t not in metadata.topics or metadata.topics[t].error is not None
                   or not metadata.topics[t].partitions]
        if missing:
            names = ", ".join(repr(t) for t in missing)
            if self._missing_since is None:
                self._missing_since = now
                self._gone.update(missing)
                _say(f"{self.what}: topic {names} no longer exists on Kafka at {self.bootstrap} "
                     f"(deleted, or lost when the broker restarted); waiting for it for "
                     f"{self.connect_timeout:g} s (--connect-timeout)")
            elif now - self._missing_since > self.connect_timeout:
                raise KafkaUnavailable(
                    f"{self.what}: topic {names} is gone from Kafka at {self.bootstrap}; gave "
                    f"up after {now - self._missing_since:.1f} s (--connect-timeout)")
            return
        self._missing_since = None
        renewed = []
        for topic in self.topics:
            count, was = len(metadata.topics[topic].partitions), self._partition_counts[topic]
            if topic not in self._gone and count == was:
                continue
            _say(f"{self.what}: topic '{topic}' "
                 + ("exists again, as a new topic" if topic in self._gone else "was re-created")
                 + (f"; it has {count} partitions, {was} when reading began"
                    + ("; partitions added are not read until the pipeline restarts"
                       if count > was else "") if count != was else ""))
            self._partition_counts[topic] = count
            renewed += [tp for tp in self._tps if tp.topic == topic]
        self._gone.clear()
        if renewed:
            self._read_again(renewed)

    def _read_again(self, tps: list) -> None:
        """Go back to ``auto.offset.reset`` on partitions the broker lost."""
        from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaException, TopicPartition

        by_topic: dict[str, list[str]] = {}
        for tp in tps:
            by_topic.setdefault(tp.topic, []).append(str(tp.partition))
        where = "; ".join(f"topic '{t}' partition{'s' if len(ps) > 1 else ''} {', '.join(ps)}"
                          for t, ps in by_topic.items())
        if self._reset_to == "error":
            raise KafkaFault(f"{self.what}: the broker lost records of {where} "
                             "('auto.offset.reset' = error)")
        start = OFFSET_BEGINNING if self._reset_to == "earliest" else OFFSET_END
        _say(f"{self.what}: reading {where} again from the "
             f"{'start' if start == OFFSET_BEGINNING else 'end'} "
             f"('auto.offset.reset' = {self._reset_to})")
        wanted = {(tp.topic, tp.partition) for tp in tps}
        try:
            for tp in tps:
                self.consumer.seek(TopicPartition(tp.topic, tp.partition, start))
        except KafkaException:  # a partition not fetching just now: assign them afresh
            current = self.consumer.position(list(self._tps))
            self.consumer.assign([TopicPartition(tp.topic, tp.partition, start)
                                  if (tp.topic, tp.partition) in wanted else tp
                                  for tp in current])

    def _chunk(self, messages: list) -> Chunk | None:
        from confluent_kafka import Message

        n = len(messages)
        partitions = np.fromiter(map(Message.partition, messages), dtype=np.int64, count=n)
        if self._code_table is not None:  # one topic, partitions 0..n-1
            codes = partitions
        else:
            topics = list(map(Message.topic, messages))
            codes = np.fromiter((self._code.get((t, int(p)), -1)
                                 for t, p in zip(topics, partitions)), dtype=np.int64, count=n)
        errors = list(map(Message.error, messages))
        keep = None
        if any(errors):  # also drops records after their partition's end (bounded)
            keep = self._handle_errors(messages, errors, codes)
        elif self._done:
            keep = ~np.isin(codes, list(self._done))
        if keep is not None and not keep.all():
            chosen = np.flatnonzero(keep)
            if not len(chosen):
                return None
            messages = ([messages[int(chosen[0])]] if len(chosen) == 1
                        else list(itemgetter(*chosen.tolist())(messages)))
            codes = codes[chosen]
            n = len(messages)
        if self._skipping:
            messages, codes = self._skip_early(messages, codes)
            n = len(messages)
            if not n:
                return None
        # where each partition's run ends: the offset after its last message
        boundaries = np.flatnonzero(np.diff(codes)) + 1
        starts = np.concatenate(([0], boundaries))
        ends: dict = {}
        for s, e in zip(starts.tolist(), np.concatenate((boundaries, [n])).tolist()):
            ends[self.keys[int(codes[s])]] = messages[e - 1].offset() + 1
        self.records_read += n
        if self.changelog_key is None:
            columns, bad, dead = self._rows(messages)
            ops = None
        else:
            columns, bad, dead, ops = self._changes(messages)
        if dead:
            dead.sort(key=lambda d: (d.partition, d.offset))
        keep = None if not bad.any() else ~bad
        chosen = messages if keep is None else [m for m, ok in zip(messages, keep.tolist()) if ok]
        for column, key in self.metadata.items():
            columns[column] = _metadata_column(chosen, key)
        ordered = {name: columns[name] for name in self.field_order if name in columns}
        for name, column in columns.items():
            ordered.setdefault(name, column)
        batch = Batch(ordered, len(chosen), None, ops)
        parts = None
        if len(self.keys) > 1:
            parts = codes if keep is None else codes[keep]
        return Chunk(batch, dead, parts, self.keys, ends)

    def _rows(self, messages: list) -> tuple[dict, np.ndarray, list]:
        """The decoded columns of ``messages`` (the rows: the messages without
        ``bad``, in order), the mask ``bad`` and their dead letters."""
        from confluent_kafka import Message

        n = len(messages)
        values = list(map(Message.value, messages))
        bad = np.zeros(n, dtype=bool)
        dead: list = []
        index = None  # decoded record i is message index[i] (when tombstones are left out)
        if None in values:
            index = np.array([i for i, v in enumerate(values) if v is not None], dtype=np.int64)
            for i in np.flatnonzero([v is None for v in values]).tolist():
                bad[i] = True
                dead.append(self._dead(messages[i], b"", "null value (a tombstone)"))
            values = [values[i] for i in index.tolist()]
        batch, value_dead = self.value_decoder.decode(values)
        for d in value_dead:
            i = int(d.position) if index is None else int(index[int(d.position)])
            bad[i] = True
            dead.append(self._dead(messages[i], d.raw, d.reason))
        # the decoded rows are the messages without `bad`, in order
        columns = dict(batch.columns)
        if self.key_decoder is not None:
            good = np.flatnonzero(~bad)
            keys = [messages[i].key() for i in good.tolist()]
            if None in keys:  # no key: the key fields are NULL
                empty = b"{}" if isinstance(self.key_decoder, JsonDecoder) else b""
                keys = [empty if k is None else k for k in keys]
            key_batch, key_dead = self.key_decoder.decode(keys)
            if key_dead:
                key_bad = np.zeros(len(good), dtype=bool)
                for d in key_dead:
                    key_bad[int(d.position)] = True
                    i = int(good[int(d.position)])
                    bad[i] = True
                    dead.append(self._dead(messages[i], messages[i].value() or b"",
                                           "key: " + d.reason))
                columns = {name: c.take(~key_bad) for name, c in columns.items()}
            columns.update(key_batch.columns)
        return columns, bad, dead

    def _changes(self, messages: list) -> tuple[dict, np.ndarray, list, np.ndarray]:
        """Changelog mode (``changelog_key``): ``_rows`` plus the kind of each
        row. A message is an upsert of its key ('+U', or the kind in the
        ``op_field`` column: +I/+U upsert, -U/-D delete); a tombstone deletes the
        key its message key names ('-D', the other columns NULL). A message
        with an unknown kind, or a row without its whole key, is a dead letter."""
        n = len(messages)
        tomb = np.fromiter((m.value() is None for m in messages), dtype=bool, count=n)
        up, down = np.flatnonzero(~tomb), np.flatnonzero(tomb)
        bad = np.zeros(n, dtype=bool)
        columns, up_bad, dead = self._rows(messages if not len(down)
                                           else [messages[i] for i in up.tolist()])
        bad[up] = up_bad
        rows = up[~up_bad]  # message index of each row
        if self.op_field is None:
            ops = np.full(len(rows), "+U", dtype=object)
        else:
            kinds = columns.pop(self.op_field)
            ops = kinds.values
            wrong = ~(np.isin(ops, _CHANGE_KINDS) & kinds.is_valid())
            if wrong.any():
                for j in np.flatnonzero(wrong).tolist():
                    i = int(rows[j])
                    bad[i] = True
                    dead.append(self._dead(messages[i], messages[i].value(),
                                           f"'{self.op_field}' is {kinds.to_pylist()[j]!r}, "
                                           "not one of +I, +U, -U, -D"))
                columns = {name: c.take(~wrong) for name, c in columns.items()}
                rows, ops = rows[~wrong], ops[~wrong]
        if len(down):
            key_msgs = [messages[i] for i in down.tolist()]
            has_key = np.fromiter((m.key() is not None for m in key_msgs), dtype=bool,
                                  count=len(key_msgs))
            for j in np.flatnonzero(~has_key).tolist():
                i = int(down[j])
                bad[i] = True
                dead.append(self._dead(messages[i], b"", "a tombstone (null value) without a "
                                       "message key: no row to delete"))
            down = down[has_key]
            assert self.delete_decoder is not None
            key_batch, key_dead = self.delete_decoder.decode([messages[i].key()
                                                              for i in down.tolist()])
            key_bad = np.zeros(len(down), dtype=bool)
            for d in key_dead:
                key_bad[int(d.position)] = True
                i = int(down[int(d.position)])
                bad[i] = True
                dead.append(self._dead(messages[i], b"", "tombstone key: " + d.reason))
            down = down[~key_bad]
            m = len(down)
            kinds_of = {f: k for f, k in zip(self.field_order, self._kinds)}
            deleted = {name: key_batch.columns[name] if name in key_batch.columns
                       else null_column(kinds_of[name], m) for name in columns}
            order = np.argsort(np.concatenate((rows, down)), kind="stable")
            columns = {name: concat_columns([c, deleted[name]]).take(order)
                       for name, c in columns.items()}
            ops = np.concatenate((ops, np.full(m, "-D", dtype=object)))[order]
            rows = np.concatenate((rows, down))[order]
        # a row must have its whole key (nullable key columns decode to NULL)
        no_key = np.zeros(len(rows), dtype=bool)
        for k in self.changelog_key or ():
            no_key |= ~columns[k].is_valid()
        if no_key.any():
            for j in np.flatnonzero(no_key).tolist():
                i = int(rows[j])
                bad[i] = True
                dead.append(self._dead(messages[i], messages[i].value() or b"",
                                       "the primary key (" + ", ".join(self.changelog_key or ())
                                       + ") is NULL or missing"))
            columns = {name: c.take(~no_key) for name, c in columns.items()}
            ops = ops[~no_key]
        return columns, bad, dead, np.asarray(ops, dtype=object)

    def _dead(self, message: Any, raw: bytes, reason: str) -> KafkaDeadLetter:
        value = message.value()
        partition, offset = message.partition(), message.offset()
        position = (f"{partition}:{offset}" if len(self.topics) == 1
                    else f"{message.topic()}:{partition}:{offset}")
        return KafkaDeadLetter(value if value is not None else b"", reason, self.name, position,
                               message.key(), message.topic(), partition, offset)

    def _skip_early(self, messages: list, codes: np.ndarray) -> tuple[list, np.ndarray]:
        """Drop the messages of each partition before the first one at or after
        the startup timestamp."""
        keep = np.ones(len(messages), dtype=bool)
        for code in list(self._skipping):
            rows = np.flatnonzero(codes == code)
            if not len(rows):
                continue
            stamps = np.array([messages[i].timestamp()[1] for i in rows.tolist()])
            hit = np.flatnonzero(stamps >= self.startup_ts)
            if len(hit):
                keep[rows[: hit[0]]] = False
                self._skipping.discard(code)
            else:
                keep[rows] = False
        if keep.all():
            return messages, codes
        return [m for m, ok in zip(messages, keep.tolist()) if ok], codes[keep]

    def _handle_errors(self, messages: list, errors: list, codes: np.ndarray) -> np.ndarray:
        """The messages to keep: not errors, and (bounded) not after their
        partition's end-of-partition event, nor of a partition already at its end."""
        from confluent_kafka import KafkaError, TopicPartition

        n = len(messages)
        keep = np.fromiter(map(is_, errors, repeat(None)), dtype=bool, count=n)
        if self._done:
            keep &= ~np.isin(codes, list(self._done))
        for i in np.flatnonzero(~keep).tolist():
            err = errors[i]
            if err is None:
                continue
            message = messages[i]
            code = err.code()
            if code == KafkaError._PARTITION_EOF:
                c = int(codes[i])
                if c >= 0:
                    self._reached.add(c)
                if self.bounded and c >= 0 and c not in self._done:
                    # this partition's records after the EOF are past the end
                    self._done.add(c)
                    keep &= ~((codes == c) & (np.arange(n) > i))
                    self.consumer.pause([TopicPartition(message.topic(), message.partition())])
                    if len(self._done) == len(self.keys):
                        self.finished = True
                continue
            if err.fatal():
                raise KafkaFault(f"{self.what}: fatal Kafka error: {err.str()}")
            if err.retriable() or code in _transient_codes():
                self.reporter.error(err)
                continue
            raise KafkaFault(f"{self.what}: {err.str()} "
                             f"(topic {message.topic()}, partition {message.partition()})")
        return keep

    # -- commits ------------------------------------------------------------

    def commit(self, offsets: dict) -> bool:
        """Commit ``{partition key: next offset}`` to the group; False when the
        broker did not take it (retried at the next commit)."""
        from confluent_kafka import KafkaException, TopicPartition

        if not self.commits or not offsets:
            return True
        tps = []
        for key, offset in offsets.items():
            topic, partition = key if isinstance(key, tuple) else (self.topics[0], key)
            tps.append(TopicPartition(topic, int(partition), int(offset)))
        try:
            result = self.consumer.commit(offsets=tps, asynchronous=False)
        except KafkaException as exc:
            self.reporter._rate_limited("commit", f"offset commit failed "
                                        f"({exc.args[0].str()}); retried at the next commit")
            return False
        failed = [tp for tp in result or () if tp.error is not None]
        if failed:
            self.reporter._rate_limited("commit", f"offset commit failed ({failed[0].error}); "
                                        "retried at the next commit")
            return False
        return True

    def close(self) -> None:
        if self.consumer is not None:
            with contextlib.suppress(Exception):  # closing after a broker loss
                self.consumer.close()
            self.consumer = None


def _transient_codes() -> frozenset:
    from confluent_kafka import KafkaError

    return frozenset({KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
                      KafkaError._TIMED_OUT, KafkaError._RESOLVE,
                      KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.LEADER_NOT_AVAILABLE,
                      KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError._AUTO_OFFSET_RESET,
                      KafkaError.OFFSET_OUT_OF_RANGE})


def _metadata_column(messages: list, key: str) -> Column:
    from confluent_kafka import Message

    n = len(messages)
    if key == "timestamp":
        stamps = [t[1] for t in map(Message.timestamp, messages)]
        values = np.fromiter(stamps, dtype=np.int64, count=n)
        valid = values >= 0  # NoTimestampType gives -1
        return Column(values, None if valid.all() else valid)
    if key == "partition":
        return Column(np.fromiter(map(Message.partition, messages), dtype=np.int64, count=n))
    if key == "offset":
        return Column(np.fromiter(map(Message.offset, messages), dtype=np.int64, count=n))
    if key == "topic":
        return Column(np.fromiter(map(Message.topic, messages), dtype=object, count=n))
    if key == "timestamp-type":
        kinds = [_TIMESTAMP_TYPES.get(t[0], "NoTimestampType")
                 for t in map(Message.timestamp, messages)]
        return Column(np.fromiter(kinds, dtype=object, count=n))
    if key == "leader-epoch":
        epochs = list(map(methodcaller("leader_epoch"), messages))
        valid = np.fromiter((e is not None for e in epochs), dtype=bool, count=n)
        values = np.fromiter((e or 0 for e in epochs), dtype=np.int64, count=n)
        return Column(values, None if valid.all() else valid)
    raise KafkaConfigError(f"unknown Kafka metadata key '{key}'")


# ----------------------------------------------------------------------- producers


#: How long a record may wait for the broker's acknowledgement before the run
#: fails: the Java client's delivery.timeout.ms default, which Flink's Kafka
#: sink runs with (librdkafka's own default is 300 s).
DELIVERY_TIMEOUT_S = 120.0
_TIMEOUT_KEYS = ("delivery.timeout.ms", "message.timeout.ms")  # librdkafka aliases
# librdkafka fails a record that waited its timeout itself; the pool's own
# watch (a backstop: nothing settled for this long past the timeout) ends a
# stall even if it does not.
_STALL_GRACE_S = 5.0


@dataclass
class _Producer:
    """One librdkafka producer and how its deliveries are going."""

    producer: Any
    reporter: _Reporter
    what: list[str]  # the sinks that use it, for messages
    bootstrap: str
    timeout: float | None  # seconds a record may wait (None: no limit)
    produced: int = 0  # records handed to the producer
    settled: int = 0  # of those, delivered or failed when last looked at
    waiting_since: float | None = None  # records wait, and none settled since then
    conf: dict | None = None  # the client configuration it was made from

    def watch(self) -> None:
        """Raise KafkaFault when records have waited past the timeout with none
        delivered (a broker that takes connections but never acknowledges)."""
        pending = len(self.producer)
        settled = self.produced - pending
        now = time.monotonic()
        if pending == 0:
            self.waiting_since = None
        elif self.waiting_since is None or settled > self.settled:
            self.waiting_since = now
        self.settled = settled
        if (self.timeout is not None and self.waiting_since is not None
                and now - self.waiting_since > self.timeout + _STALL_GRACE_S):
            raise KafkaFault(_not_delivered(", ".join(self.what), pending, self.timeout,
                                            self.bootstrap))


def _not_delivered(what: str, count: int, timeout: float, bootstrap: str) -> str:
    return (f"{what}: {count} record(s) not delivered to Kafka at {bootstrap} within "
            f"{timeout:g} s: the broker did not acknowledge them (--delivery-timeout or "
            "'properties.delivery.timeout.ms' sets the limit)")


def _delivery_timeout(conf: dict[str, Any], override: float | None, what: str) -> float | None:
    """The delivery timeout of a producer (seconds, None: none), written into
    ``conf`` as librdkafka's ``message.timeout.ms``: --delivery-timeout, else
    the sink's 'properties.delivery.timeout.ms' (or message.timeout.ms), else
    DELIVERY_TIMEOUT_S."""
    given = [k for k in _TIMEOUT_KEYS if k in conf]
    if override is not None:
        millis = max(1, round(override * 1000))
    elif given:
        text = str(conf[given[-1]])
        try:
            millis = int(text)
        except ValueError:
            raise KafkaConfigError(f"{what}: 'properties.{given[-1]}' must be a number of "
                                   f"milliseconds, got {text!r}") from None
        if millis < 0:
            raise KafkaConfigError(f"{what}: 'properties.{given[-1]}' must not be negative")
    else:
        millis = round(DELIVERY_TIMEOUT_S * 1000)
    for key in given:
        del conf[key]
    conf["message.timeout.ms"] = millis
    return millis / 1000 if millis else None  # 0: librdkafka waits forever


class ProducerPool:
    """One producer per distinct client configuration, shared by the sinks and
    dead-letter topics that use it; collects delivery failures and ends a
    stalled delivery (``delivery_timeout``, see DELIVERY_TIMEOUT_S)."""

    def __init__(self, connect_timeout: float = 60.0,
                 delivery_timeout: float | None = None) -> None:
        self.connect_timeout = connect_timeout
        self.delivery_timeout = delivery_timeout  # --delivery-timeout: wins over properties
        self._producers: dict[tuple, _Producer] = {}
        self._topics: dict[str, _Producer] = {}  # topic -> its producer, for messages
        self._what: dict[str, str] = {}  # topic -> the sink writing it
        self.failures: list[tuple[str, Any]] = []  # (topic, librdkafka error code)
        # exactly-once: every producer is transactional (see KafkaTransactions)
        self.transactional_id: str | None = None

    def get(self, client_conf: dict[str, Any], what: str, topic: str | None = None) -> Any:
        from confluent_kafka import KafkaException, Producer

        conf = dict(PRODUCER_DEFAULTS)
        conf.update(client_conf)
        key = tuple(sorted((k, str(v)) for k, v in conf.items()))
        entry = self._producers.get(key)
        if entry is None:
            bootstrap = str(conf.get("bootstrap.servers", ""))
            if not bootstrap:
                raise KafkaConfigError(f"{what}: 'properties.bootstrap.servers' is not set "
                                       "(or pass --bootstrap)")
            timeout = _delivery_timeout(conf, self.delivery_timeout, what)
            reporter = _Reporter(what, bootstrap)
            conf["error_cb"] = reporter.error
            conf["logger"] = reporter.logger()
            conf.setdefault("client.id", "sqlc-sink")
            if self.transactional_id is not None:
                # the same id on every restart: the new producer fences the old one and
                # aborts the transaction it left open
                conf["transactional.id"] = f"{self.transactional_id}-{len(self._producers)}"
                # librdkafka wants the delivery timeout within the transaction's
                message_ms = int(conf.get("message.timeout.ms") or 0)
                conf.setdefault("transaction.timeout.ms", max(60_000, message_ms))
            try:
                producer = Producer(conf)
            except KafkaException as exc:
                raise KafkaConfigError(f"{what}: {exc.args[0].str()}") from None
            wait_for_cluster(producer, bootstrap, (), self.connect_timeout, what, reporter)
            if self.transactional_id is not None:
                try:
                    producer.init_transactions(self.connect_timeout)
                    producer.begin_transaction()
                except KafkaException as exc:
                    raise KafkaUnavailable(f"{what}: cannot start a Kafka transaction "
                                           f"({exc.args[0].str()})") from None
            entry = self._producers[key] = _Producer(producer, reporter, [], bootstrap, timeout)
            entry.conf = {k: v for k, v in client_conf.items()}
        if what not in entry.what:
            entry.what.append(what)
        if topic is not None:
            self._topics[topic] = entry
            self._what[topic] = what
        return entry.producer

    def _entry(self, producer: Any) -> _Producer | None:
        return next((e for e in self._producers.values() if e.producer is producer), None)

    def queued(self, producer: Any, count: int) -> None:
        """``count`` records were handed to ``producer`` (for the stall watch)."""
        entry = self._entry(producer)
        if entry is not None:
            if not entry.produced - entry.settled:  # nothing was waiting: the wait starts now
                entry.waiting_since = None
            entry.produced += count

    def on_delivery(self, err: Any, message: Any) -> None:
        if err is not None:
            self.failures.append((message.topic(), err.code()))

    def check(self) -> None:
        for entry in self._producers.values():
            entry.reporter.check()
        if self.failures:
            raise KafkaFault(self._failure_message())
        for entry in self._producers.values():
            entry.watch()

    def _failure_message(self) -> str:
        from confluent_kafka import KafkaError

        topic, code = self.failures[0]
        what = self._what.get(topic, f"topic {topic}")
        entry = self._topics.get(topic)
        count = sum(1 for t, _ in self.failures if t == topic)
        if code == KafkaError._MSG_TIMED_OUT and entry is not None and entry.timeout:
            return _not_delivered(what, count, entry.timeout, entry.bootstrap)
        return (f"{what}: delivery to Kafka failed for {len(self.failures)} record(s) "
                f"(topic {topic}: error {_code_name(code)})")

    def poll(self) -> None:
        for entry in self._producers.values():
            entry.producer.poll(0)

    def flush(self, timeout: float) -> bool:
        """Wait until every queued record is delivered (True) or ``timeout``
        passes (False); raises KafkaFault on a failed or stalled delivery."""
        deadline = time.monotonic() + timeout
        done = True
        for entry in self._producers.values():
            queued = len(entry.producer)
            wait = deadline - time.monotonic()
            left = entry.producer.flush(-1 if math.isinf(wait) else max(0.0, wait))
            if left:
                done = False
            elif queued:  # records went out: the broker answers
                entry.reporter.up()
        self.check()
        return done

    @property
    def longest_timeout(self) -> float:
        """The longest delivery timeout of the producers (for the final flush)."""
        limits = [e.timeout for e in self._producers.values()]
        if any(t is None for t in limits):
            return float("inf")
        return max(limits, default=DELIVERY_TIMEOUT_S)

    def close(self, timeout: float = 30.0) -> None:
        try:
            if not self.flush(timeout):
                pending = sum(len(e.producer) for e in self._producers.values())
                raise KafkaFault(f"{pending} record(s) not delivered to Kafka within "
                                 f"{timeout:g} s")
        finally:
            self._producers.clear()


class KafkaTransactions:
    """The exactly-once side of a transactional ``ProducerPool``: at each
    checkpoint the open transaction of every producer commits, and with it a
    marker, the checkpoint's id, committed as the offset of the pipeline's
    consumer group on ``marker_topic`` partition 0 (``send_offsets_to_transaction``:
    atomic with the records). ``recover`` reads the marker back, so a restart
    knows which checkpoint's output is in the topics. Records written after
    the last commit are aborted: by ``close``, or, after a crash, when the
    restarted pipeline's producer (same ``transactional.id``) fences the old one."""

    transactional = True

    def __init__(self, pool: ProducerPool, marker_topic: str, what: str) -> None:
        self.pool = pool
        self.marker_topic = marker_topic
        self.what = what
        self.consumer: Any = None
        self.timeout = 60.0
        self._committed_at = 0  # records produced when the last transaction committed

    def _produced(self) -> int:
        return sum(entry.produced for entry in self.pool._producers.values())

    def pending(self) -> int:
        """Records in the open transaction (written before the checkpoint that
        is being taken)."""
        return self._produced() - self._committed_at

    def _client(self) -> dict:
        entry = next(iter(self.pool._producers.values()))
        return dict(entry.conf or {})

    def recover(self, pipeline_id: str) -> int | None:
        from confluent_kafka import Consumer, KafkaException, TopicPartition

        if not self.pool._producers:
            return None
        conf = {k: v for k, v in self._client().items() if not k.startswith("transactional")}
        conf.update({"group.id": pipeline_id, "enable.auto.commit": False,
                     "client.id": "sqlc-checkpoint-marker"})
        try:
            self.consumer = Consumer(conf)
            found = self.consumer.committed([TopicPartition(self.marker_topic, 0)],
                                            timeout=self.timeout)
        except KafkaException as exc:
            raise KafkaUnavailable(f"{self.what}: cannot read which checkpoint was committed "
                                   f"last ({exc.args[0].str()})") from None
        offset = found[0].offset if found else -1
        return int(offset) if offset is not None and offset > 0 else None

    def commit(self, checkpoint_id: int) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        if not self.pending():
            # nothing to commit: the transaction stays open (an offsets-only
            # transaction is not applied by every broker: tansu); the checkpoint's
            # manifest says it had no records, so recovery may start from it
            return
        marker = [TopicPartition(self.marker_topic, 0, int(checkpoint_id))]
        for entry in self.pool._producers.values():
            try:
                entry.producer.send_offsets_to_transaction(
                    marker, self.consumer.consumer_group_metadata(), self.timeout)
                entry.producer.commit_transaction(self.timeout)
                entry.producer.begin_transaction()
            except KafkaException as exc:
                raise KafkaFault(f"{self.what}: the transaction of checkpoint {checkpoint_id} "
                                 f"did not commit ({exc.args[0].str()}); a restart goes on "
                                 "from the checkpoint before it") from None
        self._committed_at = self._produced()

    def close(self) -> None:
        """Abort what was written after the last checkpoint (it is produced again
        by the next run, from that checkpoint)."""
        for entry in self.pool._producers.values():
            with contextlib.suppress(Exception):
                entry.producer.abort_transaction(10.0)
        if self.consumer is not None:
            with contextlib.suppress(Exception):
                self.consumer.close()
            self.consumer = None


def _code_name(code: int) -> str:
    """librdkafka's name of an error code (``MSG_SIZE_TOO_LARGE``): an
    identifier of its API, unlike its message text."""
    from confluent_kafka import KafkaError

    try:
        return KafkaError(code).name()
    except Exception:  # noqa: BLE001  an unknown code
        return str(code)


def _produce(producer: Any, pool: ProducerPool, topic: str, messages: list) -> None:
    """``produce_batch`` with back-pressure: when the local queue is full, serve
    deliveries and queue the rest."""
    from confluent_kafka import KafkaError, KafkaException

    pool.queued(producer, len(messages))
    while messages:
        queued = producer.produce_batch(topic, messages, on_delivery=pool.on_delivery)
        if queued == len(messages):
            break
        failed = [m for m in messages if "_error" in m]
        for m in failed:
            err = m.pop("_error")
            if err.code() != KafkaError._QUEUE_FULL:
                raise KafkaException(err)
        messages = failed
        producer.poll(0.05)
        pool.check()
    producer.poll(0)


#: Flink's 'sink.delivery-guarantee' values; with --checkpoint-dir sqlc's default
#: is exactly-once (Flink's is at-least-once), without it at-least-once.
DELIVERY_GUARANTEES = ("exactly-once", "at-least-once", "none")


def wants_transactions(properties: dict[str, str]) -> bool:
    """Whether a sink with these properties writes in transactions when the
    pipeline checkpoints."""
    return properties.get("sink.delivery-guarantee", "exactly-once") == "exactly-once"


class KafkaSink:
    """Rows of one output to a topic; see the module docstring."""

    def __init__(self, topic: str, fields: Iterable[Field], key: Sequence[str],
                 properties: dict[str, str], pool: ProducerPool, what: str) -> None:
        from runtime_lib.io.sinks import SinkCounters

        self.topic = topic
        self.fields = as_schema(fields)
        self.pool = pool
        fmt = properties.get("value.format", properties.get("format", "json"))
        if fmt not in ("json", "raw"):
            raise KafkaConfigError(f"{what}: format '{fmt}' is not supported for writing "
                                   "(json or raw)")
        self.format = fmt
        if fmt == "raw" and len(self.fields) != 1:
            raise KafkaConfigError(f"{what}: format 'raw' writes exactly one column")
        guarantee = properties.get("sink.delivery-guarantee")
        if guarantee not in (None, *DELIVERY_GUARANTEES):
            raise KafkaConfigError(f"{what}: 'sink.delivery-guarantee' = '{guarantee}' is not "
                                   "one of " + ", ".join(DELIVERY_GUARANTEES))
        if guarantee == "exactly-once" and pool.transactional_id is None:
            raise KafkaConfigError(f"{what}: 'sink.delivery-guarantee' = 'exactly-once' needs "
                                   "checkpoints: run with --checkpoint-dir DIR")
        names = {f.name for f in self.fields}
        sink_key = _split_list(properties.get("key.fields")) or list(key)
        missing = [k for k in sink_key if k not in names]
        if missing:
            raise KafkaConfigError(f"{what}: key column(s) {', '.join(missing)} not in the "
                                   "output")
        self.key = [f for f in self.fields if f.name in sink_key]
        self.upsert_key = bool(key)
        self.producer = pool.get(client_properties(properties), what, topic)
        self.counters = SinkCounters()
        self.tombstones = 0

    def _values(self, batch: Batch, fields, with_ops: bool = False) -> list[bytes]:
        from runtime_lib.io.sinks import column_to_json_values, encode_json_lines

        if self.format == "raw":
            f = fields[0]
            return [None if v is None else (v if isinstance(v, bytes) else str(v).encode())
                    for v in column_to_json_values(batch[f.name], f.type_name)]
        plain = batch if with_ops else Batch(batch.columns, batch.num_rows)
        data = encode_json_lines(plain, fields)
        return data.split(b"\n")[:-1]

    def write(self, batch: Batch, ops: Sequence | np.ndarray | None = None) -> None:
        n = batch.num_rows
        if not n:
            return
        if ops is None:
            ops = batch.ops
        ops_array = None if ops is None else np.asarray(ops, dtype=object)
        if ops_array is not None and not self.upsert_key:
            # an updating result without a key: the changelog, '_op' in each value
            values = self._values(Batch(batch.columns, n, None, ops_array), self.fields, True)
            messages = [{"value": v} for v in values]
            if self.key:
                keys = self._values(batch, self.key)
                messages = [{"key": k, "value": v} for k, v in zip(keys, values)]
        else:
            values = self._values(batch, self.fields)
            if self.key:
                keys = self._values(batch, self.key)
                if ops_array is None:
                    messages = [{"key": k, "value": v} for k, v in zip(keys, values)]
                else:
                    codes = _op_codes(ops_array)
                    messages = [{"key": k, "value": v if c != 3 else None}
                                for k, v, c in zip(keys, values, codes.tolist()) if c != 1]
                    self.tombstones += int((codes == 3).sum())
            else:
                messages = [{"value": v} for v in values]
        if messages:
            _produce(self.producer, self.pool, self.topic, messages)
        self.counters.count(len(messages), sum(len(v) for v in values if v is not None), None)

    def flush(self, timeout: float = 30.0) -> bool:
        return self.pool.flush(timeout)

    def close(self) -> None:
        self.pool.check()


def _op_codes(ops: np.ndarray) -> np.ndarray:
    """'+I' 0, '-U' 1, '+U' 2, '-D' 3 (ints pass through)."""
    if ops.dtype.kind in "iu":
        return ops.astype(np.int64)
    codes = np.zeros(len(ops), dtype=np.int64)
    codes[ops == "-U"] = 1
    codes[ops == "+U"] = 2
    codes[ops == "-D"] = 3
    return codes


class KafkaDeadLetterSink:
    """Dead letters of one source to its ``dead-letter.topic``: the raw value,
    the original key, and headers naming the reason and the record's origin."""

    def __init__(self, topic: str, source: str, properties: dict[str, str],
                 pool: ProducerPool) -> None:
        self.topic = topic
        self.source = source
        self.pool = pool
        self.producer = pool.get(producer_properties(client_properties(properties)),
                                 f"dead letters of {source} (topic {topic})", topic)
        self.count = 0

    def write(self, dead: Sequence[DeadLetter]) -> None:
        for d in dead:
            headers = [("sqlc.error.reason", d.reason.encode()),
                       ("sqlc.source.name", d.source.encode())]
            key = None
            if isinstance(d, KafkaDeadLetter):
                key = d.key
                headers += [("sqlc.source.topic", d.topic.encode()),
                            ("sqlc.source.partition", str(d.partition).encode()),
                            ("sqlc.source.offset", str(d.offset).encode())]
            else:
                headers.append(("sqlc.source.position", str(d.position).encode()))
            while True:
                try:
                    self.producer.produce(self.topic, value=bytes(d.raw), key=key,
                                          headers=headers, on_delivery=self.pool.on_delivery)
                    self.pool.queued(self.producer, 1)
                    break
                except BufferError:
                    self.producer.poll(0.05)
                    self.pool.check()
        self.count += len(dead)
        self.producer.poll(0)

    def flush(self, timeout: float = 30.0) -> bool:
        return self.pool.flush(timeout)

    def close(self) -> None:
        self.pool.check()


def timestamp_fields(fields: Iterable[Field]) -> list[str]:
    return [f.name for f in fields if f.base in TIMESTAMP_TYPES]

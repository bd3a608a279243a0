"""Reading Kafka: KafkaSource and the Chunk it hands the driver (see the
package docstring)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_, itemgetter, methodcaller
from typing import Any

import numpy as np

from runtime_lib.columns import Batch, Column, concat_columns, null_column
from runtime_lib.io.decode import CsvDecoder, DeadLetter, JsonDecoder
from runtime_lib.io.kafka.client import (
    _CHANGE_KINDS,
    CONSUMER_DEFAULTS,
    FORMATS,
    STARTUP_MODES,
    KafkaConfigError,
    KafkaFault,
    KafkaUnavailable,
    _Reporter,
    _say,
    _split_list,
    _transient_codes,
    client_properties,
    wait_for_cluster,
)
from runtime_lib.malformed import utf8_reason
from runtime_lib.schema import Field


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
            raise KafkaConfigError(f"{what}: 'properties.bootstrap.servers' is not set; "
                                   f"to read it from a file instead: --input {name}=PATH")
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

"""Writing Kafka: the producer pool, sinks, dead-letter topics and the
transactions of exactly-once (see the package docstring)."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime_lib.columns import Batch
from runtime_lib.io.decode import DeadLetter
from runtime_lib.io.kafka.client import (
    PRODUCER_DEFAULTS,
    KafkaConfigError,
    KafkaFault,
    KafkaUnavailable,
    _code_name,
    _Reporter,
    _split_list,
    client_properties,
    producer_properties,
    wait_for_cluster,
)
from runtime_lib.io.kafka.source import KafkaDeadLetter
from runtime_lib.io.sinks import op_codes
from runtime_lib.schema import Field, as_schema

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
        # (Kafka source with a group.id, {(topic, partition): next offset}) as of the
        # checkpoint being committed: set by the driver, committed in the transaction
        self.source_offsets: list = []

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
        for number, entry in enumerate(self.pool._producers.values()):
            try:
                entry.producer.send_offsets_to_transaction(
                    marker, self.consumer.consumer_group_metadata(), self.timeout)
                if number == 0:  # the sources' group offsets, with the output they produced
                    for reader, offsets in self.source_offsets:
                        tps = [TopicPartition(t, int(p), int(o)) for (t, p), o in offsets.items()]
                        if tps:
                            entry.producer.send_offsets_to_transaction(
                                tps, reader.consumer.consumer_group_metadata(), self.timeout)
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
                    codes = op_codes(ops_array)
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

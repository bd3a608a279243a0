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
driver.py, at-least-once). With checkpoints (``--checkpoint-dir``) the sinks
are exactly-once: every producer is transactional and ``KafkaTransactions``
commits at each checkpoint with a marker (``sink.py``; ``runtime_lib.recovery``).

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

from runtime_lib.io.kafka.client import (
    CONSUMER_DEFAULTS,
    FORMATS,
    PRODUCER_DEFAULTS,
    STARTUP_MODES,
    KafkaConfigError,
    KafkaFault,
    KafkaUnavailable,
    client_properties,
    producer_properties,
    timestamp_fields,
    wait_for_cluster,
)
from runtime_lib.io.kafka.sink import (
    DELIVERY_GUARANTEES,
    DELIVERY_TIMEOUT_S,
    KafkaDeadLetterSink,
    KafkaSink,
    KafkaTransactions,
    ProducerPool,
    wants_transactions,
)
from runtime_lib.io.kafka.source import Chunk, KafkaDeadLetter, KafkaSource

__all__ = [
    "CONSUMER_DEFAULTS", "DELIVERY_GUARANTEES", "DELIVERY_TIMEOUT_S", "FORMATS",
    "PRODUCER_DEFAULTS", "STARTUP_MODES", "Chunk", "KafkaConfigError", "KafkaDeadLetter",
    "KafkaDeadLetterSink", "KafkaFault", "KafkaSink", "KafkaSource", "KafkaTransactions",
    "KafkaUnavailable", "ProducerPool", "client_properties", "producer_properties",
    "timestamp_fields", "wait_for_cluster", "wants_transactions",
]

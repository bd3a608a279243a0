"""The Kafka side of ``--rebuild-state``: a second consumer of a source that
reads each partition again, from a rewound offset up to the offset the
checkpoint had reached (not beyond: from there the restored run reads on).

Where to rewind (``rewind_ms``):

* a time (the replay start minus the source's watermark delay minus
  ``REWIND_MARGIN_MS``): each partition from the first record whose Kafka
  timestamp is at or after it (``offsets_for_times``). Used where the
  source's event time *is* the record timestamp (``METADATA FROM
  'timestamp'``); such a record before that offset has a timestamp, and so an
  event time, before the replay start, and only reaches windows that had
  fired;
* None: each partition from its first record (an event time in the payload,
  which the record timestamp need not follow, or state with no bound in
  event time).

A partition whose retention no longer holds what the replay needs is refused
(``ReplayUnavailable``, naming the partition, its earliest offset and time,
and the time needed): the state would be rebuilt from part of its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from runtime_lib.io.kafka.client import KafkaConfigError, KafkaUnavailable
from runtime_lib.io.kafka.source import Chunk, KafkaSource
from runtime_lib.schema import Field

#: how much earlier than (replay start - watermark delay) a time rewind goes:
#: records a producer stamped a little before their event time
REWIND_MARGIN_MS = 60_000

#: properties of the source that the replay does not take: it commits no
#: offsets (no group), and it starts where the rewind says, not at the startup mode
_NOT_REPLAYED = ("properties.group.id", "scan.startup.mode", "scan.startup.timestamp-millis",
                 "scan.bounded.mode")


class ReplayUnavailable(KafkaConfigError):
    """The topic no longer holds what a rebuild must replay (exit 2)."""


class KafkaReplay(KafkaSource):
    """A source's partitions from ``rewind_ms`` (or their start) to ``stop``
    (``{(topic, partition): next offset}``, the checkpoint's positions), then
    ``finished``. Partitions the checkpoint has no offset of are not read."""

    def __init__(self, name: str, fields: Sequence[Field], properties: dict[str, str], *,
                 stop: dict[tuple[str, int], int], rewind_ms: int | None, **options) -> None:
        kept = {k: v for k, v in properties.items() if k not in _NOT_REPLAYED}
        super().__init__(name, fields, kept, bounded=True,
                         what=f"the replay of source {name}", **options)
        self.stop = {(str(t), int(p)): int(o) for (t, p), o in stop.items()}
        self.rewind_ms = rewind_ms
        self.starts: dict[tuple[str, int], int] = {}  # where each partition's replay began

    def open(self, positions=None) -> KafkaReplay:
        metadata = self.connect()
        wanted = [(topic, p) for topic in self.topics
                  for p in sorted(metadata.topics[topic].partitions)]
        self.starts = self._starts(wanted)
        super().open(self.starts)
        for key, start in self.starts.items():
            if start >= self.stop.get(key, 0):
                self._finish(*key)
        return self

    def _starts(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        from confluent_kafka import KafkaException, TopicPartition

        starts = {}
        try:
            found = {}
            if self.rewind_ms is not None:
                query = [TopicPartition(t, p, self.rewind_ms) for t, p in wanted]
                hits = self.consumer.offsets_for_times(query, timeout=self.connect_timeout)
                found = {(h.topic, h.partition): h.offset for h in hits}
            for key in wanted:
                stop = self.stop.get(key, 0)
                if stop <= 0:
                    starts[key] = 0  # nothing of it was read before the checkpoint
                    continue
                low, high = self.consumer.get_watermark_offsets(
                    TopicPartition(*key), timeout=self.connect_timeout)
                if self.rewind_ms is None:
                    start = low
                    lost = low > 0
                else:
                    hit = found.get(key, -1)
                    start = hit if hit >= 0 else high  # none at or after it: none needed
                    # the first record it holds is already at or after the time:
                    # records before it, deleted, may have been needed
                    lost = hit >= 0 and hit == low and low > 0
                if lost:
                    self._refuse(key, low)
                starts[key] = min(start, stop)
        except KafkaException as exc:
            raise KafkaUnavailable(f"{self.what}: offsets to rewind to: "
                                   f"{exc.args[0].str()}") from None
        return starts

    def _refuse(self, key: tuple[str, int], low: int) -> None:
        topic, partition = key
        at = self._timestamp_at(topic, partition, low)
        needed = ("its first record (offset 0)" if self.rewind_ms is None
                  else f"the records from {_iso(self.rewind_ms)} on")
        raise ReplayUnavailable(
            f"--rebuild-state: source {self.name}: topic '{topic}' partition {partition} "
            f"holds records from offset {low}"
            + (f" ({_iso(at)})" if at is not None else "")
            + f" on, but the replay needs {needed}: the topic's retention deleted state "
            "the rebuild needs. Start with a new --checkpoint-dir instead (the rebuilt "
            "operators would miss rows)")

    def _timestamp_at(self, topic: str, partition: int, offset: int) -> int | None:
        """The Kafka timestamp of the record at ``offset`` (None if it cannot be read)."""
        from confluent_kafka import TopicPartition

        self.consumer.assign([TopicPartition(topic, partition, offset)])
        try:
            for message in self.consumer.consume(1, min(self.connect_timeout, 10.0)):
                if message.error() is None:
                    return message.timestamp()[1]
        finally:
            self.consumer.unassign()
        return None

    def _finish(self, topic: str, partition: int) -> None:
        from confluent_kafka import TopicPartition

        code = self._code.get((topic, partition))
        if code is None or code in self._done:
            return
        self._done.add(code)
        self.consumer.pause([TopicPartition(topic, partition)])
        if len(self._done) == len(self.keys):
            self.finished = True

    def _chunk(self, messages: list) -> Chunk | None:
        """The messages before each partition's stop; a partition is done once
        its last one before the stop is read."""
        from confluent_kafka import Message

        topics = list(map(Message.topic, messages))
        partitions = list(map(Message.partition, messages))
        offsets = np.fromiter(map(Message.offset, messages), dtype=np.int64,
                              count=len(messages))
        stops = np.fromiter((self.stop.get((t, p), 0) for t, p in zip(topics, partitions)),
                            dtype=np.int64, count=len(messages))
        errors = np.fromiter((e is not None for e in map(Message.error, messages)), dtype=bool,
                             count=len(messages))
        keep = errors | (offsets < stops)  # (an end-of-partition event ends it too)
        ended = {(topics[i], partitions[i])
                 for i in np.flatnonzero(~errors & (offsets >= stops - 1)).tolist()}
        if not keep.all():
            messages = [m for m, ok in zip(messages, keep.tolist()) if ok]
        chunk = super()._chunk(messages) if messages else None
        for key in ended:  # after the chunk: a finished partition's messages are dropped
            self._finish(*key)
        return chunk


def _iso(ms: int) -> str:
    text = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")

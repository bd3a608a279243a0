"""Tables kept in state: ``ChangelogTable`` (fed by a changelog) and
``KafkaTable`` (a ChangelogTable fed by a Kafka topic). See
``runtime_lib.io.tables``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.io.tables.base import LookupStats, RowStore, Table, distinct_keys
from runtime_lib.schema import Field, as_schema
from runtime_lib.watermarks import monotonic_ms


class ChangelogTable(Table):
    """A mutable table kept in state, fed by a changelog (``apply``) and looked
    up by key; see the module docstring.

    >>> from runtime_lib.columns import column_from_pylist
    >>> t = ChangelogTable(fields=[("model_id", "VARCHAR"), ("max_tokens", "INT")], key="model_id")
    >>> t.apply(Batch({"model_id": column_from_pylist(["a", "b", "a"], "O"),
    ...                "max_tokens": column_from_pylist([1, 2, 3], "i")}, 3))
    >>> t.apply(Batch({"model_id": column_from_pylist(["b"], "O"),
    ...                "max_tokens": column_from_pylist([2], "i")}, 1, ops=np.array(["-D"], object)))
    >>> found, cols = t.lookup([column_from_pylist(["a", "b"], "O")])
    >>> found.tolist(), cols[1].to_pylist()
    ([True, False], [3, None])
    """

    def __init__(self, fields, key, state_ttl_ms: int | None = None, clock: Callable[[], int] | None = None):
        super().__init__(fields, key)
        self.state_ttl_ms = state_ttl_ms
        self.clock = clock or monotonic_ms
        self.store = RowStore(self.kinds)
        self.stats = LookupStats()

    @classmethod
    def from_file(cls, path, fields, key, op_field: str | None = "op", format: str | None = None,
                  **kwargs) -> ChangelogTable:
        """A table holding the result of a file of changes (``op_field`` column
        with +I/-D/-U/+U, or None: every line an upsert)."""
        from runtime_lib.io.sources import FileSource

        schema = list(as_schema(fields))
        if op_field is not None:
            schema = schema + [Field(op_field, "VARCHAR")]
        table = cls(fields, key, **kwargs)
        path = Path(path)
        if format is None:
            format = "csv" if path.suffix.lower() == ".csv" else "json"
        for batch, _dead in FileSource(path, schema, format=format):
            table.apply(batch.split_ops(op_field) if op_field is not None else batch)
        return table

    def __len__(self) -> int:
        return len(self.store)

    def apply(self, changes: Batch) -> None:
        """Apply a micro-batch of changes in order (columns named as the fields)."""
        n = changes.num_rows
        if n == 0:
            return
        now = self.clock()
        self.expire(now)
        cols = [changes.columns[name] for name in self.names]
        key_cols = [cols[p] for p in self.key_pos]
        ok = np.ones(n, bool)
        for c in key_cols:
            ok &= c.is_valid()
        ops = changes.ops
        delete = np.zeros(n, bool) if ops is None else np.isin(ops, ["-D", "-U"])
        sel = np.flatnonzero(ok)
        uniq, inverse = distinct_keys([c.take(sel) for c in key_cols])
        # only the last change of each key in the batch matters
        last = np.full(len(uniq), -1, np.int64)
        last[inverse] = sel
        is_del = delete[last]
        up = np.flatnonzero(~is_del)
        self.store.put([uniq[i] for i in up.tolist()], np.ones(len(up), bool),
                       [c.take(last[up]) for c in cols], now)
        gone = self.store.slots([uniq[i] for i in np.flatnonzero(is_del).tolist()])
        self.store.remove(gone[gone >= 0])

    def expire(self, now: int | None = None) -> None:
        """Drop entries not written for ``state_ttl_ms``."""
        if self.state_ttl_ms is None or not len(self.store):
            return
        now = self.clock() if now is None else now
        occ = self.store.occupied()
        self.store.remove(occ[self.store.written[occ] + self.state_ttl_ms <= now])

    def snapshot(self) -> dict:
        """The table as numpy arrays and JSON-able lists (no pickle)."""
        return {"rows": self.store.snapshot()}

    def restore(self, data: dict) -> None:
        """Bring a freshly constructed table of the same fields back to ``data``
        (a KafkaTable then still reads its topic from the earliest offset before
        its first lookup: the changes upsert what was restored)."""
        self.store.restore(data["rows"])

    def lookup(self, keys: list[Column]) -> tuple[np.ndarray, list[Column]]:
        t0 = time.perf_counter()
        self.expire()
        uniq, inverse = distinct_keys(keys)
        found, cols = self.store.gather(self.store.slots(uniq)[inverse])
        hits = int(found.sum())
        self.stats.hits += hits
        self.stats.misses += len(found) - hits
        self.stats.batch_ms.append((time.perf_counter() - t0) * 1000)
        return found, cols


class KafkaTable(ChangelogTable):
    """A ChangelogTable fed by a Kafka topic (``'connector' = 'upsert-kafka'``,
    or ``'kafka'`` with a PRIMARY KEY), read as Flink reads an upsert-kafka
    table in a processing-time lookup join; see the module docstring.

    ``properties`` are the table's connector properties, resolved. The first
    ``lookup`` (or ``open()``) reads the topic from the earliest offset to its
    end; later lookups first apply what has arrived since, without waiting.
    ``dead_letters`` counts the bad messages (``KafkaSource`` in changelog
    mode says which: undecodable, no key, an unknown change kind)."""

    warn_limit = 20  # bad messages shown one per line on stderr; later ones are counted

    def __init__(self, name: str, fields, key, properties: dict[str, str], op_field: str | None = None,
                 state_ttl_ms: int | None = None, clock: Callable[[], int] | None = None,
                 connect_timeout: float = 60.0, log=None):
        super().__init__(fields, key, state_ttl_ms=state_ttl_ms, clock=clock)
        from runtime_lib.io.kafka import KafkaConfigError, KafkaSource

        props = dict(properties)
        if props.get("connector") == "upsert-kafka":  # the message key is the primary key
            props.setdefault("key.fields", ";".join(self.key))
        for prop, only in (("scan.startup.mode", "earliest-offset"), ("scan.bounded.mode", "unbounded")):
            if props.get(prop, only) != only:
                raise KafkaConfigError(f"table {name}: {prop!r} = {props[prop]!r}: a changelog table "
                                       "reads its topic from the earliest offset and follows it")
        schema = list(self.schema) + ([Field(op_field, "VARCHAR")] if op_field else [])
        self.name = name
        self.source = KafkaSource(name, schema, props, connect_timeout=connect_timeout,
                                  changelog_key=self.key, op_field=op_field, what=f"table {name}")
        self.log = log  # a file; default sys.stderr at the time of writing
        self.loaded = False
        self.dead_letters = 0
        self._dead_sink = None
        self._pool = None

    def _say(self, text: str) -> None:
        print(f"sqlc lookup: table {self.name}: {text}", file=self.log or sys.stderr, flush=True)

    def open(self) -> KafkaTable:
        """Connect, and read the topic from the earliest offset to its end."""
        if self.loaded:
            return self
        from runtime_lib.io.kafka import KafkaDeadLetterSink, ProducerPool

        topic = ", ".join(self.source.topics)
        self._say(f"loading topic {topic} from the earliest offset to its end; lookup joins "
                  "wait until it is loaded")
        started = time.monotonic()
        self.source.open()
        if self.source.dead_letter_topic:
            self._pool = ProducerPool(self.source.connect_timeout)
            self._dead_sink = KafkaDeadLetterSink(self.source.dead_letter_topic, self.name,
                                                  self.source.properties, self._pool)
        said = started
        while not self.source.caught_up:
            self._apply(self.source.read(0.1))
            if time.monotonic() - said >= 10.0:
                said = time.monotonic()
                self._say(f"still loading: {self.source.records_read} messages read")
        self.loaded = True
        self._say(f"loaded {len(self)} rows from {self.source.records_read} messages "
                  f"({self.dead_letters} bad) in {time.monotonic() - started:.2f} s; "
                  "following new messages")
        return self

    def refresh(self) -> None:
        """Apply every change that has arrived, without waiting."""
        for _ in range(64):  # (a bound, should changes arrive faster than they are applied)
            chunk = self.source.read(0)
            if chunk is None:
                break
            self._apply(chunk)

    def _apply(self, chunk) -> None:
        if chunk is None:
            return
        if chunk.dead:
            self._bad(chunk.dead)
        self.apply(chunk.batch)

    def _bad(self, dead: list) -> None:
        """Bad messages: counted, shown on stderr (the first ``warn_limit``), and
        written to the table's 'dead-letter.topic' when it has one."""
        shown = max(0, self.warn_limit - self.dead_letters)
        self.dead_letters += len(dead)
        for d in dead[:shown]:
            self._say(f"bad message in topic {d.topic} partition {d.partition} offset {d.offset} "
                      f"skipped: {d.reason}")
        if shown and len(dead) > shown:
            self._say(f"more than {self.warn_limit} bad messages: the others are only counted"
                      + (f" and written to {self._dead_sink.topic}" if self._dead_sink else ""))
        if self._dead_sink is not None:
            self._dead_sink.write(dead)
            self._pool.flush(30.0)

    def lookup(self, keys: list[Column]) -> tuple[np.ndarray, list[Column]]:
        if self.loaded:
            self.refresh()
        else:
            self.open()
        return super().lookup(keys)

    def close(self) -> None:
        self.source.close()
        if self._pool is not None:
            self._pool.close()


# -- a changelog table read as a stream ------------------------------------------


class ChangelogFile:
    """A file of changes read as a stream: the versions of an event-time
    temporal join from a 'filesystem' table with 'changelog.op-field'. Each
    line's ``op_field`` (+I, +U, -U, -D) becomes the batch's ``ops`` (None:
    every line an upsert, +U). Iterates as ``FileSource`` does, ``offset`` its
    lines consumed (checkpointed)."""

    def __init__(self, source, op_field: str | None) -> None:
        self.source = source
        self.op_field = op_field

    @property
    def offset(self) -> int:
        return self.source.offset

    def __iter__(self):
        for batch, dead in self.source:
            if self.op_field is not None:
                yield _checked_ops(batch.split_ops(self.op_field), dead, self.source), dead
            else:
                yield Batch(batch.columns, batch.num_rows, batch.watermarks,
                            np.full(batch.num_rows, "+U", dtype=object)), dead


def _checked_ops(batch: Batch, dead: list, source) -> Batch:
    """The rows whose kind is one of +I, +U, -U, -D; the others become dead
    letters (appended to ``dead``)."""
    from runtime_lib.io.decode import DeadLetter

    ops = batch.ops
    ok = np.isin(ops, ("+I", "+U", "-U", "-D"))
    if ok.all():
        return batch
    name = getattr(source, "source_name", "") or ""
    for i in np.flatnonzero(~ok).tolist():
        dead.append(DeadLetter(b"", f"the change kind is {ops[i]!r}, not one of +I, +U, -U, -D",
                               name, i))
    return batch.take(ok)


def changelog_stream(name: str, fields, properties: dict[str, str], key, op_field: str | None,
                     path: str | None = None, **kafka):
    """The reader of a changelog table scanned as a stream of changes, rows
    with ``ops`` (the versions of an event-time temporal join): an
    upsert-kafka topic (the message key is the primary key, a tombstone a
    ``-D`` of it), a Kafka topic with a PRIMARY KEY or 'changelog.op-field',
    or a file with 'changelog.op-field' (``path``: --input's, else the
    table's). Kafka readers are returned unopened, their offsets checkpointed
    as any Kafka source's; ``kafka`` are KafkaSource's keyword arguments."""
    from runtime_lib.io.kafka import KafkaSource
    from runtime_lib.io.sources import FileSource

    fields = list(fields) + ([Field(op_field, "VARCHAR")] if op_field else [])
    connector = properties.get("connector", "")
    if path is not None and not path.startswith("kafka:") or connector in ("file", "filesystem"):
        path = path if path is not None else properties["path"]
        fmt = ("csv" if str(path).lower().endswith(".csv") else "json") if path != properties.get(
            "path") else properties.get("format", "json")
        return ChangelogFile(FileSource(path, fields, format=fmt,
                                        batch_size=kafka.get("batch_size", 65_536),
                                        source_name=name), op_field)
    props = dict(properties)
    if path is not None:  # --input NAME=kafka:TOPIC
        props["topic"] = path[len("kafka:"):]
    if connector == "upsert-kafka":  # the message key is the primary key
        props.setdefault("key.fields", ";".join(key))
    return KafkaSource(name, fields, props, changelog_key=list(key), op_field=op_field, **kafka)

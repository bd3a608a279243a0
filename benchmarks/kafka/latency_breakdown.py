"""Where the end-to-end latency of bench_kafka.py's latency run goes:

    .venv/bin/python benchmarks/kafka/latency_breakdown.py [--rate 10000] [--seconds 20]
        [--round-robin] [--baseline DIR] [--repeat N] [--skip-floor] [--pipeline-args "..."]

Runs on one local tansu broker (or SQLC_TEST_KAFKA_BOOTSTRAP), each on fresh
topics, with the load producer and the output reader of bench_kafka.py (same
settings):

- floor: the producer writes a topic and the reader reads that same topic, no
  pipeline: one Kafka hop (producer linger + broker + fetch wait), also per
  5 seconds (tansu slows down as small batches pile up in a topic);
- pipeline: the filter pipeline in between, run through trace_run.py, so that
  each output record's latency splits at the sink's produce (the output
  record's CreateTime) into
    sent -> sink's produce : hop 1 and the micro-batch's own time,
    sink's produce -> read : hop 2 (the sink's linger + broker + fetch wait);
  and, per micro-batch, the records' age when consume() returned them, the
  wait inside read(), consume() -> produced, plus the pipeline's GC pauses;
  with ``--baseline DIR`` again with the runtime_lib of DIR, alternating,
  ``--repeat`` times.

Times are wall clock (``time.time``) in each process; all run on this host.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import bench_kafka

PARTITIONS = bench_kafka.PARTITIONS


def load(broker, in_topic: str, out_topic: str, rate: int, seconds: float,
         proc: subprocess.Popen | None = None, sticky: bool = True) -> list[tuple[int, int, int]]:
    """Produce ``rate`` events/s to ``in_topic`` for ``seconds`` (after a
    warm-up until the first record comes back) and read ``out_topic``:
    ``(sent_us, output CreateTime ms, received_us)`` per record read after the
    first second."""
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

    base = bench_kafka.base_events()
    slow = [e for e in base if (e.get("latency_ms") or 0) > 1000]
    producer = Producer(bench_kafka.LOAD_PRODUCER | {"bootstrap.servers": broker.bootstrap})
    samples: list[tuple[int, int, int]] = []
    stop = threading.Event()

    def consume() -> None:
        consumer = Consumer(bench_kafka.READER | {"bootstrap.servers": broker.bootstrap,
                                                  "group.id": "bench-lat"})
        consumer.assign([TopicPartition(out_topic, p, 0) for p in range(PARTITIONS)])
        while not stop.is_set():
            messages = consumer.consume(1, 0.05)
            if messages:
                messages += consumer.consume(10_000, 0)
            now = time.time_ns() // 1000
            for m in messages:
                if m.error() is not None:
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        print("consumer:", m.error(), file=sys.stderr)
                    continue
                samples.append((orjson.loads(m.value())["sent_us"], m.timestamp()[1], now))
        consumer.close()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    try:
        bench_kafka.wait_for_answer(producer, in_topic, slow[0], samples, proc)
        started = time.time()
        bench_kafka.produce_at_rate(producer, in_topic, base, rate, seconds, sticky)
        producer.flush(10)
        time.sleep(1.0)
    finally:
        stop.set()
        reader.join(5)
    cut = int((started + 1.0) * 1e6)
    return [s for s in samples if s[0] >= cut]


def pct(values, label: str) -> str:
    a = np.asarray(values, dtype=float)
    return (f"{label:34} p50 {np.percentile(a, 50):7.1f}  p95 {np.percentile(a, 95):7.1f}  "
            f"p99 {np.percentile(a, 99):7.1f}  max {a.max():7.1f}")


def pipeline_run(broker, work: Path, module: Path, runtime: Path, suffix: str, args) -> None:
    lat_in = broker.create_topic(broker.unique_topic("lat-in"), PARTITIONS)
    lat_out = broker.create_topic(broker.unique_topic("lat-out"), PARTITIONS)
    trace = work / "trace.json"
    env = dict(os.environ, PYTHONPATH=str(runtime), KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
               BENCH_IN=lat_in, BENCH_OUT=lat_out, SQLC_TRACE_FILE=str(trace))
    log = open(work / "pipeline.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(HERE / "trace_run.py"), str(module),
                             *args.pipeline_args.split()], env=env, stderr=log)
    load_before = os.getloadavg()[0]
    try:
        samples = load(broker, lat_in, lat_out, args.rate, args.seconds, proc,
                       not args.round_robin)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
    sent = np.array([s for s, _, _ in samples], dtype=np.int64)
    out_ts = np.array([t for _, t, _ in samples], dtype=np.int64)
    received = np.array([r for _, _, r in samples], dtype=np.int64)
    data = json.loads(trace.read_text())
    lo = sent.min() / 1e6
    reads = np.array([r for r in data["reads"] if r[1] >= lo])
    writes = np.array([w for w in data["writes"] if w[0] >= lo])
    print(f"\npipeline{suffix} (filter, topic -> topic), {len(samples):,} output records, "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}, ms:")
    print(pct((received - sent) / 1000, "  end to end"))
    print(pct(out_ts - sent / 1000, "  sent -> sink's produce"))
    print(pct(received / 1000 - out_ts, "  sink's produce -> read"))
    # per micro-batch, from the pipeline's trace
    print(f"the pipeline's micro-batches ({len(reads):,} reads, {len(writes):,} writes):")
    print(pct(reads[:, 2], "  records per consume()"))
    print(pct(reads[:, 1] * 1000 - reads[:, 3], "  oldest record's age at consume()"))
    print(pct((reads[:, 1] - reads[:, 0]) * 1000, "  time inside read() (waiting)"))
    # each write belongs to the read before it
    index = np.searchsorted(reads[:, 1], writes[:, 0]) - 1
    ok = index >= 0
    print(pct((writes[ok, 1] - reads[index[ok], 1]) * 1000, "  consume() returned -> produced"))
    print(pct((writes[:, 1] - writes[:, 0]) * 1000, "  sink write (encode + produce)"))
    pauses = [c for c in data["gc"] if c[1] >= lo]
    for gen in (0, 1, 2):
        mine = [c[2] * 1000 for c in pauses if c[0] == gen]
        if mine:
            print(f"  gc generation {gen}: {len(mine)} collections, "
                  f"max {max(mine):.1f} ms, total {sum(mine):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--round-robin", action="store_true",
                        help="the load producer picks partitions round-robin (see bench_kafka)")
    parser.add_argument("--pipeline-args", default="", help="extra flags for the pipeline")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="also run the pipeline with the runtime_lib of DIR, alternating")
    parser.add_argument("--repeat", type=int, default=1, help="pipeline runs (of each runtime)")
    args = parser.parse_args()

    from tests.services.kafka_service import KafkaBroker

    broker = KafkaBroker.from_env()
    work = Path(tempfile.mkdtemp(prefix="sqlc-lat-"))
    try:
        print(f"broker: {broker!r}; {args.rate:,} events/s for {args.seconds:g} s; "
              f"load average {os.getloadavg()[0]:.1f}")
        if not args.skip_floor:
            topic = broker.create_topic(broker.unique_topic("floor"), PARTITIONS)
            samples = load(broker, topic, topic, args.rate, args.seconds,
                           sticky=not args.round_robin)
            total = [(r - s) / 1000 for s, _, r in samples]
            print(f"\nfloor (producer -> tansu -> reader, no pipeline), {len(samples):,} records, ms:")
            print(pct(total, "  produce -> read"))
            sent = np.array([s for s, _, _ in samples]) / 1e6
            for start in range(0, int(args.seconds), 5):  # does the broker slow down?
                window = (sent >= sent.min() + start) & (sent < sent.min() + start + 5)
                if window.any():
                    print(pct(np.asarray(total)[window], f"    seconds {start + 1}-{start + 6}"))

        modules = bench_kafka.compile_modules(work)
        runtimes = [("", bench_kafka.ROOT)] + ([(" [baseline]", args.baseline.resolve())]
                                               if args.baseline else [])
        for _ in range(args.repeat):
            for suffix, runtime in runtimes:
                pipeline_run(broker, work, modules["filter"], runtime, suffix, args)
        print(f"\nload average: {os.getloadavg()[0]:.1f} (2 cores)")
    finally:
        broker.close()


if __name__ == "__main__":
    main()

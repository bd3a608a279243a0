"""Produce -> consume latency on tansu for several fetch.wait.max.ms values.

    PYTHONPATH=. .venv/bin/python benchmarks/services/fetch_latency.py

An assign()ed consumer waits on an idle 3-partition topic; one record is
produced every ~140 ms; latency is from produce() to poll() returning it.
Uses SQLC_TEST_KAFKA_BOOTSTRAP if set, else starts tansu.
"""

from __future__ import annotations

import statistics
import time

from confluent_kafka import TopicPartition

from tests.services import KafkaBroker


def main(samples: int = 20) -> None:
    with KafkaBroker.from_env() as kafka:
        print(f"broker {kafka!r}")
        for wait_ms in (500, 250, 100, 10):
            topic = kafka.create_topic(kafka.unique_topic("lat"), 3)
            consumer = kafka.consumer(**{"fetch.wait.max.ms": wait_ms})
            consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
            consumer.poll(1.0)
            lat = []
            for i in range(samples):
                time.sleep(0.137)
                t0 = time.monotonic()
                kafka.produce(topic, [b"x"], partition=i % 3)
                while True:
                    msg = consumer.poll(5)
                    if msg is not None and msg.error() is None:
                        break
                lat.append(time.monotonic() - t0)
            consumer.close()
            print(
                f"fetch.wait.max.ms={wait_ms:4d}: latency median {statistics.median(lat) * 1000:6.1f} ms, "
                f"max {max(lat) * 1000:6.1f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()

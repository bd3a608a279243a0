"""What does tansu do with idempotence, transactions, watermarks, auto-create?

    PYTHONPATH=. .venv/bin/python benchmarks/services/tansu_probe.py

Uses SQLC_TEST_KAFKA_BOOTSTRAP if set (compare with a real Kafka), else starts
tansu. Prints one line per check: OK (behaves like Kafka) or DIFFERS (with what
was seen). Findings are summarised in tests/services/README.md.
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from tests.services import KafkaBroker


def report(name: str, ok: bool, seen: object) -> None:
    print(f"{'OK     ' if ok else 'DIFFERS'}  {name}: {seen}", flush=True)


def main() -> None:
    with KafkaBroker.from_env() as kafka:
        print(f"broker {kafka!r}")
        b = kafka.bootstrap

        # 1. idempotent producer
        topic = kafka.create_topic(kafka.unique_topic("idem"), 2)
        p = Producer({"bootstrap.servers": b, "enable.idempotence": True, "linger.ms": 5})
        errs: list = []
        for i in range(2000):
            p.produce(
                topic,
                str(i).encode(),
                key=str(i % 7).encode(),
                on_delivery=lambda e, m: errs.append(e) if e else None,
            )
        left = p.flush(30)
        got = kafka.consume_all(topic)
        report(
            "idempotent producer, 2000 records",
            not errs and not left and len(got) == 2000,
            f"errors={errs[:2]} undelivered={left} read back={len(got)}",
        )

        # 2. ListOffsets (latest) = high watermark, after one multi-record batch
        topic = kafka.create_topic(kafka.unique_topic("hw"), 1)
        kafka.produce(topic, [b"y"])  # a batch of 1
        kafka.produce(topic, [b"x"] * 5)  # then one batch of 5 (linger.ms=5)
        c = Consumer({"bootstrap.servers": b, "group.id": "probe"})
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        c.close()
        report(
            "ListOffsets high watermark after batches of 1 and 5 records",
            hi == 6,
            f"(low, high)=({lo}, {hi}); expected (0, 6)",
        )

        # 2b. assign() at OFFSET_END (= ListOffsets latest), then one new record
        from confluent_kafka import OFFSET_END

        c = kafka.consumer()
        c.assign([TopicPartition(topic, 0, OFFSET_END)])
        time.sleep(1.0)
        kafka.produce(topic, [b"new"])
        seen = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3:
            m = c.poll(0.1)
            if m is not None and m.error() is None:
                seen.append((m.offset(), m.value()))
        c.close()
        report(
            "assign at OFFSET_END delivers only records produced later", seen == [(6, b"new")], seen
        )

        # 2c. offsets_for_times (ListOffsets by timestamp)
        topic = kafka.create_topic(kafka.unique_topic("ts"), 1)
        kafka.produce(topic, [b"a"], timestamp=1000)
        p = kafka.producer()
        for ts in (2000, 2001, 2002):  # one batch of 3
            p.produce(topic, b"b", timestamp=ts)
        p.flush(30)
        kafka.produce(topic, [b"c"], timestamp=3000)
        c = kafka.consumer()
        want = {500: 0, 1500: 1, 2001: 2, 2500: 4, 3000: 4}
        seen = {
            q: c.offsets_for_times([TopicPartition(topic, 0, q)], timeout=10)[0].offset
            for q in want
        }
        c.close()
        report("offsets_for_times (timestamp -> offset)", seen == want, f"{seen}; expected {want}")

        # 3. produce to a topic that does not exist
        name = kafka.unique_topic("auto")
        try:
            res = kafka.produce(name, [b"a"], timeout=15)
            report(
                "produce to a missing topic",
                True,
                f"auto-created, delivered to {res}, {len(kafka.partitions(name))} partitions",
            )
        except Exception as exc:  # noqa: BLE001
            report("produce to a missing topic", True, f"refused: {exc}")

        # 4. transactions
        src = kafka.create_topic(kafka.unique_topic("src"), 2)
        dst = kafka.create_topic(kafka.unique_topic("dst"), 2)
        kafka.produce(src, [f"s{i}" for i in range(10)], key=[str(i) for i in range(10)])
        txid = f"probe-{uuid.uuid4().hex[:8]}"
        tp = Producer({"bootstrap.servers": b, "transactional.id": txid})
        try:
            tp.init_transactions(30)
            tp.begin_transaction()
            for i in range(5):
                tp.produce(dst, f"committed{i}".encode(), partition=i % 2)
            tp.commit_transaction(30)
            report("init_transactions / commit_transaction", True, "no error")
        except KafkaException as exc:
            report("init_transactions / commit_transaction", False, exc)
            return

        # open transaction: invisible to read_committed?
        tp.begin_transaction()
        tp.produce(dst, b"open0", partition=0)
        tp.flush(30)
        rc = [r.value for r in kafka.consume_all(dst, isolation_level="read_committed")]
        report("read_committed hides an open transaction", b"open0" not in rc, sorted(rc))
        tp.abort_transaction(30)
        rc = [r.value for r in kafka.consume_all(dst, isolation_level="read_committed")]
        report("read_committed hides an aborted transaction", b"open0" not in rc, sorted(rc))

        # consume-transform-produce with send_offsets_to_transaction
        c = kafka.consumer("probe-ctp", **{"isolation.level": "read_committed"})
        c.subscribe([src])
        msgs = []
        t0 = time.monotonic()
        while len(msgs) < 10 and time.monotonic() - t0 < 30:
            m = c.poll(0.1)
            if m is not None and m.error() is None:
                msgs.append(m)
        tp.begin_transaction()
        for m in msgs:
            tp.produce(dst, b"out-" + m.value(), partition=m.partition())
        tp.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
        tp.commit_transaction(30)
        c.close()
        c2 = kafka.consumer("probe-ctp")
        committed = c2.committed([TopicPartition(src, 0), TopicPartition(src, 1)], timeout=10)
        c2.close()
        offsets = sorted(t.offset for t in committed)
        report(
            "send_offsets_to_transaction commits the group's offsets",
            sum(offsets) == 10,
            f"committed offsets {offsets}",
        )

        # fencing
        tp2 = Producer({"bootstrap.servers": b, "transactional.id": txid, "log_level": 0})
        tp2.init_transactions(30)
        try:
            tp.begin_transaction()
            tp.produce(dst, b"zombie", partition=0)
            tp.commit_transaction(30)
            report(
                "a second init_transactions fences the first producer", False, "zombie committed"
            )
        except KafkaException as exc:
            report("a second init_transactions fences the first producer", True, exc.args[0].name())


if __name__ == "__main__":
    main()

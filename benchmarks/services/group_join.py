"""How long does a confluent-kafka consumer take to join a group on tansu?

Measures, for several client settings, the time from subscribe() to the first
assignment (on_assign) and to the first record, for a fresh group on a
3-partition topic; then a two-member group (second member joining later: the
rebalance), and a member killed without leaving (session expiry).

    PYTHONPATH=. .venv/bin/python benchmarks/services/group_join.py [--repeat 3] [--quick]

Uses SQLC_TEST_KAFKA_BOOTSTRAP if set, else starts tansu. Prints a table;
results are in tests/services/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import uuid

from tests.services import KafkaBroker

SETTINGS: list[tuple[str, dict]] = [
    ("librdkafka defaults (session 45000, hb 3000)", {}),
    ("session 10000, hb 3000", {"session.timeout.ms": 10000, "heartbeat.interval.ms": 3000}),
    (
        "session 6000, hb 1000 (Kafka's minimum session)",
        {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000},
    ),
    ("session 3000, hb 500", {"session.timeout.ms": 3000, "heartbeat.interval.ms": 500}),
    (
        "session 2000, hb 500  <- FAST_GROUP_SETTINGS",
        {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500},
    ),
    ("session 1000, hb 250", {"session.timeout.ms": 1000, "heartbeat.interval.ms": 250}),
    # Settings that do NOT change the join time (checked with the default session):
    ("defaults + roundrobin assignor", {"partition.assignment.strategy": "roundrobin"}),
    (
        "defaults + cooperative-sticky assignor",
        {"partition.assignment.strategy": "cooperative-sticky"},
    ),
    (
        "defaults + metadata refresh 1000, fetch.wait.max.ms 50, nagle off",
        {
            "topic.metadata.refresh.interval.ms": 1000,
            "fetch.wait.max.ms": 50,
            "socket.nagle.disable": True,
        },
    ),
    (
        "session 2000, hb 500 + static membership (group.instance.id)",
        {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500, "group.instance.id": "static-1"},
    ),
]

QUICK = {0, 2, 4}


def join_once(
    broker: KafkaBroker, topic: str, conf: dict, limit: float = 60.0
) -> tuple[float | None, float | None]:
    from confluent_kafka import Consumer

    full = {
        "bootstrap.servers": broker.bootstrap,
        "group.id": f"bench-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **conf,
    }
    if "group.instance.id" in full:
        full["group.instance.id"] = f"{full['group.instance.id']}-{uuid.uuid4().hex[:6]}"
    consumer = Consumer(full)
    assigned: list[float] = []
    t0 = time.monotonic()
    consumer.subscribe([topic], on_assign=lambda c, p: assigned.append(time.monotonic() - t0))
    first = None
    try:
        while time.monotonic() - t0 < limit:
            msg = consumer.poll(0.05)
            if msg is not None and msg.error() is None:
                first = time.monotonic() - t0
                break
    finally:
        consumer.close()
    return (assigned[0] if assigned else None), first


def rebalance(broker: KafkaBroker, topic: str, conf: dict) -> dict[str, float]:
    """Member A alone, then B joins: time until both hold partitions again;
    then A closes (LeaveGroup): time until B holds all partitions."""
    from confluent_kafka import Consumer

    group = f"bench-rb-{uuid.uuid4().hex[:8]}"
    state: dict[str, list[int]] = {}
    stop: dict[str, bool] = {}

    def member(name: str) -> threading.Thread:
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, **conf})

        def on_assign(_c, parts):
            state[name] = [p.partition for p in parts]

        def on_revoke(_c, _parts):
            state[name] = []

        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

        def run():
            while not stop.get(name):
                c.poll(0.05)
            c.close()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def wait(cond, limit=90.0) -> float:
        t0 = time.monotonic()
        while not cond():
            if time.monotonic() - t0 > limit:
                return float("nan")
            time.sleep(0.01)
        return time.monotonic() - t0

    out = {}
    ta = member("A")
    out["first member assigned"] = wait(lambda: bool(state.get("A")))
    tb = member("B")
    t0 = time.monotonic()
    wait(lambda: bool(state.get("B")))
    wait(
        lambda: (
            bool(state.get("A")) and bool(state.get("B")) and len(state["A"]) + len(state["B"]) == 3
        )
    )
    out["second member joins: both assigned"] = time.monotonic() - t0
    stop["A"] = True
    t0 = time.monotonic()
    ta.join(30)
    wait(lambda: len(state.get("B", [])) == 3)
    out["first member leaves: survivor has all"] = time.monotonic() - t0
    stop["B"] = True
    tb.join(30)
    return out


CHILD = r"""
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
              "session.timeout.ms": int(sys.argv[3]), "heartbeat.interval.ms": int(sys.argv[4])})
c.subscribe([sys.argv[5]], on_assign=lambda c, p: print("assigned", flush=True))
while True:
    c.poll(0.05)
"""


def crash_expiry(broker: KafkaBroker, topic: str, session: int, hb: int) -> float:
    """A member is SIGKILLed: time until the survivor holds all partitions."""
    from confluent_kafka import Consumer

    group = f"bench-crash-{uuid.uuid4().hex[:8]}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, broker.bootstrap, group, str(session), str(hb), topic],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # child has its assignment
        mine: list[int] = []
        c = Consumer(
            {
                "bootstrap.servers": broker.bootstrap,
                "group.id": group,
                "session.timeout.ms": session,
                "heartbeat.interval.ms": hb,
            }
        )
        c.subscribe(
            [topic],
            on_assign=lambda _c, p: mine.__setitem__(slice(None), [x.partition for x in p]),
            on_revoke=lambda _c, p: mine.clear(),
        )
        t0 = time.monotonic()
        while not (mine and len(mine) < 3) and time.monotonic() - t0 < 60:
            c.poll(0.05)
        child.kill()
        child.wait()
        t0 = time.monotonic()
        while len(mine) < 3 and time.monotonic() - t0 < 120:
            c.poll(0.05)
        took = time.monotonic() - t0
        c.close()
        return took
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="only default, 6000 and FAST settings")
    args = ap.parse_args()
    with KafkaBroker.from_env() as broker:
        print(f"broker {broker!r}, started in {broker.start_seconds:.3f}s")
        topic = broker.create_topic(broker.unique_topic("bench"), 3)
        broker.produce(topic, [f"v{i}" for i in range(300)], key=[f"k{i}" for i in range(300)])
        print(f"\n{'settings':66s} {'assigned (median, s)':>21s} {'first record':>13s}  runs")
        for i, (label, conf) in enumerate(SETTINGS):
            if args.quick and i not in QUICK:
                continue
            runs = [join_once(broker, topic, conf) for _ in range(args.repeat)]
            a = [r[0] for r in runs if r[0] is not None]
            f = [r[1] for r in runs if r[1] is not None]
            med_a = f"{statistics.median(a):.2f}" if a else "never"
            med_f = f"{statistics.median(f):.2f}" if f else "never"
            print(
                f"{label:66s} {med_a:>21s} {med_f:>13s}  {[round(r[0], 2) if r[0] else None for r in runs]}",
                flush=True,
            )
        for label, conf in [
            ("defaults", {}),
            ("FAST (2000/500)", {"session.timeout.ms": 2000, "heartbeat.interval.ms": 500}),
        ]:
            out = rebalance(broker, topic, conf)
            print(
                f"\nrebalance, {label}: " + ", ".join(f"{k} {v:.2f}s" for k, v in out.items()),
                flush=True,
            )
        for session, hb in [(2000, 500), (6000, 1000)]:
            took = crash_expiry(broker, topic, session, hb)
            print(
                f"member SIGKILLed, session {session}: survivor has all partitions after {took:.2f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""The output gap of ``sqlc upgrade`` with a large state, on a real Kafka
broker (tansu, as in tests/services):

    .venv/bin/python benchmarks/manager/bench_upgrade.py [--events 1000000]

The query keeps one row of state per event (GROUP BY a key that is new in
every event): after ``--events`` events it holds that many groups. The
upgrade (same SQL, other flags) starts the new version beside the old one
(``--standby``: imports, Kafka connection, kernels), then takes the old
version's final checkpoint and lets the new one restore it; ``gap_s`` is from
the stop request to the new version's readiness, ``warmup_s`` the start-up
that ran beside the old version. Then more events are fed and the output is checked:
every key exactly once (+I), none lost, none twice.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from compiler.manager.core import Manager
from tests.services import KafkaBroker

SQL = "SELECT request_id, COUNT(*) AS n FROM llm_requests GROUP BY request_id;\n"
T0 = 1_762_769_000_000


def feed(kafka: KafkaBroker, topic: str, first: int, n: int) -> None:
    step = 100_000
    for start in range(first, first + n, step):
        kafka.produce(topic, [b'{"request_id":"r%d","model_id":"m","timestamp_ms":%d}'
                              % (i, T0 + i) for i in range(start, min(first + n, start + step))],
                      timeout=300)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--more", type=int, default=10_000)
    args = parser.parse_args()
    with KafkaBroker.start_managed() as kafka, tempfile.TemporaryDirectory() as tmp:
        topic = kafka.create_topic(kafka.unique_topic("upgrade"), 1)
        began = time.perf_counter()
        feed(kafka, topic, 0, args.events)
        print(f"fed {args.events:,} events in {time.perf_counter() - began:.1f} s")
        out = Path(tmp) / "out.jsonl"
        flags = ["--input", f"llm_requests=kafka:{topic}", "--bootstrap", kafka.bootstrap,
                 "--output", str(out), "--checkpoint-interval", "1 min"]
        manager = Manager(Path(tmp) / "state", [str(ROOT / "examples" / "catalog.sql")])
        manager.start()
        manager.submit("big", SQL, flags)
        while lines(out) < args.events:
            time.sleep(0.5)
        state = manager.describe("big")
        print(f"old version: {args.events:,} groups in state, {state.get('records_in')} read")
        answer = manager.upgrade("big", SQL, [*flags, "--batch-size", "10000"])
        warm = answer.get("warmup_s")  # (no warm-up before the overlapped upgrade)
        print(f"upgrade: state {answer['state']}, gap {answer['gap_s']:.2f} s"
              + (f" (old version's final checkpoint and exit {answer['stop_s']:.2f} s, "
                 f"new version's restore and start {answer['takeover_s']:.2f} s); new "
                 f"version warmed up beside the old one in {warm:.2f} s" if warm else ""))
        size = sum(p.stat().st_size for p in (Path(tmp) / "state" / "queries" / "big" / "chk")
                   .rglob("*") if p.is_file())
        print(f"checkpoints on disk: {size / 1e6:.1f} MB")
        fed = time.perf_counter()
        feed(kafka, topic, args.events, args.more)
        total = args.events + args.more
        while lines(out) < total and time.perf_counter() - fed < 120:
            time.sleep(0.2)
        print(f"{args.more:,} more events out {time.perf_counter() - fed:.2f} s after feeding")
        manager.stop("big")
        manager.shutdown()
        keys = [json.loads(line)["request_id"] for line in out.read_text().splitlines()]
        lost = total - len(set(keys))
        print(f"rows lost {lost}, duplicated {len(keys) - len(set(keys))}")


if __name__ == "__main__":
    main()

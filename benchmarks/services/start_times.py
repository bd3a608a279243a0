"""Start-up and restart times of the test components (tests/services/).

    PYTHONPATH=. .venv/bin/python benchmarks/services/start_times.py [--repeat 5]

For each component: time to a usable server from nothing (what a session
fixture costs), and stop() / start() times of a running one. For Postgres the
first run may initdb (and save the data-dir template); later runs copy it.
Delete /dev/shm/sqlc-pg-template-* to measure initdb again.
"""

from __future__ import annotations

import argparse
import statistics
import time

from tests.services import KafkaBroker, PostgresServer, RedisServer


def fmt(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.3f}s  max {max(xs):.3f}s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    n = ap.parse_args().repeat
    for name, cls in (
        ("kafka (tansu)", KafkaBroker),
        ("postgres", PostgresServer),
        ("redis", RedisServer),
    ):
        fresh, stops, starts, extra = [], [], [], []
        for _ in range(n):
            t0 = time.monotonic()
            svc = cls.start_managed()
            fresh.append(time.monotonic() - t0)
            if getattr(svc, "init_seconds", None) is not None:
                extra.append((svc.from_template, svc.init_seconds))
            try:
                t0 = time.monotonic()
                svc.stop()
                stops.append(time.monotonic() - t0)
                t0 = time.monotonic()
                svc.start()
                starts.append(time.monotonic() - t0)
            finally:
                svc.close()
        print(f"{name:14s} fresh start: {fmt(fresh)}")
        for label, flag in (("initdb", False), ("template copy", True)):
            xs = [secs for from_template, secs in extra if from_template == flag]
            if xs:
                print(f"{'':14s}   of which {label} ({len(xs)}x): {fmt(xs)}")
        print(f"{'':14s} stop():      {fmt(stops)}")
        print(f"{'':14s} start():     {fmt(starts)}", flush=True)


if __name__ == "__main__":
    main()

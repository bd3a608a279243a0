"""Compile-time benchmark: parse + analyze, and the full compile (SQL file to a
black-formatted module), per example query, in-process.

    .venv/bin/python benchmarks/bench_compile.py [--runs 200] [--cached]

Prints p50 and p99 per example and over all of them. The catalog is parsed
once per run too (it is part of every compile). Spec budget for a whole
compile: p50 20 ms, p99 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from compiler.driver import analyze, compile_source, read_source
from compiler.errors import SqlcError

ROOT = Path(__file__).resolve().parent.parent
CATALOG = [str(ROOT / "examples" / "catalog.sql")]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--cached", action="store_true",
                        help="let black's on-disk memo serve repeated compiles (warm)")
    args = parser.parse_args()
    examples = sorted(p for p in (ROOT / "examples").glob("*.sql") if p.name != "catalog.sql")
    front_all: list[float] = []
    full_all: list[float] = []
    print(f"{'example':34} {'front p50':>10} {'front p99':>10} {'full p50':>10} {'full p99':>10}")
    for path in examples:
        source = read_source(path)
        front, full = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            analyze(source, CATALOG)
            front.append((time.perf_counter() - start) * 1000)
        runnable = True
        for _ in range(max(args.runs // 4, 10)):
            os.environ["SQLC_NO_CACHE"] = "" if args.cached else "1"
            start = time.perf_counter()
            try:
                compile_source(source, CATALOG)
            except SqlcError:
                runnable = False  # valid SQL that does not run yet: no module to time
                break
            full.append((time.perf_counter() - start) * 1000)
        front_all += front
        full_all += full
        full_text = (f"{percentile(full, 0.5):10.2f} {percentile(full, 0.99):10.2f}"
                     if runnable else f"{'-':>10} {'-':>10}")
        print(f"{path.stem:34} {percentile(front, 0.5):10.2f} {percentile(front, 0.99):10.2f} "
              f"{full_text}")
    print(f"{'ALL (ms)':34} {percentile(front_all, 0.5):10.2f} {percentile(front_all, 0.99):10.2f} "
          f"{percentile(full_all, 0.5):10.2f} {percentile(full_all, 0.99):10.2f}")
    print(f"mean front end {statistics.mean(front_all):.2f} ms over {len(front_all)} runs; "
          f"full compile {statistics.mean(full_all):.2f} ms over {len(full_all)} runs")


if __name__ == "__main__":
    main()

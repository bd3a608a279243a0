"""Concurrent queries under the query manager (``compiler.manager``), one
process each, on this machine: aggregate events/s and each query's own time.

    .venv/bin/python benchmarks/manager/bench_concurrent.py [--queries 10] [--events 200000]

Each query is examples/fr_dql_001_basic_select.sql (a filter and a
projection) reading its own copy of the same JSON-lines file (bounded, so
it ends COMPLETED) and writing JSON lines. The wall time runs from the first
submit to the last COMPLETED, start-up (imports, compile of the SQL, numba)
included; a query's own time is what its summary line says.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_stateless import make_events

from compiler.manager.core import Manager

QUERY = ROOT / "examples" / "fr_dql_001_basic_select.sql"
SUMMARY = re.compile(r"(\d+) records read.* ([\d.]+) s \(")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.jsonl"
        make_events(events, args.events)
        manager = Manager(Path(tmp) / "state", [str(ROOT / "examples" / "catalog.sql")])
        manager.start()
        sql = QUERY.read_text()
        began = time.perf_counter()
        for i in range(args.queries):
            manager.submit(f"q{i}", sql, ["--input", f"llm_requests={events}",
                                          "--output", str(Path(tmp) / f"out{i}.jsonl")])
        while any(q["state"] not in ("COMPLETED", "FAILED") for q in manager.list()):
            time.sleep(0.1)
        wall = time.perf_counter() - began
        manager.shutdown()
        own = []
        for q in manager.list():
            text = (Path(tmp) / "state" / "queries" / q["name"] / "stderr.log").read_text()
            found = SUMMARY.search(text)
            own.append(float(found.group(2)) if found else float("nan"))
        states = {q["state"] for q in manager.list()}
        total = args.queries * args.events
        print(f"{args.queries} queries x {args.events:,} events: {wall:.1f} s wall, "
              f"{total / wall:,.0f} events/s aggregate (start-up included), states {states}")
        print(f"per query (its own summary): min {min(own):.2f} s, max {max(own):.2f} s, "
              f"{args.events / max(own):,.0f}-{args.events / min(own):,.0f} events/s each")


if __name__ == "__main__":
    main()

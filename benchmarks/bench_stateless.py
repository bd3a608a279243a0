"""Filter + projection throughput from JSON lines, one core, in one run:

    .venv/bin/python benchmarks/bench_stateless.py [--events 1000000]

- sqlc: the generated module of examples/fr_dql_001_basic_select.sql
  (WHERE latency_ms > 1000, three columns out), reading the file, writing
  JSON lines to a file;
- DuckDB (threads=1) running the same query over the same file and writing the
  result as JSON lines (COPY ... TO);
- a plain per-event Python loop (orjson per line, dict access, orjson out);
- the start-up time of the generated module (a fresh process) to its first
  output row, on a 100-event file.

Times are CPU seconds of this process (medians of ``--repeat`` runs), so the
other work on the shared 2-core machine counts only through shared caches;
ratios are against sqlc's time in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
QUERY = ROOT / "examples" / "fr_dql_001_basic_select.sql"
MODELS = ["gpt-4o", "claude-3-opus", "claude-3-haiku", "llama-3-70b", "mistral-large",
          "gemini-1.5-pro"]
REGIONS = ["us-east", "us-west", "eu-west", "ap-south"]


def make_events(path: Path, n: int, seed: int = 7) -> None:
    """Realistic LLM request events (the catalog's llm_requests columns)."""
    rng = np.random.default_rng(seed)
    base = 1_762_768_800_000
    ts = base + np.sort(rng.integers(0, 3_600_000 * 24, n)) + rng.integers(-20_000, 0, n)
    latency = np.round(rng.lognormal(6.5, 0.9, n), 1)
    tokens = rng.integers(20, 4000, n)
    cost = np.round(tokens * rng.choice([1e-6, 5e-6, 1.5e-5, 6e-5], n), 6)
    model = rng.integers(0, len(MODELS), n)
    region = rng.integers(0, len(REGIONS), n)
    error = rng.random(n) < 0.02
    with open(path, "wb") as out:
        for i in range(n):
            out.write(orjson.dumps({
                "request_id": f"req-{i:08d}",
                "user_id": f"user-{int(ts[i]) % 5000}",
                "model_id": MODELS[model[i]],
                "region": REGIONS[region[i]],
                "timestamp_ms": int(ts[i]),
                "latency_ms": float(latency[i]),
                "tokens_used": int(tokens[i]),
                "cost": float(cost[i]),
                "error_code": "timeout" if error[i] else None,
                "experiment_id": None,
                "variant": None,
                "prompt_text": "Summarize the incident report for the on-call channel.",
            }) + b"\n")


def python_loop(events: Path, out: Path) -> int:
    rows = 0
    loads, dumps = orjson.loads, orjson.dumps
    with open(events, "rb") as src, open(out, "wb") as dst:
        for line in src:
            event = loads(line)
            latency = event.get("latency_ms")
            if latency is not None and latency > 1000:
                dst.write(dumps({"model_id": event["model_id"], "latency_ms": latency,
                                 "cost": event.get("cost")}) + b"\n")
                rows += 1
    return rows


def duckdb_run(events: Path, out: Path) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute(f"""
        COPY (SELECT model_id, latency_ms, cost
              FROM read_json('{events}', format = 'newline_delimited',
                             columns = {{model_id: 'VARCHAR', latency_ms: 'DOUBLE',
                                         cost: 'DOUBLE', timestamp_ms: 'BIGINT'}})
              WHERE latency_ms > 1000)
        TO '{out}' (FORMAT JSON)""")


def timed(fn) -> float:
    """CPU seconds of this process (all its threads: DuckDB's one thread too):
    other engineers' load on the shared cores does not count against it."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def median_of(fn, repeat: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per engine (median)")
    args = parser.parse_args()
    from compiler.cli import run_module
    from compiler.driver import compile_source, read_source

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        events = work / "events.jsonl"
        make_events(events, args.events)
        module = work / "q.py"
        compiled = compile_source(read_source(QUERY), [str(ROOT / "examples" / "catalog.sql")])
        module.write_text(compiled.module or "", encoding="utf-8")
        argv = ["--input", f"llm_requests={events}", "--output", str(work / "sqlc.jsonl"),
                "--quiet"]
        run_module(module, argv)  # warm-up: imports, numba
        sqlc_s = median_of(lambda: run_module(module, argv), args.repeat)
        duck_s = median_of(lambda: duckdb_run(events, work / "duck.jsonl"), args.repeat)
        loop_s = timed(lambda: python_loop(events, work / "loop.jsonl"))
        rows = {name: sum(1 for _ in open(work / f"{name}.jsonl", "rb"))
                for name in ("sqlc", "duck", "loop")}
        small = work / "small.jsonl"
        make_events(small, 100)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(module), "--input",
                                 f"llm_requests={small}", "--quiet"],
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None
        proc.stdout.readline()
        first_row = time.perf_counter() - start
        proc.communicate()

    n = args.events
    print(f"events: {n:,}; rows out: sqlc {rows['sqlc']:,}, duckdb {rows['duck']:,}, "
          f"python loop {rows['loop']:,}")
    print(f"CPU seconds, median of {args.repeat} runs (the python loop: one run)")
    print(f"{'engine':28} {'cpu s':>8} {'events/s':>12} {'time vs sqlc':>13}")
    for name, secs in (("sqlc (generated module)", sqlc_s), ("duckdb, 1 thread", duck_s),
                       ("per-event python loop", loop_s)):
        print(f"{name:28} {secs:8.2f} {n / secs:12,.0f} {secs / sqlc_s:12.2f}x")
    print(f"start-up of the generated module to its first output row: {first_row * 1000:.0f} ms")


if __name__ == "__main__":
    main()

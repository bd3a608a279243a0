"""Checkpoint cost: duration and size with N events held in open windows, and
the time to read a checkpoint back and restore the operator (the state part of
recovery; a process start adds its import time, measured by --restart).

    .venv/bin/python benchmarks/recovery/bench_checkpoint.py --events 1000000 10000000
    .venv/bin/python benchmarks/recovery/bench_checkpoint.py --throughput 1000000

The windows are TUMBLE 1 day per model (none fires) with AVG, MAX and three
exact percentiles (PERCENTILE_CONT keeps every value: the largest state sqlc
has), the aggregates of spec Query 2. --throughput runs the generated Query 2
on a JSON-lines file with and without --checkpoint-dir (interval 1 s: ten
times Flink's usual 10 s, to make the cost visible) and reports CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runtime_lib.checkpoint import CheckpointStore  # noqa: E402
from runtime_lib.columns import Column  # noqa: E402
from runtime_lib.operators.aggregates import Agg  # noqa: E402
from runtime_lib.operators.windows import AfterWatermark, Tumble, WindowAggregate  # noqa: E402
from runtime_lib.watermarks import WM_MIN  # noqa: E402

MODELS = np.array(["gpt-4o", "claude-3-opus", "claude-3-haiku", "llama-3-70b", "mistral-large",
                   "gemini-1.5-pro"], dtype=object)


def operator() -> WindowAggregate:
    return WindowAggregate(
        window=Tumble(size_ms=86_400_000), key_kinds=["O"], arg_kinds=["f"],
        aggs=[Agg("avg", arg=0), Agg("percentile_cont", arg=0, param=0.5),
              Agg("percentile_cont", arg=0, param=0.95),
              Agg("percentile_cont", arg=0, param=0.99), Agg("max", arg=0)],
        emit=AfterWatermark(delay_ms=0))


def fill(op: WindowAggregate, events: int, batch: int = 1_000_000) -> None:
    rng = np.random.default_rng(1)
    for start in range(0, events, batch):
        n = min(batch, events - start)
        keys = Column(MODELS[rng.integers(0, len(MODELS), n)])
        ts = 1_762_768_800_000 + rng.integers(0, 3_600_000, n)
        latency = Column(rng.lognormal(6.5, 0.6, n))
        op.process(keys=[keys], ts=ts, watermark_before=np.full(n, WM_MIN, np.int64),
                   args=[latency])


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_state(events: int) -> None:
    op = operator()
    began = time.perf_counter()
    fill(op, events)
    filled = time.perf_counter() - began
    directory = Path(tempfile.mkdtemp(prefix="sqlc-bench-chk-"))
    try:
        store = CheckpointStore(directory)
        t0 = time.perf_counter()
        snapshot = {"operators": {"window_aggregate": op.snapshot()}}
        t1 = time.perf_counter()
        written = store.write(snapshot, {"query": {}})
        t2 = time.perf_counter()
        read = store.read(written.id)
        fresh = operator()
        fresh.restore(read.state["operators"]["window_aggregate"])
        t3 = time.perf_counter()
        print(f"{events:>11,} events in open windows: snapshot {t1 - t0:6.3f} s, write "
              f"(fsync) {t2 - t1:6.3f} s, size {size_of(written.path) / 1e6:8.1f} MB; "
              f"read + restore {t3 - t2:6.3f} s   (filling took {filled:.1f} s)", flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def bench_throughput(events: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from tests.exactly_once import copies_for, scaled

    directory = Path(tempfile.mkdtemp(prefix="sqlc-bench-tp-"))
    try:
        data = directory / "events.jsonl"
        with data.open("w") as handle:
            for row in scaled("llm_requests", copies_for(events)):
                handle.write(json.dumps(row) + "\n")
        module = ROOT / "generated" / "q02_latency_percentiles.py"

        def cpu(*extra: str) -> float:
            out = directory / "out.jsonl"
            done = subprocess.run([sys.executable, str(module), "--input", f"llm_requests={data}",
                                   "--output", str(out), "--batch-size", "20000", *extra],
                                  capture_output=True, text=True, check=True)
            line = [x for x in done.stderr.splitlines() if "cpu" in x][-1]
            return float(line.split("cpu ")[1].split(" s")[0])

        cpu()  # warm the numba cache
        plain = min(cpu() for _ in range(3))
        checkpointed = min(cpu("--checkpoint-dir", str(directory / f"c{i}"),
                               "--checkpoint-interval", "1s") for i in range(3))
        print(f"Query 2 on {copies_for(events) * 4998:,} events: cpu {plain:.2f} s without "
              f"checkpoints, {checkpointed:.2f} s with one every second "
              f"({(checkpointed / plain - 1) * 100:+.1f} %)")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--throughput", type=int, default=0, metavar="EVENTS")
    args = parser.parse_args()
    for n in args.events:
        bench_state(n)
    if args.throughput:
        bench_throughput(args.throughput)


if __name__ == "__main__":
    main()

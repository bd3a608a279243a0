"""MATCH_RECOGNIZE benchmark: the generated FR-ADV-001 pipeline on pre-decoded columns, one core.

    PYTHONPATH=. .venv/bin/python benchmarks/match/bench_match.py [--events 1000000] [--batch 65536]

Runs ``generated/fr_adv_001_match_recognize.py`` (``PATTERN (A B+ C)``, A and
C latency < 100 ms, B > 1000 ms, per model, SKIP TO NEXT ROW) as the driver
would, minus JSON decoding: batches of the columns it reads (model_id,
request_id, latency_ms, event_time) with the watermark before each row go to
``Query.on_llm_requests``, and ``Query.advance`` after each batch. Measured:
CPU seconds of this process, best of 3, for

* ``sample-like``: 20 models (skewed), latencies drawn so that about 15% are
  fast and 20% slow: few partial matches open at any time;
* ``open=N``: N models, each with one partial match open for the whole run
  (one fast request, then only slow ones, one fast request at the end): N
  attempts open at once, each one extended by every row of its model.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.pipeline import Context
from runtime_lib.watermarks import WM_MAX, Watermarks

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "generated" / "fr_adv_001_match_recognize.py"
BOUND_MS = 30_000
T0 = 1_762_768_800_000


def load_query():
    spec = importlib.util.spec_from_file_location("fr_adv_001", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Query


class Counters:
    rows_out = 0


class Collect:
    def __init__(self) -> None:
        self.rows = 0

    def write(self, batch: Batch, ops=None) -> None:
        self.rows += batch.num_rows


def sample_like(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, 21)
    model = rng.choice(20, size=n, p=weights / weights.sum())
    latency = np.where(rng.random(n) < 0.15, rng.uniform(20, 99, n),
                       np.where(rng.random(n) < 0.25, rng.uniform(1001, 4000, n),
                                rng.uniform(100, 1000, n)))
    names = np.array([f"model-{i:02d}" for i in range(20)], dtype=object)
    return names[model], np.round(latency, 1)


def open_matches(n: int, keys: int):
    """Round-robin over ``keys`` models: each one's first and last rows fast,
    all the others slow."""
    model = np.arange(n) % keys
    latency = np.full(n, 2_000.0)
    latency[:keys] = 50.0
    latency[n - keys:] = 50.0
    names = np.array([f"model-{i:06d}" for i in range(keys)], dtype=object)
    return names[model], latency


def run(Query, models, latency, batch: int) -> tuple[float, int, int]:
    n = len(models)
    rng = np.random.default_rng(3)
    ts = T0 + np.arange(n, dtype=np.int64) * 5 - rng.integers(0, 5_000, n)
    ids = np.array([f"req-{i:07d}" for i in range(n)], dtype=object)
    out = Collect()
    query = Query(Context([out], None, None, Counters()))
    wm = Watermarks(BOUND_MS)
    peak_open = 0
    start = time.process_time()
    for lo in range(0, n, batch):
        t = ts[lo:lo + batch]
        before, current = wm.observe(0, t, now_ms=0)
        cols = {"request_id": Column(ids[lo:lo + batch]), "model_id": Column(models[lo:lo + batch]),
                "latency_ms": Column(latency[lo:lo + batch]), "event_time": Column(t)}
        query.on_llm_requests(Batch(cols, len(t), before))
        query.advance({"llm_requests": current})
        peak_open = max(peak_open, query.match.open_attempts)
    query.advance({"llm_requests": WM_MAX})
    return time.process_time() - start, out.rows, peak_open


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    Query = load_query()
    cases = [("sample-like", sample_like(args.events))]
    cases += [(f"open={k}", open_matches(args.events, k)) for k in (10, 1_000, 100_000)]
    print("| data | events/s | matches | peak open attempts |")
    print("|---|---|---|---|")
    for name, (models, latency) in cases:
        best = None
        for _ in range(args.repeat):
            elapsed, matches, peak = run(Query, models, latency, args.batch)
            best = elapsed if best is None else min(best, elapsed)
        print(f"| {name} | {args.events / best / 1e3:,.0f} k | {matches:,} | {peak:,} |", flush=True)


if __name__ == "__main__":
    main()

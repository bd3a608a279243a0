"""Event-time core benchmarks: window aggregates on pre-decoded columns, one core.

    .venv/bin/python benchmarks/windows/bench_windows.py [--events 1000000] [--batch 65536]

Data: LLM request events (20 models with skewed traffic, 10,000 users, about
200 events/s of event time, up to 5 s out of order, watermark bound 10 s),
decoded into numpy columns beforehand: decoding is benchmarked in
benchmarks/decode. Every figure is single-threaded (DuckDB runs with
``threads=1``) and timed in CPU seconds of this process (``time.process_time``,
best of 5, the compared runs interleaved), because the machine is shared and wall time is noisy; compile
times are wall time. Prints one table:

* TUMBLE 1 min by model_id with COUNT(*), AVG, SUM, MAX and exact
  PERCENTILE_CONT(0.95): sqlc events/s (watermarks + process + advance per
  micro-batch), the same query in DuckDB over the same in-memory data (a
  native DuckDB table, and a scan of the numpy arrays), and a plain per-event
  Python implementation of the same streaming semantics; the results are
  checked equal to DuckDB's first.
* HOP 10 min / 1 min, same aggregates, and its cost relative to TUMBLE.
* SESSION 30 min per user_id.
* Peak memory with 1M events held in open windows (one TUMBLE window of a day).
* numba compile time: a fresh process with an empty cache (cold) vs a fresh
  process with the cache filled (warm), for constructing the TUMBLE operator
  and compiling its kernels (``warmup()``).
* Every kernel of ``kernel_registry.REGISTRY`` against its pure-Python reference.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import duckdb
import numpy as np

from runtime_lib import kernel_registry as K
from runtime_lib.columns import Column
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.windows import Hop, Session, Tumble, WindowAggregate
from runtime_lib.watermarks import Watermarks

BOUND_MS = 10_000
AGGS = [Agg("count_star"), Agg("avg", arg=0), Agg("sum", arg=1), Agg("max", arg=0),
        Agg("percentile_cont", arg=0, param=0.95)]
T0 = 1_700_000_000_000


def make_events(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    models = np.array([f"model-{name}" for name in
                       ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-haiku", "llama-3-70b",
                        "llama-3-8b", "mistral-large", "mixtral-8x7b", "gemini-1.5-pro", "gemini-1.5-flash",
                        "command-r", "command-r-plus", "qwen-2-72b", "deepseek-v2", "phi-3", "yi-large",
                        "dbrx", "jamba", "falcon-180b", "grok-1"]], dtype=object)
    weights = 1.0 / np.arange(1, 21) ** 1.1
    model = models[rng.choice(20, n, p=weights / weights.sum())]  # fresh str objects, as a decoder makes
    model = np.array([str(m) + "" for m in model], dtype=object)
    arrival = T0 + np.cumsum(rng.exponential(5.0, n)).astype(np.int64)  # ~200 events/s
    ts = arrival - rng.integers(0, 5_000, n)
    return {
        "ts": ts,
        "model_id": model,
        "user_id": rng.integers(0, 10_000, n),
        "latency_ms": rng.gamma(2.0, 400.0, n),
        "tokens": rng.integers(1, 4_000, n),
    }


def run_sqlc(ev, window, batch: int, key="model_id", aggs=AGGS, warm=True):
    kinds = {"model_id": "O", "user_id": "i"}
    op = WindowAggregate(window=window, key_kinds=[kinds[key]], arg_kinds=["f", "i"], aggs=aggs)
    if warm:
        op.warmup()
    gc.collect()
    n = len(ev["ts"])
    keys, ts, lat, tok = Column(ev[key]), ev["ts"], Column(ev["latency_ms"]), Column(ev["tokens"])
    wm = Watermarks(BOUND_MS)
    outs = []
    t = time.process_time()
    for a in range(0, n, batch):
        b = min(n, a + batch)
        before, cur = wm.observe(0, ts[a:b])
        op.process(keys=[keys.take(slice(a, b))], ts=ts[a:b], watermark_before=before,
                   args=[lat.take(slice(a, b)), tok.take(slice(a, b))])
        outs.append(op.advance(cur))
    outs.append(op.advance(wm.finish()))
    elapsed = time.process_time() - t
    rows = [r for o in outs for r in o.to_rows()]
    return elapsed, rows, op


DUCK_SQL = """
SELECT model_id, (ts // 60000) * 60000 AS ws, count(*), avg(latency_ms), sum(tokens), max(latency_ms),
       quantile_cont(latency_ms, 0.95)
FROM {src} GROUP BY ALL"""


class DuckRunner:
    """The same query in DuckDB over a native table and over a scan of the
    numpy arrays; ``run()`` times each once (CPU seconds), keeping the best."""

    def __init__(self, ev):
        self.con = duckdb.connect()
        self.con.execute("SET threads = 1")
        self.d = dict(ev)
        d = self.d  # noqa: F841  (DuckDB scans the local variable by name)
        self.con.execute("CREATE TABLE ev AS SELECT * FROM d")
        self.best = {"native table": float("inf"), "numpy scan": float("inf")}
        self.rows = None

    def run(self):
        d = self.d  # noqa: F841
        for label, src in (("native table", "ev"), ("numpy scan", "d")):
            t = time.process_time()
            self.rows = self.con.execute(DUCK_SQL.format(src=src)).fetchall()
            self.best[label] = min(self.best[label], time.process_time() - t)


def run_python(ev, n: int):
    """The same streaming semantics written the obvious way: one loop iteration
    per event, a dict of open windows, lists of values for the percentile."""
    ts, model, lat, tok = (ev[c][:n].tolist() for c in ("ts", "model_id", "latency_ms", "tokens"))
    t = time.process_time()
    windows: dict = {}
    max_ts = None
    out = []
    fired_wm = None
    for i in range(n):
        wm = None if max_ts is None else max_ts - BOUND_MS
        ws = ts[i] // 60_000 * 60_000
        if wm is not None and ws + 60_000 - 1 <= wm:
            pass  # late
        else:
            st = windows.get((model[i], ws))
            if st is None:
                st = windows[(model[i], ws)] = [0, 0.0, 0, float("-inf"), []]
            st[0] += 1
            st[1] += lat[i]
            st[2] += tok[i]
            st[3] = max(st[3], lat[i])
            st[4].append(lat[i])
        max_ts = ts[i] if max_ts is None else max(max_ts, ts[i])
        wm = max_ts - BOUND_MS
        if fired_wm is None or wm // 60_000 != fired_wm // 60_000:
            fired_wm = wm
            for key in [k for k in windows if k[1] + 60_000 - 1 <= wm]:
                c, s, tk, mx, vals = windows.pop(key)
                vals.sort()
                pos = 0.95 * (c - 1)
                lo = int(pos)
                hi = min(lo + 1, c - 1)
                out.append((key[0], key[1], c, s / c, tk, mx, vals[lo] + (pos - lo) * (vals[hi] - vals[lo])))
    for key, (c, s, tk, mx, vals) in windows.items():
        vals.sort()
        pos = 0.95 * (c - 1)
        lo = int(pos)
        hi = min(lo + 1, c - 1)
        out.append((key[0], key[1], c, s / c, tk, mx, vals[lo] + (pos - lo) * (vals[hi] - vals[lo])))
    return time.process_time() - t, out


def check_equal(rows, duck_rows):
    got = {(r[0], r[1]): (r[4], r[5], r[6], r[7], r[8]) for r in rows}
    want = {(r[0], r[1]): r[2:] for r in duck_rows}
    assert got.keys() == want.keys(), "different windows"
    for k, w in want.items():
        g = got[k]
        assert g[0] == w[0] and g[2] == w[2], (k, g, w)
        for a, b in zip((g[1], g[3], g[4]), (w[1], w[3], w[4])):
            assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (k, g, w)


COMPILE_CHILD = """
import json, time
t = time.perf_counter()
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.windows import Tumble, WindowAggregate
t_import = time.perf_counter() - t
aggs = [Agg("count_star"), Agg("avg", arg=0), Agg("sum", arg=1), Agg("max", arg=0),
        Agg("percentile_cont", arg=0, param=0.95)]
op = WindowAggregate(window=Tumble(60_000), key_kinds=["O"], arg_kinds=["f", "i"], aggs=aggs)
t = time.perf_counter()
op.warmup()
print(json.dumps({"import": t_import, "warmup": time.perf_counter() - t}))
"""


def compile_times():
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(REPO))
        res = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", COMPILE_CHILD], env=env, cwd=REPO, capture_output=True,
                                 text=True, check=True)
            res.append(json.loads(out.stdout))
    return res


def kernel_table():
    rows = []
    for name, k in sorted(K.REGISTRY.items()):
        args = k.make_args(np.random.default_rng(1))
        k.jit(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        times = []
        for fn in (k.jit, k.ref):
            reps = 0
            t = time.process_time()
            while time.process_time() - t < 0.05:
                fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
                reps += 1
            times.append((time.process_time() - t) / reps)
        rows.append((name, times[0] * 1e6, times[1] * 1e6, times[1] / times[0]))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=65_536)
    ap.add_argument("--python-events", type=int, default=300_000)
    args = ap.parse_args()
    n = args.events
    ev = make_events(n)
    table = []

    # sqlc TUMBLE, DuckDB and sqlc HOP alternate, best of 5 each, so that all see the same machine
    duck_runner = DuckRunner(ev)
    t_tumble, rows, op = run_sqlc(ev, Tumble(60_000), args.batch)
    t_hop, hop_rows, _ = run_sqlc(ev, Hop(slide_ms=60_000, size_ms=600_000), args.batch)
    duck_runner.run()
    for _ in range(4):
        t_tumble = min(t_tumble, run_sqlc(ev, Tumble(60_000), args.batch, warm=False)[0])
        duck_runner.run()
        t_hop = min(t_hop, run_sqlc(ev, Hop(slide_ms=60_000, size_ms=600_000), args.batch, warm=False)[0])
    duck, duck_rows = duck_runner.best, duck_runner.rows
    check_equal(rows, duck_rows)
    table.append(("TUMBLE 1 min by model_id: sqlc", n / t_tumble, f"{len(rows)} windows, {op.late_count} late"))
    for label, t in duck.items():
        table.append((f"  DuckDB ({label}), threads=1", n / t, f"sqlc / DuckDB = {t / t_tumble:.2f}x faster"
                      if t > t_tumble else f"DuckDB / sqlc = {t_tumble / t:.2f}x faster"))
    m = min(n, args.python_events)
    t_py, _ = run_python(ev, m)
    table.append(("  plain per-event Python", m / t_py, f"sqlc is {(m / t_py) ** -1 / (1 / (n / t_tumble)):.0f}x faster"))

    table.append(("HOP 10 min / 1 min by model_id: sqlc", n / t_hop,
                  f"{t_hop / t_tumble:.2f}x the time of TUMBLE ({len(hop_rows)} windows)"))

    t_ses, ses_rows, _ = run_sqlc(ev, Session(1_800_000, (0,)), args.batch, key="user_id")
    t_ses = min(t_ses, run_sqlc(ev, Session(1_800_000, (0,)), args.batch, key="user_id", warm=False)[0])
    table.append(("SESSION 30 min per user_id: sqlc", n / t_ses, f"{len(ses_rows)} sessions"))

    # memory: all events in open windows (one day window), measured before it fires
    op = WindowAggregate(window=Tumble(86_400_000), key_kinds=["O"], arg_kinds=["f", "i"], aggs=AGGS)
    op.warmup()
    gc.collect()
    tracemalloc.start()
    keys, lat, tok = Column(ev["model_id"]), Column(ev["latency_ms"]), Column(ev["tokens"])
    for a in range(0, n, args.batch):
        b = min(n, a + args.batch)
        op.process(keys=[keys.take(slice(a, b))], ts=ev["ts"][a:b], watermark_before=np.full(b - a, -(2**62)),
                   args=[lat.take(slice(a, b)), tok.take(slice(a, b))])
        op.advance(-(2**62))
    op.states._parts[-1].state.seal()
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    note = (f"state {cur / 2**20:.1f} MiB, peak during ingest {peak / 2**20:.1f} MiB "
            f"({cur / n:.1f} B/event; exact p95 keeps 8 B/value)")
    table.append((f"{n:,} events held in open windows", None, note))

    cold, warm = compile_times()
    table.append(("numba compile, TUMBLE operator, cold cache", None,
                  f"warmup {cold['warmup']:.2f} s (import {cold['import']:.2f} s)"))
    table.append(("numba compile, TUMBLE operator, warm cache", None,
                  f"warmup {warm['warmup']:.2f} s (import {warm['import']:.2f} s)"))

    print(f"\n{n:,} events, micro-batches of {args.batch:,}, one core\n")
    print(f"{'benchmark':<46} {'events/s':>14}  notes (events per CPU-second)")
    print("-" * 110)
    for name, rate, note in table:
        print(f"{name:<46} {'' if rate is None else f'{rate:,.0f}':>14}  {note}")
    print(f"\n{'kernel (registry example input)':<28} {'numba us':>10} {'python us':>11} {'speedup':>8}")
    for name, tj, tr, sp in kernel_table():
        print(f"{name:<28} {tj:>10.2f} {tr:>11.1f} {sp:>8.0f}")


if __name__ == "__main__":
    main()

"""Window Top-N benchmark on pre-decoded columns, one core.

    PYTHONPATH=. .venv/bin/python benchmarks/topn/bench_topn.py [--events 1000000] [--batch 65536]

Data: 200 models with skewed traffic, 50 events/s of event time (about 5.5
hours), up to 5 s out of order, watermark bound 10 s, decoded into numpy
columns beforehand. Measured (CPU seconds of this process, best of 3):

* the window aggregate alone: ``SUM(cost) ... GROUP BY model_id, TUMBLE 1 h``
  (watermarks + process + advance per micro-batch);
* the same aggregate feeding the window Top-N of spec Query 9 (``ROW_NUMBER()
  OVER (PARTITION BY window_start ORDER BY SUM(cost) DESC) <= 5``);
* window Top-5 directly on the TVF's rows (``window_rows`` + ``WindowRank``,
  FR-ADV-003's shape), against DuckDB (threads=1) ranking the same rows.

The ratio asked for is (aggregate + Top-N) / aggregate alone. The Top-N
results are checked against DuckDB's.
"""

from __future__ import annotations

import argparse
import time

import duckdb
import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.window_rank import WindowRank
from runtime_lib.operators.window_tvf import window_rows
from runtime_lib.operators.windows import AfterWatermark, Tumble, WindowAggregate
from runtime_lib.watermarks import WM_MAX, Watermarks

BOUND_MS = 10_000
HOUR = 3_600_000


def make_data(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, 201)
    model = rng.choice(200, size=n, p=weights / weights.sum())
    ts = 1_762_768_800_000 + np.arange(n, dtype=np.int64) * 20 - rng.integers(0, 5_000, n)
    cost = np.round(rng.gamma(2.0, 0.01, n), 5)
    names = np.array([f"model-{i:03d}" for i in range(200)], dtype=object)
    return names[model], ts, cost


def run(models, ts, cost, batch: int, with_rank: bool):
    agg = WindowAggregate(window=Tumble(size_ms=HOUR), key_kinds=["O"], arg_kinds=["f"],
                          aggs=[Agg("sum", arg=0)], emit=AfterWatermark(),
                          names=["model_id", "window_start", "window_end", "window_time", "total"])
    rank = WindowRank("window_end", names=["model_id", "window_start", "window_end", "window_time",
                                           "total"], kinds=["O", "i", "i", "i", "f"],
                      partition_by=["window_start"], order_by=[("total", True, None)], limit=5,
                      rank_name="rn")
    wm = Watermarks(BOUND_MS)
    outs = []
    start = time.process_time()

    def fire(watermark):
        fired = agg.advance(watermark)
        if with_rank:
            rank.process(fired)
            fired = rank.advance(watermark)
        outs.append(fired)

    for lo in range(0, len(ts), batch):
        t = ts[lo:lo + batch]
        before, current = wm.observe(0, t, now_ms=0)
        agg.process(keys=[Column(models[lo:lo + batch])], ts=t, watermark_before=before,
                    args=[Column(cost[lo:lo + batch])])
        fire(current)
    fire(WM_MAX)
    return time.process_time() - start, outs


def run_rows(models, ts, cost, batch: int):
    """Top-5 costliest requests per hour, straight from the TVF's rows."""
    names = ["i", "model_id", "t", "cost", "window_start", "window_end", "window_time"]
    rank = WindowRank("window_end", names=names, kinds=["i", "O", "i", "f", "i", "i", "i"],
                      partition_by=["window_start", "window_end"],
                      order_by=[("cost", True, None)], limit=5, rank_name="rn")
    wm = Watermarks(BOUND_MS)
    outs = []
    start = time.process_time()
    for lo in range(0, len(ts), batch):
        t = ts[lo:lo + batch]
        before, current = wm.observe(0, t, now_ms=0)
        cols = {"i": Column(np.arange(lo, lo + len(t), dtype=np.int64)),
                "model_id": Column(models[lo:lo + batch]), "t": Column(t),
                "cost": Column(cost[lo:lo + batch])}
        rows, _ = window_rows(Batch(cols, len(t), before), "t", Tumble(size_ms=HOUR))
        rank.process(rows)
        outs.append(rank.advance(current))
    outs.append(rank.advance(WM_MAX))
    return time.process_time() - start, outs


def duck(models, ts, cost):
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest($1) AS m, unnest($2) AS t, "
                "unnest($3) AS x, unnest($4) AS i)",
                [models.tolist(), ts.tolist(), cost.tolist(), list(range(len(ts)))])
    start = time.process_time()
    rows = con.execute(f"SELECT i, t - t % {HOUR} AS ws, ROW_NUMBER() OVER (PARTITION BY "
                       f"t - t % {HOUR} ORDER BY x DESC, i) AS rn FROM t QUALIFY rn <= 5").fetchall()
    elapsed = time.process_time() - start
    top = sorted(con.execute(f"SELECT t - t % {HOUR} AS ws, m, SUM(x) AS s FROM t GROUP BY ws, m "
                             "QUALIFY ROW_NUMBER() OVER (PARTITION BY ws ORDER BY s DESC) <= 5")
                 .fetchall())
    return elapsed, sorted(rows), top


def best(fn, *args):
    runs = [fn(*args) for _ in range(3)]
    return min(r[0] for r in runs), runs[0][1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=65_536)
    args = parser.parse_args()
    models, ts, cost = make_data(args.events)
    # numba kernels compile on the first call: warm up outside the timings
    run(models[:1000], ts[:1000], cost[:1000], args.batch, True)
    t_agg, _ = best(run, models, ts, cost, args.batch, False)
    t_top, outs = best(run, models, ts, cost, args.batch, True)
    t_rows, row_outs = best(run_rows, models, ts, cost, args.batch)
    t_duck, duck_rows, duck_top = duck(models, ts, cost)
    got_top = sorted((ws, m, s) for b in outs for m, ws, _, _, s, _ in b.to_rows())
    assert [(w, m) for w, m, _ in got_top] == [(w, m) for w, m, _ in duck_top]
    assert np.allclose([s for *_, s in got_top], [s for *_, s in duck_top])
    got_rows = sorted((i, ws, rn) for b in row_outs for i, _, _, _, ws, _, _, rn in b.to_rows())
    assert got_rows == duck_rows, "window Top-N on rows differs from DuckDB"
    n = args.events
    print(f"{n} events, batch {args.batch}, one core (CPU s, best of 3)")
    print(f"window aggregate alone        {t_agg:.3f} s  {n / t_agg / 1e6:.2f} M events/s")
    print(f"aggregate + window Top-5      {t_top:.3f} s  {n / t_top / 1e6:.2f} M events/s  "
          f"ratio {t_top / t_agg:.3f}x")
    print(f"TVF rows + window Top-5       {t_rows:.3f} s  {n / t_rows / 1e6:.2f} M events/s")
    print(f"DuckDB QUALIFY ROW_NUMBER     {t_duck:.3f} s  {n / t_duck / 1e6:.2f} M events/s")


if __name__ == "__main__":
    main()

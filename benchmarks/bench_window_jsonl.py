"""A compiled window query end to end from JSON lines, one core, in one run:

    .venv/bin/python benchmarks/bench_window_jsonl.py [--events 1000000]

TUMBLE 1 minute by model_id with COUNT, AVG, SUM, MAX and exact p95 (the
issue's benchmark query), as a generated module reading a JSON-lines file and
writing JSON lines; DuckDB (threads=1) computing the same from the same file;
HOP 10 min / 1 min through the same path, as a ratio to TUMBLE. The pre-decoded
column rate of the window operator alone is measured by
benchmarks/windows/bench_windows.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_stateless import make_events, median_of  # noqa: E402

TUMBLE = """SELECT model_id, window_start, COUNT(*) AS n, AVG(latency_ms) AS avg_latency,
    SUM(cost) AS total_cost, MAX(latency_ms) AS max_latency,
    PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY model_id, window_start, window_end;"""
HOP = TUMBLE.replace("TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)",
                     "HOP(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, "
                     "INTERVAL '10' MINUTES)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per engine (median)")
    args = parser.parse_args()
    import duckdb

    from compiler.cli import run_module
    from compiler.driver import compile_source
    from compiler.errors import Source

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        events = work / "events.jsonl"
        make_events(events, args.events)
        times = {}
        for name, sql in (("tumble", TUMBLE), ("hop", HOP)):
            module = work / f"{name}.py"
            compiled = compile_source(Source(f"{name}.sql", sql),
                                      [str(ROOT / "examples" / "catalog.sql")])
            module.write_text(compiled.module or "", encoding="utf-8")
            argv = ["--input", f"llm_requests={events}", "--output", str(work / f"{name}.out"),
                    "--quiet"]
            run_module(module, argv)  # warm-up: numba compiles here
            times[name] = median_of(lambda: run_module(module, argv), args.repeat)
        con = duckdb.connect()
        con.execute("SET threads = 1")
        query = f"""COPY (SELECT model_id, time_bucket(INTERVAL 1 MINUTE, epoch_ms(timestamp_ms)) AS ws,
                    COUNT(*), AVG(latency_ms), SUM(cost), MAX(latency_ms),
                    QUANTILE_CONT(latency_ms, 0.95)
                 FROM read_json('{events}', format = 'newline_delimited',
                      columns = {{model_id: 'VARCHAR', timestamp_ms: 'BIGINT',
                                  latency_ms: 'DOUBLE', cost: 'DOUBLE'}})
                 GROUP BY ALL) TO '{work / "duck.out"}' (FORMAT JSON)"""
        times["duckdb"] = median_of(lambda: con.execute(query), args.repeat)
    n = args.events
    print(f"CPU seconds, median of {args.repeat} runs")
    print(f"{'run':34} {'cpu s':>8} {'events/s':>12} {'vs sqlc TUMBLE':>15}")
    for name, label in (("tumble", "sqlc TUMBLE 1 min (JSON lines)"),
                        ("hop", "sqlc HOP 10 min / 1 min"),
                        ("duckdb", "duckdb 1 thread, same TUMBLE")):
        print(f"{label:34} {times[name]:8.2f} {n / times[name]:12,.0f} "
              f"{times[name] / times['tumble']:14.2f}x")


if __name__ == "__main__":
    main()

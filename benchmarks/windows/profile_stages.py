"""Where the CPU time of a generated window query goes, stage by stage:

    PYTHONPATH=$PWD taskset -c 1 .venv/bin/python benchmarks/windows/profile_stages.py \
        [--events 1000000] [--repeat 3] [--query tumble|hop|filter]

The TUMBLE 1 minute COUNT/AVG/SUM/MAX/p95 per model query of
``bench_window_jsonl.py`` (or its HOP twin, or the filter query of
``bench_stateless.py``) runs over the benchmark's JSON-lines events with the
runtime functions of each stage wrapped in a ``time.process_time`` timer.
Times are exclusive (a stage's time excludes the stages it calls), so the
rows add up to the whole run; "other" is what no wrapper covers (the driver,
the generated module's own lines). The wrappers cost about a microsecond a
call, a few thousand calls per run: below 1% of it.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_stateless import QUERY as FILTER_QUERY
from bench_stateless import make_events
from bench_window_jsonl import HOP, TUMBLE

_STACK: list[list] = []  # [stage, time of the callees]
TOTALS: dict[str, float] = {}


def _timed(stage: str, fn):
    clock = time.process_time

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        frame = [stage, 0.0]
        _STACK.append(frame)
        began = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = clock() - began
            _STACK.pop()
            TOTALS[stage] = TOTALS.get(stage, 0.0) + spent - frame[1]
            if _STACK:
                _STACK[-1][1] += spent

    return wrapper


def _wrap(owner, name: str, stage: str) -> None:
    setattr(owner, name, _timed(stage, getattr(owner, name)))


def instrument() -> None:
    """Wrap the functions of each stage (by the module attribute the callers use)."""
    from runtime_lib import driver, functions, pipeline
    from runtime_lib.io import decode, sinks, sources
    from runtime_lib.keys import KeyEncoder
    from runtime_lib.operators.aggregates import states
    from runtime_lib.operators.windows import base, panes

    _wrap(pipeline.FileReader, "read", "source: read file, cut pieces and batches")
    _wrap(decode.JsonDecoder, "_parse_lines", "decode: msgspec decode_lines")
    _wrap(decode, "_line_breaks", "decode: one-object-per-line check")
    _wrap(sources, "between_objects", "source: one-object-per-line check of a block")
    _wrap(decode.JsonDecoder, "_columns_from_structs", "decode: columns from structs")
    _wrap(functions, "to_timestamp", "computed column (TO_TIMESTAMP)")
    _wrap(driver, "_event_time", "event time and watermarks")
    _wrap(KeyEncoder, "encode", "key encoding (GROUP BY model_id)")
    _wrap(KeyEncoder, "decode", "key decoding (output)")
    _wrap(base.Slots, "insert", "window: (key, pane) slot table")
    _wrap(states.AggregateStates, "update", "window: aggregate update kernels")
    _wrap(panes.PaneWindowAggregate, "process", "window: process (rest)")
    _wrap(states.PercentileState, "results", "window: percentile at firing")
    _wrap(panes.PaneWindowAggregate, "advance", "window: firing (rest)")
    _wrap(sinks, "encode_json_lines", "output: JSON-lines encoding")
    _wrap(pipeline.Pipeline, "write", "output: write (rest)")
    _wrap(pipeline.Pipeline, "late", "late rows")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--query", choices=["tumble", "hop", "filter"], default="tumble")
    parser.add_argument("--events-file", type=Path, help="reuse this file of make_events")
    args = parser.parse_args()
    from compiler.driver import compile_source
    from compiler.errors import Source
    from compiler.project import run_module

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        events = args.events_file or work / "events.jsonl"
        if not events.exists():
            make_events(events, args.events)
        sql = {"tumble": TUMBLE, "hop": HOP}.get(args.query)
        if sql is None:
            sql = FILTER_QUERY.read_text(encoding="utf-8")
        compiled = compile_source(Source(f"{args.query}.sql", sql),
                                  [str(ROOT / "examples" / "catalog.sql")])
        module = work / f"{args.query}.py"
        module.write_text(compiled.module or "", encoding="utf-8")
        argv = ["--input", f"llm_requests={events}", "--output", str(work / "out.jsonl"),
                "--quiet"]
        run_module(module, argv)  # warm-up: numba compiles here
        instrument()
        totals = []
        for _ in range(args.repeat):
            began = time.process_time()
            run_module(module, argv)
            totals.append(time.process_time() - began)
    whole = sum(totals)
    covered = sum(TOTALS.values())
    print(f"{args.query}: {args.repeat} runs, CPU s per run {', '.join(f'{t:.2f}' for t in totals)}")
    print(f"{'stage':48} {'s/run':>7} {'share':>6}")
    for stage, spent in sorted(TOTALS.items(), key=lambda kv: -kv[1]):
        print(f"{stage:48} {spent / args.repeat:7.3f} {spent / whole:6.1%}")
    print(f"{'other (driver, generated module)':48} {(whole - covered) / args.repeat:7.3f} "
          f"{(whole - covered) / whole:6.1%}")


if __name__ == "__main__":
    main()

"""Nexmark throughput of sqlc's generated modules, one core, CPU time.

    PYTHONPATH=. NUMBA_NUM_THREADS=1 python benchmarks/nexmark/run.py \\
        [--events 1000000] [--data DIR] [--queries q0,q1,...] [--repeat 1]

Generates ``--events`` Nexmark events once into DIR (generator.py, seed 0,
Nexmark's default 10,000 events/s of event time, in order), compiles each
query of queries/ against catalog.sql and runs it in a child process of its
own: a warm-up on the first 10,000 events (numba compiles there), then the
measured run over all events, rows into the query's 'blackhole' sink (as
Nexmark measures). CPU seconds are the child's ``time.process_time()``
around the measured run (JSON decoding included). Two rates per query:

* events/s: all ``--events`` events over the CPU time, Nexmark's measure (its
  Flink source reads every event and each view filters its kind);
* rows/s: the rows of the tables the query reads (sqlc reads one file per
  table: bid alone is 92 % of the events).

Prints a Markdown table (RESULTS.md holds one run).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# every query sqlc measures (q6: Flink does not run it; q10 writes files: see RESULTS.md;
# q14: sqlc cannot compile it yet)
QUERIES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23]
WARM_UP = 10_000


def compile_query(number: int, out: Path) -> Path:
    from compiler.driver import compile_source
    from compiler.errors import Source

    path = HERE / "queries" / f"q{number}.sql"
    compiled = compile_source(Source(str(path), path.read_text(encoding="utf-8")),
                              [str(HERE / "catalog.sql")])
    module = out / f"q{number}.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    return module


def tables_read(module: Path) -> list[str]:
    """The tables a generated module reads: its sources, then its lookup tables."""
    spec = importlib.util.spec_from_file_location(f"nexmark_{module.stem}", module)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    query = loaded.Query
    return [s.name for s in query.sources] + list(getattr(query, "tables", ()))


def inputs(module: Path, data: Path) -> list[str]:
    """--input NAME=PATH for each table the module reads."""
    argv = []
    for name in tables_read(module):
        suffix = "csv" if name == "side_input" else "jsonl"
        argv += ["--input", f"{name}={data / f'{name}.{suffix}'}"]
    return argv


def measure(module: Path, data: Path, warm: Path, repeat: int) -> dict:
    """In the child: warm up, then the best CPU time of ``repeat`` runs."""
    from compiler.project import run_module

    assert run_module(module, inputs(module, warm) + ["--quiet"]) == 0
    argv = inputs(module, data) + ["--quiet"]
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        assert run_module(module, argv) == 0
        best = min(best, time.process_time() - start)
    # (rows of the files read; a CSV header line is not a row)
    rows = sum(_lines(Path(a.split("=", 1)[1])) - a.endswith(".csv") for a in argv if "=" in a)
    return {"cpu_s": best, "rows": rows}


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def ensure_data(data: Path, events: int) -> None:
    from benchmarks.nexmark import generator

    stamp = data / "events.txt"
    if stamp.exists() and stamp.read_text() == str(events):
        return
    generator.write(data, events)
    generator.write(data / "warm", WARM_UP)
    stamp.write_text(str(events))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/sqlc-nexmark"))
    parser.add_argument("--queries", default=",".join(f"q{n}" for n in QUERIES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # MODULE: measure it, print JSON
    args = parser.parse_args()
    if args.child:
        result = measure(Path(args.child), args.data, args.data / "warm", args.repeat)
        print(json.dumps(result))
        return
    ensure_data(args.data, args.events)
    modules = args.data / "modules"
    modules.mkdir(exist_ok=True)
    env = dict(os.environ, NUMBA_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    print(f"{args.events} Nexmark events, one core (CPU s of the measured run)\n")
    print("| query | CPU s | events/s | rows read | rows/s |")
    print("|---|---:|---:|---:|---:|")
    for name in args.queries.split(","):
        module = compile_query(int(name.removeprefix("q")), modules)
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(module), "--data", str(args.data),
             "--repeat", str(args.repeat)],
            env=env, capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(f"| {name} | failed: {child.stderr.strip().splitlines()[-1:]} | | | |")
            continue
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"| {name} | {r['cpu_s']:.2f} | {args.events / r['cpu_s'] / 1e6:.2f} M "
              f"| {r['rows']:,} | {r['rows'] / r['cpu_s'] / 1e6:.2f} M |", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

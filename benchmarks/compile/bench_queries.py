"""Compile time per spec query, cold and warm, and the whole command:

    .venv/bin/python benchmarks/compile/bench_queries.py [--processes 5] [--warm 20]
        [--query examples/q01_request_rate.sql ...] [--tree OTHER_CHECKOUT] [--format-cache]
        [--command-runs 7]

For each query (default: the `[tool.sqlc] sources` of pyproject.toml, the spec
queries that compile to a module), ``--processes`` fresh interpreters each
import the compiler (``compiler.driver`` and the stages it imports on its
first call; the ``import`` column) and then compile the query ``1 + --warm``
times: the first compile is *cold* (the template loaded, the ruff binary
found, first calls), the others *warm* (a long-running process such as
``sqlc serve``). A compile is SQL file to formatted module, catalog included,
timed in CPU seconds of the process *and its children* (ruff's formatter runs
as a child), so the machine's other load counts as little as it can.

The formatter's on-disk memo is off by default (each compile formats, as for
a query never compiled before: the memo entries are removed between compiles,
outside the timed part); the compiled template's cache stays warm, as on any
machine that has run sqlc once. ``--format-cache`` keeps the memo, as in an
edit loop or ``compile --check`` of unchanged queries.

Then the whole ``sqlc compile QUERY -o OUT`` command (``python -m
compiler.cli``, interpreter start included) ``--command-runs`` times for the
first query (the formatter's memo as above), with Python's bytecode cache on (after a warm-up run that
writes it, as on a user's machine) and with PYTHONDONTWRITEBYTECODE=1 set as
in this sandbox (the tree's ``__pycache__`` directories are removed first, so its
own modules are compiled from source in every process; site-packages keep their
.pyc files either way). The in-process numbers above run with bytecode cached.

``--tree`` measures another checkout the same way, alternately, for before/
after numbers in one session.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cpu_seconds() -> float:
    """CPU of this process and its finished children (user + system)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def worker(query: str, warm: int, format_cache: bool) -> None:
    """In a fresh process: import, compile ``1 + warm`` times, print JSON."""
    started = cpu_seconds()
    import compiler.codegen  # what compile_source imports when it first runs
    import compiler.physical
    import compiler.rules
    from compiler.driver import compile_source, read_source

    imported = cpu_seconds()
    cache = Path(os.environ["SQLC_CACHE_DIR"])
    catalogs = [str(Path.cwd() / c) for c in
                tomllib.loads(Path("pyproject.toml").read_text())["tool"]["sqlc"]["catalog"]]
    times = []
    for _ in range(1 + warm):
        if not format_cache:
            clear_format_memo(cache)
        before, wall = cpu_seconds(), time.perf_counter()
        compile_source(read_source(query), catalogs, query)
        times.append((cpu_seconds() - before, time.perf_counter() - wall))
    print(json.dumps({"import": imported - started, "compiles": times}))


def bytecode_env(tree: Path, cache: Path, bytecode: bool) -> dict[str, str]:
    """The environment of a process in ``tree``: Python's bytecode cache on, or
    off with none of the tree's own modules cached (as in this sandbox, where
    PYTHONDONTWRITEBYTECODE=1 is set and only site-packages have .pyc files)."""
    env = dict(os.environ, PYTHONPATH=str(tree), SQLC_CACHE_DIR=str(cache))
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for package in ("compiler", "runtime_lib", "templates"):
            for pycache in (tree / package).rglob("__pycache__"):
                shutil.rmtree(pycache, ignore_errors=True)
    return env


def run_worker(tree: Path, query: str, warm: int, format_cache: bool, cache: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", query, "--warm", str(warm)]
        + (["--format-cache"] if format_cache else []),
        cwd=tree, env=bytecode_env(tree, cache, True), check=True, capture_output=True, text=True,
    )
    return json.loads(done.stdout)


def clear_format_memo(cache: Path) -> None:
    """The formatter's memo entries, not the compiled template's cache."""
    for entry in cache.iterdir():
        if entry.name != "templates":
            shutil.rmtree(entry)


def one_command(tree: Path, query: str, out: Path, bytecode: bool, cache: Path,
                format_cache: bool) -> float:
    """CPU seconds of one ``sqlc compile`` process."""
    if not format_cache:
        clear_format_memo(cache)
    env = bytecode_env(tree, cache, bytecode)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "compiler.cli", "compile", query, "-o", str(out)],
                   cwd=tree, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def spec_queries() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["sqlc"]
    return list(config["sources"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--query", action="append", default=[])
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--tree", action="append", default=[], help="other checkouts to compare")
    parser.add_argument("--format-cache", action="store_true")
    parser.add_argument("--command-runs", type=int, default=7)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.warm, args.format_cache)
        return
    trees = [ROOT] + [Path(t).resolve() for t in args.tree]
    queries = args.query or spec_queries()
    scratch = Path(tempfile.mkdtemp(prefix="sqlc-bench-compile-"))
    caches = {tree: scratch / f"cache{i}" for i, tree in enumerate(trees)}
    for tree, cache in caches.items():  # the template's cache written once, as after any first run
        cache.mkdir()
        run_worker(tree, queries[0], 0, False, cache)
    print(f"CPU ms (process + children); {args.processes} processes x (1 cold + {args.warm} warm) "
          f"compiles per query; formatter memo {'on' if args.format_cache else 'off'}")
    print(f"{'query':38} {'tree':10} {'import':>7} {'cold p50':>9} {'cold p99':>9} "
          f"{'warm p50':>9} {'warm p99':>9} {'warm/s':>7}")
    totals: dict[Path, dict[str, list[float]]] = {t: {"cold": [], "warm": []} for t in trees}
    for query in queries:
        results: dict[Path, list[dict]] = {t: [] for t in trees}
        for _ in range(args.processes):
            for tree in trees:  # alternately: the machine's load changes alike for each
                results[tree].append(run_worker(tree, query, args.warm, args.format_cache,
                                                caches[tree]))
        for tree, runs in results.items():
            imports = [r["import"] * 1000 for r in runs]
            cold = [r["compiles"][0][0] * 1000 for r in runs]
            warm = [c * 1000 for r in runs for c, _ in r["compiles"][1:]]
            totals[tree]["cold"] += cold
            totals[tree]["warm"] += warm
            print(f"{Path(query).stem[:38]:38} {tree.name[:10]:10} "
                  f"{statistics.median(imports):7.0f} {percentile(cold, .5):9.1f} "
                  f"{percentile(cold, .99):9.1f} {percentile(warm, .5):9.1f} "
                  f"{percentile(warm, .99):9.1f} {1000 / statistics.mean(warm):7.0f}")
    for tree, t in totals.items():
        print(f"{'ALL':38} {tree.name[:10]:10} {'':7} {percentile(t['cold'], .5):9.1f} "
              f"{percentile(t['cold'], .99):9.1f} {percentile(t['warm'], .5):9.1f} "
              f"{percentile(t['warm'], .99):9.1f} {1000 / statistics.mean(t['warm']):7.0f}")
    if args.command_runs:
        query, out = queries[0], scratch / "out.py"
        print(f"\nwhole command `python -m compiler.cli compile {query} -o OUT`, CPU ms, "
              f"{args.command_runs} runs, load average {os.getloadavg()[0]:.1f}")
        for bytecode in (True, False):
            for tree in trees:
                one_command(tree, query, out, bytecode, caches[tree], args.format_cache)  # warm-up (writes .pyc)
            runs: dict[Path, list[float]] = {t: [] for t in trees}
            for _ in range(args.command_runs):
                for tree in trees:
                    runs[tree].append(one_command(tree, query, out, bytecode, caches[tree], args.format_cache) * 1000)
            for tree, cpu in runs.items():
                label = "bytecode cached" if bytecode else "PYTHONDONTWRITEBYTECODE=1"
                print(f"{label:26} {tree.name[:10]:10} median {statistics.median(cpu):5.0f} "
                      f"min {min(cpu):5.0f} max {max(cpu):5.0f}")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

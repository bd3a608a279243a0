"""The whole `sqlc compile one.sql` command, interpreter start included:

    .venv/bin/python benchmarks/compile/bench_command.py [--query examples/fr_dql_003_tumble.sql]
        [--runs 7] [--tree OTHER_CHECKOUT ...]

Runs ``python -m compiler.cli compile QUERY -o TMP`` in fresh processes, each
tree given (default: this checkout) in turn, ``--runs`` rounds, and prints the
CPU seconds (user + system of the child, from ``getrusage``) and the wall
seconds of each, with their medians. CPU time is the steadier figure on the
shared machine. The formatter's on-disk cache is warm after the first round,
as in an edit-compile loop or CI's `compile --check`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_compile(tree: Path, query: str, out: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one compile command in ``tree``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "compiler.cli", "compile", query, "-o", str(out)],
                   cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)), check=True,
                   capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--query", default="examples/fr_dql_003_tumble.sql")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tree", action="append", default=[], help="checkouts to compare")
    args = parser.parse_args()
    trees = [Path(t).resolve() for t in args.tree] or [ROOT]
    out = Path(tempfile.mkdtemp(prefix="sqlc-bench-compile-")) / "out.py"
    results: dict[Path, list[tuple[float, float]]] = {t: [] for t in trees}
    for _ in range(args.runs):
        for tree in trees:  # interleaved: the machine's load changes alike for each
            results[tree].append(one_compile(tree, args.query, out))
    print(f"{args.query}, {args.runs} runs each, load average {os.getloadavg()[0]:.1f}")
    for tree, runs in results.items():
        cpu = [c for c, _ in runs]
        wall = [w for _, w in runs]
        print(f"{tree!s:30} cpu median {statistics.median(cpu) * 1000:5.0f} ms "
              f"(min {min(cpu) * 1000:.0f}, max {max(cpu) * 1000:.0f})   "
              f"wall median {statistics.median(wall) * 1000:5.0f} ms")


if __name__ == "__main__":
    main()

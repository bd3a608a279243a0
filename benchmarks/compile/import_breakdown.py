"""Where the import time of `sqlc compile one.sql` goes, by package:

    .venv/bin/python benchmarks/compile/import_breakdown.py [--runs 5] [--tree OTHER_CHECKOUT ...]
        [--query examples/fr_dql_003_tumble.sql]

Runs ``python -X importtime -m compiler.cli compile QUERY -o TMP`` (bytecode
cached: PYTHONDONTWRITEBYTECODE is removed from the environment) ``--runs``
times per tree, alternately, and sums each module's *self* time by group:
sqlglot, jinja2 (with markupsafe), each compiler subpackage, runtime_lib, the
standard library and the rest (site and the interpreter's own imports
included). Prints the minimum and the median per group. -X importtime itself
adds to every import, so the total is above the command's import time; the
shares are what to read.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")


def group(module: str) -> str:
    top, _, rest = module.partition(".")
    if top == "compiler":
        return "compiler." + rest.split(".")[0] if rest else "compiler"
    if top in ("jinja2", "markupsafe"):
        return "jinja2 + markupsafe"
    if top in ("sqlglot", "runtime_lib", "templates"):
        return top
    return "stdlib and the rest"


def one_run(tree: Path, query: str, out: Path) -> dict[str, int]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "compiler.cli", "compile",
                           query, "-o", str(out)], cwd=tree, env=env, capture_output=True,
                          text=True, check=True)
    totals: dict[str, int] = collections.Counter()
    for line in done.stderr.splitlines():
        match = LINE.match(line)
        if match:
            totals[group(match[3])] += int(match[1])
    totals["TOTAL"] = sum(totals.values())
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--query", default="examples/fr_dql_003_tumble.sql")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", action="append", default=[], help="other checkouts to compare")
    args = parser.parse_args()
    trees = [ROOT] + [Path(t).resolve() for t in args.tree]
    out = Path(tempfile.mkdtemp(prefix="sqlc-bench-imports-")) / "out.py"
    for tree in trees:
        one_run(tree, args.query, out)  # writes the bytecode
    runs: dict[Path, list[dict[str, int]]] = {t: [] for t in trees}
    for _ in range(args.runs):
        for tree in trees:
            runs[tree].append(one_run(tree, args.query, out))
    print(f"-X importtime self time by group, ms, {args.runs} runs, "
          f"load average {os.getloadavg()[0]:.1f}")
    groups = sorted({g for r in runs[ROOT] for g in r}, key=lambda g: -min(
        r.get(g, 0) for r in runs[ROOT]))
    print(f"{'group':24}" + "".join(f"{t.name[:12]:>26}" for t in trees))
    for g in groups + sorted({g for t in trees for r in runs[t] for g in r} - set(groups)):
        cells = []
        for tree in trees:
            values = [r.get(g, 0) / 1000 for r in runs[tree]]
            cells.append(f"min {min(values):6.1f} med {statistics.median(values):6.1f}")
        print(f"{g:24}" + "".join(f"{c:>26}" for c in cells))


if __name__ == "__main__":
    main()

"""``sqlc demo``: the main job on the embedded default. Compiles every example
query configured in ``[tool.sqlc]``, runs each on the bundled sample events
(examples/data/<source>.jsonl) and prints the first rows of its result,
with SQL's clock pinned to the end of the sample data (``SAMPLE_NOW``)."""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from contextlib import redirect_stderr
from pathlib import Path

import orjson

from compiler.driver import compile_source, read_source
from compiler.physical import SourceExec
from compiler.project import configured_entries, find_project, project_config, run_module
from compiler.shell import format_table

# "Now" for runs on the bundled sample data (driver flag --now), so that queries
# reading CURRENT_TIMESTAMP see the data as recent, as when it was live, and give
# the same rows on every day. examples/data/generate.py writes three hours of
# requests from 2025-11-10T10:00:00Z: the last request event is at 12:59:52.105
# (max timestamp_ms in llm_requests.jsonl: 1762779592105), errors end at
# 12:56:45.002 and feedback trails until 13:09:16.340. 13:00:00 is the end of
# the request hours, just after the last request, so Query 20's
# `req.event_time > CURRENT_TIMESTAMP - INTERVAL '1' HOUR` keeps exactly the last
# hour of requests (1,199 of the 4,998). Epoch milliseconds: 1762779600000.
SAMPLE_NOW = "2025-11-10T13:00:00Z"


def demo(args: argparse.Namespace) -> int:
    root = find_project(Path(__file__).resolve().parent)
    if root is None:
        print("sqlc demo: run it from the sqlc repository (no [tool.sqlc] found)",
              file=sys.stderr)
        return 2
    catalogs = [str(root / c) for c in project_config(root).get("catalog", [])]
    data = root / "examples" / "data"
    failures = 0
    print("Sample events of 2025-11-10, 10:00-13:00 UTC; CURRENT_TIMESTAMP is pinned to their "
          f"end (--now {SAMPLE_NOW})")
    with tempfile.TemporaryDirectory(prefix="sqlc-demo-") as tmp:
        for sql_path, _ in configured_entries(root):
            source = read_source(sql_path)
            title = next((line.strip("- ").strip() for line in source.text.splitlines()
                          if line.startswith("--")), "")
            print(f"\n== {sql_path.name}: {title}")
            compiled = compile_source(source, catalogs, str(sql_path.relative_to(root)))
            module = Path(tmp) / (sql_path.stem + ".py")
            module.write_text(compiled.module or "", encoding="utf-8")
            out = Path(tmp) / (sql_path.stem + ".jsonl")
            # every example runs at SAMPLE_NOW, not only those that read the clock
            # today: no list of clock-reading queries to keep up to date, and for
            # the others the flag changes nothing
            argv = ["--output", str(out), "--now", SAMPLE_NOW]
            for source_name in _source_names(compiled):
                argv += ["--input", f"{source_name}={data / (source_name + '.jsonl')}"]
            summary = io.StringIO()
            with redirect_stderr(summary):
                code = run_module(module, argv)
            if code != 0:
                failures += 1
                print(summary.getvalue().strip())
                continue
            rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
            if rows:
                headers = list(rows[0])
                shown = [[_cell(r.get(h)) for h in headers] for r in rows[: args.limit]]
                print(format_table(headers, shown).rsplit("\n", 1)[0])
            counts = summary.getvalue().strip().removeprefix("sqlc: ")
            counts = counts.split(", CURRENT_TIMESTAMP pinned")[0]  # said once, above
            print(f"{len(rows)} rows; {counts}")
    return 1 if failures else 0


def _source_names(compiled) -> list[str]:
    names: list[str] = []
    for root in compiled.physical:
        stack = [root]
        while stack:
            node = stack.pop()
            if (isinstance(node, SourceExec) and node.logical.rows is None  # not VALUES
                    and node.logical.source not in names):
                names.append(node.logical.source)
            stack.extend(node.inputs)
    return names


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)

"""``sqlc demo``: the main job on the embedded default. Compiles every example
query configured in ``[tool.sqlc]``, runs each on the bundled sample events
(examples/data/<source>.jsonl) and prints the first rows of its result."""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from contextlib import redirect_stderr
from pathlib import Path

import orjson

from compiler.cli import configured_entries, find_project, project_config, run_module
from compiler.driver import compile_source, read_source
from compiler.shell import format_table


def demo(args: argparse.Namespace) -> int:
    root = find_project(Path(__file__).resolve().parent)
    if root is None:
        print("sqlc demo: run it from the sqlc repository (no [tool.sqlc] found)",
              file=sys.stderr)
        return 2
    catalogs = [str(root / c) for c in project_config(root).get("catalog", [])]
    data = root / "examples" / "data"
    failures = 0
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
            argv = ["--output", str(out)]
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
            print(f"{len(rows)} rows; {summary.getvalue().strip().removeprefix('sqlc: ')}")
    return 1 if failures else 0


def _source_names(compiled) -> list[str]:
    names: list[str] = []
    for root in compiled.physical:
        stack = [root]
        while stack:
            node = stack.pop()
            if node.name == "SourceExec" and node.logical.source not in names:
                names.append(node.logical.source)
            stack.extend(node.inputs)
    return names


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)

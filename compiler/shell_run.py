"""A query typed in ``sqlc shell --input NAME=PATH``: compiled as ``sqlc
compile`` would, run in this process by ``sqlc test``'s runner on the given
files (nothing leaves the process: an INSERT's rows are printed, not sent), and
its first rows printed as a table. An updating result is shown as its final
table, as Flink's SQL client does in table mode."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from compiler.analyze import AnalyzedQuery
from compiler.catalog import Catalog
from compiler.errors import SqlcError, Source, TestFileError

BATCH_SIZE = 4096


def run_query(query: AnalyzedQuery, source: Source, catalog: Catalog,
              inputs: dict[str, Path], limit: int) -> bool:
    """Run ``query`` on ``inputs`` and print up to ``limit`` rows; False (with
    the error on stderr) when it cannot run."""
    from compiler.codegen import render_module
    from compiler.physical import plan_physical
    from compiler.rules import optimize
    from compiler.testing.compare import fold
    from compiler.testing.files import Case, Input
    from compiler.testing.runner import load_query, run_case

    try:
        module = render_module(source, [plan_physical(optimize(query.plan))], source.path,
                               settings=catalog.settings.for_module())
    except SqlcError as error:
        print(error.render(), file=sys.stderr)
        return False
    with tempfile.TemporaryDirectory(prefix="sqlc-shell-") as tmp:
        path = Path(tmp) / "query.py"
        path.write_text(module, encoding="utf-8")
        compiled = load_query(path)
        reads = [s.name for s in compiled.sources if s.rows is None] + list(compiled.tables)
        given = {name: Input(path=inputs[_key(inputs, name)]) for name in reads
                 if _key(inputs, name) is not None}
        for name in reads:
            if name not in given:
                print(f"note: no --input for {name}: read as empty", file=sys.stderr)
        try:
            observed = run_case(compiled, Case("shell", 0, given, {}), BATCH_SIZE, "shell")
        except TestFileError as error:
            print(f"error: {error}", file=sys.stderr)
            return False
    rows = fold(observed.changelog)
    print(_table([f.name for f in query.plan.schema], rows, limit))
    _report(observed)
    return True


def _key(inputs: dict[str, Path], name: str) -> str | None:
    """The --input name that means ``name`` (names are case-insensitive)."""
    return next((k for k in inputs if k.lower() == name.lower()), None)


def _table(columns: list[str], rows: list[dict], limit: int) -> str:
    from compiler.shell import format_table

    cells = [["NULL" if row.get(c) is None else str(row.get(c)) for c in columns]
             for row in rows[:limit]]
    text = format_table(columns, cells)
    if len(rows) > limit:
        text += f" shown of {len(rows)} (--limit {limit})"
    return text


def _report(observed) -> None:
    if observed.late_rows:
        print(f"note: {len(observed.late_rows)} late rows dropped", file=sys.stderr)
    if observed.dead_letters:
        first = observed.dead_letters[0]
        print(f"note: {len(observed.dead_letters)} bad records went to the dead letters, the "
              f"first: {first.get('error', first)}", file=sys.stderr)

"""``sqlc shell`` and ``sqlc exec``: run DDL, SHOW, DESCRIBE, EXPLAIN, SET and
RESET statements against a catalog and print aligned tables (SET and RESET
answer as Flink's SQL client does). With ``--input NAME=PATH`` files, a query
runs on them and its first rows are printed (``shell_run``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from compiler import ast
from compiler.analyze import Abort, AnalyzedQuery, Analyzer
from compiler.catalog import Catalog, SourceDef, ViewDef
from compiler.driver import load_catalog
from compiler.errors import Diagnostics, SqlcError, Source
from compiler.parse import parse_script


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(cells: list[str]) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(cells, widths)) + "|"

    out = [line, fmt(headers), line] + [fmt(r) for r in rows] + [line]
    out.append(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    return "\n".join(out)


HELP = """sqlc shell statements (end each with ';'):
  CREATE [TEMPORARY] STREAM|TABLE|VIEW ...   DROP STREAM|TABLE|VIEW name
  SHOW STREAMS|TABLES|VIEWS|FUNCTIONS         DESCRIBE name
  EXPLAIN <query>                             <query> (runs on the --input files;
                                              type-checked without them)
  SET ['key' = 'value']                       RESET ['key']
  HELP                                        QUIT | EXIT (or Ctrl-D)"""


def client_command(text: str) -> str | None:
    """HELP, QUIT or EXIT when that is the whole statement (the SQL client's
    commands, not SQL), else None."""
    word = text.strip().rstrip(";").strip().upper()
    return word if word in ("HELP", "QUIT", "EXIT") else None


def show(catalog: Catalog, kind: str, name: str | None = None) -> str:
    if kind == "CREATE":
        obj = catalog.get(name or "")
        assert obj is not None  # the analyzer reported an unknown name
        return (obj.text or f"-- {obj.name}: defined without its text") + ";"
    if kind == "FUNCTIONS":
        from compiler.functions import KNOWN_FUNCTIONS

        return format_table(["function_name"], [[name] for name in KNOWN_FUNCTIONS])
    if kind == "STREAMS":
        rows = []
        for obj in catalog.objects("STREAM"):
            assert isinstance(obj, SourceDef)
            props = obj.properties
            rows.append([
                obj.name,
                props.get("topic", props.get("path", "")),
                props.get("format", props.get("value.format", "")),
                obj.watermark.strategy if obj.watermark else "none",
            ])
        return format_table(["stream_name", "topic", "format", "watermark_strategy"], rows)
    if kind == "TABLES":
        rows = []
        for obj in catalog.objects("TABLE"):
            assert isinstance(obj, SourceDef)
            props = obj.properties
            where = props.get("table-name", props.get("key-pattern", props.get("path", "")))
            rows.append([obj.name, obj.connector, ", ".join(obj.primary_key) or "-", where])
        return format_table(["table_name", "connector", "primary_key", "source"], rows)
    rows = []
    for obj in catalog.objects("VIEW"):
        assert isinstance(obj, ViewDef)
        rows.append([obj.name, ", ".join(c.name for c in obj.columns),
                     ", ".join(obj.dependencies)])
    return format_table(["view_name", "columns", "depends_on"], rows)


def describe(catalog: Catalog, name: str) -> str:
    obj = catalog.get(name)
    assert obj is not None
    rows = []
    for col in obj.columns:
        notes = []
        if col.comment:
            notes.append(col.comment)
        if col.computed is not None:
            notes.append("computed")
        if col.metadata_key is not None:
            notes.append(f"METADATA FROM '{col.metadata_key or col.name}'")
        if isinstance(obj, SourceDef):
            if obj.watermark and obj.watermark.column == col.name:
                notes.append(f"event time, WATERMARK AS {obj.watermark.text}")
            if col.name in obj.primary_key:
                notes.append("PRIMARY KEY")
        if col.type.time_attribute == "PROCTIME":
            notes.append("processing time")
        typ = col.type.sql()
        rows.append([col.name, typ, "NO" if not col.type.nullable else "YES", "; ".join(notes)])
    return format_table(["column_name", "data_type", "nullable", "description"], rows)


class Shell:
    def __init__(self, catalog_paths: list[str], inputs: dict[str, Path] | None = None,
                 limit: int = 20):
        self.catalog = load_catalog(catalog_paths) if catalog_paths else Catalog()
        self.errors = 0
        self.inputs = inputs or {}  # source name -> a file its query rows come from
        self.limit = limit

    def execute_source(self, source: Source) -> int:
        diagnostics = Diagnostics(source)
        script = parse_script(source, diagnostics)
        if diagnostics.errors:
            print(SqlcError(diagnostics.errors, source).render(), file=sys.stderr)
            return 2
        for stmt in script.statements:
            self.execute(stmt, source)
        return 2 if self.errors else 0

    def execute(self, stmt: ast.Statement, source: Source) -> None:
        diagnostics = Diagnostics(source)
        analyzer = Analyzer(self.catalog, diagnostics)
        try:
            result = analyzer.statement(stmt)
        except Abort:
            result = None
        for warning in diagnostics.warnings:
            print(warning.render(source), file=sys.stderr)
        if diagnostics.errors:
            self.errors += 1
            print(SqlcError(diagnostics.errors, source).render(), file=sys.stderr)
            return
        if isinstance(stmt, ast.CreateSource):
            print(f"created {stmt.kind.lower()} {stmt.name}")
        elif isinstance(stmt, ast.CreateView):
            print(f"created view {stmt.name}")
        elif isinstance(stmt, ast.Drop):
            print(f"dropped {stmt.kind.lower()} {stmt.name}")
        elif isinstance(stmt, ast.Show):
            print(show(self.catalog, stmt.kind, stmt.name))
        elif isinstance(stmt, ast.Describe):
            print(describe(self.catalog, stmt.name))
        elif isinstance(stmt, ast.Explain):
            self.explain(stmt, analyzer)
        elif isinstance(stmt, ast.Set) and stmt.key is None:
            print(format_table(["key", "value"],
                               [[k, v] for k, v in self.catalog.settings.items()]))
        elif isinstance(stmt, ast.Set):
            print("[INFO] Execute statement succeeded.")
        elif isinstance(stmt, ast.Reset):
            print("[INFO] Execute statement succeeded." if stmt.key else
                  "[INFO] All session properties have been set to their default values.")
        elif isinstance(result, AnalyzedQuery) and self.inputs:
            from compiler.shell_run import run_query

            if not run_query(result, source, self.catalog, self.inputs, self.limit):
                self.errors += 1
        elif isinstance(result, AnalyzedQuery):
            fields = ", ".join(str(f) for f in result.plan.schema)
            print(f"query OK: ({fields})")
            print("run it here with: sqlc shell --input NAME=PATH (or sqlc run FILE.sql "
                  "--input NAME=PATH)")

    def explain(self, stmt: ast.Explain, analyzer: Analyzer) -> None:
        from compiler.explain import explain_logical
        from compiler.physical import explain_physical, plan_physical
        from compiler.rules import optimize

        result = analyzer.statement(stmt.statement)
        assert isinstance(result, AnalyzedQuery)
        optimized = optimize(result.plan)
        print("== Logical Plan ==")
        print(explain_logical(optimized))
        print()
        print("== Physical Plan ==")
        print(explain_physical(plan_physical(optimized)))

    def interactive(self) -> int:
        history = Path(os.environ.get("SQLC_HISTORY", Path.home() / ".sqlc_history"))
        read = _line_reader(history)
        print("sqlc shell: DDL, SHOW STREAMS|TABLES|VIEWS|FUNCTIONS, DESCRIBE x, EXPLAIN "
              "<query>, SET ['key' = 'value'], RESET ['key']; end statements with ';', HELP; "
              "for more, QUIT; or Ctrl-D to leave")
        buffer: list[str] = []
        number = 0
        while True:
            try:
                line = read("sqlc> " if not buffer else "  ... ")
            except EOFError:
                print()
                if "".join(buffer).strip():  # never dropped without a word
                    print("note: the last statement has no ';' and was not run",
                          file=sys.stderr)
                return 0
            except KeyboardInterrupt:
                buffer = []
                continue
            buffer.append(line)
            text = "\n".join(buffer)
            if not text.strip().endswith(";"):
                continue
            buffer = []
            command = client_command(text)
            if command == "HELP":
                print(HELP)
                continue
            if command in ("QUIT", "EXIT"):
                return 0
            number += 1
            source = Source(f"<shell:{number}>", text)
            diagnostics = Diagnostics(source)
            script = parse_script(source, diagnostics)
            if diagnostics.errors:
                print(SqlcError(diagnostics.errors, source).render(), file=sys.stderr)
                if "\n" in text.strip():
                    print(f"note: these {text.strip().count(chr(10)) + 1} lines were read as one "
                          "statement: a statement ends with ';' (is one missing above?)",
                          file=sys.stderr)
                continue
            for stmt in script.statements:
                self.execute(stmt, source)


def _line_reader(history: Path):
    """prompt_toolkit with a history file on a terminal; plain input() otherwise."""
    if sys.stdin.isatty():
        try:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.history import FileHistory

            session: PromptSession = PromptSession(history=FileHistory(str(history)))
            return session.prompt
        except ImportError:
            pass
    return input

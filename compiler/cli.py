"""The ``sqlc`` command.

    sqlc compile [FILE.sql] [--catalog FILE.sql ...] [-o OUT.py] [--check] [--json]
    sqlc explain FILE.sql [--catalog ...] [--verbose]
    sqlc run FILE.sql [--catalog ...] --input NAME=PATH ... [--output PATH] [--pretty]
    sqlc exec FILE.sql [--catalog ...]      # DDL, SHOW, DESCRIBE, EXPLAIN from a file
    sqlc shell [--catalog ...]              # the same, interactively
    sqlc demo                               # compile the examples, run them on sample data

Exit codes: 0 success, 1 check failed or pipeline failed, 2 user error. A user
error never shows a Python traceback (set SQLC_DEBUG=1 to see one for a bug).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from compiler.errors import SqlcError, SqlFileError
from compiler.project import (
    configured_entries,
    default_catalogs,
    find_project,
    project_config,
    run_module,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake on the command line: message, exit code 2."""


# ------------------------------------------------------------------------ commands


def _read(path: str):
    from compiler.driver import read_source

    return read_source(path)


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root))
        except ValueError:
            pass
    return str(path)


def _print_warnings(compiled_or_analysis) -> None:
    analysis = getattr(compiled_or_analysis, "analysis", compiled_or_analysis)
    for warning in analysis.warnings:
        print(warning.render(analysis.source), file=sys.stderr)


def _no_catalog_note(args: argparse.Namespace | None, error: SqlcError) -> None:
    """An unknown name where no catalog was read at all: say why and what to pass."""
    if args is None:
        return
    unknown = any(d.message.startswith("unknown stream, table or view")
                  for d in error.diagnostics)
    if unknown and not default_catalogs(getattr(args, "catalog", None)):
        print("note: no catalog was read: no pyproject.toml with [tool.sqlc] catalog = [...] "
              "was found here or above, and no --catalog was given; pass --catalog "
              "FILE.sql with the CREATE statements", file=sys.stderr)


def cmd_compile(args: argparse.Namespace) -> int:
    from compiler.driver import compile_source

    root = find_project()
    if args.file:
        catalogs = default_catalogs(args.catalog)
        source = _read(args.file)
        display = _relative(Path(args.file), root)
        compiled = compile_source(source, catalogs, display)
        _print_warnings(compiled)
        assert compiled.module is not None
        out = Path(args.output) if args.output else Path(args.file).with_suffix(".py")
        if args.check:
            current = out.read_text(encoding="utf-8") if out.exists() else None
            if current != compiled.module:
                print(f"stale: {out}", file=sys.stderr)
                return EXIT_FAILED
            return EXIT_OK
        out.write_text(compiled.module, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
        return EXIT_OK
    if root is None:
        raise UsageError("no FILE.sql given and no pyproject.toml with [tool.sqlc] found")
    config = project_config(root)
    catalogs = [str(root / c) for c in config.get("catalog", [])]
    stale, failed = [], 0
    for sql_path, out in configured_entries(root):
        source = _read(str(sql_path))
        compiled = compile_source(source, catalogs, _relative(sql_path, root))
        assert compiled.module is not None
        if args.check:
            current = out.read_text(encoding="utf-8") if out.exists() else None
            if current != compiled.module:
                stale.append(out)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            if not out.exists() or out.read_text(encoding="utf-8") != compiled.module:
                out.write_text(compiled.module, encoding="utf-8")
                print(f"wrote {_relative(out, root)}", file=sys.stderr)
    if args.check:
        expected = {out.resolve() for _, out in configured_entries(root)}
        out_dir = root / config.get("out_dir", "generated")
        for extra in sorted(out_dir.glob("*.py")):
            if extra.resolve() not in expected and extra.name != "__init__.py":
                stale.append(extra)
                print(f"not produced by any configured query: {_relative(extra, root)}",
                      file=sys.stderr)
        for path in stale:
            print(f"stale: {_relative(path, root)}", file=sys.stderr)
        if stale:
            print("run `sqlc compile` to regenerate", file=sys.stderr)
            return EXIT_FAILED
        print(f"{len(expected)} generated modules are up to date", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from compiler.driver import analyze, plan
    from compiler.explain import explain_logical
    from compiler.physical import explain_physical

    source = _read(args.file)
    analysis = analyze(source, default_catalogs(args.catalog))
    _print_warnings(analysis)
    compiled = plan(analysis, verbose=args.verbose)
    for i, (query, logical, physical, trace) in enumerate(
        zip(analysis.script.queries, compiled.logical, compiled.physical, compiled.traces)
    ):
        if i:
            print()
        if args.verbose:
            print("== Analyzed Logical Plan ==")
            print(explain_logical(query.plan))
            for rule, after in trace:
                print(f"\n== After {rule} ==")
                print(explain_logical(after))
            print()
        print("== Logical Plan ==")
        print(explain_logical(logical))
        print()
        print("== Physical Plan ==")
        print(explain_physical(physical))
    if not analysis.script.queries:
        print("(no query in this file)")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from compiler.driver import compile_source

    source = _read(args.file)
    compiled = compile_source(source, default_catalogs(args.catalog), args.file)
    _print_warnings(compiled)
    assert compiled.module is not None
    with tempfile.TemporaryDirectory(prefix="sqlc-run-") as tmp:
        module_path = Path(tmp) / (Path(args.file).stem + ".py")
        module_path.write_text(compiled.module, encoding="utf-8")
        return run_module(module_path, args.run_args)


def cmd_exec(args: argparse.Namespace) -> int:
    from compiler.shell import Shell

    shell = Shell(default_catalogs(args.catalog))
    source = _read(args.file)
    return shell.execute_source(source)


def cmd_shell(args: argparse.Namespace) -> int:
    from compiler.shell import Shell

    return Shell(default_catalogs(args.catalog)).interactive()


def cmd_demo(args: argparse.Namespace) -> int:
    from compiler.demo import demo

    return demo(args)


# ---------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sqlc", description="Compile streaming SQL to Python.")
    json_help = "print errors as JSON (for editors and CI)"
    parser.add_argument("--json", action="store_true", help=json_help)
    sub = parser.add_subparsers(dest="command", required=True)

    def catalog(p: argparse.ArgumentParser) -> None:
        p.add_argument("--catalog", action="append", metavar="FILE.sql",
                       help="DDL files defining streams and tables (default: [tool.sqlc])")

    p = sub.add_parser("compile", help="compile SQL to a Python module")
    p.add_argument("file", nargs="?", help="the SQL file (default: every [tool.sqlc] entry)")
    catalog(p)
    p.add_argument("-o", "--output", help="where to write the module")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if a checked-in module differs from a fresh compile")
    p.set_defaults(handler=cmd_compile)

    p = sub.add_parser("explain", help="print the logical and physical plans")
    p.add_argument("file")
    catalog(p)
    p.add_argument("--verbose", action="store_true", help="show the plan after each rule")
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("run", help="compile to a temporary module and run it",
                       description="Arguments after the file go to the pipeline: "
                       "--input NAME=PATH, --output PATH, --pretty, --dead-letter PATH, "
                       "--late-events PATH, --batch-size N, --now TIMESTAMP (CURRENT_TIMESTAMP "
                       "and the other clock functions read this instant; default $SQLC_NOW)")
    p.add_argument("file")
    catalog(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("exec", help="execute DDL, SHOW, DESCRIBE and EXPLAIN from a file")
    p.add_argument("file")
    catalog(p)
    p.set_defaults(handler=cmd_exec)

    p = sub.add_parser("shell", help="an interactive prompt for DDL, SHOW, DESCRIBE, EXPLAIN")
    catalog(p)
    p.set_defaults(handler=cmd_shell)

    p = sub.add_parser("demo", help="compile the examples and run them on the sample events")
    p.add_argument("--limit", type=int, default=8, help="rows to print per query")
    p.set_defaults(handler=cmd_demo)
    for p in sub.choices.values():
        # `sqlc compile FILE --json` as well as `sqlc --json compile FILE`; SUPPRESS
        # keeps a flag given before the subcommand from being reset to False
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=json_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # known before parsing, so that errors raised while parsing are JSON too
    json_errors = "--json" in argv
    parser = build_parser()
    args = None
    try:
        # `sqlc run` passes the flags it does not know (--input, --output, ...) to
        # the pipeline, wherever they stand; every other command refuses them
        args, extra = parser.parse_known_args(argv)
        if args.command == "run":
            args.run_args = extra
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return args.handler(args)
    except SqlcError as error:
        if json_errors and error.source is not None:
            print(error.to_json())
        else:
            print(error.render(), file=sys.stderr)
            count = len(error.diagnostics)
            print(f"{count} error{'s' if count != 1 else ''}", file=sys.stderr)
            _no_catalog_note(args, error)
        return EXIT_USAGE
    except (UsageError, SqlFileError) as error:
        print(f"sqlc: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sqlc run ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except SystemExit as exit_:
        return int(exit_.code) if isinstance(exit_.code, int) else EXIT_USAGE
    except Exception as error:  # a bug in sqlc, not a user error
        if os.environ.get("SQLC_DEBUG"):
            raise
        print(f"sqlc: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        print("this is a bug in sqlc; rerun with SQLC_DEBUG=1 for a traceback", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

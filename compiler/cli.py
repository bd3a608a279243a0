"""The ``sqlc`` command.

    sqlc compile [FILE.sql] [--catalog FILE.sql ...] [-o OUT.py] [--check] [--json]
                 [--against REV] [--allow-incompatible-state]   # state layout checks
    sqlc explain FILE.sql [--catalog ...] [--verbose] [--format text|dot|mermaid|svg|png]
                          [-o PATH]
    sqlc check-state QUERY.sql CHECKPOINT_DIR  # does the checkpoint's state restore into it?
    sqlc dashboard FILE.sql [--catalog ...] [-o OUT.json]  # Grafana, for --metrics-port
    sqlc run FILE.sql [--catalog ...] --input NAME=PATH ... [--output PATH] [--pretty]
    sqlc exec FILE.sql [--catalog ...]      # DDL, SHOW, DESCRIBE, EXPLAIN from a file
    sqlc shell [--catalog ...]              # the same, interactively
    sqlc demo                               # compile the examples, run them on sample data
    sqlc test [PATH ...] [--update]         # the queries' *.test.yaml fixture tests, offline
    sqlc init DIR                           # a new project: config, catalog, a query, its test
    sqlc vet [FILE.sql ...]                 # lint: unbounded state, global sessions, ...
    sqlc serve | submit NAME FILE.sql | list | describe | pause | resume | stop NAME
                                            # the query manager (compiler/manager)

Exit codes: 0 success, 1 check, test or pipeline failed, 2 user error. A user
error never shows a Python traceback (set SQLC_DEBUG=1 to see one for a bug).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from compiler.errors import ManagerError, SqlcError, SqlFileError, TestFileError
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
        incompatible = _state_report(out, compiled.module, args, root)
        if args.check:
            current = out.read_text(encoding="utf-8") if out.exists() else None
            if current != compiled.module:
                print(f"stale: {out}", file=sys.stderr)
                return EXIT_FAILED
            return EXIT_FAILED if incompatible else EXIT_OK
        out.write_text(compiled.module, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
        if args.dashboard:
            _write_dashboard(compiled, Path(args.file), Path(args.dashboard))
        return EXIT_OK
    if args.dashboard:
        raise UsageError("--dashboard needs a FILE.sql (one dashboard per query file)")
    if root is None:
        raise UsageError("no FILE.sql given and no pyproject.toml with [tool.sqlc] found")
    config = project_config(root)
    catalogs = [str(root / c) for c in config.get("catalog", [])]
    stale, failed = [], 0
    for sql_path, out in configured_entries(root):
        source = _read(str(sql_path))
        compiled = compile_source(source, catalogs, _relative(sql_path, root))
        assert compiled.module is not None
        failed += _state_report(out, compiled.module, args, root)
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


def _previous_module(out: Path, args: argparse.Namespace, root: Path | None) -> str | None:
    """The module to compare state layouts with: the file as it is, or with
    --against REV, the file at that git revision (None: there is none)."""
    import subprocess

    if not args.against:
        return out.read_text(encoding="utf-8") if out.exists() else None
    cwd = root or Path.cwd()
    try:
        done = subprocess.run(["git", "show", f"{args.against}:./{_relative(out, cwd)}"],
                              cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"--against {args.against}: cannot run git: {error}") from None
    return done.stdout if done.returncode == 0 else None


def _state_report(out: Path, module: str, args: argparse.Namespace, root: Path | None) -> int:
    """Say whether the operators' state carries over from the previous module
    to this one (when their layouts differ); 1 if it does not and --check
    should fail for it (no --allow-incompatible-state), else 0."""
    from compiler.layout import layout_of_module, sql_of_module
    from runtime_lib.layout import (
        INCOMPATIBLE,
        acknowledged,
        acknowledgements,
        compare,
        overall,
        report,
    )

    previous = _previous_module(out, args, root)
    old = layout_of_module(previous) if previous is not None else None
    new = layout_of_module(module)
    if old is None or new is None or previous == module or not (old or new):
        return 0  # nothing to compare, nothing changed, or stateless
    verdicts = compare(old, new)
    print(report(verdicts, f"state of {_relative(out, root)}"), file=sys.stderr)
    if overall(verdicts) != INCOMPATIBLE:
        return 0
    if args.allow_incompatible_state:
        print("  (acknowledged by --allow-incompatible-state)", file=sys.stderr)
        return 0
    lines, before = (acknowledgements(sql_of_module(m)) for m in (module, previous))
    open_ = []
    for verdict in verdicts:
        if verdict.level == INCOMPATIBLE:
            line = acknowledged(verdict, lines, before)
            if line is None:
                open_.append(verdict.operator)
            else:
                print(f"  {verdict.operator}: acknowledged by the line '-- {line}'",
                      file=sys.stderr)
    if not open_:
        return 0
    if args.check:
        print(f"  --check fails for it; --allow-incompatible-state, or a line "
              f"'-- sqlc-state: allow-incompatible {', '.join(open_)}' added to the query, "
              "acknowledges the change", file=sys.stderr)
    return 1 if args.check else 0


def cmd_check_state(args: argparse.Namespace) -> int:
    """Whether a checkpoint's state restores into the query as it is now."""
    from compiler.driver import compile_source
    from compiler.layout import layout_of_module
    from runtime_lib.checkpoint import CheckpointStore
    from runtime_lib.layout import INCOMPATIBLE, acknowledgements, compare, open_state, report

    compiled = compile_source(_read(args.file), default_catalogs(args.catalog),
                              _relative(Path(args.file), find_project()))
    assert compiled.module is not None
    store = CheckpointStore(args.checkpoint_dir)
    checkpoint = store.latest()
    for warning in store.warnings:
        print(warning, file=sys.stderr)
    if checkpoint is None:
        raise UsageError(f"{args.checkpoint_dir}: no checkpoint there")
    old = (checkpoint.manifest.get("query") or {}).get("layout")
    if old is None:
        raise UsageError(f"{checkpoint.path}: written by an older sqlc, without a state "
                         "layout: only the same SQL restores from it")
    verdicts = compare(old, layout_of_module(compiled.module) or {})
    print(report(verdicts, f"checkpoint {checkpoint.id} into {args.file}"))
    operators = checkpoint.state.get("operators") or {}
    for verdict in verdicts:
        if any(r.startswith("added ") and "starts empty" in r for r in verdict.reasons):
            held = open_state(operators.get(verdict.operator) or {})
            if held:
                print(f"  {verdict.operator}: checkpoint {checkpoint.id} holds {held}: there "
                      "the added aggregates start empty")
    # as a restore does: an operator the query's line acknowledges starts over
    lines = acknowledgements(compiled.analysis.source.text)
    refused = [v for v in verdicts if v.level == INCOMPATIBLE and not (
        {v.operator, "all"} & set(lines))]
    for verdict in verdicts:
        if verdict.level == INCOMPATIBLE and verdict not in refused:
            line = lines.get(verdict.operator) or lines["all"]
            print(f"  {verdict.operator}: acknowledged by the line '-- {line}': "
                  + ("it starts empty" if verdict.reset else "the changed aggregates start "
                     "empty") + " at the restore")
    return EXIT_FAILED if refused else EXIT_OK


def cmd_vet(args: argparse.Namespace) -> int:
    """Lint the queries (compiler/vet.py): exit 1 when a rule fires."""
    from compiler.driver import analyze, plan
    from compiler.vet import vet

    root = find_project()
    if args.files:
        files, catalogs = [Path(f) for f in args.files], default_catalogs(args.catalog)
    elif root is not None:
        files = [sql for sql, _ in configured_entries(root)]
        catalogs = [str(root / c) for c in project_config(root).get("catalog", [])]
    else:
        raise UsageError("no FILE.sql given and no pyproject.toml with [tool.sqlc] found")
    count = 0
    for path in files:
        source = _read(str(path))
        analysis = analyze(source, catalogs)
        compiled = plan(analysis)
        for warning in vet(source, analysis.script.queries, compiled.physical):
            print(warning.render(source), file=sys.stderr)
            count += 1
    print(f"{count} warning{'s' if count != 1 else ''} in {len(files)} "
          f"file{'s' if len(files) != 1 else ''}", file=sys.stderr)
    return EXIT_FAILED if count else EXIT_OK


def _write_dashboard(compiled, sql_path: Path, out: Path) -> None:
    from compiler.dashboard import render

    try:
        out.write_text(render(compiled, f"sqlc {sql_path.stem}"), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write the dashboard {out}: {error.strerror}") from None
    print(f"wrote {out}", file=sys.stderr)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from compiler.driver import compile_source

    root = find_project()
    source = _read(args.file)
    compiled = compile_source(source, default_catalogs(args.catalog),
                              _relative(Path(args.file), root))
    _print_warnings(compiled)
    if args.output is None:
        from compiler.dashboard import render

        sys.stdout.write(render(compiled, f"sqlc {Path(args.file).stem}"))
        return EXIT_OK
    _write_dashboard(compiled, Path(args.file), Path(args.output))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from compiler.driver import analyze, plan
    from compiler.explain import explain_logical
    from compiler.physical import explain_physical

    source = _read(args.file)
    analysis = analyze(source, default_catalogs(args.catalog))
    _print_warnings(analysis)
    compiled = plan(analysis, verbose=args.verbose)
    if args.format != "text":
        from compiler.plan_graph import FORMATS, MissingRenderer

        try:
            picture = FORMATS[args.format](compiled.physical)
        except MissingRenderer as error:
            raise UsageError(str(error)) from None
        if args.output:
            data = picture if isinstance(picture, bytes) else (picture + "\n").encode()
            Path(args.output).write_bytes(data)
        elif isinstance(picture, str):
            print(picture)
        elif sys.stdout.isatty():
            raise UsageError("--format png is binary: write it with -o PLAN.png (or redirect "
                             "the output to a file)")
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(picture)
            sys.stdout.flush()
        return EXIT_OK
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
    import tempfile

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

    shell = Shell(default_catalogs(args.catalog), _shell_inputs(args.input), args.limit)
    source = _read(args.file)
    return shell.execute_source(source)


def cmd_shell(args: argparse.Namespace) -> int:
    from compiler.shell import Shell

    return Shell(default_catalogs(args.catalog), _shell_inputs(args.input),
                 args.limit).interactive()


def _shell_inputs(specs: list[str]) -> dict[str, Path]:
    """--input NAME=PATH flags as a dict; a missing file or a flag without '='
    is a usage error (exit 2)."""
    inputs = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SqlFileError(f"--input {spec}: write --input NAME=PATH")
        if not Path(path).is_file():
            raise SqlFileError(f"--input {spec}: no such file: {path}")
        inputs[name] = Path(path)
    return inputs


def cmd_test(args: argparse.Namespace) -> int:
    from compiler.testing.suite import run_tests

    paths = [Path(p) for p in args.paths]
    if not paths:
        root = find_project()
        if root is None:
            raise UsageError("no PATH given and no pyproject.toml with [tool.sqlc] found")
        paths = sorted({sql.parent for sql, _ in configured_entries(root)}) or [root]
    return run_tests(paths, update=args.update)


def cmd_init(args: argparse.Namespace) -> int:
    from compiler.scaffold import ScaffoldError, init_project

    directory = Path(args.directory)
    try:
        written = init_project(directory)
    except ScaffoldError as error:
        raise UsageError(str(error)) from None
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    print(f"next: cd {directory} && sqlc compile --check && sqlc test", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from compiler.demo import demo

    return demo(args)


# ---------------------------------------------------------------------------- main


# the subcommands defined here (the query manager's are in compiler/manager/commands.py)
OWN_COMMANDS = ("compile", "check-state", "dashboard", "explain", "run", "exec", "shell", "test",
                "vet", "init", "demo")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every subcommand, or only ``command`` when it
    is one of OWN_COMMANDS (a fifth of what `sqlc compile one.sql` does before
    compiling is building the other twenty subcommands' parsers; the help and
    the errors of the command given are the same)."""

    if command not in OWN_COMMANDS:
        command = None  # every subcommand, for the help or the error that lists them

    def wanted(name: str) -> bool:
        return command is None or name == command

    parser = argparse.ArgumentParser(prog="sqlc", description="Compile streaming SQL to Python.")
    json_help = "print errors as JSON (for editors and CI)"
    parser.add_argument("--json", action="store_true", help=json_help)
    from compiler import __version__

    parser.add_argument("--version", action="version", version=f"sqlc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def catalog(p: argparse.ArgumentParser) -> None:
        p.add_argument("--catalog", action="append", metavar="FILE.sql",
                       help="DDL files defining streams and tables (default: [tool.sqlc])")

    if wanted("compile"):
        p = sub.add_parser("compile", help="compile SQL to a Python module")
        p.add_argument("file", nargs="?", help="the SQL file (default: every [tool.sqlc] entry)")
        catalog(p)
        p.add_argument("-o", "--output", help="where to write the module")
        p.add_argument("--check", action="store_true",
                       help="exit 1 if a checked-in module differs from a fresh compile, or its "
                            "operators' state would not carry over (see --against)")
        p.add_argument("--against", metavar="REV",
                       help="compare the state layouts with the modules at this git revision "
                            "(e.g. origin/main; default: the modules as they are on disk)")
        p.add_argument("--allow-incompatible-state", action="store_true",
                       help="acknowledge a change after which state cannot be restored (or, "
                            "per operator, a line '-- sqlc-state: allow-incompatible NAME' in "
                            "the query)")
        p.add_argument("--dashboard", metavar="PATH",
                       help="also write a Grafana dashboard JSON for the pipeline's operators")
        p.set_defaults(handler=cmd_compile)

    if wanted("check-state"):
        p = sub.add_parser("check-state", help="whether a checkpoint's state restores into the "
                           "query as it is now (exit 1 if not)")
        p.add_argument("file", metavar="QUERY.sql")
        p.add_argument("checkpoint_dir", metavar="CHECKPOINT_DIR")
        catalog(p)
        p.set_defaults(handler=cmd_check_state)

    if wanted("dashboard"):
        p = sub.add_parser("dashboard", help="write a Grafana dashboard JSON for a query's metrics")
        p.add_argument("file")
        catalog(p)
        p.add_argument("-o", "--output", metavar="PATH", help="where to write it (default stdout)")
        p.set_defaults(handler=cmd_dashboard)

    if wanted("explain"):
        p = sub.add_parser("explain", help="print the logical and physical plans")
        p.add_argument("file")
        catalog(p)
        p.add_argument("--verbose", action="store_true", help="show the plan after each rule")
        p.add_argument("--format", choices=("text", "dot", "mermaid", "svg", "png"),
                       default="text",
                       help="dot (Graphviz: `| dot -Tsvg`), mermaid, svg (laid out by sqlc, "
                            "as on the `sqlc serve` page) or png (that svg rendered by the "
                            "resvg-py package): the physical plan as a graph, changelog modes on "
                            "the edges")
        p.add_argument("-o", "--output", metavar="PATH",
                       help="write the picture (--format dot|mermaid|svg|png) to PATH instead "
                            "of stdout")
        p.set_defaults(handler=cmd_explain)

    if wanted("run"):
        p = sub.add_parser("run", help="compile to a temporary module and run it",
                           description="Arguments after the file go to the pipeline: "
                           "--input NAME=PATH, --output PATH, --pretty, --dead-letter PATH, "
                           "--late-events PATH, --batch-size N, --now TIMESTAMP (CURRENT_TIMESTAMP "
                           "and the other clock functions read this instant; default $SQLC_NOW)")
        p.add_argument("file")
        catalog(p)
        p.set_defaults(handler=cmd_run)

    def shell_inputs(p: argparse.ArgumentParser) -> None:
        p.add_argument("--input", action="append", default=[], metavar="NAME=PATH",
                       help="run each query on this file for source NAME (JSON lines or "
                            "CSV, as its format says) and print its first rows")
        p.add_argument("--limit", type=int, default=20, metavar="N",
                       help="rows printed per query (default 20)")

    if wanted("exec"):
        p = sub.add_parser("exec", help="execute DDL, SHOW, DESCRIBE and EXPLAIN from a file")
        p.add_argument("file")
        catalog(p)
        shell_inputs(p)
        p.set_defaults(handler=cmd_exec)

    if wanted("shell"):
        p = sub.add_parser("shell", help="an interactive prompt for DDL, SHOW, DESCRIBE, EXPLAIN")
        catalog(p)
        shell_inputs(p)
        p.set_defaults(handler=cmd_shell)

    if wanted("test"):
        p = sub.add_parser("test", help="run the queries' fixture tests (*.test.yaml) offline",
                           description="Each QUERY.test.yaml beside QUERY.sql gives the query "
                           "rows per source and the rows it must produce (see compiler/testing). "
                           "Exit codes: 0 all passed, 1 a test failed, 2 a bad test file or query.")
        p.add_argument("paths", nargs="*", metavar="PATH",
                       help="test files, .sql files or directories (default: the folders of the "
                            "[tool.sqlc] sources)")
        p.add_argument("--update", action="store_true",
                       help="record the current results as the expectations")
        p.set_defaults(handler=cmd_test)

    if wanted("vet"):
        p = sub.add_parser("vet", help="lint the queries for streaming mistakes (exit 1 if any)",
                           description="Rules SV001-SV006 (compiler/vet.py); a query file opts out "
                           "with a line '-- sqlc-vet: ignore SV001'.")
        p.add_argument("files", nargs="*", metavar="FILE.sql",
                       help="default: every [tool.sqlc] entry")
        catalog(p)
        p.set_defaults(handler=cmd_vet)

    if wanted("init"):
        p = sub.add_parser("init", help="create a new project: [tool.sqlc], a catalog, a query "
                           "and its test, a CI workflow")
        p.add_argument("directory", metavar="DIR", help="where (absent or empty)")
        p.set_defaults(handler=cmd_init)

    if wanted("demo"):
        p = sub.add_parser("demo", help="compile the examples and run them on the sample events")
        p.add_argument("--limit", type=int, default=8, help="rows to print per query")
        p.set_defaults(handler=cmd_demo)
    if command is None:
        from compiler.manager.commands import add_commands

        add_commands(sub, catalog)
    for p in sub.choices.values():
        # `sqlc compile FILE --json` as well as `sqlc --json compile FILE`; SUPPRESS
        # keeps a flag given before the subcommand from being reset to False
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=json_help)
    return parser


def _command_word(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (the
    options before a subcommand, --json and --version, take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # known before parsing, so that errors raised while parsing are JSON too
    json_errors = "--json" in argv
    parser = build_parser(_command_word(argv))
    args = None
    try:
        # `sqlc run` passes the flags it does not know (--input, --output, ...) to
        # the pipeline, wherever they stand; every other command refuses them
        args, extra = parser.parse_known_args(argv)
        if args.command in ("run", "submit", "upgrade"):
            args.run_args = extra
        elif extra:  # the usage line of every subcommand, as for any other error here
            build_parser().error(f"unrecognized arguments: {' '.join(extra)}")
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
    except (UsageError, SqlFileError, TestFileError, ManagerError) as error:
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

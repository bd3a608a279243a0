"""The documentation cannot drift from the compiler.

- the site builds with ``mkdocs build --strict`` (the reference pages are
  generated from the compiler's tables by docs/gen_reference.py at build time);
- every function, type, statement, window TVF, connector property, SET option
  and CLI flag has a reference entry, and every entry names something that
  exists (the failure names the entry to add or remove);
- every function and type example runs and gives its documented output and
  result type; every ```sql block of the pages and every statement example of
  the reference compiles against examples/catalog.sql; where a page shows
  output (a ```console block after it), the example runs and gives it;
- the CLI examples parse with the parser they document.
"""

from __future__ import annotations

import io
import json
import math
import re
import shlex
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from compiler.cli import build_parser, main, run_module
from compiler.driver import analyze, compile_source, plan
from compiler.errors import Source
from docs import gen_reference as ref
from runtime_lib.pipeline import Pipeline
from runtime_lib.pipeline import build_parser as module_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CATALOG = ROOT / "examples" / "catalog.sql"
PAGES = sorted(p for p in DOCS.rglob("*.md"))


# ------------------------------------------------------------------ site and coverage


def test_the_site_builds_strict(tmp_path: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"), strict=True, site_dir=str(tmp_path / "site"))
    build(config)  # raises on any warning (a broken link, a page not in the nav, ...)
    assert (tmp_path / "site" / "reference" / "functions" / "index.html").exists()


def test_every_name_has_an_entry_and_every_entry_a_name() -> None:
    problems = ref.problems()
    assert not problems, "\n\n".join(problems)


def test_a_missing_entry_is_named_with_what_to_add(monkeypatch) -> None:
    from compiler import functions

    monkeypatch.setattr(functions, "KNOWN_FUNCTIONS", [*functions.KNOWN_FUNCTIONS, "NEW_FN"])
    problems = ref.problems()
    assert len(problems) == 1
    assert "functions.yaml has no entry for the function (compiler/functions.py) 'NEW_FN'" \
        in problems[0]
    assert "add:\nNEW_FN:\n  family: ...\n  signature: NEW_FN(...)\n" in problems[0]


def test_a_missing_property_is_named_with_its_entry(monkeypatch) -> None:
    from compiler import catalog

    redis = dict(catalog.CONNECTORS["redis"], known=(*catalog.CONNECTORS["redis"]["known"],
                                                      "lookup.async"))
    monkeypatch.setitem(catalog.CONNECTORS, "redis", redis)
    assert ref.problems() == [
        ("docs/reference/connectors.yaml has no entry for the property of connector 'redis' "
        "'lookup.async'; add:\nredis:\n  properties:\n"
        "    lookup.async: {type: ..., default: ..., meaning: ...}")
    ]


def test_an_entry_for_nothing_fails(monkeypatch) -> None:
    from compiler import catalog

    kafka = dict(catalog.CONNECTORS["kafka"], known=catalog.CONNECTORS["kafka"]["known"][1:])
    monkeypatch.setitem(catalog.CONNECTORS, "kafka", kafka)
    problems = ref.problems()
    assert problems == [
        ("docs/reference/connectors.yaml has an entry 'topic', but sqlc has no such property "
        "of connector 'kafka'; remove it (or fix its name)")
    ]


# ------------------------------------------------------------- function and type examples


def _input_catalog(tmp_path: Path) -> Path:
    catalog = tmp_path / "t.sql"
    catalog.write_text(ref.data("input")["ddl"], encoding="utf-8")
    return catalog


def _run_select(tmp_path: Path, sql: str, rows: list[dict]) -> tuple[list[dict], tuple]:
    """Run ``sql`` over the reference input table t: its output rows and schema."""
    compiled = compile_source(Source("example.sql", sql), [_input_catalog(tmp_path)],
                              "example.sql")
    module = tmp_path / "example.py"
    module.write_text(compiled.module, encoding="utf-8")
    events = tmp_path / "t.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = run_module(module, ["--input", f"t={events}", "--output", str(out), "--quiet",
                               "--now", NOW,
                               "--dead-letter", str(tmp_path / "dead.jsonl")])
    assert code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines], compiled.analysis.script.queries[0].plan.schema


def _same(ours: object, documented: object) -> bool:
    if isinstance(ours, float) and isinstance(documented, (int, float)) \
            and not isinstance(documented, bool):
        return math.isclose(ours, documented, rel_tol=1e-12, abs_tol=1e-12)
    return ours == documented and type(ours) is type(documented)


def _check_type(name: str, entry: dict, typ) -> str | None:
    """A result type written as a plain type name must be the example's type."""
    written = entry.get("returns", "").split("(")[0].split("<")[0]
    if written in ref.type_names() and written != typ.name:
        return f"{name}: documented returns {entry['returns']}, the example gives {typ}"
    return None


def _examples(*files: str, context: str) -> dict[str, dict]:
    return {f"{file}:{name}": entry for file in files for name, entry in ref.data(file).items()
            if entry.get("context", "scalar") == context}


# the instant the examples' clock functions read (--now)
NOW = "2025-11-10T13:00:00Z"


def _compare_columns(examples: dict[str, dict], rows: list[dict], schema: tuple,
                     value_of) -> list[str]:
    wrong = []
    for i, (name, entry) in enumerate(examples.items()):
        ours = value_of(rows, f"c{i}")
        if "matches" in entry:
            if not re.fullmatch(entry["matches"], str(ours)):
                wrong.append(f"{name}: {entry['example']} gives {ours!r}, which does not "
                             f"match {entry['matches']}")
            continue
        expected = entry["output"]
        same = (len(ours) == len(expected) and all(map(_same, ours, expected))
                if isinstance(expected, list) else _same(ours, expected))
        if not same:
            wrong.append(f"{name}: {entry['example']} gives {ours!r}, documented {expected!r}")
        problem = _check_type(name, entry, schema[i + 1].type)
        if problem:
            wrong.append(problem)
    return wrong


def test_scalar_examples_give_their_output(tmp_path: Path) -> None:
    examples = _examples("functions", "types", "operators", context="scalar")
    columns = ", ".join(f"{e['example']} AS c{i}" for i, e in enumerate(examples.values()))
    rows, schema = _run_select(tmp_path, f"SELECT id, {columns} FROM t WHERE id = 1;",
                               ref.input_rows())
    assert len(rows) == 1
    wrong = _compare_columns(examples, rows, schema, lambda rows, c: rows[0][c])
    assert not wrong, "\n".join(wrong)


def test_aggregate_examples_give_their_output(tmp_path: Path) -> None:
    examples = _examples("functions", context="aggregate")
    columns = ", ".join(f"{e['example']} AS c{i}" for i, e in enumerate(examples.values()))
    sql = (f"SELECT window_start, {columns} FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(event_time), "
           f"INTERVAL '1' HOUR)) GROUP BY window_start, window_end;")
    rows, schema = _run_select(tmp_path, sql, ref.input_rows())
    assert len(rows) == 1
    wrong = _compare_columns(examples, rows, schema, lambda rows, c: rows[0][c])
    assert not wrong, "\n".join(wrong)


def test_over_examples_give_their_output(tmp_path: Path) -> None:
    examples = _examples("functions", context="over")
    columns = ", ".join(f"{e['example']} AS c{i}" for i, e in enumerate(examples.values()))
    rows, schema = _run_select(tmp_path, f"SELECT id, {columns} FROM t;", ref.input_rows())
    rows.sort(key=lambda r: r["id"])
    wrong = _compare_columns(examples, rows, schema, lambda rows, c: [r[c] for r in rows])
    assert not wrong, "\n".join(wrong)


def _split_call(example: str) -> tuple[str, list[str]] | None:
    """``FN(a, b)`` -> ('FN', ['a', 'b']); None for anything else (operators, keyword
    arguments such as EXTRACT(HOUR FROM ts))."""
    match = re.fullmatch(r"([A-Z_0-9]+)\((.*)\)", example.strip(), re.DOTALL)
    if not match:
        return None
    args, depth, quoted, current = [], 0, False, ""
    for ch in match.group(2):
        quoted = not quoted if ch == "'" else quoted
        depth += (ch == "(") - (ch == ")") if not quoted else 0
        if ch == "," and depth == 0 and not quoted:
            args.append(current.strip())
            current = ""
        else:
            current += ch
    args.append(current.strip())
    if not args[-1] or any(f" {k} " in f" {a} " for a in args for k in ("FROM", "IN", "TO")):
        return None
    return match.group(1), args


def test_strict_functions_give_null_for_a_null_argument(tmp_path: Path) -> None:
    """`nulls: strict` is checked: each such example, its data argument made NULL
    (the first, the last after a unit keyword such as HOUR, or the entry's
    null_argument), gives NULL."""
    strict = {}
    for name, entry in ref.data("functions").items():
        call = _split_call(entry["example"]) if entry.get("context", "scalar") == "scalar" else None
        if entry["nulls"].startswith("strict") and call is not None:
            strict[name] = call
    assert len(strict) > 40
    entries = ref.data("functions")
    data_arg = {name: entries[name]["null_argument"] - 1 if "null_argument" in entries[name]
                else len(args) - 1 if re.fullmatch(r"[A-Z]+", args[0]) else 0
                for name, (_, args) in strict.items()}
    typing = analyze(Source("args.sql", "SELECT " + ", ".join(
        f"{args[data_arg[name]]} AS a{i}" for i, (name, (_, args)) in enumerate(strict.items()))
        + " FROM t;"), [_input_catalog(tmp_path)])
    types = [f.type for f in typing.script.queries[0].plan.schema]
    calls = []
    for (name, (fn, args)), typ in zip(strict.items(), types):
        args = list(args)
        args[data_arg[name]] = f"CAST(NULL AS {typ.plain().sql()})"
        calls.append(f"{fn}({', '.join(args)})")
    columns = ", ".join(f"{call} AS c{i}" for i, call in enumerate(calls))
    rows, _ = _run_select(tmp_path, f"SELECT id, {columns} FROM t WHERE id = 1;",
                          ref.input_rows())
    wrong = [name for i, name in enumerate(strict) if rows[0][f"c{i}"] is not None]
    assert not wrong, f"documented as NULL for a NULL argument, but not: {wrong}"


QUERY_EXAMPLES = _examples("functions", context="query")


@pytest.mark.parametrize("name", sorted(QUERY_EXAMPLES))
def test_query_examples_give_their_output(name: str, tmp_path: Path) -> None:
    entry = QUERY_EXAMPLES[name]
    if entry.get("runs") is False:
        plan(analyze(Source("example.sql", entry["example"]), [_input_catalog(tmp_path)]))
        assert "output" not in entry, f"{name} does not run, so it cannot show output"
        return
    rows, _ = _run_select(tmp_path, entry["example"], ref.input_rows())
    assert sorted(rows, key=str) == sorted(entry["output"], key=str), name


# ------------------------------------------------------------------- SQL on the pages

def _fences(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    blocks, current, lang = [], None, ""
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, lang = [], line[3:].strip()
            else:
                blocks.append((lang, "".join(current)))
                current = None
        elif current is not None:
            current.append(line)
    assert current is None, "an unclosed ``` block"
    return blocks


def _page_blocks() -> list[tuple[str, str, str | None]]:
    """(where, sql, console block after it or None) for every ```sql block of a page."""
    blocks = []
    for page in PAGES:
        found = _fences(page.read_text(encoding="utf-8"))
        for i, (lang, text) in enumerate(found):
            if lang == "sql":
                after = found[i + 1] if i + 1 < len(found) else None
                console = after[1] if after and after[0] == "console" else None
                blocks.append((f"{page.relative_to(ROOT)} block {i + 1}", text, console))
    return blocks


def _reference_statements() -> list[tuple[str, str]]:
    out = [(f"statements.yaml:{n}", e["example"]) for n, e in ref.data("statements").items()]
    windows = ref.data("windows")
    out += [(f"windows.yaml:{n}", e["example"])
            for part in ("tvfs", "emit") for n, e in windows[part].items()]
    out += [(f"connectors.yaml:{n}", e["example"]) for n, e in ref.data("connectors").items()]
    out += [(f"settings.yaml:{n}", sql) for n, sql in ref.data("settings").items()]
    out += [(f"types.yaml:{n}", e["example"]) for n, e in ref.data("types").items()
            if e.get("context") == "ddl"]
    return out


SQL_BLOCKS = [(where, sql) for where, sql, _ in _page_blocks()] + _reference_statements()


@pytest.mark.parametrize("where,sql", SQL_BLOCKS, ids=[w for w, _ in SQL_BLOCKS])
def test_sql_examples_compile(where: str, sql: str) -> None:
    analysis = analyze(Source(where, sql), [CATALOG])  # raises a positioned SqlcError
    plan(analysis)


OUTPUT_BLOCKS = [(w, sql, console) for w, sql, console in _page_blocks() if console]


def test_pages_show_outputs() -> None:
    assert len(OUTPUT_BLOCKS) >= 2


@pytest.mark.parametrize("where,sql,console", OUTPUT_BLOCKS, ids=[w for w, *_ in OUTPUT_BLOCKS])
def test_shown_output_is_what_the_example_gives(where: str, sql: str, console: str,
                                                tmp_path: Path, monkeypatch) -> None:
    command, *expected = console.rstrip("\n").split("\n")
    argv = shlex.split(command.removeprefix("$ "))
    assert argv[:3] == ["sqlc", "run", "query.sql"], f"{where}: a console block starts with " \
        "`$ sqlc run query.sql ...` (query.sql is the SQL block above it)"
    (tmp_path / "query.sql").write_text(sql, encoding="utf-8")
    monkeypatch.chdir(ROOT)
    stdout = io.StringIO()
    with redirect_stdout(stdout):
        code = main(["run", str(tmp_path / "query.sql"), "--quiet", *argv[3:]])
    assert code == 0
    assert stdout.getvalue().rstrip("\n").split("\n") == expected


# ------------------------------------------------------------------------ CLI examples

def _shell_commands() -> list[tuple[str, str]]:
    """(where, command) for each `sqlc ...` or `python generated/...` line of a ```sh
    block in the pages and the README (continuation lines joined, comments cut)."""
    out = []
    for page in [*PAGES, ROOT / "README.md"]:
        for i, (lang, text) in enumerate(_fences(page.read_text(encoding="utf-8"))):
            if lang != "sh":
                continue
            for line in text.replace("\\\n", " ").splitlines():
                command = line.split(" #")[0].strip()
                if command.startswith(("sqlc ", "python generated/")) and "&&" not in command:
                    out.append((f"{page.relative_to(ROOT)} block {i + 1}", command))
    return out


SHELL_COMMANDS = _shell_commands()
# the commands whose flags after the file go to the pipeline (compiler/cli.py main)
PASS_ON = ("run", "submit", "upgrade")


@pytest.mark.parametrize("where,command", SHELL_COMMANDS, ids=[w for w, _ in SHELL_COMMANDS])
def test_commands_on_the_pages_parse(where: str, command: str) -> None:
    """A flag renamed or removed in a parser fails here, naming the page."""
    argv = shlex.split(command.replace("[--verbose]", "--verbose"))
    if argv[0] == "python":
        module_parser(Pipeline).parse_args(argv[2:])
        return
    args, extra = build_parser().parse_known_args(argv[1:])
    assert args.command in PASS_ON or not extra, f"{where}: unknown arguments {extra}"
    if args.command in PASS_ON:
        module_parser(Pipeline).parse_args(extra)


CLI_EXAMPLES = sorted(ref.data("cli").items())


@pytest.mark.parametrize("key,example", CLI_EXAMPLES, ids=[k for k, _ in CLI_EXAMPLES])
def test_cli_examples_parse(key: str, example: str) -> None:
    argv = shlex.split(example)
    flag = key.split()[-1]
    if flag.startswith("-"):
        assert flag in argv or any(a.startswith(flag + "=") for a in argv), \
            f"cli.yaml {key!r}: the example does not use {flag}"
    if key.startswith("module"):
        assert argv[0] == "python" and argv[1].endswith(".py"), key
        module_parser(Pipeline).parse_args(argv[2:])
    else:
        assert argv[0] == "sqlc", key
        if argv[1:] == ["--version"]:  # argparse's version action prints and exits 0
            with pytest.raises(SystemExit) as done:
                build_parser().parse_known_args(argv[1:])
            assert done.value.code == 0
            return
        args, extra = build_parser().parse_known_args(argv[1:])
        assert args.command in PASS_ON or not extra, f"{key}: unknown arguments {extra}"
        if args.command in PASS_ON:
            module_parser(Pipeline).parse_args(extra)

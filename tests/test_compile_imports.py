"""`sqlc compile` as a build step: the compiler never imports numba (it costs
most of a second before anything compiles; the kernels are the runtime's), and
compiling one query imports neither numpy, nor yaml (test files), nor
urllib (the query manager's client): each is a tenth of the command's CPU
time. (A query whose constants are folded, or whose regex or JSON path is
checked, imports numpy with the runtime functions that do it: one
implementation of each function.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compiler import cli

ROOT = Path(__file__).resolve().parent.parent

# compile every example in one process, then list the heavy runtime modules loaded
_SCRIPT = """
import sys
from pathlib import Path
from compiler.cli import main
for sql in sorted(Path("examples").glob("*.sql")):
    if sql.name != "catalog.sql":
        main(["compile", str(sql), "-o", str(Path(sys.argv[1]) / (sql.stem + ".py"))])
print(sorted(m for m in sys.modules if m.split(".")[0] in ("numba", "llvmlite")))
"""


def test_compiling_every_example_imports_no_numba(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("*.py"))) > 20  # the compiles ran
    assert result.stdout.strip().splitlines()[-1] == "[]"


# the modules `sqlc compile one.sql` leaves out, in a fresh process
_ONE = """
import sys
from compiler.cli import main
code = main(["compile", sys.argv[1], "-o", sys.argv[2]])
heavy = ("numba", "llvmlite", "numpy", "yaml", "urllib.request", "http.server")
print(code, sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy[:4]))
"""


@pytest.mark.parametrize("query", ["fr_dql_001_basic_select", "fr_dql_003_tumble",
                                   "fr_join_002_stream_stream", "s01_latency_classes"])
def test_compiling_one_query_imports_no_numpy_yaml_or_urllib(tmp_path, query):
    result = subprocess.run(
        [sys.executable, "-c", _ONE, f"examples/{query}.sql", str(tmp_path / "out.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"


# what `sqlc compile one.sql` must not load: the runtime's heavy modules, the
# other subcommands' modules (nor the query manager's argparse definitions: only
# the compile subcommand's parser is built), and jinja2 (the template is rendered by its
# precompiled function, templates/module_py.py)
_NOT_FOR_COMPILE = (
    "numba", "llvmlite", "numpy", "yaml", "jinja2", "markupsafe", "black",
    "compiler.manager.commands", "compiler.manager.core", "compiler.manager.http",
    "compiler.vet", "compiler.shell", "compiler.shell_run", "compiler.testing",
    "compiler.dashboard", "compiler.demo", "compiler.scaffold",
    "compiler.plan_graph", "compiler.codegen.template_build", "runtime_lib.pipeline",
    "runtime_lib.kernels", "runtime_lib.aggregates", "runtime_lib.checkpoint",
    # the emitters of operators these queries do not have (compiler/codegen/emit/__init__.py)
    "compiler.codegen.emit.joins", "compiler.codegen.emit.match_recognize",
    "compiler.codegen.emit.over", "compiler.codegen.emit.rank", "compiler.codegen.emit.union",
    "compiler.codegen.emit.correlate", "compiler.codegen.emit.sort",
    "compiler.codegen.emit.window_tvf", "compiler.codegen.emit.limit",
)  # (compiler.explain is the plan text of the module's docstring: it is needed)

_COMMAND = """
import sys
from compiler.cli import main
code = main(["compile", sys.argv[1], "-o", sys.argv[2]])
print(code, sorted(m for m in sys.modules if m in sys.argv[3:] or m.split(".")[0] in sys.argv[3:]
                   or any(m.startswith(p + ".") for p in sys.argv[3:])))
"""


@pytest.mark.parametrize("query", ["fr_dql_001_basic_select", "fr_dql_003_tumble"])
def test_sqlc_compile_loads_no_other_subcommand_no_jinja2_no_runtime(tmp_path, query):
    result = subprocess.run(
        [sys.executable, "-c", _COMMAND, f"examples/{query}.sql", str(tmp_path / "out.py"),
         *_NOT_FOR_COMPILE],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"
    assert (tmp_path / "out.py").read_text(encoding="utf-8") == (
        ROOT / "generated" / f"{query}.py").read_text(encoding="utf-8")


def _own_command_lines() -> list[list[str]]:
    return [["compile", "q.sql", "-o", "x.py", "--check"], ["--json", "compile"],
            ["explain", "q.sql", "--verbose"], ["run", "q.sql", "--catalog", "c.sql"],
            ["test", "a", "b"], ["vet"], ["init", "d"], ["demo", "--limit", "3"],
            ["exec", "q.sql", "--input", "s=p"], ["shell"], ["dashboard", "q.sql"],
            ["check-state", "q.sql", "ckpt"]]


@pytest.mark.parametrize("argv", _own_command_lines(), ids=lambda a: " ".join(a))
def test_the_one_command_parser_parses_as_the_whole_one(argv):
    """build_parser(command) builds only that subcommand's parser: it must read
    the command line, and print its help, as the parser of every subcommand."""
    from compiler.cli import _command_word, build_parser

    command = _command_word(argv)
    assert command in cli.OWN_COMMANDS
    whole, one = build_parser(), build_parser(command)
    assert vars(one.parse_known_args(argv)[0]) == vars(whole.parse_known_args(argv)[0])
    sub_help = {p.prog: p.format_help() for p in _subparsers(whole)}
    assert [p.format_help() for p in _subparsers(one)] == [sub_help[f"sqlc {command}"]]


def test_every_own_command_is_in_the_whole_parser():
    from compiler.cli import OWN_COMMANDS, build_parser

    names = {p.prog.removeprefix("sqlc ") for p in _subparsers(build_parser())}
    assert set(OWN_COMMANDS) <= names and len(names) > len(OWN_COMMANDS)


def _subparsers(parser):
    import argparse

    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(dict.fromkeys(action.choices.values()))


def test_every_emitter_named_is_there():
    """The emitters are imported by name when first needed: each name must be
    its module's Emitter, for every operator class with one."""
    from compiler.codegen.emit import EMITTERS
    from compiler.codegen.emit.base import Emitter

    assert len(EMITTERS) >= 20
    for cls in EMITTERS:
        assert isinstance(EMITTERS[cls], Emitter), cls

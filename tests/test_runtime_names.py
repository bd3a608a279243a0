"""Every runtime_lib name the compiler writes into generated code exists in
runtime_lib: the names listed in one place in the compiler (the module imports
of ``compiler.codegen.runtime.RUNTIME_IMPORTS``, the ``runtime_lib.functions`` functions
of ``compiler.functions``), and every name the checked-in generated modules
import or call as ``sql.<name>``. A renamed runtime function fails here, not
when a pipeline starts."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from compiler.codegen.runtime import RUNTIME_IMPORTS, SCALAR_MODULE
from compiler.functions import OPERATORS, SCALARS

ROOT = Path(__file__).resolve().parent.parent
GENERATED = sorted((ROOT / "generated").glob("*.py"))


@pytest.mark.parametrize("module", sorted(RUNTIME_IMPORTS))
def test_runtime_imports_exist(module: str) -> None:
    runtime = importlib.import_module(module)
    assert [n for n in RUNTIME_IMPORTS[module] if not hasattr(runtime, n)] == []


def test_scalar_functions_exist() -> None:
    scalar = importlib.import_module(SCALAR_MODULE)
    names = {s.runtime for s in SCALARS.values()} | set(OPERATORS.values())
    assert sorted(n for n in names if not callable(getattr(scalar, n, None))) == []


def test_sql_calls_written_by_codegen_exist() -> None:
    """The ``sql.<name>(`` calls the emitters write, before any query uses them."""
    scalar = importlib.import_module(SCALAR_MODULE)
    root = Path(__file__).resolve().parent.parent
    names: set[str] = set()
    for path in sorted((root / "compiler" / "codegen").glob("**/*.py")):
        names |= set(re.findall(r"\bsql\.([A-Za-z_]\w*)\(", path.read_text(encoding="utf-8")))
    assert {"case_when", "filter_mask", "literal"} <= names
    assert sorted(n for n in names if not callable(getattr(scalar, n, None))) == []


def runtime_names_of(path: Path) -> set[tuple[str, str]]:
    """(runtime_lib module, name) for each import and ``sql.<name>`` of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    names: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("runtime_lib"):
            package = hasattr(importlib.import_module(node.module or ""), "__path__")
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if package and importlib.util.find_spec(submodule) is not None:
                    aliases[alias.asname or alias.name] = submodule
                else:
                    names.add((node.module or "", alias.name))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            names.add((aliases[node.value.id], node.attr))
    return names


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: p.stem)
def test_generated_module_names_exist(path: Path) -> None:
    names = runtime_names_of(path)
    assert names, "a generated module runs on runtime_lib"
    missing = [f"{m}.{n}" for m, n in sorted(names)
               if not hasattr(importlib.import_module(m), n)]
    assert missing == []


def test_generated_modules_import_only_the_table() -> None:
    package, _, scalar = SCALAR_MODULE.rpartition(".")
    for path in sorted((ROOT / "generated").glob("*.py")):
        # one line, or black's parenthesized list of names
        for module, wrapped, names in re.findall(
                r"^from (runtime_lib\S*) import (?:\(([^)]*)\)|(.+))$", path.read_text(), re.MULTILINE):
            if module == package:
                assert names == f"{scalar} as sql", path.name
                continue
            for name in (wrapped or names).replace(",", " ").split():
                assert name in RUNTIME_IMPORTS.get(module, ()), f"{path.name}: {module}.{name}"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module



@pytest.mark.parametrize("path", GENERATED, ids=lambda p: p.stem)
def test_generated_module_lists_its_entries_and_operators(path: Path) -> None:
    """The driver finds each source's method in ``entries`` and checkpoints will
    find every stateful operator in ``operators``: nothing is left to reflection."""
    from runtime_lib.pipeline import Context, Counters

    query = _load(path).Query
    if query.tables:
        pytest.skip("opening its lookup table needs the table's store")
    pipeline = query(Context([], None, None, Counters()))
    assert list(pipeline.entries) == [s.name for s in query.sources]
    assert all(callable(m) for m in pipeline.entries.values())
    bookkeeping = {"ctx", "entries", "operators", "watermarks"}
    state = {name: v for name, v in vars(pipeline).items() if name not in bookkeeping}
    assert pipeline.operators == state

"""Every runtime_lib name the compiler writes into generated code exists in
runtime_lib: the names listed in one place in the compiler (the module imports
of ``compiler.codegen.RUNTIME_IMPORTS``, the ``runtime_lib.scalar`` functions
of ``compiler.functions``), and every name the checked-in generated modules
import or call as ``sql.<name>``. A renamed runtime function fails here, not
when a pipeline starts."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

from compiler.codegen import RUNTIME_IMPORTS, SCALAR_MODULE
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

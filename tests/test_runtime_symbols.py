"""Every runtime symbol the compiler names exists in runtime_lib.

The compiler names runtime symbols in a few tables (codegen's
``RUNTIME_IMPORTS`` and ``SCALAR_MODULE``, the function catalog's
``SCALARS[fn].runtime`` and ``OPERATORS``) and in the ``sql.<name>(...)``
calls codegen writes. A runtime module moved or a function renamed without
them would only fail when a query that uses it runs; these tests fail at once.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from compiler import codegen
from compiler.functions import OPERATORS, SCALARS

ROOT = Path(__file__).resolve().parent.parent
SQL = importlib.import_module(codegen.SCALAR_MODULE)


@pytest.mark.parametrize("module", sorted(codegen.RUNTIME_IMPORTS))
def test_runtime_imports_exist(module):
    runtime = importlib.import_module(module)
    missing = [name for name in codegen.RUNTIME_IMPORTS[module] if not hasattr(runtime, name)]
    assert not missing, f"{module} has no {missing}"


def test_every_scalar_and_operator_has_its_runtime_function():
    named = {f"SCALARS[{fn!r}]": s.runtime for fn, s in SCALARS.items()}
    named |= {f"OPERATORS[{op!r}]": name for op, name in OPERATORS.items()}
    missing = {where: name for where, name in named.items() if not callable(getattr(SQL, name, None))}
    assert not missing, f"not in {codegen.SCALAR_MODULE}: {missing}"


def _codegen_sources() -> list[Path]:
    """compiler/codegen.py, or the modules of a compiler/codegen/ package."""
    return sorted(ROOT.glob("compiler/codegen*.py")) + sorted(ROOT.glob("compiler/codegen/**/*.py"))


def test_sql_calls_written_by_codegen_exist():
    names = set()
    for path in _codegen_sources():
        names |= set(re.findall(r"\bsql\.([A-Za-z_]\w*)\(", path.read_text(encoding="utf-8")))
    assert {"case_when", "filter_mask", "literal"} <= names
    assert not [n for n in sorted(names) if not callable(getattr(SQL, n, None))]


def test_generated_modules_call_only_existing_functions():
    """The checked-in modules: every ``sql.<name>`` and every name they import
    from runtime_lib exists."""
    for path in sorted((ROOT / "generated").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sql":
                assert hasattr(SQL, node.attr), f"{path.name}: sql.{node.attr}"
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("runtime_lib"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f"{node.module}.{alias.name}"), f"{path.name}: {node.module}.{alias.name}"

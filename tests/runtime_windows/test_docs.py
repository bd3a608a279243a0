"""The runnable examples in the module docstrings run; the event-time core
imports nothing from the compiler side."""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import pytest

MODULES = ["runtime_lib.watermarks", "runtime_lib.keys", "runtime_lib.operators.aggregates.kernels",
           "runtime_lib.operators.aggregates",
           "runtime_lib.operators.windows", "runtime_lib.operators.group_aggregate"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("name", MODULES)
def test_no_compiler_imports(name):
    path = Path(importlib.import_module(name).__file__)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for m in mods:
                assert m.split(".")[0] not in {"compiler", "sqlglot", "jinja2", "black"}, (name, m)

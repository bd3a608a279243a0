"""Every runnable example in a runtime_lib docstring runs, and no runtime_lib
module imports the compiler side (generated modules deploy with the runtime
only)."""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import runtime_lib

MODULES = ["runtime_lib"] + sorted(info.name for info in pkgutil.walk_packages(runtime_lib.__path__, "runtime_lib."))
WITH_EXAMPLES = [name for name in MODULES
                 if ">>>" in Path(importlib.util.find_spec(name).origin).read_text(encoding="utf-8")]


def test_the_core_has_examples():
    assert {"runtime_lib.watermarks", "runtime_lib.keys", "runtime_lib.operators.windows",
            "runtime_lib.operators.aggregates", "runtime_lib.state"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
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

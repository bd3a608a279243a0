"""Every runtime symbol codegen names exists in runtime_lib (the promise of
compiler/codegen/runtime.py), and the checked-in modules import nothing else
from runtime_lib."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from compiler.codegen.runtime import RUNTIME_IMPORTS, SCALAR_MODULE

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [(module, name) for module, names in RUNTIME_IMPORTS.items() for name in names]


@pytest.mark.parametrize("module, name", PAIRS, ids=[f"{m}.{n}" for m, n in PAIRS])
def test_runtime_symbol_exists(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name)


def test_scalar_module_exists() -> None:
    importlib.import_module(SCALAR_MODULE)


def test_generated_modules_import_only_the_table() -> None:
    package, _, scalar = SCALAR_MODULE.rpartition(".")
    for path in sorted((ROOT / "generated").glob("*.py")):
        for module, names in re.findall(r"^from (runtime_lib\S*) import (.+)$",
                                        path.read_text(), re.MULTILINE):
            if module == package:
                assert names == f"{scalar} as sql", path.name
                continue
            for name in names.split(", "):
                assert (module, name) in PAIRS, f"{path.name}: {module}.{name}"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATED = sorted((ROOT / "generated").glob("*.py"))


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

"""The checked-in generated modules, run on the bundled sample events, give
their golden outputs (tests/golden/output/<module>.jsonl, --update-golden to
rewrite). The sample data has out-of-order events, late events and NULLs; the
window semantics behind these files are checked against DuckDB in
test_window_differential.py, so these goldens guard the examples end to end.
SQL's clock is pinned to the end of the sample data (``--now SAMPLE_NOW``),
so CURRENT_TIMESTAMP filters (Query 20) give the same rows on every day."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.cli import run_module
from compiler.demo import SAMPLE_NOW

ROOT = Path(__file__).resolve().parent.parent
GENERATED = sorted((ROOT / "generated").glob("*.py"))
DATA = ROOT / "examples" / "data"
GOLDEN = ROOT / "tests" / "golden" / "output"


def sources_of(module: Path) -> list[str]:
    """The streams a module reads and the lookup tables it joins."""
    text = module.read_text()
    names = re.findall(r"    def on_(\w+)\(self, batch: Batch\)", text)
    tables = re.search(r"^    tables = \(([^)]*)\)", text, re.M)
    if tables:
        names += re.findall(r'"(\w+)"', tables.group(1))
    return names


@pytest.mark.parametrize("module", GENERATED, ids=lambda p: p.stem)
def test_generated_module_output_is_golden(module: Path, tmp_path: Path,
                                           check_golden: Callable[[Path, str], None]) -> None:
    # every module gets the pinned clock, as in `sqlc demo`: a module that starts
    # reading CURRENT_TIMESTAMP cannot make its golden depend on the day it runs
    argv = ["--output", str(tmp_path / "out.jsonl"), "--quiet", "--now", SAMPLE_NOW]
    names = [n for n in sources_of(module) if (DATA / f"{n}.jsonl").exists()]
    assert names, "every example reads at least one bundled source"
    for name in names:
        argv += ["--input", f"{name}={DATA / (name + '.jsonl')}"]
    assert run_module(module, argv) == 0
    text = (tmp_path / "out.jsonl").read_text(encoding="utf-8")
    assert text, "the sample data produces rows for every example"
    check_golden(GOLDEN / f"{module.stem}.jsonl", text)

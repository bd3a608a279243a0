"""The run keeps what it built to start out of the cyclic collector's sight
(``gc.freeze``) while the driver loops, and gives it back when the run ends,
so that a full collection in the middle of a micro-batch walks only what the
run made (benchmarks/kafka/RESULTS.md: a 40-90 ms pause otherwise)."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path

from runtime_lib import driver, pipeline

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "generated" / "fr_dql_001_basic_select.py"
EVENTS = ROOT / "examples" / "data" / "llm_requests.jsonl"


def test_frozen_while_driving_and_unfrozen_after(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("gc_freeze_basic_select", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen: list[int] = []
    real_drive = driver.drive

    def drive(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return real_drive(*args, **kwargs)

    monkeypatch.setattr(driver, "drive", drive)
    gc.unfreeze()
    out = tmp_path / "out.jsonl"
    code = pipeline.run(module.Query, ["--input", f"llm_requests={EVENTS}", "--output",
                                       str(out), "--quiet"])
    assert code == 0
    assert out.read_text().count("\n") > 0
    assert len(seen) == 1 and seen[0] > 1000  # the modules, numpy, the query's objects
    assert gc.get_freeze_count() == 0

"""The decode benchmark still runs (tiny size) and its candidates agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_decode_runs():
    script = str(ROOT / "benchmarks/decode/bench_decode.py")
    result = subprocess.run(
        [sys.executable, script, "--events", "3000", "--repeat", "1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "msgspec Struct, one decode per line (chosen)" in out
    assert "whole path: decode+filter+project+encode" in out
    assert out.count("M/s") >= 8

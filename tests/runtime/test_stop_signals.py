"""SIGTERM at any moment of a generated pipeline's start is a clean stop: the
same exit code (0) and the same kind of summary line as a SIGTERM while it
runs, nothing written half. It used to kill the process (-15) while Python
imported numpy and numba, and to end it with exit 130 "interrupted while
starting" after that.

No Python code can catch a signal before the interpreter runs the module's
first import (0.05-0.2 s on this machine, most of it the interpreter's own
start): the tests send each signal at the given moment after the start, but not
before the pipeline's handler is installed (SigCgt in /proc/PID/status)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "examples" / "data" / "llm_requests.jsonl"
SUMMARY = re.compile(r"^sqlc: \d+ records read, \d+ rows out, .* s \(.*\)")


def caught_signals(pid: int) -> int:
    """The mask of signals the process has a handler for (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.MULTILINE).group(1), 16)


def start(module: str, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "generated" / f"{module}.py"),
         "--input", f"llm_requests={EVENTS}", "--output", str(tmp_path / "out.jsonl")],
        stderr=subprocess.PIPE, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def stop_at(proc: subprocess.Popen, started: float, delay: float) -> str:
    """SIGTERM ``delay`` seconds after ``started``, once a handler for it exists
    (or the process ended); returns stderr."""
    while proc.poll() is None and not caught_signals(proc.pid) & (1 << (signal.SIGTERM - 1)):
        time.sleep(0.002)
    time.sleep(max(0.0, started + delay - time.monotonic()))
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    return err.decode()


def check_clean(code: int, stderr: str, out: Path) -> str:
    """Exit 0, no traceback, the summary last, only whole rows written; returns
    the summary line."""
    lines = stderr.strip().splitlines()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "interrupted" not in stderr, stderr
    assert lines and SUMMARY.match(lines[-1]), stderr
    if out.exists():
        text = out.read_text()
        assert text == "" or text.endswith("\n"), text[-200:]
        for line in text.splitlines():
            json.loads(line)
    return lines[-1]


# s02: stateless, starts in ~0.5 s (numpy); q01: TUMBLE, ~1.5 s (numba, kernels)
@pytest.mark.parametrize("module", ["s02_failed_requests", "q01_request_rate"])
def test_sigterm_as_soon_as_the_pipeline_can_catch_it(module: str, tmp_path: Path) -> None:
    """The earliest moment: Python is still importing the pipeline's modules."""
    proc = start(module, tmp_path)
    stderr = stop_at(proc, time.monotonic(), 0.0)
    summary = check_clean(proc.returncode, stderr, tmp_path / "out.jsonl")
    assert summary.startswith("sqlc: 0 records read, 0 rows out, 0 dead letters"), stderr
    assert summary.endswith("stopped by a signal while starting"), stderr
    assert not (tmp_path / "out.jsonl").exists() or (tmp_path / "out.jsonl").read_text() == ""


@pytest.mark.parametrize("delay", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("module", ["s02_failed_requests", "q01_request_rate"])
def test_sigterm_during_start_is_a_clean_stop(module: str, delay: float, tmp_path: Path) -> None:
    """At any moment: while importing, building the operators, compiling
    kernels, or once running (or after the end, for the quick s02): exit 0 and
    the summary, which says 'stopped by a signal' when it stopped the run."""
    started = time.monotonic()
    proc = start(module, tmp_path)
    stderr = stop_at(proc, started, delay)
    summary = check_clean(proc.returncode, stderr, tmp_path / "out.jsonl")
    if summary.endswith("while starting"):
        assert summary.startswith("sqlc: 0 records read, 0 rows out")


def test_sigterm_while_running_says_the_same(tmp_path: Path) -> None:
    """The reference: a stop while running. The summary has the same form."""
    big = tmp_path / "big.jsonl"
    big.write_bytes(EVENTS.read_bytes() * 40)  # ~200,000 events: several seconds of work
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "generated" / "q01_request_rate.py"), "--input",
         f"llm_requests={big}", "--output", str(tmp_path / "out.jsonl"), "--batch-size", "2000"],
        stderr=subprocess.PIPE, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 60
    while not (tmp_path / "out.jsonl").exists() or not (tmp_path / "out.jsonl").stat().st_size:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    summary = check_clean(proc.returncode, err.decode(), tmp_path / "out.jsonl")
    assert summary.endswith("stopped by a signal"), err.decode()

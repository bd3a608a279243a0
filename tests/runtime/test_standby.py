"""``--standby FILE`` (runtime_lib/standby.py), the new version's half of an
overlapped upgrade: it warms up and waits without touching the outputs or the
checkpoints, says so on stderr and as ``sqlc_standby 1``, takes over once
FILE exists (from the newest checkpoint, the old version's final one), and a
SIGTERM while it stands by is a clean stop that read nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "examples" / "data" / "llm_requests.jsonl"
MODULE = ROOT / "generated" / "q02_latency_percentiles.py"  # windows with state


def start(tmp_path: Path, *flags: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(MODULE), "--input", f"llm_requests={EVENTS}", "--output",
         str(tmp_path / "out.jsonl"), "--checkpoint-dir", str(tmp_path / "chk"), *flags],
        stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def standby_gauge(port: int) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
            text = reply.read().decode()
    except OSError:
        return None
    found = [line for line in text.splitlines() if line.startswith("sqlc_standby ")]
    return float(found[0].split()[1]) if found else None


def test_it_waits_then_takes_over_from_the_newest_checkpoint(tmp_path: Path):
    from tests.services._proc import free_port

    first = subprocess.run(  # the old version's whole run: its end checkpoint
        [sys.executable, str(MODULE), "--input", f"llm_requests={EVENTS}", "--output",
         str(tmp_path / "out.jsonl"), "--checkpoint-dir", str(tmp_path / "chk")],
        capture_output=True, text=True, timeout=300, check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "records read" in first.stderr
    rows = (tmp_path / "out.jsonl").read_text()
    assert rows
    port = free_port()
    go = tmp_path / "takeover"
    new = start(tmp_path, "--standby", str(go), "--metrics-port", str(port),
                "--metrics-host", "127.0.0.1")
    try:
        wait_for(lambda: standby_gauge(port) == 1, what="standing by")
        assert (tmp_path / "out.jsonl").read_text() == rows  # outputs not opened yet
        go.touch()
        _, err = new.communicate(timeout=300)
    finally:
        if new.poll() is None:
            new.kill()
    assert new.returncode == 0, err
    assert "sqlc: standing by" in err and "taking over" in err
    assert "resumed from checkpoint" in err
    assert "0 records read" in err  # everything was read before the checkpoint
    assert (tmp_path / "out.jsonl").read_text() == rows  # nothing twice
    assert [json.loads(x) for x in rows.splitlines()]


def test_a_signal_while_standing_by_is_a_clean_stop(tmp_path: Path):
    new = start(tmp_path, "--standby", str(tmp_path / "never"))
    lines = []
    for line in new.stderr:
        lines.append(line)
        if "standing by" in line:
            break
    new.send_signal(signal.SIGTERM)
    _, err = new.communicate(timeout=120)
    assert new.returncode == 0, "".join(lines) + err
    assert "stopped by a signal" in err
    assert not (tmp_path / "out.jsonl").exists()  # nothing was opened
    assert not (tmp_path / "chk").exists() or not any((tmp_path / "chk").iterdir())

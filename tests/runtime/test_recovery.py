"""Checkpoints and recovery of generated pipelines on files (runtime_lib/recovery.py);
the kill tests against Kafka are in tests/test_exactly_once.py."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "examples" / "data" / "llm_requests.jsonl"


def module(name: str) -> str:
    return str(ROOT / "generated" / f"{name}.py")


def run(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, module(name), "--input", f"llm_requests={EVENTS}",
                           *args], capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def records_read(stderr: str) -> int:
    line = [x for x in stderr.splitlines() if "records read" in x][-1]
    return int(line.split("sqlc: ")[1].split(" records read")[0])


@pytest.mark.parametrize("name", ["q02_latency_percentiles", "q08_moving_average",
                                  "fr_adv_003_top_n"])
def test_sigterm_savepoint_then_resume_equals_one_run(tmp_path, name):
    """Stopped mid-run and started again: the output file equals an
    uninterrupted run's, and the second run reads only what the first did not
    (windows with percentile buffers; OVER frames, ROWS and RANGE; a window
    Top-N's held rows)."""
    reference = tmp_path / "reference.jsonl"
    run(name, "--output", str(reference), "--quiet")
    out, checkpoints = tmp_path / "out.jsonl", tmp_path / "checkpoints"
    args = [sys.executable, module(name), "--input",
            f"llm_requests={EVENTS}", "--output", str(out), "--checkpoint-dir",
            str(checkpoints), "--batch-size", "20", "--checkpoint-interval", "1 min"]
    first = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not out.exists() or out.stat().st_size == 0:  # it runs, and has written rows
        assert first.poll() is None, first.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first.send_signal(signal.SIGTERM)
    _, err1 = first.communicate(timeout=60)
    assert first.returncode == 0, err1
    assert "stopped by a signal" in err1
    second = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "resumed from checkpoint" in second.stderr
    total = sum(1 for line in EVENTS.open("rb") if line.strip())
    assert 0 < records_read(err1) < total
    assert records_read(err1) + records_read(second.stderr) == total  # nothing read twice
    assert out.read_bytes() == reference.read_bytes()


def test_a_finished_run_resumed_writes_nothing_more(tmp_path):
    out, checkpoints = tmp_path / "out.jsonl", tmp_path / "c"
    args = ("--output", str(out), "--checkpoint-dir", str(checkpoints))
    run("q06b_session_per_user", *args)
    before = out.read_bytes()
    again = run("q06b_session_per_user", *args)
    assert records_read(again.stderr) == 0
    assert out.read_bytes() == before


def test_output_written_after_the_checkpoint_is_cut_back(tmp_path):
    """What a crashed run wrote after its last checkpoint is written again,
    once: the file is cut back to the checkpointed length on restore."""
    out, checkpoints = tmp_path / "out.jsonl", tmp_path / "c"
    args = ("--output", str(out), "--checkpoint-dir", str(checkpoints))
    run("s02_failed_requests", *args)
    expected = out.read_bytes()
    with out.open("ab") as handle:  # as if a killed run had written more
        handle.write(b'{"request_id":"written after the checkpoint"}\n')
    run("s02_failed_requests", *args)
    assert out.read_bytes() == expected


def test_a_checkpoint_of_another_query_is_refused(tmp_path):
    checkpoints = tmp_path / "c"
    run("q02_latency_percentiles", "--output", str(tmp_path / "a.jsonl"), "--checkpoint-dir",
        str(checkpoints))
    other = run("q06b_session_per_user", "--output", str(tmp_path / "b.jsonl"),
                "--checkpoint-dir", str(checkpoints), check=False)
    assert other.returncode == 2
    assert "does not fit this query" in other.stderr
    assert "was written by the query" in other.stderr
    assert "Traceback" not in other.stderr


def test_a_damaged_checkpoint_falls_back_to_the_one_before(tmp_path):
    out, checkpoints = tmp_path / "out.jsonl", tmp_path / "c"
    args = ("--output", str(out), "--checkpoint-dir", str(checkpoints), "--batch-size", "500",
            "--checkpoint-interval", "1ms")
    run("q02_latency_percentiles", *args)
    expected = out.read_bytes()
    newest = sorted(checkpoints.iterdir())[-1]
    (newest / "state.json").write_text("{}")
    again = run("q02_latency_percentiles", *args)
    assert "checkpoint skipped" in again.stderr and "corrupt" in again.stderr
    assert out.read_bytes() == expected


def test_checkpoint_flags_are_checked(tmp_path):
    bad = run("s02_failed_requests", "--checkpoint-dir", str(tmp_path), "--checkpoint-interval",
              "soon", check=False)
    assert bad.returncode == 2 and "is not a duration" in bad.stderr
    alone = run("s02_failed_requests", "--checkpoint-interval", "10s", check=False)
    assert alone.returncode == 2 and "needs --checkpoint-dir" in alone.stderr
    file = tmp_path / "f"
    file.write_text("")
    not_dir = run("s02_failed_requests", "--checkpoint-dir", str(file), check=False)
    assert not_dir.returncode == 2 and "not a directory" in not_dir.stderr


def test_manifest_names_the_query_and_positions(tmp_path):
    checkpoints = tmp_path / "c"
    run("q02_latency_percentiles", "--output", str(tmp_path / "o.jsonl"), "--checkpoint-dir",
        str(checkpoints))
    manifest = json.loads((sorted(checkpoints.iterdir())[-1] / "MANIFEST.json").read_text())
    assert manifest["query"]["sql"].startswith("sha256:")
    assert manifest["query"]["operators"] == {"window_aggregate": "PaneWindowAggregate"}
    total = sum(1 for _ in EVENTS.open("rb"))
    assert manifest["positions"] == {"llm_requests": {"line": total}}


def test_emit_changes_windows_checkpoint_mid_run(tmp_path):
    """An EMIT CHANGES window holds the changes of its last micro-batch until the
    next advance; a checkpoint emits them first (it used to refuse to snapshot)."""
    out, checkpoints = tmp_path / "out.jsonl", tmp_path / "c"
    done = run("q01_request_rate", "--output", str(out), "--checkpoint-dir", str(checkpoints),
               "--batch-size", "50", "--checkpoint-interval", "1ms")
    assert "Traceback" not in done.stderr
    reference = tmp_path / "reference.jsonl"
    run("q01_request_rate", "--output", str(reference), "--batch-size", "50", "--quiet")

    def table(path):
        rows = {}
        for line in path.read_text().splitlines():
            row = json.loads(line)
            op = row.pop("_op")
            key = (row["model_id"], row["window_start"])
            if op in ("+I", "+U"):
                rows[key] = row
            else:
                rows.pop(key, None)
        return rows

    assert table(out) == table(reference)

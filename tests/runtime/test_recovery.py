"""Checkpoints and recovery of generated pipelines on files (runtime_lib/recovery.py);
the kill tests against Kafka are in tests/test_exactly_once.py."""

from __future__ import annotations

import json
import re
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
                                  "fr_adv_003_top_n", "q19_sliding_trend"])
def test_sigterm_savepoint_then_resume_equals_one_run(tmp_path, name):
    """Stopped mid-run and started again: the output file equals an
    uninterrupted run's, and the second run reads only what the first did not
    (windows with percentile buffers; OVER frames, ROWS and RANGE; a window
    Top-N's held rows; an OVER over a window aggregate's rows)."""
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
    # the state layouts decide: another window (and keys, aggregates) cannot be restored
    assert "operator window_aggregate" in other.stderr and "window changed" in other.stderr
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


# -- edits of the query across a checkpoint: the state layouts decide ---------------

COUNTS = """SELECT model_id, window_start, COUNT(*) AS requests, SUM(tokens_used) AS tokens
FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY model_id, window_start;
"""
# a changed projection after the aggregate: the same state
COUNTS_PROJECTED = COUNTS.replace("SUM(tokens_used) AS tokens",
                                  "SUM(tokens_used) AS tokens, COUNT(*) * 2 AS doubled")
# another window size: state of other windows
COUNTS_5_MIN = COUNTS.replace("INTERVAL '1' MINUTE", "INTERVAL '5' MINUTE")


def compiled(tmp_path: Path, name: str, sql: str) -> str:
    from compiler.cli import main

    (tmp_path / f"{name}.sql").write_text(sql, encoding="utf-8")
    out = tmp_path / f"{name}.py"
    assert main(["compile", str(tmp_path / f"{name}.sql"), "--catalog",
                 str(ROOT / "examples" / "catalog.sql"), "-o", str(out)]) == 0
    return str(out)


def mid_run_checkpoint(tmp_path: Path, module_path: str, out: Path) -> Path:
    """A checkpoint taken in the middle of the sample events (the final one,
    taken at the end of input, is removed), and the output cut back to it."""
    checkpoints = tmp_path / "c"
    done = subprocess.run([sys.executable, module_path, "--input", f"llm_requests={EVENTS}",
                           "--output", str(out), "--checkpoint-dir", str(checkpoints),
                           "--batch-size", "200", "--checkpoint-interval", "1ms",
                           # every checkpoint kept: the last few may all be at the end
                           "--checkpoints-retained", "1000", "--quiet"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    newest = max(checkpoints.iterdir())
    subprocess.run(["rm", "-r", str(newest)], check=True)
    return checkpoints


def resume(module_path: str, out: Path, checkpoints: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, module_path, "--input", f"llm_requests={EVENTS}",
                           "--output", str(out), "--checkpoint-dir", str(checkpoints),
                           "--batch-size", "200"], capture_output=True, text=True, timeout=300,
                          check=False)


def test_a_changed_projection_restores_from_the_old_checkpoint(tmp_path):
    old = compiled(tmp_path, "counts", COUNTS)
    new = compiled(tmp_path, "counts_projected", COUNTS_PROJECTED)
    reference = tmp_path / "reference.jsonl"  # the new query, from the start
    run_ref = subprocess.run([sys.executable, new, "--input", f"llm_requests={EVENTS}",
                              "--output", str(reference), "--quiet"], capture_output=True,
                             text=True, timeout=300, check=False)
    assert run_ref.returncode == 0, run_ref.stderr
    out = tmp_path / "out.jsonl"
    checkpoints = mid_run_checkpoint(tmp_path, old, out)
    done = resume(new, out, checkpoints)
    assert done.returncode == 0, done.stderr
    assert "resumed from checkpoint" in done.stderr
    rows = out.read_text().splitlines()
    expected = reference.read_text().splitlines()
    # the old query's rows up to the checkpoint, then the new query's: its windows
    # that were open at the checkpoint count the events from before it too
    old_part = [r for r in rows if '"doubled"' not in r]
    assert 0 < len(old_part) < len(rows) == len(expected)
    assert rows[len(old_part):] == expected[len(old_part):]


def test_another_window_size_refuses_the_old_checkpoint(tmp_path):
    old = compiled(tmp_path, "counts", COUNTS)
    new = compiled(tmp_path, "counts_5_min", COUNTS_5_MIN)
    out = tmp_path / "out.jsonl"
    checkpoints = mid_run_checkpoint(tmp_path, old, out)
    done = resume(new, out, checkpoints)
    assert done.returncode == 2
    assert "does not fit this query" in done.stderr
    assert "window changed: TUMBLE(time_col=[event_time], size=[1 min]) -> " \
           "TUMBLE(time_col=[event_time], size=[5 min])" in done.stderr
    assert "Traceback" not in done.stderr


# another window kind: HOP windows of 5 minutes every minute
COUNTS_HOP = COUNTS.replace("TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), "
                            "INTERVAL '1' MINUTE)",
                            "HOP(TABLE llm_requests, DESCRIPTOR(event_time), "
                            "INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)")


@pytest.mark.parametrize("edit", ["counts_5_min", "counts_hop"])
def test_rebuild_state_replays_the_files_for_an_incompatible_operator(tmp_path, edit):
    """1-minute windows edited to 5-minute ones (or to 5-minute HOP windows),
    restored with --rebuild-state: the new window aggregate is rebuilt by
    replaying the file up to the checkpoint, its rows from the earliest window
    not fired at the checkpoint on, so every window written after the restore
    holds what a run of the new query from the start holds (also the window
    open at the checkpoint), and none that closed before it is written."""
    old = compiled(tmp_path, "counts", COUNTS)
    new = compiled(tmp_path, edit, {"counts_5_min": COUNTS_5_MIN, "counts_hop": COUNTS_HOP}[edit])
    reference = window_rows(full_run(new, EVENTS, tmp_path / "reference.jsonl"))
    out = tmp_path / "out.jsonl"
    checkpoints, _, length = checkpoint_before_the_end(tmp_path, old, out)
    done = subprocess.run([sys.executable, new, "--input", f"llm_requests={EVENTS}",
                           "--output", str(out), "--checkpoint-dir", str(checkpoints),
                           "--batch-size", "200", "--rebuild-state"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "rebuilt operator(s) window_aggregate by replaying" in done.stderr
    # the replay skipped the rows that only reach windows fired before the checkpoint
    skipped = re.search(r"from event time (\S+), the earliest window not fired at the "
                        r"checkpoint \(([\d,]+) earlier records skipped\)", done.stderr)
    assert skipped and int(skipped.group(2).replace(",", "")) > 0, done.stderr
    after = out.read_bytes()[length:]
    (tmp_path / "after.jsonl").write_bytes(after)
    rebuilt = window_rows(tmp_path / "after.jsonl")
    assert rebuilt and all(reference[key] == row for key, row in rebuilt.items())
    first = min(start for _, start in rebuilt)
    assert set(rebuilt) == {key for key in reference if key[1] >= first}
    # the replay started at the first window written after the restore
    assert skipped.group(1).replace("T", " ").rstrip("Z") == first
    # without --rebuild-state the same edit is refused (test above); acknowledged,
    # the window open at the checkpoint would miss what was read before it
    assert len(rebuilt) < len(reference)


TOTALS = """SELECT model_id, COUNT(*) AS requests FROM llm_requests GROUP BY model_id;
"""
# another group key: an incompatible non-windowed GROUP BY, whose state has no
# bound in event time
TOTALS_BY_REGION = TOTALS.replace("SELECT model_id,", "SELECT model_id, region,").replace(
    "GROUP BY model_id", "GROUP BY model_id, region")


def test_rebuild_state_of_a_group_by_replays_everything(tmp_path):
    """A non-windowed GROUP BY edited to another key: its replay reads every
    row (nothing in its state is bounded by event time), and the final result
    after the restore equals a run of the new query from the start."""
    old = compiled(tmp_path, "totals", TOTALS)
    new = compiled(tmp_path, "totals_by_region", TOTALS_BY_REGION)
    reference = changelog_table(full_run(new, EVENTS, tmp_path / "reference.jsonl"))
    out = tmp_path / "out.jsonl"
    checkpoints, _, length = checkpoint_before_the_end(tmp_path, old, out)
    done = subprocess.run([sys.executable, new, "--input", f"llm_requests={EVENTS}",
                           "--output", str(out), "--checkpoint-dir", str(checkpoints),
                           "--batch-size", "200", "--rebuild-state"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "from the start of the sources" in done.stderr
    (tmp_path / "after.jsonl").write_bytes(out.read_bytes()[length:])
    after = changelog_table(tmp_path / "after.jsonl")
    assert after and all(reference[key] == row for key, row in after.items())


def changelog_table(path: Path) -> dict:
    """The final rows of a changelog file, by (model_id, region)."""
    rows: dict = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        op = row.pop("_op", "+I")
        key = (row["model_id"], row.get("region"))
        if op in ("+I", "+U"):
            rows[key] = row
        else:
            rows.pop(key, None)
    return rows


# an INSERT INTO a print sink added in front: the --output file becomes "output 1"
AUDITED = ("CREATE TABLE audit (model_id VARCHAR) WITH ('connector' = 'print');\n"
           "INSERT INTO audit SELECT model_id FROM llm_requests WHERE model_id = 'none';\n"
           + COUNTS)


def test_an_output_added_in_front_keeps_the_output_file(tmp_path):
    """The checkpoint recorded the --output file as "output 0"; the edited
    query writes it as its second output: it is cut back to the recorded
    length (found by its path), not emptied, and ends as one run's."""
    old = compiled(tmp_path, "counts", COUNTS)
    new = compiled(tmp_path, "counts_audited", AUDITED)
    reference = full_run(old, EVENTS, tmp_path / "reference.jsonl")
    out = tmp_path / "out.jsonl"
    checkpoints, _, length = checkpoint_before_the_end(tmp_path, old, out)
    assert 0 < length < out.stat().st_size
    done = resume(new, out, checkpoints)
    assert done.returncode == 0, done.stderr
    assert "resumed from checkpoint" in done.stderr
    assert out.read_bytes() == reference.read_bytes()


def test_check_state_reports_on_a_checkpoint(tmp_path, capsys):
    from compiler.cli import main

    old = compiled(tmp_path, "counts", COUNTS)
    compiled(tmp_path, "counts_5_min", COUNTS_5_MIN)
    compiled(tmp_path, "counts_projected", COUNTS_PROJECTED)
    checkpoints = mid_run_checkpoint(tmp_path, old, tmp_path / "out.jsonl")
    catalog = ["--catalog", str(ROOT / "examples" / "catalog.sql")]
    capsys.readouterr()
    assert main(["check-state", str(tmp_path / "counts_projected.sql"), str(checkpoints),
                 *catalog]) == 0
    assert "window_aggregate (line 1): identical" in capsys.readouterr().out
    assert main(["check-state", str(tmp_path / "counts_5_min.sql"), str(checkpoints),
                 *catalog]) == 1
    report = capsys.readouterr().out
    assert ": incompatible" in report and "window changed" in report
    assert main(["check-state", str(tmp_path / "counts.sql"), str(tmp_path / "none")]) == 2
    (tmp_path / "counts_added.sql").write_text(
        COUNTS.replace("AS tokens", "AS tokens, MAX(latency_ms) AS slowest"))
    assert main(["check-state", str(tmp_path / "counts_added.sql"), str(checkpoints),
                 *catalog]) == 0
    report = capsys.readouterr().out
    assert "added MAX(latency_ms) AS slowest: starts empty" in report
    assert "slots: there the added aggregates start empty" in report
    (tmp_path / "counts_5_min.sql").write_text(ACKNOWLEDGED + COUNTS_5_MIN)
    assert main(["check-state", str(tmp_path / "counts_5_min.sql"), str(checkpoints),
                 *catalog]) == 0  # as the restore will: the operator starts empty
    assert "window_aggregate: acknowledged by the line '-- sqlc-state: allow-incompatible " \
           "window_aggregate -- 1 to 5 min': it starts empty at the restore" \
           in capsys.readouterr().out


def test_a_stateless_query_refuses_a_checkpoint_of_other_sources(tmp_path):
    """No operator state to compare: the sources it read tell another query."""
    checkpoints = tmp_path / "c"
    run("s02_failed_requests", "--output", str(tmp_path / "a.jsonl"), "--checkpoint-dir",
        str(checkpoints))
    joined = subprocess.run(
        [sys.executable, module("fr_join_003_interval"), "--input", f"llm_requests={EVENTS}",
         "--input", f"error_events={ROOT / 'examples' / 'data' / 'error_events.jsonl'}",
         "--output", str(tmp_path / "b.jsonl"), "--checkpoint-dir", str(checkpoints)],
        capture_output=True, text=True, timeout=300, check=False)
    assert joined.returncode == 2
    assert "it read the sources llm_requests, this query reads error_events, llm_requests" \
        in joined.stderr


# hourly windows (the checkpoint falls inside some), and an aggregate added: SUM(1)
# counts the rows as COUNT(*) does, but in an accumulator the old checkpoint has not got
HOURLY = COUNTS.replace("INTERVAL '1' MINUTE", "INTERVAL '1' HOUR")
HOURLY_ADDED = HOURLY.replace("SUM(tokens_used) AS tokens",
                              "SUM(tokens_used) AS tokens, SUM(1) AS since_restore")


def window_rows(path: Path, field: str = "requests") -> dict:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {(r["model_id"], r["window_start"]): r for r in rows if field in r}


def full_run(module_path: str, events: Path, out: Path) -> Path:
    """A run of the module over ``events`` from the start, without checkpoints."""
    subprocess.run([sys.executable, module_path, "--input", f"llm_requests={events}",
                    "--output", str(out), "--quiet"], check=True, capture_output=True,
                   timeout=300)
    return out


def checkpoint_before_the_end(tmp_path: Path, module_path: str, out: Path):
    """``mid_run_checkpoint``, down to the newest checkpoint taken before the end
    of the input: (the directory, the lines it had read, the bytes of output)."""
    checkpoints = mid_run_checkpoint(tmp_path, module_path, out)
    total = len(EVENTS.read_text().splitlines())
    while True:
        chosen = max(checkpoints.iterdir())
        manifest = json.loads((chosen / "MANIFEST.json").read_text())
        read = manifest["positions"]["llm_requests"]["line"]
        if read < total:
            state = json.loads((chosen / "state.json").read_text())
            return checkpoints, read, state["sinks"]["output 0"]["length"]
        subprocess.run(["rm", "-r", str(chosen)], check=True)


def test_an_added_aggregate_starts_empty_for_the_windows_open_at_the_checkpoint(tmp_path):
    """Killed mid-run, the query edited (an aggregate added), restored: the old
    aggregates go on from their state (the new query's rows equal a run of it
    from the start), and the new one counts, in the windows open at the
    checkpoint, only the rows read after it."""
    old = compiled(tmp_path, "hourly", HOURLY)
    new = compiled(tmp_path, "hourly_added", HOURLY_ADDED)
    out = tmp_path / "out.jsonl"
    checkpoints, read, _ = checkpoint_before_the_end(tmp_path, old, out)
    done = resume(new, out, checkpoints)
    assert done.returncode == 0, done.stderr
    assert "added SUM(1) AS since_restore: starts empty for the windows open" in done.stderr
    # rows counted before the checkpoint, per window: the old query over the events read
    # by then (the same rows are late: the watermark is restored with the state)
    prefix = tmp_path / "prefix.jsonl"
    prefix.write_text("".join(EVENTS.read_text().splitlines(keepends=True)[:read]))
    before = full_run(old, prefix, tmp_path / "before.jsonl")
    counted_before = {k: r["requests"] for k, r in window_rows(before).items()}
    reference = full_run(new, EVENTS, tmp_path / "reference.jsonl")
    expected = window_rows(reference, "since_restore")
    restored = window_rows(out, "since_restore")
    assert restored and set(restored) <= set(expected)
    open_at_checkpoint = 0
    for key, row in restored.items():
        assert (row["requests"], row["tokens"]) == (expected[key]["requests"],
                                                    expected[key]["tokens"])
        # (NULL, as SUM of no rows, where no row came after the checkpoint)
        assert (row["since_restore"] or 0) == row["requests"] - counted_before.get(key, 0)
        open_at_checkpoint += 0 < counted_before.get(key, 0) < row["requests"]
    assert open_at_checkpoint > 0  # the test saw windows that straddle the checkpoint


OLD_CHECKPOINTS = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints_cabee3b"


def old_checkpoint(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A checkpoint of ``name`` written by sqlc at cabee3b (accumulators by
    position), and the output file as it was then."""
    import shutil

    checkpoints, out = tmp_path / "c", tmp_path / "out.jsonl"
    shutil.copytree(OLD_CHECKPOINTS / name / "chk-000001", checkpoints / "chk-000001")
    written = OLD_CHECKPOINTS / name / "out.jsonl"
    out.write_bytes(written.read_bytes() if written.exists() else b"")
    return checkpoints, out


@pytest.mark.parametrize("name", ["hourly", "per_model"])
def test_a_checkpoint_of_an_older_sqlc_still_restores(tmp_path, name):
    """Checkpoints written before accumulators had names (parts by position):
    the same query, compiled now, resumes from them as if it had run throughout."""
    sql = (OLD_CHECKPOINTS / name / "query.sql").read_text()
    module_path = compiled(tmp_path, name, sql)
    checkpoints, out = old_checkpoint(tmp_path, name)
    done = resume(module_path, out, checkpoints)
    assert done.returncode == 0, done.stderr
    assert "resumed from checkpoint 1" in done.stderr
    reference = tmp_path / "reference.jsonl"
    subprocess.run([sys.executable, module_path, "--input", f"llm_requests={EVENTS}",
                    "--output", str(reference), "--batch-size", "200", "--quiet"],
                   check=True, capture_output=True, timeout=300)
    assert out.read_text() == reference.read_text()


def test_an_older_checkpoint_refuses_another_list_of_aggregates(tmp_path):
    """Its accumulators are by position: only the same aggregates can take them."""
    sql = (OLD_CHECKPOINTS / "per_model" / "query.sql").read_text()
    module_path = compiled(tmp_path, "per_model", sql.replace("COUNT(*) AS requests, ", ""))
    checkpoints, out = old_checkpoint(tmp_path, "per_model")
    done = resume(module_path, out, checkpoints)
    assert done.returncode == 2
    assert "stores accumulators by position" in done.stderr and "Traceback" not in done.stderr


ACKNOWLEDGED = "-- sqlc-state: allow-incompatible window_aggregate -- 1 to 5 min\n"


def test_an_acknowledged_incompatible_operator_starts_empty(tmp_path):
    """A '-- sqlc-state: allow-incompatible NAME' line: the checkpoint restores
    (positions, watermarks, the other operators) and NAME starts empty, so the
    5-minute windows open at the checkpoint miss the rows read before it."""
    old = compiled(tmp_path, "counts", COUNTS)
    new = compiled(tmp_path, "counts_5_min", ACKNOWLEDGED + COUNTS_5_MIN)
    out = tmp_path / "out.jsonl"
    checkpoints, _, cut = checkpoint_before_the_end(tmp_path, old, out)
    done = resume(new, out, checkpoints)
    assert done.returncode == 0, done.stderr
    assert "operator window_aggregate starts empty" in done.stderr
    assert "window changed" in done.stderr
    reference = full_run(new, EVENTS, tmp_path / "reference.jsonl")
    rows = [json.loads(line) for line in out.read_bytes()[cut:].decode().splitlines()]
    expected = {(r["model_id"], r["window_start"]): r["requests"]
                for r in map(json.loads, reference.read_text().splitlines())}
    assert rows and all(r["requests"] <= expected[(r["model_id"], r["window_start"])]
                        for r in rows)
    assert any(r["requests"] < expected[(r["model_id"], r["window_start"])] for r in rows)


def test_an_acknowledged_changed_aggregate_restarts_alone(tmp_path):
    """SUM(tokens_used) AS tokens becomes SUM(latency_ms) AS tokens, acknowledged:
    the window's other aggregates restore, tokens starts empty."""
    old = compiled(tmp_path, "hourly", HOURLY)
    changed = HOURLY.replace("SUM(tokens_used) AS tokens", "SUM(latency_ms) AS tokens")
    new = compiled(tmp_path, "hourly_changed", ACKNOWLEDGED + changed)
    unacknowledged = compiled(tmp_path, "hourly_refused", changed)
    out = tmp_path / "out.jsonl"
    checkpoints, _, cut = checkpoint_before_the_end(tmp_path, old, out)
    refused = resume(unacknowledged, out, checkpoints)
    assert refused.returncode == 2, refused.stderr
    assert "tokens changed: SUM(tokens_used) -> SUM(latency_ms)" in refused.stderr
    done = resume(new, out, checkpoints)
    assert done.returncode == 0, done.stderr
    assert "tokens changed: SUM(tokens_used) -> SUM(latency_ms)" in done.stderr
    assert "starts empty" not in done.stderr.split("tokens changed")[0]
    reference = full_run(new, EVENTS, tmp_path / "reference.jsonl")
    expected = window_rows(reference)
    rows = [json.loads(line) for line in out.read_bytes()[cut:].decode().splitlines()]
    assert rows and all(r["requests"] == expected[(r["model_id"], r["window_start"])]["requests"]
                        for r in rows)  # COUNT(*) went on from its state
    assert any((r["tokens"] or 0) < expected[(r["model_id"], r["window_start"])]["tokens"]
               for r in rows)  # the changed SUM started empty


def _unfired_starts(window, watermark: int, delay: int) -> list[int]:
    """By enumeration: the starts of the windows near ``watermark`` that have not
    fired (end - 1 + delay > watermark), for ``replay_start_ms``'s reference."""
    from runtime_lib.operators.windows.base import Cumulate, Hop

    if isinstance(window, Cumulate):
        slide = window.max_size_ms  # the windows of one period share its start
        sizes = range(window.step_ms, window.max_size_ms + 1, window.step_ms)
    else:
        slide = window.slide_ms if isinstance(window, Hop) else window.size_ms
        sizes = [window.size_ms]
    first = (watermark - 4 * max(sizes) - delay) // slide * slide + window.offset_ms
    starts = range(first, watermark + 4 * max(sizes) + slide, slide)
    return [s for s in starts for size in sizes if s + size - 1 + delay > watermark]


@pytest.mark.parametrize("kind", ["tumble", "hop", "cumulate"])
def test_replay_starts_at_the_earliest_window_not_yet_fired(kind):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from runtime_lib.operators.windows.base import Cumulate, Hop, Tumble
    from runtime_lib.recovery import replay_start_ms

    @settings(max_examples=300, deadline=None)
    @given(st.integers(1, 12), st.integers(1, 4), st.integers(0, 30),
           st.integers(-1_000, 1_000), st.integers(0, 25))
    def check(unit, times, offset, watermark, delay):
        size = unit * times
        window = {"tumble": Tumble(size_ms=size, offset_ms=offset % size),
                  "hop": Hop(slide_ms=unit, size_ms=size, offset_ms=offset % unit),
                  "cumulate": Cumulate(step_ms=unit, max_size_ms=size,
                                       offset_ms=offset % size)}[kind]
        assert replay_start_ms(window, watermark, delay) == min(
            _unfired_starts(window, watermark, delay))

    check()


# -- --rebuild-state from Kafka, against the real broker ---------------------------

CLICKS = """CREATE TABLE clicks (
    user_id VARCHAR NOT NULL,
    amount BIGINT,
    event_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECONDS
) WITH ('connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{bootstrap}',
        'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
SELECT user_id, window_start, window_end, COUNT(*) AS clicks, SUM(amount) AS total
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end;
"""
CLICKS_BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
# the event time in the payload instead, with the record timestamps said to follow it
# (or not: each partition is then replayed from its first record)
CLICKS_IN_PAYLOAD = CLICKS.replace(
    "event_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',",
    "at_ms BIGINT NOT NULL,\n    event_time AS TO_TIMESTAMP(at_ms),")


def produce_clicks(broker, topic: str, count: int, seed: int) -> list[tuple[str, int, int]]:
    """``count`` clicks of five users over about 40 minutes, each a record whose
    Kafka timestamp is its event time, out of order by up to 4 s (within the
    watermark's 5 s: none is late), on two partitions by user."""
    import random

    rng = random.Random(seed)
    producer = broker.producer()
    rows = []
    for i in range(count):
        at = CLICKS_BASE_MS + i * 2_400_000 // count + rng.randrange(0, 4_000)
        user, amount = f"u{rng.randrange(5)}", rng.randrange(1, 100)
        producer.produce(topic, json.dumps({"user_id": user, "amount": amount,
                                            "at_ms": at}).encode(),
                         partition=int(user[1:]) % 2, timestamp=at)
        rows.append((user, amount, at))
        if i % 500 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    return rows


def duckdb_windows(rows: list[tuple[str, int, int]], size_ms: int) -> dict:
    """The TUMBLE windows of ``size_ms`` over ``rows`` as a batch query:
    (user_id, window_start ms) -> (clicks, total)."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE clicks (user_id VARCHAR, amount BIGINT, ts BIGINT)")
    con.executemany("INSERT INTO clicks VALUES (?, ?, ?)", rows)
    found = con.execute(f"SELECT user_id, ts - ts % {size_ms} AS start, COUNT(*), SUM(amount) "
                        "FROM clicks GROUP BY ALL").fetchall()
    return {(user, start): (n, total) for user, start, n, total in found}


def window_start_ms(text: str) -> int:
    import datetime as dt

    start = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)
    return int(start.timestamp() * 1000)


@pytest.mark.parametrize("event_time", ["record timestamp", "payload, record-timestamp",
                                        "payload"])
def test_rebuild_state_replays_kafka_up_to_the_checkpoint(kafka_broker, tmp_path, event_time):
    """A TUMBLE query reading Kafka, checkpointed mid-topic, edited to 5-minute
    windows and restarted with --rebuild-state: a second consumer replays each
    partition up to the checkpoint's offset (rows before the replay start
    skipped), the run goes on from the checkpoint's offsets, and every window
    written after the restore equals DuckDB's on the same rows; none of them
    had fired at the checkpoint, and what was written before it stays as it was."""
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("rebuild"), 2)
    rows = produce_clicks(kafka_broker, topic, 3_000, seed=17)
    sql = (CLICKS if event_time == "record timestamp" else CLICKS_IN_PAYLOAD).format(
        topic=topic, bootstrap=kafka_broker.bootstrap)
    if event_time == "payload, record-timestamp":
        sql = sql.replace("'format' = 'json',",
                          "'format' = 'json', 'scan.rebuild.rewind' = 'record-timestamp',")
    old = compiled(tmp_path, "clicks", sql)
    new = compiled(tmp_path, "clicks_5_min", sql.replace("INTERVAL '1' MINUTE",
                                                         "INTERVAL '5' MINUTE"))
    out, checkpoints = tmp_path / "out.jsonl", tmp_path / "c"
    first = subprocess.run([sys.executable, old, "--until-end", "--output", str(out),
                            "--checkpoint-dir", str(checkpoints), "--batch-size", "100",
                            "--checkpoint-interval", "1ms", "--checkpoints-retained", "1000",
                            "--quiet"], capture_output=True, text=True, timeout=300,
                           check=False)
    assert first.returncode == 0, first.stderr
    # the newest checkpoint before the last quarter of the topic, at a watermark
    # (both partitions read: the consumer may read one before the other)
    for chosen in sorted(checkpoints.iterdir(), reverse=True):
        state = json.loads((chosen / "state.json").read_text())
        read = sum(o for _, _, o in state["sources"]["clicks"]["kafka"])
        watermark = state["watermarks"]["clicks"]["current"]
        if read <= len(rows) * 3 // 4 and watermark > CLICKS_BASE_MS:
            break
        subprocess.run(["rm", "-r", str(chosen)], check=True)
    assert 0 < read <= len(rows) * 3 // 4 and watermark > CLICKS_BASE_MS
    length = state["sinks"]["output 0"]["length"]
    before = out.read_bytes()[:length]
    done = subprocess.run([sys.executable, new, "--until-end", "--output", str(out),
                           "--checkpoint-dir", str(checkpoints), "--batch-size", "100",
                           "--rebuild-state"], capture_output=True, text=True, timeout=300,
                           check=False)
    assert done.returncode == 0, done.stderr
    assert "rebuilt operator(s) window_aggregate by replaying" in done.stderr
    replayed = re.search(r"by replaying ([\d,]+) records .* \(([\d,]+) earlier records "
                         r"skipped\)", done.stderr)
    assert replayed, done.stderr
    # the replay read at most what the checkpoint had read, and skipped the rows
    # that only reach windows fired before it
    assert int(replayed.group(1).replace(",", "")) <= read
    assert int(replayed.group(2).replace(",", "")) > 0
    ranges = re.findall(rf"{topic}/(\d) ([\d,]+)\.\.([\d,]+)", done.stderr)
    assert sorted(int(p) for p, _, _ in ranges) == [0, 1]  # a consumer per partition
    stops = {int(p): int(o) for _, p, o in state["sources"]["clicks"]["kafka"]}
    assert all(int(stop.replace(",", "")) == stops[int(p)] for p, _, stop in ranges)
    assert out.read_bytes()[:length] == before
    written = [json.loads(line) for line in out.read_bytes()[length:].decode().splitlines()]
    after = {(r["user_id"], window_start_ms(r["window_start"])): (r["clicks"], r["total"])
             for r in written}
    assert len(after) == len(written)  # no window twice
    expected = duckdb_windows(rows, 300_000)
    first_start = min(start for _, start in after)
    assert after == {k: v for k, v in expected.items() if k[1] >= first_start}
    # nothing written after the restore had fired at the checkpoint; the window
    # open at it (rows from before the checkpoint) is complete
    assert first_start + 300_000 - 1 > watermark >= first_start - 300_000
    assert any(start <= watermark for _, start in after)


class _Partitions:
    """A stand-in for the replay's consumer where the broker cannot show the
    case: tansu neither deletes records (no retention, no DeleteRecords) nor
    answers ``offsets_for_times`` by time. Partition p holds offsets
    ``low[p]`` .. 99, the record at offset o stamped ``BASE + o`` seconds."""

    BASE = CLICKS_BASE_MS

    def __init__(self, low: dict[int, int]) -> None:
        self.low = low
        self.at = None

    def offsets_for_times(self, query, timeout):
        from confluent_kafka import TopicPartition

        out = []
        for tp in query:
            first = max(self.low[tp.partition], -(-(tp.offset - self.BASE) // 1000))
            out.append(TopicPartition(tp.topic, tp.partition, first if first < 100 else -1))
        return out

    def get_watermark_offsets(self, tp, timeout):
        return self.low[tp.partition], 100

    def assign(self, tps):
        self.at = tps[0].offset

    def consume(self, n, timeout):
        from types import SimpleNamespace as NS

        return [NS(error=lambda: None, timestamp=lambda: (1, self.BASE + self.at * 1000))]

    def unassign(self):
        pass


def replay_of(low: dict[int, int], rewind_ms, stop: dict[int, int]):
    from runtime_lib.io.kafka.replay import KafkaReplay
    from runtime_lib.schema import Field

    replay = KafkaReplay("clicks", (Field("user_id", "VARCHAR", False),),
                         {"topic": "clicks", "properties.bootstrap.servers": "localhost:1",
                          "properties.group.id": "g", "scan.startup.mode": "group-offsets"},
                         stop={("clicks", p): o for p, o in stop.items()}, rewind_ms=rewind_ms)
    replay.consumer = _Partitions(low)
    return replay


def test_kafka_replay_rewinds_by_record_time_up_to_the_checkpoint():
    """Each partition from the first record at or after the rewind time, never
    past the checkpoint's offset; with no time, from its first record; the
    replay commits nothing (no group) and starts where the rewind says."""
    wanted = [("clicks", 0), ("clicks", 1), ("clicks", 2)]
    replay = replay_of({0: 0, 1: 0, 2: 0}, CLICKS_BASE_MS + 40_500, {0: 80, 1: 30, 2: 0})
    assert not replay.commits and replay.startup_mode == "earliest-offset"
    assert replay._starts(wanted) == {("clicks", 0): 41, ("clicks", 1): 30, ("clicks", 2): 0}
    # a time after every record: nothing of it is needed
    late = replay_of({0: 0, 1: 0, 2: 0}, CLICKS_BASE_MS + 500_000, {0: 80, 1: 30, 2: 0})
    assert late._starts(wanted) == {("clicks", 0): 80, ("clicks", 1): 30, ("clicks", 2): 0}
    whole = replay_of({0: 0, 1: 0, 2: 0}, None, {0: 80, 1: 30, 2: 0})
    assert whole._starts(wanted) == {("clicks", 0): 0, ("clicks", 1): 0, ("clicks", 2): 0}
    # retention deleted records, but only ones before the rewind time: fine
    trimmed = replay_of({0: 10, 1: 0, 2: 0}, CLICKS_BASE_MS + 40_500, {0: 80, 1: 30, 2: 0})
    assert trimmed._starts(wanted)[("clicks", 0)] == 41


@pytest.mark.parametrize("rewind_ms", [CLICKS_BASE_MS + 40_500, None])
def test_kafka_replay_refuses_what_retention_deleted(rewind_ms):
    """The earliest record kept is already after the time the replay needs (or
    the replay needs the partition from offset 0): refused, naming the
    partition, its earliest offset and time and what was needed."""
    from runtime_lib.io.kafka import KafkaConfigError
    from runtime_lib.io.kafka.replay import ReplayUnavailable

    replay = replay_of({0: 0, 1: 60}, rewind_ms, {0: 80, 1: 90})
    with pytest.raises(ReplayUnavailable) as refused:
        replay._starts([("clicks", 0), ("clicks", 1)])
    message = str(refused.value)
    assert "topic 'clicks' partition 1 holds records from offset 60 " \
           "(2025-01-01T00:01:00.000Z) on" in message
    needed = ("its first record (offset 0)" if rewind_ms is None
              else "the records from 2025-01-01T00:00:40.500Z on")
    assert f"the replay needs {needed}" in message
    assert isinstance(refused.value, KafkaConfigError)  # exit 2 (pipeline.run)


def test_rebuild_state_from_kafka_without_a_bound_needs_the_first_record(kafka_broker,
                                                                          tmp_path):
    """A GROUP BY's state has no bound in event time: its replay needs every
    record from where the first run began, which a 'latest-offset' start does
    not record; refused with a message (exit 2), not rebuilt from other rows."""
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("rebuild-latest"), 1)
    sql = CLICKS.format(topic=topic, bootstrap=kafka_broker.bootstrap).replace(
        "'earliest-offset'", "'latest-offset'")
    ddl = sql.split("SELECT")[0]
    old = compiled(tmp_path, "totals", ddl + "SELECT user_id, COUNT(*) AS clicks FROM clicks "
                   "GROUP BY user_id;\n")
    new = compiled(tmp_path, "totals_sum", ddl + "SELECT amount, COUNT(*) AS clicks FROM "
                   "clicks GROUP BY amount;\n")
    checkpoints = tmp_path / "c"
    first = subprocess.run([sys.executable, old, "--until-end", "--output",
                            str(tmp_path / "out.jsonl"), "--checkpoint-dir", str(checkpoints),
                            "--quiet"], capture_output=True, text=True, timeout=300,
                           check=False)
    assert first.returncode == 0, first.stderr
    done = subprocess.run([sys.executable, new, "--until-end", "--output",
                           str(tmp_path / "out.jsonl"), "--checkpoint-dir", str(checkpoints),
                           "--rebuild-state"], capture_output=True, text=True, timeout=300,
                           check=False)
    assert done.returncode == 2, done.stderr
    assert "source clicks starts at 'latest-offset'" in done.stderr
    assert "Traceback" not in done.stderr

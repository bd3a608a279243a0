"""A checkpoint of one process restored as two (``--key-groups``), end to end.

For each query (a TUMBLE and a SESSION window aggregate, a GROUP BY, a
deduplication, a Top-N, all keyed by ``user_id``), on the sample events in
event-time order (so that no subset of them has late rows: the processes'
watermarks differ, their results must not):

1. an uninterrupted run gives the reference output;
2. a run with checkpoints is cut back to a checkpoint taken in the middle;
3. two processes restore copies of that checkpoint with ``--key-groups
   0-{s-1}`` and ``{s}-127`` (s drawn by hypothesis), each fed the rest of the
   input *only for the keys of its key groups* (what a topic partitioned by
   ``user_id`` gives each consumer), and one process restores it with every
   key group;

and the union of the two processes' outputs (the changelog summed: each
process's file starts with the output written before the checkpoint, once
too many) equals the reference, as does the one process's output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime_lib.columns import column_from_pylist
from runtime_lib.keygroups import key_group
from tests.runtime.test_recovery import EVENTS, compiled

QUERIES = {
    "tumble": """SELECT user_id, window_start, COUNT(*) AS requests, SUM(tokens_used) AS tokens
FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start;
""",
    "session": """SELECT user_id, window_start, window_end, COUNT(*) AS requests
FROM TABLE(SESSION(TABLE llm_requests PARTITION BY user_id, DESCRIPTOR(event_time),
                   INTERVAL '5' MINUTES))
GROUP BY user_id, window_start, window_end;
""",
    "group_by": """SELECT user_id, COUNT(*) AS requests, MAX(latency_ms) AS slowest
FROM llm_requests GROUP BY user_id;
""",
    "dedup": """SELECT request_id, user_id, model_id FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY event_time) AS rn
  FROM llm_requests) WHERE rn = 1;
""",
    "top_n": """SELECT user_id, request_id, latency_ms FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY latency_ms DESC) AS rn
  FROM llm_requests) WHERE rn <= 2;
""",
}


def signed(path: Path) -> Counter:
    """An output file as a changelog summed: +1 per +I/+U row, -1 per -U/-D."""
    total: Counter = Counter()
    for line in path.read_text().splitlines():
        row = json.loads(line)
        op = row.pop("_op", "+I")
        total[json.dumps(row, sort_keys=True)] += 1 if op in ("+I", "+U") else -1
    return total


def run(module: str, events: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, module, "--input", f"llm_requests={events}",
                           "--output", str(out), "--batch-size", "200", "--quiet", *args],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Per query: the module, the reference output, a mid-run checkpoint
    (its directory, the lines it had read) and the output cut back to it."""
    root = tmp_path_factory.mktemp("keygroups")
    lines = EVENTS.read_text().splitlines()
    lines.sort(key=lambda line: json.loads(line)["timestamp_ms"])
    events = root / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    found = {}
    for name, sql in QUERIES.items():
        module = compiled(root, name, sql)
        reference = root / f"{name}-reference.jsonl"
        run(module, events, reference)
        checkpoints, out = root / f"{name}-checkpoints", root / f"{name}-out.jsonl"
        run(module, events, out, "--checkpoint-dir", str(checkpoints),
            "--checkpoint-interval", "1ms", "--checkpoints-retained", "1000")
        chosen = sorted(checkpoints.iterdir())
        for path in chosen[len(chosen) // 2 + 1:]:  # a checkpoint in the middle is the newest
            shutil.rmtree(path)
        read = json.loads((chosen[len(chosen) // 2] / "MANIFEST.json").read_text())[
            "positions"]["llm_requests"]["line"]
        assert 0 < read < len(lines)
        found[name] = module, reference, checkpoints, read, out
    return Prepared(root, lines, found)


class Prepared(tuple):
    """(root, lines, per query) with a short repr (hypothesis prints its arguments)."""

    def __new__(cls, *items):
        return super().__new__(cls, items)

    def __repr__(self) -> str:
        return "prepared"


def _groups_of(users: list) -> list[int]:
    return key_group([column_from_pylist(users, "O")], 128).tolist()


def _groups(lines: list[str]) -> list[int]:
    return _groups_of([json.loads(line)["user_id"] for line in lines])


def _held_keys(state: dict) -> list[list]:
    """The keys (``user_id``) of each operator's key dictionary in a checkpoint."""
    return [op["keys"]["values_0"] for op in state["operators"].values()
            if isinstance(op.get("keys"), dict) and "values_0" in op["keys"]]


@pytest.mark.parametrize("name", list(QUERIES))
@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(split=st.integers(1, 127))
def test_two_processes_restored_from_one_checkpoint_give_its_output(prepared, name, split):
    root, lines, found = prepared
    module, reference, checkpoints, read, out = found[name]
    work = root / f"{name}-{split}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    groups = _groups(lines[read:])
    outputs = []
    for first, last in ((0, split - 1), (split, 127)):
        part = work / f"{first}-{last}"
        events = part.with_suffix(".jsonl")
        # the lines before the checkpoint are skipped on resume; after it, its keys' rows
        mine = [line for line, g in zip(lines[read:], groups) if first <= g <= last]
        events.write_text("\n".join(lines[:read] + mine) + "\n")
        shutil.copytree(checkpoints, part)
        output = part.with_suffix(".out.jsonl")
        shutil.copy(out, output)  # cut back to the checkpoint's length by the restore
        run(module, events, output, "--checkpoint-dir", str(part), "--key-groups",
            f"{first}-{last}")
        outputs.append(output)
        # its own checkpoints say which key groups they hold, and hold only their keys
        final = max(part.iterdir())
        manifest = json.loads((final / "MANIFEST.json").read_text())
        assert manifest["key_groups"] == {"start": first, "end": last, "max_parallelism": 128}
        for held in _held_keys(json.loads((final / "state.json").read_text())):
            assert all(first <= g <= last for g in _groups_of(held))
    prefix = work / "prefix.jsonl"  # the output as of the checkpoint, in both files
    state = json.loads((max(checkpoints.iterdir()) / "state.json").read_text())
    prefix.write_bytes(out.read_bytes()[: state["sinks"]["output 0"]["length"]])
    union = signed(outputs[0])
    union.update(signed(outputs[1]))
    union.subtract(signed(prefix))
    assert +union == +signed(reference) and -union == -signed(reference)

    whole = work / "whole"
    shutil.copytree(checkpoints, whole)
    output = whole.with_suffix(".out.jsonl")
    shutil.copy(out, output)
    events = whole.with_suffix(".jsonl")
    events.write_text("\n".join(lines) + "\n")
    run(module, events, output, "--checkpoint-dir", str(whole), "--key-groups", "0-127")
    assert output.read_bytes() == reference.read_bytes()


GLOBAL = "SELECT COUNT(*) AS requests FROM llm_requests;\n"


def test_a_global_aggregate_refuses_a_key_group_range(tmp_path):
    module = compiled(tmp_path, "global", GLOBAL)
    done = subprocess.run([sys.executable, module, "--input", f"llm_requests={EVENTS}",
                           "--output", str(tmp_path / "o.jsonl"), "--checkpoint-dir",
                           str(tmp_path / "c"), "--key-groups", "0-63"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot run in a process owning only key groups 0-63 of 128: a global " \
           "aggregate (no GROUP BY key)" in done.stderr


def test_key_groups_of_another_max_parallelism_are_refused(prepared, tmp_path):
    module, _, checkpoints, _, _ = prepared[2]["tumble"]
    copy = tmp_path / "c"
    shutil.copytree(checkpoints, copy)
    args = [sys.executable, module, "--input", f"llm_requests={EVENTS}", "--output",
            str(tmp_path / "o.jsonl"), "--checkpoint-dir", str(copy)]
    for extra, message in (
            (["--max-parallelism", "256"], ("split keyed state into 128 key groups, which is "
                                            "fixed for the life of the job")),
            (["--key-groups", "0-200"], "key groups 0-200 are not within 0-127"),
            (["--key-groups", "a-b"], "'a-b' is not a range of key groups")):
        done = subprocess.run(args + extra, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr

"""The state-compatibility report for five realistic edits of the spec's
queries, each compiled against the checked-in module of the original (what
`sqlc compile` prints, and `--check` decides on). Run with ``-s`` to see the
reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ["--catalog", str(ROOT / "examples" / "catalog.sql")]

# name -> (example, old text, new text, the verdict, what the report must say)
EDITS = {
    "changed window size": (
        "q02_latency_percentiles", "INTERVAL '5' MINUTES", "INTERVAL '10' MINUTES",
        "incompatible", "window changed: TUMBLE(time_col=[event_time], size=[5 min]) -> "
        "TUMBLE(time_col=[event_time], size=[10 min])"),
    "added aggregate": (
        "q04_cost_per_model_hour", "AVG(cost) as avg_cost_per_request",
        "AVG(cost) as avg_cost_per_request,\n    MAX(cost) as max_cost",
        "caveats", "added MAX(cost) AS max_cost: starts empty for the windows open at the "
        "restore"),
    "changed filter": (
        "q13_ab_test", "WHERE experiment_id IS NOT NULL",
        "WHERE experiment_id IS NOT NULL AND variant <> 'control'",
        "caveats", "rows already in state were chosen by the old WHERE"),
    "added group key": (
        "q01_request_rate", "GROUP BY model_id, window_start",
        "GROUP BY model_id, region, window_start", "incompatible", "keys changed"),
    "changed HAVING": (
        # q03 emits changes (EMIT CHANGES), so its HAVING decides which changes go on
        "q03_error_rate", "HAVING error_rate_pct > 1.0", "HAVING error_rate_pct > 5.0",
        "caveats", "a row emitted under the old one that the new one drops is never taken "
        "back downstream"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_the_report_on_an_edit_of_a_spec_query(tmp_path: Path, capsys, edit: str) -> None:
    example, before, after, level, reason = EDITS[edit]
    sql = (ROOT / "examples" / f"{example}.sql").read_text()
    assert before in sql
    query, out = tmp_path / f"{example}.sql", tmp_path / f"{example}.py"
    query.write_text(sql.replace(before, after))
    shutil.copy(ROOT / "generated" / f"{example}.py", out)  # the version checked in
    capsys.readouterr()
    code = main(["compile", str(query), "-o", str(out), "--check", *CATALOG])
    report = capsys.readouterr().err
    with capsys.disabled():
        print(f"\n--- {edit} ({example}.sql: {before!r} -> {after!r})\n{report}")
    assert f"state of {out}: {level}" in report
    assert reason in report
    assert code == 1  # the module is stale; an incompatible edit would fail --check anyway
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    capsys.readouterr()
    assert main(["compile", str(query), "-o", str(out), "--check", *CATALOG]) == 0

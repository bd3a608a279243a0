"""State layouts (compiler/layout.py, runtime_lib/layout.py): every generated
module records one per stateful operator, and `sqlc compile` reports what an
edit does to state (identical, caveats, incompatible), failing --check on an
incompatible change unless it is acknowledged. Restores across edits, with
real checkpoints, are in tests/runtime/test_recovery.py."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.layout import layout_of_module

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ["--catalog", str(ROOT / "examples" / "catalog.sql")]
GENERATED = sorted((ROOT / "generated").glob("*.py"))


@pytest.mark.parametrize("module", GENERATED, ids=lambda p: p.stem)
def test_every_stateful_operator_has_a_layout(module: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"layout_{module.stem}", module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    text = module.read_text()
    operators = text.split("self.operators = ")[1].split("\n\n")[0]
    layout = layout_of_module(text)
    assert layout == loaded.Query.state_layout
    for name, entry in layout.items():
        assert f"self.{name}" in operators
        assert entry["operator"].endswith("Exec") and entry["line"] > 0
    assert len(layout) == operators.count("self.")


BASE = """SELECT model_id, window_start, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY model_id, window_start;
"""
EDITS = {
    "projection": (BASE.replace("COUNT(*) AS n", "COUNT(*) AS n, COUNT(*) / 60.0 AS rate"),
                   "identical", ""),
    "having": (BASE.replace("window_start;", "window_start HAVING COUNT(*) > 2;"),
               "identical", ""),
    "delay": (BASE.replace(";", " EMIT AFTER WATERMARK WITH DELAY INTERVAL '1' MINUTE;"),
              "caveats", "emit changed"),
    "where": (BASE.replace("GROUP BY", "WHERE latency_ms > 10 GROUP BY"), "caveats",
              "rows already in state were chosen by the old WHERE"),
    "window": (BASE.replace("'1' MINUTE", "'5' MINUTE"), "incompatible", "window changed"),
    "key": (BASE.replace("model_id, window_start;", "model_id, region, window_start;")
            .replace("SELECT model_id,", "SELECT model_id, region,"), "incompatible",
            "keys changed"),
    "aggregate": (BASE.replace("COUNT(*) AS n", "COUNT(*) AS n, MAX(latency_ms) AS slowest"),
                  "caveats", "added MAX(latency_ms) AS slowest: starts empty for the windows "
                  "open at the restore"),
}
TWO = BASE.replace("COUNT(*) AS n", "COUNT(*) AS n, SUM(tokens_used) AS tokens")
# edits of a query with two aggregates: accumulators are restored by name
AGGREGATE_EDITS = {
    "removed": (BASE, "compatible", "removed SUM(tokens_used) AS tokens: its state is dropped"),
    "reordered": (TWO.replace("COUNT(*) AS n, SUM(tokens_used) AS tokens",
                              "SUM(tokens_used) AS tokens, COUNT(*) AS n"),
                  "compatible", "aggregates reordered"),
    "renamed": (TWO.replace("AS tokens", "AS total_tokens"), "compatible",
                "tokens renamed total_tokens"),
    "argument": (TWO.replace("SUM(tokens_used)", "SUM(latency_ms)"), "incompatible",
                 "tokens changed: SUM(tokens_used) -> SUM(latency_ms)"),
    "shared": (TWO.replace("AS tokens", "AS tokens, AVG(tokens_used) AS mean"), "compatible",
               "added AVG(tokens_used) AS mean: computed from the restored SUM(tokens_used)"),
}


GROUPED = """SELECT model_id, COUNT(*) AS n FROM llm_requests GROUP BY model_id
HAVING COUNT(*) > 1;
"""
PER_WINDOW = """SELECT model_id, MIN(n) AS least FROM (
  SELECT model_id, region, window_start, COUNT(*) AS n
  FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
  GROUP BY model_id, region, window_start)
GROUP BY model_id;
"""
# edits around an updating operator (a GROUP BY: its rows change)
UPDATING_EDITS = {
    "having": (GROUPED, GROUPED.replace("> 1", "> 5"), "caveats",
               "a row emitted under the old one that the new one drops is never taken back"),
    "projection": (GROUPED, GROUPED.replace("COUNT(*) AS n", "COUNT(*) AS n, 1 AS one"),
                   "identical", ""),
    # the inner aggregate emits changes, no longer final per window: MIN now takes
    # rows back, which needs a count per distinct value the old state has not got
    "input becomes updating": (
        PER_WINDOW, PER_WINDOW.replace("region, window_start)", "region, window_start\n"
                                       "  EMIT CHANGES)"),
        "incompatible", "changes_in changed: insert-only -> updating (-U/-D take rows back)"),
}


@pytest.mark.parametrize("edit", sorted(UPDATING_EDITS))
def test_edits_around_an_updating_operator(tmp_path: Path, capsys, edit: str) -> None:
    base, sql, level, reason = UPDATING_EDITS[edit]
    assert base != sql
    query, out = tmp_path / "q.sql", tmp_path / "q.py"
    query.write_text(base)
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    query.write_text(sql)
    capsys.readouterr()
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    err = capsys.readouterr().err
    assert f"state of {out}: {level}" in err, err
    assert reason in err, err


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_compile_reports_what_an_edit_does_to_state(tmp_path: Path, capsys, edit: str) -> None:
    sql, level, reason = EDITS[edit]
    query, out = tmp_path / "q.sql", tmp_path / "q.py"
    query.write_text(BASE)
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    query.write_text(sql)
    capsys.readouterr()
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    err = capsys.readouterr().err
    assert f"state of {out}: {level}" in err
    assert reason in err


@pytest.mark.parametrize("edit", sorted(AGGREGATE_EDITS))
def test_aggregates_are_matched_by_their_accumulators(tmp_path: Path, capsys, edit: str) -> None:
    sql, level, reason = AGGREGATE_EDITS[edit]
    query, out = tmp_path / "q.sql", tmp_path / "q.py"
    query.write_text(TWO)
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    query.write_text(sql)
    capsys.readouterr()
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    err = capsys.readouterr().err
    assert f"state of {out}: {level}" in err, err
    assert reason in err, err


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


def test_check_against_a_revision_fails_on_an_incompatible_change(tmp_path: Path,
                                                                  capsys, monkeypatch) -> None:
    query, out = tmp_path / "q.sql", tmp_path / "q.py"
    query.write_text(BASE)
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    query.write_text(EDITS["window"][0])
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0  # regenerated
    check = ["compile", str(query), "-o", str(out), "--check", "--against", "HEAD", *CATALOG]
    capsys.readouterr()
    assert main(check) == 1
    err = capsys.readouterr().err
    assert "incompatible" in err and "--allow-incompatible-state" in err
    assert main([*check, "--allow-incompatible-state"]) == 0
    query.write_text(EDITS["projection"][0])
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    assert main(check) == 0  # a compatible edit passes


def test_a_line_in_the_query_acknowledges_the_edit_that_adds_it(tmp_path: Path, capsys,
                                                               monkeypatch) -> None:
    query, out = tmp_path / "q.sql", tmp_path / "q.py"
    query.write_text(BASE)
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    monkeypatch.chdir(tmp_path)
    check = ["compile", str(query), "-o", str(out), "--check", "--against", "HEAD", *CATALOG]
    line = "-- sqlc-state: allow-incompatible window_aggregate -- 1 min to 5 min, rebuilt\n"
    for text, code in [(EDITS["window"][0], 1),  # not acknowledged
                       (line + EDITS["window"][0], 0),
                       ("-- sqlc-state: allow-incompatible other_operator\n"
                        + EDITS["window"][0], 1)]:  # another operator's
        query.write_text(text)
        assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
        capsys.readouterr()
        assert main(check) == code, text
    err = capsys.readouterr().err
    assert "'-- sqlc-state: allow-incompatible window_aggregate' added to the query" in err
    # committed with its line, the acknowledgement does not cover the next incompatible edit
    query.write_text(line + EDITS["window"][0])
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "5 min")
    query.write_text(line + EDITS["window"][0].replace("'5' MINUTE", "'10' MINUTE"))
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    capsys.readouterr()
    assert main(check) == 1
    assert "acknowledged by the line" not in capsys.readouterr().err


HOURLY = BASE.replace("'1' MINUTE", "'1' HOUR").replace("AS n", "AS hourly")


def test_an_operator_whose_name_changed_is_matched_by_its_structure(tmp_path: Path,
                                                                    capsys) -> None:
    """A query added in front takes the name window_aggregate; the old one is
    now window_aggregate_2 and keeps its state (a restore reads it from the
    checkpoint's window_aggregate)."""
    from runtime_lib.recovery import state_sources

    query, out = tmp_path / "q.sql", tmp_path / "q.py"
    query.write_text(BASE)
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    old = layout_of_module(out.read_text())
    query.write_text(HOURLY + BASE)
    capsys.readouterr()
    assert main(["compile", str(query), "-o", str(out), *CATALOG]) == 0
    err = capsys.readouterr().err
    assert f"state of {out}: caveats" in err, err
    assert "window_aggregate_2 (line 4): compatible\n      renamed: was window_aggregate" in err
    assert "window_aggregate (line 1): caveats\n      new WindowAggregateExec" in err
    assert "removed" not in err
    new = layout_of_module(out.read_text())
    assert state_sources({"layout": old}, {"layout": new, "operators": {}}) == {
        "window_aggregate_2": "window_aggregate"}

"""``sqlc test``: the examples' fixture tests pass, and the runner itself
fails a wrong expectation with a diff table (exit 1), records with --update,
and refuses bad test files (exit 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

QUERY = """SELECT model_id, window_start, COUNT(*) AS n, AVG(latency_ms) AS avg_latency
FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY model_id, window_start;
"""

CASE = """catalog: catalog.sql
tests:
  - name: two windows
    given:
      llm_requests:
        - {request_id: r1, model_id: m, timestamp_ms: 2025-11-10 10:00:00, latency_ms: 1.0}
        - {request_id: r2, model_id: m, timestamp_ms: 2025-11-10 10:00:30, latency_ms: 2.0}
        - {request_id: r3, model_id: m, timestamp_ms: 2025-11-10 10:01:00, latency_ms: 4.0}
    expect:
      rows:
        - {model_id: m, window_start: 2025-11-10 10:00:00, n: N1, avg_latency: 1.5}
        - {model_id: m, window_start: 2025-11-10 10:01:00, n: 1, avg_latency: 4.0}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLES / "catalog.sql", tmp_path / "catalog.sql")
    (tmp_path / "q.sql").write_text(QUERY, encoding="utf-8")
    return tmp_path


def write_case(project: Path, text: str) -> Path:
    path = project / "q.test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_example_passes_its_fixture_tests(capsys) -> None:
    configured = {p.stem for p in (ROOT / "generated").glob("*.py")}
    tested = {p.name.removesuffix(".test.yaml") for p in EXAMPLES.glob("*.test.yaml")}
    assert configured <= tested, f"examples without a test file: {sorted(configured - tested)}"
    assert main(["test", str(EXAMPLES)]) == 0, capsys.readouterr().out


def test_a_matching_expectation_passes(project: Path, capsys) -> None:
    write_case(project, CASE.replace("N1", "2"))
    assert main(["test", str(project)]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_a_wrong_expectation_fails_with_a_diff_table(project: Path, capsys) -> None:
    write_case(project, CASE.replace("N1", "3"))
    assert main(["test", str(project / "q.sql")]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "two windows" in out
    assert "1 expected but not produced (-), 1 produced but not expected (+)" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["model_id", "window_start", "n", "avg_latency"] in lines
    assert ["-", "m", "2025-11-10", "10:00:00.000", "3", "1.5"] in lines
    assert ["+", "m", "2025-11-10", "10:00:00.000", "2", "1.5"] in lines


def test_tolerance_decides_float_equality(project: Path) -> None:
    near = CASE.replace("N1", "2").replace("avg_latency: 1.5}", "avg_latency: 1.5001}")
    write_case(project, near)
    assert main(["test", str(project)]) == 1
    write_case(project, near.replace("    given:", "    tolerance: 0.001\n    given:"))
    assert main(["test", str(project)]) == 0


def test_ordered_rows_must_come_in_order(project: Path) -> None:
    swapped = CASE.replace("N1", "2").replace("  - name: two windows",
                                              "  - name: two windows\n    ordered: true")
    rows = swapped.split("      rows:\n")[1].splitlines()
    write_case(project, swapped.split("      rows:\n")[0] + "      rows:\n"
               + "\n".join([rows[1], rows[0]]) + "\n")
    assert main(["test", str(project)]) == 1
    write_case(project, swapped)
    assert main(["test", str(project)]) == 0


def test_changelog_late_rows_and_dead_letters(project: Path, capsys) -> None:
    (project / "q.sql").write_text(
        "SELECT model_id, COUNT(*) AS n FROM llm_requests GROUP BY model_id;\n")
    write_case(project, """catalog: catalog.sql
tests:
  - name: updates
    given:
      llm_requests:
        - {request_id: r1, model_id: m, timestamp_ms: 2025-11-10 10:00:00}
        - raw: 'not json'
        - {request_id: r2, model_id: m, timestamp_ms: 2025-11-10 10:00:01}
    expect:
      changelog:
        - {op: +I, model_id: m, n: 1}
        - {op: -U, model_id: m, n: 1}
        - {op: +U, model_id: m, n: 2}
      dead_letters: [{source: llm_requests}]
      late_rows: 0
""")
    assert main(["test", str(project)]) == 0, capsys.readouterr().out
    text = (project / "q.test.yaml").read_text()
    write_case(project, text.replace("dead_letters: [{source: llm_requests}]", "dead_letters: 0"))
    assert main(["test", str(project)]) == 1
    assert "dead_letters: expected 0, got 1" in capsys.readouterr().out


def test_update_records_the_current_output(project: Path, capsys) -> None:
    path = write_case(project, CASE.replace("N1", "99"))
    assert main(["test", "--update", str(project)]) == 0
    assert "updated" in capsys.readouterr().out
    text = path.read_text()
    assert "n: 2" in text and "n: 99" not in text
    assert main(["test", str(project)]) == 0  # what was recorded now passes


def test_update_keeps_the_comments_and_layout_of_the_file(project: Path, capsys) -> None:
    """Only the expect blocks are rewritten: comments, flow rows in given, the
    order of keys and the blank lines between cases stay as written."""
    annotated = ("# why this query is tested\n" + CASE.replace("N1", "99")
                 .replace("  - name: two windows", "  - name: two windows  # the edge")
                 .replace("    given:", "    # rows in arrival order\n    given:")
                 + "\n  # a second case\n  - name: nothing\n    given: {llm_requests: []}\n"
                 "    expect: {rows: [{model_id: x}]}\n")
    path = write_case(project, annotated)
    assert main(["test", "--update", str(project)]) == 0
    text = path.read_text()
    expected = (annotated.replace("n: 99", "n: 2")  # (PyYAML quotes a time in a {...} row)
                .replace("start: 2025-11-10 10:00:00,", "start: '2025-11-10 10:00:00.000',")
                .replace("start: 2025-11-10 10:01:00,", "start: '2025-11-10 10:01:00.000',")
                .replace("    expect: {rows: [{model_id: x}]}\n", "    expect:\n      rows: []\n"))
    assert text == expected
    assert main(["test", str(project)]) == 0
    capsys.readouterr()
    assert main(["test", "--update", str(project)]) == 0  # nothing to record: untouched
    assert "up to date: " in capsys.readouterr().out and path.read_text() == expected


@pytest.mark.parametrize("text, message", [
    ("tests: [", "not valid YAML"),
    ("tests: []", "'tests:' must be a non-empty list"),
    ("catalog: catalog.sql\ntests:\n  - name: x\n    given: {llm_requests: []}\n",
     "'expect:' must give rows or a changelog"),
    (("catalog: catalog.sql\ntests:\n  - name: x\n    given: {llm_requests: []}\n"
     "    expect: {rowz: []}\n"), "unknown key 'rowz'"),
    ("catalog: catalog.sql\ntests:\n  - name: x\n    given: {nope: []}\n    expect: {rows: []}\n",
     "given.nope: the query reads no source or table of that name"),
    (("catalog: catalog.sql\ntests:\n  - name: x\n    batch_sizes: [0]\n"
     "    given: {llm_requests: []}\n    expect: {rows: []}\n"), "batch_sizes must be"),
    (("catalog: catalog.sql\ntests:\n  - name: x\n    given: {llm_requests: []}\n"
     "    expect: {changelog: [{n: 1}]}\n"), "each changelog row needs op"),
    (("catalog: catalog.sql\ntests:\n  - name: x\n"
      "    given: {llm_requests: [{processing_time: soon}]}\n    expect: {rows: []}\n"),
     "processing_time: 'soon' is not a time"),
], ids=["yaml", "no-tests", "no-expect", "unknown-key", "unknown-source", "batch-size", "op",
        "clock"])
def test_a_bad_test_file_is_a_clear_error(project: Path, capsys, text: str,
                                          message: str) -> None:
    write_case(project, text)
    assert main(["test", str(project)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert "q.test.yaml" in err


TTL_QUERY = """CREATE STREAM calls (
    model_id VARCHAR, ts TIMESTAMP(3), WATERMARK FOR ts AS ts
) WITH ('connector' = 'file', 'path' = 'calls.jsonl', 'state.ttl' = '1 min');
SELECT DISTINCT model_id FROM calls;
"""


@pytest.mark.parametrize("advance, changes", [
    # 2 min later: the TTL forgot 'a', which is new again
    ("2025-11-10 10:02:00", ["+I", "+I"]),
    # 30 s later: still in state; with a TTL the repeat is sent on as an update (as
    # Flink's GroupAggFunction does, so that downstream state is refreshed too)
    ("2025-11-10 10:00:30", ["+I", "-U", "+U"]),
])
def test_processing_time_entries_move_the_state_ttl_clock(tmp_path: Path, capsys,
                                                          advance: str, changes: list) -> None:
    (tmp_path / "q.sql").write_text(TTL_QUERY, encoding="utf-8")
    changelog = "\n".join(f"      - {{op: '{op}', model_id: a}}" for op in changes)
    write_case(tmp_path, f"""tests:
  - name: distinct forgets by 'state.ttl'
    now: 2025-11-10 10:00:00
    given:
      calls:
        - {{model_id: a, ts: 2025-11-10 10:00:00}}
        - {{processing_time: {advance}}}
        - {{model_id: a, ts: 2025-11-10 10:00:01}}
    expect:
      changelog:
{changelog}
""")
    assert main(["test", str(tmp_path)]) == 0, capsys.readouterr().out


def test_the_compare_docstring_examples_run() -> None:
    import doctest

    from compiler.testing import compare

    result = doctest.testmod(compare)
    assert result.attempted and not result.failed


def test_init_makes_a_project_that_checks_and_tests(tmp_path: Path, monkeypatch,
                                                    capsys) -> None:
    project = tmp_path / "my_pipelines"
    assert main(["init", str(project)]) == 0
    assert (project / "queries" / "requests_per_minute.test.yaml").is_file()
    assert "sqlc compile --check" in (project / ".github/workflows/sqlc.yml").read_text()
    monkeypatch.chdir(project)
    assert main(["compile", "--check"]) == 0
    assert main(["test"]) == 0, capsys.readouterr().out
    assert main(["vet"]) == 0, capsys.readouterr().err
    assert main(["init", str(project)]) == 2  # not over an existing project
    assert "not an empty directory" in capsys.readouterr().err


def test_version(capsys) -> None:
    from compiler import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sqlc {__version__}"


def test_an_explicit_watermark_fires_windows_and_makes_rows_late(project: Path, capsys) -> None:
    case = """catalog: catalog.sql
tests:
  - name: the watermark passes the first minute
    given:
      llm_requests:
        - {request_id: r1, model_id: m, timestamp_ms: 2025-11-10 10:00:10, latency_ms: 1.0}
        - {watermark: 2025-11-10 10:01:00}
        # within the 30 s delay of the rows, but behind the explicit watermark: late
        - {request_id: r2, model_id: m, timestamp_ms: 2025-11-10 10:00:50, latency_ms: 2.0}
    expect:
      rows:
        - {model_id: m, window_start: 2025-11-10 10:00:00, n: 1, avg_latency: 1.0}
      late_rows: [{latency_ms: 2.0}]
"""
    write_case(project, case)
    assert main(["test", str(project)]) == 0, capsys.readouterr().out
    # without the watermark the second row counts: the expectation fails
    write_case(project, case.replace("        - {watermark: 2025-11-10 10:01:00}\n", ""))
    assert main(["test", str(project)]) == 1
    write_case(project, case.replace(
        "        - {request_id: r1, model_id: m, timestamp_ms: 2025-11-10 10:00:10, "
        "latency_ms: 1.0}\n", "").replace("rows:\n", "rows: []\n#"))
    assert main(["test", str(project)]) == 2
    assert "a watermark must follow rows" in capsys.readouterr().err


def test_insert_into_a_kafka_sink_runs_offline(project: Path, capsys) -> None:
    (project / "catalog.sql").write_text((EXAMPLES / "catalog.sql").read_text() + """
CREATE STREAM slow (request_id VARCHAR NOT NULL, latency_ms DOUBLE)
WITH ('connector' = 'kafka', 'topic' = 'slow', 'format' = 'json',
      'properties.bootstrap.servers' = 'localhost:1');
""")
    (project / "q.sql").write_text("INSERT INTO slow SELECT request_id, latency_ms "
                                   "FROM llm_requests WHERE latency_ms > 100;\n")
    write_case(project, """catalog: catalog.sql
tests:
  - name: only the slow one, and no broker needed
    given:
      llm_requests:
        - {request_id: a, model_id: m, timestamp_ms: 2025-11-10 10:00:00, latency_ms: 50.0}
        - {request_id: b, model_id: m, timestamp_ms: 2025-11-10 10:00:01, latency_ms: 150.0}
    expect:
      rows: [{request_id: b, latency_ms: 150.0}]
""")
    assert main(["test", str(project)]) == 0, capsys.readouterr().out

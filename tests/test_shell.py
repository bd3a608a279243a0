"""`sqlc shell` read from a pipe (no terminal: plain input() instead of the
prompt_toolkit session) executes DDL, SHOW, DESCRIBE and EXPLAIN statements,
statements may span lines, and an error does not end the session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_shell_session_from_stdin(tmp_path: Path) -> None:
    script = "\n".join([
        "CREATE STREAM clicks (",
        "  user_id VARCHAR, ts BIGINT, t AS TO_TIMESTAMP(ts),",
        "  WATERMARK FOR t AS t - INTERVAL '5' SECOND",
        ") WITH ('connector' = 'kafka', 'topic' = 'clicks', 'format' = 'json');",
        "SHOW STREAMS;",
        "DESCRIBE clicks;",
        "SELECT user_idd FROM clicks;",
        "EXPLAIN SELECT user_id, COUNT(*) AS n FROM clicks GROUP BY user_id;",
        "DROP STREAM clicks;",
        "SHOW STREAMS;",
    ]) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "shell"], input=script, text=True,
        capture_output=True, cwd=tmp_path, timeout=120,
        env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "created stream clicks" in out
    assert "| clicks      | clicks | json   | bounded out-of-orderness 5000 ms |" in out
    assert "| t           | TIMESTAMP(3) | YES      | computed; event time, WATERMARK AS t - " \
           "INTERVAL '5' SECOND |" in out
    assert "unknown column 'user_idd'; did you mean 'user_id'?" in result.stderr
    assert "== Physical Plan ==" in out and "GroupAggregateExec" in out
    assert "dropped stream clicks" in out
    assert out.rstrip().endswith("0 rows\nsqlc>")  # the last SHOW, then the prompt at EOF
    assert "Traceback" not in result.stderr


def test_help_show_functions_and_quit(tmp_path: Path) -> None:
    """The SQL client's HELP; and QUIT; (EXIT; too), and SHOW FUNCTIONS; what
    comes after QUIT is not read."""
    script = "HELP;\nSHOW FUNCTIONS;\nQUIT;\nSHOW STREAMS;\n"
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "shell"], input=script, text=True,
        capture_output=True, cwd=tmp_path, timeout=120,
        env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "QUIT | EXIT (or Ctrl-D)" in out
    assert "| JSON_OBJECT " in out and "| SPLIT " in out and "| COUNT " in out
    assert "stream_name" not in out  # the SHOW STREAMS after QUIT did not run
    assert "Traceback" not in result.stderr


def test_show_create_prints_the_statement_as_written(tmp_path: Path) -> None:
    ddl = ("CREATE TABLE clicks (\n  user_id VARCHAR COMMENT 'who',\n  ts BIGINT\n"
           ") WITH ('connector' = 'kafka', 'topic' = 'clicks', 'format' = 'json');")
    script = "\n".join([ddl, "CREATE VIEW v AS SELECT user_id FROM clicks;",
                        "SHOW CREATE TABLE clicks;", "SHOW CREATE VIEW v;",
                        "SHOW CREATE TABLE nope;"]) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "shell"], input=script, text=True,
        capture_output=True, cwd=tmp_path, timeout=120,
        env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert ddl in result.stdout
    assert "CREATE VIEW v AS SELECT user_id FROM clicks;" in result.stdout
    assert "unknown stream, table or view 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_semicolon_is_said(tmp_path: Path) -> None:
    script = "SHOW TABLES\nSHOW STREAMS;\nSHOW VIEWS\n"
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "shell"], input=script, text=True,
        capture_output=True, cwd=tmp_path, timeout=120,
        env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert "these 2 lines were read as one statement" in result.stderr
    assert "the last statement has no ';' and was not run" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_query_runs_on_the_input_files(tmp_path: Path) -> None:
    """With --input, a SELECT in the shell runs on the file and prints its
    first rows (an updating GROUP BY as its final table); a source without a
    file is read as empty and says so; a bad --input is exit 2."""
    events = tmp_path / "clicks.jsonl"
    events.write_text("".join(
        f'{{"user_id": "{u}", "ts": {t}}}\n' for u, t in
        [("a", 1000), ("b", 2000), ("a", 3000), ("c", 4000), ("a", 5000)]), encoding="utf-8")
    script = "\n".join([
        "CREATE STREAM clicks (user_id VARCHAR, ts BIGINT, t AS TO_TIMESTAMP(ts),",
        "  WATERMARK FOR t AS t - INTERVAL '5' SECOND",
        ") WITH ('connector' = 'kafka', 'topic' = 'clicks', 'format' = 'json');",
        "CREATE STREAM views (user_id VARCHAR) WITH ('connector' = 'kafka', 'topic' = 'v', "
        "'format' = 'json');",
        "SELECT user_id, COUNT(*) AS n FROM clicks GROUP BY user_id;",
        "SELECT user_id FROM clicks WHERE ts > 1000;",
        "SELECT user_id FROM views;",
    ]) + "\n"
    env = {"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "shell", "--input", f"clicks={events}",
         "--limit", "2"], input=script, text=True, capture_output=True, cwd=tmp_path,
        timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    groups = {tuple(cell.strip() for cell in line.strip("|").split("|"))
              for line in out.splitlines() if line.startswith("| ") and "user_id" not in line}
    pairs = {row for row in groups if len(row) == 2}
    assert len(pairs) == 2 and pairs <= {("a", "3"), ("b", "1"), ("c", "1")}
    assert "2 rows shown of 3 (--limit 2)" in out  # the GROUP BY's final table
    assert "2 rows shown of 4 (--limit 2)" in out  # the filter's rows
    assert "note: no --input for views: read as empty" in result.stderr
    assert "0 rows" in out
    assert "Traceback" not in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "shell", "--input", "clicks"], input="",
        text=True, capture_output=True, cwd=tmp_path, timeout=120, env=env)
    assert bad.returncode == 2
    assert "write --input NAME=PATH" in bad.stderr and "Traceback" not in bad.stderr

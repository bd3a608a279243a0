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

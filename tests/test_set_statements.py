"""Flink's ``SET 'key' = 'value'`` / ``RESET`` statements (compiler/settings.py):
parsed with positions, checked against the table of options sqlc knows,
and kept by sqlc shell / sqlc exec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compiler import ast
from compiler.driver import analyze, compile_source
from compiler.errors import Source, SqlcError
from compiler.parse import parse_sql
from compiler.settings import IGNORED, OPTIONS

ROOT = Path(__file__).resolve().parent.parent
CATALOG = str(ROOT / "examples" / "catalog.sql")
QUERY = "SELECT request_id, model_id FROM llm_requests WHERE error_code IS NOT NULL;\n"


def errors_of(sql: str) -> list[tuple[str, str, str, str]]:
    """(kind, 'line:col', the text under the caret, message) of each error."""
    source = Source("set.sql", sql)
    with pytest.raises(SqlcError) as raised:
        analyze(source, [CATALOG])
    found = []
    for d in raised.value.diagnostics:
        line, col = source.line_col(d.span.start)
        found.append((d.kind, f"{line}:{col}", source.fragment(d.span), d.message))
    return found


def settings_of(sql: str) -> tuple[list[tuple[str, str]], list[str]]:
    analysis = analyze(Source("set.sql", sql), [CATALOG])
    return analysis.catalog.settings.items(), [w.render(analysis.source)
                                               for w in analysis.warnings]


# ------------------------------------------------------------------------- parse


@pytest.mark.parametrize(("sql", "key", "value", "key_text"), [
    ("SET 'execution.checkpointing.interval' = '10s'", "execution.checkpointing.interval",
     "10s", "'execution.checkpointing.interval'"),
    # Flink 1.x: unquoted keys (INTERVAL and TABLE are keywords, '-' an operator)
    ("SET execution.checkpointing.interval = '10 s'", "execution.checkpointing.interval",
     "10 s", "execution.checkpointing.interval"),
    ("SET table.exec.mini-batch.enabled = true", "table.exec.mini-batch.enabled", "true",
     "table.exec.mini-batch.enabled"),
    ("SET 'pipeline.name' = 'it''s'", "pipeline.name", "it's", "'pipeline.name'"),
])
def test_set_parses_with_its_spans(sql, key, value, key_text):
    stmt = parse_sql(sql).statements[0]
    assert stmt == ast.Set(key, value)
    assert sql[stmt.key_span.start:stmt.key_span.end] == key_text
    assert sql[stmt.span.start:stmt.span.end] == sql


def test_set_alone_reset_and_reset_alone_parse():
    statements = parse_sql("SET; RESET 'pipeline.name'; RESET pipeline.name; RESET;").statements
    assert statements == (ast.Set(), ast.Reset("pipeline.name"), ast.Reset("pipeline.name"),
                          ast.Reset())


@pytest.mark.parametrize(("sql", "pos", "message"), [
    ("SET 'pipeline.name' 'x';", "1:21", "Expected '=' and a quoted value after SET"),
    ("SET 'pipeline.name' = 'a' 'b';", "1:27", "Expected the end of the SET statement"),
    ("SET = 'x';", "1:5", "Expected a quoted key after SET"),
    ("RESET 'pipeline.name' 'x';", "1:23", "Expected the end of the RESET statement"),
])
def test_syntax_errors_are_positioned(sql, pos, message):
    [(kind, where, _, text)] = errors_of(sql)
    assert (kind, where) == ("SqlSyntaxError", pos)
    assert message in text


# ----------------------------------------------------------------------- analyze


def test_unknown_key_has_a_did_you_mean():
    [(kind, pos, at, message)] = errors_of(
        "SET 'execution.checkpointing.intervall' = '1s';\n" + QUERY)
    assert (kind, pos, at) == ("BindError", "1:5", "'execution.checkpointing.intervall'")
    assert message == ("unknown option 'execution.checkpointing.intervall'; did you mean "
                       "'execution.checkpointing.interval'?")


def test_bad_values_name_the_expected_form():
    found = errors_of("SET 'execution.checkpointing.interval' = '10 parsecs';\n"
                      "SET 'execution.checkpointing.interval' = '0s';\n"
                      "SET 'state.checkpoints.dir' = 's3://bucket/chk';\n" + QUERY)
    assert [(kind, pos, at) for kind, pos, at, _ in found] == [
        ("BindError", "1:42", "'10 parsecs'"), ("BindError", "2:42", "'0s'"),
        ("BindError", "3:31", "'s3://bucket/chk'")]
    assert "takes a positive duration such as '10s', '500 ms' or '1 min'" in found[0][3]
    assert "local directory" in found[2][3]


def test_batch_mode_is_refused_streaming_is_ignored():
    [(kind, pos, at, message)] = errors_of("SET 'execution.runtime-mode' = 'batch';\n" + QUERY)
    assert (kind, pos, at) == ("UnsupportedError", "1:32", "'batch'")
    assert "streaming" in message
    items, warnings = settings_of("SET 'execution.runtime-mode' = 'STREAMING';\n" + QUERY)
    assert items == [("execution.runtime-mode", "STREAMING")]
    assert warnings[0].startswith("set.sql:1:5: warning: sqlc ignores 'execution.runtime-mode'")


def test_ignored_keys_warn_with_a_reason_each():
    sql = "".join(f"SET '{key}' = '1';\n" for key in IGNORED
                  if key != "execution.runtime-mode") + QUERY
    _, warnings = settings_of(sql)
    assert len(warnings) == len(IGNORED) - 1
    for line, (key, warning) in enumerate(zip([k for k in IGNORED
                                               if k != "execution.runtime-mode"], warnings)):
        assert warning.splitlines()[0] == (f"set.sql:{line + 1}:5: warning: sqlc ignores "
                                           f"'{key}': {IGNORED[key]}")


def test_a_later_set_wins_and_reset_removes():
    items, _ = settings_of("SET 'pipeline.name' = 'a';\n"
                           "SET 'execution.checkpointing.interval' = '1 min';\n"
                           "SET 'pipeline.name' = 'b';\n"
                           "SET 'execution.checkpointing.dir' = '/tmp/x';\n"
                           "RESET 'execution.checkpointing.dir';\n" + QUERY)
    assert items == [("execution.checkpointing.interval", "1 min"), ("pipeline.name", "b")]
    items, _ = settings_of("SET 'pipeline.name' = 'a';\nRESET;\n" + QUERY)
    assert items == []


def test_reset_of_an_unknown_key_is_an_error():
    [(kind, pos, _, message)] = errors_of("RESET 'pipline.name';\n" + QUERY)
    assert (kind, pos) == ("BindError", "1:7")
    assert "did you mean 'pipeline.name'?" in message


def test_set_alone_in_a_compiled_file_is_an_error_with_a_hint():
    source = Source("set.sql", "SET;\n" + QUERY)
    with pytest.raises(SqlcError) as raised:
        compile_source(source, [CATALOG])
    [error] = raised.value.diagnostics
    assert (error.kind, error.span.start) == ("UnsupportedError", 0)
    assert "sqlc shell" in error.message and "SET 'key' = 'value'" in error.hint


def test_every_option_has_a_kind_and_a_description():
    for option in OPTIONS.values():
        assert option.kind in ("duration", "path", "text") and option.description


# ------------------------------------------------------------------------- shell


def test_shell_sets_resets_and_lists(tmp_path):
    script = "\n".join([
        "SET 'execution.checkpointing.interval' = '10 s';",
        "SET 'parallelism.default' = '4';",
        "SET 'pipline.name' = 'x';",
        "SET;",
        "RESET 'parallelism.default';",
        "SET;",
        "RESET;",
        "SET;",
    ]) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "shell"], input=script, text=True,
        capture_output=True, cwd=tmp_path, timeout=120, check=False,
        env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "[INFO] Execute statement succeeded." in result.stdout
    assert "| execution.checkpointing.interval | 10 s  |" in result.stdout
    assert "| parallelism.default              | 4     |" in result.stdout
    assert "2 rows" in result.stdout and "1 row\n" in result.stdout
    assert "All session properties have been set to their default values." in result.stdout
    assert result.stdout.rstrip().endswith("0 rows\nsqlc>")
    assert "warning: sqlc ignores 'parallelism.default'" in result.stderr
    assert "did you mean 'pipeline.name'?" in result.stderr
    assert "Traceback" not in result.stderr

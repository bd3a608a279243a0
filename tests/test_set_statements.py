"""Flink's ``SET 'key' = 'value'`` / ``RESET`` statements (compiler/settings.py):
parsed with positions, checked against the table of options sqlc knows,
carried by the generated module as ``Query.settings``, and read by the
pipeline as the defaults of its checkpoint flags."""

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
from runtime_lib.pipeline import Pipeline, PipelineError, _parse_args, _recovery
from runtime_lib.recovery import RecoveryError

ROOT = Path(__file__).resolve().parent.parent
CATALOG = str(ROOT / "examples" / "catalog.sql")
EVENTS = ROOT / "examples" / "data" / "llm_requests.jsonl"
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
                      "SET 'state.checkpoints.dir' = 's3://bucket/chk';\n"
                      "SET 'state.checkpoints.num-retained' = '0';\n" + QUERY)
    assert [(kind, pos, at) for kind, pos, at, _ in found] == [
        ("BindError", "1:42", "'10 parsecs'"), ("BindError", "2:42", "'0s'"),
        ("BindError", "3:31", "'s3://bucket/chk'"), ("BindError", "4:40", "'0'")]
    assert "takes a whole number, at least 1" in found[3][3]
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
        assert option.kind in ("duration", "path", "count", "text") and option.description


# ----------------------------------------------------------------------- codegen


def compiled_module(sql: str, tmp_path: Path) -> Path:
    module = compile_source(Source("set.sql", sql), [CATALOG]).module
    assert module is not None
    path = tmp_path / "set_query.py"
    path.write_text(module, encoding="utf-8")
    return path


def test_the_generated_module_carries_the_options_it_reads(tmp_path):
    module = compiled_module("SET 'parallelism.default' = '4';\n"
                             "SET 'pipeline.name' = 'x\"y';\n"
                             "SET 'execution.checkpointing.interval' = '500 ms';\n" + QUERY,
                             tmp_path).read_text()
    assert ('    settings = {"execution.checkpointing.interval": "500 ms", '
            "\"pipeline.name\": 'x\"y'}\n") in module
    assert "parallelism" not in module.split('"""')[2]  # ignored: only in the docstring
    plain = compile_source(Source("q.sql", QUERY), [CATALOG]).module
    assert "settings" not in plain


# ----------------------------------------------------------------------- runtime


def run_module(path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(path), "--input", f"llm_requests={EVENTS}",
                           *args], capture_output=True, text=True, timeout=300, env=env,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_set_checkpoint_dir_checkpoints_without_a_flag_and_the_flag_wins(tmp_path):
    from_set, from_flag = tmp_path / "from-set", tmp_path / "from-flag"
    path = compiled_module(f"SET 'execution.checkpointing.dir' = 'file://{from_set}';\n" + QUERY,
                           tmp_path)
    out = tmp_path / "out.jsonl"
    run_module(path, "--output", str(out), "--quiet")
    assert [p.name for p in from_set.iterdir()] == ["chk-000001"]
    written = out.read_bytes()
    again = run_module(path, "--output", str(out))  # resumes: nothing read twice
    assert "0 records read" in again.stderr and out.read_bytes() == written
    before = sorted(from_set.iterdir())
    run_module(path, "--output", str(tmp_path / "out2.jsonl"), "--checkpoint-dir",
               str(from_flag), "--quiet")
    assert [p.name for p in from_flag.iterdir()] == ["chk-000001"]
    assert sorted(from_set.iterdir()) == before  # the flag won: nothing written there


def test_legacy_key_and_variables_in_the_directory(tmp_path):
    path = compiled_module("SET 'state.checkpoints.dir' = '${SQLC_TEST_CHK}/q';\n" + QUERY,
                           tmp_path)
    env = {"PATH": "/usr/bin:/bin", "SQLC_TEST_CHK": str(tmp_path / "root")}
    run_module(path, "--output", str(tmp_path / "out.jsonl"), "--quiet", env=env)
    assert (tmp_path / "root" / "q" / "chk-000001").is_dir()
    missing = subprocess.run([sys.executable, str(path), "--input", f"llm_requests={EVENTS}"],
                             capture_output=True, text=True, timeout=300,
                             env={"PATH": "/usr/bin:/bin"}, check=False)
    assert missing.returncode == 2
    assert "SQLC_TEST_CHK is not set" in missing.stderr


def query_with(settings: dict[str, str]) -> type[Pipeline]:
    return type("Query", (Pipeline,), {"settings": settings})


def test_interval_from_the_set_and_the_flag_over_it(tmp_path):
    query = query_with({"execution.checkpointing.dir": str(tmp_path),
                        "execution.checkpointing.interval": "1 min"})
    assert _recovery(_parse_args([], query), query).interval_s == 60.0
    flagged = _parse_args(["--checkpoint-interval", "500 ms"], query)
    assert _recovery(flagged, query).interval_s == 0.5
    other = tmp_path / "other"
    assert _recovery(_parse_args(["--checkpoint-dir", str(other)], query),
                     query).store.directory == other
    # an interval without a directory: no checkpoints (as Flink without a directory)
    interval_only = query_with({"execution.checkpointing.interval": "1s"})
    assert _recovery(_parse_args([], interval_only), interval_only) is None
    assert _recovery(_parse_args([], Pipeline), Pipeline) is None
    with pytest.raises(PipelineError):
        _recovery(_parse_args(["--checkpoint-interval", "1s"], Pipeline), Pipeline)
    with pytest.raises(RecoveryError, match="SET 'execution.checkpointing.interval'"):
        bad = query_with({"execution.checkpointing.dir": str(tmp_path),
                          "execution.checkpointing.interval": "soon"})
        _recovery(_parse_args([], bad), bad)


def test_checkpoints_retained_from_the_set_and_the_flag_over_it(tmp_path):
    query = query_with({"execution.checkpointing.dir": str(tmp_path),
                        "state.checkpoints.num-retained": "5"})
    assert _recovery(_parse_args([], query), query).store.keep == 5
    assert _recovery(_parse_args(["--checkpoints-retained", "1"], query), query).store.keep == 1
    plain = query_with({"execution.checkpointing.dir": str(tmp_path)})
    assert _recovery(_parse_args([], plain), plain).store.keep == 3
    for bad in ("0", "two", "-1"):
        with pytest.raises(PipelineError, match="--checkpoints-retained"):
            _recovery(_parse_args(["--checkpoints-retained", bad], plain), plain)
    with pytest.raises(PipelineError, match="needs --checkpoint-dir"):
        _recovery(_parse_args(["--checkpoints-retained", "2"], Pipeline), Pipeline)


def test_a_run_keeps_as_many_checkpoints_as_retained(tmp_path):
    path = compiled_module("SET 'state.checkpoints.num-retained' = '2';\n" + QUERY, tmp_path)
    checkpoints = tmp_path / "chk"
    run_module(path, "--output", str(tmp_path / "out.jsonl"), "--quiet", "--batch-size", "100",
               "--checkpoint-dir", str(checkpoints), "--checkpoint-interval", "1ms")
    kept = sorted(entry.name for entry in checkpoints.iterdir())
    assert len(kept) == 2 and kept[-1] > "chk-000002", kept  # more were taken, two kept


def test_help_names_the_set_defaults(tmp_path):
    path = compiled_module("SET 'execution.checkpointing.dir' = '/var/lib/q';\n" + QUERY,
                           tmp_path)
    text = " ".join(run_module(path, "--help").stdout.split())
    assert "(default: '/var/lib/q', from the SQL's SET 'execution.checkpointing.dir')" in text
    assert "SET 'execution.checkpointing.interval' = '...' in the SQL gives one" in text


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

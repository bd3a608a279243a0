"""Defects found by trying sqlc as a new user would (issue 10), each written the
way the user hit it: a query file, an input, the ``sqlc`` command or the
generated module, and what the user must see now.

The runtime's side of that issue (dead-letter wording, deeply nested JSON, a
Kafka sink whose broker comes back empty, SIGTERM while starting) is tested
next to the runtime (tests/runtime, tests/test_kafka.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError
from tests.test_cli import CATALOG, sqlc, user_error

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared" / "spec" / "streaming-sql-requirements.md"
BASE = 1_700_000_000_000


def compile_text(tmp_path: Path, sql: str, name: str = "query") -> Path:
    source = Source(str(tmp_path / f"{name}.sql"), sql)
    module = tmp_path / f"{name}.py"
    module.write_text(compile_source(source, [CATALOG]).module or "", encoding="utf-8")
    return module


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def output_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def errors_of(sql: str) -> list[tuple[int, int, str, str]]:
    """(line, col, kind, message) of every error the query gets."""
    with pytest.raises(SqlcError) as raised:
        compile_source(Source("q.sql", sql), [CATALOG])
    source = raised.value.source
    return [(*source.line_col(d.span.start), d.kind, d.message)
            for d in raised.value.diagnostics]


# ------------------------------------------------- the spec's syntax, as written


def spec_example(requirement: str) -> str:
    """The first ```sql block after a requirement's heading in the spec."""
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index(f"#### {requirement}"):]
    return section.split("```sql\n", 1)[1].split("```", 1)[0]


def test_fr_ddl_002_example_compiles_as_the_spec_writes_it(tmp_path: Path) -> None:
    ddl = spec_example("FR-DDL-002")
    assert "model_id VARCHAR PRIMARY KEY," in ddl  # the spec's form: no NOT ENFORCED
    # the spec's table, joined as a lookup table by a query of its own
    sql = ddl.replace("model_configs", "spec_model_configs") + """
SELECT r.request_id, c.max_tokens
FROM llm_requests r
JOIN spec_model_configs FOR SYSTEM_TIME AS OF r.proc_time AS c ON r.model_id = c.model_id;
"""
    compiled = compile_source(Source("fr_ddl_002.sql", sql), [CATALOG])
    assert "LookupJoin" in (compiled.module or "")


def test_the_example_catalog_declares_the_key_as_the_spec_does() -> None:
    catalog = CATALOG.read_text(encoding="utf-8")
    assert re.search(r"^\s*model_id VARCHAR PRIMARY KEY,", catalog, re.MULTILINE)
    assert "NOT ENFORCED" not in catalog


def test_an_enforced_primary_key_is_still_refused() -> None:
    sql = ("CREATE TABLE t (id VARCHAR PRIMARY KEY ENFORCED, v INT) "
           "WITH ('connector' = 'postgres', 'table-name' = 't');\n"
           "SELECT request_id FROM llm_requests;")
    [(line, col, kind, message)] = errors_of(sql)
    assert (line, col, kind) == (1, 17, "UnsupportedError")
    assert "declare it NOT ENFORCED" in message


def test_emit_changes_on_a_query_without_aggregation_emits_every_row(tmp_path: Path) -> None:
    rows = [{"request_id": f"r{i}", "user_id": "u", "model_id": "m", "timestamp_ms": BASE + i,
             "latency_ms": 900.0 + 100 * i} for i in range(5)]
    events = write_jsonl(tmp_path / "events.jsonl", rows)
    outputs = {}
    for name, emit in (("plain", ""), ("changes", "\nEMIT CHANGES")):
        module = compile_text(tmp_path, "SELECT request_id, latency_ms FROM llm_requests\n"
                                        f"WHERE latency_ms > 1000{emit};", name)
        out = tmp_path / f"{name}.jsonl"
        assert run_module(module, ["--input", f"llm_requests={events}", "--output", str(out),
                                   "--quiet"]) == 0
        outputs[name] = output_rows(out)
    assert outputs["changes"] == outputs["plain"]
    assert [r["request_id"] for r in outputs["changes"]] == ["r2", "r3", "r4"]


def test_emit_after_watermark_without_aggregation_is_refused_with_the_alternative() -> None:
    [(line, col, kind, message)] = errors_of(
        "SELECT request_id FROM llm_requests\nEMIT AFTER WATERMARK;")
    assert (line, col, kind) == (2, 1, "BindError")
    assert "EMIT AFTER WATERMARK applies to an aggregation" in message


def test_an_empty_in_list_is_a_syntax_error(tmp_path: Path) -> None:
    query = tmp_path / "in.sql"
    query.write_text("SELECT request_id\nFROM llm_requests\nWHERE region IN ();\n")
    stderr = user_error(sqlc("compile", str(query), "--catalog", str(CATALOG),
                             "-o", str(tmp_path / "in.py")))
    assert f"{query}:3:7: error: SqlSyntaxError: Expected at least one value in IN" in stderr
    assert not (tmp_path / "in.py").exists()


def test_every_independent_error_of_a_conjunction_is_reported(tmp_path: Path) -> None:
    query = tmp_path / "and.sql"
    query.write_text("SELECT request_id FROM llm_requests\n"
                     "WHERE latency_ms > 'slow' AND nosuchfn(model_id) = 1\n"
                     "   OR COALESCE(latncy_ms, 0) > 1;\n")
    stderr = user_error(sqlc("compile", str(query), "--catalog", str(CATALOG),
                             "-o", str(tmp_path / "and.py")))
    assert re.findall(r":(\d+:\d+): error: (\w+): ([^\n]*)", stderr) == [
        ("2:20", "BindError", "cannot compare DOUBLE with VARCHAR"),
        ("2:31", "BindError", "unknown function NOSUCHFN"),
        ("3:16", "BindError", "unknown column 'latncy_ms'; did you mean 'latency_ms'?"),
    ]
    assert "3 errors" in stderr


# ------------------------------------------------------------------ crashes


def test_a_column_name_with_a_double_quote_is_refused_at_compile_time(tmp_path: Path) -> None:
    query = tmp_path / "quoted.sql"
    query.write_text(
        "CREATE STREAM ev (\n"
        "    `a\"b` VARCHAR,\n"
        "    ts BIGINT\n"
        ") WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');\n"
        "SELECT `a\"b`, ts FROM ev;\n")
    stderr = user_error(sqlc("compile", str(query), "-o", str(tmp_path / "quoted.py")))
    assert f"{query}:2:5: error: UnsupportedError: column name 'a\"b' contains a double quote" \
        in stderr


@pytest.mark.parametrize("command", ["compile", "explain", "run"])
def test_a_missing_catalog_file_is_a_one_line_error(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_catalog.sql"
    args = [command, str(ROOT / "examples" / "s01_latency_classes.sql"), "--catalog",
            str(missing)]
    if command == "compile":
        args += ["-o", str(tmp_path / "out.py")]
    stderr = user_error(sqlc(*args))
    assert stderr.strip() == f"sqlc: error: no such file: {missing}"


def test_a_window_over_a_lookup_join_runs_and_matches_duckdb(tmp_path: Path) -> None:
    """It died with ``internal error: KeyError: 'model_configs'``: the generated
    ``advance`` took the lookup table's watermark as if it were a source's."""
    module = compile_text(tmp_path, """
CREATE VIEW enriched AS
SELECT r.model_id, r.event_time, r.tokens_used * c.cost_per_token AS cost_est
FROM llm_requests r
JOIN model_configs FOR SYSTEM_TIME AS OF r.proc_time AS c ON r.model_id = c.model_id;

SELECT model_id, window_start, COUNT(*) AS requests, SUM(cost_est) AS cost
FROM TABLE(TUMBLE(TABLE enriched, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY model_id, window_start, window_end;
""")
    # in event-time order: no row is late, so the batch answer is the streaming one
    requests = write_jsonl(tmp_path / "requests.jsonl", [
        {"request_id": f"r{i}", "user_id": "u", "model_id": ["a", "b", "zz"][i % 3],
         "timestamp_ms": BASE + 7_000 * i, "tokens_used": i} for i in range(60)])
    configs = write_jsonl(tmp_path / "configs.jsonl", [
        {"model_id": "a", "cost_per_token": 0.5}, {"model_id": "b", "cost_per_token": 2.0}])
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--input", f"llm_requests={requests}", "--input",
                               f"model_configs={configs}", "--output", str(out),
                               "--quiet"]) == 0
    got = sorted((r["model_id"], r["window_start"], r["requests"], r["cost"])
                 for r in output_rows(out))
    expected = duckdb.sql(f"""
        SELECT r.model_id,
               strftime(time_bucket(INTERVAL 1 MINUTE, make_timestamp(r.timestamp_ms * 1000)),
                        '%Y-%m-%d %H:%M:%S.000') AS window_start,
               COUNT(*), SUM(r.tokens_used * c.cost_per_token)
        FROM read_json('{requests}') r JOIN read_json('{configs}') c USING (model_id)
        GROUP BY ALL ORDER BY ALL""").fetchall()
    assert got == [tuple(row) for row in expected]
    assert len(got) > 10


# ------------------------------------------------------------- wrong answers


def test_an_event_time_temporal_join_on_upsert_kafka_joins_versions_not_latest_rows() -> None:
    """FOR SYSTEM_TIME AS OF an event-time attribute must give the version valid at
    that time (Flink); sqlc returned the latest version without a word."""
    ddl = """
CREATE TABLE orders (
    order_id VARCHAR, currency VARCHAR, price DOUBLE, ts BIGINT,
    order_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR order_time AS order_time - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'orders', 'format' = 'json',
        'properties.bootstrap.servers' = 'localhost:9092');
CREATE TABLE currency_rates (
    currency VARCHAR, rate DOUBLE, ts BIGINT,
    update_time AS TO_TIMESTAMP(ts),
    proc_time AS PROCTIME(),
    WATERMARK FOR update_time AS update_time - INTERVAL '1' SECOND,
    PRIMARY KEY (currency) NOT ENFORCED
) WITH ('connector' = 'upsert-kafka', 'topic' = 'rates', 'key.format' = 'json',
        'value.format' = 'json', 'properties.bootstrap.servers' = 'localhost:9092');
"""
    query = """SELECT o.order_id, o.price * r.rate AS converted
FROM orders AS o
JOIN currency_rates FOR SYSTEM_TIME AS OF o.order_time AS r
ON o.currency = r.currency;"""
    # first refused (it was answered with the latest rows), now joined as Flink does:
    # the upsert-kafka topic is read as a stream of versions and their deletes
    # (tests/test_temporal_join_changelog.py checks the rows against tansu)
    module = compile_source(Source("q.sql", ddl + query), [CATALOG]).module or ""
    assert "TemporalJoin(" in module and "LookupJoin" not in module
    assert "changelog=[I,UA,D]" in module

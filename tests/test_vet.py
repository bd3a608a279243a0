"""``sqlc vet`` (compiler/vet.py): each rule fires where it should, with its
id, position and hint; a query file opts out per rule; exit 1 on warnings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler.cli import main
from compiler.vet import RULES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CATALOG = ["--catalog", str(EXAMPLES / "catalog.sql")]


def vet(capsys, *files: str) -> tuple[int, list[tuple[str, str, int]]]:
    """Exit code, and (file name, rule id, line) per warning."""
    capsys.readouterr()
    code = main(["vet", *files, *CATALOG])
    err = capsys.readouterr().err
    found = re.findall(r"([\w.]+):(\d+):\d+: warning: (SV\d{3}) ", err)
    return code, [(Path(f).name, rule, int(line)) for f, line, rule in found]


@pytest.mark.parametrize("example, rule, line", [
    ("fr_dql_002_aggregations.sql", "SV001", 7),  # GROUP BY without a window, no TTL
    ("q13_ab_test.sql", "SV001", 30),  # a regular join, no TTL
    ("q06_session_analytics.sql", "SV002", 16),  # a global SESSION grouped by user
    ("fr_time_002_processing_time.sql", "SV003", 10),  # a PROCTIME window with event time
    ("fr_join_001_stream_table.sql", "SV005", 16),  # a PostgreSQL lookup, no cache
    ("q01_request_rate.sql", "SV006", 11),  # a Kafka source feeding a window, no idle timeout
])
def test_a_rule_fires_on_an_example(capsys, example: str, rule: str, line: int) -> None:
    code, found = vet(capsys, str(EXAMPLES / example))
    assert code == 1
    assert (example, rule, line) in found


def test_rules_that_do_not_apply_stay_quiet(capsys) -> None:
    _code, found = vet(capsys, str(EXAMPLES / "q06b_session_per_user.sql"),
                      str(EXAMPLES / "s01_latency_classes.sql"))
    rules = {rule for _, rule, _ in found}
    assert "SV002" not in rules  # PARTITION BY user_id
    assert not [f for f in found if f[0] == "s01_latency_classes.sql"]  # stateless: no SV006


def test_the_catalog_among_the_files_is_read_once(capsys) -> None:
    """`sqlc vet examples/*.sql` names the catalog too: its DDL is not defined twice."""
    code, found = vet(capsys, str(EXAMPLES / "catalog.sql"), str(EXAMPLES / "q01_request_rate.sql"))
    assert code == 1 and ("q01_request_rate.sql", "SV006", 11) in found
    assert not [f for f in found if f[0] == "catalog.sql"]
    capsys.readouterr()
    assert main(["vet", str(EXAMPLES / "catalog.sql"), *CATALOG]) == 0
    assert "already exists" not in capsys.readouterr().err


def test_insert_select_star_and_opt_outs(tmp_path: Path, capsys) -> None:
    catalog = tmp_path / "catalog.sql"
    catalog.write_text((EXAMPLES / "catalog.sql").read_text() + """
CREATE STREAM copies (request_id VARCHAR NOT NULL, user_id VARCHAR, model_id VARCHAR NOT NULL,
    region VARCHAR, timestamp_ms BIGINT NOT NULL, latency_ms DOUBLE, tokens_used INT,
    cost DOUBLE, error_code VARCHAR, experiment_id VARCHAR, variant VARCHAR,
    prompt_text VARCHAR)
WITH ('connector' = 'kafka', 'topic' = 'copies', 'format' = 'json',
      'properties.bootstrap.servers' = 'localhost:9092');
""")
    query = tmp_path / "copy.sql"
    query.write_text("INSERT INTO copies\nSELECT * FROM requests_raw;\n".replace(
        "requests_raw", "(SELECT request_id, user_id, model_id, region, timestamp_ms, "
        "latency_ms, tokens_used, cost, error_code, experiment_id, variant, prompt_text "
        "FROM llm_requests)"))
    capsys.readouterr()
    assert main(["vet", str(query), "--catalog", str(catalog)]) == 1
    assert "warning: SV004 select-star-sink: INSERT INTO copies SELECT *" in capsys.readouterr().err
    session = tmp_path / "session.sql"
    text = (EXAMPLES / "q06_session_analytics.sql").read_text()
    session.write_text("-- sqlc-vet: ignore SV002, no-idle-timeout\n" + text)
    code, found = vet(capsys, str(session))
    assert code == 0 and found == []


def test_every_rule_has_an_id_name_and_hint() -> None:
    assert sorted(RULES) == [f"SV00{i}" for i in range(1, 7)]
    for rule in RULES.values():
        assert re.fullmatch(r"[a-z-]+", rule.name) and rule.hint

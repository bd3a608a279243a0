"""The messages a new user meets first: ``sqlc compile`` where no catalog is
found says so and shows ``--catalog``; ``sqlc run`` of a Kafka source with no
brokers suggests ``--input NAME=PATH``; an ambiguous column names every
candidate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOG = """
CREATE TABLE a (k VARCHAR, ts BIGINT NOT NULL, event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'a', 'format' = 'json');
CREATE TABLE b (k VARCHAR, ts BIGINT NOT NULL, event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'b', 'format' = 'json');
"""


def sqlc(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "compiler.cli", *args], text=True, capture_output=True,
        cwd=tmp_path, timeout=300,
        env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})


def test_compile_without_a_catalog_says_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT k FROM a;", encoding="utf-8")
    result = sqlc(tmp_path, "compile", "q.sql")
    assert result.returncode == 2
    assert "unknown stream, table or view 'a'" in result.stderr
    assert "no pyproject.toml with [tool.sqlc]" in result.stderr
    assert "--catalog FILE.sql" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_of_a_kafka_source_without_brokers_suggests_input(tmp_path: Path) -> None:
    (tmp_path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    (tmp_path / "q.sql").write_text("SELECT k FROM a;", encoding="utf-8")
    result = sqlc(tmp_path, "run", "q.sql", "--catalog", "catalog.sql")
    assert result.returncode != 0
    assert "--input a=PATH" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_ambiguous_column_names_every_source(tmp_path: Path) -> None:
    (tmp_path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    (tmp_path / "q.sql").write_text(
        "SELECT k FROM a JOIN b ON a.k = b.k "
        "AND a.event_time BETWEEN b.event_time AND b.event_time + INTERVAL '1' MINUTE;",
        encoding="utf-8")
    result = sqlc(tmp_path, "compile", "q.sql", "--catalog", "catalog.sql")
    assert result.returncode == 2
    assert "column 'k' is ambiguous; it is in a, b" in result.stderr

"""Flink's statement sets: ``EXECUTE STATEMENT SET BEGIN ... END;`` and
``BEGIN STATEMENT SET; ... END;`` compile their INSERTs into one module, the
same as the INSERTs written one after the other (each source read once);
anything but an INSERT inside, or a set never closed, is a positioned error."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError
from compiler.physical import explain_physical

CATALOG = """
CREATE TABLE a (
    k VARCHAR, v INT, ts BIGINT NOT NULL,
    event_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'a', 'format' = 'json');
CREATE TABLE big (k VARCHAR, v INT) WITH ('connector' = 'print');
CREATE TABLE counts (k VARCHAR, c BIGINT) WITH ('connector' = 'print');
"""
INSERTS = """INSERT INTO big SELECT k, v FROM a WHERE v > 1;
INSERT INTO counts SELECT k, COUNT(*) AS c FROM a GROUP BY k;
"""
FORMS = {
    "execute": f"EXECUTE STATEMENT SET\nBEGIN\n{INSERTS}END;\n",
    "execute_lower": f"execute statement set begin\n{INSERTS}end;\n",
    "begin": f"BEGIN STATEMENT SET;\n{INSERTS}END;\n",
}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sets")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    return str(path / "catalog.sql")


def plans(sql: str, catalog: str) -> list[str]:
    return [explain_physical(p) for p in compile_source(Source("q.sql", sql), [catalog]).physical]


@pytest.mark.parametrize("form", list(FORMS))
def test_a_statement_set_is_its_inserts(form: str, catalog: str,
                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        got = plans(FORMS[form], catalog)
    assert not caplog.records  # no parser warning leaks
    assert len(got) == 2
    assert got == plans(INSERTS, catalog)


def test_a_statement_set_runs_reading_its_source_once(catalog: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    compiled = compile_source(Source("set.sql", FORMS["execute"]), [catalog])
    module = tmp_path / "set.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    assert compiled.module.count("def on_a(") == 1
    data = tmp_path / "a.jsonl"
    rows = [{"k": "x", "v": 2, "ts": 1_000}, {"k": "x", "v": 1, "ts": 2_000},
            {"k": "y", "v": 5, "ts": 3_000}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    capsys.readouterr()
    assert run_module(module, ["--input", f"a={data}", "--quiet"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    big = [r for r in printed if "v" in r]
    counts = {}
    for r in printed:  # the changelog of the counts, applied
        if "c" in r and r.get("_op", "+I") in ("+I", "+U"):
            counts[r["k"]] = r["c"]
    assert len(big) + sum(1 for r in printed if "c" in r) == len(printed)
    assert sorted((r["k"], r["v"]) for r in big) == [("x", 2), ("y", 5)]
    assert counts == {"x": 2, "y": 1}


@pytest.mark.parametrize("sql, where, words", [
    ("BEGIN STATEMENT SET;\nSELECT k FROM a;\nEND;", "SELECT k",
     "a STATEMENT SET holds INSERT INTO statements only, not SELECT"),
    ("EXECUTE STATEMENT SET BEGIN\nINSERT INTO big SELECT k, v FROM a;", "EXECUTE",
     "the STATEMENT SET is not closed: end it with END;"),
])
def test_statement_set_errors_are_positioned(sql: str, where: str, words: str,
                                             catalog: str) -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", sql), [catalog])
    text = info.value.render()
    assert words in text
    before = sql[: sql.index(where)]
    line, col = before.count("\n") + 1, len(before.split("\n")[-1]) + 1
    assert f"q.sql:{line}:{col}:" in text

"""JSON_OBJECT, JSON_ARRAY and SPLIT compiled and run, against DuckDB
(``json_object``, ``string_split``) and, for JSON_ARRAY's ABSENT ON NULL
(DuckDB keeps NULLs), a reference written here; NULL values, empty strings,
quotes, whatever the batch size."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

CATALOG = """
CREATE TABLE ev (
    i BIGINT NOT NULL,
    s VARCHAR,
    n INT,
    x DOUBLE,
    b BOOLEAN
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
"""
SQL = ("SELECT i, JSON_OBJECT(KEY 'i' VALUE i, 's' VALUE s, 'n' VALUE n, 'x' VALUE x, "
       "'b' VALUE b) AS o, JSON_OBJECT('s' VALUE s, 'n' VALUE n ABSENT ON NULL) AS absent, "
       "JSON_ARRAY(s, n, x) AS arr, SPLIT(s, ',') AS parts, SPLIT(s, '') AS chars, "
       "SPLIT('a,,b', ',') AS fixed FROM ev")
DUCK = ("SELECT i, json_object('i', i, 's', s, 'n', n, 'x', x, 'b', b)::VARCHAR AS o, "
        "string_split(s, ',') AS parts, string_split(s, '') AS chars FROM ev ORDER BY i")


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("json_constructors")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    compiled = compile_source(Source("q.sql", SQL + ";"), [str(path / "catalog.sql")])
    (path / "q.py").write_text(compiled.module or "", encoding="utf-8")
    return path / "q.py"


def run(module: Path, rows: list[dict], batch: int) -> list[dict]:
    data, out = module.parent / "ev.jsonl", module.parent / "out.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert run_module(module, ["--input", f"ev={data}", "--output", str(out), "--quiet",
                               "--batch-size", str(batch)]) == 0
    return sorted((json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()),
                  key=lambda r: r["i"])


def check(module: Path, rows: list[dict], batch: int) -> None:
    got = run(module, rows, batch)
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, s VARCHAR, n INT, x DOUBLE, b BOOLEAN)")
    for r in rows:
        con.execute("INSERT INTO ev VALUES (?, ?, ?, ?, ?)", [r["i"], r["s"], r["n"], r["x"], r["b"]])
    expected = con.execute(DUCK).fetchall()
    assert [r["i"] for r in got] == [e[0] for e in expected]
    for r, (i, o, parts, chars), row in zip(got, expected, sorted(rows, key=lambda r: r["i"])):
        assert json.loads(r["o"]) == json.loads(o)
        assert (r["parts"], r["chars"]) == (parts, chars)
        assert json.loads(r["absent"]) == {k: row[k] for k in ("s", "n") if row[k] is not None}
        assert json.loads(r["arr"]) == [row[k] for k in ("s", "n", "x") if row[k] is not None]
        assert r["fixed"] == ["a", "", "b"]


def rows_strategy():
    text = st.one_of(st.none(), st.sampled_from(["", "a", "a,b", ",x,", 'q"uote', "ü,ß"]))

    @st.composite
    def rows(draw):
        return [{"i": i, "s": draw(text), "n": draw(st.one_of(st.none(), st.integers(-9, 9))),
                 "x": draw(st.one_of(st.none(), st.sampled_from([0.5, -2.25, 3.0]))),
                 "b": draw(st.one_of(st.none(), st.booleans()))}
                for i in range(draw(st.integers(0, 15)))]

    return rows()


def test_sample_rows(module: Path) -> None:
    rows = [{"i": 0, "s": "a,b", "n": 1, "x": 0.5, "b": True},
            {"i": 1, "s": None, "n": None, "x": None, "b": None},
            {"i": 2, "s": "", "n": 0, "x": -2.25, "b": False}]
    for batch in (1, 7, 500):
        check(module, rows, batch)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=rows_strategy(), batch=st.sampled_from([1, 7, 500]))
def test_generated_rows(rows: list[dict], batch: int, module: Path) -> None:
    check(module, rows, batch)


@pytest.mark.parametrize("expr, words", [
    ("JSON_OBJECT(KEY i VALUE s)", "JSON_OBJECT keys are strings, got BIGINT"),
    ("SPLIT(n, ',')", "SPLIT takes a string and a separator string"),
])
def test_constructor_errors(expr: str, words: str, module: Path) -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", f"SELECT {expr} AS y FROM ev;"),
                       [str(module.parent / "catalog.sql")])
    assert words in info.value.render()
    assert "q.sql:1:8:" in info.value.render()

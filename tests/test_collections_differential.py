"""ARRAY and MAP access against DuckDB: ``arr[i]`` (from 1, NULL outside the
array, the index a constant or a column), ``m['key']`` (NULL when absent),
ELEMENT_AT and CARDINALITY, over rows with NULL containers, NULL elements,
empty arrays and maps, whatever the batch size."""

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
    nums ARRAY<BIGINT>,
    tags ARRAY<VARCHAR>,
    attrs MAP<VARCHAR, VARCHAR>,
    idx INT,
    ts BIGINT NOT NULL
) WITH ('connector' = 'kafka', 'topic' = 'ev', 'format' = 'json');
"""
ITEMS = [  # (sqlc, DuckDB)
    ("nums[1]", "nums[1]"),
    ("nums[2] * 10", "nums[2] * 10"),
    ("nums[idx]", "nums[idx]"),
    ("tags[1]", "tags[1]"),
    ("attrs['model']", "attrs['model']"),
    ("ELEMENT_AT(attrs, 'region')", "attrs['region']"),
    ("ELEMENT_AT(tags, 2)", "tags[2]"),
    ("CARDINALITY(nums)", "len(nums)"),
    ("CARDINALITY(attrs)", "cardinality(attrs)"),
]


def query(duck: bool) -> str:
    items = [f"{d if duck else s} AS c{n}" for n, (s, d) in enumerate(ITEMS)]
    return f"SELECT i, {', '.join(items)} FROM ev"


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("collections")
    (path / "catalog.sql").write_text(CATALOG, encoding="utf-8")
    compiled = compile_source(Source("q.sql", query(False) + ";"), [str(path / "catalog.sql")])
    (path / "q.py").write_text(compiled.module or "", encoding="utf-8")
    return path / "q.py"


def duck_expected(rows: list[dict]) -> list[dict]:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, nums BIGINT[], tags VARCHAR[], "
                "attrs MAP(VARCHAR, VARCHAR), idx INT, ts BIGINT)")
    for r in rows:
        con.execute("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?)",
                    [r["i"], r["nums"], r["tags"], r["attrs"], r["idx"], r["ts"]])
    cursor = con.execute(query(True) + " ORDER BY i")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def run(module: Path, rows: list[dict], batch: int) -> list[dict]:
    data = module.parent / "ev.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = module.parent / "out.jsonl"
    assert run_module(module, ["--input", f"ev={data}", "--output", str(out), "--quiet",
                               "--batch-size", str(batch)]) == 0
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return sorted(got, key=lambda r: r["i"])


def rows_strategy():
    element = st.one_of(st.none(), st.integers(-5, 5))
    text = st.one_of(st.none(), st.sampled_from(["a", "b", ""]))
    entries = st.dictionaries(st.sampled_from(["model", "region", "x"]), text, max_size=3)

    @st.composite
    def rows(draw):
        return [{"i": i,
                 "nums": draw(st.one_of(st.none(), st.lists(element, max_size=4))),
                 "tags": draw(st.one_of(st.none(), st.lists(text, max_size=3))),
                 "attrs": draw(st.one_of(st.none(), entries)),
                 # from 0: DuckDB counts a negative index from the end, Flink gives NULL
                 "idx": draw(st.one_of(st.none(), st.integers(0, 5))),
                 "ts": 1_000 * i}
                for i in range(draw(st.integers(0, 20)))]

    return rows()


def test_sample_rows(module: Path) -> None:
    rows = [{"i": 0, "nums": [1, 2, 3], "tags": ["x", "y"], "attrs": {"model": "gpt"},
             "idx": 3, "ts": 0},
            {"i": 1, "nums": [], "tags": [], "attrs": {}, "idx": 0, "ts": 1},
            {"i": 2, "nums": None, "tags": None, "attrs": None, "idx": None, "ts": 2},
            {"i": 3, "nums": [None, 7], "tags": [None], "attrs": {"region": None},
             "idx": 2, "ts": 3}]
    for batch in (1, 7, 500):
        assert run(module, rows, batch) == duck_expected(rows)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=rows_strategy(), batch=st.sampled_from([1, 7, 500]))
def test_generated_rows(rows: list[dict], batch: int, module: Path) -> None:
    assert run(module, rows, batch) == duck_expected(rows)


@pytest.mark.parametrize("expr, words", [
    ("nums['a']", "an ARRAY index is an integer (from 1), got VARCHAR"),
    ("attrs[1]", "the MAP's keys are VARCHAR, the key given is INT"),
    ("i[1]", "take an ARRAY or a MAP, got BIGINT"),
])
def test_access_errors_are_positioned(expr: str, words: str, module: Path) -> None:
    sql = f"SELECT {expr} AS x FROM ev;"
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", sql), [str(module.parent / "catalog.sql")])
    text = info.value.render()
    assert words in text
    assert "q.sql:1:8:" in text


# CROSS / LEFT JOIN UNNEST: (sqlc, DuckDB), rows compared as multisets
UNNESTS = {
    "array": ("SELECT i, tag FROM ev CROSS JOIN UNNEST(ev.tags) AS t (tag) WHERE i >= 0",
              "SELECT i, tag FROM ev, unnest(tags) AS t(tag)"),
    "array_left": ("SELECT i, n, nums[1] AS first FROM ev LEFT JOIN UNNEST(nums) AS t (n) ON TRUE",
                   "SELECT i, n, nums[1] AS first FROM ev LEFT JOIN unnest(nums) AS t(n) ON TRUE"),
    "map": ("SELECT i, k, v FROM ev CROSS JOIN UNNEST(attrs) AS t (k, v)",
            "SELECT i, unnest(map_keys(attrs)) AS k, unnest(map_values(attrs)) AS v FROM ev"),
}


@pytest.fixture(scope="module")
def unnest_modules(module: Path) -> dict[str, Path]:
    found = {}
    for name, (sql, _) in UNNESTS.items():
        compiled = compile_source(Source(f"{name}.sql", sql + ";"),
                                  [str(module.parent / "catalog.sql")])
        found[name] = module.parent / f"unnest_{name}.py"
        found[name].write_text(compiled.module or "", encoding="utf-8")
    return found


def duck_unnest(name: str, rows: list[dict]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (i BIGINT, nums BIGINT[], tags VARCHAR[], "
                "attrs MAP(VARCHAR, VARCHAR), idx INT, ts BIGINT)")
    for r in rows:
        con.execute("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?)",
                    [r["i"], r["nums"], r["tags"], r["attrs"], r["idx"], r["ts"]])
    return sorted(con.execute(UNNESTS[name][1]).fetchall(), key=repr)


@pytest.mark.parametrize("name", list(UNNESTS))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=rows_strategy(), batch=st.sampled_from([1, 7, 500]))
def test_unnest_equals_duckdb(name: str, rows: list[dict], batch: int,
                              unnest_modules: dict[str, Path]) -> None:
    got = sorted((tuple(r.values()) for r in run(unnest_modules[name], rows, batch)), key=repr)
    assert got == duck_unnest(name, rows)


@pytest.mark.parametrize("sql, words", [
    ("SELECT i FROM ev CROSS JOIN UNNEST(i) AS t (x);", "UNNEST takes an ARRAY or a MAP, got BIGINT"),
    ("SELECT i FROM ev CROSS JOIN UNNEST(attrs) AS t (x);", "gives 2 column(s)"),
    ("SELECT i FROM ev JOIN UNNEST(tags) AS t (x) ON x = 'a';", "ON TRUE"),
    ("SELECT x FROM UNNEST(ARRAY[1, 2]) AS t (x);", "write FROM t CROSS JOIN UNNEST"),
])
def test_unnest_errors(sql: str, words: str, module: Path) -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", sql), [str(module.parent / "catalog.sql")])
    assert words in info.value.render()
    assert "q.sql:1:" in info.value.render()


def test_an_index_outside_the_array_is_null_as_in_flink() -> None:
    from runtime_lib.columns import column_from_pylist
    from runtime_lib.functions import element_at

    arrays = column_from_pylist([[1, 2], [1, 2], [1, 2], [1, 2]], "O")
    index = column_from_pylist([0, -1, 3, 2], "i")
    assert element_at(arrays, index, "i").to_pylist() == [None, None, None, 2]

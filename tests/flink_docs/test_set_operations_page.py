"""A corpus from Flink's documentation, page "Queries > Set Operations"
(UNION, UNION ALL, INTERSECT, EXCEPT, IN, EXISTS) over its Orders and
NewProducts tables (catalog.sql). The page gives no input rows: the input
here is ours, and the expected rows are DuckDB's for the same SQL. Each query
either runs and matches, or is refused with the listed positioned error.
Counts (this page): 8 run and match, 2 refused (INTERSECT ALL, EXCEPT ALL:
not on streams yet)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError

HERE = Path(__file__).resolve().parent
ORDERS = [{"user": 1, "product": "beer", "amount": 3, "ts": 1_000},
          {"user": 2, "product": "diaper", "amount": 4, "ts": 2_000},
          {"user": 1, "product": "rubber", "amount": 1, "ts": 3_000},
          {"user": 3, "product": None, "amount": 2, "ts": 4_000},
          {"user": 2, "product": "beer", "amount": 5, "ts": 5_000}]
NEW_PRODUCTS = [{"product": "beer", "ts": 500}, {"product": "soap", "ts": 2_500}]

# the queries as the page writes them (`user` quoted as Flink needs it)
RUNS = {
    "in": "SELECT `user`, amount FROM Orders WHERE product IN (SELECT product FROM NewProducts)",
    # the page's EXISTS example, as corrected by FLINK-18781
    "exists": "SELECT `user`, amount FROM Orders WHERE EXISTS (SELECT product FROM NewProducts "
              "WHERE Orders.product = NewProducts.product)",
    "union": "(SELECT product FROM Orders) UNION (SELECT product FROM NewProducts)",
    "union_all": "(SELECT product FROM Orders) UNION ALL (SELECT product FROM NewProducts)",
    "not_exists": "SELECT `user`, amount FROM Orders WHERE NOT EXISTS (SELECT product FROM "
                  "NewProducts WHERE Orders.product = NewProducts.product)",
    "intersect": "(SELECT product FROM Orders) INTERSECT (SELECT product FROM NewProducts)",
    "except": "(SELECT product FROM Orders) EXCEPT (SELECT product FROM NewProducts)",
    # over a nullable column: Flink's null-aware anti join (the NULL product is dropped)
    "not_in": "SELECT `user`, amount FROM Orders WHERE product NOT IN "
              "(SELECT product FROM NewProducts)",
}
REFUSED = {  # query -> (kind, the words of the positioned error)
    "intersect_all": ("(SELECT product FROM Orders) INTERSECT ALL "
                      "(SELECT product FROM NewProducts)",
                      "INTERSECT ALL is not supported on streams yet"),
    "except_all": ("(SELECT product FROM Orders) EXCEPT ALL (SELECT product FROM NewProducts)",
                   "EXCEPT ALL is not supported on streams yet"),
}


def duck(sql: str) -> Counter:
    con = duckdb.connect()
    con.execute('CREATE TABLE Orders ("user" BIGINT, product VARCHAR, amount INT, ts BIGINT)')
    con.execute("CREATE TABLE NewProducts (product VARCHAR, ts BIGINT)")
    con.executemany("INSERT INTO Orders VALUES (?, ?, ?, ?)",
                    [tuple(r.values()) for r in ORDERS])
    con.executemany("INSERT INTO NewProducts VALUES (?, ?)",
                    [tuple(r.values()) for r in NEW_PRODUCTS])
    return Counter(con.execute(sql.replace("`", '"')).fetchall())


def applied(rows: list[dict]) -> Counter:
    table: Counter = Counter()
    for row in rows:
        op = row.pop("_op", "+I")
        table[tuple(row.values())] += 1 if op in ("+I", "+U") else -1
    return +table


@pytest.mark.parametrize("name", list(RUNS))
def test_documented_query_runs_and_matches(name: str, tmp_path: Path) -> None:
    compiled = compile_source(Source(f"{name}.sql", RUNS[name] + ";"), [str(HERE / "catalog.sql")])
    module = tmp_path / f"{name}.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    args = []
    for table, rows in (("Orders", ORDERS), ("NewProducts", NEW_PRODUCTS)):
        path = tmp_path / f"{table}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        args += ["--input", f"{table}={path}"]
    out = tmp_path / "out.jsonl"
    assert run_module(module, [*args, "--output", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert applied(rows) == duck(RUNS[name])


@pytest.mark.parametrize("name", list(REFUSED))
def test_documented_query_is_refused_with_a_positioned_error(name: str) -> None:
    sql, words = REFUSED[name]
    with pytest.raises(SqlcError) as info:
        compile_source(Source(f"{name}.sql", sql + ";"), [str(HERE / "catalog.sql")])
    text = info.value.render()
    assert words in text
    assert f"{name}.sql:1:" in text

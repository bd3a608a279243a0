"""ROW values built in a query: ``ROW(a, b)``, ``(a, b)`` (Flink's implicit
constructor, at least two fields), ``CAST(ROW(..) AS ROW<x INT, y STRING>)``,
nested, and a field of one. A built ROW is its fields, one column each
(compiler/analyze/fields.py), which a JSON output writes as one nested object
(runtime_lib/io/nested.py) named as Flink names them: ``EXPR$0``, ``EXPR$1``...
for a constructor's fields, the declared names after a CAST.

Each compiled query is checked against the same query written for DuckDB with
STRUCT values over the same file; the nested encoder against its reference of
plain dicts (hypothesis).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from compiler.cli import run_module
from compiler.driver import compile_source
from compiler.errors import Source, SqlcError
from runtime_lib.io.nested import encode_nested_lines, nest_rows

DDL = """CREATE TABLE t (id INT, name STRING, bid ROW<price BIGINT, addr ROW<city VARCHAR>>)
WITH ('connector' = 'filesystem', 'path' = 't.jsonl', 'format' = 'json');
"""

DUCK_TABLE = ("read_json('{path}', format = 'newline_delimited', columns = {{'id': 'INTEGER', "
              "'name': 'VARCHAR', 'bid': 'STRUCT(price BIGINT, addr STRUCT(city VARCHAR))'}})")


def _events(n: int) -> list[dict]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        event: dict = {"id": rng.choice([None, i, -i]), "name": rng.choice([None, "a", "b\"q"])}
        bid = rng.choice([None, {}, {"price": rng.randint(-9, 9)},
                          {"price": i, "addr": rng.choice([None, {"city": f"c{i % 3}"}])}])
        if bid is not None or rng.random() < 0.5:
            event["bid"] = bid
        out.append(event)
    return out


CASES = [
    # the explicit and the implicit constructor, nested, a ROW column inside
    ("SELECT id, ROW(id, name) AS r, (name, (id, bid.price)) AS n FROM t;",
     ("SELECT id, {{'EXPR$0': id, 'EXPR$1': name}} AS r, "
     "{{'EXPR$0': name, 'EXPR$1': {{'EXPR$0': id, 'EXPR$1': bid.price}}}} AS n FROM {t}")),
    ("SELECT ROW(id) AS one, ROW(bid.addr, name) AS w FROM t;",
     ("SELECT {{'EXPR$0': id}} AS one, {{'EXPR$0': {{'city': bid.addr.city}}, 'EXPR$1': name}} "
     "AS w FROM {t}")),
    # CAST names the fields and casts each to its declared type, by position
    (("SELECT CAST(ROW(id, name, bid) AS ROW<x BIGINT, y STRING, "
     "b ROW<p INT, a ROW<c STRING>>>) AS c FROM t;"),
     ("SELECT {{'x': id::BIGINT, 'y': name, 'b': {{'p': bid.price::INT, "
     "'a': {{'c': bid.addr.city}}}}}} AS c FROM {t}")),
    # a field of a built ROW, directly and through a subquery
    (("SELECT CAST(ROW(id, name) AS ROW<x BIGINT, y STRING>).y AS y, "
     "ROW(id + 1, name).`EXPR$0` AS e FROM t;"),
     "SELECT name AS y, id + 1 AS e FROM {t}"),
    (("SELECT c.x + 1 AS x1, c FROM (SELECT CAST((id, name) AS ROW<x BIGINT, y STRING>) AS c "
     "FROM t) WHERE c.x > 2;"),
     "SELECT id::BIGINT + 1 AS x1, {{'x': id::BIGINT, 'y': name}} AS c FROM {t} WHERE id > 2"),
    (("CREATE VIEW v AS SELECT id, (name, id) AS p FROM t;\n"
     "SELECT p.`EXPR$1` AS i, p AS q FROM v;"),
     "SELECT id AS i, {{'EXPR$0': name, 'EXPR$1': id}} AS q FROM {t}"),
]


@pytest.mark.parametrize("query, duck", CASES)
def test_built_rows_equal_duckdbs_structs(tmp_path: Path, query: str, duck: str) -> None:
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", DDL + query)).module or "",
                      encoding="utf-8")
    events = tmp_path / "t.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in _events(300)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--input", f"t={events}", "--output", str(out), "--quiet",
                               "--batch-size", "64"]) == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    result = duckdb.sql(duck.format(t=DUCK_TABLE.format(path=events)))
    names = [c[0] for c in result.description]
    want = [dict(zip(names, row)) for row in result.fetchall()]
    assert len(want) > 50 and got == want


def test_a_row_of_nulls_is_no_null_row() -> None:
    """``ROW(NULL, NULL)`` is a ROW whose fields are NULL, written as an object."""
    paths = [("k",), ("r", "a"), ("r", "b")]
    assert nest_rows(paths, [[1], [None], [None]]) == [{"k": 1, "r": {"a": None, "b": None}}]


_keys = st.sampled_from(["a", "b", "c", "x\"y", "é"])
_paths = st.lists(st.lists(_keys, min_size=1, max_size=3).map(tuple), min_size=1, max_size=6,
                  unique=True).filter(
    lambda ps: not any(p != q and q[:len(p)] == p for p in ps for q in ps))  # no leaf is an object
_value = st.one_of(st.none(), st.integers(-10**12, 10**12), st.text(max_size=3), st.booleans(),
                   st.floats(allow_nan=False, allow_infinity=False, max_value=1e15,
                             min_value=-1e15))


@settings(max_examples=200, deadline=None)
@given(_paths, st.integers(0, 5), st.data())
def test_encode_nested_lines_equals_its_reference(paths, n, data) -> None:
    columns = [data.draw(st.lists(_value, min_size=n, max_size=n)) for _ in paths]
    encoded = encode_nested_lines(paths, columns)
    reference = b"".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()
                         + b"\n" for row in nest_rows(paths, columns))
    if encoded is None:  # msgspec cannot name a key with a quote: the sink uses orjson
        assert any('"' in key for path in paths for key in path)
        return
    assert [json.loads(line) for line in encoded.splitlines()] == \
        [json.loads(line) for line in reference.splitlines()]
    assert encoded.count(b"\n") == n


# ------------------------------------------------------------------ ROW columns of a sink table

SINK = """CREATE TABLE s (id INT, r ROW<a BIGINT, b STRING>, n ROW<p BIGINT, q ROW<c STRING>>)
WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'json');
"""


def test_insert_writes_row_columns_as_nested_json(tmp_path: Path) -> None:
    """A ROW is written into a ROW column by position, each field cast to the
    column's field type and named as the table names it."""
    out_dir = tmp_path / "s"
    sql = DDL + SINK.format(path=out_dir) + "INSERT INTO s SELECT id, (id, name), bid FROM t;"
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", sql)).module or "", encoding="utf-8")
    events = tmp_path / "t.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in _events(300)), encoding="utf-8")
    assert run_module(module, ["--input", f"t={events}", "--quiet", "--batch-size", "50"]) == 0
    got = [json.loads(line) for part in sorted(out_dir.rglob("part-*"))
           for line in part.read_text().splitlines()]
    result = duckdb.sql("SELECT id, {'a': id::BIGINT, 'b': name} AS r, "
                        "{'p': bid.price, 'q': {'c': bid.addr.city}} AS n FROM "
                        + DUCK_TABLE.format(path=events))
    want = [dict(zip([c[0] for c in result.description], row)) for row in result.fetchall()]
    assert len(want) == 300 and sorted(got, key=repr) == sorted(want, key=repr)


@pytest.mark.parametrize("select, message, at", [
    ("SELECT id, id, bid FROM t", "column 'id_2' is INT but s.r is ROW<`a` BIGINT, `b` VARCHAR>",
     "id"),
    ("SELECT id, (id, name, name), bid FROM t",
     ("column 'row_id_name' is ROW<`EXPR$0` INT, `EXPR$1` VARCHAR, `EXPR$2` VARCHAR> but s.r is "
     "ROW<`a` BIGINT, `b` VARCHAR>"), "(id, name, name)"),
    ("SELECT id, (name, name), bid FROM t",
     "column 'row_name_name' is ROW<`EXPR$0` VARCHAR, `EXPR$1` VARCHAR> but s.r is ROW<`a` BIGINT",
     "(name, name)"),
    ("SELECT id, (id, name), (id, name) FROM t",
     ("column 'row_id_name_2' is ROW<`EXPR$0` INT, `EXPR$1` VARCHAR> but s.n is ROW<`p` BIGINT, "
     "`q` ROW<`c` VARCHAR>>"), "(id, name)"),
    ("SELECT (id, name), (id, name), bid FROM t", "column 'row_id_name' is ROW", "(id, name)"),
    ("SELECT id, (id, name) FROM t", "INSERT INTO s writes 3 columns but the query returns 2",
     "SELECT id, (id, name) FROM t"),
])
def test_insert_into_a_row_column_checks_the_row(select: str, message: str, at: str) -> None:
    sql = DDL + SINK.format(path="s") + f"INSERT INTO s {select};"
    with pytest.raises(SqlcError) as caught:
        compile_source(Source("q.sql", sql))
    first = caught.value.diagnostics[0]
    assert first.message.startswith(message), first.message
    assert sql[first.span.start:first.span.end] == at


# ------------------------------------------------------------------ comparing and grouping ROWs

def _eq(a, b):
    return None if a is None or b is None else a == b


def _and(*values):  # three-valued
    return False if False in values else None if None in values else True


def _not(v):
    return None if v is None else not v


def test_comparing_rows_field_by_field(tmp_path: Path) -> None:
    """The SQL standard's row comparison: ``(a, b) = (c, d)`` is ``a = c AND b = d``
    (three-valued), ``<>`` its negation; IS [NOT] DISTINCT FROM pairs NULLs.
    Checked against a reference in Python on the same rows."""
    query = ("SELECT (id, name) = (2, 'a') AS e, ROW(id, bid) <> ROW(2, bid) AS ne, "
             "bid IS NOT DISTINCT FROM (3, ROW('c0')) AS nd, "
             "(name, id) IS DISTINCT FROM ('a', 2) AS d FROM t "
             "WHERE (id, bid.price) = (id, bid.price) OR bid.price IS NULL;")
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", DDL + query)).module or "",
                      encoding="utf-8")
    rows = _events(300)
    events = tmp_path / "t.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--input", f"t={events}", "--output", str(out), "--quiet"]) == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    want = []
    for r in rows:
        i, name = r.get("id"), r.get("name")
        bid = r.get("bid") or {}
        price, city = bid.get("price"), (bid.get("addr") or {}).get("city")
        if not (_and(_eq(i, i), _eq(price, price)) or price is None):
            continue
        want.append({"e": _and(_eq(i, 2), _eq(name, "a")),
                     "ne": _not(_and(_eq(i, 2), _eq(price, price), _eq(city, city))),
                     "nd": price == 3 and city == "c0",
                     "d": not (name == "a" and i == 2)})
    assert len(want) > 100 and got == want


def test_group_by_a_whole_row_equals_duckdb(tmp_path: Path) -> None:
    query = ("SELECT bid, (name, bid.addr) AS k, COUNT(*) AS c FROM t "
             "GROUP BY bid, (name, bid.addr);")
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", DDL + query)).module or "",
                      encoding="utf-8")
    events = tmp_path / "t.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in _events(300)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert run_module(module, ["--input", f"t={events}", "--output", str(out), "--quiet"]) == 0
    final: dict = {}  # the updating result's last row per group
    for line in out.read_text().splitlines():
        row = json.loads(line)
        key = json.dumps([row["bid"], row["k"]])
        if row.pop("_op") in ("+I", "+U"):
            final[key] = row
        else:
            final.pop(key, None)
    duck = duckdb.sql(
        "SELECT {'price': bid.price, 'addr': {'city': bid.addr.city}} AS bid, "
        "{'EXPR$0': name, 'EXPR$1': {'city': bid.addr.city}} AS k, COUNT(*) AS c FROM "
        + DUCK_TABLE.format(path=events) + " GROUP BY ALL")
    want = [dict(zip(["bid", "k", "c"], row)) for row in duck.fetchall()]
    assert len(want) > 5 and sorted(final.values(), key=repr) == sorted(want, key=repr)


@pytest.mark.parametrize("query, message, at", [
    ("SELECT (id, name) = id AS x FROM t;",
     "= compares a ROW of 2 field(s) with a value that is no ROW", "(id, name) = id"),
    ("SELECT (id, name) <> (id, name, id) AS x FROM t;",
     "<> compares a ROW of 2 field(s) with a ROW of 3 field(s)", "(id, name) <> (id, name, id)"),
    ("SELECT (id, name) = (name, name) AS x FROM t;", "cannot compare INT with VARCHAR",
     "name"),
])
def test_row_comparison_errors(query: str, message: str, at: str) -> None:
    sql = DDL + query
    with pytest.raises(SqlcError) as caught:
        compile_source(Source("q.sql", sql))
    first = caught.value.diagnostics[0]
    assert first.message.startswith(message), first.message
    assert sql[first.span.start:first.span.end] == at

"""Flink's DDL and joins as Flink users write them (issue 13), compiled and run
on files and compared with DuckDB on the same inputs.

In Flink every source is a ``CREATE TABLE``: one with a WATERMARK or an
append-only connector (Kafka without a PRIMARY KEY, files, datagen) is a
stream and may be either side of a regular or an interval join, windowed and
grouped; a lookup store (PostgreSQL, Redis), a changelog table and a keyed
file are joined by key (a lookup join), as is any table the query reads
``FOR SYSTEM_TIME AS OF``. Comma joins with the join condition in WHERE plan
exactly as ``JOIN ... ON``. The tables are those of Flink's documentation
(Orders, Shipments, Product, Rates); the data is seeded and kept within each
stream's watermark bound, so no row is late and the batch join of all rows is
the streaming result (see tests/test_join_compiled_differential.py).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from compiler.driver import analyze, compile_source, plan
from compiler.errors import Source, SqlcError
from compiler.explain import explain_logical
from tests.test_join_compiled_differential import final_rows, norm, run

ORDERS = """
CREATE TABLE Orders (
    id INT,
    product VARCHAR,
    amount INT,
    currency VARCHAR,
    order_time TIMESTAMP(3),
    proc_time AS PROCTIME(),
    WATERMARK FOR order_time AS order_time - INTERVAL '1' MINUTE
) WITH ('connector' = '{connector}', {where}, 'format' = 'json');
CREATE TABLE Shipments (
    id INT,
    order_id INT,
    ship_time TIMESTAMP(3),
    WATERMARK FOR ship_time AS ship_time - INTERVAL '1' MINUTE
) WITH ('connector' = '{connector}', {where}, 'format' = 'json');
CREATE TABLE Product (
    id VARCHAR,
    name VARCHAR
) WITH ('connector' = '{connector}', {where}, 'format' = 'json');
CREATE TABLE Rates (
    currency VARCHAR,
    rate DOUBLE,
    PRIMARY KEY (currency) NOT ENFORCED
) WITH ('connector' = 'filesystem', 'path' = 'rates.jsonl', 'format' = 'json');
"""
WHERE = {"filesystem": "'path' = 'x.jsonl'", "kafka": "'topic' = 'x'"}

COLUMNS = {
    "Orders": {"id": "INT", "product": "VARCHAR", "amount": "INT", "currency": "VARCHAR",
               "order_time": "TIMESTAMP"},
    "Shipments": {"id": "INT", "order_id": "INT", "ship_time": "TIMESTAMP"},
    "Product": {"id": "VARCHAR", "name": "VARCHAR"},
    "Rates": {"currency": "VARCHAR", "rate": "DOUBLE"},
}
BASE = datetime(2024, 1, 1, 8, 0, 0)
TS = "%Y-%m-%d %H:%M:%S.%f"


def stamp(at: datetime) -> str:
    return at.strftime(TS)[:-3]


def ts_duck(column: str) -> str:
    """DuckDB's rendering of a TIMESTAMP(3) the way sqlc writes it."""
    return f"strftime({column}, '%Y-%m-%d %H:%M:%S.%g')"


def flink_data(seed: int) -> dict[str, list[dict]]:
    """Orders in time order (each up to 50 s behind the latest, inside the 1 min
    watermark bound), a shipment for most orders 0-6 h later (so some fall
    outside the 4 h interval, some exactly on it), shipments of unknown orders,
    NULL keys, products not every order has, and one rate per currency."""
    rng = random.Random(seed)
    orders, shipments = [], []
    clock = BASE
    for i in range(rng.randint(5, 40)):
        clock += timedelta(seconds=rng.choice([0, 30, 60, 600, 1800]))
        at = clock - timedelta(seconds=rng.choice([0, 0, 10, 50]))
        oid = rng.choice([i, i, i, None, 1])
        orders.append({"id": oid, "product": rng.choice(["p1", "p2", "p3", None]),
                       "amount": rng.randint(1, 9), "currency": rng.choice(["EUR", "USD", "JPY"]),
                       "order_time": stamp(at)})
        if rng.random() < 0.8:
            later = rng.choice([0, 3600, 4 * 3600, 4 * 3600 + 1, 6 * 3600, rng.randint(0, 20000)])
            shipments.append({"order_id": oid if rng.random() < 0.9 else 999,
                              "ship_time": at + timedelta(seconds=later)})
    shipments.sort(key=lambda s: s["ship_time"])
    rows = []
    for i, s in enumerate(shipments):
        jitter = timedelta(seconds=rng.choice([0, 0, 20]))
        rows.append({"id": 100 + i, "order_id": s["order_id"],
                     "ship_time": stamp(s["ship_time"] - jitter)})
    products = [{"id": "p1", "name": "Apple"}, {"id": "p2", "name": "Banana"},
                {"id": "p9", "name": "never ordered"}]
    rates = [{"currency": "EUR", "rate": 1.1}, {"currency": "USD", "rate": 1.0}]
    return {"Orders": orders, "Shipments": rows, "Product": products, "Rates": rates}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):
    """compiled(sql, connector) -> the generated module's path."""
    workdir = tmp_path_factory.mktemp("flink_tables")
    modules: dict[tuple[str, str], Path] = {}

    def get(sql: str, connector: str = "filesystem") -> Path:
        if (sql, connector) not in modules:
            catalog = workdir / f"catalog_{connector}.sql"
            catalog.write_text(ORDERS.format(connector=connector, where=WHERE[connector]),
                               encoding="utf-8")
            module = workdir / f"q{len(modules)}.py"
            module.write_text(compile_source(Source("q.sql", sql), [str(catalog)]).module or "",
                              encoding="utf-8")
            modules[(sql, connector)] = module
        return modules[(sql, connector)]

    return get


def write(workdir: Path, data: dict[str, list[dict]], names: tuple[str, ...]
          ) -> dict[str, Path]:
    paths = {}
    for name in names:
        paths[name] = workdir / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in data[name]),
                               encoding="utf-8")
    return paths


def duck(sql: str, paths: dict[str, Path]) -> list[tuple]:
    scans = {name: f"read_json('{path}', format='newline_delimited', columns={COLUMNS[name]})"
             for name, path in paths.items()}
    return duckdb.connect().execute(sql.format(**scans)).fetchall()


def check(module: Path, sql_duck: str, paths: dict[str, Path], workdir: Path,
          changelog: bool = False, batch_size: int = 3) -> list[tuple]:
    result = run(module, paths, workdir, batch_size)
    assert result.dead == "", result.dead
    assert result.late == []
    got = norm(final_rows(result.records, changelog))
    assert got == norm(duck(sql_duck, paths))
    return got


def uses(module: Path, operator: str) -> bool:
    return f" = {operator}(" in module.read_text(encoding="utf-8")


# ----------------------------------------------------- interval joins, two forms

INTERVAL_DUCK = (
    f"SELECT o.id, o.product, s.id, {ts_duck('s.ship_time')} FROM {{Orders}} o "
    "JOIN {Shipments} s ON o.id = s.order_id "
    "AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time")
INTERVAL_FORMS = {
    # Flink's documentation (Joins, "Interval Joins"), both ways it writes it
    "comma": "SELECT o.id, o.product, s.id AS sid, s.ship_time FROM Orders o, Shipments s "
             "WHERE o.id = s.order_id AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR "
             "AND s.ship_time",
    "join_on": "SELECT o.id, o.product, s.id AS sid, s.ship_time FROM Orders o JOIN Shipments s "
               "ON o.id = s.order_id AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR "
               "AND s.ship_time",
    "comma_other_order": "SELECT o.id, o.product, s.id AS sid, s.ship_time "
                         "FROM Orders AS o, Shipments AS s "
                         "WHERE o.order_time <= s.ship_time AND s.order_id = o.id "
                         "AND o.order_time >= s.ship_time - INTERVAL '4' HOUR",
    "cross_join": "SELECT o.id, o.product, s.id AS sid, s.ship_time FROM Orders o "
                  "CROSS JOIN Shipments s WHERE o.id = s.order_id "
                  "AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time",
}


@pytest.mark.parametrize("connector", ["filesystem", "kafka"])
@pytest.mark.parametrize("form", list(INTERVAL_FORMS))
def test_interval_join_of_two_flink_tables_equals_duckdb(form: str, connector: str, compiled,
                                                         tmp_path: Path) -> None:
    module = compiled(INTERVAL_FORMS[form], connector)
    assert uses(module, "IntervalJoin")
    matched = 0
    for seed in range(6):
        workdir = tmp_path / str(seed)
        workdir.mkdir()
        paths = write(workdir, flink_data(seed), ("Orders", "Shipments"))
        matched += len(check(module, INTERVAL_DUCK, paths, workdir, batch_size=1 + seed % 3))
    assert matched > 10


def plans(sql: str) -> str:
    """The optimized logical plans of ``sql`` over the tables, as EXPLAIN shows them."""
    ddl = ORDERS.format(connector="filesystem", where=WHERE["filesystem"])
    analysis = analyze(Source("q.sql", ddl + sql + ";"))
    return "\n".join(explain_logical(p) for p in plan(analysis).logical)


def test_a_comma_join_plans_exactly_like_join_on() -> None:
    """The WHERE conjuncts that read both sides are the ON condition; the
    others stay a filter (pushed below the join)."""
    comma = plans(INTERVAL_FORMS["comma"] + " AND o.amount > 2")
    join_on = plans(INTERVAL_FORMS["join_on"] + " WHERE o.amount > 2")
    assert comma == join_on
    assert "interval=[" in comma and "Join: type=[INNER]" in comma


def test_three_relations_comma_join_each_condition_where_its_relations_meet() -> None:
    sql = ("SELECT o.id, s.id AS sid, p.name FROM Orders o, Shipments s, Product p "
           "WHERE o.id = s.order_id AND p.id = o.product AND s.id > 3 "
           "AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time")
    written = ("SELECT o.id, s.id AS sid, p.name FROM Orders o JOIN Shipments s "
               "ON o.id = s.order_id "
               "AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time "
               "JOIN Product p ON p.id = o.product WHERE s.id > 3")
    assert plans(sql) == plans(written)


def test_a_comma_join_with_a_lookup_table_is_a_lookup_join(compiled, tmp_path: Path) -> None:
    sql = ("SELECT o.id, o.amount * r.rate AS converted FROM Orders o, "
           "Rates FOR SYSTEM_TIME AS OF o.proc_time AS r WHERE o.currency = r.currency")
    module = compiled(sql)
    assert uses(module, "LookupJoin")
    paths = write(tmp_path, flink_data(3), ("Orders", "Rates"))
    check(module, "SELECT o.id, o.amount * r.rate FROM {Orders} o JOIN {Rates} r "
                  "ON o.currency = r.currency", paths, tmp_path)


# --------------------------------------------- CREATE TABLE streams: regular joins


@pytest.mark.parametrize("connector", ["filesystem", "kafka"])
@pytest.mark.parametrize("kind", ["LEFT", "RIGHT", "FULL", "INNER"])
def test_regular_join_of_append_only_tables_equals_duckdb(kind: str, connector: str, compiled,
                                                          tmp_path: Path) -> None:
    """Product has no WATERMARK and no PRIMARY KEY: with an append-only
    connector it is a stream (Flink), so a plain JOIN is a regular join, and
    RIGHT/FULL joins are allowed (they were refused as lookup joins)."""
    sql = (f"SELECT o.id, o.product, p.name FROM Orders o {kind} JOIN Product p "
           "ON o.product = p.id")
    module = compiled(sql, connector)
    assert uses(module, "Join") and not uses(module, "LookupJoin")
    paths = write(tmp_path, flink_data(5), ("Orders", "Product"))
    got = check(module, f"SELECT o.id, o.product, p.name FROM {{Orders}} o {kind} JOIN "
                        "{Product} p ON o.product = p.id", paths, tmp_path, changelog=True)
    assert got


def test_a_flink_table_is_windowed_and_grouped(compiled, tmp_path: Path) -> None:
    sql = ("SELECT window_start, window_end, product, SUM(amount) AS total, COUNT(*) AS n "
           "FROM TABLE(TUMBLE(TABLE Orders, DESCRIPTOR(order_time), INTERVAL '10' MINUTES)) "
           "GROUP BY window_start, window_end, product")
    module = compiled(sql)
    paths = write(tmp_path, flink_data(7), ("Orders",))
    check(module, f"SELECT {ts_duck('time_bucket(INTERVAL 10 MINUTE, order_time)')}, "
                  f"{ts_duck('time_bucket(INTERVAL 10 MINUTE, order_time) + INTERVAL 10 MINUTE')},"
                  " product, SUM(amount), COUNT(*) FROM {Orders} GROUP BY ALL", paths, tmp_path)


# ------------------------------------------------------------------- which is which


def source(sql: str, name: str):
    return analyze(Source("ddl.sql", sql)).catalog.get(name)


@pytest.mark.parametrize("ddl, stream", [
    ("CREATE TABLE t (a INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
     "WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json')", True),
    ("CREATE TABLE t (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json')",
     True),
    ("CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'path' = 'p')", True),
    ("CREATE TABLE t (a INT) WITH ('connector' = 'datagen')", True),
    ("CREATE TABLE t (a INT PRIMARY KEY NOT ENFORCED) WITH ('connector' = 'file', "
     "'path' = 'p')", False),
    ("CREATE TABLE t (a INT PRIMARY KEY NOT ENFORCED) WITH ('connector' = 'upsert-kafka', "
     "'topic' = 't', 'key.format' = 'json', 'value.format' = 'json', "
     "'properties.bootstrap.servers' = 'b:9092')", False),
    ("CREATE TABLE t (a INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
     "WITH ('connector' = 'postgres', 'table-name' = 't')", False),
    ("CREATE TABLE t (a INT) WITH ('connector' = 'redis', 'key-pattern' = 'k:{a}')", False),
    ("CREATE STREAM t (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json')",
     True),
])
def test_which_tables_are_streams(ddl: str, stream: bool) -> None:
    assert source(ddl + ";", "t").is_stream is stream


def test_drop_table_drops_a_stream_and_drop_stream_an_append_only_table() -> None:
    """Flink has only DROP TABLE; the spec writes DROP STREAM. Both do what the
    user meant; DROP STREAM of a lookup table says what to write (test_errors)."""
    ddl = ("CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'topic' = 's', "
           "'format' = 'json');\n"
           "CREATE TABLE t (a INT) WITH ('connector' = 'kafka', 'topic' = 't', "
           "'format' = 'json');\n")
    catalog = analyze(Source("ddl.sql", ddl + "DROP TABLE s;\nDROP STREAM t;\n")).catalog
    assert catalog.get("s") is None and catalog.get("t") is None


def test_a_lookup_of_a_kafka_table_without_key_is_refused_where_written() -> None:
    """FOR SYSTEM_TIME AS OF makes the Kafka stream a lookup table, which needs
    a key; the error points at the table and names what to declare."""
    ddl = ORDERS.format(connector="kafka", where=WHERE["kafka"])
    sql = ddl + ("SELECT o.id, p.name FROM Orders o\n"
                 "JOIN Product FOR SYSTEM_TIME AS OF o.proc_time AS p ON o.product = p.id;")
    with pytest.raises(SqlcError) as info:
        analyze(Source("q.sql", sql))
    [error] = info.value.diagnostics
    assert "Kafka table 'Product' has no PRIMARY KEY" in error.message
    assert "PRIMARY KEY (id) NOT ENFORCED" in (error.hint or "")
    line = sql[: error.span.start].count("\n") + 1
    assert line == ddl.count("\n") + 2
    assert sql[error.span.start:].startswith("Product FOR SYSTEM_TIME")


# ------------------------------------------- Nexmark q13: a lookup by an expression

NEXMARK = """
CREATE TABLE Bid (
    auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
    dateTime TIMESTAMP(3), extra VARCHAR,
    p_time AS PROCTIME(),
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'bid.jsonl', 'format' = 'json');
CREATE TABLE side_input (
    key BIGINT,
    `value` VARCHAR
) WITH ('connector' = 'filesystem', 'path' = 'side_input.jsonl', 'format' = 'json');
"""
NEXMARK_COLUMNS = {
    "Bid": {"auction": "BIGINT", "bidder": "BIGINT", "price": "BIGINT", "channel": "VARCHAR",
            "url": "VARCHAR", "dateTime": "TIMESTAMP", "extra": "VARCHAR"},
    "side_input": {"key": "BIGINT", "value": "VARCHAR"},
}
Q13 = {
    # Nexmark q13 as github.com/nexmark/nexmark writes it
    "q13": ("SELECT B.auction, B.bidder, B.price, B.dateTime, S.`value` "
            "FROM (SELECT *, PROCTIME() as p_time FROM Bid) B "
            "JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S "
            "ON mod(B.auction, 10000) = S.key",
            "SELECT B.auction, B.bidder, B.price, " + ts_duck('B."dateTime"') + ", S.value "
            "FROM {Bid} B JOIN {side_input} S ON B.auction % 10000 = S.key"),
    "left_two_keys_and_residual": (
        "SELECT B.auction, B.price, S.`value` FROM Bid AS B "
        "LEFT JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S "
        "ON S.key = B.bidder + 1 AND S.`value` <> 'x' AND B.price > 10",
        "SELECT B.auction, B.price, S.value FROM {Bid} B LEFT JOIN {side_input} S "
        "ON S.key = B.bidder + 1 AND S.value <> 'x' AND B.price > 10"),
}


def nexmark_data(seed: int) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    at = BASE
    bids = []
    for _ in range(rng.randint(5, 60)):
        at += timedelta(milliseconds=rng.choice([0, 100, 1000]))
        bids.append({"auction": rng.choice([1, 2, 10001, 20002, 7, None]),
                     "bidder": rng.choice([0, 1, 2, None]), "price": rng.randint(1, 30),
                     "channel": "apple", "url": "https://x", "dateTime": stamp(at),
                     "extra": ""})
    side = [{"key": k, "value": v} for k, v in ((1, "one"), (2, "two"), (3, "x"), (7, None))]
    return {"Bid": bids, "side_input": side}


@pytest.mark.parametrize("name", list(Q13))
def test_a_lookup_join_on_an_expression_of_the_stream_equals_duckdb(name: str, tmp_path: Path
                                                                    ) -> None:
    sql, sql_duck = Q13[name]
    catalog = tmp_path / "nexmark.sql"
    catalog.write_text(NEXMARK, encoding="utf-8")
    compiled = compile_source(Source("q.sql", sql), [str(catalog)])
    explained = "\n".join(explain_logical(p) for p in compiled.logical)
    assert "AS lookup_key]" in explained  # the key, computed before the lookup
    module = tmp_path / "q.py"
    module.write_text(compiled.module or "", encoding="utf-8")
    assert uses(module, "LookupJoin")
    rows = 0
    for seed in range(4):
        workdir = tmp_path / str(seed)
        workdir.mkdir()
        data = nexmark_data(seed)
        paths = {}
        for table, records in data.items():
            paths[table] = workdir / f"{table}.jsonl"
            paths[table].write_text("".join(json.dumps(r) + "\n" for r in records),
                                    encoding="utf-8")
        result = run(module, paths, workdir, 1 + seed)
        assert result.dead == "" and result.late == []
        scans = {t: f"read_json('{p}', format='newline_delimited', "
                    f"columns={NEXMARK_COLUMNS[t]})" for t, p in paths.items()}
        want = duckdb.connect().execute(sql_duck.format(**scans)).fetchall()
        got = norm(final_rows(result.records, False))
        assert got == norm(want)
        rows += len(got)
    assert rows > 5


def test_a_lookup_by_an_expression_of_the_table_is_refused_where_written() -> None:
    """The table is looked up by its columns: an expression of them cannot be a
    key; the error names the equality to write."""
    sql = NEXMARK + ("SELECT B.auction FROM Bid B\n"
                     "JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S\n"
                     "ON B.auction = S.key + 1;")
    with pytest.raises(SqlcError) as info:
        analyze(Source("q.sql", sql))
    [error] = info.value.diagnostics
    assert "needs an equality on its key" in error.message
    assert sql[error.span.start:].startswith("JOIN side_input")


# ------------------------------------------------- CREATE TEMPORARY, CREATE ... LIKE

ORDERS_IN_FILE = """
CREATE TEMPORARY TABLE Orders_in_file (
    id INT,
    product STRING,
    amount INT,
    order_time TIMESTAMP(3),
    amount_x2 AS amount * 2
) WITH ('connector' = 'filesystem', 'path' = '/tmp/orders', 'format' = 'json');
"""


def like(ddl: str, name: str = "t"):
    return analyze(Source("ddl.sql", ORDERS_IN_FILE + ddl)).catalog.get(name)


def test_create_table_like_as_flinks_documentation_writes_it(tmp_path: Path) -> None:
    """Flink's example: the watermark added to a table of files, its options
    overwritten, then windowed; run and compared with DuckDB."""
    ddl = ORDERS_IN_FILE + """
CREATE TEMPORARY TABLE Orders_with_watermark (
    WATERMARK FOR order_time AS order_time - INTERVAL '1' MINUTE
) WITH ('scan.watermark.idle-timeout' = '10 s')
LIKE Orders_in_file;
CREATE TEMPORARY VIEW big AS SELECT * FROM Orders_with_watermark WHERE amount > 1;
"""
    table = analyze(Source("ddl.sql", ddl)).catalog.get("Orders_with_watermark")
    assert [c.name for c in table.columns] == ["id", "product", "amount", "order_time",
                                               "amount_x2"]
    assert table.watermark.text == "order_time - INTERVAL '1' MINUTE"
    assert table.properties == {"connector": "filesystem", "path": "/tmp/orders",
                                "format": "json", "scan.watermark.idle-timeout": "10 s"}
    catalog = tmp_path / "catalog.sql"
    catalog.write_text(ddl, encoding="utf-8")
    sql = ("SELECT window_start, product, SUM(amount_x2) AS total FROM TABLE(TUMBLE(TABLE big, "
           "DESCRIPTOR(order_time), INTERVAL '10' MINUTES)) GROUP BY window_start, product")
    module = tmp_path / "q.py"
    module.write_text(compile_source(Source("q.sql", sql), [str(catalog)]).module or "",
                      encoding="utf-8")
    orders = [{k: r[k] for k in ("id", "product", "amount", "order_time")}
              for r in flink_data(11)["Orders"]]
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in orders), encoding="utf-8")
    result = run(module, {"Orders_with_watermark": path}, tmp_path, 4)
    assert result.dead == "" and result.late == []
    columns = {k: COLUMNS["Orders"][k] for k in ("id", "product", "amount", "order_time")}
    want = duckdb.connect().execute(
        f"SELECT {ts_duck('time_bucket(INTERVAL 10 MINUTE, order_time)')}, product, "
        f"SUM(amount * 2) FROM read_json('{path}', format='newline_delimited', "
        f"columns={columns}) WHERE amount > 1 GROUP BY ALL").fetchall()
    assert norm(final_rows(result.records, False)) == norm(want)


def test_like_options_include_exclude_and_overwrite() -> None:
    t = like("CREATE TABLE t (extra INT, amount_x2 AS amount * 3) "
             "WITH ('connector' = 'kafka', 'topic' = 'o', 'format' = 'json') "
             "LIKE Orders_in_file (EXCLUDING OPTIONS OVERWRITING GENERATED);")
    assert [c.name for c in t.columns] == ["id", "product", "amount", "order_time", "extra",
                                           "amount_x2"]
    assert t.properties == {"connector": "kafka", "topic": "o", "format": "json"}
    assert t.is_stream
    t = like("CREATE TABLE t (PRIMARY KEY (id) NOT ENFORCED) "
             "LIKE Orders_in_file (EXCLUDING ALL INCLUDING OPTIONS INCLUDING CONSTRAINTS);")
    assert [c.name for c in t.columns] == ["id", "product", "amount", "order_time"]
    assert t.primary_key == ("id",) and not t.is_stream  # a keyed file is a lookup table
    t = like("CREATE TABLE base2 (WATERMARK FOR order_time AS order_time) "
             "LIKE Orders_in_file;\n"
             "CREATE TABLE t (WATERMARK FOR order_time AS order_time - INTERVAL '1' SECOND) "
             "LIKE base2 (OVERWRITING WATERMARKS);")
    assert t.watermark.bound_ms == 1000
    t = like("CREATE TABLE t LIKE Orders_in_file (EXCLUDING GENERATED, EXCLUDING PARTITIONS);")
    assert [c.name for c in t.columns] == ["id", "product", "amount", "order_time"]


@pytest.mark.parametrize("ddl, at, message", [
    ("CREATE TABLE t (product STRING) LIKE Orders_in_file;", "product STRING",
     "column 'product' is also a column of 'Orders_in_file'"),
    ("CREATE TABLE t (amount_x2 AS amount) LIKE Orders_in_file;", "amount_x2 AS",
     "write OVERWRITING GENERATED to replace it"),
    ("CREATE TABLE t WITH ('format' = 'csv') LIKE Orders_in_file (INCLUDING OPTIONS);",
     "'format' = 'csv'", "'Orders_in_file' sets the option 'format' too"),
    ("CREATE TABLE t (PRIMARY KEY (id) NOT ENFORCED) LIKE Orders_in_file "
     "(OVERWRITING CONSTRAINTS);", "OVERWRITING CONSTRAINTS",
     "OVERWRITING CONSTRAINTS is not a LIKE option"),
    ("CREATE TABLE t LIKE Orders_in_fil;", "Orders_in_fil;",
     "unknown table 'Orders_in_fil' after LIKE; did you mean 'Orders_in_file'?"),
    ("CREATE VIEW v AS SELECT id FROM Orders_in_file;\nCREATE TABLE t LIKE v;", "v;",
     "'v' is a view; LIKE takes a table"),
    ("CREATE TABLE t (WATERMARK FOR order_tim AS order_tim) LIKE Orders_in_file;",
     "order_tim AS", "watermark column 'order_tim' is not a column of t"),
    ("CREATE TABLE t;", "t;", "Expected '(' and the column list of table t, or LIKE and the "
                            "table it is based on"),
])
def test_like_errors_are_positioned(ddl: str, at: str, message: str) -> None:
    sql = ORDERS_IN_FILE + ddl
    with pytest.raises(SqlcError) as info:
        analyze(Source("ddl.sql", sql))
    [error] = info.value.diagnostics
    assert message in error.message
    assert sql[error.span.start:].startswith(at), sql[error.span.start:]

"""Queries > Joins
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/joins/):
regular INNER/LEFT/RIGHT/FULL joins, the interval join (comma form), the
event-time temporal join, the processing-time temporal join, the lookup
join, array expansion and table functions. The page declares only orders,
currency_rates and Customers; the other tables are ours, with the columns
the queries use. Where the page shows no rows, the rows are ours."""

from compiler.errors import BindError, SqlSyntaxError, UnsupportedError
from tests.flink_docs.corpus import Doc, Page, Refusal

URL = "https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/joins/"
OURS = "ours (the page shows none)"

REGULAR_DDL = """
CREATE TABLE Orders (
  id INT,
  product_id STRING,
  amount INT,
  order_time TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
CREATE TABLE Product (
  id STRING,
  name STRING
) WITH ('connector' = 'filesystem', 'path' = 'product.jsonl', 'format' = 'json');
"""

REGULAR_ROWS = {"Orders": """
+----+------------+--------+---------------------+
| id | product_id | amount |          order_time |
+----+------------+--------+---------------------+
|  1 |         p1 |      3 | 2024-01-01 10:00:00 |
|  2 |         p2 |      1 | 2024-01-01 10:00:05 |
|  3 |         p1 |      2 | 2024-01-01 10:00:07 |
|  4 |         p7 |      9 | 2024-01-01 10:00:09 |
|  5 |       null |      4 | 2024-01-01 10:00:11 |
+----+------------+--------+---------------------+
""", "Product": """
+------+---------------+
|   id |          name |
+------+---------------+
|   p1 |         Apple |
|   p2 |        Banana |
|   p9 | never ordered |
| null |        no key |
+------+---------------+
"""}

REGULAR = Page(
    name="joins_regular", url=URL + "#regular-joins", ddl=REGULAR_DDL, inputs=REGULAR_ROWS,
    inputs_from=OURS,
    duck_ddl="CREATE TABLE Orders (id INT, product_id VARCHAR, amount INT, order_time TIMESTAMP);"
             "CREATE TABLE Product (id VARCHAR, name VARCHAR)",
    docs=[
        Doc("inner_product_id_camel", "SELECT * FROM Orders\nINNER JOIN Product\n"
            "ON Orders.productId = Product.id", refused=Refusal(
                BindError, "productId", "the page's first join writes productId, every other "
                "one product_id (the page declares no Orders)", docs_bug=True)),
        Doc("inner", "SELECT *\nFROM Orders\nINNER JOIN Product\nON Orders.product_id = Product.id"),
        Doc("left", "SELECT *\nFROM Orders\nLEFT JOIN Product\nON Orders.product_id = Product.id"),
        Doc("right", "SELECT *\nFROM Orders\nRIGHT JOIN Product\nON Orders.product_id = Product.id"),
        Doc("full", "SELECT *\nFROM Orders\nFULL OUTER JOIN Product\n"
            "ON Orders.product_id = Product.id"),
    ],
)

INTERVAL_DDL = """
CREATE TABLE Orders (
  id INT,
  amount INT,
  order_time TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '1' MINUTE
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
CREATE TABLE Shipments (
  id INT,
  order_id INT,
  ship_time TIMESTAMP(3),
  WATERMARK FOR ship_time AS ship_time - INTERVAL '1' MINUTE
) WITH ('connector' = 'filesystem', 'path' = 'shipments.jsonl', 'format' = 'json');
"""

# shipments 0 h, 4 h (the bound), 4 h 1 s (just outside), before the order
# (outside), of an unknown order and of a NULL order
INTERVAL = Page(
    name="joins_interval", url=URL + "#interval-joins", ddl=INTERVAL_DDL, inputs_from=OURS,
    inputs={"Orders": """
+------+--------+---------------------+
|   id | amount |          order_time |
+------+--------+---------------------+
|    1 |      3 | 2024-01-01 08:00:00 |
|    2 |      5 | 2024-01-01 08:30:00 |
|    3 |      7 | 2024-01-01 09:00:00 |
|    4 |      1 | 2024-01-01 09:30:00 |
| null |      2 | 2024-01-01 09:40:00 |
+------+--------+---------------------+
""", "Shipments": """
+-----+----------+---------------------+
|  id | order_id |           ship_time |
+-----+----------+---------------------+
| 100 |        1 | 2024-01-01 08:00:00 |
| 101 |        4 | 2024-01-01 09:29:00 |
| 102 |        2 | 2024-01-01 12:30:00 |
| 103 |        3 | 2024-01-01 13:00:01 |
| 104 |        9 | 2024-01-01 13:10:00 |
| 105 |     null | 2024-01-01 13:20:00 |
+-----+----------+---------------------+
"""},
    duck_ddl="CREATE TABLE Orders (id INT, amount INT, order_time TIMESTAMP);"
             "CREATE TABLE Shipments (id INT, order_id INT, ship_time TIMESTAMP)",
    docs=[
        Doc("comma_between", "SELECT *\nFROM Orders o, Shipments s\nWHERE o.id = s.order_id\n"
            "AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time"),
    ],
)

TEMPORAL_AS_WRITTEN = """SELECT 
     order_id,
     price,
     currency,
     conversion_rate,
     order_time,
FROM orders
LEFT JOIN currency_rates FOR SYSTEM_TIME AS OF orders.order_time
ON orders.currency = currency_rates.currency"""

# the page's DDL; the versioned table's update_time is read from the file
# (the page takes it from Debezium's metadata: `values.source.timestamp`)
TEMPORAL_DDL = """
CREATE TABLE orders (
    order_id    STRING,
    price       DECIMAL(32,2),
    currency    STRING,
    order_time  TIMESTAMP(3),
    WATERMARK FOR order_time AS order_time
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
CREATE TABLE currency_rates (
    currency STRING,
    conversion_rate DECIMAL(32, 2),
    update_time TIMESTAMP(3),
    WATERMARK FOR update_time AS update_time,
    PRIMARY KEY(currency) NOT ENFORCED
) WITH ('connector' = 'filesystem', 'path' = 'rates.jsonl', 'format' = 'json');
"""

TEMPORAL = Page(
    name="joins_temporal", url=URL + "#event-time-temporal-join", ddl=TEMPORAL_DDL,
    inputs_from="ours: two EUR rates, 1.14 before 12:00 and 1.10 from 12:05, give the "
                "page's result",
    inputs={"orders": """
+----------+-------+----------+---------------------+
| order_id | price | currency |          order_time |
+----------+-------+----------+---------------------+
|    o_001 | 11.11 |      EUR | 2024-01-01 12:00:00 |
|    o_002 | 12.51 |      EUR | 2024-01-01 12:06:00 |
+----------+-------+----------+---------------------+
""", "currency_rates": """
+----------+-----------------+---------------------+
| currency | conversion_rate |         update_time |
+----------+-----------------+---------------------+
|      EUR |            1.14 | 2024-01-01 11:00:00 |
|      EUR |            1.10 | 2024-01-01 12:05:00 |
|      EUR |            1.20 | 2024-01-01 12:30:00 |
+----------+-----------------+---------------------+
"""},
    docs=[
        Doc("event_time_as_written", TEMPORAL_AS_WRITTEN, refused=Refusal(
            SqlSyntaxError, "", "the page's SELECT list ends in a comma before FROM",
            docs_bug=True)),
        Doc("event_time", TEMPORAL_AS_WRITTEN.replace("order_time,\n", "order_time\n")
            .replace("     currency,", "     orders.currency,"),
            expected="""
order_id  price  currency  conversion_rate  order_time
========  =====  ========  ===============  =========
o_001     11.11  EUR       1.14             2024-01-01 12:00:00
o_002     12.51  EUR       1.10             2024-01-01 12:06:00
""", note="the page's query without the comma before FROM, and with currency "
          "qualified (both tables have one: ambiguous, in Flink too); the page prints "
          "order_time as 12:00:00 (our rows are on 2024-01-01)"),
    ],
)

# Concepts > Versioned Tables, "Versioned Table Views": the page's RatesHistory
# (an append-only history, WITH (...) a file) and its versioned view, as written
VERSIONED_VIEW_DDL = """
CREATE TABLE RatesHistory (
    currency_time TIMESTAMP(3),
    currency      STRING,
    rate          DECIMAL(38, 10),
    WATERMARK FOR currency_time AS currency_time   -- defines event time
) WITH ('connector' = 'filesystem', 'path' = 'rates.jsonl', 'format' = 'json');
CREATE TABLE orders (
    order_time TIMESTAMP(3),
    amount     INT,
    currency   STRING,
    WATERMARK FOR order_time AS order_time
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
CREATE VIEW versioned_rates AS
SELECT currency, rate, currency_time            -- (1) `currency_time` keeps the event time
  FROM (
      SELECT *,
      ROW_NUMBER() OVER (PARTITION BY currency  -- (2) the inferred unique key `currency` can be a primary key
         ORDER BY currency_time DESC) AS rowNum
      FROM RatesHistory )
WHERE rowNum = 1;
"""

VERSIONED_VIEW = Page(
    name="joins_temporal_versioned_view",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/concepts/"
        "versioned_tables/#versioned-table-views",
    ddl=VERSIONED_VIEW_DDL,
    inputs_from="the RatesHistory and orders rows of Flink's temporal-table examples, on "
                "2024-01-01",
    inputs={"RatesHistory": """
currency_time        currency   rate
=================== ========== ====
2024-01-01 09:00:00 US Dollar  102
2024-01-01 09:00:00 Euro       114
2024-01-01 09:00:00 Yen        1
2024-01-01 10:45:00 Euro       116
2024-01-01 11:15:00 Euro       119
2024-01-01 11:49:00 Pounds     108
""", "orders": """
order_time          amount currency
=================== ====== =========
2024-01-01 10:15:00 2      Euro
2024-01-01 10:30:00 1      US Dollar
2024-01-01 10:32:00 50     Yen
2024-01-01 10:52:00 3      Euro
2024-01-01 11:04:00 5      US Dollar
"""},
    docs=[
        Doc("versioned_view", """SELECT
  o.order_time,
  o.amount,
  o.currency,
  r.rate,
  o.amount * r.rate AS converted
FROM orders AS o
JOIN versioned_rates FOR SYSTEM_TIME AS OF o.order_time AS r
ON o.currency = r.currency""", hand=[
            ("2024-01-01 10:15:00", 2, "Euro", 114, 228),
            ("2024-01-01 10:30:00", 1, "US Dollar", 102, 102),
            ("2024-01-01 10:32:00", 50, "Yen", 1, 50),
            ("2024-01-01 10:52:00", 3, "Euro", 116, 348),
            ("2024-01-01 11:04:00", 5, "US Dollar", 102, 510),
        ], note="the page's view as written; the join is ours, in the joins page's "
                "event-time temporal join form: each order gets the rate of its currency "
                "valid at its time (Euro 114 until 10:45, 116 until 11:15)"),
    ],
)

PROCTIME_DDL = """
CREATE TABLE Orders (
  amount INT,
  currency STRING,
  proctime AS PROCTIME()
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
CREATE TABLE LatestRates (
  currency STRING,
  rate INT
) WITH ('connector' = 'filesystem', 'path' = 'rates.jsonl', 'format' = 'json');
"""

PROCTIME = Page(
    name="joins_processing_time", url=URL + "#processing-time-temporal-join",
    ddl=PROCTIME_DDL, inputs_from="the page's (LatestRates as at 10:15; a file does not change)",
    inputs={"Orders": """
amount currency
====== =========
     2 Euro
     1 US Dollar
     2 Euro
""", "LatestRates": """
currency   rate
======== ======
US Dollar   102
Euro        114
Yen           1
"""},
    docs=[
        Doc("latest_rates", """SELECT
  o.amount, o.currency, r.rate, o.amount * r.rate
FROM
  Orders AS o
  JOIN LatestRates FOR SYSTEM_TIME AS OF o.proctime AS r
  ON r.currency = o.currency""", hand=[(2, "Euro", 114, 228), (1, "US Dollar", 102, 102),
                                       (2, "Euro", 114, 228)],
            note="the page's third row has 116 (Euro changed at 10:52); a file's rate "
                 "stays 114"),
    ],
)

LOOKUP_DDL = """
CREATE TABLE Orders (
  order_id INT,
  total DOUBLE,
  customer_id INT,
  proc_time AS PROCTIME()
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
-- Customers is backed by the JDBC connector and can be used for lookup joins
CREATE TEMPORARY TABLE Customers (
  id INT,
  name STRING,
  country STRING,
  zip STRING
) WITH (
  'connector' = 'jdbc',
  'url' = 'jdbc:mysql://mysqlhost:3306/customerdb',
  'table-name' = 'customers'
);
"""

LOOKUP = Page(
    name="joins_lookup", url=URL + "#lookup-join", ddl=LOOKUP_DDL,
    inputs_from="ours; Customers' rows from a file given with --input (no MySQL here)",
    inputs={"Orders": """
+----------+-------+-------------+
| order_id | total | customer_id |
+----------+-------+-------------+
|        1 |  9.50 |          10 |
|        2 | 20.00 |          11 |
|        3 |  4.25 |          99 |
|        4 |  7.00 |        null |
+----------+-------+-------------+
""", "Customers": """
+----+-------+---------+-------+
| id |  name | country |   zip |
+----+-------+---------+-------+
| 10 |   Ann |      DE | '10115' |
| 11 |  Bert |      FR | '75001' |
+----+-------+---------+-------+
"""},
    duck_ddl="CREATE TABLE Orders (order_id INT, total DOUBLE, customer_id INT);"
             "CREATE TABLE Customers (id INT, name VARCHAR, country VARCHAR, zip VARCHAR)",
    docs=[
        Doc("customers", """SELECT o.order_id, o.total, c.country, c.zip
FROM Orders AS o
  JOIN Customers FOR SYSTEM_TIME AS OF o.proc_time AS c
    ON o.customer_id = c.id""", duckdb="SELECT o.order_id, o.total, c.country, c.zip "
            "FROM Orders AS o JOIN Customers AS c ON o.customer_id = c.id"),
    ],
)

UNNEST_DDL = """
CREATE TABLE Orders (
  order_id INT,
  tags ARRAY<STRING>
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
"""

UNNEST = Page(
    name="joins_array_expansion", url=URL + "#array-expansion", ddl=UNNEST_DDL, inputs_from=OURS,
    inputs={"Orders": """
+----------+----------------+
| order_id |           tags |
+----------+----------------+
|        1 | [new, gift]    |
|        2 | []             |
|        3 | [sale]         |
+----------+----------------+
"""},
    duck_ddl="CREATE TABLE Orders (order_id INT, tags VARCHAR[])",
    docs=[
        Doc("unnest", "SELECT order_id, tag\nFROM Orders CROSS JOIN UNNEST(tags) AS t (tag)",
            duckdb="SELECT order_id, unnest(tags) FROM Orders"),
    ],
)

# table_func is the page's placeholder for a user-defined table function
NO_UDF = Refusal(UnsupportedError, "LATERAL TABLE", "LATERAL TABLE: user-defined table "
                 "functions (the page's table_func is a placeholder for one)")

TABLE_FUNCTION = Page(
    name="joins_table_function", url=URL + "#table-function", ddl=UNNEST_DDL, inputs={},
    docs=[
        Doc("inner_lateral", "SELECT order_id, res\nFROM Orders,\n"
            "LATERAL TABLE(table_func(order_id)) t(res)", refused=NO_UDF),
        Doc("left_lateral", "SELECT order_id, res\nFROM Orders\n"
            "LEFT OUTER JOIN LATERAL TABLE(table_func(order_id)) t(res)\n  ON TRUE",
            refused=NO_UDF),
    ],
)

PAGES = [REGULAR, INTERVAL, TEMPORAL, VERSIONED_VIEW, PROCTIME, LOOKUP, UNNEST, TABLE_FUNCTION]

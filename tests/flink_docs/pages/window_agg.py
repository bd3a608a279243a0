"""Queries > Window Aggregation
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/window-agg/):
TUMBLE/HOP/CUMULATE aggregation, GROUPING SETS, ROLLUP, CUBE, cascading
windows, and the deprecated group window functions."""

from compiler.errors import BindError
from tests.flink_docs.corpus import Doc, Page, Refusal

# `desc Bid` on the page (the page shows no WITH clause: rows from a JSON file)
BID = """
CREATE TABLE Bid (
  bidtime TIMESTAMP(3),
  price DECIMAL(10, 2),
  item STRING,
  supplier_id STRING,
  WATERMARK FOR bidtime AS bidtime - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'bid.jsonl', 'format' = 'json');
"""

ROWS = """
+------------------+-------+------+-------------+
|          bidtime | price | item | supplier_id |
+------------------+-------+------+-------------+
| 2020-04-15 08:05 | 4.00  | C    | supplier1   |
| 2020-04-15 08:07 | 2.00  | A    | supplier1   |
| 2020-04-15 08:09 | 5.00  | D    | supplier2   |
| 2020-04-15 08:11 | 3.00  | B    | supplier2   |
| 2020-04-15 08:13 | 1.00  | E    | supplier1   |
| 2020-04-15 08:17 | 6.00  | F    | supplier2   |
+------------------+-------+------+-------------+
"""

# DuckDB's Bid, and the page's windows written as DuckDB can (time_bucket)
DUCK = """
CREATE TABLE Bid (bidtime TIMESTAMP, price DECIMAL(10, 2), item VARCHAR, supplier_id VARCHAR);
CREATE VIEW tumbled AS SELECT *, time_bucket(INTERVAL 10 MINUTE, bidtime) AS window_start,
  time_bucket(INTERVAL 10 MINUTE, bidtime) + INTERVAL 10 MINUTE AS window_end FROM Bid;
"""

BY_SUPPLIER = """
+------------------+------------------+-------------+-------+
|     window_start |       window_end | supplier_id | price |
+------------------+------------------+-------------+-------+
| 2020-04-15 08:00 | 2020-04-15 08:10 |      (NULL) | 11.00 |
| 2020-04-15 08:00 | 2020-04-15 08:10 |   supplier2 |  5.00 |
| 2020-04-15 08:00 | 2020-04-15 08:10 |   supplier1 |  6.00 |
| 2020-04-15 08:10 | 2020-04-15 08:20 |      (NULL) | 10.00 |
| 2020-04-15 08:10 | 2020-04-15 08:20 |   supplier2 |  9.00 |
| 2020-04-15 08:10 | 2020-04-15 08:20 |   supplier1 |  1.00 |
+------------------+------------------+-------------+-------+
"""

CUBE_DUCK = """SELECT window_start, window_end, item, supplier_id, SUM(price) AS price
  FROM tumbled GROUP BY window_start, window_end, CUBE (supplier_id, item)"""

CASCADING = """-- tumbling 5 minutes for each supplier_id
CREATE VIEW window1 AS
-- Note: The window start and window end fields of inner Window TVF are optional in the select clause. However, if they appear in the clause, they need to be aliased to prevent name conflicting with the window start and window end of the outer Window TVF.
SELECT window_start AS window_5mintumble_start, window_end AS window_5mintumble_end, window_time AS rowtime, SUM(price) AS partial_price
  FROM TABLE(
    TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '5' MINUTES))
  GROUP BY supplier_id, window_start, window_end, window_time;

-- tumbling 10 minutes on the first window
SELECT window_start, window_end, SUM(partial_price) AS total_price
  FROM TABLE(
      TUMBLE(TABLE window1, DESCRIPTOR(rowtime), INTERVAL '10' MINUTES))
  GROUP BY window_start, window_end"""

CASCADING_DUCK = """SELECT time_bucket(INTERVAL 10 MINUTE, rowtime) AS s, s + INTERVAL 10 MINUTE,
  SUM(partial_price)
FROM (SELECT window_end - INTERVAL 1 MILLISECOND AS rowtime, SUM(price) AS partial_price
      FROM (SELECT *, time_bucket(INTERVAL 5 MINUTE, bidtime) + INTERVAL 5 MINUTE AS window_end
            FROM Bid)
      GROUP BY supplier_id, window_end)
GROUP BY s"""

PAGE = Page(
    name="window_agg",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/window-agg/",
    ddl=BID,
    inputs={"Bid": ROWS},
    duck_ddl=DUCK,
    docs=[
        Doc("tumble", "SELECT window_start, window_end, SUM(price)\n  FROM TABLE(\n"
            "    TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES))\n"
            "  GROUP BY window_start, window_end", """
+------------------+------------------+-------+
|     window_start |       window_end | price |
+------------------+------------------+-------+
| 2020-04-15 08:00 | 2020-04-15 08:10 | 11.00 |
| 2020-04-15 08:10 | 2020-04-15 08:20 | 10.00 |
+------------------+------------------+-------+
"""),
        Doc("hop", "SELECT window_start, window_end, SUM(price)\n  FROM TABLE(\n"
            "    HOP(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '5' MINUTES, "
            "INTERVAL '10' MINUTES))\n  GROUP BY window_start, window_end", """
+------------------+------------------+-------+
|     window_start |       window_end | price |
+------------------+------------------+-------+
| 2020-04-15 08:00 | 2020-04-15 08:10 | 11.00 |
| 2020-04-15 08:05 | 2020-04-15 08:15 | 15.00 |
| 2020-04-15 08:10 | 2020-04-15 08:20 | 10.00 |
| 2020-04-15 08:15 | 2020-04-15 08:25 | 6.00  |
+------------------+------------------+-------+
"""),
        Doc("cumulate", "SELECT window_start, window_end, SUM(price)\n  FROM TABLE(\n"
            "    CUMULATE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '2' MINUTES, "
            "INTERVAL '10' MINUTES))\n  GROUP BY window_start, window_end", """
+------------------+------------------+-------+
|     window_start |       window_end | price |
+------------------+------------------+-------+
| 2020-04-15 08:00 | 2020-04-15 08:06 | 4.00  |
| 2020-04-15 08:00 | 2020-04-15 08:08 | 6.00  |
| 2020-04-15 08:00 | 2020-04-15 08:10 | 11.00 |
| 2020-04-15 08:10 | 2020-04-15 08:12 | 3.00  |
| 2020-04-15 08:10 | 2020-04-15 08:14 | 4.00  |
| 2020-04-15 08:10 | 2020-04-15 08:16 | 4.00  |
| 2020-04-15 08:10 | 2020-04-15 08:18 | 10.00 |
| 2020-04-15 08:10 | 2020-04-15 08:20 | 10.00 |
+------------------+------------------+-------+
"""),
        Doc("grouping_sets", "SELECT window_start, window_end, supplier_id, SUM(price) as price\n"
            "  FROM TABLE(\n    TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES))\n"
            "  GROUP BY window_start, window_end, GROUPING SETS ((supplier_id), ())",
            BY_SUPPLIER),
        # "the following query is equivalent to the one above": the same rows
        Doc("rollup", "SELECT window_start, window_end, supplier_id, SUM(price) as price\n"
            "FROM TABLE(\n    TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES))\n"
            "GROUP BY window_start, window_end, ROLLUP (supplier_id)", BY_SUPPLIER),
        Doc("cube", "SELECT window_start, window_end, item, supplier_id, SUM(price) as price\n"
            "  FROM TABLE(\n    TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES))\n"
            "  GROUP BY window_start, window_end, CUBE (supplier_id, item)", duckdb=CUBE_DUCK),
        Doc("cube_as_grouping_sets", "SELECT window_start, window_end, item, supplier_id, "
            "SUM(price) as price\n  FROM TABLE(\n    TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), "
            "INTERVAL '10' MINUTES))\n  GROUP BY window_start, window_end, GROUPING SETS (\n"
            "      (supplier_id, item),\n      (supplier_id      ),\n      (             item),\n"
            "      (                 )\n)", duckdb=CUBE_DUCK),
        # the view and the query after it, as one file: first as earlier versions of
        # the page wrote it, then as the page writes it now (the inner window's
        # columns aliased, "to prevent name conflicting with the window start and
        # window end of the outer Window TVF")
        Doc("cascading_unaliased", CASCADING.replace(" AS window_5mintumble_start", "")
            .replace(" AS window_5mintumble_end", ""), refused=Refusal(
                BindError, "already has a column window_start", "window1 keeps window_start "
                "and window_end, which the outer TUMBLE adds again (Flink refuses it too; the "
                "page now aliases them)", docs_bug=True)),
        Doc("cascading", CASCADING, duckdb=CASCADING_DUCK),
    ],
)

# the deprecated group window functions, on the page's own Orders table
ORDERS = """
CREATE TABLE Orders (
  user       BIGINT,
  product    STRING,
  amount     INT,
  order_time TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '1' MINUTE
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
"""

ORDER_ROWS = """
+------+---------+--------+---------------------+
| user | product | amount |          order_time |
+------+---------+--------+---------------------+
|    1 |    beer |      3 | 2020-04-15 08:05:00 |
|    2 |  diaper |      4 | 2020-04-15 09:07:00 |
|    1 |  rubber |      1 | 2020-04-15 23:59:59 |
|    1 |    beer |      2 | 2020-04-16 00:00:00 |
| null |    beer |      5 | 2020-04-16 10:00:00 |
+------+---------+--------+---------------------+
"""

GROUP_WINDOW = Page(
    name="window_agg_group_window",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/"
        "window-agg/#group-window-aggregation",
    ddl=ORDERS,
    inputs={"Orders": ORDER_ROWS},
    inputs_from="ours (the page shows none)",
    duck_ddl='CREATE TABLE Orders ("user" BIGINT, product VARCHAR, amount INT, '
             "order_time TIMESTAMP)",
    docs=[
        Doc("tumble_start", "SELECT\n  user,\n  TUMBLE_START(order_time, INTERVAL '1' DAY) AS "
            "wStart,\n  SUM(amount) FROM Orders\nGROUP BY\n  TUMBLE(order_time, INTERVAL '1' "
            "DAY),\n  user",
            duckdb='SELECT "user", time_bucket(INTERVAL 1 DAY, order_time), SUM(amount) '
                   'FROM Orders GROUP BY 1, 2'),
    ],
)

PAGES = [PAGE, GROUP_WINDOW]

"""Queries > Over Aggregation
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/over-agg/):
the page's RANGE query, its WINDOW clause form, and its two range
definitions (``RANGE ... 30 MINUTE``, ``ROWS 10 PRECEDING``) each in the
page's query. The page declares no Orders and shows no rows: ours, in time
order (no late row), with peers (two orders at 10:30) and a NULL amount."""

from tests.flink_docs.corpus import Doc, Page

ORDERS = """
CREATE TABLE Orders (
  order_id BIGINT,
  product STRING,
  amount INT,
  order_time TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
"""

ROWS = """
+----------+---------+--------+---------------------+
| order_id | product | amount |          order_time |
+----------+---------+--------+---------------------+
|        1 |    beer |      3 | 2024-01-01 10:00:00 |
|        2 |  diaper |      4 | 2024-01-01 10:10:00 |
|        3 |    beer |      1 | 2024-01-01 10:30:00 |
|        4 |    beer |      7 | 2024-01-01 10:30:00 |
|        5 |  diaper |   null | 2024-01-01 10:45:00 |
|        6 |    beer |      2 | 2024-01-01 11:00:00 |
|        7 |    beer |      5 | 2024-01-01 11:30:00 |
|        8 |    null |      6 | 2024-01-01 11:31:00 |
|        9 |  diaper |      8 | 2024-01-01 12:20:00 |
+----------+---------+--------+---------------------+
"""

QUERY = """SELECT order_id, order_time, amount,
  SUM(amount) OVER (
    PARTITION BY product
    ORDER BY order_time
    RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW
  ) AS one_hour_prod_amount_sum
FROM Orders"""

PAGE = Page(
    name="over_agg",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/over-agg/",
    ddl=ORDERS,
    inputs={"Orders": ROWS},
    inputs_from="ours (the page shows none)",
    duck_ddl="CREATE TABLE Orders (order_id BIGINT, product VARCHAR, amount INT, "
             "order_time TIMESTAMP)",
    docs=[
        Doc("range_one_hour", QUERY),
        Doc("range_30_minutes", QUERY.replace(
            "RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW",
            "RANGE BETWEEN INTERVAL '30' MINUTE PRECEDING AND CURRENT ROW"),
            note="the page's range definition in its query"),
        Doc("rows_10", QUERY.replace(
            "RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW",
            "ROWS BETWEEN 10 PRECEDING AND CURRENT ROW"),
            note="the page's ROWS definition in its query"),
        Doc("window_clause", """SELECT order_id, order_time, amount,
  SUM(amount) OVER w AS sum_amount,
  AVG(amount) OVER w AS avg_amount
FROM Orders
WINDOW w AS (
  PARTITION BY product
  ORDER BY order_time
  RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)"""),
    ],
)

PAGES = [PAGE]

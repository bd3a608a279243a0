"""Queries > Top-N
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/topn/)
and Queries > Deduplication
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/deduplication/).
Neither page shows rows: ours, and DuckDB's result on them (the final table
of sqlc's updating result)."""

from compiler.errors import BindError
from tests.flink_docs.corpus import Doc, Page, Refusal

# the page's DDL; `WITH (...)` becomes a JSON file
SHOP_SALES = """
CREATE TABLE ShopSales (
  product_id   STRING,
  category     STRING,
  product_name STRING,
  sales        BIGINT
) WITH ('connector' = 'filesystem', 'path' = 'shop_sales.jsonl', 'format' = 'json');
"""

SALES = """
+------------+----------+--------------+-------+
| product_id | category | product_name | sales |
+------------+----------+--------------+-------+
|         p1 |    fruit |        apple |    10 |
|         p2 |    fruit |       banana |    30 |
|         p3 |    fruit |       cherry |    20 |
|         p4 |    fruit |         date |    50 |
|         p5 |    fruit |   elderberry |     5 |
|         p6 |    fruit |          fig |    40 |
|         p7 |    fruit |        grape |    60 |
|         p8 |      veg |       carrot |     7 |
|         p9 |      veg |         leek |     3 |
|        p10 |     null |        mango |    99 |
+------------+----------+--------------+-------+
"""

TOP5 = """SELECT *
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY category ORDER BY sales DESC) AS row_num
  FROM ShopSales)
WHERE row_num <= 5"""

TOPN = Page(
    name="topn",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/topn/",
    ddl=SHOP_SALES,
    inputs={"ShopSales": SALES},
    inputs_from="ours (the page shows none)",
    duck_ddl="CREATE TABLE ShopSales (product_id VARCHAR, category VARCHAR, "
             "product_name VARCHAR, sales BIGINT)",
    docs=[
        Doc("top5", TOP5),
        Doc("top5_no_rank", "SELECT product_id, category, product_name, sales\n" + TOP5[9:]),
    ],
)

# the page's DDL; `WITH (...)` becomes a JSON file
ORDERS = """
CREATE TABLE Orders (
  order_time  STRING,
  user        STRING,
  product     STRING,
  num         BIGINT,
  proctime AS PROCTIME()
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
"""

ORDERS_ROWS = """
+---------------------+-------+---------+-----+
|          order_time |  user | product | num |
+---------------------+-------+---------+-----+
| 2024-01-01 10:00:00 | alice |    beer |   1 |
+---------------------+-------+---------+-----+
"""

DEDUP = Page(
    name="deduplication",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/"
        "deduplication/",
    ddl=ORDERS,
    inputs={"Orders": ORDERS_ROWS},
    inputs_from="ours (the page shows none)",
    docs=[
        Doc("first_per_order", """SELECT order_id, user, product, num
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY proctime ASC) AS row_num
  FROM Orders)
WHERE row_num = 1""", refused=Refusal(BindError, "order_id", "the page's Orders has no order_id",
                                       docs_bug=True)),
    ],
)

PAGES = [TOPN, DEDUP]

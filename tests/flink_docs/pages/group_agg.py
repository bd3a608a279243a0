"""Queries > Group Aggregation
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/group-agg/):
COUNT, GROUP BY, DISTINCT, GROUPING SETS / ROLLUP / CUBE over VALUES, HAVING.
The page declares no Orders table and shows no rows of it: both are ours
(the columns its queries use: order_id, users, amount); the GROUPING SETS
example runs on its own VALUES and shows its result."""

from compiler.errors import SqlSyntaxError, UnsupportedError
from tests.flink_docs.corpus import Doc, Page, Refusal

ORDERS = """
CREATE TABLE Orders (
  order_id BIGINT,
  users STRING,
  amount INT,
  order_time TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'orders.jsonl', 'format' = 'json');
"""

ROWS = """
+----------+-------+--------+---------------------+
| order_id | users | amount |          order_time |
+----------+-------+--------+---------------------+
|        1 | alice |     30 | 2024-01-01 10:00:00 |
|        2 |   bob |     10 | 2024-01-01 10:00:01 |
|        2 |   bob |     15 | 2024-01-01 10:00:02 |
|        3 | alice |     25 | 2024-01-01 10:00:03 |
|     null |  carl |     60 | 2024-01-01 10:00:04 |
|        4 |  null |     70 | 2024-01-01 10:00:05 |
|        1 |   bob |   null | 2024-01-01 10:00:06 |
+----------+-------+--------+---------------------+
"""

VALUES = """FROM (VALUES
    ('supplier1', 'product1', 4),
    ('supplier1', 'product2', 3),
    ('supplier2', 'product3', 3),
    ('supplier2', 'product4', 4))
AS Products(supplier_id, product_id, rating)"""

GROUPED = """
+-------------+--------+-------+
| supplier_id | rating | total |
+-------------+--------+-------+
|   supplier1 |      4 |     1 |
|   supplier1 | (NULL) |     2 |
|      (NULL) | (NULL) |     4 |
|   supplier1 |      3 |     1 |
|   supplier2 |      3 |     1 |
|   supplier2 | (NULL) |     2 |
|   supplier2 |      4 |     1 |
+-------------+--------+-------+
"""

PAGE = Page(
    name="group_agg",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/group-agg/",
    ddl=ORDERS,
    inputs={"Orders": ROWS},
    inputs_from="ours (the page shows none)",
    duck_ddl="CREATE TABLE Orders (order_id BIGINT, users VARCHAR, amount INT, "
             "order_time TIMESTAMP)",
    docs=[
        Doc("count", "SELECT COUNT(*) FROM Orders"),
        Doc("count_by_order", "SELECT COUNT(*)\nFROM Orders\nGROUP BY order_id"),
        Doc("count_distinct", "SELECT COUNT(DISTINCT order_id) FROM Orders"),
        Doc("grouping_sets", "SELECT supplier_id, rating, COUNT(*) AS total\n" + VALUES
            + "\nGROUP BY GROUPING SETS ((supplier_id, rating), (supplier_id), ())", GROUPED),
        # "the following query is equivalent to the one above": the same rows
        Doc("rollup", "SELECT supplier_id, rating, COUNT(*)\n" + VALUES
            + "\nGROUP BY ROLLUP (supplier_id, rating)", GROUPED),
        Doc("cube", "SELECT supplier_id, rating, product_id, COUNT(*)\n" + VALUES
            + "\nGROUP BY CUBE (supplier_id, rating, product_id)"),
        # the page's spelled-out CUBE says GROUPING SET, which no SQL has
        Doc("cube_as_grouping_sets", "SELECT supplier_id, rating, product_id, COUNT(*)\n"
            + VALUES + """
GROUP BY GROUPING SET (
    ( supplier_id, product_id, rating ),
    ( supplier_id, product_id         ),
    ( supplier_id,             rating ),
    ( supplier_id                     ),
    (              product_id, rating ),
    (              product_id         ),
    (                          rating ),
    (                                 )
)""", refused=Refusal(SqlSyntaxError, "", "the page writes GROUPING SET for GROUPING SETS",
                      docs_bug=True)),
        Doc("having", "SELECT SUM(amount)\nFROM Orders\nGROUP BY users\nHAVING SUM(amount) > 50"),
    ],
)

PAGES = [PAGE]

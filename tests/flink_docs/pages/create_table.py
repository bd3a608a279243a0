"""SQL > CREATE Statements
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/create/):
the page's CREATE TABLE examples (computed column, watermark, LIKE, metadata
columns) each followed by a query of ours that reads the table, and its
INSERT INTO example. A Kafka table's ``...`` (or missing topic and format)
is ``'topic' = ..., 'format' = 'json'``; the rows come from files given with
--input. The page shows no rows: ours."""

from compiler.errors import SqlSyntaxError
from tests.flink_docs.corpus import Doc, Page, Refusal

URL = "https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/create/"
OURS = "ours (the page shows none)"

COMPUTED = Page(
    name="create_computed_column", url=URL + "#columns", ddl="", inputs_from=OURS,
    inputs={"MyTable": """
+---------+-------+----------+
| user_id | price | quantity |
+---------+-------+----------+
|       1 |   2.5 |      4.0 |
|       2 |  10.0 |     null |
+---------+-------+----------+
"""},
    docs=[Doc("computed_cost", """CREATE TABLE MyTable (
  `user_id` BIGINT,
  `price` DOUBLE,
  `quantity` DOUBLE,
  `cost` AS price * quantity  -- evaluate expression and supply the result to queries
) WITH (
  'connector' = 'kafka', 'topic' = 'my_table', 'format' = 'json'
);
SELECT * FROM MyTable""", hand=[(1, 2.5, 4.0, 10.0), (2, 10.0, None, None)])],
)

METADATA = Page(
    name="create_metadata_columns", url=URL + "#columns", ddl="", inputs={},
    docs=[Doc("virtual_offset", """CREATE TABLE MyTable (
  `timestamp` BIGINT METADATA,       -- part of the query-to-sink schema
  `offset` BIGINT METADATA VIRTUAL,  -- not part of the query-to-sink schema
  `user_id` BIGINT,
  `name` STRING,
) WITH (
  'connector' = 'kafka'
);
SELECT * FROM MyTable""", refused=Refusal(
        SqlSyntaxError, "", "the page's column list ends in a comma before `)`", docs_bug=True))],
)

ORDERS_ROWS = """
+------+---------+---------------------+
| user | product |          order_time |
+------+---------+---------------------+
|    1 |    beer | 2024-01-01 10:00:00 |
|    2 |  diaper | 2024-01-01 10:00:30 |
|    1 |  rubber | 2024-01-01 10:01:10 |
+------+---------+---------------------+
"""

LIKE = Page(
    name="create_like", url=URL + "#like", ddl="", inputs_from=OURS,
    inputs={"Orders_with_watermark": ORDERS_ROWS},
    docs=[Doc("like_with_watermark", """CREATE TABLE Orders (
    `user` BIGINT,
    product STRING,
    order_time TIMESTAMP(3)
) WITH ( 
    'connector' = 'kafka', 'topic' = 'orders', 'format' = 'json',
    'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE Orders_with_watermark (
    -- Add watermark definition
    WATERMARK FOR order_time AS order_time - INTERVAL '5' SECOND 
) WITH (
    -- Overwrite the startup-mode
    'scan.startup.mode' = 'latest-offset'
)
LIKE Orders;

SELECT window_start, COUNT(*) AS orders
FROM TABLE(TUMBLE(TABLE Orders_with_watermark, DESCRIPTOR(order_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end""",
        hand=[("2024-01-01 10:00:00", 2), ("2024-01-01 10:01:00", 1)],
        note="the page's tables; the windowed count (ours) shows the watermark LIKE added")],
)

INSERT = Page(
    name="create_insert", url=URL + "#run-a-create-statement", ddl="", inputs_from=OURS,
    inputs={"Orders": """
+------+--------------+--------+
| user |      product | amount |
+------+--------------+--------+
|    1 |  Rubber Duck |      2 |
|    2 |         beer |      6 |
|    3 | Pink Rubber  |      1 |
+------+--------------+--------+
"""},
    docs=[Doc("insert_rubber", """CREATE TABLE Orders (`user` BIGINT, product STRING, amount INT) WITH ('connector' = 'kafka', 'topic' = 'orders', 'format' = 'json');
CREATE TABLE RubberOrders (product STRING, amount INT) WITH ('connector' = 'kafka', 'topic' = 'rubber_orders', 'format' = 'json');
INSERT INTO RubberOrders SELECT product, amount FROM Orders WHERE product LIKE '%Rubber%'""",
        hand=[("Rubber Duck", 2), ("Pink Rubber", 1)],
        note="the page's `WITH (...)`: a Kafka topic in JSON")],
)

PAGES = [COMPUTED, METADATA, LIKE, INSERT]

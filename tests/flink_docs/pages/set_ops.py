"""Queries > Set Operations
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/set-ops/):
UNION, UNION ALL, INTERSECT, EXCEPT, IN, EXISTS over its Orders and
NewProducts tables. The page gives no input rows: ours, and DuckDB's result
for the same SQL. (The page's EXISTS example, ``WHERE product EXISTS
(...)``, is as FLINK-18781 corrected it; ``user`` is quoted as Flink needs.)"""

from tests.flink_docs.corpus import Doc, Page

TABLES = """
CREATE TABLE Orders (
    `user` BIGINT,
    product VARCHAR,
    amount INT,
    ts BIGINT NOT NULL,
    order_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR order_time AS order_time - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'orders', 'format' = 'json');

CREATE TABLE NewProducts (
    product VARCHAR,
    ts BIGINT NOT NULL,
    added_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR added_time AS added_time - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'new_products', 'format' = 'json');
"""

PAGE = Page(
    name="set_ops",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/set-ops/",
    ddl=TABLES,
    inputs_from="ours (the page shows none)",
    inputs={"Orders": """
+------+---------+--------+------+
| user | product | amount |   ts |
+------+---------+--------+------+
|    1 |    beer |      3 | 1000 |
|    2 |  diaper |      4 | 2000 |
|    1 |  rubber |      1 | 3000 |
|    3 |    null |      2 | 4000 |
|    2 |    beer |      5 | 5000 |
+------+---------+--------+------+
""", "NewProducts": """
+---------+------+
| product |   ts |
+---------+------+
|    beer |  500 |
|    soap | 2500 |
+---------+------+
"""},
    duck_ddl='CREATE TABLE Orders ("user" BIGINT, product VARCHAR, amount INT, ts BIGINT);'
             "CREATE TABLE NewProducts (product VARCHAR, ts BIGINT)",
    docs=[
        Doc("union", "(SELECT product FROM Orders) UNION (SELECT product FROM NewProducts)"),
        Doc("union_all", "(SELECT product FROM Orders) UNION ALL (SELECT product FROM NewProducts)"),
        Doc("intersect", "(SELECT product FROM Orders) INTERSECT (SELECT product FROM NewProducts)"),
        Doc("except", "(SELECT product FROM Orders) EXCEPT (SELECT product FROM NewProducts)"),
        Doc("in", "SELECT `user`, amount FROM Orders WHERE product IN (SELECT product FROM "
            "NewProducts)"),
        Doc("exists", "SELECT `user`, amount FROM Orders WHERE EXISTS (SELECT product FROM "
            "NewProducts WHERE Orders.product = NewProducts.product)"),
        Doc("not_exists", "SELECT `user`, amount FROM Orders WHERE NOT EXISTS (SELECT product "
            "FROM NewProducts WHERE Orders.product = NewProducts.product)"),
        # over a nullable column: Flink's null-aware anti join drops the NULL product
        Doc("not_in", "SELECT `user`, amount FROM Orders WHERE product NOT IN "
            "(SELECT product FROM NewProducts)"),
    ],
)

PAGES = [PAGE]

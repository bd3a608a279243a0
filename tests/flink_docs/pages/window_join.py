"""Queries > Window JOIN
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/window-join/):
FULL OUTER (the page's one example of INNER/LEFT/RIGHT/FULL), SEMI with IN
and EXISTS, ANTI with NOT IN and NOT EXISTS, on LeftTable and RightTable."""

from tests.flink_docs.corpus import Doc, Page

# `desc LeftTable`, `desc RightTable` on the page; rows from JSON files
TABLES = """
CREATE TABLE LeftTable (
  row_time TIMESTAMP(3),
  num INT,
  id STRING,
  WATERMARK FOR row_time AS row_time - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'left.jsonl', 'format' = 'json');
CREATE TABLE RightTable (
  row_time TIMESTAMP(3),
  num INT,
  id STRING,
  WATERMARK FOR row_time AS row_time - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'right.jsonl', 'format' = 'json');
"""

LEFT_AS_LISTED = """
+------------------+-----+----+
|         row_time | num | id |
+------------------+-----+----+
| 2020-04-15 12:02 |   1 | L1 |
| 2020-04-15 12:06 |   2 | L2 |
| 2020-04-15 12:03 |   3 | L3 |
+------------------+-----+----+
"""
# The page lists L3 (12:03) after L2 (12:06), three minutes behind with a
# one-second watermark bound; the queries run on the rows in time order, and
# again in the page's order (window_join_as_listed, below).
LEFT = """
+------------------+-----+----+
|         row_time | num | id |
+------------------+-----+----+
| 2020-04-15 12:02 |   1 | L1 |
| 2020-04-15 12:03 |   3 | L3 |
| 2020-04-15 12:06 |   2 | L2 |
+------------------+-----+----+
"""

RIGHT = """
+------------------+-----+----+
|         row_time | num | id |
+------------------+-----+----+
| 2020-04-15 12:01 |   2 | R2 |
| 2020-04-15 12:04 |   3 | R3 |
| 2020-04-15 12:05 |   4 | R4 |
+------------------+-----+----+
"""

L = "SELECT * FROM TABLE(TUMBLE(TABLE LeftTable, DESCRIPTOR(row_time), INTERVAL '5' MINUTES))"
R = "SELECT * FROM TABLE(TUMBLE(TABLE RightTable, DESCRIPTOR(row_time), INTERVAL '5' MINUTES))"
ON = "ON L.num = R.num AND L.window_start = R.window_start AND L.window_end = R.window_end"


def join(kind: str) -> str:
    return (f"SELECT L.num as L_Num, L.id as L_Id, R.num as R_Num, R.id as R_Id, "
            f"L.window_start, L.window_end\n           FROM (\n               {L}\n"
            f"           ) L\n           {kind} (\n               {R}\n           ) R\n"
            f"           {ON}")


FULL = """
+-------+------+-------+------+------------------+------------------+
| L_Num | L_Id | R_Num | R_Id |     window_start |       window_end |
+-------+------+-------+------+------------------+------------------+
|     1 |   L1 |  null | null | 2020-04-15 12:00 | 2020-04-15 12:05 |
|  null | null |     2 |   R2 | 2020-04-15 12:00 | 2020-04-15 12:05 |
|     3 |   L3 |     3 |   R3 | 2020-04-15 12:00 | 2020-04-15 12:05 |
|     2 |   L2 |  null | null | 2020-04-15 12:05 | 2020-04-15 12:10 |
|  null | null |     4 |   R4 | 2020-04-15 12:05 | 2020-04-15 12:10 |
+-------+------+-------+------+------------------+------------------+
"""


def full_rows(keep) -> str:
    """The page's FULL JOIN result restricted to the rows another join kind
    keeps (the page: 'very similar with each other, we only give an example
    for FULL OUTER JOIN'). L.window_start is NULL where L is (Flink 2.3)."""
    lines = FULL.strip().splitlines()
    body = []
    for line in lines[3:-1]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if keep(cells[0] != "null", cells[2] != "null"):
            if cells[0] == "null":
                cells[4] = cells[5] = "null"
            body.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines[:3], *body, lines[-1]])


SEMI = """
+------------------+-----+----+------------------+------------------+-------------------------+
|         row_time | num | id |     window_start |       window_end |            window_time  |
+------------------+-----+----+------------------+------------------+-------------------------+
| 2020-04-15 12:03 |   3 | L3 | 2020-04-15 12:00 | 2020-04-15 12:05 | 2020-04-15 12:04:59.999 |
+------------------+-----+----+------------------+------------------+-------------------------+
"""

ANTI = """
+------------------+-----+----+------------------+------------------+-------------------------+
|         row_time | num | id |     window_start |       window_end |            window_time  |
+------------------+-----+----+------------------+------------------+-------------------------+
| 2020-04-15 12:02 |   1 | L1 | 2020-04-15 12:00 | 2020-04-15 12:05 | 2020-04-15 12:04:59.999 |
| 2020-04-15 12:06 |   2 | L2 | 2020-04-15 12:05 | 2020-04-15 12:10 | 2020-04-15 12:09:59.999 |
+------------------+-----+----+------------------+------------------+-------------------------+
"""


def semi(where: str) -> str:
    return (f"SELECT *\n           FROM (\n               {L}\n           ) L WHERE {where}")


PAGE = Page(
    name="window_join",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/window-join/",
    ddl=TABLES,
    inputs={"LeftTable": LEFT, "RightTable": RIGHT},
    docs=[
        # The page prints L.window_start and L.window_end for R2 and R4, rows with
        # no left side; Flink 2.3 (PyFlink, these rows) gives NULL there, as an
        # outer join pads the missing side: the page's rows with those NULLs.
        Doc("full", join("FULL JOIN"), full_rows(lambda left, right: True),
            note="the page prints window_start/window_end of L for right-only rows; "
                 "Flink 2.3 gives NULL (checked with PyFlink)"),
        Doc("inner", join("JOIN"), full_rows(lambda left, right: left and right),
            note="the page's FULL result, matched rows only"),
        Doc("left", join("LEFT JOIN"), full_rows(lambda left, right: left),
            note="the page's FULL result, rows with a left side"),
        Doc("right", join("RIGHT JOIN"), full_rows(lambda left, right: right),
            note="the page's FULL result, rows with a right side"),
        Doc("semi_in", semi("L.num IN (\n             SELECT num FROM (   \n               "
                            f"{R}\n             ) R WHERE L.window_start = R.window_start "
                            "AND L.window_end = R.window_end)"), SEMI),
        Doc("semi_exists", semi("EXISTS (\n             SELECT * FROM (\n               "
                                f"{R}\n             ) R WHERE {ON[3:]})"), SEMI),
        Doc("anti_not_in", semi("L.num NOT IN (\n             SELECT num FROM (   \n"
                                f"               {R}\n             ) R WHERE L.window_start = "
                                "R.window_start AND L.window_end = R.window_end)"), ANTI),
        Doc("anti_not_exists", semi("NOT EXISTS (\n             SELECT * FROM (\n"
                                    f"               {R}\n             ) R WHERE {ON[3:]})"),
            ANTI),
    ],
)

# In the page's order Flink 2.3 (PyFlink, a watermark after every row) still
# joins L3: the window join's watermark is the smaller of its two inputs',
# and RightTable's never passes 12:04:59, so [12:00, 12:05) has not fired
# when L3 arrives (sqlc dropped L3 by LeftTable's own watermark until the
# TVF under a window join judged lateness by the join's).
AS_LISTED = Page(
    name="window_join_as_listed", url=PAGE.url, ddl=TABLES,
    inputs={"LeftTable": LEFT_AS_LISTED, "RightTable": RIGHT},
    inputs_from="the page, in its order: L3 after L2",
    docs=[Doc("full", join("FULL JOIN"), full_rows(lambda left, right: True),
              note="L3 is not late by the join's watermark"),
          Doc("inner", join("JOIN"), full_rows(lambda left, right: left and right),
              note="L3 is not late by the join's watermark")],
)

PAGES = [PAGE, AS_LISTED]

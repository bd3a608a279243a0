"""Queries > Pattern Recognition
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/match_recognize/):
the page's examples on its Ticker rows. The queries the page writes as
tests/test_match_recognize.py keeps them verbatim are imported from there
(tests/test_match_runtime.py checks the same examples with hypothesis around
them); the WITHIN example is copied here as the page writes it, without the
comma between its two DEFINE conditions."""

from compiler.errors import SqlSyntaxError
from tests.flink_docs.corpus import Doc, Page, Refusal
from tests.test_match_recognize import AFTER_MATCH, AVG_BELOW_15, GREEDY, OUTPUT_MODE, PRICE_DOWN

# the page gives Ticker's schema (symbol String, price Long, tax Long, rowtime
# a rowtime attribute), not its DDL; this is that schema in Flink's DDL
TICKER = """
CREATE TABLE Ticker (
  symbol STRING,
  price BIGINT,
  tax BIGINT,
  rowtime TIMESTAMP(3),
  WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'ticker.jsonl', 'format' = 'json');
"""
URL = "https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/match_recognize/"

WITHIN_AS_WRITTEN = """SELECT *
FROM Ticker
    MATCH_RECOGNIZE(
        PARTITION BY symbol
        ORDER BY rowtime
        MEASURES
            C.rowtime AS dropTime,
            A.price - C.price AS dropDiff
        ONE ROW PER MATCH
        AFTER MATCH SKIP PAST LAST ROW
        PATTERN (A B* C) WITHIN INTERVAL '1' HOUR
        DEFINE
            B AS B.price > A.price - 10
            C AS C.price < A.price - 10
    )"""
WITHIN = WITHIN_AS_WRITTEN.replace("A.price - 10\n", "A.price - 10,\n")


def page(name: str, rows: str, *docs: Doc) -> Page:
    return Page(name=f"match_recognize_{name}", url=URL, ddl=TICKER, inputs={"Ticker": rows},
                docs=list(docs))


ACME = """
symbol         rowtime         price    tax
======  ====================  ======= =======
'ACME'  '01-Apr-11 10:00:00'   12      1
'ACME'  '01-Apr-11 10:00:01'   17      2
'ACME'  '01-Apr-11 10:00:02'   19      1
'ACME'  '01-Apr-11 10:00:03'   21      3
'ACME'  '01-Apr-11 10:00:04'   25      2
'ACME'  '01-Apr-11 10:00:05'   18      1
'ACME'  '01-Apr-11 10:00:06'   15      1
'ACME'  '01-Apr-11 10:00:07'   14      2
'ACME'  '01-Apr-11 10:00:08'   24      2
'ACME'  '01-Apr-11 10:00:09'   25      2
'ACME'  '01-Apr-11 10:00:10'   19      1
"""

AVERAGES = """
symbol         rowtime         price    tax
======  ====================  ======= =======
'ACME'  '01-Apr-11 10:00:00'   12      1
'ACME'  '01-Apr-11 10:00:01'   17      2
'ACME'  '01-Apr-11 10:00:02'   13      1
'ACME'  '01-Apr-11 10:00:03'   16      3
'ACME'  '01-Apr-11 10:00:04'   25      2
'ACME'  '01-Apr-11 10:00:05'   2       1
'ACME'  '01-Apr-11 10:00:06'   4       1
'ACME'  '01-Apr-11 10:00:07'   10      2
'ACME'  '01-Apr-11 10:00:08'   15      2
'ACME'  '01-Apr-11 10:00:09'   25      2
'ACME'  '01-Apr-11 10:00:10'   25      1
'ACME'  '01-Apr-11 10:00:11'   30      1
"""

XYZ = """
 symbol  tax   price          rowtime
======= ===== ======== =====================
 XYZ     1     10       2018-09-17 10:00:02
 XYZ     2     11       2018-09-17 10:00:03
 XYZ     1     12       2018-09-17 10:00:04
 XYZ     2     13       2018-09-17 10:00:05
 XYZ     1     14       2018-09-17 10:00:06
 XYZ     2     16       2018-09-17 10:00:07
"""

DROPS = """
symbol         rowtime         price    tax
======  ====================  ======= =======
'ACME'  '01-Apr-11 10:00:00'   20      1
'ACME'  '01-Apr-11 10:20:00'   17      2
'ACME'  '01-Apr-11 10:40:00'   18      1
'ACME'  '01-Apr-11 11:00:00'   11      3
'ACME'  '01-Apr-11 11:20:00'   14      2
'ACME'  '01-Apr-11 11:40:00'   9       1
'ACME'  '01-Apr-11 12:00:00'   15      1
'ACME'  '01-Apr-11 12:20:00'   14      2
'ACME'  '01-Apr-11 12:40:00'   24      2
'ACME'  '01-Apr-11 13:00:00'   1       2
'ACME'  '01-Apr-11 13:20:00'   19      1
"""

RISE = """
 symbol   tax   price          rowtime
======== ===== ======== =====================
 XYZ      1     10       2018-09-17 10:00:02
 XYZ      2     12       2018-09-17 10:00:03
 XYZ      1     13       2018-09-17 10:00:04
 XYZ      2     11       2018-09-17 10:00:05
"""

SKIPS = """
 symbol   tax   price         rowtime
======== ===== ======= =====================
 XYZ      1     7       2018-09-17 10:00:01
 XYZ      2     9       2018-09-17 10:00:02
 XYZ      1     10      2018-09-17 10:00:03
 XYZ      2     5       2018-09-17 10:00:04
 XYZ      2     10      2018-09-17 10:00:05
 XYZ      2     7       2018-09-17 10:00:06
 XYZ      2     14      2018-09-17 10:00:07
"""

SKIP_HEAD = """
 symbol   sumPrice        startTime              endTime
======== ========== ===================== =====================
"""


# PATTERN (A+ C) with A AS SUM(A.price) < 30: as in Flink's CEP (PyFlink 2.3 on
# these rows gives exactly the page's rows), the greedy A+ is left for C only
# on a row A would not take, so from 10:00:06 (A = 7, then 14: SUM 21, still
# an A) there is no match at the end of the input.
def skipped(strategy: str, rows: str) -> Doc:
    name = strategy.lower().replace("after match skip ", "skip_").replace(" ", "_")
    return Doc(name, AFTER_MATCH.replace("{strategy}", strategy), SKIP_HEAD + rows)


PAGES = [
    page("price_down", ACME, Doc("price_down", PRICE_DOWN, """
 symbol       start_tstamp       bottom_tstamp         end_tstamp
=========  ==================  ==================  ==================
ACME       01-APR-11 10:00:04  01-APR-11 10:00:07  01-APR-11 10:00:08
""")),
    page("aggregations", AVERAGES, Doc("avg_below_15", AVG_BELOW_15, """
 symbol       start_tstamp       end_tstamp          avgPrice
=========  ==================  ==================  ============
ACME       01-APR-11 10:00:00  01-APR-11 10:00:03     14.5
ACME       01-APR-11 10:00:05  01-APR-11 10:00:10     13.5
""")),
    page("greedy", XYZ,
         Doc("greedy", GREEDY.replace("{quantifier}", "*"), """
 symbol   lastPrice
======== ===========
 XYZ      16
"""),
         Doc("reluctant", GREEDY.replace("{quantifier}", "*?"), """
 symbol   lastPrice
======== ===========
 XYZ      13
 XYZ      16
""")),
    page("within", DROPS,
         Doc("within_as_written", WITHIN_AS_WRITTEN, refused=Refusal(
             SqlSyntaxError, "", "the page's DEFINE lacks the comma between B and C",
             docs_bug=True)),
         Doc("within", WITHIN, """
symbol         dropTime         dropDiff
======  ====================  =============
'ACME'  '01-Apr-11 13:00:00'      14
""", note="the page's query with the comma its DEFINE lacks")),
    # The page shows one row, (XYZ, 10, 13, 11); its query has no AFTER MATCH,
    # whose default Flink 2.3 was observed to be SKIP TO NEXT ROW
    # (FLINK_SEMANTICS.md), which also matches from 12 and from 13.
    page("output_mode", RISE, Doc("output_mode", OUTPUT_MODE, hand=[
        ("XYZ", 10, 13, 11), ("XYZ", 12, 13, 11), ("XYZ", 13, 13, 11)],
        note="the page shows only the first row: Flink 2.3's default SKIP TO NEXT ROW "
             "also matches from 12 and 13")),
    page("after_match", SKIPS,
         skipped("AFTER MATCH SKIP PAST LAST ROW", """
 XYZ      26         2018-09-17 10:00:01   2018-09-17 10:00:04
 XYZ      17         2018-09-17 10:00:05   2018-09-17 10:00:07
"""),
         skipped("AFTER MATCH SKIP TO NEXT ROW", """
 XYZ      26         2018-09-17 10:00:01   2018-09-17 10:00:04
 XYZ      24         2018-09-17 10:00:02   2018-09-17 10:00:05
 XYZ      25         2018-09-17 10:00:03   2018-09-17 10:00:06
 XYZ      22         2018-09-17 10:00:04   2018-09-17 10:00:07
 XYZ      17         2018-09-17 10:00:05   2018-09-17 10:00:07
"""),
         skipped("AFTER MATCH SKIP TO LAST A", """
 XYZ      26         2018-09-17 10:00:01   2018-09-17 10:00:04
 XYZ      25         2018-09-17 10:00:03   2018-09-17 10:00:06
 XYZ      17         2018-09-17 10:00:05   2018-09-17 10:00:07
""")),
]

"""MATCH_RECOGNIZE analyzed as Flink documents it ("Pattern Recognition",
docs/dev/table/sql/queries/match_recognize): DEFINE and MEASURES bound with
pattern navigation, the PATTERN parsed, Flink's rules each a positioned error;
codegen still refuses to run it.

The examples are the page's Ticker queries, verbatim but for the table's DDL
(and a comma the page's WITHIN example lacks between two DEFINEs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import logical as lg
from compiler.driver import analyze, compile_source, plan, read_source
from compiler.errors import Source, SqlcError
from compiler.explain import explain_logical

ROOT = Path(__file__).resolve().parent.parent
CATALOG = [str(ROOT / "examples" / "catalog.sql")]

TICKER = """CREATE STREAM Ticker (
    symbol VARCHAR NOT NULL,
    price BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    rowtime TIMESTAMP(3) NOT NULL,
    WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'ticker', 'format' = 'json');
"""


def match_of(sql: str) -> lg.Match:
    analysis = analyze(Source("q.sql", TICKER + sql), CATALOG)
    compiled = plan(analysis)
    (root,) = compiled.logical
    node = root
    while not isinstance(node, lg.Match):
        node = node.inputs()[0]
    return node


def explain_match(sql: str) -> str:
    analysis = analyze(Source("q.sql", TICKER + sql), CATALOG)
    (root,) = plan(analysis).logical
    (line,) = [l.strip() for l in explain_logical(root).splitlines()
               if l.strip().startswith("Match:")]
    return line


def error_of(sql: str, prefix: str = TICKER) -> SqlcError:
    with pytest.raises(SqlcError) as info:
        analyze(Source("q.sql", prefix + sql), CATALOG)
    return info.value


# ------------------------------------------------------------ the documented examples

PRICE_DOWN = """SELECT *
FROM Ticker
    MATCH_RECOGNIZE (
        PARTITION BY symbol
        ORDER BY rowtime
        MEASURES
            START_ROW.rowtime AS start_tstamp,
            LAST(PRICE_DOWN.rowtime) AS bottom_tstamp,
            LAST(PRICE_UP.rowtime) AS end_tstamp
        ONE ROW PER MATCH
        AFTER MATCH SKIP TO LAST PRICE_UP
        PATTERN (START_ROW PRICE_DOWN+ PRICE_UP)
        DEFINE
            PRICE_DOWN AS
                (LAST(PRICE_DOWN.price, 1) IS NULL AND PRICE_DOWN.price < START_ROW.price) OR
                    PRICE_DOWN.price < LAST(PRICE_DOWN.price, 1),
            PRICE_UP AS
                PRICE_UP.price > LAST(PRICE_DOWN.price, 1)
    ) MR;
"""

AVG_BELOW_15 = """SELECT *
FROM Ticker
    MATCH_RECOGNIZE (
        PARTITION BY symbol
        ORDER BY rowtime
        MEASURES
            FIRST(A.rowtime) AS start_tstamp,
            LAST(A.rowtime) AS end_tstamp,
            AVG(A.price) AS avgPrice
        ONE ROW PER MATCH
        AFTER MATCH SKIP PAST LAST ROW
        PATTERN (A+ B)
        DEFINE
            A AS AVG(A.price) < 15
    ) MR;
"""

GREEDY = """SELECT *
FROM Ticker
    MATCH_RECOGNIZE(
        PARTITION BY symbol
        ORDER BY rowtime
        MEASURES
            C.price AS lastPrice
        ONE ROW PER MATCH
        AFTER MATCH SKIP PAST LAST ROW
        PATTERN (A B{quantifier} C)
        DEFINE
            A AS A.price > 10,
            B AS B.price < 15,
            C AS C.price > 12
    )
"""

WITHIN = """SELECT *
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
            B AS B.price > A.price - 10,
            C AS C.price < A.price - 10
    )
"""

OUTPUT_MODE = """SELECT *
FROM Ticker
    MATCH_RECOGNIZE(
        PARTITION BY symbol
        ORDER BY rowtime
        MEASURES
            FIRST(A.price) AS startPrice,
            LAST(A.price) AS topPrice,
            B.price AS lastPrice
        ONE ROW PER MATCH
        PATTERN (A+ B)
        DEFINE
            A AS LAST(A.price, 1) IS NULL OR A.price > LAST(A.price, 1),
            B AS B.price < LAST(A.price)
    )
"""

# the navigation section's DEFINE examples, each in the same frame (the page
# writes PATTERN (A B+), which Flink itself refuses: a greedy last element)
FRAME = """SELECT * FROM Ticker MATCH_RECOGNIZE (
    PARTITION BY symbol ORDER BY rowtime
    MEASURES {measures}
    PATTERN ({pattern})
    DEFINE {define}
)
"""

AFTER_MATCH = """SELECT *
FROM Ticker
    MATCH_RECOGNIZE(
        PARTITION BY symbol
        ORDER BY rowtime
        MEASURES
            SUM(A.price) AS sumPrice,
            FIRST(rowtime) AS startTime,
            LAST(rowtime) AS endTime
        ONE ROW PER MATCH
        {strategy}
        PATTERN (A+ C)
        DEFINE
            A AS SUM(A.price) < 30
    )
"""


def test_price_drops_with_last_offsets() -> None:
    match = match_of(PRICE_DOWN)
    assert match.after_match == "SKIP TO LAST PRICE_UP"
    assert lg.pattern_sql(match.pattern) == "START_ROW PRICE_DOWN+ PRICE_UP"
    assert [v for v, _ in match.defines] == ["PRICE_DOWN", "PRICE_UP"]  # START_ROW: TRUE
    up = dict(match.defines)["PRICE_UP"]
    assert up.args[1] == lg.Navigate("LAST", up.args[1].arg, 1, up.args[1].type)
    assert up.args[1].arg.variable == "PRICE_DOWN" and up.args[1].arg.name == "price"
    assert [n for n, _ in match.measures] == ["start_tstamp", "bottom_tstamp", "end_tstamp"]
    assert [f.name for f in match.schema] == ["symbol", "start_tstamp", "bottom_tstamp",
                                              "end_tstamp"]
    text = explain_match(PRICE_DOWN)
    assert ("define=[PRICE_DOWN AS ((LAST(PRICE_DOWN.price, 1) IS NULL AND "
            "(PRICE_DOWN.price < START_ROW.price)) OR (PRICE_DOWN.price < "
            "LAST(PRICE_DOWN.price, 1))), PRICE_UP AS (PRICE_UP.price > "
            "LAST(PRICE_DOWN.price, 1))]") in text
    assert ("measures=[START_ROW.rowtime AS start_tstamp, LAST(PRICE_DOWN.rowtime) AS "
            "bottom_tstamp, LAST(PRICE_UP.rowtime) AS end_tstamp]") in text


def test_aggregate_in_define() -> None:
    match = match_of(AVG_BELOW_15)
    ((_, cond),) = match.defines
    avg = cond.args[0]
    assert isinstance(avg, lg.PatternAggregate)
    assert (avg.fn, avg.variable, avg.type.name) == ("AVG", "A", "DOUBLE")
    assert "define=[A AS (AVG(A.price) < 15)]" in explain_match(AVG_BELOW_15)
    assert ("measures=[FIRST(A.rowtime) AS start_tstamp, LAST(A.rowtime) AS end_tstamp, "
            "AVG(A.price) AS avgPrice]") in explain_match(AVG_BELOW_15)
    assert match.after_match == "SKIP PAST LAST ROW"


@pytest.mark.parametrize("quantifier,greedy", [("*", True), ("*?", False)])
def test_greedy_and_reluctant(quantifier: str, greedy: bool) -> None:
    match = match_of(GREEDY.replace("{quantifier}", quantifier))
    _, b, _ = match.pattern.terms
    assert isinstance(b, lg.PatternQuantified)
    assert (b.min, b.max, b.greedy) == (0, None, greedy)
    assert f"pattern=[A B{quantifier} C]" in explain_match(GREEDY.replace("{quantifier}",
                                                                         quantifier))


def test_within_is_kept_in_milliseconds() -> None:
    match = match_of(WITHIN)
    assert match.within_ms == 3_600_000
    text = explain_match(WITHIN)
    assert "pattern=[A B* C], within=[1 h]" in text
    assert "define=[B AS (B.price > (A.price - 10)), C AS (C.price < (A.price - 10))]" in text
    assert "measures=[C.rowtime AS dropTime, (A.price - C.price) AS dropDiff]" in text


def test_output_mode_example() -> None:
    match = match_of(OUTPUT_MODE)
    assert [f.name for f in match.schema] == ["symbol", "startPrice", "topPrice", "lastPrice"]
    assert ("define=[A AS (LAST(A.price, 1) IS NULL OR (A.price > LAST(A.price, 1))), "
            "B AS (B.price < LAST(A.price))]") in explain_match(OUTPUT_MODE)


@pytest.mark.parametrize("pattern,define,text", [
    ("A B+ C", "A AS A.price >= 10, B AS B.price > A.price AND SUM(price) < 100 AND "
     "SUM(B.price) < 80",
     "B AS (((B.price > A.price) AND (SUM(price) < 100)) AND (SUM(B.price) < 80))"),
    ("A B+ C", "A AS A.price >= 10, B AS (LAST(B.price, 1) IS NULL OR B.price > "
     "LAST(B.price, 1)) AND (LAST(B.price, 2) IS NULL OR B.price > 2 * LAST(B.price, 2))",
     "(LAST(B.price, 2) IS NULL OR (B.price > (2 * LAST(B.price, 2))))"),
    ("A B? C", "B AS B.price < 20, C AS LAST(price, 1) < C.price",
     "C AS (LAST(price, 1) < C.price)"),
])
def test_navigation_examples(pattern: str, define: str, text: str) -> None:
    sql = FRAME.format(measures="LAST(A.price * A.tax) AS last_value", pattern=pattern,
                       define=define)
    line = explain_match(sql)
    assert text in line
    assert "measures=[LAST((A.price * A.tax)) AS last_value]" in line


def test_default_variable_aggregate_reads_all_rows() -> None:
    sql = FRAME.format(measures="SUM(price) AS total, COUNT(A.*) AS a_rows, COUNT(*) AS rows_",
                       pattern="A B+ C", define="B AS SUM(price) < 100")
    match = match_of(sql)
    total, a_rows, rows_ = (e for _, e in match.measures)
    assert (total.variable, a_rows.variable, rows_.variable) == (None, "A", None)
    assert a_rows.args == () and rows_.args == ()
    assert "SUM(price) AS total, COUNT(A.*) AS a_rows, COUNT(*) AS rows_" in explain_match(sql)


@pytest.mark.parametrize("strategy", ["AFTER MATCH SKIP PAST LAST ROW",
                                      "AFTER MATCH SKIP TO NEXT ROW",
                                      "AFTER MATCH SKIP TO LAST A", ""])
def test_after_match_strategies(strategy: str) -> None:
    match = match_of(AFTER_MATCH.format(strategy=strategy))
    expected = strategy.removeprefix("AFTER MATCH ") or "SKIP TO NEXT ROW"
    assert match.after_match == expected


def test_match_rowtime_is_a_rowtime_attribute() -> None:
    sql = FRAME.format(measures="MATCH_ROWTIME() AS t, MATCH_ROWTIME(rowtime) AS t2, "
                       "MATCH_PROCTIME() AS p", pattern="A B", define="A AS A.price > 1")
    match = match_of(sql)
    t1, t2, p = (e for _, e in match.measures)
    assert t1.type.time_attribute == "ROWTIME" and t2.type.time_attribute == "ROWTIME"
    assert p.type.time_attribute == "PROCTIME"
    assert "MATCH_ROWTIME() AS t" in explain_match(sql)


def test_physical_offset_zero_and_compound_navigation_are_allowed() -> None:
    sql = FRAME.format(measures="A.price AS p", pattern="A B",
                       define="B AS PREV(B.price, 0) > PREV(LAST(A.price, 1), 0)")
    define = dict(match_of(sql).defines)["B"]
    outer = define.args[1]
    assert isinstance(outer, lg.Navigate) and outer.fn == "PREV" and outer.offset == 0
    assert isinstance(outer.arg, lg.Navigate) and outer.arg.fn == "LAST"
    assert "(PREV(B.price, 0) > PREV(LAST(A.price, 1), 0))" in explain_match(sql)


def test_the_spec_example_analyzes() -> None:
    analysis = analyze(read_source(ROOT / "examples" / "fr_adv_001_match_recognize.sql"),
                       CATALOG)
    (query,) = analysis.script.queries
    node = query.plan
    while not isinstance(node, lg.Match):
        node = node.inputs()[0]
    assert [n for n, _ in node.measures] == ["first_request", "last_request", "pattern_count"]
    last = dict(node.measures)["last_request"]
    assert isinstance(last, lg.Navigate) and last.arg.variable == "B"
    assert isinstance(dict(node.measures)["pattern_count"], lg.PatternAggregate)


def test_pattern_parses_every_quantifier() -> None:
    sql = FRAME.format(measures="A.price AS p", pattern="A B* C+ D? E{2} F{2,} G{1,3} H{,4}? "
                       "I+? J", define="A AS TRUE")
    terms = match_of(sql).pattern.terms
    bounds = [(t.min, t.max, t.greedy) for t in terms if isinstance(t, lg.PatternQuantified)]
    assert bounds == [(0, None, True), (1, None, True), (0, 1, True), (2, 2, True),
                      (2, None, True), (1, 3, True), (0, 4, False), (1, None, False)]
    assert "pattern=[A B* C+ D? E{2} F{2,} G{1,3} H{0,4}? I+? J]" in explain_match(sql)


def test_pattern_expression_utilities() -> None:
    ref = lg.PatternRef("A", 3, "price", lg.Field("x", lg.SqlType("BIGINT")).type)
    nav = lg.Navigate("LAST", ref, 1, ref.type)
    agg = lg.PatternAggregate("SUM", "A", (ref,), ref.type)
    cond = lg.Call("<", (nav, agg), lg.SqlType("BOOLEAN"))
    assert lg.referenced(cond) == {3}
    assert lg.remap(cond, {3: 0}).args[0].arg.index == 0
    assert lg.remap(cond, {3: 3}) is cond
    assert list(lg.walk(cond)) == [cond, nav, ref, agg, ref]
    assert lg.expr_sql(cond) == "(LAST(A.price, 1) < SUM(A.price))"


# ---------------------------------------------------------------- Flink's rules

def _at(error: SqlcError, prefix: str = TICKER) -> tuple[str, str, int, int]:
    (d,) = error.diagnostics
    line, col = error.source.line_col(d.span.start)
    return d.kind, d.message, line - prefix.count("\n"), col


def frame(define: str = "A AS A.price > 10", measures: str = "A.price AS p",
          pattern: str = "A B") -> str:
    return FRAME.format(measures=measures, pattern=pattern, define=define)


ERRORS = [
    # (id, sql, kind, message part, line, the text at the caret)
    ("prev-physical-offset", frame("B AS B.price > PREV(B.price)"), "UnsupportedError",
     "Flink does not support physical offsets", 5, "PREV("),
    ("prev-offset-2", frame("B AS B.price > PREV(B.price, 2)"), "UnsupportedError",
     "physical offset", 5, "PREV("),
    ("next-physical-offset", frame("B AS B.price > NEXT(B.price, 1)"), "UnsupportedError",
     "physical offsets", 5, "NEXT("),
    ("prev-in-measures", frame(measures="PREV(A.price, 0) AS p"), "BindError",
     "PREV cannot be used in MEASURES", 3, "PREV("),
    ("last-negative-offset", frame("B AS B.price > LAST(A.price, -1)"), "BindError",
     "offset of LAST must be a literal integer >= 0, got -1", 5, "-1"),
    ("first-column-offset", frame("B AS B.price > FIRST(A.price, tax)"), "BindError",
     "offset of FIRST must be a literal integer >= 0", 5, "tax"),
    ("last-under-first", frame("B AS B.price > FIRST(LAST(A.price, 1))"), "BindError",
     "LAST cannot be nested in FIRST", 5, "LAST(A"),
    ("prev-under-last", frame("B AS B.price > LAST(PREV(A.price, 0))"), "BindError",
     "PREV cannot be nested in LAST", 5, "PREV("),
    ("navigation-two-variables", frame("B AS B.price > LAST(A.price * B.tax)"), "BindError",
     "LAST reads more than one pattern variable (A, B)", 5, "A.price *"),
    ("aggregate-two-variables", frame("B AS AVG(A.price * B.tax) < 15"), "BindError",
     "aggregate AVG reads more than one pattern variable (A, B)", 5, "AVG("),
    ("aggregate-nested", frame(measures="SUM(MAX(A.price)) AS s"), "BindError",
     "aggregate MAX cannot be nested in SUM", 3, "MAX("),
    ("aggregate-in-navigation", frame(measures="LAST(SUM(A.price)) AS s"), "BindError",
     "aggregate SUM cannot be used inside LAST", 3, "SUM("),
    ("distinct-aggregate", frame(measures="COUNT(DISTINCT A.price) AS s"), "UnsupportedError",
     "DISTINCT aggregates are not supported in MATCH_RECOGNIZE", 3, "COUNT("),
    ("unknown-variable", frame("B AS B.price < PRICE_DWN.price", measures="B.price AS p",
                               pattern="PRICE_DOWN B"),
     "BindError", "PRICE_DWN is no variable of PATTERN; its variables are PRICE_DOWN, B; "
     "did you mean PRICE_DOWN?", 5, "PRICE_DWN"),
    ("unknown-variable-in-measures", frame(measures="C.price AS p"), "BindError",
     "C is no variable of PATTERN", 3, "C.price"),
    ("unknown-column", frame("A AS A.prize > 10"), "BindError",
     "unknown column 'prize'; did you mean 'price'?", 5, "A.prize"),
    ("classifier-in-define", frame("A AS CLASSIFIER() = 'A'"), "BindError",
     "CLASSIFIER() is only valid in MEASURES", 5, "CLASSIFIER"),
    ("match-rowtime-in-define", frame("A AS MATCH_ROWTIME() IS NULL"), "BindError",
     "MATCH_ROWTIME() is only valid in MEASURES", 5, "MATCH_ROWTIME"),
    ("define-twice", frame("A AS A.price > 1, A AS A.price < 5"), "BindError",
     "pattern variable A is defined twice", 5, "A AS A.price < 5"),
    ("measure-name-twice", frame(measures="A.price AS p, B.price AS p"), "BindError",
     "MEASURES name p is taken", 3, "B.price AS p"),
    ("greedy-optional-last", frame(pattern="A B?"), "UnsupportedError",
     "greedy quantifier on the last element of a pattern; end with a single variable", 4, "B?"),
    ("greedy-last-of-an-option", frame(pattern="A (B | C+)"), "UnsupportedError",
     "greedy quantifier on the last element of a pattern; make it reluctant (C+?)", 4, "C+"),
    ("empty-group", frame(pattern="(A? | B) C*?"), "UnsupportedError",
     "can match no rows at all", 4, "A? | B) C*?"),
    ("reluctant-optional", frame(pattern="A B?? C"), "UnsupportedError",
     "reluctant optional quantifier", 4, "B??"),
    ("greedy-last", frame(pattern="A B+"), "UnsupportedError",
     "greedy quantifier on the last element of a pattern; make it reluctant (B+?)", 4, "B+"),
    ("empty-match", frame(pattern="A* B*?"), "UnsupportedError",
     "can match no rows at all", 4, "A* B*?"),
    ("quantifier-min-above-max", frame(pattern="A B{3,2} C"), "BindError",
     "the minimum is larger than the maximum", 4, "{3,2}"),
    ("quantifier-zero", frame(pattern="A B{0} C"), "BindError",
     "at least one row", 4, "{0}"),
    ("pattern-syntax", frame(pattern="+ A B"), "SqlSyntaxError",
     "expected a pattern variable before '+'", 4, "+ A"),
    ("pattern-unclosed-group", frame(pattern="A (B C"), "SqlSyntaxError",
     "Expected ')' before DEFINE: a '(' in PATTERN is not closed", 5, "DEFINE"),
    ("permute", frame(pattern="PERMUTE(A, B) C"), "UnsupportedError", "PERMUTE", 4, "PERMUTE"),
    ("skip-to-unknown-variable",
     AFTER_MATCH.format(strategy="AFTER MATCH SKIP TO LAST B"), "BindError",
     "AFTER MATCH SKIP TO LAST B: B is no variable of PATTERN (A+ C)", 11, "B\n"),
    ("skip-to-first-of-first-variable",
     AFTER_MATCH.format(strategy="AFTER MATCH SKIP TO FIRST A"), "BindError",
     "would start the next match where this one started", 11, "A\n"),
    ("all-rows-per-match",
     AFTER_MATCH.format(strategy="ALL ROWS PER MATCH").replace("ONE ROW PER MATCH\n", ""),
     "UnsupportedError", "ALL ROWS PER MATCH is not supported (nor by Flink): "
     "MATCH_RECOGNIZE returns ONE ROW PER MATCH", 10, "ALL ROWS"),
    ("within-not-interval",
     frame().replace("PATTERN (A B)", "PATTERN (A B) WITHIN 5"), "SqlSyntaxError",
     "Expected an INTERVAL after WITHIN", 4, "5"),
]


@pytest.mark.parametrize("sql,kind,message,line,at", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_flink_rules_are_positioned_errors(sql: str, kind: str, message: str, line: int,
                                           at: str) -> None:
    error = error_of(sql)
    got_kind, got_message, got_line, col = _at(error)
    assert (got_kind, got_line) == (kind, line), (got_kind, got_message, got_line)
    assert message in got_message, got_message
    offset = error.diagnostics[0].span.start
    assert error.source.text[offset:offset + len(at)] == at
    rendered = error.diagnostics[0].render(error.source)
    assert "^" in rendered and f"q.sql:{line + TICKER.count(chr(10))}:{col}:" in rendered


def test_each_define_and_measure_is_reported() -> None:
    sql = frame("A AS A.prize > 10, B AS B.price > PREV(B.price)",
                measures="C.price AS p, A.price AS q")
    error = error_of(sql)
    assert [d.message.split(";")[0][:30] for d in error.diagnostics] == [
        "C.price: C is no variable of P", "unknown column 'prize'", "PREV(B.price) is a physical of"]


# ------------------------------------------------------------------- codegen

def test_fr_adv_001_compiles_to_a_module() -> None:
    source = read_source(ROOT / "examples" / "fr_adv_001_match_recognize.sql")
    module = compile_source(source, CATALOG).module or ""
    assert "MatchRecognize(" in module and "automaton=MatchAutomaton(" in module


STDDEV_MEASURE = TICKER + """SELECT * FROM Ticker MATCH_RECOGNIZE (
    PARTITION BY symbol ORDER BY rowtime
    MEASURES STDDEV(A.price) AS sd
    PATTERN (A+ B) DEFINE A AS A.price > 10
);
"""


def test_an_aggregate_that_does_not_run_yet_is_a_positioned_error() -> None:
    with pytest.raises(SqlcError) as info:
        compile_source(Source("q.sql", STDDEV_MEASURE), CATALOG)
    (d,) = info.value.diagnostics
    assert d.kind == "UnsupportedError"
    assert d.message.startswith("STDDEV(...) in MATCH_RECOGNIZE does not run yet")
    assert STDDEV_MEASURE[d.span.start:].startswith("STDDEV(A.price)")


def test_cli_compile_of_what_does_not_run_exits_2_without_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    sql, out = tmp_path / "q.sql", tmp_path / "m.py"
    sql.write_text(STDDEV_MEASURE, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "compiler.cli", "compile", str(sql), "-o", str(out)],
        check=False, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "q.sql:10:14: error: UnsupportedError: STDDEV(...)" in result.stderr + result.stdout
    assert not out.exists()

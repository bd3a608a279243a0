"""The corpus of bad inputs: every user mistake gets a positioned diagnostic.

Each case is one piece of bad SQL compiled against examples/catalog.sql, with

* ``pos``   - ``"line:col"`` (1-based) where the caret must start,
* ``at``    - the text that must stand at that position (so the table checks
              itself: a wrong ``pos`` fails loudly, whatever the compiler does),
* ``kind``  - SqlSyntaxError | BindError | UnsupportedError,
* ``msg``   - a substring of the message (or a tuple of substrings, all required),
* ``count`` - how many errors the input must produce (default 1: no cascades).

Cases marked ``xfail`` describe how the compiler *should* behave and does not
yet; the reason says what happens today. They are strict, so a fix turns them
into failures until the mark is removed.

Below the table: files with several independent errors (all reported, in
order), the caret rendering, and the CLI (exit code 2, ``path:line:col:
error:`` lines, no traceback, ``--json``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from compiler.driver import analyze
from compiler.errors import Source, SqlcError

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "examples" / "catalog.sql"

S, B, U = "SqlSyntaxError", "BindError", "UnsupportedError"

KAFKA = "WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json')"
TUMBLE_5M = "TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '5' MINUTES))"


@dataclass(frozen=True)
class Case:
    id: str
    sql: str
    pos: str
    kind: str
    msg: str | tuple[str, ...]
    at: str
    count: int = 1
    xfail: str | None = None

    @property
    def line_col(self) -> tuple[int, int]:
        line, col = self.pos.split(":")
        return int(line), int(col)

    @property
    def messages(self) -> tuple[str, ...]:
        return (self.msg,) if isinstance(self.msg, str) else self.msg


CASES: list[Case] = []


def case(id: str, sql: str, pos: str, kind: str, msg: str | tuple[str, ...], *, at: str,
         count: int = 1, xfail: str | None = None) -> None:
    CASES.append(Case(id, sql, pos, kind, msg, at, count, xfail))


# ------------------------------------------------------------------------- syntax

case("bind-date-trunc-unit-is-a-column",
     "SELECT DATE_TRUNC(model_id, event_time) FROM llm_requests;",
     "1:19", B, "DATE_TRUNC takes a unit of", at="model_id")
case("bind-date-trunc-unit-null",
     "SELECT DATE_TRUNC(NULL, event_time) FROM llm_requests;",
     "1:19", B, "got NULL", at="NULL")
case("bind-timestampdiff-unit-unknown",
     "SELECT TIMESTAMPDIFF(FORTNIGHT, event_time, event_time) FROM llm_requests;",
     "1:22", B, "TIMESTAMPDIFF takes a unit of", at="FORTNIGHT")
case("syntax-missing-right-operand",
     "SELECT latency_ms + FROM llm_requests;",
     "1:21", S, "'+' needs an operand on its right", at="FROM")
case("syntax-missing-comparison-operand",
     "SELECT model_id FROM llm_requests WHERE latency_ms > ;",
     "1:52", S, "'>' needs an operand on its right", at=">")
case("syntax-missing-operand-before-next-clause",
     "SELECT model_id,\n"
     "       AVG(latency_ms) AS avg_latency\n"
     "FROM llm_requests\n"
     "WHERE latency_ms >\n"
     "GROUP BY model_id;",
     "5:1", S, "'>' needs an operand on its right", at="GROUP")
case("syntax-dangling-and",
     "SELECT model_id FROM llm_requests WHERE latency_ms > 1 AND;",
     "1:56", S, "'AND' needs an operand on its right", at="AND")
case("syntax-unterminated-string",
     "SELECT model_id\nFROM llm_requests\nWHERE region = 'us-east;",
     "3:16", S, "Unterminated string", at="'us-east")
case("syntax-unterminated-quoted-identifier",
     "SELECT `model_id FROM llm_requests;",
     "1:8", S, "Unterminated string or quoted identifier", at="`model_id")
case("syntax-unterminated-comment",
     "SELECT model_id FROM llm_requests /* oops",
     "1:35", S, "comment", at="/*")
case("syntax-misspelt-select",
     "SELET model_id FROM llm_requests;",
     "1:1", S, "did you mean SELECT?", at="SELET")
case("syntax-misspelt-create-kind",
     f"CREATE STREM s (a INT) {KAFKA};",
     "1:8", S, "Expected STREAM, TABLE or VIEW after CREATE", at="STREM")
case("syntax-misspelt-where",
     "SELECT model_id FROM llm_requests WHER latency_ms > 1;",
     "1:40", S, "'latency_ms'", at="latency_ms")
case("syntax-missing-comma",
     "SELECT model_id latency_ms cost FROM llm_requests;",
     "1:28", S, "'cost'", at="cost")
case("syntax-extra-closing-paren",
     "SELECT model_id FROM llm_requests WHERE latency_ms > 1);",
     "1:55", S, "')'", at=")")
case("syntax-group-without-by",
     "SELECT model_id, COUNT(*) FROM llm_requests GROUP model_id;",
     "1:51", S, "BY", at="model_id;")
case("syntax-unclosed-paren-in-call",
     "SELECT COUNT(* FROM llm_requests;",
     "1:16", S, "Expecting )", at="FROM")
case("syntax-unclosed-paren-in-where",
     "SELECT model_id FROM llm_requests WHERE (latency_ms > 1;",
     "1:56", S, "Expecting )", at=";")
case("syntax-trailing-garbage",
     "SELECT model_id FROM llm_requests; garbage here",
     "1:36", S, "Expected a statement, found 'garbage'", at="garbage")
case("syntax-trailing-comma-in-select",
     "SELECT model_id, FROM llm_requests;",
     "1:18", S, "FROM", at="FROM")
case("syntax-case-without-end",
     "SELECT CASE WHEN latency_ms > 1 THEN 'a' FROM llm_requests;",
     "1:42", S, "Expected END after CASE", at="FROM")
case("syntax-emit-misspelt",
     "SELECT model_id, window_start, COUNT(*) AS n\n"
     f"FROM {TUMBLE_5M}\n"
     "GROUP BY model_id, window_start, window_end\n"
     "EMIT AFTER WATERMARKS;",
     "4:6", S, "Expected CHANGES or AFTER WATERMARK after EMIT", at="AFTER")
case("syntax-emit-delay-not-interval",
     "SELECT model_id, window_start, COUNT(*) AS n\n"
     f"FROM {TUMBLE_5M}\n"
     "GROUP BY model_id, window_start, window_end\n"
     "EMIT AFTER WATERMARK WITH DELAY 5;",
     "4:33", S, "Expected an INTERVAL after WITH DELAY", at="5;")
case("limit-offset-with-order-by",
     "SELECT model_id FROM llm_requests ORDER BY event_time LIMIT 3 OFFSET 2;",
     "1:1", U, "OFFSET runs only on a SELECT without ORDER BY", at="SELECT")
case("offset-with-order-by",
     "SELECT model_id FROM llm_requests ORDER BY event_time OFFSET 2;",
     "1:1", U, "OFFSET runs only on a SELECT without ORDER BY", at="SELECT")
case("syntax-limit-not-integer",
     "SELECT model_id FROM llm_requests LIMIT 'a';",
     "1:41", S, "LIMIT takes an integer literal", at="'a'")
case("bind-field-of-a-column-that-is-no-row",
     "SELECT model_id FROM llm_requests r WHERE r.model_id.x = 1;",
     "1:43", B, "column model_id is VARCHAR, not a ROW: it has no field 'x'", at="r.model_id.x")
case("syntax-unknown-window-function",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBEL(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:12", S, "Expected a window table function TUMBLE, HOP, CUMULATE or SESSION", at="TUMBEL")

# -------------------------------------------------------------------------- names

case("names-unknown-column",
     "SELECT latncy_ms FROM llm_requests;",
     "1:8", B, "unknown column 'latncy_ms'; did you mean 'latency_ms'?", at="latncy_ms")
case("names-unknown-column-in-where",
     "SELECT model_id\nFROM llm_requests\nWHERE reigon = 'us-east';",
     "3:7", B, "unknown column 'reigon'; did you mean 'region'?", at="reigon")
case("names-unknown-qualified-column",
     "SELECT r.latncy FROM llm_requests r;",
     "1:8", B, ("unknown column 'r.latncy'", "did you mean 'latency_ms'?"), at="r.latncy")
case("names-unknown-column-in-order-by",
     "SELECT * FROM llm_requests ORDER BY event_tim;",
     "1:37", B, "unknown column 'event_tim'; did you mean 'event_time'?", at="event_tim")
case("names-unknown-column-of-subquery",
     "SELECT model_id FROM (SELECT model_id FROM llm_requests) WHERE region = 'x';",
     "1:64", B, "unknown column 'region'", at="region")
case("names-select-alias-inside-aggregate",
     "SELECT model_id, COUNT(*) AS c, SUM(c) FROM llm_requests GROUP BY model_id;",
     "1:37", B, "unknown column 'c'", at="c)")
case("names-unknown-table",
     "SELECT model_id FROM llm_request;",
     "1:22", B, "unknown stream, table or view 'llm_request'; did you mean 'llm_requests'?",
     at="llm_request;")
case("names-unknown-table-no-suggestion",
     "SELECT model_id FROM zzz;",
     "1:22", B, "unknown stream, table or view 'zzz'", at="zzz")
case("names-unknown-table-in-window-tvf",
     "SELECT * FROM TABLE(TUMBLE(TABLE error_event, DESCRIPTOR(event_time), INTERVAL '5' MINUTES));",
     "1:34", B, "unknown stream, table or view 'error_event'; did you mean 'error_events'?",
     at="error_event")
case("names-ambiguous-column-in-join",
     "SELECT request_id\n"
     "FROM llm_requests r JOIN error_events e\n"
     "  ON r.request_id = e.request_id\n"
     " AND e.event_time BETWEEN r.event_time AND r.event_time + INTERVAL '1' MINUTE;",
     "1:8", B, "column 'request_id' is ambiguous", at="request_id")
case("names-unknown-alias",
     "SELECT rr.model_id FROM llm_requests r;",
     "1:8", B, "unknown table or alias 'rr' in rr.model_id; did you mean 'r'?", at="rr.model_id")
case("names-table-name-hidden-by-alias",
     "SELECT llm_requests.model_id FROM llm_requests r;",
     "1:8", B, "unknown table or alias 'llm_requests' in llm_requests.model_id",
     at="llm_requests.model_id")
case("names-unknown-star-qualifier",
     "SELECT x.* FROM llm_requests r;",
     "1:8", B, "unknown table or alias 'x' in x.*", at="x.*")
case("names-unknown-function",
     "SELECT UPER(model_id) FROM llm_requests;",
     "1:8", B, "unknown function UPER; did you mean UPPER?", at="UPER")
case("names-flink-function-not-implemented",
     "SELECT COSH(latency_ms) FROM llm_requests;",
     "1:8", U, "COSH is a Flink built-in function sqlc does not implement yet", at="COSH")
case("names-unknown-aggregate",
     "SELECT AVERAGE(latency_ms) FROM llm_requests;",
     "1:8", B, "unknown function AVERAGE; did you mean AVG?", at="AVERAGE")
case("names-unknown-aggregate-with-group-by",
     "SELECT model_id, AVERAGE(latency_ms) FROM llm_requests GROUP BY model_id;",
     "1:18", B, "unknown function AVERAGE; did you mean AVG?", at="AVERAGE")

# -------------------------------------------------------------------------- types

case("types-string-plus-number",
     "SELECT model_id + 1 FROM llm_requests;",
     "1:8", B, "cannot apply '+' to VARCHAR and INT", at="model_id + 1")
case("types-number-times-string",
     "SELECT latency_ms * region FROM llm_requests;",
     "1:8", B, "cannot apply '*' to DOUBLE and VARCHAR", at="latency_ms *")
case("types-compare-double-with-string",
     "SELECT model_id FROM llm_requests WHERE latency_ms = 'fast';",
     "1:54", B, "cannot compare DOUBLE with VARCHAR", at="'fast'")
case("types-compare-timestamp-with-int",
     "SELECT model_id FROM llm_requests WHERE event_time > 5;",
     "1:54", B, "cannot compare TIMESTAMP(3) with INT", at="5;")
case("types-compare-timestamp-with-word",
     "SELECT model_id FROM llm_requests WHERE event_time > 'yesterday';",
     "1:54", B, "cannot compare a timestamp with 'yesterday'", at="'yesterday'")
case("types-in-list-of-other-type",
     "SELECT model_id FROM llm_requests WHERE latency_ms IN ('a', 'b');",
     "1:56", B, "cannot compare DOUBLE with VARCHAR", at="'a'")
case("types-between-strings-on-number",
     "SELECT model_id FROM llm_requests WHERE latency_ms BETWEEN 'a' AND 'b';",
     "1:60", B, "cannot compare DOUBLE with VARCHAR", at="'a'")
case("types-join-keys-of-different-types",
     "SELECT r.model_id FROM llm_requests r JOIN error_events e\n"
     "  ON r.request_id = e.error_count\n"
     " AND e.event_time BETWEEN r.event_time AND r.event_time + INTERVAL '1' MINUTE;",
     "2:21", B, "cannot compare VARCHAR with INT", at="e.error_count")
case("types-where-not-boolean",
     "SELECT model_id FROM llm_requests WHERE latency_ms;",
     "1:41", B, "WHERE must be a boolean condition, got DOUBLE", at="latency_ms")
case("types-where-string",
     "SELECT model_id FROM llm_requests WHERE region;",
     "1:41", B, "WHERE must be a boolean condition, got VARCHAR", at="region")
case("types-having-not-boolean",
     "SELECT model_id FROM llm_requests GROUP BY model_id HAVING COUNT(*);",
     "1:60", B, "HAVING must be a boolean condition, got BIGINT", at="COUNT(*)")
case("types-not-on-number",
     "SELECT model_id FROM llm_requests WHERE NOT latency_ms;",
     "1:45", B, "NOT must be a boolean condition, got DOUBLE", at="latency_ms")
case("types-and-on-number",
     "SELECT model_id FROM llm_requests WHERE latency_ms > 1 AND cost;",
     "1:60", B, "AND must be a boolean condition, got DOUBLE", at="cost")
case("types-is-true-on-string",
     "SELECT model_id FROM llm_requests WHERE region IS TRUE;",
     "1:41", B, "IS TRUE/FALSE must be a boolean condition, got VARCHAR", at="region")
case("types-join-condition-not-boolean",
     "SELECT r.model_id FROM llm_requests r JOIN error_events e ON r.latency_ms;",
     "1:62", B, "join condition must be a boolean condition, got DOUBLE", at="r.latency_ms")
case("types-filter-not-boolean",
     "SELECT COUNT(*) FILTER (WHERE region) FROM llm_requests;",
     "1:31", B, "FILTER must be a boolean condition, got VARCHAR", at="region")
case("types-sum-of-string",
     "SELECT model_id, SUM(region) FROM llm_requests GROUP BY model_id;",
     "1:18", B, "SUM takes a number, got VARCHAR", at="SUM(region)")
case("types-avg-of-string",
     "SELECT model_id, AVG(model_id) FROM llm_requests GROUP BY model_id;",
     "1:18", B, "AVG takes a number, got VARCHAR", at="AVG(")
case("types-stddev-of-string",
     "SELECT model_id, STDDEV(region) FROM llm_requests GROUP BY model_id;",
     "1:18", B, "STDDEV takes a number, got VARCHAR", at="STDDEV(")
case("types-sum-of-string-in-having",
     f"SELECT window_start, COUNT(*) AS n FROM {TUMBLE_5M}\n"
     "GROUP BY window_start, window_end HAVING SUM(region) > 1;",
     "2:42", B, "SUM takes a number, got VARCHAR", at="SUM(region)")
case("types-cast-timestamp-to-boolean",
     "SELECT CAST(event_time AS BOOLEAN) FROM llm_requests;",
     "1:8", B, "cannot CAST TIMESTAMP(3) to BOOLEAN", at="CAST")
case("types-cast-double-to-timestamp",
     "SELECT CAST(latency_ms AS TIMESTAMP(3)) FROM llm_requests;",
     "1:8", B, "cannot CAST DOUBLE to TIMESTAMP(3)", at="CAST")
case("types-cast-to-unknown-type",
     "SELECT CAST(latency_ms AS DUBLE) FROM llm_requests;",
     "1:27", B, ("unknown data type 'DUBLE'", "DOUBLE"), at="DUBLE")
case("types-cast-decimal-out-of-range",
     "SELECT CAST(latency_ms AS DECIMAL(100, 200)) FROM llm_requests;",
     "1:27", B, "precision", at="DECIMAL")
case("types-negate-string",
     "SELECT -model_id FROM llm_requests;",
     "1:8", B, "cannot negate VARCHAR", at="-model_id")
case("types-like-on-number",
     "SELECT model_id FROM llm_requests WHERE latency_ms LIKE 'a%';",
     "1:41", B, "LIKE compares strings, got DOUBLE", at="latency_ms")
case("types-case-branches-disagree",
     "SELECT CASE WHEN latency_ms > 1 THEN 'slow' ELSE 1 END FROM llm_requests;",
     "1:50", B, "CASE branches have incompatible types VARCHAR and INT", at="1 END")
case("types-coalesce-arguments-disagree",
     "SELECT COALESCE(latency_ms, 'x') FROM llm_requests;",
     "1:8", B, "COALESCE arguments have incompatible types DOUBLE and VARCHAR", at="COALESCE")
case("types-concat-number",
     "SELECT model_id || latency_ms FROM llm_requests;",
     "1:20", B, "|| concatenates strings, got DOUBLE", at="latency_ms")
case("types-function-argument-type",
     "SELECT UPPER(latency_ms) FROM llm_requests;",
     "1:8", B, "UPPER takes a string as argument 1, got DOUBLE", at="UPPER")
case("types-function-arity",
     "SELECT UPPER(model_id, region) FROM llm_requests;",
     "1:8", B, "UPPER takes 1 argument(s), got 2", at="UPPER")
case("types-round-places-not-integer",
     "SELECT ROUND(latency_ms, 'a') FROM llm_requests;",
     "1:8", B, "ROUND takes an integer number of decimal places", at="ROUND")
case("types-extract-from-string",
     "SELECT EXTRACT(HOUR FROM model_id) FROM llm_requests;",
     "1:26", B, "EXTRACT takes a timestamp or date, got VARCHAR", at="model_id")
case("types-division-by-zero",
     "SELECT latency_ms / 0 FROM llm_requests;",
     "1:21", B, "division by zero", at="0 FROM")
case("types-bad-timestamp-literal",
     "SELECT model_id FROM llm_requests WHERE event_time > TIMESTAMP '2024-13-01 00:00:00';",
     "1:54", B, "cannot read timestamp", at="TIMESTAMP '")
case("types-bad-date-literal",
     "SELECT model_id FROM llm_requests WHERE CAST(event_time AS DATE) = DATE '2024-02-30';",
     "1:68", B, "cannot read date", at="DATE '")
case("types-double-literal-out-of-range",
     "SELECT model_id FROM llm_requests WHERE latency_ms > 1e999;",
     "1:54", B, "out of range", at="1e999")
case("types-union-column-types-differ",
     "SELECT model_id FROM llm_requests\nUNION\nSELECT latency_ms FROM llm_requests;",
     "3:8", B, "UNION column 'model_id' is VARCHAR on the left and DOUBLE on the right",
     at="latency_ms")
case("types-union-column-count-differs",
     "SELECT model_id, region FROM llm_requests\nUNION ALL\nSELECT model_id FROM llm_requests;",
     "3:1", B, "UNION ALL sides have 2 and 1 columns", at="SELECT")
case("types-insert-column-type",
     f"CREATE STREAM sink (a VARCHAR, b INT) {KAFKA};\n"
     "INSERT INTO sink SELECT model_id, region FROM llm_requests;",
     "2:35", B, "column 'region' is VARCHAR but sink.b is INT", at="region")
case("types-insert-column-count",
     f"CREATE STREAM sink (a VARCHAR, b INT) {KAFKA};\n"
     "INSERT INTO sink SELECT model_id FROM llm_requests;",
     "2:18", B, "INSERT INTO sink writes 2 columns but the query returns 1", at="SELECT")

# ------------------------------------------------------------ built-in functions

case("fn-bad-regex-literal",
     "SELECT REGEXP(model_id, 'gpt-(4') FROM llm_requests;",
     "1:25", B, ("REGEXP: invalid regular expression", "'gpt-(4'"), at="'gpt-(4'")
case("fn-bad-regex-replace-literal",
     "SELECT REGEXP_REPLACE(prompt_text, '[a-', '') FROM llm_requests;",
     "1:36", B, "REGEXP_REPLACE: invalid regular expression", at="'[a-'")
case("fn-bad-date-pattern-letter",
     "SELECT DATE_FORMAT(event_time, 'yyyy-MM-dd q') FROM llm_requests;",
     "1:32", B, ("DATE_FORMAT", "illegal pattern character 'q'"), at="'yyyy-MM-dd q'")
case("fn-unterminated-date-pattern-quote",
     "SELECT FROM_UNIXTIME(timestamp_ms / 1000, 'yyyy ''T') FROM llm_requests;",
     "1:43", B, "unterminated quote", at="'yyyy ''T'")
case("fn-unknown-time-zone",
     "SELECT CONVERT_TZ('2024-01-01 00:00:00', 'UTC', 'Mars/Olympus') FROM llm_requests;",
     "1:49", B, "unknown time zone 'Mars/Olympus'", at="'Mars/Olympus'")
case("fn-floor-to-unknown-unit",
     "SELECT FLOOR(event_time TO FORTNIGHT) FROM llm_requests;",
     "1:8", B, "takes a unit of MILLISECOND, SECOND", at="FLOOR")
case("fn-floor-to-of-a-string",
     "SELECT FLOOR(model_id TO HOUR) FROM llm_requests;",
     "1:14", B, "FLOOR takes a TIMESTAMP or DATE, got VARCHAR", at="model_id")
case("fn-hour-of-a-number",
     "SELECT HOUR(latency_ms) FROM llm_requests;",
     "1:13", B, "HOUR takes a TIMESTAMP or DATE, got DOUBLE", at="latency_ms")
case("fn-parse-url-unknown-part",
     "SELECT PARSE_URL(prompt_text, 'DOMAIN') FROM llm_requests;",
     "1:31", B, "PARSE_URL part must be one of HOST", at="'DOMAIN'")
case("fn-from-unixtime-of-a-double",
     "SELECT FROM_UNIXTIME(latency_ms) FROM llm_requests;",
     "1:8", B, "FROM_UNIXTIME takes epoch seconds (an integer), got DOUBLE", at="FROM_UNIXTIME")
case("fn-timestampadd-unknown-unit",
     "SELECT TIMESTAMPADD(FORTNIGHT, 1, event_time) FROM llm_requests;",
     "1:21", B, "TIMESTAMPADD takes a unit of", at="FORTNIGHT")
case("fn-json-value-error-on-error",
     "SELECT JSON_VALUE(prompt_text, '$.a' ERROR ON ERROR) FROM llm_requests;",
     "1:8", U, ("ERROR ON ERROR is not supported", "DEFAULT <value> ON ERROR"), at="JSON_VALUE")
case("fn-floor-time-to-day",
     "SELECT FLOOR(CAST(event_time AS TIME) TO DAY) FROM llm_requests;",
     "1:8", B, "FLOOR(TIME TO DAY): a TIME rounds to MILLISECOND, SECOND, MINUTE, HOUR",
     at="FLOOR")
case("fn-overlaps-not-a-period",
     "SELECT (event_time, event_time, event_time) OVERLAPS (event_time, event_time) "
     "FROM llm_requests;",
     "1:8", S, "OVERLAPS compares two periods", at="(event_time, event_time, event_time)")
case("fn-overlaps-of-numbers",
     "SELECT (latency_ms, 1) OVERLAPS (2, 3) FROM llm_requests;",
     "1:9", B, "OVERLAPS compares periods of a TIMESTAMP, DATE or TIME, got DOUBLE",
     at="latency_ms")
case("fn-time-literal-unreadable",
     "SELECT TIME '25:00:00' FROM llm_requests;",
     "1:8", B, "cannot read time '25:00:00'", at="TIME '25:00:00'")
case("fn-json-path-filter",
     "SELECT JSON_QUERY(prompt_text, 'lax $.a[?(@.c)]') FROM llm_requests;",
     "1:32", B, ("JSON_QUERY: JSON path", "is not supported"), at="'lax $.a[?(@.c)]'")
case("fn-json-exists-error-on-error",
     "SELECT JSON_EXISTS(prompt_text, '$.a' ERROR ON ERROR) FROM llm_requests;",
     "1:39", U, "ERROR ON ERROR is not supported in JSON_EXISTS", at="ERROR ON ERROR")
case("fn-json-query-error-on-empty",
     "SELECT JSON_QUERY(prompt_text, '$.a' WITH WRAPPER ERROR ON EMPTY) FROM llm_requests;",
     "1:51", U, "ERROR ON EMPTY is not supported in JSON_QUERY", at="ERROR ON EMPTY")
case("fn-json-query-wrapper-misspelled",
     "SELECT JSON_QUERY(prompt_text, '$.a' WITH ARRAY WRAPPERS) FROM llm_requests;",
     "1:49", S, "Expected WRAPPER after WITH", at="WRAPPERS")
case("fn-json-value-returning-timestamp",
     "SELECT JSON_VALUE(prompt_text, '$.t' RETURNING TIMESTAMP) FROM llm_requests;",
     "1:8", B, "JSON_VALUE cannot return TIMESTAMP(3)", at="JSON_VALUE")
case("fn-lpad-wrong-count",
     "SELECT LPAD(model_id, 4) FROM llm_requests;",
     "1:8", B, "LPAD takes 3 argument(s), got 2", at="LPAD")


# --------------------------------------------------------------------- aggregates

case("agg-count-in-where",
     "SELECT model_id FROM llm_requests WHERE COUNT(*) > 5;",
     "1:41", B, "aggregate function COUNT is not allowed in WHERE", at="COUNT(*)")
case("agg-sum-in-where-with-group-by",
     "SELECT model_id FROM llm_requests WHERE SUM(cost) > 5 GROUP BY model_id;",
     "1:41", B, "aggregate function SUM is not allowed in WHERE", at="SUM(cost)")
case("agg-in-join-condition",
     "SELECT r.model_id FROM llm_requests r\n"
     "JOIN model_configs FOR SYSTEM_TIME AS OF r.proc_time AS c\n"
     "ON r.model_id = c.model_id AND COUNT(*) > 1;",
     "3:32", B, "aggregate function COUNT is not allowed in a join condition", at="COUNT(*)")
case("agg-in-group-by",
     "SELECT COUNT(*) FROM llm_requests GROUP BY COUNT(*);",
     "1:44", B, "GROUP BY cannot contain an aggregate", at="COUNT(*);")
case("agg-column-not-grouped",
     "SELECT model_id, region, COUNT(*) FROM llm_requests GROUP BY model_id;",
     "1:18", B, "column 'region' must appear in GROUP BY or be used in an aggregate function",
     at="region")
case("agg-column-without-group-by",
     "SELECT model_id, COUNT(*) FROM llm_requests;",
     "1:8", B, "column 'model_id' must appear in GROUP BY", at="model_id")
case("agg-having-column-not-grouped",
     "SELECT model_id, COUNT(*) FROM llm_requests GROUP BY model_id HAVING cost > 1;",
     "1:70", B, "column 'cost' must appear in GROUP BY", at="cost")
case("agg-nested",
     "SELECT model_id, SUM(AVG(cost)) FROM llm_requests GROUP BY model_id;",
     "1:22", B, "aggregate calls cannot be nested: SUM(...) contains another aggregate",
     at="AVG(cost)")
case("agg-nested-count",
     "SELECT model_id, MAX(COUNT(*)) FROM llm_requests GROUP BY model_id;",
     "1:22", B, "aggregate calls cannot be nested: MAX(...)", at="COUNT(*)")
case("agg-sum-star",
     "SELECT SUM(*) FROM llm_requests;",
     "1:8", B, "SUM(*) is not valid; only COUNT(*) is", at="SUM(*)")
case("agg-sum-two-arguments",
     "SELECT SUM(cost, latency_ms) FROM llm_requests;",
     "1:8", B, "SUM takes 1 argument(s)", at="SUM(")
case("agg-count-two-arguments",
     "SELECT COUNT(model_id, region) AS n FROM llm_requests;",
     "1:8", B, "COUNT takes one argument", at="COUNT(")
case("agg-corr-one-argument",
     "SELECT CORR(cost) FROM llm_requests;",
     "1:8", B, "CORR takes 2 argument(s)", at="CORR(")
case("agg-row-number-without-over",
     "SELECT model_id, ROW_NUMBER() FROM llm_requests;",
     "1:18", B, "ROW_NUMBER needs an OVER clause", at="ROW_NUMBER")
case("agg-lag-without-over",
     "SELECT model_id, LAG(cost, 1) FROM llm_requests;",
     "1:18", B, "LAG needs an OVER clause", at="LAG(")
case("agg-window-function-in-where",
     "SELECT model_id FROM llm_requests\n"
     "WHERE ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY event_time) = 1;",
     "2:7", B, "window function ROW_NUMBER is not allowed in WHERE", at="ROW_NUMBER")
case("agg-sum-over-of-string",
     "SELECT SUM(region) OVER (PARTITION BY model_id ORDER BY event_time) FROM llm_requests;",
     "1:8", B, "SUM takes a number, got VARCHAR", at="SUM(")
case("agg-ntile-is-unsupported",
     "SELECT NTILE(4) OVER (PARTITION BY model_id ORDER BY event_time) FROM llm_requests;",
     "1:8", U, "NTILE", at="NTILE")
case("agg-percentile-cont-above-one",
     "SELECT model_id, PERCENTILE_CONT(1.5) WITHIN GROUP (ORDER BY latency_ms)\n"
     "FROM llm_requests GROUP BY model_id;",
     "1:34", B, "percentile 1.5 is outside [0, 1]", at="1.5")
case("agg-percentile-negative",
     "SELECT model_id, PERCENTILE(latency_ms, -0.5) FROM llm_requests GROUP BY model_id;",
     "1:41", B, "percentile -0.5 is outside [0, 1]", at="-0.5")
case("agg-percentile-not-literal",
     "SELECT model_id, PERCENTILE(latency_ms, cost) FROM llm_requests GROUP BY model_id;",
     "1:41", B, "the percentile must be a number literal in [0, 1]", at="cost")
case("agg-percentile-cont-without-within-group",
     "SELECT model_id, PERCENTILE_CONT(0.5) FROM llm_requests GROUP BY model_id;",
     "1:18", B, "PERCENTILE_CONT is written PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY column)",
     at="PERCENTILE_CONT")

# ------------------------------------------------------------------------ windows

case("win-descriptor-without-watermark",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE model_configs, DESCRIPTOR(updated_at), INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:51", B, "TUMBLE needs a time attribute, but 'updated_at' (TIMESTAMP(3)) has no watermark",
     at="updated_at")
case("win-descriptor-on-bigint",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(timestamp_ms), INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:50", B, "TUMBLE needs a time attribute, but 'timestamp_ms' (BIGINT)", at="timestamp_ms")
case("win-descriptor-unknown-column",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_tme), INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:50", B, "DESCRIPTOR column 'event_tme' is not a column of llm_requests; "
                "did you mean 'event_time'?", at="event_tme")
case("win-descriptor-two-columns",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time, proc_time), INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:62", S, "DESCRIPTOR takes exactly one time column", at="proc_time")
case("win-hop-size-not-multiple-of-slide",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(HOP(TABLE llm_requests, DESCRIPTOR(event_time),\n"
     "               INTERVAL '2' MINUTES, INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "3:38", B, ("HOP size (300000 ms) must be an integral multiple of its slide (120000 ms)"),
     at="INTERVAL '5'")
case("win-hop-slide-exceeds-size",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(HOP(TABLE llm_requests, DESCRIPTOR(event_time),\n"
     "               INTERVAL '2' DAYS, INTERVAL '1' DAY))\n"
     "GROUP BY window_start, window_end;",
     "3:16", B, "HOP slide (2 d) must not exceed its size (1 d)", at="INTERVAL '2'")
case("win-cumulate-size-not-multiple-of-step",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(CUMULATE(TABLE llm_requests, DESCRIPTOR(event_time),\n"
     "                    INTERVAL '7' MINUTES, INTERVAL '30' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "3:43", B, "CUMULATE max size (1800000 ms) must be an integral multiple of its step",
     at="INTERVAL '30'")
case("win-zero-size",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '0' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:63", B, "TUMBLE SIZE must be positive", at="INTERVAL '0'")
case("win-negative-size",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '-5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:63", B, "TUMBLE SIZE must be positive", at="INTERVAL '-5'")
case("win-session-zero-gap",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(SESSION(TABLE llm_requests PARTITION BY user_id, DESCRIPTOR(event_time),\n"
     "                   INTERVAL '0' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "3:20", B, "SESSION GAP must be positive", at="INTERVAL '0'")
case("win-interval-not-a-number",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL 'five' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:63", B, "interval literal 'five' is not a number", at="INTERVAL 'five'")
case("win-month-interval",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MONTH))\n"
     "GROUP BY window_start, window_end;",
     "2:63", U, "TUMBLE SIZE in MONTHS has no fixed length", at="INTERVAL '1' MONTH")
case("win-year-session-gap",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(SESSION(TABLE llm_requests PARTITION BY user_id, DESCRIPTOR(event_time),\n"
     "                   INTERVAL '1' YEAR))\n"
     "GROUP BY window_start, window_end;",
     "3:20", U, "SESSION GAP in YEARS has no fixed length", at="INTERVAL '1' YEAR")
case("win-size-below-a-millisecond",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '0.0001' SECOND))\n"
     "GROUP BY window_start, window_end;",
     "2:63", B, "interval '0.0001' SECOND is not whole milliseconds", at="INTERVAL '0.0001'")
case("win-tumble-missing-size",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time)))\n"
     "GROUP BY window_start, window_end;",
     "2:6", B, "TUMBLE needs its SIZE interval", at="TABLE(TUMBLE")
case("win-hop-missing-size",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(HOP(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))\n"
     "GROUP BY window_start, window_end;",
     "2:6", B, "HOP needs its SIZE interval", at="TABLE(HOP")
case("win-size-not-an-interval",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), 5))\n"
     "GROUP BY window_start, window_end;",
     "2:63", B, "TUMBLE SIZE must be an interval literal", at="5))")
case("win-too-many-intervals",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '5' MINUTES,\n"
     "                  INTERVAL '1' MINUTE, INTERVAL '2' MINUTE))\n"
     "GROUP BY window_start, window_end;",
     "3:40", S, "TUMBLE takes at most 2 interval arguments", at="INTERVAL '2'")
case("win-wrong-named-parameter",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(DATA => TABLE llm_requests, TIMECOL => DESCRIPTOR(event_time),\n"
     "                  SIZ => INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "3:19", S, "TUMBLE has no parameter SIZ; it takes SIZE, OFFSET", at="SIZ =>")
case("win-named-parameter-twice",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(DATA => TABLE llm_requests, TIMECOL => DESCRIPTOR(event_time),\n"
     "                  SIZE => INTERVAL '5' MINUTES, SIZE => INTERVAL '10' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "3:49", S, "SIZE", at="SIZE => INTERVAL '10'")
case("win-tumble-partition-by",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(TUMBLE(TABLE llm_requests PARTITION BY user_id, DESCRIPTOR(event_time),\n"
     "                  INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:51", B, "TUMBLE does not take PARTITION BY", at="user_id")
case("win-session-partition-by-unknown-column",
     "SELECT window_start, COUNT(*) AS n\n"
     "FROM TABLE(SESSION(TABLE llm_requests PARTITION BY usr_id, DESCRIPTOR(event_time),\n"
     "                   INTERVAL '5' MINUTES))\n"
     "GROUP BY window_start, window_end;",
     "2:52", B, "unknown column 'usr_id'; did you mean 'user_id'?", at="usr_id")
case("win-window-start-not-grouped",
     f"SELECT window_start, COUNT(*) AS n FROM {TUMBLE_5M}\nGROUP BY model_id;",
     "1:8", B, "window_start/window_end are selected but not grouped by", at="window_start")
case("win-group-window-in-select",
     "SELECT TUMBLE(event_time, INTERVAL '1' HOUR) FROM llm_requests;",
     "1:8", B, "TUMBLE(...) is a group window: it belongs in GROUP BY", at="TUMBLE(")
case("win-tumble-start-without-group-window",
     "SELECT TUMBLE_START(event_time, INTERVAL '1' HOUR), COUNT(*)\n"
     "FROM llm_requests GROUP BY model_id;",
     "1:8", B, "TUMBLE_START needs a TUMBLE group window in GROUP BY", at="TUMBLE_START")
case("win-group-window-without-watermark",
     "SELECT COUNT(*) FROM model_configs GROUP BY TUMBLE(updated_at, INTERVAL '1' HOUR);",
     "1:52", B, "TUMBLE needs a time attribute, but 'updated_at' has none here", at="updated_at")
case("win-group-window-hop-not-multiple",
     "SELECT COUNT(*) FROM llm_requests\n"
     "GROUP BY HOP(event_time, INTERVAL '2' MINUTE, INTERVAL '5' MINUTE);",
     "2:47", B, "HOP size must be an integral multiple of its slide", at="INTERVAL '5'")
case("win-group-window-hop-slide-exceeds-size",
     "SELECT COUNT(*) FROM llm_requests\n"
     "GROUP BY HOP(event_time, INTERVAL '10' MINUTE, INTERVAL '90' SECOND);",
     "2:26", B, "HOP slide (10 min) must not exceed its size (90 s)", at="INTERVAL '10'")
case("win-group-window-arity",
     "SELECT COUNT(*) FROM llm_requests GROUP BY TUMBLE(event_time);",
     "1:44", B, "TUMBLE takes 2 arguments: TUMBLE(time_attr, size)", at="TUMBLE(")
case("win-two-group-windows",
     "SELECT COUNT(*) FROM llm_requests\n"
     "GROUP BY TUMBLE(event_time, INTERVAL '1' HOUR),\n"
     "         HOP(event_time, INTERVAL '1' MINUTE, INTERVAL '1' HOUR);",
     "3:10", B, "GROUP BY takes at most one group window", at="HOP(")

# -------------------------------------------------------------------------- emits

case("emit-after-watermark-without-window",
     "SELECT model_id, COUNT(*) FROM llm_requests GROUP BY model_id\nEMIT AFTER WATERMARK;",
     "2:1", B, "EMIT AFTER WATERMARK needs a window aggregation", at="EMIT")
case("emit-after-watermark-window-not-grouped",
     f"SELECT model_id, COUNT(*) AS n FROM {TUMBLE_5M}\nGROUP BY model_id\nEMIT AFTER WATERMARK;",
     "3:1", B, "EMIT AFTER WATERMARK needs a window aggregation", at="EMIT")
case("emit-after-watermark-without-aggregation",
     "SELECT model_id FROM llm_requests EMIT AFTER WATERMARK;",
     "1:35", B, "EMIT AFTER WATERMARK applies to an aggregation; this query has no GROUP BY",
     at="EMIT")
case("syntax-empty-in-list",
     "SELECT model_id FROM llm_requests WHERE region IN ();",
     "1:41", S, "Expected at least one value in IN (...)", at="region IN ()")
case("emit-negative-delay",
     "SELECT model_id, window_start, COUNT(*) AS n\n"
     f"FROM {TUMBLE_5M}\n"
     "GROUP BY model_id, window_start, window_end\n"
     "EMIT AFTER WATERMARK WITH DELAY INTERVAL '-2' MINUTES;",
     "4:33", B, "the EMIT delay must not be negative", at="INTERVAL '-2'")
case("emit-delay-in-months",
     "SELECT model_id, window_start, COUNT(*) AS n\n"
     f"FROM {TUMBLE_5M}\n"
     "GROUP BY model_id, window_start, window_end\n"
     "EMIT AFTER WATERMARK WITH DELAY INTERVAL '1' MONTH;",
     "4:33", U, "EMIT delay in MONTHS has no fixed length", at="INTERVAL '1' MONTH")

# ------------------------------------------------------------- streaming validity

case("stream-order-by-non-time-column",
     "SELECT model_id, latency_ms FROM llm_requests ORDER BY latency_ms;",
     "1:56", B, "a stream can only be sorted by a time attribute ascending", at="latency_ms;")
case("stream-order-by-alias-of-non-time-column",
     "SELECT model_id, latency_ms AS l FROM llm_requests ORDER BY l;",
     "1:61", B, "a stream can only be sorted by a time attribute ascending", at="l;")
case("stream-order-by-time-descending",
     "SELECT model_id FROM llm_requests ORDER BY event_time DESC;",
     "1:44", B, "a stream can only be sorted by a time attribute ascending", at="event_time DESC")
case("stream-order-by-ordinal-out-of-range",
     f"SELECT model_id, window_start, COUNT(*) AS n FROM {TUMBLE_5M}\n"
     "GROUP BY model_id, window_start, window_end ORDER BY 5;",
     "2:54", B, "ORDER BY 5 is out of range; the query has 3 columns", at="5;")
case("stream-over-without-order-by",
     "SELECT model_id, AVG(latency_ms) OVER (PARTITION BY model_id) FROM llm_requests;",
     "1:34", U, "AVG(...) OVER needs ORDER BY a time attribute on a stream", at="OVER")
case("stream-over-ordered-by-non-time-column",
     "SELECT model_id, AVG(latency_ms) OVER (\n"
     "    PARTITION BY model_id ORDER BY latency_ms\n"
     "    ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)\n"
     "FROM llm_requests;",
     "2:36", B, "AVG(...) OVER must ORDER BY a time attribute ascending", at="latency_ms")
case("stream-over-ordered-by-time-descending",
     "SELECT model_id, AVG(latency_ms) OVER (\n"
     "    PARTITION BY model_id ORDER BY event_time DESC\n"
     "    ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)\n"
     "FROM llm_requests;",
     "2:36", B, "AVG(...) OVER must ORDER BY a time attribute ascending", at="event_time DESC")
case("stream-over-following-frame",
     "SELECT model_id, AVG(latency_ms) OVER (\n"
     "    PARTITION BY model_id ORDER BY event_time\n"
     "    ROWS BETWEEN 9 PRECEDING AND 2 FOLLOWING)\n"
     "FROM llm_requests;",
     "3:34", U, "FOLLOWING frame bounds need future rows", at="2 FOLLOWING")
case("stream-over-unbounded-following-frame",
     "SELECT model_id, AVG(latency_ms) OVER (\n"
     "    PARTITION BY model_id ORDER BY event_time\n"
     "    ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)\n"
     "FROM llm_requests;",
     "3:34", U, "FOLLOWING frame bounds need future rows", at="UNBOUNDED")
case("stream-over-frame-start-after-end",
     "SELECT model_id, AVG(latency_ms) OVER (\n"
     "    PARTITION BY model_id ORDER BY event_time\n"
     "    ROWS BETWEEN 1 PRECEDING AND 5 PRECEDING)\n"
     "FROM llm_requests;",
     "1:34", B, "the frame's start must not be after its end", at="OVER")
case("stream-over-range-bound-not-interval",
     "SELECT model_id, AVG(latency_ms) OVER (\n"
     "    PARTITION BY model_id ORDER BY event_time\n"
     "    RANGE BETWEEN 5 PRECEDING AND CURRENT ROW)\n"
     "FROM llm_requests;",
     "3:19", B, "a RANGE frame bound on time is an INTERVAL", at="5 PRECEDING")
case("stream-over-rows-bound-interval",
     "SELECT model_id, AVG(latency_ms) OVER (\n"
     "    PARTITION BY model_id ORDER BY event_time\n"
     "    ROWS BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)\n"
     "FROM llm_requests;",
     "3:18", B, "a ROWS frame bound is an integer literal", at="INTERVAL '1' HOUR")
case("stream-lag-offset-not-literal",
     "SELECT model_id, LAG(latency_ms, tokens_used) OVER (PARTITION BY model_id ORDER BY event_time)\n"
     "FROM llm_requests;",
     "1:34", B, "the LAG offset must be an integer literal", at="tokens_used")
case("stream-lag-default-type",
     "SELECT model_id, LAG(latency_ms, 1, 'none') OVER (PARTITION BY model_id ORDER BY event_time)\n"
     "FROM llm_requests;",
     "1:37", B, "the LAG default is VARCHAR, but the value is DOUBLE", at="'none'")
case("stream-lag-too-many-arguments",
     "SELECT model_id, LAG(latency_ms, 1, 0, 5) OVER (PARTITION BY model_id ORDER BY event_time)\n"
     "FROM llm_requests;",
     "1:18", B, "LAG takes (column[, offset[, default]])", at="LAG(")
case("stream-no-from",
     "SELECT 1;",
     "1:1", U, "a streaming query needs a FROM clause", at="SELECT")
case("stream-scalar-subquery",
     "SELECT (SELECT MAX(cost) FROM llm_requests) FROM llm_requests;",
     "1:8", U, "scalar subqueries are not supported on streams yet", at="(SELECT")
case("stream-in-subquery-under-or",
     "SELECT model_id FROM llm_requests\n"
     "WHERE latency_ms > 100 OR model_id IN (SELECT model_id FROM error_events);",
     "2:27", U, "IN (subquery) runs only as a condition of WHERE, ANDed with the others",
     at="model_id IN")
case("stream-exists-subquery",
     "SELECT model_id FROM llm_requests WHERE EXISTS (SELECT 1 FROM error_events);",
     "1:41", U, "EXISTS without a correlation", at="EXISTS")
case("stream-intersect",
     "SELECT model_id FROM llm_requests\nINTERSECT ALL\nSELECT model_id FROM llm_requests;",
     "2:1", U, "INTERSECT ALL is not supported on streams yet", at="INTERSECT")
case("stream-distinct-order-by-unselected-column",
     "SELECT DISTINCT model_id FROM llm_requests ORDER BY latency_ms LIMIT 3;",
     "1:53", B, "DISTINCT", at="latency_ms")

# ---------------------------------------------------------------------------- DDL

case("ddl-duplicate-column",
     f"CREATE STREAM s (\n  a INT,\n  b VARCHAR,\n  a BIGINT\n) {KAFKA};",
     "4:3", B, "duplicate column 'a'", at="a BIGINT")
case("ddl-watermark-on-unknown-column",
     "CREATE STREAM s (a INT, ts TIMESTAMP(3),\n"
     f"  WATERMARK FOR tss AS tss - INTERVAL '5' SECOND) {KAFKA};",
     "2:17", B, "watermark column 'tss' is not a column of s; did you mean 'ts'?", at="tss")
case("ddl-watermark-on-bigint-column",
     "CREATE STREAM s (a INT, ts BIGINT,\n"
     f"  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) {KAFKA};",
     "2:17", B, "watermark column 'ts' is BIGINT; it must be TIMESTAMP(3) or TIMESTAMP_LTZ(3)",
     at="ts AS")
case("ddl-watermark-expression-not-timestamp",
     f"CREATE STREAM s (ts TIMESTAMP(3), n INT, WATERMARK FOR ts AS n) {KAFKA};",
     "1:62", B, "the watermark expression is INT; it must be a timestamp", at="n)")
case("ddl-watermark-negative-delay",
     f"CREATE STREAM s (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '-5' SECOND) {KAFKA};",
     "1:60", B, "the watermark delay must not be negative", at="INTERVAL '-5'")
case("ddl-two-watermarks",
     "CREATE STREAM s (ts TIMESTAMP(3), ts2 TIMESTAMP(3),\n"
     "  WATERMARK FOR ts AS ts,\n"
     f"  WATERMARK FOR ts2 AS ts2) {KAFKA};",
     "3:3", S, "WATERMARK", at="WATERMARK FOR ts2")
case("ddl-computed-column-unknown-column",
     f"CREATE STREAM s (ms BIGINT, ts AS TO_TIMESTAMP(mss)) {KAFKA};",
     "1:48", B, "unknown column 'mss'; did you mean 'ms'?", at="mss")
case("ddl-computed-column-on-computed-column",
     "CREATE STREAM s (\n"
     "  ms BIGINT,\n"
     "  ts AS TO_TIMESTAMP(ms),\n"
     "  ts2 AS ts + INTERVAL '1' SECOND,\n"
     f"  WATERMARK FOR ts AS ts) {KAFKA};",
     "4:10", B, "computed column 'ts2' refers to computed column 'ts'", at="ts + INTERVAL")
case("ddl-unknown-data-type",
     f"CREATE STREAM s (a INTEGR, b INT) {KAFKA};",
     "1:20", B, ("unknown data type 'INTEGR'", "INTEGER"), at="INTEGR")
case("ddl-timestamp-precision-6",
     f"CREATE STREAM s (ts TIMESTAMP(6)) {KAFKA};",
     "1:21", U, "TIMESTAMP(6): sqlc keeps event time in milliseconds; use TIMESTAMP(3)",
     at="TIMESTAMP(6)")
case("ddl-kafka-metadata-unknown-key",
     f"CREATE STREAM s (a INT, ts TIMESTAMP(3) METADATA FROM 'timestmp') {KAFKA};",
     "1:55", B, "unknown Kafka metadata key 'timestmp'", at="'timestmp'")
case("ddl-no-connector",
     "CREATE STREAM s (a INT);",
     "1:15", B, "stream 's' has no 'connector' property", at="s (")
case("ddl-unknown-connector",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafak', 'topic' = 't', 'format' = 'json');",
     "1:31", B, "unknown connector 'kafak'; did you mean 'kafka'?", at="'connector'")
case("ddl-lookup-connector-on-stream",
     "CREATE STREAM s (a INT) WITH ('connector' = 'postgres', 'table-name' = 't');",
     "1:31", B, "connector 'postgres' serves lookup tables; use CREATE TABLE", at="'connector'")
case("ddl-kafka-without-topic",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'format' = 'json');",
     "1:31", B, "connector 'kafka' needs the property 'topic'", at="'connector'")
case("ddl-file-without-path",
     "CREATE STREAM s (a INT) WITH ('connector' = 'file', 'format' = 'json');",
     "1:31", B, "connector 'file' needs the property 'path'", at="'connector'")
case("ddl-bad-startup-mode",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json',\n"
     "  'scan.startup.mode' = 'earliest');",
     "2:3", B, "property 'scan.startup.mode' = 'earliest' is not one of earliest-offset, "
               "latest-offset, group-offsets, timestamp", at="'scan.startup.mode'")
case("ddl-timestamp-mode-without-millis",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json',\n"
     "  'scan.startup.mode' = 'timestamp');",
     "2:3", B, "'scan.startup.mode' = 'timestamp' needs 'scan.startup.timestamp-millis'",
     at="'scan.startup.mode'")
case("ddl-millis-without-timestamp-mode",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json',\n"
     "  'scan.startup.timestamp-millis' = '1');",
     "2:3", B, "'scan.startup.timestamp-millis' is only used with 'scan.startup.mode' = 'timestamp'",
     at="'scan.startup.timestamp-millis'")
case("ddl-unknown-property",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json',\n"
     "  'scan.startup.mod' = 'earliest-offset');",
     "2:3", B, "unknown property 'scan.startup.mod' for connector 'kafka'; "
               "did you mean 'scan.startup.mode'?", at="'scan.startup.mod'")
case("ddl-bad-duration",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json',\n"
     "  'state.ttl' = 'a day');",
     "2:3", B, "property 'state.ttl' = 'a day' is not a duration", at="'state.ttl'")
case("ddl-property-set-twice",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'topic' = 'u',\n"
     "  'format' = 'json');",
     "1:69", B, "property 'topic' is set twice", at="'topic' = 'u'")
case("ddl-bad-format",
     "CREATE STREAM s (a INT) WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'avro');",
     "1:69", B, "property 'format' = 'avro' is not one of json, csv, raw", at="'format'")
case("ddl-upsert-kafka-without-primary-key",
     "CREATE TABLE t (a INT) WITH ('connector' = 'upsert-kafka', 'topic' = 't',\n"
     "  'key.format' = 'json', 'value.format' = 'json');",
     "1:30", B, "PRIMARY KEY", at="'connector'")
# INSERT INTO a PostgreSQL table: an updating result is written by the table's PRIMARY KEY
PG_TOTALS = "CREATE TABLE pg_totals (model_id VARCHAR, n BIGINT{key}) WITH (\n" \
    "  'connector' = 'postgres', 'url' = '${{PG_URL}}', 'table-name' = 'totals');\n"
PG_GROUP = "SELECT model_id, COUNT(*) AS n FROM llm_requests GROUP BY model_id;"
case("insert-updating-into-postgres-without-primary-key",
     PG_TOTALS.format(key="") + "INSERT INTO pg_totals " + PG_GROUP,
     "3:13", B, ("result is updating", "declares none"), at="pg_totals")
case("insert-into-postgres-by-another-key",
     PG_TOTALS.format(key=", PRIMARY KEY (n) NOT ENFORCED") + "INSERT INTO pg_totals "
     + PG_GROUP,
     "3:13", B, ("updates rows by (model_id)", "PRIMARY KEY of pg_totals is (n)"),
     at="pg_totals")
case("insert-into-postgres-without-its-key-column",
     PG_TOTALS.format(key=", PRIMARY KEY (model_id) NOT ENFORCED")
     + "INSERT INTO pg_totals (n) SELECT COUNT(*) AS n FROM llm_requests;",
     "3:13", B, "does not write its PRIMARY KEY column(s) model_id", at="pg_totals")
# a Kafka TABLE with a PRIMARY KEY is read by lookup joins as a changelog (FR-DDL-002)
KEYED = "CREATE TABLE t (id VARCHAR, v INT, PRIMARY KEY (id) NOT ENFORCED)\n"
BOOTSTRAP = "'properties.bootstrap.servers' = 'b:9092'"
case("ddl-kafka-table-without-bootstrap-servers",
     KEYED + "WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json');",
     "2:7", B, ("Kafka table 't' has a PRIMARY KEY", "needs 'properties.bootstrap.servers'"),
     at="'connector'")
case("ddl-kafka-table-without-topic",
     KEYED + f"WITH ('connector' = 'kafka', 'format' = 'json', {BOOTSTRAP});",
     "2:7", B, "connector 'kafka' needs the property 'topic'", at="'connector'")
case("ddl-kafka-table-unknown-value-format",
     KEYED + "WITH ('connector' = 'upsert-kafka', 'topic' = 't', 'key.format' = 'json',\n"
     f"  'value.format' = 'avro', {BOOTSTRAP});",
     "3:3", B, "property 'value.format' = 'avro' is not one of json, csv, raw",
     at="'value.format'")
case("ddl-kafka-table-from-latest-offset",
     KEYED + f"WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json', {BOOTSTRAP},\n"
     "  'scan.startup.mode' = 'latest-offset');",
     "3:3", B, ("read as a changelog: from the earliest offset",
                "'scan.startup.mode' = 'latest-offset' would lose rows"),
     at="'scan.startup.mode'")
case("ddl-kafka-table-key-fields-without-the-key",
     "CREATE TABLE t (id VARCHAR, k VARCHAR, v INT, PRIMARY KEY (id) NOT ENFORCED)\n"
     f"WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json', {BOOTSTRAP},\n"
     "  'key.format' = 'json', 'key.fields' = 'k');",
     "3:26", B, "'key.fields' must hold the primary key of 't' (missing: id)",
     at="'key.fields'")
case("ddl-state-ttl-not-a-duration",
     KEYED + f"WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json', {BOOTSTRAP},\n"
     "  'state.ttl' = 'an hour');",
     "3:3", B, "property 'state.ttl' = 'an hour' is not a duration", at="'state.ttl'")
case("ddl-changelog-op-field-is-a-column",
     "CREATE TABLE t (id VARCHAR, op VARCHAR, PRIMARY KEY (id) NOT ENFORCED)\n"
     f"WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json', {BOOTSTRAP},\n"
     "  'changelog.op-field' = 'op');",
     "3:3", B, "'changelog.op-field' = 'op' names the field of each change",
     at="'changelog.op-field'")
case("join-kafka-table-without-primary-key",
     "CREATE TABLE t (model_id VARCHAR, v INT)\n"
     "WITH ('connector' = 'kafka', 'topic' = 't', 'format' = 'json');\n"
     "SELECT r.request_id, t.v FROM llm_requests r\n"
     "JOIN t FOR SYSTEM_TIME AS OF r.proc_time ON r.model_id = t.model_id;",
     "4:6", B, "Kafka table 't' has no PRIMARY KEY: a lookup join reads a Kafka topic as a "
               "changelog", at="t FOR SYSTEM_TIME")
case("join-comma-lookup-without-equality",
     "SELECT r.request_id FROM llm_requests r, model_configs c\nWHERE r.latency_ms > 3;",
     "1:40", B, "a join with lookup table 'model_configs' needs an equality on its key, e.g. "
                "WHERE r.model_id = c.model_id", at=", model_configs c")
case("ddl-primary-key-unknown-column",
     "CREATE TABLE t (id VARCHAR, v INT, PRIMARY KEY (idd) NOT ENFORCED)\n"
     "WITH ('connector' = 'postgres', 'table-name' = 't');",
     "1:49", B, "primary key column 'idd' is not a column of t", at="idd")
case("ddl-primary-key-enforced",
     "CREATE TABLE t (id VARCHAR, v INT, PRIMARY KEY (id) ENFORCED)\n"
     "WITH ('connector' = 'postgres', 'table-name' = 't');",
     "1:36", U, "sqlc cannot enforce a primary key; declare it NOT ENFORCED", at="PRIMARY KEY")
case("ddl-create-existing-stream",
     f"CREATE STREAM llm_requests (a INT) {KAFKA};",
     "1:15", B, "stream 'llm_requests' already exists (defined in", at="llm_requests")
case("ddl-create-view-named-like-a-table",
     "CREATE VIEW model_configs AS SELECT model_id FROM llm_requests;",
     "1:13", B, "table 'model_configs' already exists", at="model_configs")
case("ddl-view-column-count",
     "CREATE VIEW v (a, b) AS SELECT model_id FROM llm_requests;",
     "1:15", B, "view v names 2 columns but its query has 1", at="(a, b)")
case("ddl-view-body-error",
     "CREATE VIEW v AS\nSELECT modl_id FROM llm_requests;",
     "2:8", B, "unknown column 'modl_id'; did you mean 'model_id'?", at="modl_id")
case("ddl-drop-stream-used-by-view",
     "CREATE VIEW v AS SELECT model_id FROM llm_requests;\nDROP STREAM llm_requests;",
     "2:13", B, "cannot drop stream 'llm_requests': view(s) v depend on it", at="llm_requests")
case("ddl-drop-unknown",
     "DROP STREAM llm_reqests;",
     "1:13", B, "cannot drop unknown stream 'llm_reqests'; did you mean 'llm_requests'?",
     at="llm_reqests")
case("ddl-drop-wrong-kind",
     "DROP VIEW llm_requests;",
     "1:6", B, "'llm_requests' is a stream, not a view",
     at="VIEW")
case("ddl-drop-stream-of-a-lookup-table",
     "DROP STREAM model_configs;",
     "1:6", B, "'model_configs' is a lookup table, not a stream",
     at="STREAM")
case("ddl-use-after-drop",
     "DROP TABLE model_configs;\nSELECT * FROM model_configs;",
     "2:15", B, "unknown stream, table or view 'model_configs'", at="model_configs")
case("ddl-insert-into-view",
     "CREATE VIEW v AS SELECT model_id FROM llm_requests;\n"
     "INSERT INTO v SELECT model_id FROM llm_requests;",
     "2:13", B, "cannot INSERT INTO view 'v'", at="v SELECT")
case("ddl-insert-into-unknown",
     "INSERT INTO nowhere SELECT model_id FROM llm_requests;",
     "1:13", B, "unknown stream, table or view 'nowhere'", at="nowhere")
case("ddl-describe-unknown",
     "DESCRIBE nothing;",
     "1:10", B, "unknown stream, table or view 'nothing'", at="nothing")

# -------------------------------------------------------------------------- joins

case("join-lookup-without-key-equality",
     "SELECT r.model_id, c.max_tokens FROM llm_requests r\n"
     "JOIN model_configs FOR SYSTEM_TIME AS OF r.proc_time AS c ON r.latency_ms > c.max_tokens;",
     "2:1", B, "a join with lookup table 'model_configs' needs an equality on its key", at="JOIN")
case("join-lookup-not-on-primary-key",
     "SELECT r.model_id, c.max_tokens FROM llm_requests r\n"
     "JOIN model_configs FOR SYSTEM_TIME AS OF r.proc_time AS c ON r.tokens_used = c.max_tokens;",
     "2:1", B, "the join with lookup table 'model_configs' must use its whole primary key "
               "(model_id)", at="JOIN")
case("join-lookup-right-join",
     "SELECT r.model_id FROM llm_requests r\n"
     "RIGHT JOIN model_configs FOR SYSTEM_TIME AS OF r.proc_time AS c ON r.model_id = c.model_id;",
     "2:1", U, "RIGHT JOIN with lookup table 'model_configs'", at="RIGHT JOIN")
# event-time temporal joins (FOR SYSTEM_TIME AS OF the stream's event time on
# model_prices, a versioned table: PRIMARY KEY + WATERMARK)
case("temporal-join-right-join",
     "SELECT r.request_id FROM llm_requests r\n"
     "RIGHT JOIN model_prices FOR SYSTEM_TIME AS OF r.event_time AS p ON r.model_id = p.model_id;",
     "2:1", U, "RIGHT JOIN with versioned table 'model_prices': an event-time temporal join is "
               "INNER or LEFT", at="RIGHT JOIN")
case("temporal-join-full-join",
     "SELECT r.request_id FROM llm_requests r\n"
     "FULL OUTER JOIN model_prices FOR SYSTEM_TIME AS OF r.event_time AS p "
     "ON r.model_id = p.model_id;",
     "2:1", U, "FULL OUTER JOIN with versioned table 'model_prices'", at="FULL OUTER JOIN")
case("temporal-join-as-of-not-the-rowtime",
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN model_prices FOR SYSTEM_TIME AS OF r.timestamp_ms AS p ON r.model_id = p.model_id;",
     "2:41", B, "FOR SYSTEM_TIME AS OF takes a time attribute of the stream, but "
                "'r.timestamp_ms' is BIGINT", at="r.timestamp_ms")
case("temporal-join-as-of-an-expression",
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN model_prices FOR SYSTEM_TIME AS OF r.event_time - INTERVAL '1' MINUTE AS p\n"
     "ON r.model_id = p.model_id;",
     "2:41", B, "FOR SYSTEM_TIME AS OF takes a time attribute of the stream", at="r.event_time -")
case("temporal-join-without-the-key",
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN model_prices FOR SYSTEM_TIME AS OF r.event_time AS p ON r.tokens_used > p.usd_per_1k_tokens;",
     "2:1", B, "an event-time temporal join with 'model_prices' needs an equality on its whole "
               "primary key (model_id) in ON, e.g. ON r.model_id = p.model_id", at="JOIN")
case("temporal-join-no-primary-key",
     "CREATE TABLE v (model_id VARCHAR, price DOUBLE, t TIMESTAMP(3), WATERMARK FOR t AS t)\n"
     "WITH ('connector' = 'filesystem', 'path' = 'v.jsonl', 'format' = 'json');\n"
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN v FOR SYSTEM_TIME AS OF r.event_time ON r.model_id = v.model_id;",
     "4:6", B, "an event-time temporal join needs a versioned table, but 'v' has no PRIMARY KEY",
     at="v FOR SYSTEM_TIME")
# a changelog table is a versioned table itself; a versioned view over one is refused
case("temporal-join-view-over-changelog-table",
     "CREATE TABLE v (model_id VARCHAR, price DOUBLE, t TIMESTAMP(3), WATERMARK FOR t AS t,\n"
     "PRIMARY KEY (model_id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'v',\n"
     "'key.format' = 'json', 'value.format' = 'json', " + BOOTSTRAP + ");\n"
     "CREATE VIEW lv AS SELECT model_id, price, t FROM (SELECT *, ROW_NUMBER() OVER (\n"
     "PARTITION BY model_id ORDER BY t DESC) AS rn FROM v) WHERE rn = 1;\n"
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN lv FOR SYSTEM_TIME AS OF r.event_time ON r.model_id = lv.model_id;",
     "7:6", U, "an event-time temporal join with view 'lv' over 'v', a table read as a "
               "changelog (connector 'upsert-kafka'), does not run", at="lv FOR SYSTEM_TIME")
# a versioned view (the last row per key by ROW_NUMBER ... DESC, as in Flink)
# runs; the first row per key, a filter after the dedup, or a view without the
# versions' time is no versioned view
case("temporal-join-view-keeps-first-row",
     "CREATE VIEW first_prices AS SELECT model_id, usd_per_1k_tokens, valid_from FROM (\n"
     "SELECT *, ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY valid_from ASC) AS rn\n"
     "FROM model_prices) WHERE rn = 1;\n"
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN first_prices FOR SYSTEM_TIME AS OF r.event_time AS p ON r.model_id = p.model_id;",
     "5:6", U, "an event-time temporal join with view 'first_prices': only a versioned view",
     at="first_prices FOR")
case("temporal-join-view-filtered-after-dedup",
     "CREATE VIEW cheap_prices AS SELECT model_id, usd_per_1k_tokens, valid_from FROM (\n"
     "SELECT *, ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY valid_from DESC) AS rn\n"
     "FROM model_prices) WHERE rn = 1 AND usd_per_1k_tokens < 1;\n"
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN cheap_prices FOR SYSTEM_TIME AS OF r.event_time AS p ON r.model_id = p.model_id;",
     "5:6", U, "an event-time temporal join with view 'cheap_prices': only a versioned view",
     at="cheap_prices FOR")
case("temporal-join-view-without-version-time",
     "CREATE VIEW price_now AS SELECT model_id, usd_per_1k_tokens FROM (\n"
     "SELECT *, ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY valid_from DESC) AS rn\n"
     "FROM model_prices) WHERE rn = 1;\n"
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN price_now FOR SYSTEM_TIME AS OF r.event_time AS p ON r.model_id = p.model_id;",
     "5:6", U, "an event-time temporal join with view 'price_now': only a versioned view",
     at="price_now FOR")
case("temporal-join-view-not-on-its-key",
     "CREATE VIEW latest_prices AS SELECT model_id, usd_per_1k_tokens, valid_from FROM (\n"
     "SELECT *, ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY valid_from DESC) AS rn\n"
     "FROM model_prices) WHERE rn = 1;\n"
     "SELECT r.request_id FROM llm_requests r\n"
     "JOIN latest_prices FOR SYSTEM_TIME AS OF r.event_time AS p\n"
     "ON r.tokens_used = p.usd_per_1k_tokens;",
     "5:1", B, "an event-time temporal join with 'latest_prices' needs an equality on its "
               "whole primary key (model_id) in ON", at="JOIN latest_prices")
case("join-both-sides-same-name",
     "SELECT request_id FROM llm_requests\n"
     "JOIN llm_requests ON llm_requests.request_id = llm_requests.request_id;",
     "2:1", B, "both sides of the join are called 'llm_requests'; give one an alias", at="JOIN")
case("join-inner-without-on",
     "SELECT r.model_id FROM llm_requests r INNER JOIN error_events e;",
     "1:39", B, "INNER JOIN needs an ON condition", at="INNER JOIN")
case("join-without-on",
     "SELECT r.model_id FROM llm_requests r JOIN error_events e;",
     "1:39", B, "JOIN needs an ON condition", at="JOIN")
case("join-using-column-not-on-both-sides",
     "SELECT request_id FROM llm_requests r JOIN model_configs c USING (max_tokens);",
     "1:67", B, "USING column 'max_tokens' is not on both sides", at="max_tokens")
case("join-using-incomparable-types",
     f"CREATE STREAM a (k INT) {KAFKA};\nCREATE STREAM b (k VARCHAR) {KAFKA};\n"
     "SELECT a.k FROM a JOIN b USING (k);",
     "3:33", B, "cannot compare INT with VARCHAR", at="k")
case("join-system-time-on-a-stream",
     "SELECT r.model_id FROM llm_requests r\n"
     "JOIN error_events FOR SYSTEM_TIME AS OF r.proc_time AS e ON r.request_id = e.request_id;",
     "2:6", B, "FOR SYSTEM_TIME AS OF", at="error_events")
case("join-system-time-of-non-time-column",
     "SELECT r.model_id FROM llm_requests r\n"
     "JOIN model_configs FOR SYSTEM_TIME AS OF r.timestamp_ms AS c ON r.model_id = c.model_id;",
     "2:42", B, "time attribute", at="r.timestamp_ms")

# ---------------------------------------------------------------- MATCH_RECOGNIZE

case("mr-define-unknown-variable",
     "SELECT * FROM llm_requests MATCH_RECOGNIZE (\n"
     "  PARTITION BY model_id ORDER BY event_time\n"
     "  MEASURES A.request_id AS a_id\n"
     "  PATTERN (A B)\n"
     "  DEFINE A AS A.latency_ms < 100, C AS C.latency_ms > 5);",
     "5:35", B, "DEFINE C names no variable of PATTERN (A B)", at="C AS")
case("mr-order-by-non-time-column",
     "SELECT * FROM llm_requests MATCH_RECOGNIZE (\n"
     "  PARTITION BY model_id ORDER BY latency_ms\n"
     "  MEASURES A.request_id AS a_id\n"
     "  PATTERN (A B)\n"
     "  DEFINE A AS A.latency_ms < 100);",
     "2:34", B, "MATCH_RECOGNIZE must ORDER BY a time attribute ascending", at="latency_ms")
case("mr-define-not-boolean",
     "SELECT * FROM llm_requests MATCH_RECOGNIZE (\n"
     "  PARTITION BY model_id ORDER BY event_time\n"
     "  MEASURES A.request_id AS a_id\n"
     "  PATTERN (A B)\n"
     "  DEFINE A AS A.latency_ms);",
     "5:15", B, "boolean", at="A.latency_ms")
case("mr-measure-without-name",
     "SELECT * FROM llm_requests MATCH_RECOGNIZE (\n"
     "  PARTITION BY model_id ORDER BY event_time\n"
     "  MEASURES A.request_id\n"
     "  PATTERN (A B)\n"
     "  DEFINE A AS A.latency_ms < 100);",
     "3:12", B, "every MEASURES expression needs an AS name", at="A.request_id")
case("mr-define-reads-an-unknown-variable",
     "SELECT * FROM llm_requests MATCH_RECOGNIZE (\n"
     "  PARTITION BY model_id ORDER BY event_time\n"
     "  MEASURES A.request_id AS a_id\n"
     "  PATTERN (A B)\n"
     "  DEFINE A AS A.latency_ms < 100, B AS B.latency_ms > AA.latency_ms);",
     "5:55", B, "AA is no variable of PATTERN; its variables are A, B; did you mean A?",
     at="AA.latency_ms)")
case("mr-define-prev-physical-offset",
     "SELECT * FROM llm_requests MATCH_RECOGNIZE (\n"
     "  PARTITION BY model_id ORDER BY event_time\n"
     "  MEASURES A.request_id AS a_id\n"
     "  PATTERN (A B)\n"
     "  DEFINE A AS A.latency_ms < 100, B AS B.latency_ms > PREV(B.latency_ms));",
     "5:55", U, "Flink does not support physical offsets within a partition", at="PREV(")


# ---------------------------------------------------------------------- the table


def run(sql: str, path: str = "q.sql") -> SqlcError:
    """Analyze ``sql`` against the example catalog; the SqlcError it must raise."""
    source = Source(path, sql)
    try:
        analyze(source, [CATALOG])
    except SqlcError as error:
        return error
    pytest.fail(f"accepted, but it is invalid:\n{sql}")


def where(error: SqlcError, index: int = 0) -> tuple[int, int]:
    assert error.source is not None
    return error.source.line_col(error.diagnostics[index].span.start)


def _param(c: Case):
    marks = [pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len(CASES) >= 60


@pytest.mark.parametrize("c", [pytest.param(c, id=c.id) for c in CASES])
def test_expected_position_is_on_the_token(c: Case) -> None:
    """The table itself: each pos points at its ``at`` text (catches typos in pos)."""
    line, col = c.line_col
    text = Source("q.sql", c.sql).line_text(line)
    assert text[col - 1:].startswith(c.at), f"{c.pos} is at {text[col - 1:col + 19]!r}"


@pytest.mark.parametrize("c", [_param(c) for c in CASES])
def test_bad_input(c: Case) -> None:
    error = run(c.sql)
    found = [
        f"{':'.join(map(str, error.source.line_col(d.span.start)))} {d.kind}: {d.message}"
        for d in error.diagnostics
    ]
    assert all(d.kind != "InternalCompilerError" for d in error.diagnostics), found
    assert len(error.diagnostics) == c.count, found
    first = error.diagnostics[0]
    assert first.kind == c.kind, found
    for part in c.messages:
        assert part in first.message, found
    assert where(error) == c.line_col, found
    assert first.span.end > first.span.start, "the caret must cover at least one character"


# ------------------------------------------------------------- many errors at once


def test_every_error_in_the_file_is_reported_in_order() -> None:
    sql = (
        "SELECT latncy_ms FROM llm_requests;\n"                       # 1:8  unknown column
        "SELECT model_id FROM llm_request;\n"                         # 2:22 unknown table
        "SELECT model_id FROM llm_requests WHERE ;\n"                 # 3:35 syntax
        "CREATE STREAM s (a INT) WITH ('connector' = 'kafak', 'topic' = 't', 'format' = 'json');\n"
        "SELECT model_id + 1 FROM llm_requests;\n"                    # 5:8  type
        "SELECT model_id FROM llm_requests ORDER BY latency_ms;\n"    # 6:44 streaming
    )
    error = run(sql)
    got = [(where(error, i), d.kind) for i, d in enumerate(error.diagnostics)]
    assert got == [
        ((1, 8), B),
        ((2, 22), B),
        ((3, 35), S),
        ((4, 31), B),
        ((5, 8), B),
        ((6, 44), B),
    ]
    messages = [d.message for d in error.diagnostics]
    assert "latncy_ms" in messages[0]
    assert "llm_request'" in messages[1]
    assert "WHERE" in messages[2]
    assert "kafak" in messages[3]
    assert "'+'" in messages[4]
    assert "sorted by a time attribute" in messages[5]


def test_every_error_of_one_create_statement_is_reported() -> None:
    sql = ("CREATE STREAM s (a INT, a INT, WATERMARK FOR b AS b)\n"
           "WITH ('connector' = 'kafka', 'format' = 'avro');")
    error = run(sql)
    got = [(where(error, i), d.message) for i, d in enumerate(error.diagnostics)]
    assert [pos for pos, _ in got] == [(1, 25), (1, 46), (2, 7), (2, 30)], got
    assert "duplicate column 'a'" in got[0][1]
    assert "watermark column 'b'" in got[1][1]
    assert "needs the property 'topic'" in got[2][1]
    assert "'format' = 'avro'" in got[3][1]


def test_every_error_of_one_select_list_is_reported() -> None:
    error = run("SELECT latncy_ms, costt, model_id + 1 FROM llm_requests;")
    got = [(where(error, i), d.message) for i, d in enumerate(error.diagnostics)]
    assert [pos for pos, _ in got] == [(1, 8), (1, 19), (1, 26)], got
    assert "latncy_ms" in got[0][1] and "costt" in got[1][1] and "'+'" in got[2][1]


def test_syntax_errors_in_several_statements_are_all_reported() -> None:
    sql = ("SELECT latency_ms + FROM llm_requests;\n"
           "SELET model_id FROM llm_requests;\n"
           "SELECT model_id FROM llm_requests WHERE latency_ms > 1 AND;\n")
    error = run(sql)
    assert [where(error, i) for i in range(len(error.diagnostics))] == [(1, 21), (2, 1), (3, 56)]
    assert {d.kind for d in error.diagnostics} == {S}


def test_every_error_of_one_query_is_reported() -> None:
    error = run("SELECT latncy_ms, UPER(model_id) FROM llm_requests WHERE reigon = 'x'\n"
                "GROUP BY modl_id;")
    got = [(where(error, i), d.message) for i, d in enumerate(error.diagnostics)]
    assert [pos for pos, _ in got] == [(1, 8), (1, 19), (1, 58), (2, 10)], got


def test_errors_before_an_unterminated_string_are_reported() -> None:
    sql = ("SELECT latency_ms + FROM llm_requests;\n"
           "SELET model_id FROM llm_requests;\n"
           "SELECT model_id FROM llm_requests WHERE region = 'us-east;\n")
    error = run(sql)
    assert [where(error, i) for i in range(len(error.diagnostics))] == [(1, 21), (2, 1), (3, 50)]


def test_a_broken_view_does_not_cascade() -> None:
    error = run("CREATE VIEW v AS SELECT modl_id FROM llm_requests;\nSELECT model_id FROM v;")
    assert [where(error, i) for i in range(len(error.diagnostics))] == [(1, 25)]


def test_errors_in_a_catalog_file_name_that_file(tmp_path: Path) -> None:
    catalog = tmp_path / "cat.sql"
    catalog.write_text("CREATE STREAM s (a INTT) WITH ('connector' = 'kafka');\n")
    with pytest.raises(SqlcError) as info:
        analyze(Source("q.sql", "SELECT a FROM s;"), [catalog])
    assert info.value.source is not None and info.value.source.path == str(catalog)
    assert info.value.render().startswith(f"{catalog}:1:")


# ---------------------------------------------------------------------- rendering


def test_caret_sits_under_the_offending_token() -> None:
    error = run("SELECT model_id,\n       AVG(latncy_ms) AS avg_latency\nFROM llm_requests\n"
                "GROUP BY model_id;")
    assert error.render().splitlines() == [
        "q.sql:2:12: error: BindError: unknown column 'latncy_ms'; did you mean 'latency_ms'?",
        "           AVG(latncy_ms) AS avg_latency",
        "               ^^^^^^^^^",
    ]


def test_json_diagnostics() -> None:
    error = run("SELECT latncy_ms FROM llm_requests;\nSELECT model_id FROM llm_request;")
    items = json.loads(error.to_json())
    assert [(i["line"], i["col"], i["end_line"], i["end_col"], i["kind"]) for i in items] == [
        (1, 8, 1, 17, B),
        (2, 22, 2, 33, B),
    ]
    assert items[0]["message"] == "unknown column 'latncy_ms'; did you mean 'latency_ms'?"
    assert all(i["path"] == "q.sql" and i["severity"] == "error" for i in items)


# ---------------------------------------------------------------------------- CLI


def sqlc(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("sqlc")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "compiler.cli"]
    env = {k: v for k, v in os.environ.items() if k != "SQLC_DEBUG"}
    return subprocess.run([*command, *args], check=False, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


BAD_FILE = ("SELECT latncy_ms FROM llm_requests;\n"
            "SELECT model_id\nFROM llm_requests\nWHERE latency_ms > ;\n")


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.sql"
    path.write_text(BAD_FILE)
    return path


@pytest.mark.parametrize("command", ["compile", "explain"])
def test_cli_user_error_exits_2_with_positions(command: str, bad_file: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "bad.py"
    extra = ["-o", str(out)] if command == "compile" else []
    result = sqlc(command, str(bad_file), "--catalog", str(CATALOG), *extra)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    assert f"{bad_file}:1:8: error: BindError: unknown column 'latncy_ms'; " \
           "did you mean 'latency_ms'?" in lines
    assert f"{bad_file}:4:18: error: SqlSyntaxError: Incomplete expression: '>' needs an " \
           "operand on its right" in lines
    assert "           ^^^^^^^^^" in lines  # under latncy_ms
    assert lines[-1] == "2 errors"
    assert not out.exists()


def test_cli_json(bad_file: Path) -> None:
    result = sqlc("--json", "compile", str(bad_file), "--catalog", str(CATALOG))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    items = json.loads(result.stdout)
    assert isinstance(items, list)
    assert [(i["line"], i["col"], i["kind"]) for i in items] == [(1, 8, B), (4, 18, S)]
    assert "latncy_ms" in items[0]["message"]
    assert all(i["path"] == str(bad_file) for i in items)


def test_cli_json_after_the_subcommand(bad_file: Path) -> None:
    result = sqlc("compile", str(bad_file), "--catalog", str(CATALOG), "--json")
    assert result.returncode == 2, result.stderr
    items = json.loads(result.stdout)
    assert [(i["line"], i["col"]) for i in items] == [(1, 8), (4, 18)]


def test_cli_error_in_a_catalog_file(tmp_path: Path) -> None:
    catalog = tmp_path / "cat.sql"
    catalog.write_text("CREATE STREAM s (a INT) WITH ('connector' = 'kafak', 'topic' = 't');\n")
    query = tmp_path / "q.sql"
    query.write_text("SELECT a FROM s;\n")
    result = sqlc("explain", str(query), "--catalog", str(catalog))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{catalog}:1:31: error: BindError: unknown connector 'kafak'" in result.stderr


def test_cli_reports_every_case_without_a_traceback(tmp_path: Path, capsys,
                                                    monkeypatch) -> None:
    """All passing cases through the CLI entry point: exit 2 and the expected header line."""
    from compiler.cli import main

    monkeypatch.delenv("SQLC_DEBUG", raising=False)
    problems = []
    for c in CASES:
        if c.xfail:
            continue
        path = tmp_path / f"{c.id}.sql"
        path.write_text(c.sql)
        code = main(["explain", str(path), "--catalog", str(CATALOG)])
        out, err = capsys.readouterr()
        header = f"{path}:{c.pos}: error: {c.kind}: "
        if code != 2 or "Traceback" in out + err or header not in err:
            problems.append(f"{c.id}: exit {code}\n{err}")
    assert not problems, "\n".join(problems)

"""Functions > System (Built-in) Functions
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/functions/systemfunctions/):
every example the page gives with its result ("E.g., X returns Y"), each as
``SELECT X AS v FROM One`` over a one-row table (the page's examples have no
FROM; sqlc's queries read a stream). The Table API spellings of an example
(``'foobar'.regexpReplace(...)``) are written in SQL (``REGEXP_REPLACE(...)``)."""

from compiler.errors import SqlSyntaxError, UnsupportedError
from tests.flink_docs.corpus import Doc, Page, Refusal

ONE = """
CREATE TABLE One (
  id INT
) WITH ('connector' = 'filesystem', 'path' = 'one.jsonl', 'format' = 'json');
"""

# (name, the example, what the page says it returns)
EXAMPLES = [
    ("between", "12 BETWEEN 15 AND 12", False),
    ("between_symmetric", "12 BETWEEN SYMMETRIC 15 AND 12", True),
    ("between_null_upper", "12 BETWEEN 10 AND NULL", None),
    ("between_null_lower", "12 BETWEEN NULL AND 10", False),
    ("between_symmetric_null", "12 BETWEEN SYMMETRIC NULL AND 12", None),
    ("not_between", "12 NOT BETWEEN 15 AND 12", True),
    ("not_between_symmetric", "12 NOT BETWEEN SYMMETRIC 15 AND 12", False),
    ("not_between_null_lower", "12 NOT BETWEEN NULL AND 15", None),
    ("not_between_null_upper", "12 NOT BETWEEN 15 AND NULL", True),
    ("not_between_symmetric_null", "12 NOT BETWEEN SYMMETRIC 12 AND NULL", None),
    ("is_distinct_from", "1 IS DISTINCT FROM NULL", True),
    ("null_is_distinct_from_null", "NULL IS DISTINCT FROM NULL", False),
    ("is_not_distinct_from", "1 IS NOT DISTINCT FROM NULL", False),
    ("in_list", "4 IN (1, 2, 3)", False),
    ("in_list_with_null", "1 IN (1, 2, NULL)", True),
    ("in_list_unknown", "4 IN (1, 2, NULL)", None),
    ("not_in_list", "4 NOT IN (1, 2, 3)", True),
    ("not_in_list_with_null", "1 NOT IN (1, 2, NULL)", False),
    ("bin_4", "BIN(4)", "100"),
    ("bin_12", "BIN(12)", "1100"),
    ("hex_20", "HEX(20)", "14"),
    ("hex_100", "HEX(100)", "64"),
    ("hex_string", "HEX('hello,world')", "68656C6C6F2C776F726C64"),
    ("truncate_2", "TRUNCATE(42.324, 2)", 42.32),
    ("truncate", "TRUNCATE(42.324)", 42.0),
    ("ltrim", "LTRIM(' This is a test String.')", "This is a test String."),
    ("rtrim", "RTRIM('This is a test String. ')", "This is a test String."),
    ("repeat", "REPEAT('This is a test String.', 2)",
     "This is a test String.This is a test String."),
    ("regexp_replace", "REGEXP_REPLACE('foobar', 'oo|ar', '')", "fb"),
    ("overlay", "OVERLAY('xxxxxtest' PLACING 'xxxx' FROM 6)", "xxxxxxxxx"),
    ("overlay_for", "OVERLAY('xxxxxtest' PLACING 'xxxx' FROM 6 FOR 2)", "xxxxxxxxxst"),
    ("replace", "REPLACE('hello world', 'world', 'flink')", "hello flink"),
    ("replace_non_overlapping", "REPLACE('ababab', 'abab', 'z')", "zab"),
    ("regexp_extract", "REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 2)", "bar"),
    ("concat", "CONCAT('AA', 'BB', 'CC')", "AABBCC"),
    ("concat_ws", "CONCAT_WS('~', 'AA', CAST(NULL AS STRING), 'BB', '', 'CC')", "AA~BB~~CC"),
    ("lpad", "LPAD('hi', 4, '??')", "??hi"),
    ("lpad_short", "LPAD('hi', 1, '??')", "h"),
    ("rpad", "RPAD('hi', 4, '??')", "hi??"),
    ("rpad_short", "RPAD('hi', 1, '??')", "h"),
    ("from_base64", "FROM_BASE64('aGVsbG8gd29ybGQ=')", "hello world"),
    ("to_base64", "TO_BASE64('hello world')", "aGVsbG8gd29ybGQ="),
    ("ascii", "ASCII('abc')", 97),
    ("ascii_null", "ASCII(CAST(NULL AS VARCHAR))", None),
    ("chr", "CHR(97)", "a"),
    ("chr_modulus", "CHR(353)", "a"),
    ("parse_url_host", "PARSE_URL('http://facebook.com/path1/p.php?k1=v1&k2=v2#Ref1', 'HOST')",
     "facebook.com"),
    ("parse_url_query_key",
     "PARSE_URL('http://facebook.com/path1/p.php?k1=v1&k2=v2#Ref1', 'QUERY', 'k1')", "v1"),
    ("extract_day", "EXTRACT(DAY FROM DATE '2006-06-05')", 5),
    ("year", "YEAR(DATE '1994-09-27')", 1994),
    ("quarter", "QUARTER(DATE '1994-09-27')", 3),
    ("month", "MONTH(DATE '1994-09-27')", 9),
    ("week", "WEEK(DATE '1994-09-27')", 39),
    ("dayofyear", "DAYOFYEAR(DATE '1994-09-27')", 270),
    ("dayofmonth", "DAYOFMONTH(DATE '1994-09-27')", 27),
    ("dayofweek", "DAYOFWEEK(DATE '1994-09-27')", 3),
    # the page's example for HOUR is this MINUTE example again
    ("minute", "MINUTE(TIMESTAMP '1994-09-27 13:14:15')", 14),
    ("second", "SECOND(TIMESTAMP '1994-09-27 13:14:15')", 15),
    ("floor_time", "FLOOR(TIME '12:44:31' TO MINUTE)", "12:44:00"),
    ("ceil_time", "CEIL(TIME '12:44:31' TO MINUTE)", "12:45:00"),
    ("overlaps", ("(TIME '2:55:00', INTERVAL '1' HOUR) OVERLAPS "
                  "(TIME '3:30:00', INTERVAL '2' HOUR)"), True),
    ("overlaps_not", ("(TIME '9:00:00', TIME '10:00:00') OVERLAPS (TIME '10:15:00', "
                      "INTERVAL '3' HOUR)"), False),
    ("convert_tz", "CONVERT_TZ('1970-01-01 00:00:00', 'UTC', 'America/Los_Angeles')",
     "1969-12-31 16:00:00"),
    ("from_unixtime", "FROM_UNIXTIME(44)", "1970-01-01 00:00:44"),
    ("nullif_equal", "NULLIF(5, 5)", None),
    ("nullif", "NULLIF(5, 0)", 5),
    ("coalesce", "COALESCE(NULL, 'default')", "default"),
    ("if", "IF(5 > 3, 5, 3)", 5),
    ("cast", "CAST('42' AS INT)", 42),
    ("try_cast", "TRY_CAST('42' AS INT)", 42),
    ("try_cast_error", "TRY_CAST('non-number' AS INT)", None),
    ("coalesce_try_cast", "COALESCE(TRY_CAST('non-number' AS INT), 0)", 0),
    ("is_json", "'1' IS JSON", True),
    ("is_json_string", "'\"abc\"' IS JSON", True),
    ("is_json_not", "'abc' IS JSON", False),
    ("is_json_scalar", "'1' IS JSON SCALAR", True),
    ("is_json_array_not", "'1' IS JSON ARRAY", False),
    ("is_json_object", "'{}' IS JSON OBJECT", True),
    ("json_exists", "JSON_EXISTS('{\"a\": true}', '$.a')", True),
    ("json_exists_not", "JSON_EXISTS('{\"a\": true}', '$.b')", False),
    ("json_exists_nested", "JSON_EXISTS('{\"a\": [{ \"b\": 1 }]}',\n  '$.a[0].b')", True),
    ("json_exists_true_on_error", "JSON_EXISTS('{\"a\": true}',\n  'strict $.b' TRUE ON ERROR)",
     True),
    ("json_string", "JSON_STRING(1)", "1"),
    ("json_string_true", "JSON_STRING(TRUE)", "true"),
    ("json_string_text", "JSON_STRING('Hello, World!')", '"Hello, World!"'),
    ("json_value", "JSON_VALUE('{\"a\": true}', '$.a')", "true"),
    ("json_value_boolean", "JSON_VALUE('{\"a\": true}', '$.a' RETURNING BOOLEAN)", True),
    ("json_value_default_on_empty",
     "JSON_VALUE('{\"a\": true}', 'lax $.b'\n    DEFAULT FALSE ON EMPTY)", "false"),
    ("json_value_double",
     "JSON_VALUE('{\"a.b\": [0.998,0.996]}','$.[\"a.b\"][0]' \n    RETURNING DOUBLE)", 0.998),
    ("json_query", "JSON_QUERY('{ \"a\": { \"b\": 1 } }', '$.a')", '{"b":1}'),
    ("json_query_array", "JSON_QUERY('[1, 2]', '$')", "[1,2]"),
    ("json_query_wrapper", "JSON_QUERY('[1, 2]', '$' WITH UNCONDITIONAL ARRAY WRAPPER)",
     "[[1,2]]"),
    ("json_query_returning_array",
     "JSON_QUERY('{\"a\":[{\"c\":\"c1\"},{\"c\":\"c2\"}]}',\n  'lax $.a[*].c' RETURNING ARRAY<STRING>)",
     ["c1", "c2"]),
    ("json_object", "JSON_OBJECT('K1' VALUE 'V1', 'K2' VALUE 'V2')", '{"K1":"V1","K2":"V2"}'),
    ("json_object_absent_on_null",
     "JSON_OBJECT(KEY 'K1' VALUE CAST(NULL AS STRING) ABSENT ON NULL)", "{}"),
    ("json_array", "JSON_ARRAY(1, '2')", '[1,"2"]'),
    ("json_array_nested", "JSON_ARRAY(JSON_ARRAY(1))", "[[1]]"),
]


def _missing(name: str) -> Refusal:
    return Refusal(UnsupportedError, f"{name} is a Flink built-in function sqlc does not "
                   "implement yet", f"{name} is not implemented")


REFUSED = {
}
WRONG: dict[str, str] = {}

PAGE = Page(
    name="functions",
    url="https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/functions/"
        "systemfunctions/",
    ddl=ONE,
    inputs={"One": """
+----+
| id |
+----+
|  1 |
+----+
"""},
    inputs_from="one row of ours (the examples read none)",
    docs=[Doc(name, f"SELECT {expr} AS v FROM One", hand=[(value,)], hand_from_page=True,
              refused=REFUSED.get(name), wrong=WRONG.get(name))
          for name, expr, value in EXAMPLES],
)

PAGES = [PAGE]

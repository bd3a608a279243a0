"""The function catalog: which SQL functions exist, what they accept and return.

Scalar functions map to a ``runtime_lib.functions`` function of the name in
``SCALARS[fn].runtime``; aggregate and window functions are listed with their
result-type rules. The analyzer asks ``check_scalar``/``aggregate_type`` and
reports the returned message at the call's position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from compiler import types as t
from compiler.types import SqlType


@dataclass(frozen=True)
class Scalar:
    runtime: str  # function name in runtime_lib.functions
    min_args: int
    max_args: int | None  # None = variadic
    result: Callable[[list[SqlType]], SqlType | str]  # a type, or an error message
    sql: str | None = None  # operator spelling for EXPLAIN, e.g. '>'
    # checks the arguments that are constants (NOT_CONSTANT where one is not):
    # (argument index, message) for a positioned error, e.g. a bad regex literal
    constants: Callable[[list[object]], tuple[int, str] | None] | None = None


# an argument that is not a constant, for Scalar.constants
NOT_CONSTANT = object()


def _nullable(args: list[SqlType]) -> bool:
    return any(a.nullable for a in args)


def _numeric_same(name: str) -> Callable[[list[SqlType]], SqlType | str]:
    def rule(args: list[SqlType]) -> SqlType | str:
        if not (args[0].is_numeric or args[0].is_null):
            return f"{name} takes a number, got {args[0].sql()}"
        base = args[0] if not args[0].is_null else t.DOUBLE
        return base.plain().with_nullable(_nullable(args))

    return rule


def _double(name: str, count: int = 1) -> Callable[[list[SqlType]], SqlType | str]:
    def rule(args: list[SqlType]) -> SqlType | str:
        for a in args[:count]:
            if not (a.is_numeric or a.is_null):
                return f"{name} takes numbers, got {a.sql()}"
        return t.DOUBLE.with_nullable(_nullable(args))

    return rule


def _string_to(result: SqlType, name: str, string_args: int = 1,
               int_args: tuple[int, ...] = ()) -> Callable[[list[SqlType]], SqlType | str]:
    def rule(args: list[SqlType]) -> SqlType | str:
        for i, a in enumerate(args):
            if i < string_args and not (a.is_string or a.is_null):
                return f"{name} takes a string as argument {i + 1}, got {a.sql()}"
            if i in int_args and not (a.is_integer or a.is_null):
                return f"{name} takes an integer as argument {i + 1}, got {a.sql()}"
        return result.with_nullable(_nullable(args))

    return rule


def _concat(args: list[SqlType]) -> SqlType | str:
    for i, a in enumerate(args):
        if not (a.is_string or a.is_null):
            return (
                f"CONCAT takes strings, argument {i + 1} is {a.sql()}; "
                f"use CAST(... AS VARCHAR)"
            )
    return t.VARCHAR.with_nullable(_nullable(args))


def _concat_ws(args: list[SqlType]) -> SqlType | str:
    message = _concat(args)
    if isinstance(message, str):
        return message.replace("CONCAT", "CONCAT_WS")
    return t.VARCHAR.with_nullable(args[0].nullable)


def _coalesce(args: list[SqlType]) -> SqlType | str:
    result = args[0]
    for a in args[1:]:
        common = t.common_type(result, a)
        if common is None:
            return f"COALESCE arguments have incompatible types {result.sql()} and {a.sql()}"
        result = common
    return result.plain().with_nullable(all(a.nullable for a in args))


def _nullif(args: list[SqlType]) -> SqlType | str:
    if t.common_type(args[0], args[1]) is None:
        return f"NULLIF compares {args[0].sql()} with {args[1].sql()}"
    return args[0].plain().with_nullable(True)


def _greatest(args: list[SqlType]) -> SqlType | str:
    result = _coalesce(args)
    if isinstance(result, str):
        return result.replace("COALESCE", "GREATEST/LEAST")
    return result.with_nullable(_nullable(args))


def _to_timestamp(args: list[SqlType]) -> SqlType | str:
    a = args[0]
    if not (a.is_integer or a.is_string or a.is_null):
        return f"TO_TIMESTAMP takes epoch milliseconds (BIGINT) or a string, got {a.sql()}"
    return t.TIMESTAMP.with_nullable(_nullable(args))


def _to_timestamp_ltz(args: list[SqlType]) -> SqlType | str:
    if not (args[0].is_numeric or args[0].is_null):
        return f"TO_TIMESTAMP_LTZ takes an epoch number, got {args[0].sql()}"
    return t.TIMESTAMP_LTZ.with_nullable(args[0].nullable)


def _temporal_arg(name: str, result: SqlType, index: int = 0
                  ) -> Callable[[list[SqlType]], SqlType | str]:
    def rule(args: list[SqlType]) -> SqlType | str:
        a = args[index]
        if not (a.name in t.TEMPORALS or a.is_null):
            return f"{name} takes a TIMESTAMP, got {a.sql()}"
        return result.with_nullable(_nullable(args))

    return rule


def _now(args: list[SqlType]) -> SqlType:
    return t.TIMESTAMP_LTZ.with_nullable(False)


def _proctime(args: list[SqlType]) -> SqlType:
    return SqlType("TIMESTAMP_LTZ", False, (3,), time_attribute="PROCTIME")


def _distinct(args: list[SqlType]) -> SqlType | str:
    if not t.is_comparable(args[0], args[1]):
        return f"IS DISTINCT FROM compares {args[0].sql()} with {args[1].sql()}"
    return t.BOOLEAN.with_nullable(False)


def _mod(args: list[SqlType]) -> SqlType | str:
    for a in args:
        if not (a.is_integer or a.is_null):
            return f"MOD takes integers, got {a.sql()}"
    result = t.arithmetic_type(args[0], args[1], "%")
    return result if result is not None else "MOD takes integers"


def _round(args: list[SqlType]) -> SqlType | str:
    if not (args[0].is_numeric or args[0].is_null):
        return f"ROUND takes a number, got {args[0].sql()}"
    if len(args) > 1 and not (args[1].is_integer):
        return "ROUND takes an integer number of decimal places"
    return args[0].plain().with_nullable(_nullable(args))


def _regexp_extract(args: list[SqlType]) -> SqlType | str:
    for i in (0, 1):
        if not (args[i].is_string or args[i].is_null):
            return f"REGEXP_EXTRACT takes a string as argument {i + 1}, got {args[i].sql()}"
    if len(args) == 3 and not args[2].is_integer:
        return "REGEXP_EXTRACT takes an integer group index"
    return t.VARCHAR.with_nullable(True)


def _split_index(args: list[SqlType]) -> SqlType | str:
    if not (args[0].is_string and args[1].is_string):
        return "SPLIT_INDEX takes a string and a separator string"
    if not args[2].is_integer:
        return "SPLIT_INDEX takes an integer index"
    return t.VARCHAR.with_nullable(True)


def _split(args: list[SqlType]) -> SqlType | str:
    if not all(a.is_string or a.is_null for a in args):
        return "SPLIT takes a string and a separator string"
    return SqlType("ARRAY", _nullable(args), children=(t.VARCHAR.with_nullable(False),))


def _json_string(args: list[SqlType]) -> SqlType | str:
    a = args[0]
    if not (a.is_string or a.is_numeric or a.name == "BOOLEAN" or a.is_null):
        return f"JSON_STRING takes a string, number or boolean here, got {a.sql()}"
    return t.VARCHAR.with_nullable(a.nullable)


def _json_constructor(name: str, pairs: bool) -> Callable[[list[SqlType]], SqlType | str]:
    """JSON_OBJECT / JSON_ARRAY: the first argument is the NULL ON NULL mode;
    values are strings, numbers or booleans (keys of JSON_OBJECT: strings)."""

    def rule(args: list[SqlType]) -> SqlType | str:
        values = args[1:]
        if pairs and len(values) % 2:
            return f"{name} takes KEY k VALUE v pairs"
        for i, a in enumerate(values):
            if pairs and i % 2 == 0:
                if not a.is_string:
                    return f"{name} keys are strings, got {a.sql()}"
            elif not (a.is_string or a.is_numeric or a.name == "BOOLEAN" or a.is_null):
                return (f"{name} values are strings, numbers or booleans here, got {a.sql()}; "
                        "CAST it to VARCHAR")
        nullable = pairs and any(a.nullable for a in values[0::2])
        return t.VARCHAR.with_nullable(nullable)

    return rule


def _current_watermark(args: list[SqlType]) -> SqlType | str:
    if args[0].time_attribute != "ROWTIME":
        return ("CURRENT_WATERMARK takes an event-time attribute (a column with a "
                f"WATERMARK), got {args[0].sql()}")
    return t.TIMESTAMP.with_nullable(True)


def _timestampdiff(args: list[SqlType]) -> SqlType | str:
    for a in args[1:]:
        if not (a.name in t.TEMPORALS or a.is_null):
            return f"TIMESTAMPDIFF compares timestamps, got {a.sql()}"
    return t.INT.with_nullable(_nullable(args[1:]))


def _regex_literals(name: str, *indexes: int) -> Callable[[list[object]], tuple[int, str] | None]:
    def check(values: list[object]) -> tuple[int, str] | None:
        from runtime_lib.functions.strings import regex_error

        for i in indexes:
            if i < len(values) and isinstance(values[i], str):
                error = regex_error(values[i])  # type: ignore[arg-type]
                if error is not None:
                    return i, f"{name}: invalid regular expression {values[i]!r} ({error})"
        return None

    return check


def _may_be_null(rule: Callable[[list[SqlType]], SqlType | str]
                 ) -> Callable[[list[SqlType]], SqlType | str]:
    """The rule's type, nullable: the function can give NULL for non-NULL
    arguments (an invalid regex that is not a literal, a bad URL)."""

    def nullable(args: list[SqlType]) -> SqlType | str:
        result = rule(args)
        return result if isinstance(result, str) else result.with_nullable(True)

    return nullable


def _hex(args: list[SqlType]) -> SqlType | str:
    if not (args[0].is_integer or args[0].is_string or args[0].is_null):
        return f"HEX takes an integer or a string, got {args[0].sql()}"
    return t.VARCHAR.with_nullable(_nullable(args))


def _pad(name: str) -> Callable[[list[SqlType]], SqlType | str]:
    def rule(args: list[SqlType]) -> SqlType | str:
        result = _string_to(t.VARCHAR, name, 1, (1,))(args)
        if isinstance(result, str):
            return result
        if not (args[2].is_string or args[2].is_null):
            return f"{name} takes a string as argument 3, got {args[2].sql()}"
        return result.with_nullable(True)  # a negative length or an empty pad is NULL

    return rule


def _parse_url_constants(values: list[object]) -> tuple[int, str] | None:
    from runtime_lib.functions.strings import URL_PARTS

    part = values[1]
    if isinstance(part, str) and part not in URL_PARTS:
        return 1, f"PARSE_URL part must be one of {', '.join(URL_PARTS)}; got {part!r}"
    if len(values) == 3 and isinstance(part, str) and part != "QUERY":
        return 1, "PARSE_URL takes a key only with the part 'QUERY'"
    return None


def _str_to_map(args: list[SqlType]) -> SqlType | str:
    result = _string_to(t.VARCHAR, "STR_TO_MAP", 3)(args)
    if isinstance(result, str):
        return result
    return SqlType("MAP", _nullable(args), children=(t.VARCHAR, t.VARCHAR))


def _element_at(args: list[SqlType]) -> SqlType | str:
    """``arr[i]`` of ARRAY<T> is T, ``m[k]`` of MAP<K, V> is V; NULL when absent."""
    container, key = args
    if container.name == "ARRAY" and container.children:
        if not (key.is_integer or key.is_null):
            return f"an ARRAY index is an integer (from 1), got {key.sql()}"
        return container.children[0].with_nullable(True)
    if container.name == "MAP" and len(container.children) == 2:
        if t.common_type(container.children[0], key) is None:
            return (f"the MAP's keys are {container.children[0].sql()}, the key given is "
                    f"{key.sql()}")
        return container.children[1].with_nullable(True)
    return f"[...] and ELEMENT_AT take an ARRAY or a MAP, got {container.sql()}"


def _cardinality(args: list[SqlType]) -> SqlType | str:
    if args[0].name not in ("ARRAY", "MAP") and not args[0].is_null:
        return f"CARDINALITY takes an ARRAY or a MAP, got {args[0].sql()}"
    return t.INT.with_nullable(args[0].nullable)


def _ifnull(args: list[SqlType]) -> SqlType | str:
    common = t.common_type(args[0], args[1])
    if common is None:
        return f"IFNULL arguments have incompatible types {args[0].sql()} and {args[1].sql()}"
    if common.is_null:
        common = t.VARCHAR
    return common.plain().with_nullable(args[1].nullable)


def _truncate(args: list[SqlType]) -> SqlType | str:
    if not (args[0].is_numeric or args[0].is_null):
        return f"TRUNCATE takes a number, got {args[0].sql()}"
    if len(args) > 1 and not (args[1].is_integer or args[1].is_null):
        return f"TRUNCATE takes an integer number of decimal places, got {args[1].sql()}"
    base = args[0] if not args[0].is_null else t.DOUBLE
    return base.plain().with_nullable(_nullable(args))


def _pattern_literals(name: str, *indexes: int) -> Callable[[list[object]], tuple[int, str] | None]:
    def check(values: list[object]) -> tuple[int, str] | None:
        from runtime_lib.date_patterns import date_pattern_error

        for i in indexes:
            if i < len(values) and isinstance(values[i], str):
                error = date_pattern_error(values[i])  # type: ignore[arg-type]
                if error is not None:
                    return i, f"{name}: {error}"
        return None

    return check


def _zone_literals(values: list[object]) -> tuple[int, str] | None:
    from runtime_lib.functions.time import time_zone

    for i in (1, 2):
        if isinstance(values[i], str) and time_zone(values[i]) is None:  # type: ignore[arg-type]
            return i, (f"CONVERT_TZ: unknown time zone {values[i]!r}; write a region such as "
                       "'America/Los_Angeles', 'UTC' or 'GMT-08:00'")
    return None


def _from_unixtime(args: list[SqlType]) -> SqlType | str:
    if not (args[0].is_integer or args[0].is_null):
        return f"FROM_UNIXTIME takes epoch seconds (an integer), got {args[0].sql()}"
    if len(args) > 1 and not (args[1].is_string or args[1].is_null):
        return f"FROM_UNIXTIME takes a format string, got {args[1].sql()}"
    return t.VARCHAR.with_nullable(_nullable(args))


def _timestampadd(args: list[SqlType]) -> SqlType | str:
    if not (args[1].is_integer or args[1].is_null):
        return f"TIMESTAMPADD adds an integer number of units, got {args[1].sql()}"
    if not (args[2].is_timestamp or args[2].is_null):
        return f"TIMESTAMPADD takes a TIMESTAMP, got {args[2].sql()}"
    base = args[2] if args[2].is_timestamp else t.TIMESTAMP
    return base.plain().with_nullable(_nullable(args[1:]))


def _json_path_literal(name: str) -> Callable[[list[object]], tuple[int, str] | None]:
    def check(values: list[object]) -> tuple[int, str] | None:
        from runtime_lib.functions.json import json_path_error

        if isinstance(values[1], str):
            error = json_path_error(values[1])
            if error is not None:
                return 1, f"{name}: {error}"
        elif values[1] is NOT_CONSTANT:
            return 1, f"{name} takes its JSON path as a string literal"
        return None

    return check


# the types JSON_VALUE ... RETURNING can give (Flink: VARCHAR, BOOLEAN, INTEGER, DOUBLE)
JSON_RETURNING = ("VARCHAR", "CHAR", "BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT",
                  "DOUBLE")


# The unit (first argument) of DATE_TRUNC, TIMESTAMPDIFF and TIMESTAMPADD: a
# keyword or string literal, checked here so that a column or NULL there is a
# compile error, not a failure at run time. Plurals and SQL_TSI_DAY as the
# runtime reads them (runtime_lib.functions.time._unit).
TIME_UNITS = ("YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND", "MILLISECOND")
UNIT_FUNCTIONS = ("DATE_TRUNC", "TIMESTAMPDIFF", "TIMESTAMPADD")


def time_unit(text: str) -> str | None:
    """The unit ``text`` names (``'hours'`` -> ``HOUR``), or None."""
    unit = text.upper()
    unit = {"SQL_TSI_DAY": "DAY", "DAYOFMONTH": "DAY"}.get(unit, unit)
    unit = unit[:-1] if unit.endswith("S") and unit[:-1] in TIME_UNITS else unit
    return unit if unit in TIME_UNITS else None


SCALARS: dict[str, Scalar] = {
    # string
    "UPPER": Scalar("upper", 1, 1, _string_to(t.VARCHAR, "UPPER")),
    "LOWER": Scalar("lower", 1, 1, _string_to(t.VARCHAR, "LOWER")),
    "TRIM": Scalar("trim", 1, 2, _string_to(t.VARCHAR, "TRIM", 2)),
    "LTRIM": Scalar("ltrim", 1, 2, _string_to(t.VARCHAR, "LTRIM", 2)),
    "RTRIM": Scalar("rtrim", 1, 2, _string_to(t.VARCHAR, "RTRIM", 2)),
    "SUBSTRING": Scalar("substring", 2, 3, _string_to(t.VARCHAR, "SUBSTRING", 1, (1, 2))),
    "CONCAT": Scalar("concat", 1, None, _concat),
    "CONCAT_WS": Scalar("concat_ws", 2, None, _concat_ws),
    "LENGTH": Scalar("length", 1, 1, _string_to(t.INT, "LENGTH")),
    "CHAR_LENGTH": Scalar("char_length", 1, 1, _string_to(t.INT, "CHAR_LENGTH")),
    "CHARACTER_LENGTH": Scalar("char_length", 1, 1, _string_to(t.INT, "CHARACTER_LENGTH")),
    "REPLACE": Scalar("replace", 3, 3, _string_to(t.VARCHAR, "REPLACE", 3)),
    "POSITION": Scalar("position", 2, 2, _string_to(t.INT, "POSITION", 2)),
    "SUBSTR": Scalar("substring", 2, 3, _string_to(t.VARCHAR, "SUBSTR", 1, (1, 2))),
    "REGEXP_EXTRACT": Scalar("regexp_extract", 2, 3, _regexp_extract,
                             constants=_regex_literals("REGEXP_EXTRACT", 1)),
    "REGEXP_REPLACE": Scalar("regexp_replace", 3, 3,
                             _may_be_null(_string_to(t.VARCHAR, "REGEXP_REPLACE", 3)),
                             constants=_regex_literals("REGEXP_REPLACE", 1)),
    "REGEXP": Scalar("regexp", 2, 2, _may_be_null(_string_to(t.BOOLEAN, "REGEXP", 2)),
                     constants=_regex_literals("REGEXP", 1)),
    "SPLIT_INDEX": Scalar("split_index", 3, 3, _split_index),
    "SPLIT": Scalar("split", 2, 2, _split),
    "CURRENT_WATERMARK": Scalar("current_watermark", 1, 1, _current_watermark),
    "LOCATE": Scalar("locate", 2, 3, _string_to(t.INT, "LOCATE", 2, (2,))),
    "LPAD": Scalar("lpad", 3, 3, _pad("LPAD")),
    "RPAD": Scalar("rpad", 3, 3, _pad("RPAD")),
    "INITCAP": Scalar("initcap", 1, 1, _string_to(t.VARCHAR, "INITCAP")),
    "REVERSE": Scalar("reverse", 1, 1, _string_to(t.VARCHAR, "REVERSE")),
    "REPEAT": Scalar("repeat", 2, 2, _string_to(t.VARCHAR, "REPEAT", 1, (1,))),
    # OVERLAY(s PLACING r FROM start [FOR length])
    "OVERLAY": Scalar("overlay", 3, 4, _string_to(t.VARCHAR, "OVERLAY", 2, (2, 3))),
    "ASCII": Scalar("ascii", 1, 1, _string_to(t.INT, "ASCII")),
    "CHR": Scalar("chr_", 1, 1, _string_to(t.VARCHAR, "CHR", 0, (0,))),
    "TO_BASE64": Scalar("to_base64", 1, 1, _string_to(t.VARCHAR, "TO_BASE64")),
    "FROM_BASE64": Scalar("from_base64", 1, 1,
                          _may_be_null(_string_to(t.VARCHAR, "FROM_BASE64"))),
    "BIN": Scalar("bin_", 1, 1, _string_to(t.VARCHAR, "BIN", 0, (0,))),
    "HEX": Scalar("hex_", 1, 1, _hex),
    "PARSE_URL": Scalar("parse_url", 2, 3, _may_be_null(_string_to(t.VARCHAR, "PARSE_URL", 3)),
                           constants=_parse_url_constants),
    "STR_TO_MAP": Scalar("str_to_map", 1, 3, _str_to_map,
                         constants=_regex_literals("STR_TO_MAP", 1, 2)),
    "MD5": Scalar("md5", 1, 1, _string_to(t.VARCHAR, "MD5")),
    "SHA256": Scalar("sha256", 1, 1, _string_to(t.VARCHAR, "SHA256")),
    # ARRAY and MAP: arr[i] and m['key'] are ELEMENT_AT
    "ELEMENT_AT": Scalar("element_at", 2, 2, _element_at),
    "CARDINALITY": Scalar("cardinality", 1, 1, _cardinality),
    "UUID": Scalar("uuid", 0, 0, lambda a: t.VARCHAR.with_nullable(False)),
    # JSON; JSON_VALUE's clauses are bound by the analyzer (json, path,
    # returning type name, ON EMPTY kind, default, ON ERROR kind, default)
    "JSON_VALUE": Scalar("json_value", 7, 7, lambda a: t.VARCHAR.with_nullable(True)),
    # JSON_EXISTS(json, path [, ON ERROR word]) and JSON_QUERY(json, path [,
    # wrapper [, ON EMPTY word [, ON ERROR word]]]): bound by the analyzer
    "JSON_EXISTS": Scalar("json_exists", 2, 3, _string_to(t.BOOLEAN, "JSON_EXISTS", 2),
                          constants=_json_path_literal("JSON_EXISTS")),
    "JSON_OBJECT": Scalar("json_object", 1, None, _json_constructor("JSON_OBJECT", True)),
    "JSON_ARRAY": Scalar("json_array", 1, None, _json_constructor("JSON_ARRAY", False)),
    "JSON_STRING": Scalar("json_string", 1, 1, _json_string),
    "JSON_QUERY": Scalar("json_query", 2, 6, _may_be_null(_string_to(t.VARCHAR, "JSON_QUERY", 2)),
                         constants=_json_path_literal("JSON_QUERY")),
    "IS JSON": Scalar("is_json", 2, 2, lambda a: "IS JSON takes a string" if not (
        a[0].is_string or a[0].is_null) else t.BOOLEAN.with_nullable(False)),
    # numeric
    "ABS": Scalar("abs", 1, 1, _numeric_same("ABS")),
    "ROUND": Scalar("round", 1, 2, _round),
    "CEIL": Scalar("ceil", 1, 1, _numeric_same("CEIL")),
    "FLOOR": Scalar("floor", 1, 1, _numeric_same("FLOOR")),
    "MOD": Scalar("mod", 2, 2, _mod),
    "POWER": Scalar("power", 2, 2, _double("POWER", 2)),
    "SQRT": Scalar("sqrt", 1, 1, _double("SQRT")),
    "LN": Scalar("ln", 1, 1, _double("LN")),
    "LOG10": Scalar("log10", 1, 1, _double("LOG10")),
    "EXP": Scalar("exp", 1, 1, _double("EXP")),
    "SIGN": Scalar("sign", 1, 1, _numeric_same("SIGN")),
    "TRUNCATE": Scalar("truncate", 1, 2, _truncate),
    # null-aware comparison (IS [NOT] DISTINCT FROM)
    "IS DISTINCT FROM": Scalar("is_distinct_from", 2, 2, _distinct),
    "IS NOT DISTINCT FROM": Scalar("is_not_distinct_from", 2, 2, _distinct),
    # null handling
    "COALESCE": Scalar("coalesce", 1, None, _coalesce),
    "NULLIF": Scalar("nullif", 2, 2, _nullif),
    "IFNULL": Scalar("ifnull", 2, 2, _ifnull),
    "GREATEST": Scalar("greatest", 1, None, _greatest),
    "LEAST": Scalar("least", 1, None, _greatest),
    # time
    "NOW": Scalar("now", 0, 0, _now),
    "CURRENT_TIMESTAMP": Scalar("current_timestamp", 0, 0, _now),
    "LOCALTIMESTAMP": Scalar("current_timestamp", 0, 0, _now),
    "CURRENT_DATE": Scalar("current_date", 0, 0, lambda a: t.DATE.with_nullable(False)),
    "PROCTIME": Scalar("now", 0, 0, _proctime),
    "TO_TIMESTAMP": Scalar("to_timestamp", 1, 2, _to_timestamp),
    "TO_TIMESTAMP_LTZ": Scalar("to_timestamp_ltz", 1, 2, _to_timestamp_ltz),
    "DATE_FORMAT": Scalar("date_format", 2, 2, _temporal_arg("DATE_FORMAT", t.VARCHAR),
                          constants=_pattern_literals("DATE_FORMAT", 1)),
    "FROM_UNIXTIME": Scalar("from_unixtime", 1, 2, _from_unixtime,
                            constants=_pattern_literals("FROM_UNIXTIME", 1)),
    # UNIX_TIMESTAMP() is bound as UNIX_TIMESTAMP(NOW())
    "UNIX_TIMESTAMP": Scalar("unix_timestamp", 1, 2, _string_to(t.BIGINT, "UNIX_TIMESTAMP", 2),
                             constants=_pattern_literals("UNIX_TIMESTAMP", 1)),
    "TO_DATE": Scalar("to_date", 1, 2, _may_be_null(_string_to(t.DATE, "TO_DATE", 2)),
                      constants=_pattern_literals("TO_DATE", 1)),
    "CONVERT_TZ": Scalar("convert_tz", 3, 3, _may_be_null(_string_to(t.VARCHAR, "CONVERT_TZ", 3)),
                         constants=_zone_literals),
    "TIMESTAMPADD": Scalar("timestampadd", 3, 3, _timestampadd),  # unit: time_unit()
    # FLOOR(ts TO unit), CEIL(ts TO unit): (unit, ts, type of ts), bound by the analyzer
    "FLOOR TO": Scalar("floor_to", 3, 3, lambda a: a[1].plain().with_nullable(a[1].nullable)),
    "CEIL TO": Scalar("ceil_to", 3, 3, lambda a: a[1].plain().with_nullable(a[1].nullable)),
    "DATE_TRUNC": Scalar("date_trunc", 2, 2, _temporal_arg("DATE_TRUNC", t.TIMESTAMP, 1)),
    "TIMESTAMPDIFF": Scalar("timestampdiff", 3, 3, _timestampdiff),
}

# Calls that read the clock or a random source: never folded or moved, and
# called with the batch's row count when they take no arguments.
NONDETERMINISTIC = frozenset(
    {"NOW", "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "CURRENT_DATE", "PROCTIME", "UUID"}
)

# Flink's shorthands for EXTRACT: HOUR(ts) is EXTRACT(HOUR FROM ts)
EXTRACT_SHORTHANDS = {
    "YEAR": "YEAR", "QUARTER": "QUARTER", "MONTH": "MONTH", "WEEK": "WEEK",
    "DAYOFYEAR": "DAYOFYEAR", "DAYOFMONTH": "DAY", "DAYOFWEEK": "DAYOFWEEK", "HOUR": "HOUR",
    "MINUTE": "MINUTE", "SECOND": "SECOND",
}  # fmt: skip
FLOOR_CEIL_UNITS = ("MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER",
                    "YEAR")

# Operators and special forms the analyzer builds directly (Call.fn values).
OPERATORS = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "%": "mod",
    "=": "eq",
    "<>": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
    "AND": "and_",
    "OR": "or_",
    "NOT": "not_",
    "NEG": "neg",
    "||": "concat",
    "IS NULL": "is_null",
    "IS NOT NULL": "is_not_null",
    "IS TRUE": "is_true",
    "IS FALSE": "is_false",
    "IS NOT TRUE": "is_not_true",
    "IS NOT FALSE": "is_not_false",
    "IN": "in_list",
    "NOT IN": "not_in_list",
    "BETWEEN": "between",
    "NOT BETWEEN": "not_between",
    "LIKE": "like",
    "NOT LIKE": "not_like",
    "CASE": "case_when",
    "CAST": "cast",
    "TRY_CAST": "try_cast",
    "EXTRACT": "extract",
    # a JSON_ARRAY / JSON_OBJECT value that is a JSON constructor's result
    # (JSON_ARRAY(JSON_ARRAY(1))): inserted as JSON, not as a string
    "FORMAT JSON": "format_json",
    # (start, end) OVERLAPS (start, end); an INTERVAL end is made start + interval
    "OVERLAPS": "overlaps",
}

AGGREGATES = {
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "STDDEV",
    "STDDEV_SAMP",
    "STDDEV_POP",
    "VARIANCE",
    "VAR_SAMP",
    "VAR_POP",
    "FIRST_VALUE",
    "LAST_VALUE",
    "CORR",
    "PERCENTILE_CONT",
    "PERCENTILE_DISC",
    "PERCENTILE",
    "APPROX_PERCENTILE",
    "LISTAGG",
}

WINDOW_ONLY = {"ROW_NUMBER", "RANK", "DENSE_RANK", "LAG", "LEAD"}

# Legacy group-window functions: GROUP BY TUMBLE(ts, size) and friends.
GROUP_WINDOWS = {"TUMBLE": 2, "HOP": 3, "SESSION": 2}
GROUP_WINDOW_PROPERTIES = {
    "TUMBLE_START": "window_start",
    "TUMBLE_END": "window_end",
    "TUMBLE_ROWTIME": "window_time",
    "HOP_START": "window_start",
    "HOP_END": "window_end",
    "HOP_ROWTIME": "window_time",
    "SESSION_START": "window_start",
    "SESSION_END": "window_end",
    "SESSION_ROWTIME": "window_time",
}

KNOWN_FUNCTIONS = sorted(
    set(SCALARS) | AGGREGATES | WINDOW_ONLY | set(GROUP_WINDOWS) | set(GROUP_WINDOW_PROPERTIES)
    | set(EXTRACT_SHORTHANDS) | {"CAST", "TRY_CAST", "EXTRACT", "IF"}
)

# Flink's built-in functions (its "System (Built-in) Functions" page), so that
# one sqlc lacks is named as such rather than as an unknown name, a typo
FLINK_BUILTINS = frozenset("""
ABS ACOS ARRAY_CONTAINS ARRAY_DISTINCT ARRAY_POSITION ARRAY_REMOVE ARRAY_REVERSE ASCII ASIN
ATAN ATAN2 AVG BIN CARDINALITY CEIL CEILING CHAR_LENGTH CHARACTER_LENGTH CHR COALESCE COLLECT
CONCAT CONCAT_WS CONVERT_TZ COS COSH COT COUNT CUME_DIST CURRENT_DATABASE CURRENT_DATE
CURRENT_ROW_TIMESTAMP CURRENT_TIME CURRENT_TIMESTAMP CURRENT_WATERMARK DATE_FORMAT DAYOFMONTH
DAYOFWEEK DAYOFYEAR DECODE DEGREES DENSE_RANK E ELEMENT ENCODE EXP FIRST_VALUE FLOOR
FROM_BASE64 FROM_UNIXTIME GREATEST GROUP_ID GROUPING GROUPING_ID HEX HOUR IFNULL INITCAP INSTR
IS_ALPHA IS_DECIMAL IS_DIGIT JSON_ARRAY JSON_ARRAYAGG JSON_EXISTS JSON_OBJECT JSON_OBJECTAGG
JSON_QUERY JSON_STRING JSON_VALUE LAG LAST_VALUE LEAD LEAST LEFT LISTAGG LN LOCALTIME
LOCALTIMESTAMP LOCATE LOG LOG10 LOG2 LOWER LPAD LTRIM MAP_FROM_ARRAYS MAP_KEYS MAP_VALUES MAX
MD5 MIN MINUTE MONTH NOW NTILE NULLIF OVERLAY PARSE_URL PERCENT_RANK PI POSITION POWER QUARTER
RADIANS RAND RAND_INTEGER RANK REGEXP REGEXP_EXTRACT REGEXP_REPLACE REPEAT REPLACE REVERSE
RIGHT ROUND ROW_NUMBER RPAD RTRIM SECOND SHA1 SHA2 SHA224 SHA256 SHA384 SHA512 SIGN SIN SINH
SPLIT_INDEX SQRT STDDEV_POP STDDEV_SAMP STR_TO_MAP SUBSTR SUBSTRING SUM TAN TANH TIMESTAMPADD
TIMESTAMPDIFF TO_BASE64 TO_DATE TO_TIMESTAMP TO_TIMESTAMP_LTZ TRIM TRUNCATE TYPEOF UNIX_TIMESTAMP
UPPER UUID VAR_POP VAR_SAMP VARIANCE WEEK YEAR
""".split())
NOT_IMPLEMENTED = FLINK_BUILTINS - set(KNOWN_FUNCTIONS)


def aggregate_type(fn: str, args: list[SqlType]) -> SqlType | str:
    """Result type of an aggregate (deviations from Flink: docs/differences-from-flink.md)."""
    if fn == "COUNT":
        return t.BIGINT.with_nullable(False)
    if not args:
        return f"{fn} needs an argument"
    a = args[0]
    if fn == "LISTAGG":  # Flink's: strings only, joined into a STRING
        if not (a.is_string or a.is_null) or any(not (b.is_string or b.is_null)
                                                 for b in args[1:]):
            return (f"LISTAGG takes a string and a separator string, got "
                    f"{', '.join(b.sql() for b in args)}; CAST the value AS STRING")
        return t.VARCHAR.with_nullable(True)
    if fn in ("MIN", "MAX", "FIRST_VALUE", "LAST_VALUE"):
        if a.name in ("ARRAY", "MAP", "ROW"):
            return f"{fn} does not take {a.sql()}"
        return a.plain().with_nullable(True)
    if not (a.is_numeric or a.is_null):
        return f"{fn} takes a number, got {a.sql()}"
    if fn == "SUM":
        return (t.BIGINT if a.is_integer else t.DOUBLE).with_nullable(True)
    if fn == "CORR":
        if len(args) != 2 or not (args[1].is_numeric or args[1].is_null):
            return "CORR takes two numbers"
    return t.DOUBLE.with_nullable(True)


def render_call(fn: str, args: list[str], typ: SqlType) -> str:
    """EXPLAIN text for a bound call."""
    infix = {"+", "-", "*", "/", "%", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "||"}
    if fn in infix:
        return f"({args[0]} {fn} {args[1]})"
    if fn == "NOT":
        return f"NOT {args[0]}"
    if fn == "NEG":
        return f"-{args[0]}"
    if fn in ("IS DISTINCT FROM", "IS NOT DISTINCT FROM"):
        return f"({args[0]} {fn} {args[1]})"
    if fn == "IS JSON":
        return f"{args[0]} IS JSON {args[1].strip(chr(39))}"
    if fn.startswith("IS "):
        return f"{args[0]} {fn}"
    if fn in ("IN", "NOT IN"):
        return f"{args[0]} {fn} ({', '.join(args[1:])})"
    if fn in ("BETWEEN", "NOT BETWEEN"):
        return f"{args[0]} {fn} {args[1]} AND {args[2]}"
    if fn in ("LIKE", "NOT LIKE"):
        return f"{args[0]} {fn} {args[1]}"
    if fn in ("CAST", "TRY_CAST"):
        return f"{fn}({args[0]} AS {typ.sql()})"
    if fn == "CASE":
        parts = [f"WHEN {c} THEN {v}" for c, v in zip(args[0:-1:2], args[1:-1:2])]
        return "CASE " + " ".join(parts) + f" ELSE {args[-1]} END"
    if fn == "EXTRACT":
        return f"EXTRACT({args[0].strip(chr(39))} FROM {args[1]})"
    if fn == "JSON_VALUE":
        clauses = [f"RETURNING {args[2].strip(chr(39))}"]
        for kind, default, on in ((args[3], args[4], "EMPTY"), (args[5], args[6], "ERROR")):
            kind = kind.strip(chr(39))
            clauses.append(f"{'DEFAULT ' + default if kind == 'DEFAULT' else kind} ON {on}")
        return f"JSON_VALUE({args[0]}, {args[1]} {' '.join(clauses)})"
    if fn == "OVERLAY":
        return (f"OVERLAY({args[0]} PLACING {args[1]} FROM {args[2]}"
                + (f" FOR {args[3]})" if len(args) > 3 else ")"))
    if fn == "OVERLAPS":
        return f"({args[0]}, {args[1]}) OVERLAPS ({args[2]}, {args[3]})"
    if fn == "FORMAT JSON":
        return f"{args[0]} FORMAT JSON"
    if fn == "JSON_EXISTS" and len(args) == 3:
        return f"JSON_EXISTS({args[0]}, {args[1]} {args[2].strip(chr(39))} ON ERROR)"
    if fn == "JSON_QUERY" and len(args) > 2:
        words = [w.strip(chr(39)) for w in args[2:]] + ["NULL"] * max(5 - len(args), 0)
        wrapper = "WITHOUT ARRAY" if words[0] == "WITHOUT ARRAY" else f"WITH {words[0]}"
        returning = " RETURNING ARRAY<STRING>" if len(words) > 3 else ""
        return (f"JSON_QUERY({args[0]}, {args[1]}{returning} {wrapper} WRAPPER {words[1]} "
                f"ON EMPTY {words[2]} ON ERROR)")
    if fn in ("FLOOR TO", "CEIL TO"):
        return f"{fn.split()[0]}({args[1]} TO {args[0].strip(chr(39))})"
    return f"{fn}({', '.join(args)})"

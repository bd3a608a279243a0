"""Vectorized SQL scalar functions on Columns, with SQL three-valued NULL logic:
the module generated code imports as ``sql``, one family per submodule
(arithmetic, logic, strings, hashes, json, casts, time; base holds the plumbing).

Every function takes Columns or Python scalar literals (``None`` is the NULL
literal) and returns a Column whose length is that of its Column arguments
(length 1 when all arguments are literals; the compiler folds those). The
generated code calls these by name; the names and signatures are the API.

Semantics follow Flink SQL (see FLINK_SEMANTICS.md); where Flink would fail the
job at run time, sqlc keeps the pipeline running and produces NULL instead.
The rules, each also stated at its function:

- **NULL in, NULL out** for every function except the logic operators
  (``and_``, ``or_``: FALSE AND NULL = FALSE, TRUE OR NULL = TRUE), the IS
  predicates, ``coalesce``, ``concat_ws`` (skips NULL arguments), ``in_list``
  (x IN (1, NULL) is TRUE when x = 1, else NULL) and ``case_when``.
- **Integer division** truncates toward zero: ``-7 / 2 = -3``. Integer division
  or ``MOD`` by zero is NULL (Flink raises ArithmeticException and fails the
  job). DOUBLE arithmetic is IEEE 754, as in Flink/Java: ``1.0 / 0 = Infinity``,
  ``0.0 / 0 = NaN``, ``MOD(x, 0.0) = NaN``. Integer overflow wraps (as Java).
- **MOD** has the sign of the dividend: ``MOD(-7, 2) = -1``.
- **ROUND** is HALF_UP on the decimal value, for DOUBLE too: Flink computes
  ``BigDecimal.valueOf(x).setScale(d, HALF_UP)``, so ``ROUND(2.5) = 3``,
  ``ROUND(-2.5) = -3`` and ``ROUND(2.675, 2) = 2.68`` (the shortest decimal
  representation of the double is rounded, not its binary expansion).
- **CAST** returns NULL where Flink raises (unparsable string, NaN to integer)
  — ``cast`` and ``try_cast`` compute the same values; ``cast`` additionally
  counts each non-NULL input that became NULL in ``CAST_FAILURES`` so the
  pipeline can report it. DOUBLE to integer truncates toward zero
  (``CAST(-2.7 AS INT) = -2``); out of the target range is NULL. BIGINT to a
  narrower integer wraps (Java narrowing). DOUBLE to VARCHAR prints like Java
  ``Double.toString`` (``'1.5'``, ``'1.0E10'``, ``'1.0E-4'``, ``'NaN'``); BOOLEAN
  to VARCHAR is ``'TRUE'``/``'FALSE'``; TIMESTAMP(p) to VARCHAR is
  ``'YYYY-MM-DD HH:MM:SS'`` plus p (at most 3) fractional digits. Numeric to
  TIMESTAMP/TIMESTAMP_LTZ reads epoch *seconds* (Flink); TIMESTAMP to BIGINT
  gives epoch seconds. DECIMAL(p, s) rounds HALF_UP to s places (stored as
  DOUBLE).
- **Strings** compare by code point; LIKE is case-sensitive, ``%`` any sequence,
  ``_`` one character, ``escape`` makes the next character literal.
- **Time**: TIMESTAMP values are int64 epoch milliseconds UTC; interval
  arithmetic is ``add``/``sub`` of milliseconds. ``extract(DAYOFWEEK)`` is
  Sunday=1..Saturday=7, ``WEEK`` is the ISO week, ``MILLISECOND`` is
  seconds*1000 + milliseconds (as Calcite/Flink). CURRENT_TIMESTAMP, NOW(),
  LOCALTIMESTAMP, CURRENT_DATE and PROCTIME() read the wall clock, or the
  instant the driver pinned (``pin_now``: ``--now``, ``SQLC_NOW``).
"""

from runtime_lib.functions.arithmetic import (
    abs,
    add,
    ceil,
    div,
    exp,
    floor,
    ln,
    log10,
    mod,
    mul,
    neg,
    power,
    round,
    sign,
    sqrt,
    sub,
    truncate,
)
from runtime_lib.functions.base import (
    literal,
)
from runtime_lib.functions.casts import (
    CAST_FAILURES,
    cast,
    java_double_to_string,
    try_cast,
)
from runtime_lib.functions.collections import (
    cardinality,
    constant_rows,
    element_at,
)
from runtime_lib.functions.hashes import (
    md5,
    sha256,
    uuid,
)
from runtime_lib.functions.json import (
    format_json,
    is_json,
    json_array,
    json_exists,
    json_object,
    json_query,
    json_string,
    json_value,
)
from runtime_lib.functions.logic import (
    and_,
    between,
    case_when,
    coalesce,
    eq,
    filter_mask,
    ge,
    greatest,
    gt,
    ifnull,
    in_list,
    is_distinct_from,
    is_false,
    is_not_distinct_from,
    is_not_false,
    is_not_null,
    is_not_true,
    is_null,
    is_true,
    le,
    least,
    lt,
    ne,
    not_,
    not_between,
    not_in_list,
    nullif,
    or_,
    overlaps,
)
from runtime_lib.functions.strings import (
    ascii,
    bin_,
    char_length,
    character_length,
    chr_,
    concat,
    concat_ws,
    from_base64,
    hex_,
    initcap,
    length,
    like,
    locate,
    lower,
    lpad,
    ltrim,
    not_like,
    parse_url,
    position,
    regexp,
    regexp_extract,
    regexp_replace,
    overlay,
    repeat,
    replace,
    reverse,
    rpad,
    rtrim,
    similar_to,
    split,
    split_index,
    str_to_map,
    substring,
    to_base64,
    trim,
    upper,
)
from runtime_lib.functions.time import (
    ceil_to,
    convert_tz,
    current_date,
    current_timestamp,
    current_watermark,
    date_format,
    date_trunc,
    extract,
    floor_to,
    from_unixtime,
    localtimestamp,
    now,
    pin_now,
    timestampadd,
    timestampdiff,
    to_date,
    to_timestamp,
    to_timestamp_ltz,
    unix_timestamp,
)

__all__ = [
    "CAST_FAILURES",
    "abs",
    "add",
    "and_",
    "ascii",
    "between",
    "bin_",
    "cardinality",
    "case_when",
    "cast",
    "ceil",
    "ceil_to",
    "char_length",
    "character_length",
    "chr_",
    "coalesce",
    "concat",
    "concat_ws",
    "constant_rows",
    "convert_tz",
    "current_date",
    "current_timestamp",
    "current_watermark",
    "date_format",
    "date_trunc",
    "div",
    "element_at",
    "eq",
    "exp",
    "extract",
    "filter_mask",
    "floor",
    "floor_to",
    "from_base64",
    "from_unixtime",
    "ge",
    "greatest",
    "gt",
    "hex_",
    "ifnull",
    "in_list",
    "initcap",
    "is_distinct_from",
    "is_false",
    "is_json",
    "is_not_distinct_from",
    "is_not_false",
    "is_not_null",
    "is_not_true",
    "is_null",
    "is_true",
    "java_double_to_string",
    "json_array",
    "json_exists",
    "json_object",
    "json_query",
    "json_string",
    "json_value",
    "le",
    "least",
    "length",
    "like",
    "literal",
    "ln",
    "localtimestamp",
    "locate",
    "log10",
    "lower",
    "lpad",
    "lt",
    "ltrim",
    "md5",
    "mod",
    "mul",
    "ne",
    "neg",
    "not_",
    "not_between",
    "not_in_list",
    "not_like",
    "now",
    "nullif",
    "or_",
    "parse_url",
    "pin_now",
    "position",
    "power",
    "regexp",
    "regexp_extract",
    "regexp_replace",
    "format_json",
    "overlaps",
    "overlay",
    "repeat",
    "replace",
    "reverse",
    "round",
    "rpad",
    "rtrim",
    "sha256",
    "sign",
    "similar_to",
    "split",
    "split_index",
    "sqrt",
    "str_to_map",
    "sub",
    "substring",
    "timestampadd",
    "timestampdiff",
    "to_base64",
    "to_date",
    "to_timestamp",
    "to_timestamp_ltz",
    "trim",
    "truncate",
    "try_cast",
    "unix_timestamp",
    "upper",
    "uuid",
]

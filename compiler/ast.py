"""The syntax tree sqlc works on: what the parser produces, independent of sqlglot.

Nodes are frozen dataclasses. Every node carries the ``span`` of the SQL text it
came from; spans never take part in equality, so ``SUM(cost)`` in the SELECT
list equals ``SUM(cost)`` in HAVING and the two can be matched structurally.
Names keep the user's spelling; keywords and function names are upper case.
"""

from __future__ import annotations

from dataclasses import field
from typing import Union

from compiler.errors import NO_SPAN, Span
from compiler.frozen import frozen_dataclass


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)  # type: ignore[return-value]


# --------------------------------------------------------------------- types


@frozen_dataclass
class TypeName:
    """A SQL type as written: ``DECIMAL(10, 2)``, ``ARRAY<INT>``, ``TIMESTAMP(3)``,
    ``ROW<id BIGINT, name VARCHAR NOT NULL 'a comment'>`` (its fields' names in
    ``fields``, their types in ``children``, NOT NULL in ``not_null``)."""

    name: str
    params: tuple[int, ...] = ()
    children: tuple[TypeName, ...] = ()
    fields: tuple[str, ...] = ()
    not_null: tuple[bool, ...] = ()
    span: Span = _span()

    def __str__(self) -> str:
        if self.name == "ARRAY":
            return f"ARRAY<{self.children[0]}>"
        if self.name == "MAP":
            return f"MAP<{self.children[0]}, {self.children[1]}>"
        if self.name == "ROW":
            return "ROW<" + ", ".join(
                f"{n} {c}" if n else str(c)
                for n, c in zip(self.fields or ("",) * len(self.children), self.children)) + ">"
        if self.params:
            return f"{self.name}({', '.join(str(p) for p in self.params)})"
        return self.name


# --------------------------------------------------------------- expressions


@frozen_dataclass
class Column:
    name: str
    table: str | None = None
    span: Span = _span()

    def __str__(self) -> str:
        return f"{self.table}.{self.name}" if self.table else self.name


@frozen_dataclass
class FieldAccess:
    """``base.field``: a field of a ROW value, where the dots cannot be a table
    qualifier (``t.bid.price``, ``(bid).price``). ``bid.price`` alone parses as
    a Column qualified by ``bid``; the analyzer reads it as a field of the ROW
    column ``bid`` when no table or alias is called ``bid``, as Flink does."""

    base: Expr
    field: str
    span: Span = _span()

    def __str__(self) -> str:
        return f"{self.base}.{self.field}"


@frozen_dataclass
class Star:
    table: str | None = None
    span: Span = _span()


@frozen_dataclass
class Literal:
    """``kind`` is one of string, integer, decimal, boolean, null, timestamp, date, time."""

    value: object
    kind: str
    span: Span = _span()


@frozen_dataclass
class Interval:
    """``INTERVAL '5' MINUTES`` -> Interval('5', 'MINUTE'); units are singular."""

    text: str
    unit: str
    to_unit: str | None = None  # INTERVAL '1:30' MINUTE TO SECOND
    span: Span = _span()


@frozen_dataclass
class Unary:
    op: str  # '-', '+', 'NOT'
    operand: Expr
    span: Span = _span()


@frozen_dataclass
class Binary:
    op: str  # + - * / % || = <> < <= > >= AND OR
    left: Expr
    right: Expr
    span: Span = _span()


@frozen_dataclass
class IsNull:
    operand: Expr
    negated: bool = False
    span: Span = _span()


@frozen_dataclass
class IsBool:
    """``x IS [NOT] TRUE|FALSE``."""

    operand: Expr
    value: bool
    negated: bool = False
    span: Span = _span()


@frozen_dataclass
class InList:
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    span: Span = _span()


@frozen_dataclass
class Between:
    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False
    symmetric: bool = False  # BETWEEN SYMMETRIC: either bound may be the lower
    span: Span = _span()


@frozen_dataclass
class Like:
    operand: Expr
    pattern: Expr
    escape: Expr | None = None
    negated: bool = False
    span: Span = _span()


@frozen_dataclass
class Case:
    operand: Expr | None
    whens: tuple[tuple[Expr, Expr], ...]
    else_: Expr | None = None
    span: Span = _span()


@frozen_dataclass
class Cast:
    operand: Expr
    to: TypeName
    safe: bool = False  # TRY_CAST
    span: Span = _span()


@frozen_dataclass
class Extract:
    unit: str
    operand: Expr
    span: Span = _span()


@frozen_dataclass
class OrderItem:
    expr: Expr
    descending: bool = False
    nulls_first: bool | None = None
    span: Span = _span()


@frozen_dataclass
class FrameBound:
    """kind: UNBOUNDED PRECEDING | PRECEDING | CURRENT ROW | FOLLOWING | UNBOUNDED FOLLOWING."""

    kind: str
    offset: Expr | None = None
    span: Span = _span()


@frozen_dataclass
class Frame:
    unit: str  # ROWS | RANGE
    start: FrameBound
    end: FrameBound
    span: Span = _span()


@frozen_dataclass
class WindowSpec:
    partition_by: tuple[Expr, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    frame: Frame | None = None
    span: Span = _span()


@frozen_dataclass
class Call:
    """A function call, aggregate or not: ``COUNT(DISTINCT x) FILTER (WHERE ...)``,
    ``PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY x)``, ``AVG(x) OVER (...)``."""

    name: str
    args: tuple[Expr, ...] = ()
    distinct: bool = False
    filter: Expr | None = None
    within_group: tuple[OrderItem, ...] = ()
    over: WindowSpec | None = None
    span: Span = _span()


@frozen_dataclass
class ScalarSubquery:
    query: Query
    span: Span = _span()


@frozen_dataclass
class InSubquery:
    """``x [NOT] IN (SELECT y ...)``: a semi (anti) join where WHERE ANDs it."""

    operand: Expr
    query: Query
    negated: bool = False
    span: Span = _span()


@frozen_dataclass
class Exists:
    """``[NOT] EXISTS (SELECT ...)``: a semi (anti) join on its correlation."""

    query: Query
    negated: bool = False
    span: Span = _span()


Expr = Union[
    Column,
    FieldAccess,
    Star,
    Literal,
    Interval,
    Unary,
    Binary,
    IsNull,
    IsBool,
    InList,
    Between,
    Like,
    Case,
    Cast,
    Extract,
    Call,
    ScalarSubquery,
    InSubquery,
    Exists,
]


# ----------------------------------------------------------------- relations


@frozen_dataclass
class TableRef:
    name: str
    alias: str | None = None
    system_time: Expr | None = None  # FOR SYSTEM_TIME AS OF <expr>
    span: Span = _span()


@frozen_dataclass
class Unnest:
    """``UNNEST(expr) [AS t (c1[, c2])]``, the right side of a (lateral) join:
    a row per element of an ARRAY (c1), per entry of a MAP (c1 key, c2 value)."""

    expr: Expr
    alias: str | None = None
    columns: tuple[str, ...] = ()
    span: Span = _span()


@frozen_dataclass
class Values:
    """``(VALUES (1, 'a'), (2, 'b')) [AS t (c1, c2)]``: an inline bounded table
    (Flink's Values: insert-only, read once). ``rows`` are the expressions of
    each row as written; ``columns`` the names the alias gives them."""

    rows: tuple[tuple[Expr, ...], ...]
    alias: str | None = None
    columns: tuple[str, ...] = ()
    span: Span = _span()


@frozen_dataclass
class SubqueryRef:
    query: Query
    alias: str | None = None
    span: Span = _span()


@frozen_dataclass
class WindowTVF:
    """``TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE t [PARTITION BY k], DESCRIPTOR(c), ...))``.

    Positional and named (``SIZE => ...``) arguments are normalized into the
    fields below; ``input`` is the table, view or CTE the TVF reads."""

    kind: str
    input: TableRef
    time_column: Column
    partition_by: tuple[Column, ...] = ()
    size: Expr | None = None
    slide: Expr | None = None
    step: Expr | None = None
    gap: Expr | None = None
    offset: Expr | None = None
    alias: str | None = None
    span: Span = _span()


@frozen_dataclass
class Join:
    kind: str  # INNER | LEFT | RIGHT | FULL | CROSS
    left: Relation
    right: Relation
    on: Expr | None = None
    using: tuple[Column, ...] = ()
    span: Span = _span()


@frozen_dataclass
class Define:
    """``DEFINE A AS <condition>`` of MATCH_RECOGNIZE; ``name_span`` covers ``A``."""

    name: str
    condition: Expr
    name_span: Span = _span()
    span: Span = _span()


@frozen_dataclass
class MatchRecognize:
    input: Relation
    partition_by: tuple[Expr, ...]
    order_by: tuple[OrderItem, ...]
    measures: tuple[SelectItem, ...]
    pattern: str
    define: tuple[Define, ...]
    after_match: str | None = None  # e.g. 'SKIP PAST LAST ROW'
    rows_per_match: str | None = None  # 'ONE ROW PER MATCH' | 'ALL ROWS PER MATCH'
    within: Expr | None = None  # WITHIN INTERVAL '1' HOUR (Flink)
    alias: str | None = None
    span: Span = _span()
    pattern_span: Span = _span()  # the text inside PATTERN ( ... )
    rows_span: Span = _span()  # ONE ROW PER MATCH / ALL ROWS PER MATCH as written
    after_variable_span: Span = _span()  # v of AFTER MATCH SKIP TO FIRST|LAST v


Relation = Union[TableRef, SubqueryRef, WindowTVF, Join, MatchRecognize, Unnest, Values]


# ------------------------------------------------------------------- queries


@frozen_dataclass
class SelectItem:
    expr: Expr
    alias: str | None = None
    span: Span = _span()


@frozen_dataclass
class GroupingSets:
    """``GROUPING SETS ((a, b), (a), ())``; ROLLUP and CUBE are expanded into sets."""

    sets: tuple[tuple[Expr, ...], ...]
    written_as: str = "GROUPING SETS"  # or ROLLUP / CUBE, for messages
    span: Span = _span()


GroupItem = Union[Expr, GroupingSets]


@frozen_dataclass
class Emit:
    kind: str  # CHANGES | AFTER WATERMARK
    delay: Interval | None = None
    span: Span = _span()


@frozen_dataclass
class CTE:
    name: str
    query: Query
    span: Span = _span()


@frozen_dataclass
class Select:
    items: tuple[SelectItem, ...]
    from_: Relation | None = None
    where: Expr | None = None
    group_by: tuple[GroupItem, ...] = ()
    having: Expr | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None  # OFFSET m (only with LIMIT n, no ORDER BY, so far)
    distinct: bool = False
    emit: Emit | None = None
    ctes: tuple[CTE, ...] = ()
    span: Span = _span()


@frozen_dataclass
class SetOp:
    op: str  # UNION | UNION ALL | INTERSECT | EXCEPT
    left: Query
    right: Query
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    emit: Emit | None = None
    ctes: tuple[CTE, ...] = ()
    op_span: Span = _span()  # the operator keyword(s), e.g. UNION ALL
    span: Span = _span()


Query = Union[Select, SetOp]


# ---------------------------------------------------------------- statements


@frozen_dataclass
class ColumnDef:
    """A physical column, a computed column (``AS expr``) or a metadata column."""

    name: str
    type: TypeName | None = None
    not_null: bool = False
    computed: Expr | None = None
    metadata_key: str | None = None  # METADATA FROM 'timestamp'; '' = the column's name
    virtual: bool = False
    comment: str | None = None
    metadata_span: Span = _span()  # the quoted key after METADATA FROM
    span: Span = _span()


@frozen_dataclass
class WatermarkDef:
    column: Column
    expr: Expr
    span: Span = _span()
    text: str | None = None  # the expression as written, when inherited (LIKE)


@frozen_dataclass
class PrimaryKey:
    columns: tuple[Column, ...]
    enforced: bool = False
    span: Span = _span()


@frozen_dataclass
class Property:
    key: str
    value: str
    span: Span = _span()


@frozen_dataclass
class LikeOption:
    """``INCLUDING ALL``, ``OVERWRITING OPTIONS``, ... of ``CREATE TABLE ... LIKE``."""

    strategy: str  # INCLUDING | EXCLUDING | OVERWRITING
    feature: str  # ALL | CONSTRAINTS | GENERATED | METADATA | OPTIONS | PARTITIONS | WATERMARKS
    span: Span = _span()


@frozen_dataclass
class LikeClause:
    """``LIKE base [(options)]``: the table is based on ``base`` (Flink)."""

    name: str
    options: tuple[LikeOption, ...] = ()
    name_span: Span = _span()
    span: Span = _span()


@frozen_dataclass
class CreateSource:
    """``CREATE STREAM`` or ``CREATE TABLE``."""

    kind: str  # STREAM | TABLE
    name: str
    columns: tuple[ColumnDef, ...]
    watermark: WatermarkDef | None = None
    primary_key: PrimaryKey | None = None
    properties: tuple[Property, ...] = ()
    if_not_exists: bool = False
    comment: str | None = None
    name_span: Span = _span()
    span: Span = _span()
    like: LikeClause | None = None
    # PARTITIONED BY (a, b): a filesystem sink's directory per partition (a=../b=..)
    partitioned_by: tuple[Column, ...] = ()


@frozen_dataclass
class CreateView:
    name: str
    query: Query
    column_names: tuple[str, ...] = ()
    if_not_exists: bool = False
    name_span: Span = _span()
    columns_span: Span = _span()  # the parenthesized column list, when given
    span: Span = _span()


@frozen_dataclass
class Drop:
    kind: str  # STREAM | TABLE | VIEW
    name: str
    if_exists: bool = False
    cascade: bool = False
    kind_span: Span = _span()
    name_span: Span = _span()
    span: Span = _span()


@frozen_dataclass
class Insert:
    target: str
    query: Query
    columns: tuple[str, ...] = ()
    target_span: Span = _span()
    span: Span = _span()


@frozen_dataclass
class QueryStatement:
    query: Query
    span: Span = _span()


@frozen_dataclass
class Show:
    kind: str  # STREAMS | TABLES | VIEWS | FUNCTIONS | CREATE (SHOW CREATE TABLE name)
    span: Span = _span()
    name: str | None = None  # SHOW CREATE's object
    name_span: Span = _span()


@frozen_dataclass
class Describe:
    name: str
    name_span: Span = _span()
    span: Span = _span()


@frozen_dataclass
class Explain:
    statement: Statement
    verbose: bool = False
    span: Span = _span()


@frozen_dataclass
class Set:
    """``SET 'key' = 'value'`` (Flink's session options); ``SET`` alone lists them.
    ``key`` and ``value`` are as written, unquoted; None for ``SET;``."""

    key: str | None = None
    value: str | None = None
    key_span: Span = _span()
    value_span: Span = _span()
    span: Span = _span()


@frozen_dataclass
class Reset:
    """``RESET 'key'``; ``RESET`` alone (key None) resets every option."""

    key: str | None = None
    key_span: Span = _span()
    span: Span = _span()


Statement = Union[
    CreateSource, CreateView, Drop, Insert, QueryStatement, Show, Describe, Explain, Set, Reset
]


@frozen_dataclass
class Script:
    """All statements of one SQL file, in order."""

    statements: tuple[Statement, ...]

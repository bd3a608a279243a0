"""Logical plan: relational operators over bound, typed expressions.

A closed set of frozen nodes, each with ``inputs()`` and ``schema``. Bound
expressions refer to input columns by position (``ColumnRef.index``) and keep
the column's name for EXPLAIN and for generated code. Nodes refuse states that
cannot exist; the analyzer reports user errors before it builds them.
"""

from __future__ import annotations

from dataclasses import field, replace

from compiler.errors import NO_SPAN, Span
from compiler.frozen import frozen_dataclass
from compiler.types import SqlType


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)  # type: ignore[return-value]


@frozen_dataclass
class Field:
    name: str
    type: SqlType
    # a Scan's column read from a field of a ROW column: its path (bid, price);
    # the column's name is the path joined by dots (compiler/analyze/fields.py)
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.name} {self.type}"


Schema = tuple[Field, ...]


# ------------------------------------------------------------ bound expressions


@frozen_dataclass
class ColumnRef:
    index: int
    name: str
    type: SqlType
    span: Span = _span()


@frozen_dataclass
class Const:
    value: object  # Python value in runtime storage form (timestamps as epoch ms)
    type: SqlType
    span: Span = _span()


@frozen_dataclass
class Call:
    """A scalar function or operator; ``fn`` is a key of ``compiler.functions.SCALARS``."""

    fn: str
    args: tuple[BoundExpr, ...]
    type: SqlType
    span: Span = _span()


# -- MATCH_RECOGNIZE: what DEFINE and MEASURES read (Flink's pattern navigation).
# In DEFINE v the rows matched so far include the row being matched (as v);
# in MEASURES they are the rows of the completed match.


@frozen_dataclass
class PatternRef:
    """``A.price``: column ``index`` of the last row matched as ``variable``;
    ``variable`` None (``price``) reads the last row matched to any variable.
    Inside a PatternAggregate it is the column of each row aggregated."""

    variable: str | None
    index: int
    name: str
    type: SqlType
    span: Span = _span()


@frozen_dataclass
class Navigate:
    """``LAST(A.price, 1)``, ``FIRST(A.price)``: ``arg`` (over one variable) read
    at the row ``offset`` rows from the last (LAST) or the first (FIRST) row
    matched as that variable; NULL when there is none. PREV/NEXT (physical
    offsets) exist only with offset 0, the one Flink accepts."""

    fn: str  # PREV | NEXT | FIRST | LAST
    arg: BoundExpr
    offset: int
    type: SqlType
    span: Span = _span()


@frozen_dataclass
class PatternAggregate:
    """``AVG(A.price)``, ``COUNT(A.*)``, ``SUM(price)``: an aggregate over the rows
    matched as ``variable`` (None: all rows matched) so far."""

    fn: str
    variable: str | None
    args: tuple[BoundExpr, ...]  # over PatternRefs of ``variable``; () for COUNT(*)
    type: SqlType
    span: Span = _span()


@frozen_dataclass
class MatchFunction:
    """``MATCH_ROWTIME()`` (time of the match's last row, a rowtime attribute),
    ``MATCH_PROCTIME()``, ``CLASSIFIER()``."""

    name: str
    type: SqlType
    span: Span = _span()


PatternExpr = PatternRef | Navigate | PatternAggregate | MatchFunction
BoundExpr = ColumnRef | Const | Call | PatternRef | Navigate | PatternAggregate | MatchFunction


def _children(expr) -> tuple:
    """The sub-expressions of a bound expression (none for leaves)."""
    if isinstance(expr, (Call, PatternAggregate)):
        return expr.args
    if isinstance(expr, Navigate):
        return (expr.arg,)
    return ()


def _with_children(expr, children: tuple):
    if isinstance(expr, Navigate):
        return expr if children[0] is expr.arg else replace(expr, arg=children[0])
    if isinstance(expr, (Call, PatternAggregate)):
        same = len(children) == len(expr.args) and all(
            a is b for a, b in zip(children, expr.args))
        return expr if same else replace(expr, args=children)
    return expr


@frozen_dataclass
class AggCall:
    fn: str  # COUNT, SUM, ..., PERCENTILE_CONT
    args: tuple[BoundExpr, ...]
    type: SqlType
    distinct: bool = False
    filter: BoundExpr | None = None
    param: float | None = None  # the percentile of PERCENTILE_*
    span: Span = _span()


@frozen_dataclass
class OrderKey:
    expr: BoundExpr
    descending: bool = False
    nulls_first: bool | None = None


@frozen_dataclass
class FrameSpec:
    unit: str  # ROWS | RANGE
    start: int | None  # offset before the current row (rows or ms); None = unbounded
    end: int  # 0 = current row; 1 = 1 PRECEDING


@frozen_dataclass
class OverCall:
    fn: str
    args: tuple[BoundExpr, ...]  # LAG/LEAD: (value[, default]), the offset is the frame
    type: SqlType
    partition_by: tuple[BoundExpr, ...]
    order_by: tuple[OrderKey, ...]
    frame: FrameSpec | None
    span: Span = _span()


def walk(expr: BoundExpr):
    yield expr
    for arg in _children(expr):
        yield from walk(arg)


def conjuncts(expr: BoundExpr | None) -> list[BoundExpr]:
    """The parts of a conjunction (``a AND b AND c`` -> [a, b, c]); [] for None."""
    if expr is None:
        return []
    if isinstance(expr, Call) and expr.fn == "AND":
        return conjuncts(expr.args[0]) + conjuncts(expr.args[1])
    return [expr]


def conjoin(parts: list[BoundExpr]) -> BoundExpr | None:
    """The conjunction of ``parts`` (None for none), left-deep as the parser
    builds it; NULL-able when a part is (three-valued AND)."""
    from compiler import types as t

    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        nullable = result.type.nullable or part.type.nullable
        result = Call("AND", (result, part), t.BOOLEAN.with_nullable(nullable))
    return result


def referenced(expr: BoundExpr | AggCall | OverCall | None) -> set[int]:
    """Input column positions an expression reads."""
    if expr is None:
        return set()
    if isinstance(expr, (ColumnRef, PatternRef)):
        return {expr.index}
    if isinstance(expr, (Const, MatchFunction)):
        return set()
    if isinstance(expr, Navigate):
        return referenced(expr.arg)
    found: set[int] = set()
    for arg in expr.args:
        found |= referenced(arg)
    if isinstance(expr, AggCall):
        found |= referenced(expr.filter)
    if isinstance(expr, OverCall):
        for p in expr.partition_by:
            found |= referenced(p)
        for k in expr.order_by:
            found |= referenced(k.expr)
    return found


def remap(expr: BoundExpr, mapping: dict[int, int]) -> BoundExpr:
    """The expression with column positions renumbered (``old -> new``)."""
    if isinstance(expr, (ColumnRef, PatternRef)):
        new = mapping[expr.index]
        return expr if new == expr.index else replace(expr, index=new)
    return _with_children(expr, tuple(remap(a, mapping) for a in _children(expr)))


def substitute(expr: BoundExpr, exprs: tuple[BoundExpr, ...]) -> BoundExpr:
    """Inline a projection: column ``i`` becomes ``exprs[i]``."""
    if isinstance(expr, ColumnRef):
        return exprs[expr.index]
    if isinstance(expr, (PatternRef, Navigate, PatternAggregate, MatchFunction)):
        # a pattern expression reads rows of the match, not of a projection
        raise ValueError("a MATCH_RECOGNIZE expression cannot be inlined into another node")
    if isinstance(expr, Const):
        return expr
    return replace(expr, args=tuple(substitute(a, exprs) for a in expr.args))


def is_deterministic(expr: BoundExpr) -> bool:
    from compiler.functions import NONDETERMINISTIC

    return all(not (isinstance(e, Call) and e.fn in NONDETERMINISTIC) for e in walk(expr))


def expr_sql(expr: BoundExpr | AggCall | OverCall) -> str:
    """EXPLAIN text of a bound expression."""
    from compiler.functions import render_call

    if isinstance(expr, ColumnRef):
        return expr.name
    if isinstance(expr, Const):
        if expr.value is None:
            return "NULL"
        if expr.type.name == "INTERVAL":
            ms = int(expr.value)  # type: ignore[call-overload]
            for unit, size in (("DAY", 86_400_000), ("HOUR", 3_600_000), ("MINUTE", 60_000),
                               ("SECOND", 1000)):
                if ms and ms % size == 0:
                    return f"INTERVAL '{ms // size}' {unit}"
            return f"INTERVAL '{ms}' MILLISECOND"
        if expr.type.is_timestamp:
            from datetime import datetime, timezone

            moment = datetime.fromtimestamp(expr.value / 1000, tz=timezone.utc)  # type: ignore[operator]
            return f"TIMESTAMP '{moment.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}'"
        if isinstance(expr.value, str):
            return "'" + expr.value.replace("'", "''") + "'"
        if isinstance(expr.value, bool):
            return "TRUE" if expr.value else "FALSE"
        return repr(expr.value)
    if isinstance(expr, Call):
        return render_call(expr.fn, [expr_sql(a) for a in expr.args], expr.type)
    if isinstance(expr, PatternRef):
        return f"{expr.variable}.{expr.name}" if expr.variable else expr.name
    if isinstance(expr, Navigate):
        default = 1 if expr.fn in ("PREV", "NEXT") else 0
        offset = "" if expr.offset == default else f", {expr.offset}"
        return f"{expr.fn}({expr_sql(expr.arg)}{offset})"
    if isinstance(expr, PatternAggregate):
        star = f"{expr.variable}.*" if expr.variable else "*"
        return f"{expr.fn}({', '.join(expr_sql(a) for a in expr.args) or star})"
    if isinstance(expr, MatchFunction):
        return f"{expr.name}()"
    if isinstance(expr, AggCall):
        inner = ", ".join(expr_sql(a) for a in expr.args) or "*"
        if expr.distinct:
            inner = "DISTINCT " + inner
        text = f"{expr.fn}({inner})"
        if expr.param is not None:
            text = f"{expr.fn}({expr.param}) WITHIN GROUP (ORDER BY {inner})"
        if expr.filter is not None:
            text += f" FILTER (WHERE {expr_sql(expr.filter)})"
        return text
    args = [expr_sql(a) for a in expr.args]
    if expr.fn in ("LAG", "LEAD") and len(args) == 2 and expr.frame is not None:
        args.insert(1, str(expr.frame.start))  # as written: (value, offset, default)
    inner = ", ".join(args)
    parts = []
    if expr.partition_by:
        parts.append("PARTITION BY " + ", ".join(expr_sql(p) for p in expr.partition_by))
    if expr.order_by:
        parts.append(
            "ORDER BY "
            + ", ".join(expr_sql(k.expr) + (" DESC" if k.descending else "") for k in expr.order_by)
        )
    if expr.frame is not None:
        f = expr.frame
        start = "UNBOUNDED" if f.start is None else str(f.start)
        parts.append(f"{f.unit} {start} PRECEDING TO {f.end} PRECEDING")
    return f"{expr.fn}({inner}) OVER ({' '.join(parts)})"


# ---------------------------------------------------------------------- nodes


@frozen_dataclass
class WatermarkSpec:
    column: int  # index into the scan's schema
    bound_ms: int | None  # None: a custom expression, see expr
    expr: BoundExpr | None = None
    idle_timeout_ms: int | None = None


@frozen_dataclass
class Scan:
    source: str
    kind: str  # STREAM | TABLE | VIEW-expanded scans never exist
    schema: Schema
    physical: tuple[int, ...]  # indices of columns read from the connector
    computed: tuple[tuple[int, BoundExpr], ...]  # computed column index -> expr over the schema
    metadata: tuple[tuple[int, str], ...]  # metadata column index -> key
    watermark: WatermarkSpec | None
    properties: tuple[tuple[str, str], ...]
    alias: str | None = None
    span: Span = _span()
    # a VALUES table (connector 'values'): its rows, one expression per column
    # of the schema (constants once folded); None for a connector's source
    rows: tuple[tuple[BoundExpr, ...], ...] | None = None
    # a changelog table (upsert-kafka, a keyed Kafka topic, 'changelog.op-field')
    # scanned as a stream of changes, the versions of an event-time temporal join:
    # its primary key (rows are upserts and deletes of it) and the op field; () else
    changelog_key: tuple[str, ...] = ()
    op_field: str | None = None

    def inputs(self) -> tuple[LogicalNode, ...]:
        return ()


@frozen_dataclass
class Filter:
    input: LogicalNode
    predicate: BoundExpr
    span: Span = _span()

    def __post_init__(self) -> None:
        if self.predicate.type.name not in ("BOOLEAN", "NULL"):
            raise ValueError("Filter predicate must be BOOLEAN")

    @property
    def schema(self) -> Schema:
        return self.input.schema

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class Project:
    input: LogicalNode
    exprs: tuple[BoundExpr, ...]
    names: tuple[str, ...]
    span: Span = _span()

    def __post_init__(self) -> None:
        if len(self.exprs) != len(self.names):
            raise ValueError("Project needs one name per expression")

    @property
    def schema(self) -> Schema:
        return tuple(Field(n, e.type) for n, e in zip(self.names, self.exprs))

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class Calc:
    """Filter and projection fused (Flink's Calc): rows where ``condition`` holds,
    then ``exprs``; both over the input's columns."""

    input: LogicalNode
    exprs: tuple[BoundExpr, ...]
    names: tuple[str, ...]
    condition: BoundExpr | None = None
    span: Span = _span()

    @property
    def schema(self) -> Schema:
        return tuple(Field(n, e.type) for n, e in zip(self.names, self.exprs))

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class WindowTVF:
    """Adds window_start, window_end, window_time to each row of its input."""

    input: LogicalNode
    kind: str  # TUMBLE | HOP | CUMULATE | SESSION
    time_column: int
    size_ms: int | None = None
    slide_ms: int | None = None
    step_ms: int | None = None
    gap_ms: int | None = None
    offset_ms: int = 0
    partition_by: tuple[int, ...] = ()
    span: Span = _span()

    @property
    def schema(self) -> Schema:
        from compiler import types as t

        ts = t.TIMESTAMP.with_nullable(False)
        rowtime = SqlType("TIMESTAMP", False, (3,), time_attribute="ROWTIME")
        plain_input = tuple(
            Field(f.name, f.type.plain()) if f.type.time_attribute == "ROWTIME" else f
            for f in self.input.schema
        )
        return plain_input + (
            Field("window_start", ts),
            Field("window_end", ts),
            Field("window_time", rowtime),
        )

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class Aggregate:
    """GROUP BY. With ``window`` set it is a window aggregate: keys include the
    window and results are final once the watermark passes the window's end."""

    input: LogicalNode
    keys: tuple[BoundExpr, ...]
    key_names: tuple[str, ...]
    aggs: tuple[AggCall, ...]
    agg_names: tuple[str, ...]
    window: WindowTVF | None = None
    grouping_sets: tuple[tuple[int, ...], ...] | None = None  # indices into keys
    emit: str = "AFTER WATERMARK"  # or CHANGES
    emit_delay_ms: int = 0
    span: Span = _span()

    @property
    def schema(self) -> Schema:
        fields = []
        for name, key in zip(self.key_names, self.keys):
            typ = key.type
            if self.grouping_sets is not None:
                typ = typ.with_nullable(True)
            fields.append(Field(name, typ))
        fields.extend(Field(n, a.type) for n, a in zip(self.agg_names, self.aggs))
        return tuple(fields)

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class Join:
    left: LogicalNode
    right: LogicalNode
    kind: str  # INNER | LEFT | RIGHT | FULL | CROSS
    condition: BoundExpr | None
    equi_keys: tuple[tuple[int, int], ...] = ()  # (left index, right index)
    interval: tuple[int, int, int, int] | None = None  # left time, right time, lower ms, upper ms
    lookup: bool = False  # stream-table join against a lookup table
    span: Span = _span()
    # per right-side column, the name its relation has in the query (alias or table)
    right_qualifiers: tuple[str, ...] = ()
    # IN / EXISTS as an INNER join with the subquery's distinct keys (Flink's
    # LeftSemiJoin): each left row comes out once, when its first match does
    semi: bool = False
    # Flink's event-time temporal join (FOR SYSTEM_TIME AS OF l.rowtime on a
    # versioned table): (left event time, right version time), indices in each
    # input's schema; each left row joins the right version valid at its time
    temporal: tuple[int, int] | None = None
    # the right side is a versioned view's history: as its keep-last dedup
    # (Flink's, row by row), a row older than an earlier row of its key is no
    # version
    latest_only: bool = False

    @property
    def schema(self) -> Schema:
        left = self.left.schema
        right = self.right.schema
        if self.temporal is not None:  # the output's time is the left's: versions' time is data
            right = tuple(Field(f.name, f.type.plain()) for f in right)
        if self.kind in ("RIGHT", "FULL"):
            left = tuple(Field(f.name, f.type.with_nullable(True).plain()) for f in left)
        if self.kind in ("LEFT", "FULL"):
            right = tuple(Field(f.name, f.type.with_nullable(True).plain()) for f in right)
        # Time attributes pass through the join on the side that is never NULL-padded
        # (Flink 2.3 keeps them, e.g. a TUMBLE group window after a LEFT JOIN).
        # Right-side names that clash are named after their relation in the query
        # (f.request_id -> f_request_id; Flink says request_id0), then numbered.
        taken = {f.name.lower() for f in left}
        renamed = []
        for i, f in enumerate(right):
            name = f.name
            qualifier = self.right_qualifiers[i] if i < len(self.right_qualifiers) else ""
            if name.lower() in taken and qualifier:
                name = f"{qualifier}_{f.name}"
            suffix = 0
            while name.lower() in taken:
                name = f"{f.name}{suffix}"
                suffix += 1
            taken.add(name.lower())
            renamed.append(Field(name, f.type))
        return left + tuple(renamed)

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.left, self.right)


@frozen_dataclass
class Over:
    input: LogicalNode
    calls: tuple[OverCall, ...]
    names: tuple[str, ...]
    span: Span = _span()

    @property
    def schema(self) -> Schema:
        return self.input.schema + tuple(Field(n, c.type) for n, c in zip(self.names, self.calls))

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class TopN:
    """ROW_NUMBER() | RANK() | DENSE_RANK() OVER (PARTITION BY p ORDER BY o)
    filtered by rn <= n."""

    input: LogicalNode
    partition_by: tuple[BoundExpr, ...]
    order_by: tuple[OrderKey, ...]
    limit: int
    rank_name: str | None  # the row-number column, when the query keeps it
    window: bool = False  # partitioned by window_start/window_end: final per window
    span: Span = _span()
    fn: str = "ROW_NUMBER"  # or RANK, DENSE_RANK: how ties are numbered

    @property
    def schema(self) -> Schema:
        from compiler import types as t

        extra = (Field(self.rank_name, t.BIGINT.with_nullable(False)),) if self.rank_name else ()
        return self.input.schema + extra

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


# -- MATCH_RECOGNIZE's PATTERN, parsed: variables, concatenation, alternation,
# grouping (a nested term) and quantifiers


@frozen_dataclass
class PatternVariable:
    name: str
    span: Span = _span()


@frozen_dataclass
class PatternQuantified:
    """``A+`` = (1, None); ``A*`` (0, None); ``A?`` (0, 1); ``A{2,5}?`` (2, 5, reluctant)."""

    term: PatternTerm
    min: int
    max: int | None  # None: unbounded
    greedy: bool = True
    span: Span = _span()

    def __post_init__(self) -> None:
        if self.min < 0 or (self.max is not None and self.max < max(self.min, 1)):
            raise ValueError("a quantifier needs 0 <= min <= max, 0 < max")


@frozen_dataclass
class PatternConcat:
    terms: tuple[PatternTerm, ...]
    span: Span = _span()


@frozen_dataclass
class PatternAlternation:
    options: tuple[PatternTerm, ...]
    span: Span = _span()


PatternTerm = PatternVariable | PatternQuantified | PatternConcat | PatternAlternation


def pattern_sql(term: PatternTerm, nested: bool = False) -> str:
    """The pattern as SQL (``A B+? C{2,}``), grouped where it must be."""
    if isinstance(term, PatternVariable):
        return term.name
    if isinstance(term, PatternQuantified):
        inner = pattern_sql(term.term, nested=True)
        if not isinstance(term.term, PatternVariable):
            inner = f"({inner})"
        bounds = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((term.min, term.max))
        if bounds is None:
            bounds = ("{%d}" % term.min if term.min == term.max else
                      "{%d,%s}" % (term.min, "" if term.max is None else term.max))
        return inner + bounds + ("" if term.greedy else "?")
    if isinstance(term, PatternConcat):
        text = " ".join(pattern_sql(t, nested=True) if not isinstance(t, PatternConcat)
                        else f"({pattern_sql(t)})" for t in term.terms)
        return text
    text = " | ".join(pattern_sql(o) for o in term.options)
    return f"({text})" if nested else text


def pattern_variables(term: PatternTerm) -> tuple[str, ...]:
    """The variables of a pattern, in order of first appearance."""
    if isinstance(term, PatternVariable):
        return (term.name,)
    parts = ((term.term,) if isinstance(term, PatternQuantified)
             else term.terms if isinstance(term, PatternConcat) else term.options)
    seen: list[str] = []
    for part in parts:
        seen.extend(v for v in pattern_variables(part) if v not in seen)
    return tuple(seen)


@frozen_dataclass
class Match:
    """MATCH_RECOGNIZE, ONE ROW PER MATCH: per partition, in ``order_by`` order,
    the matches of ``pattern``; a variable without a DEFINE matches every row.
    Output: the partition columns, then the measures."""

    input: LogicalNode
    partition_by: tuple[BoundExpr, ...]
    order_by: tuple[OrderKey, ...]
    pattern: PatternTerm
    defines: tuple[tuple[str, BoundExpr], ...]  # variable -> condition, over PatternRefs
    measures: tuple[tuple[str, BoundExpr], ...]  # output name -> expression over the match
    after_match: str  # SKIP TO NEXT ROW | SKIP PAST LAST ROW | SKIP TO FIRST v | SKIP TO LAST v
    within_ms: int | None = None  # WITHIN: first to last row of a match at most this long
    span: Span = _span()

    def __post_init__(self) -> None:
        names = {v.upper() for v in pattern_variables(self.pattern)}
        if any(v.upper() not in names for v, _ in self.defines):
            raise ValueError("a DEFINE names no variable of the PATTERN")

    @property
    def schema(self) -> Schema:
        keys = tuple(
            Field(p.name if isinstance(p, ColumnRef) else f"key{i}", p.type)
            for i, p in enumerate(self.partition_by)
        )
        return keys + tuple(Field(n, e.type) for n, e in self.measures)

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class Union:
    inputs_: tuple[LogicalNode, ...]
    distinct: bool = False
    span: Span = _span()

    @property
    def schema(self) -> Schema:
        """The first input's names, in the types all inputs widen to (Flink's
        rule: INT and DOUBLE give DOUBLE, nullable where any input is); a time
        attribute stays one only where every input has it at that position."""
        from compiler import types as t

        fields = []
        for column in zip(*(i.schema for i in self.inputs_)):
            common = column[0].type
            for f in column[1:]:
                common = t.common_type(common, f.type) or common
            marks = {f.type.time_attribute for f in column}
            if len(marks) == 1 and None not in marks:
                common = replace(common, time_attribute=marks.pop())
            fields.append(Field(column[0].name, common))
        return tuple(fields)

    def inputs(self) -> tuple[LogicalNode, ...]:
        return self.inputs_


@frozen_dataclass
class Unnest:
    """Each input row once per element of ``expr`` (an ARRAY: one column; a MAP:
    key and value), the element's columns after the input's (Flink's Correlate
    of UNNEST). ``outer``: a row whose container is NULL or empty is kept once,
    the new columns NULL (LEFT JOIN UNNEST ... ON TRUE)."""

    input: LogicalNode
    expr: BoundExpr
    names: tuple[str, ...]
    outer: bool = False
    span: Span = _span()

    @property
    def schema(self) -> Schema:
        kind = self.expr.type
        types = kind.children if kind.name == "MAP" else kind.children[:1]
        return self.input.schema + tuple(
            Field(n, ty.with_nullable(True)) for n, ty in zip(self.names, types))

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class Sort:
    """ORDER BY a time attribute ascending: rows leave in event-time order."""

    input: LogicalNode
    keys: tuple[OrderKey, ...]
    span: Span = _span()

    @property
    def schema(self) -> Schema:
        return self.input.schema

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


@frozen_dataclass
class Limit:
    input: LogicalNode
    count: int | None  # None: no LIMIT (OFFSET alone), every row after the offset
    offset: int = 0  # rows skipped before the first of the count
    span: Span = _span()

    @property
    def schema(self) -> Schema:
        return self.input.schema

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


# connectors whose sink writes a table by its declared PRIMARY KEY (upserts and
# deletes by key, as Flink's JDBC sink) rather than by the query's own key
PRIMARY_KEY_SINKS = ("postgres", "jdbc")


@frozen_dataclass
class Sink:
    input: LogicalNode
    target: str | None  # None: the command line's output (stdout or --output)
    properties: tuple[tuple[str, str], ...] = ()
    span: Span = _span()
    # the target table's declared PRIMARY KEY, which a PostgreSQL sink upserts
    # and deletes rows by (as Flink's JDBC sink); () when it declares none
    primary_key: tuple[str, ...] = ()
    # the target's PARTITIONED BY columns (a filesystem table's directories)
    partition_keys: tuple[str, ...] = ()
    # output columns that are fields of a selected ROW (``SELECT bid``): name ->
    # path; a JSON output writes them as nested objects (analyze/fields.py)
    nested: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def schema(self) -> Schema:
        if not self.nested:
            return self.input.schema
        paths = dict(self.nested)
        return tuple(Field(f.name, f.type, paths.get(f.name, ())) for f in self.input.schema)

    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)


LogicalNode = (
    Scan | Filter | Project | Calc | WindowTVF | Aggregate | Join | Over | TopN | Match | Union | Sort
    | Limit | Sink | Unnest
)


def with_inputs(node: LogicalNode, inputs: tuple[LogicalNode, ...]) -> LogicalNode:
    """The same node over new inputs (the same object when nothing changed)."""
    if inputs == node.inputs() and all(a is b for a, b in zip(inputs, node.inputs())):
        return node
    if isinstance(node, Join):
        return replace(node, left=inputs[0], right=inputs[1])
    if isinstance(node, Union):
        return replace(node, inputs_=inputs)
    if isinstance(node, Scan):
        return node
    return replace(node, input=inputs[0])  # type: ignore[call-arg]


def transform_up(node: LogicalNode, fn) -> LogicalNode:
    """Apply ``fn`` to every node, children first; unchanged subtrees stay the same objects."""
    children = tuple(transform_up(c, fn) for c in node.inputs())
    return fn(with_inputs(node, children))


def upsert_key(sink: Sink) -> tuple[str, ...]:
    """The columns that identify a row of an updating result (the grouping keys
    of the aggregate that makes it updating), as the sink names them; () for an
    insert-only result, or when the key cannot be followed to the sink (a key
    column not in the output, a join). An upsert sink writes each key's latest row."""
    if changelog(sink.input) == "I":
        return ()
    node: LogicalNode = sink.input
    names = [f.name for f in sink.schema]
    # follow the columns down through projections to the aggregate
    positions: list[int | None] = list(range(len(names)))
    while not isinstance(node, Aggregate):
        if isinstance(node, (Calc, Project)):
            exprs = node.exprs
            mapped: list[int | None] = []
            for p in positions:
                e = exprs[p] if p is not None else None
                mapped.append(e.index if isinstance(e, ColumnRef) else None)
            positions = mapped
        elif not isinstance(node, (Filter, Limit)):
            return ()
        node = node.inputs()[0]
    key_positions = set(range(len(node.keys)))
    if node.window is not None:  # window_time follows from window_end
        key_positions = {i for i in key_positions if node.key_names[i] != "window_time"}
    found = {p: names[i] for i, p in enumerate(positions) if p is not None}
    if not key_positions <= set(found):
        return ()  # a key column is not in the output: no upsert key
    return tuple(found[p] for p in sorted(key_positions))


def window_below(node: LogicalNode) -> WindowTVF | None:
    """The window TVF whose rows (or window aggregate's rows) reach ``node``
    through filters and projections only, if any."""
    while isinstance(node, (Filter, Project, Calc)):
        node = node.input
    if isinstance(node, Aggregate):
        return node.window
    return node if isinstance(node, WindowTVF) else None


def dedup_keep(node: TopN) -> str | None:
    """"first" or "last" when a Top-N is a deduplication (Flink's Deduplicate):
    ROW_NUMBER = 1 per key, ordered by the event-time attribute of an
    append-only input (ASC keeps the first row, DESC the last); else None."""
    if node.window or node.fn != "ROW_NUMBER" or node.limit != 1 or not node.partition_by:
        return None
    if len(node.order_by) != 1 or changelog(node.input) != "I":
        return None
    key = node.order_by[0]
    if key.expr.type.time_attribute != "ROWTIME" or not isinstance(key.expr, ColumnRef):
        return None
    return "last" if key.descending else "first"


def changelog(node: LogicalNode) -> str:
    """Flink's changelog mode of a node's output: I (insert-only) or I,UB,UA,D."""
    if isinstance(node, Aggregate):
        if node.window is not None and node.emit != "CHANGES":
            return "I"
        return "I,UB,UA,D"
    if isinstance(node, TopN):
        return "I" if node.window or dedup_keep(node) == "first" else "I,UB,UA,D"
    if isinstance(node, Join) and node.temporal is not None:
        # each left row comes out once, joined with the version valid at its
        # time: the versions' changes are no changes of the output
        return changelog(node.left)
    if isinstance(node, Join) and not node.lookup and node.interval is None:
        # a regular inner join of insert-only inputs only inserts; an outer one
        # retracts its NULL-padded rows when a match arrives. A semi join
        # forwards its inputs' changes as Flink's does: its right side, the
        # subquery's distinct keys, only inserts (each key once) when the
        # subquery does
        right = node.right.input if node.semi and isinstance(node.right, Aggregate) \
            else node.right
        inner_append = node.kind in ("INNER", "CROSS") and all(
            changelog(i) == "I" for i in (node.left, right))
        return "I" if inner_append else "I,UB,UA,D"
    if isinstance(node, Limit):
        return changelog(node.input)
    if isinstance(node, Scan) and node.changelog_key:
        return "I,UB,UA,D" if node.op_field else "I,UA,D"  # upserts by key
    if isinstance(node, (Project, Filter, Calc)):
        return changelog(node.input)  # (an upsert stream stays one)
    inputs = node.inputs()
    if not inputs:
        return "I"
    modes = {changelog(i) for i in inputs}
    return "I" if modes == {"I"} else "I,UB,UA,D"


def state_ttl_ms(node: LogicalNode) -> int | None:
    """How long a regular join keeps the rows of this input: the streams'
    ``'state.ttl'`` (Flink's per-table STATE_TTL hint). Every stream the input
    reads must set it (otherwise None: kept for ever); the longest applies."""
    from runtime_lib.durations import duration_ms

    def scans(n: LogicalNode):
        if isinstance(n, Scan):
            yield n
        for child in n.inputs():
            yield from scans(child)

    ttls = []
    for scan in scans(node):
        text = dict(scan.properties).get("state.ttl")
        if text is None:
            return None
        try:
            ttls.append(duration_ms(text))
        except ValueError:  # the catalog reports it
            return None
    return max(ttls, default=None)

"""Analyze: resolve names and types against the catalog and build the logical plan.

``Analyzer.script`` walks a parsed file in order: DDL changes the catalog
(computed columns and watermarks are typed here), each query or INSERT becomes
a logical plan ending in a ``Sink``. Every user error becomes a positioned
diagnostic, and the user sees every problem at once: each statement is checked,
and within a SELECT each clause (WHERE, GROUP BY, every SELECT item, HAVING) is
bound on its own. What depends on a name that failed fails silently instead of
cascading: a column of a GROUP BY that failed is not "ungrouped", a view whose
definition failed is not "unknown".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from compiler import ast, functions
from compiler import logical as lg
from compiler import types as t
from compiler.catalog import (
    Catalog,
    CatalogColumn,
    SourceDef,
    ViewDef,
    Watermark,
    check_changelog_table,
    check_properties,
)
from compiler.errors import Diagnostics, Span, did_you_mean
from compiler.types import SqlType

UNIT_MS = {
    "MILLISECOND": 1,
    "SECOND": 1000,
    "MINUTE": 60_000,
    "HOUR": 3_600_000,
    "DAY": 86_400_000,
    "WEEK": 7 * 86_400_000,
}

KAFKA_METADATA = {
    "timestamp": t.TIMESTAMP_LTZ,
    "partition": t.INT,
    "offset": t.BIGINT,
    "topic": t.VARCHAR,
    "timestamp-type": t.VARCHAR,
    "leader-epoch": t.INT,
}


# characters a physical column's name may not contain (see create_source)
_UNREADABLE_NAME = re.compile(r'["\\\x00-\x1f]')


class _Abort(Exception):
    """Stops analysis of one statement (or one SELECT item) after an error."""


@dataclass(frozen=True)
class ScopeField:
    qualifier: str | None
    name: str
    type: SqlType
    index: int
    label: str | None = None  # the plan's (unique) field name, when it differs from name

    @property
    def ref_name(self) -> str:
        return self.label or self.name


@dataclass
class Scope:
    fields: list[ScopeField]

    @staticmethod
    def of(schema: lg.Schema, qualifier: str | None) -> Scope:
        return Scope([ScopeField(qualifier, f.name, f.type, i) for i, f in enumerate(schema)])

    def concat(self, other: Scope) -> Scope:
        offset = len(self.fields)
        return Scope(
            self.fields
            + [ScopeField(f.qualifier, f.name, f.type, f.index + offset, f.label) for f in other.fields]
        )

    def find(self, name: str, qualifier: str | None) -> list[ScopeField]:
        lname = name.lower()
        lq = qualifier.lower() if qualifier else None
        return [
            f
            for f in self.fields
            if f.name.lower() == lname and (lq is None or (f.qualifier or "").lower() == lq)
        ]

    def qualifiers(self) -> set[str]:
        return {f.qualifier.lower() for f in self.fields if f.qualifier}


@dataclass
class AnalyzedQuery:
    """One runnable statement: its logical plan (a Sink) and where it came from."""

    plan: lg.Sink
    statement: ast.Statement
    span: Span
    warnings: list[str] = field(default_factory=list)


@dataclass
class AnalyzedScript:
    queries: list[AnalyzedQuery]
    utilities: list[ast.Statement]  # SHOW, DESCRIBE, EXPLAIN, in order


def interval_ms(node: ast.Interval, diagnostics: Diagnostics, what: str = "interval") -> int:
    """Milliseconds of a day-time interval literal; errors go to diagnostics."""
    text = node.text.strip()
    if node.to_unit is not None:
        match = re.fullmatch(r"(-?)(\d+):(\d+)(?::(\d+(?:\.\d+)?))?", text)
        if not match or node.unit not in ("HOUR", "MINUTE", "DAY"):
            diagnostics.error("BindError", f"cannot read interval '{text}'", node.span)
            raise _Abort
        sign = -1 if match.group(1) else 1
        parts = [float(p) for p in match.groups()[1:] if p is not None]
        units = {"DAY": [86_400_000, 3_600_000, 60_000], "HOUR": [3_600_000, 60_000, 1000],
                 "MINUTE": [60_000, 1000, 1]}[node.unit]
        return sign * int(round(sum(p * u for p, u in zip(parts, units))))
    if node.unit in ("MONTH", "YEAR"):
        diagnostics.error(
            "UnsupportedError",
            f"{what} in {node.unit}S has no fixed length; use DAY, HOUR, MINUTE or SECOND",
            node.span,
        )
        raise _Abort
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        diagnostics.error(
            "BindError",
            f"interval literal '{text}' is not a number",
            node.span,
            hint="write e.g. INTERVAL '5' MINUTE",
        )
        raise _Abort
    value = float(text) * UNIT_MS[node.unit]
    if value != int(value):
        diagnostics.error("BindError", f"interval '{text}' {node.unit} is not whole milliseconds",
                          node.span)
        raise _Abort
    return int(value)


def parse_timestamp_literal(text: str) -> int | None:
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text.strip(), fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return int(moment.timestamp() * 1000)
    return None


def parse_date_literal(text: str) -> int | None:
    """Days since the epoch of ``YYYY-MM-DD``, or None."""
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(day.timestamp()) // 86_400


def derive_name(expr: ast.Expr) -> str:
    """A column name for an unaliased SELECT item, from the expression itself."""
    if isinstance(expr, ast.Column):
        return expr.name
    if isinstance(expr, ast.Star):
        return "star"
    if isinstance(expr, ast.Call) and expr.name in ("PERCENTILE_CONT", "PERCENTILE_DISC") and (
            expr.args and isinstance(expr.args[0], ast.Literal) and expr.within_group):
        percent = f"{float(expr.args[0].value) * 100:g}".replace(".", "_")  # type: ignore[arg-type]
        return f"p{percent}_{derive_name(expr.within_group[0].expr)}"
    if isinstance(expr, ast.Call):
        parts = [expr.name.lower()]
        for arg in expr.args[:2]:
            parts.append(derive_name(arg))
        for item in expr.within_group[:1]:
            parts.append(derive_name(item.expr))
        return "_".join(p for p in parts if p and p != "expr")
    if isinstance(expr, ast.Cast):
        return derive_name(expr.operand)
    if isinstance(expr, ast.Extract):
        return f"{expr.unit.lower()}_{derive_name(expr.operand)}"
    if isinstance(expr, ast.Literal):
        return "literal"
    return "expr"


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        key = name.lower()
        if key in seen:
            seen[key] += 1
            name = f"{name}_{seen[key]}"
        else:
            seen[key] = 1
        result.append(name)
    return result


def contains_aggregate(expr: ast.Expr) -> bool:
    return any(
        isinstance(n, ast.Call) and n.over is None and n.name in functions.AGGREGATES
        for n in iter_ast(expr, into_over=False)
    )


def iter_ast(expr: object, into_over: bool = True, into_subqueries: bool = False):
    """Every expression node below ``expr`` (pre-order)."""
    if expr is None:
        return
    yield expr
    if isinstance(expr, ast.ScalarSubquery) and not into_subqueries:
        return
    if isinstance(expr, ast.Call) and expr.over is not None and not into_over:
        # the arguments of an OVER call may hold aggregates (AVG(SUM(x)) OVER ...)
        for arg in expr.args:
            yield from iter_ast(arg, into_over, into_subqueries)
        return
    if not hasattr(expr, "__dataclass_fields__"):
        return
    for name in expr.__dataclass_fields__:
        if name == "span":
            continue
        value = getattr(expr, name)
        if isinstance(value, tuple):
            for item in value:
                if isinstance(item, tuple):
                    for sub in item:
                        yield from iter_ast(sub, into_over, into_subqueries)
                else:
                    yield from iter_ast(item, into_over, into_subqueries)
        elif hasattr(value, "__dataclass_fields__") and not isinstance(value, SqlType):
            yield from iter_ast(value, into_over, into_subqueries)


@dataclass
class _Bound:
    """A relation during analysis: its plan, the names visible from it, its time columns."""

    plan: lg.LogicalNode
    scope: Scope
    window: lg.WindowTVF | None = None  # the TVF whose window columns are in scope


class Analyzer:
    def __init__(self, catalog: Catalog, diagnostics: Diagnostics):
        self.catalog = catalog
        self.diag = diagnostics
        self.ctes: list[dict[str, ast.CTE]] = []
        # streams, tables and views whose definition failed (already reported): a
        # later use of the name is not an "unknown" error of its own
        self.failed_names: set[str] = set()

    # ================================================================== statements

    def script(self, script: ast.Script) -> AnalyzedScript:
        queries: list[AnalyzedQuery] = []
        utilities: list[ast.Statement] = []
        for stmt in script.statements:
            try:
                result = self.statement(stmt)
            except _Abort:
                continue
            if isinstance(result, AnalyzedQuery):
                queries.append(result)
            elif result is not None:
                utilities.append(result)
        return AnalyzedScript(queries, utilities)

    def statement(self, stmt: ast.Statement) -> AnalyzedQuery | ast.Statement | None:
        if isinstance(stmt, (ast.CreateSource, ast.CreateView)):
            errors_before = len(self.diag.errors)
            try:
                if isinstance(stmt, ast.CreateSource):
                    self.create_source(stmt)
                else:
                    self.create_view(stmt)
            finally:
                if self.catalog.get(stmt.name) is not None:
                    self.failed_names.discard(stmt.name.lower())
                elif len(self.diag.errors) > errors_before:
                    self.failed_names.add(stmt.name.lower())
            return None
        if isinstance(stmt, ast.Drop):
            if self.catalog.get(stmt.name) is None and stmt.name.lower() in self.failed_names:
                return None  # its definition failed; that error is reported already
            self.catalog.drop(stmt, self.diag)
            return None
        if isinstance(stmt, ast.QueryStatement):
            plan, _ = self.query(stmt.query)
            return AnalyzedQuery(lg.Sink(plan, None, span=stmt.span), stmt, stmt.span)
        if isinstance(stmt, ast.Insert):
            return self.insert(stmt)
        if isinstance(stmt, ast.Describe):
            if self.catalog.get(stmt.name) is None:
                self.unknown_object(stmt.name, stmt.name_span)
            return stmt
        if isinstance(stmt, ast.Explain):
            inner = stmt.statement
            if not isinstance(inner, (ast.QueryStatement, ast.Insert)):
                self.diag.error("UnsupportedError", "EXPLAIN takes a query or an INSERT",
                                stmt.span)
                raise _Abort
            self.statement(inner)  # checks it
            return stmt
        return stmt  # SHOW

    def unknown_object(self, name: str, span: Span) -> None:
        if name.lower() in self.failed_names:
            raise _Abort  # its definition failed, and that error is reported already
        suggestion = self.catalog.suggest(name)
        self.diag.error(
            "BindError",
            f"unknown stream, table or view '{name}'"
            + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            span,
        )
        raise _Abort

    # ------------------------------------------------------------------ DDL

    def create_source(self, stmt: ast.CreateSource) -> None:
        errors_before = len(self.diag.errors)
        check_properties(stmt.kind, stmt.name, stmt.properties, stmt.name_span, self.diag)
        check_changelog_table(stmt, self.diag)
        connector = next((p.value for p in stmt.properties if p.key == "connector"), "")
        if connector == "upsert-kafka" and stmt.primary_key is None:
            prop = next(p for p in stmt.properties if p.key == "connector")
            self.diag.error(
                "BindError",
                "connector 'upsert-kafka' needs a PRIMARY KEY (the message key that rows "
                "are upserted by)",
                prop.span,
                hint="declare e.g. PRIMARY KEY (id) NOT ENFORCED",
            )
        seen: dict[str, ast.ColumnDef] = {}
        for col in stmt.columns:
            if col.name.lower() in seen:
                self.diag.error("BindError", f"duplicate column '{col.name}'", col.span)
            seen[col.name.lower()] = col
            if col.computed is None and col.metadata_key is None and _UNREADABLE_NAME.search(
                col.name
            ):
                # the JSON decoder maps record keys to fields by name (msgspec), and
                # refuses these characters in a key it looks up
                self.diag.error(
                    "UnsupportedError",
                    f"column name {col.name!r} contains a double quote, a backslash or a "
                    "control character; sqlc cannot read such a field from a record",
                    col.span,
                    hint="rename the field upstream, or read it under another name",
                )
        # physical and metadata columns first: computed columns are typed over them
        columns: dict[str, CatalogColumn] = {}
        for col in stmt.columns:
            if col.computed is not None:
                continue
            assert col.type is not None
            typ = self.type_of(col.type)
            if typ is None:
                continue
            if col.metadata_key is not None:
                key = col.metadata_key or col.name
                if connector in ("kafka", "upsert-kafka") and key not in KAFKA_METADATA:
                    suggestion = did_you_mean(key, list(KAFKA_METADATA))
                    self.diag.error(
                        "BindError",
                        f"unknown Kafka metadata key '{key}'"
                        + (f"; did you mean '{suggestion}'?" if suggestion else ""),
                        col.metadata_span,
                        hint="available: " + ", ".join(KAFKA_METADATA),
                    )
                elif connector not in ("kafka", "upsert-kafka"):
                    self.diag.error(
                        "UnsupportedError",
                        f"connector '{connector}' has no metadata columns",
                        col.span,
                    )
            columns[col.name.lower()] = CatalogColumn(
                col.name, typ.with_nullable(not col.not_null), None, col.metadata_key,
                col.comment, col.span,
            )
        base_schema = tuple(lg.Field(c.name, c.type) for c in columns.values())
        scope = Scope.of(base_schema, stmt.name)
        for col in stmt.columns:
            if col.computed is None:
                continue
            try:
                for node in iter_ast(col.computed):
                    if isinstance(node, ast.Column) and node.name.lower() in seen and seen[
                        node.name.lower()
                    ].computed is not None:
                        self.diag.error(
                            "BindError",
                            f"computed column '{col.name}' refers to computed column "
                            f"'{node.name}'; computed columns may only use physical and "
                            "metadata columns",
                            node.span,
                        )
                        raise _Abort
                bound = self.expr(col.computed, scope, "a computed column")
            except _Abort:
                continue
            columns[col.name.lower()] = CatalogColumn(
                col.name, bound.type, col.computed, None, col.comment, col.span
            )
        ordered = [columns[c.name.lower()] for c in stmt.columns if c.name.lower() in columns]
        watermark = None
        if stmt.watermark is not None:
            watermark = self.watermark(stmt, ordered)
            if watermark is not None:
                ordered = [
                    replace(c, type=replace(c.type, time_attribute="ROWTIME"))
                    if c.name.lower() == watermark.column.lower()
                    else c
                    for c in ordered
                ]
        primary_key: tuple[str, ...] = ()
        if stmt.primary_key is not None:
            names = []
            for key in stmt.primary_key.columns:
                col = columns.get(key.name.lower())
                if col is None:
                    self.diag.error(
                        "BindError",
                        f"primary key column '{key.name}' is not a column of {stmt.name}",
                        key.span,
                    )
                    continue
                names.append(col.name)
            if stmt.primary_key.enforced:  # written ENFORCED; nothing written is NOT ENFORCED
                self.diag.error(
                    "UnsupportedError",
                    "sqlc cannot enforce a primary key; declare it NOT ENFORCED (as Flink "
                    "requires)",
                    stmt.primary_key.span,
                    hint="a key sqlc trusts the data to keep: PRIMARY KEY (...) NOT ENFORCED, "
                    "or PRIMARY KEY alone",
                )
            primary_key = tuple(names)
            # key columns are NOT NULL, as in Flink
            ordered = [
                replace(c, type=c.type.with_nullable(False)) if c.name in primary_key else c
                for c in ordered
            ]
        if len(self.diag.errors) > errors_before:
            return
        definition = SourceDef(
            kind=stmt.kind,
            name=stmt.name,
            columns=tuple(ordered),
            watermark=watermark,
            primary_key=primary_key,
            properties={p.key: p.value for p in stmt.properties},
            span=stmt.span,
            property_spans={p.key: p.span for p in stmt.properties},
            origin=self.diag.source.path,
        )
        self.catalog.add(definition, stmt.if_not_exists, self.diag, stmt.name_span)

    def type_of(self, name: ast.TypeName) -> SqlType | None:
        base = t.ALIASES.get(name.name, name.name)
        if base not in t.KNOWN:
            suggestion = did_you_mean(base, sorted(t.KNOWN | set(t.ALIASES)))
            self.diag.error(
                "BindError",
                f"unknown data type '{name.name}'"
                + (f"; did you mean {suggestion}?" if suggestion else ""),
                name.span,
            )
            return None
        children = []
        for child in name.children:
            typ = self.type_of(child)
            if typ is None:
                return None
            children.append(typ)
        if base == "DECIMAL" and name.params:
            precision, scale = name.params[0], (name.params[1] if len(name.params) > 1 else 0)
            problems = []
            if not 1 <= precision <= 38:
                problems.append(f"the precision must be 1 to 38, got {precision}")
            if not 0 <= scale <= precision:
                problems.append(f"the scale must be 0 to the precision, got {scale}")
            if problems:
                self.diag.error("BindError", f"{name}: " + "; ".join(problems), name.span)
                return None
        if base in t.TIMESTAMPS and name.params and name.params[0] != 3:
            self.diag.error(
                "UnsupportedError",
                f"{base}({name.params[0]}): sqlc keeps event time in milliseconds; "
                f"use {base}(3)",
                name.span,
            )
            return None
        return t.from_name(base, name.params, tuple(children))

    def watermark(self, stmt: ast.CreateSource, columns: list[CatalogColumn]) -> Watermark | None:
        assert stmt.watermark is not None
        wm = stmt.watermark
        target = next((c for c in columns if c.name.lower() == wm.column.name.lower()), None)
        if target is None:
            suggestion = did_you_mean(wm.column.name, [c.name for c in columns])
            self.diag.error(
                "BindError",
                f"watermark column '{wm.column.name}' is not a column of {stmt.name}"
                + (f"; did you mean '{suggestion}'?" if suggestion else ""),
                wm.column.span,
            )
            return None
        if not target.type.is_timestamp:
            self.diag.error(
                "BindError",
                f"watermark column '{target.name}' is {target.type.sql()}; it must be "
                "TIMESTAMP(3) or TIMESTAMP_LTZ(3)",
                wm.column.span,
                hint=f"add a computed column, e.g. event_time AS TO_TIMESTAMP({target.name})",
            )
            return None
        scope = Scope.of(tuple(lg.Field(c.name, c.type) for c in columns), stmt.name)
        try:
            bound = self.expr(wm.expr, scope, "a watermark")
        except _Abort:
            return None
        if not bound.type.is_timestamp:
            self.diag.error(
                "BindError",
                f"the watermark expression is {bound.type.sql()}; it must be a timestamp",
                wm.expr.span,
            )
            return None
        bound_ms: int | None = None
        expr = wm.expr
        if isinstance(expr, ast.Column) and expr.name.lower() == target.name.lower():
            bound_ms = 0
        elif (
            isinstance(expr, ast.Binary)
            and expr.op == "-"
            and isinstance(expr.left, ast.Column)
            and expr.left.name.lower() == target.name.lower()
            and isinstance(expr.right, ast.Interval)
        ):
            bound_ms = interval_ms(expr.right, self.diag)
            if bound_ms < 0:
                self.diag.error("BindError", "the watermark delay must not be negative",
                                expr.right.span)
                return None
        text = self.diag.source.fragment(wm.expr.span)
        return Watermark(target.name, wm.expr, bound_ms, text)

    def create_view(self, stmt: ast.CreateView) -> None:
        plan, _ = self.query(stmt.query)
        schema = plan.schema
        names = [f.name for f in schema]
        if stmt.column_names:
            if len(stmt.column_names) != len(schema):
                self.diag.error(
                    "BindError",
                    f"view {stmt.name} names {len(stmt.column_names)} columns but its query "
                    f"has {len(schema)}",
                    stmt.columns_span,
                )
                raise _Abort
            names = list(stmt.column_names)
        dependencies = sorted(
            {
                node.name
                for node in _relations(stmt.query)
                if isinstance(node, ast.TableRef) and self.catalog.get(node.name) is not None
            }
        )
        columns = tuple(
            CatalogColumn(name, f.type, span=stmt.span) for name, f in zip(names, schema)
        )
        view = ViewDef(stmt.name, stmt.query, columns, tuple(dependencies), stmt.span,
                       self.diag.source.path)
        self.catalog.add(view, stmt.if_not_exists, self.diag, stmt.name_span)

    def insert(self, stmt: ast.Insert) -> AnalyzedQuery:
        target = self.catalog.get(stmt.target)
        if target is None:
            self.unknown_object(stmt.target, stmt.target_span)
        assert target is not None
        if isinstance(target, ViewDef):
            self.diag.error("BindError", f"cannot INSERT INTO view '{target.name}'",
                            stmt.target_span)
            raise _Abort
        plan, _ = self.query(stmt.query)
        writable = [c for c in target.columns if c.kind == "physical"]
        if stmt.columns:
            by_name = {c.name.lower(): c for c in writable}
            chosen = []
            for name in stmt.columns:
                if name.lower() not in by_name:
                    self.diag.error("BindError", f"'{name}' is not a column of {target.name}",
                                    stmt.target_span)
                    raise _Abort
                chosen.append(by_name[name.lower()])
            writable = chosen
        schema = plan.schema
        if len(schema) != len(writable):
            self.diag.error(
                "BindError",
                f"INSERT INTO {target.name} writes {len(writable)} columns but the query "
                f"returns {len(schema)}",
                stmt.query.span,
            )
            raise _Abort
        failed = False
        for i, (out, col) in enumerate(zip(schema, writable)):
            if t.common_type(out.type, col.type) is None and not col.type.is_string:
                self.diag.error(
                    "BindError",
                    f"column '{out.name}' is {out.type.sql()} but {target.name}.{col.name} is "
                    f"{col.type.sql()}",
                    _column_span(stmt.query, i),
                )
                failed = True
        if failed:
            raise _Abort
        exprs = tuple(
            lg.ColumnRef(i, f.name, f.type) if f.type.name == col.type.name or f.type.is_null
            else lg.Call("CAST", (lg.ColumnRef(i, f.name, f.type),),
                         col.type.with_nullable(f.type.nullable))
            for i, (f, col) in enumerate(zip(schema, writable))
        )
        renamed = lg.Project(plan, exprs, tuple(c.name for c in writable), span=stmt.span)
        properties = tuple(sorted(target.properties.items()))
        sink = lg.Sink(renamed, target.name, properties, span=stmt.span)
        return AnalyzedQuery(sink, stmt, stmt.span)

    # ============================================================== queries

    def query(self, query: ast.Query) -> tuple[lg.LogicalNode, _Bound]:
        self.ctes.append({cte.name.lower(): cte for cte in query.ctes})
        try:
            if isinstance(query, ast.SetOp):
                return self.set_op(query)
            return self.select(query)
        finally:
            self.ctes.pop()

    def set_op(self, query: ast.SetOp) -> tuple[lg.LogicalNode, _Bound]:
        if query.op not in ("UNION ALL", "UNION"):
            self.diag.error("UnsupportedError", f"{query.op} is not supported on streams yet",
                            query.op_span)
            raise _Abort
        sides = []
        for side in (query.left, query.right):  # independent: check both
            try:
                sides.append(self.query(side)[0])
            except _Abort:
                pass
        if len(sides) < 2:
            raise _Abort
        left, right = sides
        ls, rs = left.schema, right.schema
        if len(ls) != len(rs):
            self.diag.error(
                "BindError",
                f"{query.op} sides have {len(ls)} and {len(rs)} columns",
                query.right.span,
            )
            raise _Abort
        failed = False
        for i, (a, b) in enumerate(zip(ls, rs)):
            if t.common_type(a.type, b.type) is None:
                self.diag.error(
                    "BindError",
                    f"{query.op} column '{a.name}' is {a.type.sql()} on the left and "
                    f"{b.type.sql()} on the right",
                    _column_span(query.right, i),
                )
                failed = True
        if failed:
            raise _Abort
        plan: lg.LogicalNode = lg.Union((left, right), query.op == "UNION", span=query.span)
        if query.op == "UNION":
            keys = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(ls))
            plan = lg.Aggregate(plan, keys, tuple(f.name for f in ls), (), (), span=query.span)
        return plan, _Bound(plan, Scope.of(plan.schema, None))

    # ------------------------------------------------------------------ FROM

    def relation(self, rel: ast.Relation) -> _Bound:
        if isinstance(rel, ast.TableRef):
            return self.table_ref(rel)
        if isinstance(rel, ast.SubqueryRef):
            plan, bound = self.query(rel.query)
            return _Bound(plan, Scope.of(plan.schema, rel.alias), None)
        if isinstance(rel, ast.WindowTVF):
            return self.window_tvf(rel)
        if isinstance(rel, ast.Join):
            return self.join(rel)
        if isinstance(rel, ast.MatchRecognize):
            return self.match_recognize(rel)
        self.diag.error("UnsupportedError", "unsupported FROM item", rel.span)
        raise _Abort

    def table_ref(self, rel: ast.TableRef) -> _Bound:
        qualifier = rel.alias or rel.name.split(".")[-1]
        for frame in reversed(self.ctes):
            cte = frame.get(rel.name.lower())
            if cte is not None:
                # a CTE sees the CTEs defined before it (not itself: no recursion)
                position = list(frame).index(rel.name.lower())
                earlier = dict(list(frame.items())[:position])
                saved = self.ctes
                self.ctes = self.ctes[: self.ctes.index(frame)] + [earlier]
                try:
                    plan, _ = self.query(cte.query)
                finally:
                    self.ctes = saved
                return _Bound(plan, Scope.of(plan.schema, qualifier))
        obj = self.catalog.get(rel.name)
        if obj is None:
            self.unknown_object(rel.name, rel.span)
        if isinstance(obj, ViewDef):
            saved, self.ctes = self.ctes, []
            try:
                plan, _ = self.query(obj.query)
            finally:
                self.ctes = saved
            names = tuple(c.name for c in obj.columns)
            if names != tuple(f.name for f in plan.schema):
                plan = lg.Project(
                    plan,
                    tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(plan.schema)),
                    names,
                )
            return _Bound(plan, Scope.of(plan.schema, qualifier))
        assert isinstance(obj, SourceDef)
        return _Bound(self.scan(obj, rel), Scope.of(self.scan(obj, rel).schema, qualifier))

    def scan(self, source: SourceDef, rel: ast.TableRef) -> lg.Scan:
        schema = tuple(lg.Field(c.name, c.type) for c in source.columns)
        scope = Scope.of(schema, source.name)
        computed = []
        for i, col in enumerate(source.columns):
            if col.computed is not None:
                computed.append((i, self.expr(col.computed, scope, "a computed column")))
        watermark = None
        if source.watermark is not None:
            index = next(
                i for i, c in enumerate(source.columns)
                if c.name.lower() == source.watermark.column.lower()
            )
            custom = None
            if source.watermark.bound_ms is None:
                custom = self.expr(source.watermark.expr, scope, "a watermark")
            idle = source.properties.get("scan.watermark.idle-timeout")
            watermark = lg.WatermarkSpec(index, source.watermark.bound_ms, custom,
                                         _duration_ms(idle) if idle else None)
        return lg.Scan(
            source=source.name,
            kind=source.kind,
            schema=schema,
            physical=tuple(i for i, c in enumerate(source.columns) if c.kind == "physical"),
            computed=tuple(computed),
            metadata=tuple(
                (i, c.metadata_key or c.name)
                for i, c in enumerate(source.columns)
                if c.kind == "metadata"
            ),
            watermark=watermark,
            properties=tuple(sorted(source.properties.items())),
            alias=rel.alias,
            span=rel.span,
        )

    def window_tvf(self, rel: ast.WindowTVF) -> _Bound:
        inner = self.table_ref(ast.TableRef(rel.input.name, span=rel.input.span))
        fields = inner.scope.find(rel.time_column.name, None)
        if not fields:
            suggestion = did_you_mean(rel.time_column.name, [f.name for f in inner.scope.fields])
            self.diag.error(
                "BindError",
                f"DESCRIPTOR column '{rel.time_column.name}' is not a column of "
                f"{rel.input.name}" + (f"; did you mean '{suggestion}'?" if suggestion else ""),
                rel.time_column.span,
            )
            raise _Abort
        time_field = fields[0]
        if time_field.type.time_attribute is None:
            hint = None
            if time_field.type.is_timestamp:
                hint = (
                    f"declare WATERMARK FOR {time_field.name} AS {time_field.name} - "
                    f"INTERVAL '5' SECOND in {rel.input.name}"
                )
            self.diag.error(
                "BindError",
                f"{rel.kind} needs a time attribute, but '{time_field.name}' "
                f"({time_field.type.sql()}) has no watermark",
                rel.time_column.span,
                hint=hint,
            )
            raise _Abort
        params: dict[str, int] = {}
        for name in ("size", "slide", "step", "gap", "offset"):
            value = getattr(rel, name)
            if value is None:
                continue
            if not isinstance(value, ast.Interval):
                self.diag.error(
                    "BindError",
                    f"{rel.kind} {name.upper()} must be an interval literal, e.g. "
                    "INTERVAL '5' MINUTE",
                    value.span,
                )
                raise _Abort
            ms = interval_ms(value, self.diag, f"{rel.kind} {name.upper()}")
            if name != "offset" and ms <= 0:
                self.diag.error("BindError", f"{rel.kind} {name.upper()} must be positive",
                                value.span)
                raise _Abort
            params[name] = ms
        required = {"TUMBLE": ("size",), "HOP": ("slide", "size"), "CUMULATE": ("step", "size"),
                    "SESSION": ("gap",)}[rel.kind]
        for name in required:
            if name not in params:
                self.diag.error("BindError", f"{rel.kind} needs its {name.upper()} interval",
                                rel.span)
                raise _Abort
        if rel.kind == "HOP" and params["slide"] > params["size"]:
            self.diag.error(
                "BindError",
                f"HOP slide ({_duration_text(params['slide'])}) must not exceed its size "
                f"({_duration_text(params['size'])})",
                rel.slide.span if rel.slide else rel.span,
                hint="HOP takes the slide first, then the size: HOP(TABLE t, DESCRIPTOR(ts), "
                "slide, size)",
            )
            raise _Abort
        if rel.kind == "HOP" and params["size"] % params["slide"] != 0:
            self.diag.error(
                "BindError",
                f"HOP size ({params['size']} ms) must be an integral multiple of its slide "
                f"({params['slide']} ms)",
                rel.size.span if rel.size else rel.span,
            )
            raise _Abort
        if rel.kind == "CUMULATE" and params["size"] % params["step"] != 0:
            self.diag.error(
                "BindError",
                f"CUMULATE max size ({params['size']} ms) must be an integral multiple of its "
                f"step ({params['step']} ms)",
                rel.size.span if rel.size else rel.span,
            )
            raise _Abort
        partition = []
        for col in rel.partition_by:
            if rel.kind != "SESSION":
                self.diag.error("BindError", f"{rel.kind} does not take PARTITION BY", col.span)
                raise _Abort
            found = inner.scope.find(col.name, None)
            if not found:
                self.column_error(col, inner.scope)
            partition.append(found[0].index)
        tvf = lg.WindowTVF(
            inner.plan,
            rel.kind,
            time_field.index,
            size_ms=params.get("size"),
            slide_ms=params.get("slide"),
            step_ms=params.get("step"),
            gap_ms=params.get("gap"),
            offset_ms=params.get("offset", 0),
            partition_by=tuple(partition),
            span=rel.span,
        )
        qualifier = rel.alias or rel.input.name.split(".")[-1]
        return _Bound(tvf, Scope.of(tvf.schema, qualifier), tvf)

    def join(self, rel: ast.Join) -> _Bound:
        left = self.relation(rel.left)
        right = self.relation(rel.right)
        overlap = left.scope.qualifiers() & right.scope.qualifiers()
        if overlap:
            self.diag.error(
                "BindError",
                f"both sides of the join are called '{sorted(overlap)[0]}'; give one an alias",
                rel.span,
            )
            raise _Abort
        scope = left.scope.concat(right.scope)
        width = len(left.scope.fields)
        # the join's output names are unique (request_id, request_id0): label the scope
        provisional = lg.Join(left.plan, right.plan, rel.kind, None)
        scope = Scope([
            replace(f, label=out.name if out.name != f.name else None)
            for f, out in zip(scope.fields, provisional.schema)
        ])
        condition = None
        if rel.using:
            parts = []
            for column in rel.using:
                name = column.name
                lf, rf = left.scope.find(name, None), right.scope.find(name, None)
                if not lf or not rf:
                    self.diag.error("BindError", f"USING column '{name}' is not on both sides",
                                    column.span)
                    raise _Abort
                parts.append(lg.Call("=", (
                    lg.ColumnRef(lf[0].index, lf[0].ref_name, lf[0].type),
                    lg.ColumnRef(rf[0].index + width, scope.fields[rf[0].index + width].ref_name,
                                 rf[0].type),
                ), t.BOOLEAN))
            condition = parts[0]
            for p in parts[1:]:
                condition = lg.Call("AND", (condition, p), t.BOOLEAN)
        elif rel.on is not None:
            self.no_aggregates(rel.on, "a join condition")
            condition = self.expr(rel.on, scope, "a join condition")
            self.require_boolean(condition, rel.on, "The join condition")
        elif rel.kind != "CROSS":
            self.diag.error("BindError", f"{self.join_keyword(rel)} needs an ON condition",
                            rel.span, hint="write CROSS JOIN for every pair of rows")
            raise _Abort
        lookup = False
        right_rel = rel.right
        if isinstance(right_rel, ast.TableRef):
            obj = self.catalog.get(right_rel.name)
            lookup = isinstance(obj, SourceDef) and obj.kind == "TABLE"
            if right_rel.system_time is not None:
                self.system_time(right_rel, obj, lookup, left.scope)
        left_name = next((f.qualifier for f in left.scope.fields if f.qualifier), "s")
        if rel.kind in ("RIGHT", "FULL") and lookup:
            self.diag.error(
                "UnsupportedError",
                f"{rel.kind} JOIN with lookup table '{right_rel.name}' (a lookup join keeps "
                "every stream row: use INNER or LEFT JOIN)",
                rel.span,
            )
            raise _Abort
        equi = _equi_keys(condition, width)
        if lookup:
            obj = self.catalog.get(right_rel.name)  # type: ignore[union-attr]
            assert isinstance(obj, SourceDef)
            if obj.connector in ("kafka", "upsert-kafka") and not obj.primary_key:
                self.diag.error(
                    "BindError",
                    f"Kafka table '{obj.name}' has no PRIMARY KEY: a lookup join reads a Kafka "
                    "topic as a changelog, kept by key",
                    right_rel.span,
                    hint=f"declare the key in CREATE TABLE {obj.name}, e.g. PRIMARY KEY (id) "
                    "NOT ENFORCED",
                )
                raise _Abort
            right_keys = {r for _, r in equi}
            key_cols = [i for i, c in enumerate(obj.columns) if c.name in obj.primary_key]
            if not equi:
                self.diag.error(
                    "BindError",
                    f"a join with lookup table '{obj.name}' needs an equality on its key, e.g. "
                    f"ON {left_name}.{(obj.primary_key or ('id',))[0]} = "
                    f"{right_rel.alias or obj.name}.{(obj.primary_key or ('id',))[0]}",
                    rel.span,
                )
                raise _Abort
            if key_cols and not set(key_cols) <= right_keys:
                self.diag.error(
                    "BindError",
                    f"the join with lookup table '{obj.name}' must use its whole primary key ("
                    + ", ".join(obj.primary_key) + ")",
                    rel.span,
                )
                raise _Abort
            if key_cols:  # looked up by the primary key; other equalities are checked after
                equi = tuple(next(p for p in equi if p[1] == k) for k in key_cols)
        node = lg.Join(left.plan, right.plan, rel.kind, condition, equi, None, lookup,
                       span=rel.span)
        if not lookup:
            node = replace(node, interval=_interval_bounds(condition, width, _rowtimes(node)))
            forever = [side for side, child in (("left", node.left), ("right", node.right))
                       if lg.state_ttl_ms(child) is None]
            if node.interval is None and forever:
                which = "both inputs" if len(forever) == 2 else f"its {forever[0]} input"
                self.diag.warning(
                    f"this join has no time bound: it keeps every row of {which} in state "
                    "for ever (a regular join)",
                    rel.span,
                    hint="bound it in time, e.g. AND b.event_time BETWEEN a.event_time AND "
                    "a.event_time + INTERVAL '1' HOUR, to make it an interval join whose state "
                    "the watermark frees, or set 'state.ttl' (e.g. '1 h') on the streams",
                )
        out_scope = Scope(
            [
                ScopeField(f.qualifier, f.name, out.type, f.index,
                           out.name if out.name != f.name else None)
                for f, out in zip(scope.fields, node.schema)
            ]
        )
        window = left.window or right.window
        return _Bound(node, out_scope, window)

    def join_keyword(self, rel: ast.Join) -> str:
        """The join as written (``JOIN``, ``LEFT OUTER JOIN``), for messages."""
        written = re.match(r"\s*((?:(?:INNER|LEFT|RIGHT|FULL|OUTER)\s+)*JOIN)\b",
                           self.diag.source.fragment(rel.span), re.IGNORECASE)
        return " ".join(written.group(1).upper().split()) if written else f"{rel.kind} JOIN"

    def system_time(self, rel: ast.TableRef, obj: object, lookup: bool, left: Scope) -> None:
        """``JOIN t FOR SYSTEM_TIME AS OF s.proc_time``: t is a lookup table, and the
        time is a time attribute of the stream."""
        assert rel.system_time is not None
        if not lookup:
            what = f"a {obj.kind.lower()}" if isinstance(obj, (SourceDef, ViewDef)) else "a query"
            self.diag.error(
                "BindError",
                f"FOR SYSTEM_TIME AS OF reads a lookup table (CREATE TABLE); '{rel.name}' is "
                f"{what}",
                rel.span,
                hint="join two streams with a time bound instead, e.g. ON ... AND b.event_time "
                "BETWEEN a.event_time AND a.event_time + INTERVAL '1' MINUTE",
            )
            raise _Abort
        time = self.expr(rel.system_time, left, "FOR SYSTEM_TIME AS OF")
        if time.type.time_attribute is None:
            self.diag.error(
                "BindError",
                "FOR SYSTEM_TIME AS OF takes a time attribute of the stream, but "
                f"'{self.diag.source.fragment(rel.system_time.span)}' is {time.type.sql()}",
                rel.system_time.span,
                hint="use the stream's processing-time column, e.g. proc_time AS PROCTIME()",
            )
            raise _Abort
        if time.type.time_attribute == "ROWTIME" and isinstance(obj, SourceDef) and (
            obj.watermark is None
        ):
            # a lookup store (PostgreSQL, Redis, a file) has only its current rows
            self.diag.warning(
                f"'{rel.name}' has no versions (no WATERMARK): the join reads its current "
                "row for each stream row, whatever the stream row's event time",
                rel.system_time.span,
                hint="write FOR SYSTEM_TIME AS OF a processing-time column (proc_time AS "
                "PROCTIME()), as Flink requires for a lookup join",
            )
        elif time.type.time_attribute == "ROWTIME":
            # Flink's event-time temporal join returns the version of the row valid
            # at the stream row's event time; a lookup returns the latest version,
            # which would be a silently wrong answer for a versioned table.
            self.diag.error(
                "UnsupportedError",
                "an event-time temporal join (FOR SYSTEM_TIME AS OF an event-time "
                f"attribute, '{self.diag.source.fragment(rel.system_time.span)}') is not "
                "supported yet: sqlc would return the latest version of each row, not the "
                "version valid at that time",
                rel.system_time.span,
                hint="join the latest version with FOR SYSTEM_TIME AS OF a processing-time "
                "column (proc_time AS PROCTIME()), or join the table's changes as a stream "
                "with a time bound",
            )
            raise _Abort

    def match_recognize(self, rel: ast.MatchRecognize) -> _Bound:
        inner = self.relation(rel.input)
        partition = tuple(self.expr(p, inner.scope, "PARTITION BY") for p in rel.partition_by)
        order = tuple(
            lg.OrderKey(self.expr(o.expr, inner.scope, "ORDER BY"), o.descending)
            for o in rel.order_by
        )
        if not order or order[0].expr.type.time_attribute is None or order[0].descending:
            self.diag.error(
                "BindError",
                "MATCH_RECOGNIZE must ORDER BY a time attribute ascending",
                rel.order_by[0].span if rel.order_by else rel.span,
            )
            raise _Abort
        if rel.rows_per_match and rel.rows_per_match != "ONE ROW PER MATCH":
            self.diag.error("UnsupportedError", f"{rel.rows_per_match} is not supported yet",
                            rel.span)
            raise _Abort
        variables = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", rel.pattern))
        defines = []
        failed = False
        for define in rel.define:  # each is checked on its own
            name, cond = define.name, define.condition
            try:
                if name.upper() not in {v.upper() for v in variables}:
                    self.diag.error("BindError",
                                    f"DEFINE {name} names no variable of PATTERN ({rel.pattern})",
                                    define.name_span)
                    raise _Abort
                bound = self.expr(_strip_pattern_refs(cond, variables), inner.scope, "DEFINE")
                self.require_boolean(bound, cond, f"DEFINE {name}")
            except _Abort:
                failed = True
                continue
            defines.append((name, self.diag.source.fragment(cond.span)))
        if failed:
            raise _Abort
        names, types, texts = [], [], []
        for item in rel.measures:
            if item.alias is None:
                self.diag.error("BindError", "every MEASURES expression needs an AS name",
                                item.span)
                raise _Abort
            expr = _strip_pattern_refs(item.expr, variables)
            if isinstance(expr, ast.Call) and expr.name in ("FIRST", "LAST", "PREV", "NEXT"):
                expr = expr.args[0]
            if isinstance(expr, ast.Call) and expr.name == "MATCH_ROWTIME":
                typ = SqlType("TIMESTAMP", False, (3,), time_attribute="ROWTIME")
            elif isinstance(expr, ast.Call) and expr.name in functions.AGGREGATES:
                args = [self.expr(a, inner.scope, "MEASURES").type for a in expr.args
                        if not isinstance(a, ast.Star)]
                result = functions.aggregate_type(expr.name, args)
                if isinstance(result, str):
                    self.diag.error("BindError", result, expr.span)
                    raise _Abort
                typ = result
            else:
                typ = self.expr(expr, inner.scope, "MEASURES").type
            names.append(item.alias)
            types.append(typ)
            texts.append(self.diag.source.fragment(item.expr.span))
        node = lg.Match(inner.plan, partition, order, rel.pattern, tuple(defines), tuple(names),
                        tuple(types), tuple(texts), rel.after_match or "SKIP TO NEXT ROW",
                        span=rel.span)
        return _Bound(node, Scope.of(node.schema, rel.alias))

    # ---------------------------------------------------------------- SELECT

    def select(self, sel: ast.Select) -> tuple[lg.LogicalNode, _Bound]:
        """Each clause is bound on its own (WHERE, GROUP BY, every SELECT item, HAVING),
        so one query reports all its independent errors; a name that failed to bind
        makes what depends on it fail silently rather than cascade."""
        if sel.from_ is None:
            self.diag.error("UnsupportedError", "a streaming query needs a FROM clause",
                            sel.span)
            raise _Abort
        bound = self.relation(sel.from_)
        failed = False
        plan = bound.plan
        if sel.where is not None:
            try:
                self.no_aggregates(sel.where, "WHERE")
                predicate = self.expr(sel.where, bound.scope, "WHERE")
                self.require_boolean(predicate, sel.where, "WHERE")
                bound, predicate = self.time_bounds_into_join(bound, predicate, sel.where)
                plan = bound.plan
                if predicate is not None:
                    plan = lg.Filter(plan, predicate, span=sel.where.span)
            except _Abort:
                failed = True
        bound = _Bound(plan, bound.scope, bound.window)
        group_items = list(sel.group_by)
        group_failed = False
        try:
            bound, group_items = self.legacy_group_window(sel, bound, group_items)
        except _Abort:
            failed = group_failed = True
            group_items = [g for g in group_items
                           if not (isinstance(g, ast.Call) and g.name in functions.GROUP_WINDOWS)]
        items, stars, stars_failed = self.expand_stars(sel.items, bound.scope)
        failed = failed or stars_failed
        aggregating = bool(sel.group_by) or any(
            contains_aggregate(i.expr) for i in items
        ) or (sel.having is not None)
        item_exprs: list[ast.Expr | None]
        if aggregating:
            plan, post_scope, item_exprs, having, agg_failed = self.aggregate(
                sel, bound, group_items, items, stars, group_failed)
            failed = failed or agg_failed
        else:
            plan = bound.plan
            post_scope = bound.scope
            item_exprs = [i.expr for i in items]
            having = None
        # OVER window functions, evaluated on the (aggregated) rows
        over_calls = _over_calls([e for e in item_exprs if e is not None])
        if over_calls:
            try:
                plan, post_scope, item_exprs = self.over(
                    plan, post_scope, over_calls, item_exprs,
                    bound.window is not None and aggregating)
            except _Abort:  # reported; the items with OVER calls are not bound again
                failed = True
                item_exprs = [None if e is not None and _over_calls([e]) else e
                              for e in item_exprs]
        exprs: list[lg.BoundExpr] = []
        for item, expr in zip(items, item_exprs):
            if expr is None:  # its error is reported already
                continue
            try:
                exprs.append(self.expr(expr, post_scope, "SELECT"))
            except _Abort:
                failed = True
        if failed:
            raise _Abort
        names = unique_names([i.alias or derive_name(i.expr) for i in items])
        if having is not None:
            plan = lg.Filter(plan, having, span=sel.having.span if sel.having else sel.span)
        if sel.order_by:
            plan = self.order_by(sel, plan, post_scope, exprs, names)
        plan = lg.Project(plan, tuple(exprs), tuple(names), span=sel.span)
        if sel.distinct:
            schema = plan.schema
            keys = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(schema))
            plan = lg.Aggregate(plan, keys, tuple(names), (), (), span=sel.span)
        if sel.limit is not None and not (sel.order_by and isinstance(plan.input, lg.TopN)):
            plan = lg.Limit(plan, sel.limit, span=sel.span)
        # EMIT CHANGES on a query without aggregation (a ksqlDB push query): every
        # row is emitted as it arrives, which is what such a query does anyway.
        if sel.emit is not None and not aggregating and sel.emit.kind != "CHANGES":
            self.diag.error(
                "BindError",
                f"EMIT {sel.emit.kind} applies to an aggregation; this query has no GROUP BY",
                sel.emit.span,
                hint="a query without aggregation emits every row as it arrives "
                "(EMIT CHANGES, or no EMIT clause)",
            )
            raise _Abort
        return plan, _Bound(plan, Scope.of(plan.schema, None))

    def time_bounds_into_join(self, bound: _Bound, predicate: lg.BoundExpr, where: ast.Expr
                              ) -> tuple[_Bound, lg.BoundExpr | None]:
        """A time bound between the two sides of a join written in WHERE (spec
        FR-JOIN-002, Query 7) makes it an interval join, as Flink's planner does.
        On an outer join such a WHERE also drops the NULL-padded rows, so the
        join is inner; the user is warned, since that is rarely what they meant."""
        join = bound.plan
        if not isinstance(join, lg.Join) or join.interval is not None or join.lookup:
            return bound, predicate
        width = len(join.left.schema)
        rowtimes = _rowtimes(join)
        conjuncts = _conjuncts(predicate)
        timing = [c for c in conjuncts
                  if _interval_bounds(c, width, rowtimes) is not None
                  or _is_half_bound(c, width, rowtimes)]
        combined = _and_all(([join.condition] if join.condition is not None else []) + timing)
        interval = _interval_bounds(combined, width, rowtimes)
        if interval is None:
            return bound, predicate
        kind = join.kind
        if kind != "INNER":
            self.diag.warning(
                f"this WHERE condition discards the NULL-padded rows of the {kind} JOIN, so "
                "it runs as an INNER interval join",
                where.span,
                hint="move the time bound into the ON clause to keep unmatched rows",
            )
            kind = "INNER"
        new_join = replace(join, kind=kind, condition=combined, interval=interval)
        rest = [c for c in conjuncts if c not in timing]
        out = Scope.of(new_join.schema, None)
        scope = Scope([replace(f, type=o.type) for f, o in zip(bound.scope.fields, out.fields)])
        return _Bound(new_join, scope, bound.window), _and_all(rest)

    def expand_stars(self, items: tuple[ast.SelectItem, ...], scope: Scope
                     ) -> tuple[list[ast.SelectItem], list[ast.Star | None], bool]:
        """The SELECT items with every ``*`` expanded; for each, the star it came from
        (or None); and whether a star failed (it is dropped, its error reported)."""
        out: list[ast.SelectItem] = []
        stars: list[ast.Star | None] = []
        failed = False
        for item in items:
            if isinstance(item.expr, ast.Star):
                q = item.expr.table
                fields = [f for f in scope.fields
                          if q is None or (f.qualifier or "").lower() == q.lower()]
                if q is not None and not fields:
                    self.diag.error("BindError", f"unknown table or alias '{q}' in {q}.*",
                                    item.span)
                    failed = True
                for f in fields:
                    out.append(ast.SelectItem(ast.Column(f.name, f.qualifier, span=item.span),
                                              None, span=item.span))
                    stars.append(item.expr)
            else:
                out.append(item)
                stars.append(None)
        return out, stars, failed

    def legacy_group_window(self, sel: ast.Select, bound: _Bound, group_items: list
                            ) -> tuple[_Bound, list]:
        """``GROUP BY k, TUMBLE(ts, INTERVAL ...)``: a window TVF under the aggregate."""
        windows = [
            g for g in group_items
            if isinstance(g, ast.Call) and g.name in functions.GROUP_WINDOWS
        ]
        if not windows:
            return bound, group_items
        if len(windows) > 1:
            self.diag.error("BindError", "GROUP BY takes at most one group window",
                            windows[1].span)
            raise _Abort
        call = windows[0]
        expected = functions.GROUP_WINDOWS[call.name]
        if len(call.args) != expected:
            usage = {"TUMBLE": "TUMBLE(time_attr, size)", "HOP": "HOP(time_attr, slide, size)",
                     "SESSION": "SESSION(time_attr, gap)"}[call.name]
            self.diag.error("BindError", f"{call.name} takes {expected} arguments: {usage}",
                            call.span)
            raise _Abort
        time_arg = call.args[0]
        if isinstance(time_arg, ast.Call) and time_arg.name == "PROCTIME" and not time_arg.args:
            # GROUP BY TUMBLE(PROCTIME(), ...): window on the arrival time of each row
            width = len(bound.scope.fields)
            proc = self.expr(time_arg, bound.scope, "GROUP BY")
            refs = tuple(lg.ColumnRef(f.index, f.ref_name, f.type) for f in bound.scope.fields)
            projected = lg.Project(bound.plan, refs + (proc,),
                                   tuple(f.name for f in bound.scope.fields) + ("proctime",),
                                   span=time_arg.span)
            bound = _Bound(projected, Scope(bound.scope.fields + [
                ScopeField(None, "proctime", proc.type, width)]), bound.window)
            time_arg = ast.Column("proctime", span=time_arg.span)
        if not isinstance(time_arg, ast.Column):
            self.diag.error("BindError", f"{call.name} takes a time attribute column first",
                            time_arg.span)
            raise _Abort
        found = self.resolve(time_arg, bound.scope)
        if found.type.time_attribute is None:
            self.diag.error(
                "BindError",
                f"{call.name} needs a time attribute, but '{found.name}' has none here",
                time_arg.span,
                hint=_LOST_TIME_HINT if _has_regular_join(bound.plan) else
                f"declare WATERMARK FOR {found.name} in the stream's DDL",
            )
            raise _Abort
        values = {}
        names = {"TUMBLE": ("size",), "HOP": ("slide", "size"), "SESSION": ("gap",)}[call.name]
        for name, arg in zip(names, call.args[1:]):
            if not isinstance(arg, ast.Interval):
                self.diag.error("BindError", f"{call.name} {name.upper()} must be an interval",
                                arg.span)
                raise _Abort
            values[name] = interval_ms(arg, self.diag, f"{call.name} {name.upper()}")
            if values[name] <= 0:
                self.diag.error("BindError", f"{call.name} {name.upper()} must be positive",
                                arg.span)
                raise _Abort
        if call.name == "HOP" and values["slide"] > values["size"]:
            self.diag.error(
                "BindError",
                f"HOP slide ({_duration_text(values['slide'])}) must not exceed its size "
                f"({_duration_text(values['size'])})",
                call.args[1].span,
                hint="HOP takes the slide first, then the size: HOP(time_attr, slide, size)",
            )
            raise _Abort
        if call.name == "HOP" and values["size"] % values["slide"]:
            self.diag.error("BindError", "HOP size must be an integral multiple of its slide",
                            call.args[2].span)
            raise _Abort
        partition: tuple[int, ...] = ()
        if call.name == "SESSION":
            # a legacy session window is per group key, as in Flink's group windows
            keys = []
            for g in group_items:
                if g is call or not isinstance(g, ast.Column):
                    continue
                keys.append(self.resolve(g, bound.scope).index)
            partition = tuple(keys)
        tvf = lg.WindowTVF(
            bound.plan, call.name, found.index,
            size_ms=values.get("size"), slide_ms=values.get("slide"), gap_ms=values.get("gap"),
            partition_by=partition, span=call.span,
        )
        width = len(bound.scope.fields)
        scope = Scope(
            [replace(f, type=f.type.plain()) if f.type.time_attribute == "ROWTIME" else f
             for f in bound.scope.fields]
            + [ScopeField(None, f.name, f.type, width + i)
               for i, f in enumerate(tvf.schema[width:])]
        )
        new_items = []
        for g in group_items:
            if g is call:
                new_items.append(ast.Column("window_start", span=call.span))
                new_items.append(ast.Column("window_end", span=call.span))
            else:
                new_items.append(g)
        return _Bound(tvf, scope, tvf), new_items

    def aggregate(self, sel: ast.Select, bound: _Bound, group_items: list,
                  items: list[ast.SelectItem], stars: list[ast.Star | None],
                  group_failed: bool):
        """The Aggregate node, the scope after it, each SELECT item rewritten over it
        (None where the item failed), the bound HAVING, and whether anything failed.
        ``group_failed``: a GROUP BY item failed already, so which columns are grouped
        is unknown and "must appear in GROUP BY" would be a guess."""
        scope = bound.scope
        failed = False
        plain_keys: list[ast.Expr] = []
        sets_node: ast.GroupingSets | None = None
        for g in group_items:
            if isinstance(g, ast.GroupingSets):
                if sets_node is not None:
                    self.diag.error("UnsupportedError", "only one GROUPING SETS/ROLLUP/CUBE per "
                                    "GROUP BY", g.span)
                    raise _Abort
                sets_node = g
            else:
                aggregate = next((n for n in iter_ast(g, into_over=False)
                                  if isinstance(n, ast.Call) and n.over is None
                                  and n.name in functions.AGGREGATES), None)
                if aggregate is not None:
                    self.diag.error("BindError", "GROUP BY cannot contain an aggregate",
                                    aggregate.span)
                    group_failed = True
                    continue
                plain_keys.append(g)
        # every distinct key expression, in first-seen order
        key_asts: list[ast.Expr] = []
        for k in plain_keys + [e for s in (sets_node.sets if sets_node else ()) for e in s]:
            if k not in key_asts:
                key_asts.append(k)
        aliases = {i.alias.lower(): i.expr for i in items if i.alias}
        key_bound: list[lg.BoundExpr] = []
        for k in list(key_asts):
            try:
                key_bound.append(self.expr(k, scope, "GROUP BY"))
            except _Abort:
                key_asts.remove(k)
                group_failed = True
        failed = failed or group_failed
        window = bound.window
        window_indices: set[int] = set()
        if window is not None:
            width = len(window.input.schema)
            # window columns sit at the end of the TVF output; map them in this scope
            window_names = {"window_start", "window_end", "window_time"}
            window_indices = {
                f.index for f in scope.fields
                if f.name in window_names and f.index >= 0
                and isinstance(bound.plan, (lg.WindowTVF, lg.Filter, lg.Join))
            }
            del width
        grouped_window = [
            i for i, k in enumerate(key_bound)
            if isinstance(k, lg.ColumnRef) and k.name in ("window_start", "window_end")
            and k.index in window_indices
        ]
        is_window_agg = window is not None and bool(grouped_window)
        used = _window_column_used(items) if window is not None and not grouped_window else None
        if used is not None and not group_failed:
            self.diag.error(
                "BindError",
                "window_start/window_end are selected but not grouped by; add them to "
                "GROUP BY",
                used.span,
            )
            raise _Abort
        if is_window_agg and window.kind == "SESSION" and not window.partition_by:
            other_keys = [key_names_ for key_names_, k in zip(
                [derive_name(a) for a in key_asts], key_bound)
                if not (isinstance(k, lg.ColumnRef) and k.index in window_indices)]
            if other_keys and _is_session_tvf(sel):
                self.diag.warning(
                    "SESSION without PARTITION BY builds global sessions over the whole "
                    f"stream (as Flink does); GROUP BY {', '.join(other_keys)} only splits each "
                    "global session",
                    sel.from_.span if sel.from_ is not None else sel.span,
                    hint=f"for sessions per {other_keys[0]} write SESSION(TABLE t PARTITION BY "
                    f"{other_keys[0]}, DESCRIPTOR(...), ...)",
                )
        grouping_sets = None
        if sets_node is not None:
            base = [key_asts.index(k) for k in plain_keys]
            grouping_sets = []
            for s in sets_node.sets:  # (keys that failed to bind are left out)
                grouping_sets.append(tuple(sorted(set(
                    base + [key_asts.index(e) for e in s if e in key_asts]))))
            if is_window_agg:
                for s, members in zip(sets_node.sets, grouping_sets):
                    if not any(i in members for i in grouped_window):
                        self.diag.error(
                            "BindError",
                            "every grouping set of a window aggregation must contain "
                            "window_start (as in Flink)",
                            sets_node.span,
                        )
                        raise _Abort
            grouping_sets = tuple(grouping_sets)
        key_names = unique_names([_key_name(k, b) for k, b in zip(key_asts, key_bound)])
        if is_window_agg:
            # the window's three columns are keys, whichever the user grouped by
            present = {key_bound[i].name for i in grouped_window}  # type: ignore[union-attr]
            for name in ("window_start", "window_end", "window_time"):
                if name in present:
                    continue
                f = next(f for f in scope.fields if f.name == name and f.index in window_indices)
                key_bound.append(lg.ColumnRef(f.index, f.ref_name, f.type))
                key_asts.append(ast.Column(name))
                key_names.append(name)
                if grouping_sets is not None:
                    idx = len(key_bound) - 1
                    grouping_sets = tuple(s + (idx,) for s in grouping_sets)
        # aggregates of SELECT, HAVING and ORDER BY
        agg_asts: list[ast.Call] = []
        having_expr = sel.having
        if having_expr is not None:
            having_expr = _substitute_aliases(having_expr, aliases, scope)
        sources = [i.expr for i in items] + ([having_expr] if having_expr is not None else [])
        for expr in sources:
            for node in iter_ast(expr, into_over=False):
                if isinstance(node, ast.Call) and node.over is None and (
                    node.name in functions.AGGREGATES
                ):
                    if node not in agg_asts:
                        agg_asts.append(node)
        aggs = []
        failed_aggs: list[ast.Call] = []
        for call in list(agg_asts):  # each aggregate on its own
            try:
                aggs.append(self.agg_call(call, scope))
            except _Abort:
                agg_asts.remove(call)
                failed_aggs.append(call)
                failed = True
        # an aggregate the SELECT list names (SUM(...) AS error_count) keeps that name
        aliased = {}
        for item in items:
            if item.alias and isinstance(item.expr, ast.Call) and item.expr not in aliased:
                aliased[item.expr] = item.alias
        agg_names = unique_names([aliased.get(c) or derive_name(c) for c in agg_asts])
        agg_names = [n if n.lower() not in {k.lower() for k in key_names} else f"{n}_agg"
                     for n in agg_names]
        emit = "AFTER WATERMARK"
        delay = 0
        if sel.emit is not None:
            if sel.emit.kind == "AFTER WATERMARK" and not is_window_agg:
                if not group_failed:
                    self.diag.error(
                        "BindError",
                        "EMIT AFTER WATERMARK needs a window aggregation (GROUP BY "
                        "window_start, window_end of a window TVF)",
                        sel.emit.span,
                    )
                raise _Abort
            emit = sel.emit.kind
            if sel.emit.delay is not None:
                try:
                    delay = interval_ms(sel.emit.delay, self.diag, "EMIT delay")
                    if delay < 0:
                        self.diag.error("BindError", "the EMIT delay must not be negative",
                                        sel.emit.delay.span)
                        raise _Abort
                except _Abort:
                    failed, delay = True, 0
        node = lg.Aggregate(
            bound.plan, tuple(key_bound), tuple(key_names), tuple(aggs), tuple(agg_names),
            window if is_window_agg else None, grouping_sets, emit, delay, span=sel.span,
        )
        # the scope after aggregation: keys, then aggregates
        out = node.schema
        post = Scope(
            [ScopeField(None, f.name, f.type, i) for i, f in enumerate(out)]
        )
        replacements: list[tuple[ast.Expr, ast.Expr]] = []
        for i, k in enumerate(key_asts):
            replacements.append((k, _Ref(i, out[i].name)))
        for j, a in enumerate(agg_asts):
            idx = len(key_asts) + j
            replacements.append((a, _Ref(idx, out[idx].name)))
        key_by_index = {
            b.index: i for i, b in enumerate(key_bound) if isinstance(b, lg.ColumnRef)
        }
        ctx = _AggContext(replacements, scope, key_by_index, out, failed_aggs, group_failed)
        rewritten: list[ast.Expr | None] = []
        ungrouped: dict[int, list[str]] = {}  # per SELECT *: its columns not grouped
        for item, star in zip(items, stars):
            try:
                if star is not None:
                    assert isinstance(item.expr, ast.Column)
                    index = self.resolve(item.expr, scope).index
                    if index not in key_by_index:
                        ungrouped.setdefault(id(star), []).append(item.expr.name)
                        raise _Abort
                rewritten.append(self.post_aggregate(item.expr, ctx))
            except _Abort:
                rewritten.append(None)
                failed = True
        for star in {id(s): s for s in stars if s is not None and id(s) in ungrouped}.values():
            if not group_failed:  # one error per star, not one per column
                names = ungrouped[id(star)]
                self.diag.error(
                    "BindError",
                    f"SELECT * with GROUP BY selects {len(names)} column(s) that are neither "
                    f"grouped nor aggregated: {', '.join(names)}",
                    star.span,
                    hint="list the grouped columns and the aggregates instead of *",
                )
        having = None
        if having_expr is not None:
            try:
                h = self.post_aggregate(having_expr, ctx)
                having = self.expr(h, post, "HAVING")
                self.require_boolean(having, having_expr, "HAVING")
            except _Abort:
                failed = True
        return node, post, rewritten, having, failed

    def post_aggregate(self, expr: ast.Expr, ctx: _AggContext) -> ast.Expr:
        """Rewrite an expression over aggregate output: keys and aggregates become refs."""
        for original, ref in ctx.replacements:
            if expr == original:
                return ref
        if isinstance(expr, ast.Call) and expr in ctx.failed_aggs:
            raise _Abort  # its error is reported already
        if isinstance(expr, ast.Column):
            field_ = self.resolve(expr, ctx.scope)
            if field_.index in ctx.key_by_index:
                i = ctx.key_by_index[field_.index]
                return _Ref(i, ctx.out[i].name, span=expr.span)
            if ctx.group_failed:
                raise _Abort  # perhaps the GROUP BY item that failed meant this column
            self.diag.error(
                "BindError",
                f"column '{expr}' must appear in GROUP BY or be used in an aggregate function",
                expr.span,
            )
            raise _Abort
        if isinstance(expr, ast.Call) and expr.name in functions.GROUP_WINDOW_PROPERTIES:
            name = functions.GROUP_WINDOW_PROPERTIES[expr.name]
            for i, f in enumerate(ctx.out):
                if f.name == name:
                    return _Ref(i, name, span=expr.span)
            if ctx.group_failed:
                raise _Abort
            self.diag.error("BindError", f"{expr.name} needs a {expr.name.split('_')[0]} group "
                            "window in GROUP BY", expr.span)
            raise _Abort
        if isinstance(expr, ast.Call) and expr.over is None and (
                expr.name not in functions.KNOWN_FUNCTIONS):
            self.unknown_function(expr)  # before its arguments' GROUP BY validity
        if isinstance(expr, ast.Call) and expr.over is not None:
            return replace(
                expr,
                args=tuple(self.post_aggregate(a, ctx) for a in expr.args),
                over=replace(
                    expr.over,
                    partition_by=tuple(self.post_aggregate(p, ctx)
                                       for p in expr.over.partition_by),
                    order_by=tuple(replace(o, expr=self.post_aggregate(o.expr, ctx))
                                   for o in expr.over.order_by),
                ),
            )
        return _map_children(expr, lambda e: self.post_aggregate(e, ctx))

    def agg_call(self, call: ast.Call, scope: Scope) -> lg.AggCall:
        name = call.name
        for arg in call.args:
            if contains_aggregate(arg):
                self.diag.error(
                    "BindError",
                    f"aggregate calls cannot be nested: {name}(...) contains another aggregate",
                    arg.span,
                )
                raise _Abort
        param = None
        args_ast = list(call.args)
        if name in ("PERCENTILE_CONT", "PERCENTILE_DISC"):
            if len(call.within_group) != 1 or len(call.args) != 1:
                self.diag.error(
                    "BindError",
                    f"{name} is written {name}(p) WITHIN GROUP (ORDER BY column)",
                    call.span,
                )
                raise _Abort
            param = self.percentile(call.args[0])
            if call.within_group[0].descending:
                param = 1.0 - param
            args_ast = [call.within_group[0].expr]
        elif name in ("PERCENTILE", "APPROX_PERCENTILE"):
            if len(call.args) != 2:
                self.diag.error("BindError", f"{name} takes (column, percentage)", call.span)
                raise _Abort
            param = self.percentile(call.args[1])
            args_ast = [call.args[0]]
            name = "PERCENTILE_CONT" if name == "PERCENTILE" else name
        elif call.within_group:
            self.diag.error("BindError", f"{name} does not take WITHIN GROUP", call.span)
            raise _Abort
        if name == "COUNT" and len(args_ast) == 1 and isinstance(args_ast[0], ast.Star):
            args: tuple[lg.BoundExpr, ...] = ()
        else:
            if any(isinstance(a, ast.Star) for a in args_ast):
                self.diag.error("BindError", f"{name}(*) is not valid; only COUNT(*) is",
                                call.span)
                raise _Abort
            args = tuple(self.expr(a, scope, f"{name}") for a in args_ast)
        expected = {"CORR": 2}.get(name, 1)
        if name != "COUNT" and len(args) != expected:
            self.diag.error("BindError", f"{name} takes {expected} argument(s)", call.span)
            raise _Abort
        if name == "COUNT" and len(args) > 1 and not call.distinct:
            self.diag.error("BindError", "COUNT takes one argument", call.span)
            raise _Abort
        result = functions.aggregate_type(name, [a.type for a in args])
        if isinstance(result, str):
            self.diag.error("BindError", result, call.span)
            raise _Abort
        filter_ = None
        if call.filter is not None:
            self.no_aggregates(call.filter, "FILTER")
            filter_ = self.expr(call.filter, scope, "FILTER")
            self.require_boolean(filter_, call.filter, "FILTER")
        if call.distinct and name not in ("COUNT", "SUM", "AVG", "MIN", "MAX"):
            self.diag.error("UnsupportedError", f"{name}(DISTINCT ...) is not supported",
                            call.span)
            raise _Abort
        return lg.AggCall(name, args, result, call.distinct, filter_, param, span=call.span)

    def percentile(self, arg: ast.Expr) -> float:
        if not isinstance(arg, ast.Literal) or arg.kind not in ("integer", "decimal"):
            self.diag.error("BindError", "the percentile must be a number literal in [0, 1]",
                            arg.span)
            raise _Abort
        value = float(arg.value)  # type: ignore[arg-type]
        if not 0.0 <= value <= 1.0:
            self.diag.error("BindError", f"percentile {value} is outside [0, 1]", arg.span)
            raise _Abort
        return value

    def over(self, plan: lg.LogicalNode, scope: Scope, calls: list[ast.Call],
             item_exprs: list[ast.Expr | None], after_window_agg: bool):
        bound_calls = []
        failed = False
        for call in calls:  # each OVER call on its own
            try:
                bound_calls.append(self.over_call(call, scope, after_window_agg))
            except _Abort:
                failed = True
        if failed:
            raise _Abort
        names = unique_names([derive_name(c) + "_over" for c in calls])
        node = lg.Over(plan, tuple(bound_calls), tuple(names), span=calls[0].span)
        width = len(scope.fields)
        new_scope = Scope(scope.fields + [
            ScopeField(None, n, c.type, width + i) for i, (n, c) in enumerate(zip(names,
                                                                                  bound_calls))
        ])
        refs = {id(c): _Ref(width + i, names[i]) for i, c in enumerate(calls)}

        def swap(expr: ast.Expr) -> ast.Expr:
            if isinstance(expr, ast.Call) and expr.over is not None:
                for c in calls:
                    if expr == c:
                        return refs[id(c)]
            return _map_children(expr, swap)

        return node, new_scope, [swap(e) if e is not None else None for e in item_exprs]

    def over_call(self, call: ast.Call, scope: Scope, after_window_agg: bool) -> lg.OverCall:
        assert call.over is not None
        spec = call.over
        if call.name in _UNSUPPORTED_WINDOW_FUNCTIONS:
            self.diag.error("UnsupportedError", f"{call.name}(...) OVER is not supported yet",
                            call.span,
                            hint="ROW_NUMBER, RANK, DENSE_RANK, LAG, LEAD and the aggregates "
                            "work with OVER")
            raise _Abort
        partition = tuple(self.expr(p, scope, "PARTITION BY") for p in spec.partition_by)
        order = tuple(
            lg.OrderKey(self.expr(o.expr, scope, "ORDER BY"), o.descending, o.nulls_first)
            for o in spec.order_by
        )
        name = call.name
        if name in ("ROW_NUMBER", "RANK", "DENSE_RANK"):
            if call.args:
                self.diag.error("BindError", f"{name}() takes no arguments", call.span)
                raise _Abort
            if not order:
                self.diag.error("BindError", f"{name}() needs ORDER BY in its OVER clause",
                                spec.span)
                raise _Abort
            return lg.OverCall(name, (), t.BIGINT.with_nullable(False), partition, order, None,
                               span=call.span)
        # OVER aggregates and LAG/LEAD: Flink orders them by a time attribute
        if not order:
            self.diag.error(
                "UnsupportedError",
                f"{name}(...) OVER needs ORDER BY a time attribute on a stream (an unbounded "
                "partition never ends)",
                spec.span,
            )
            raise _Abort
        first = order[0]
        window_order = after_window_agg and isinstance(first.expr, lg.ColumnRef) and (
            first.expr.name in ("window_start", "window_end", "window_time")
        )
        if (first.expr.type.time_attribute is None and not window_order) or first.descending:
            self.diag.error(
                "BindError",
                f"{name}(...) OVER must ORDER BY a time attribute ascending",
                spec.order_by[0].span,
                hint="order by the stream's event-time column (or window_start after a window "
                "aggregation)",
            )
            raise _Abort
        args = tuple(self.expr(a, scope, name) for a in call.args if not isinstance(a, ast.Star))
        if name in ("LAG", "LEAD"):
            if not args:
                self.diag.error("BindError", f"{name} takes (column[, offset[, default]])",
                                call.span)
                raise _Abort
            offset = 1
            if len(call.args) > 1:
                lit = call.args[1]
                if not (isinstance(lit, ast.Literal) and lit.kind == "integer"):
                    self.diag.error("BindError", f"the {name} offset must be an integer literal",
                                    lit.span)
                    raise _Abort
                offset = int(lit.value)  # type: ignore[arg-type]
            frame = lg.FrameSpec("ROWS", offset, offset)
            return lg.OverCall(name, args[:1], args[0].type.plain().with_nullable(True), partition,
                               order, frame, span=call.span)
        if name not in functions.AGGREGATES:
            self.diag.error("BindError", f"{name} cannot be used with OVER", call.span)
            raise _Abort
        result = functions.aggregate_type(name, [a.type for a in args])
        if isinstance(result, str):
            self.diag.error("BindError", result, call.span)
            raise _Abort
        frame = self.frame(spec.frame, first.expr)
        return lg.OverCall(name, args, result, partition, order, frame, span=call.span)

    def frame(self, frame: ast.Frame | None, order_expr: lg.BoundExpr) -> lg.FrameSpec:
        if frame is None:
            return lg.FrameSpec("RANGE", None, 0)

        def offset(bound: ast.FrameBound, unit: str) -> int | None:
            if bound.kind == "CURRENT ROW":
                return 0
            if bound.kind == "UNBOUNDED PRECEDING":
                return None
            if "FOLLOWING" in bound.kind:
                self.diag.error(
                    "UnsupportedError",
                    "FOLLOWING frame bounds need future rows; a stream OVER window ends at "
                    "the current row",
                    bound.span,
                )
                raise _Abort
            value = bound.offset
            if unit == "ROWS":
                if not (isinstance(value, ast.Literal) and value.kind == "integer"):
                    self.diag.error("BindError", "a ROWS frame bound is an integer literal",
                                    bound.span)
                    raise _Abort
                return int(value.value)  # type: ignore[arg-type]
            if not isinstance(value, ast.Interval):
                self.diag.error("BindError", "a RANGE frame bound on time is an INTERVAL",
                                bound.span)
                raise _Abort
            return interval_ms(value, self.diag, "RANGE bound")

        start = offset(frame.start, frame.unit)
        end = offset(frame.end, frame.unit)
        if end is None or (start is not None and start < end):
            self.diag.error("BindError", "the frame's start must not be after its end",
                            frame.span)
            raise _Abort
        return lg.FrameSpec(frame.unit, start, end)

    def order_by(self, sel: ast.Select, plan: lg.LogicalNode, scope: Scope,
                 exprs: list[lg.BoundExpr], names: list[str]) -> lg.LogicalNode:
        """ORDER BY, bound before the projection: it may name input columns, SELECT
        aliases or positions. On a stream only a time attribute ascending is a
        sort (rows leave in event-time order); with LIMIT it is a Top-N."""
        keys = []
        by_alias = {n.lower(): e for n, e in zip(names, exprs)}
        for item in sel.order_by:
            expr = item.expr
            if isinstance(expr, ast.Literal) and expr.kind == "integer":
                index = int(expr.value) - 1  # type: ignore[arg-type]
                if not 0 <= index < len(exprs):
                    self.diag.error("BindError", f"ORDER BY {expr.value} is out of range; the "
                                    f"query has {len(exprs)} columns", expr.span)
                    raise _Abort
                bound = exprs[index]
            elif (isinstance(expr, ast.Column) and expr.table is None
                  and expr.name.lower() in by_alias and not scope.find(expr.name, None)):
                bound = by_alias[expr.name.lower()]
            else:
                bound = self.expr(expr, scope, "ORDER BY")
                if sel.distinct and bound not in exprs:
                    self.diag.error(
                        "BindError",
                        f"with SELECT DISTINCT, ORDER BY may only use selected columns; "
                        f"'{self.diag.source.fragment(expr.span)}' is not selected",
                        expr.span,
                    )
                    raise _Abort
            keys.append(lg.OrderKey(bound, item.descending, item.nulls_first))
        first = keys[0]
        if first.expr.type.time_attribute is not None and not first.descending:
            return lg.Sort(plan, tuple(keys), span=sel.order_by[0].span)
        if sel.limit is None:
            hint = "add LIMIT for a Top-N, or ORDER BY the event-time column"
            if _has_regular_join(plan) and first.expr.type.is_timestamp:
                hint = _LOST_TIME_HINT
            self.diag.error(
                "BindError",
                "a stream can only be sorted by a time attribute ascending (its rows never "
                "end)",
                sel.order_by[0].span,
                hint=hint,
            )
            raise _Abort
        # ORDER BY ... LIMIT n on a stream: a global Top-N
        return lg.TopN(plan, (), tuple(keys), sel.limit, None, span=sel.span)

    # ------------------------------------------------------------ expressions

    def no_aggregates(self, expr: ast.Expr, where: str) -> None:
        for node in iter_ast(expr):
            if isinstance(node, ast.Call) and node.name in functions.AGGREGATES:
                self.diag.error(
                    "BindError",
                    f"aggregate function {node.name} is not allowed in {where}",
                    node.span,
                    hint="use HAVING to filter on aggregates" if where == "WHERE" else None,
                )
                raise _Abort
            if isinstance(node, ast.Call) and node.over is not None:
                self.diag.error("BindError", f"window function {node.name} is not allowed in "
                                f"{where}", node.span)
                raise _Abort

    def require_boolean(self, bound: lg.BoundExpr, node: ast.Expr, where: str) -> None:
        if bound.type.name not in ("BOOLEAN", "NULL"):
            self.diag.error(
                "BindError",
                f"{where} must be a boolean condition, got {bound.type.sql()}",
                node.span,
            )
            raise _Abort

    def resolve(self, col: ast.Column, scope: Scope) -> ScopeField:
        found = scope.find(col.name, col.table)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            distinct = {(f.qualifier or "") for f in found}
            if len({f.index for f in found}) > 1:
                self.diag.error(
                    "BindError",
                    f"column '{col.name}' is ambiguous; it is in "
                    + ", ".join(sorted(q or "?" for q in distinct)),
                    col.span,
                    hint=f"qualify it, e.g. {sorted(distinct)[0] or 't'}.{col.name}",
                )
                raise _Abort
            return found[0]
        self.column_error(col, scope)
        raise _Abort

    def column_error(self, col: ast.Column, scope: Scope) -> None:
        if col.table and col.table.lower() not in scope.qualifiers():
            suggestion = did_you_mean(col.table, sorted({f.qualifier for f in scope.fields
                                                         if f.qualifier}))
            self.diag.error(
                "BindError",
                f"unknown table or alias '{col.table}' in {col}"
                + (f"; did you mean '{suggestion}'?" if suggestion else ""),
                col.span,
            )
            raise _Abort
        candidates = [f.name for f in scope.fields
                      if col.table is None or (f.qualifier or "").lower() == col.table.lower()]
        suggestion = did_you_mean(col.name, candidates)
        self.diag.error(
            "BindError",
            f"unknown column '{col}'" + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            col.span,
        )
        raise _Abort

    def expr(self, node: ast.Expr, scope: Scope, where: str) -> lg.BoundExpr:
        """Bind one expression: names to column positions, and a type for every node."""
        span = node.span
        if isinstance(node, _Ref):
            f = scope.fields[node.index]
            return lg.ColumnRef(f.index, f.ref_name, f.type, span=span)
        if isinstance(node, ast.Column):
            f = self.resolve(node, scope)
            return lg.ColumnRef(f.index, f.ref_name, f.type, span=span)
        if isinstance(node, ast.Literal):
            return self.literal(node)
        if isinstance(node, ast.Interval):
            return lg.Const(interval_ms(node, self.diag), t.INTERVAL, span=span)
        if isinstance(node, ast.Star):
            self.diag.error("BindError", "* is only valid in SELECT * and COUNT(*)", span)
            raise _Abort
        if isinstance(node, ast.Unary):
            operand = self.expr(node.operand, scope, where)
            if node.op == "NOT":
                self.require_boolean(operand, node.operand, "NOT")
                return lg.Call("NOT", (operand,), t.BOOLEAN.with_nullable(operand.type.nullable),
                               span=span)
            if not (operand.type.is_numeric or operand.type.name == "INTERVAL"):
                self.diag.error("BindError", f"cannot negate {operand.type.sql()}", span)
                raise _Abort
            if node.op == "+":
                return operand
            return lg.Call("NEG", (operand,), operand.type.plain(), span=span)
        if isinstance(node, ast.Binary):
            return self.binary(node, scope, where)
        if isinstance(node, ast.IsNull):
            operand = self.expr(node.operand, scope, where)
            fn = "IS NOT NULL" if node.negated else "IS NULL"
            return lg.Call(fn, (operand,), t.BOOLEAN.with_nullable(False), span=span)
        if isinstance(node, ast.IsBool):
            operand = self.expr(node.operand, scope, where)
            self.require_boolean(operand, node.operand, "IS TRUE/FALSE")
            fn = "IS " + ("NOT " if node.negated else "") + ("TRUE" if node.value else "FALSE")
            return lg.Call(fn, (operand,), t.BOOLEAN.with_nullable(False), span=span)
        if isinstance(node, ast.InList):
            operand = self.expr(node.operand, scope, where)
            items = []
            for item in node.items:
                b = self.coerce_for_compare(operand, self.expr(item, scope, where), item)
                items.append(b)
            nullable = operand.type.nullable or any(i.type.nullable for i in items)
            fn = "NOT IN" if node.negated else "IN"
            return lg.Call(fn, (operand, *items), t.BOOLEAN.with_nullable(nullable), span=span)
        if isinstance(node, ast.Between):
            operand = self.expr(node.operand, scope, where)
            low = self.coerce_for_compare(operand, self.expr(node.low, scope, where), node.low)
            high = self.coerce_for_compare(operand, self.expr(node.high, scope, where), node.high)
            nullable = operand.type.nullable or low.type.nullable or high.type.nullable
            fn = "NOT BETWEEN" if node.negated else "BETWEEN"
            return lg.Call(fn, (operand, low, high), t.BOOLEAN.with_nullable(nullable), span=span)
        if isinstance(node, ast.Like):
            operand = self.expr(node.operand, scope, where)
            pattern = self.expr(node.pattern, scope, where)
            for b, n in ((operand, node.operand), (pattern, node.pattern)):
                if not (b.type.is_string or b.type.is_null):
                    self.diag.error("BindError", f"LIKE compares strings, got {b.type.sql()}",
                                    n.span)
                    raise _Abort
            args = [operand, pattern]
            if node.escape is not None:
                args.append(self.expr(node.escape, scope, where))
            fn = "NOT LIKE" if node.negated else "LIKE"
            nullable = operand.type.nullable or pattern.type.nullable
            return lg.Call(fn, tuple(args), t.BOOLEAN.with_nullable(nullable), span=span)
        if isinstance(node, ast.Case):
            return self.case(node, scope, where)
        if isinstance(node, ast.Cast):
            return self.cast(node, scope, where)
        if isinstance(node, ast.Extract):
            operand = self.expr(node.operand, scope, where)
            if not (operand.type.name in t.TEMPORALS or operand.type.is_null):
                self.diag.error("BindError", f"EXTRACT takes a timestamp or date, got "
                                f"{operand.type.sql()}", node.operand.span)
                raise _Abort
            units = ("YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DAYOFWEEK", "DAYOFYEAR", "HOUR",
                     "MINUTE", "SECOND", "MILLISECOND", "EPOCH", "DOW", "DOY")
            if node.unit not in units:
                self.diag.error("BindError", f"EXTRACT cannot take {node.unit}; use one of "
                                + ", ".join(units), span)
                raise _Abort
            return lg.Call("EXTRACT", (lg.Const(node.unit, t.VARCHAR), operand),
                           t.BIGINT.with_nullable(operand.type.nullable), span=span)
        if isinstance(node, ast.Call):
            return self.call(node, scope, where)
        if isinstance(node, ast.ScalarSubquery):
            self.diag.error("UnsupportedError", "scalar subqueries are not supported on streams "
                            "yet; use a join", span)
            raise _Abort
        self.diag.error("UnsupportedError", "unsupported expression", span)
        raise _Abort

    def literal(self, node: ast.Literal) -> lg.Const:
        kind, value, span = node.kind, node.value, node.span
        if kind == "string":
            return lg.Const(value, t.VARCHAR.with_nullable(False), span=span)
        if kind == "integer":
            typ = t.INT if -(2**31) <= value < 2**31 else t.BIGINT  # type: ignore[operator]
            return lg.Const(value, typ.with_nullable(False), span=span)
        if kind == "decimal":
            if math.isinf(value):  # type: ignore[arg-type]
                self.diag.error("BindError", f"the number {self.diag.source.fragment(span)} is "
                                "out of range for DOUBLE", span)
                raise _Abort
            return lg.Const(value, t.DOUBLE.with_nullable(False), span=span)
        if kind == "boolean":
            return lg.Const(value, t.BOOLEAN.with_nullable(False), span=span)
        if kind == "null":
            return lg.Const(None, t.NULL, span=span)
        if kind in ("timestamp", "timestamp_ltz"):
            ms = parse_timestamp_literal(str(value))
            if ms is None:
                self.diag.error("BindError", f"cannot read timestamp '{value}'; write "
                                "'YYYY-MM-DD HH:MM:SS[.fff]'", span)
                raise _Abort
            return lg.Const(ms, t.TIMESTAMP.with_nullable(False), span=span)
        if kind == "date":
            ms = parse_timestamp_literal(str(value))
            if ms is None:
                self.diag.error("BindError", f"cannot read date '{value}'", span)
                raise _Abort
            return lg.Const(ms // 86_400_000, t.DATE.with_nullable(False), span=span)
        if kind == "keyword":
            return lg.Const(value, t.VARCHAR.with_nullable(False), span=span)
        self.diag.error("UnsupportedError", f"{kind} literals are not supported", span)
        raise _Abort

    def coerce_for_compare(self, left: lg.BoundExpr, right: lg.BoundExpr, node: ast.Expr
                           ) -> lg.BoundExpr:
        """A string constant compared with a timestamp becomes a timestamp constant."""
        if left.type.is_timestamp and isinstance(right, lg.Const) and right.type.is_string:
            ms = parse_timestamp_literal(str(right.value))
            if ms is None:
                self.diag.error("BindError", f"cannot compare a timestamp with '{right.value}'",
                                node.span)
                raise _Abort
            return lg.Const(ms, t.TIMESTAMP.with_nullable(False), span=right.span)
        if not t.is_comparable(left.type, right.type):
            self.diag.error(
                "BindError",
                f"cannot compare {left.type.sql()} with {right.type.sql()}",
                node.span,
            )
            raise _Abort
        return right

    def exprs(self, nodes, scope: Scope, where: str) -> list[lg.BoundExpr]:
        """Bind independent expressions (operands, arguments): every one is bound,
        so an error in one does not hide an error in the next; then the first
        failure aborts."""
        bound, failed = [], False
        for node in nodes:
            try:
                bound.append(self.expr(node, scope, where))
            except _Abort:
                failed = True
        if failed:
            raise _Abort
        return bound

    def binary(self, node: ast.Binary, scope: Scope, where: str) -> lg.BoundExpr:
        left, right = self.exprs((node.left, node.right), scope, where)
        op, span = node.op, node.span
        lt, rt = left.type, right.type
        nullable = lt.nullable or rt.nullable
        if op in ("AND", "OR"):
            for b, n in ((left, node.left), (right, node.right)):
                self.require_boolean(b, n, op)
            return lg.Call(op, (left, right), t.BOOLEAN.with_nullable(nullable), span=span)
        if op in ("=", "<>", "<", "<=", ">", ">="):
            if lt.is_string and isinstance(left, lg.Const) and rt.is_timestamp:
                left = self.coerce_for_compare(right, left, node.left)
            else:
                right = self.coerce_for_compare(left, right, node.right)
            if lt.name in ("ARRAY", "MAP", "ROW"):
                self.diag.error("BindError", f"cannot compare {lt.sql()} values", span)
                raise _Abort
            return lg.Call(op, (left, right), t.BOOLEAN.with_nullable(nullable), span=span)
        if op == "||":
            for b, n in ((left, node.left), (right, node.right)):
                if not (b.type.is_string or b.type.is_null):
                    self.diag.error("BindError", f"|| concatenates strings, got {b.type.sql()}; "
                                    "use CAST(... AS VARCHAR)", n.span)
                    raise _Abort
            return lg.Call("||", (left, right), t.VARCHAR.with_nullable(nullable), span=span)
        # arithmetic, including time arithmetic
        if op in ("+", "-") and lt.is_timestamp and rt.name == "INTERVAL":
            return lg.Call(op, (left, right), lt.plain().with_nullable(lt.nullable), span=span)
        if op == "+" and lt.name == "INTERVAL" and rt.is_timestamp:
            return lg.Call(op, (right, left), rt.plain().with_nullable(rt.nullable), span=span)
        if op == "-" and lt.is_timestamp and rt.is_timestamp:
            # sqlc: the difference of two timestamps is an INTERVAL, in milliseconds
            return lg.Call("-", (left, right), SqlType("INTERVAL", nullable), span=span)
        if lt.name == "INTERVAL" and rt.name == "INTERVAL" and op in ("+", "-"):
            return lg.Call(op, (left, right), SqlType("INTERVAL", nullable), span=span)
        result = t.arithmetic_type(lt, rt, op)
        if result is None:
            self.diag.error(
                "BindError",
                f"cannot apply '{op}' to {lt.sql()} and {rt.sql()}",
                span,
                hint="CAST strings to numbers first" if lt.is_string or rt.is_string else None,
            )
            raise _Abort
        if op in ("/", "%") and isinstance(right, lg.Const) and right.value == 0:
            self.diag.error("BindError", "division by zero", node.right.span)
            raise _Abort
        return lg.Call(op, (left, right), result, span=span)

    def case(self, node: ast.Case, scope: Scope, where: str) -> lg.BoundExpr:
        args: list[lg.BoundExpr] = []
        values: list[lg.BoundExpr] = []
        operand = self.expr(node.operand, scope, where) if node.operand is not None else None
        for cond_ast, value_ast in node.whens:
            if operand is not None:
                rhs = self.coerce_for_compare(operand, self.expr(cond_ast, scope, where),
                                              cond_ast)
                cond = lg.Call("=", (operand, rhs), t.BOOLEAN, span=cond_ast.span)
            else:
                cond = self.expr(cond_ast, scope, where)
                self.require_boolean(cond, cond_ast, "a CASE WHEN condition")
            value = self.expr(value_ast, scope, where)
            args.extend([cond, value])
            values.append(value)
        default = (self.expr(node.else_, scope, where) if node.else_ is not None
                   else lg.Const(None, t.NULL))
        values.append(default)
        result = values[0].type
        for v, n in zip(values[1:], [w[1] for w in node.whens[1:]] + [node.else_ or node]):
            common = t.common_type(result, v.type)
            if common is None:
                self.diag.error(
                    "BindError",
                    f"CASE branches have incompatible types {result.sql()} and {v.type.sql()}",
                    n.span,
                )
                raise _Abort
            result = common
        nullable = any(v.type.nullable for v in values)
        if result.is_null:
            result = t.VARCHAR
        return lg.Call("CASE", (*args, default), result.plain().with_nullable(nullable),
                       span=node.span)

    def cast(self, node: ast.Cast, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.operand, scope, where)
        target = self.type_of(node.to)
        if target is None:
            raise _Abort
        source = operand.type
        ok = (
            source.is_null
            or target.is_string
            or (source.is_numeric and target.is_numeric)
            or (source.is_string and target.name in t.NUMERICS + t.TEMPORALS + ("BOOLEAN",))
            or (source.name in t.TEMPORALS and target.name in t.TEMPORALS)
            or (source.is_numeric and target.name == "BOOLEAN")
            or (source.name == "BOOLEAN" and target.is_numeric)
            or (source.is_integer and target.is_timestamp)
            or source.name == target.name
        )
        if not ok:
            self.diag.error("BindError", f"cannot CAST {source.sql()} to {target.sql()}",
                            node.span)
            raise _Abort
        literal = node.operand
        if isinstance(literal, ast.Literal) and literal.kind == "string" and not node.safe:
            # TIMESTAMP '...' and DATE '...' (and CASTs of constants): read them now,
            # rather than fail on every row
            text = str(literal.value)
            if target.is_timestamp and parse_timestamp_literal(text) is None:
                self.diag.error("BindError", f"cannot read timestamp '{text}'; write "
                                "'YYYY-MM-DD HH:MM:SS[.fff]'", node.span)
                raise _Abort
            if target.name == "DATE" and parse_date_literal(text) is None:
                self.diag.error("BindError", f"cannot read date '{text}'; write 'YYYY-MM-DD'",
                                node.span)
                raise _Abort
        nullable = source.nullable or node.safe or (source.is_string and not target.is_string)
        fn = "TRY_CAST" if node.safe else "CAST"
        return lg.Call(fn, (operand,), target.with_nullable(nullable), span=node.span)

    def unknown_function(self, node: ast.Call) -> None:
        suggestion = did_you_mean(node.name, functions.KNOWN_FUNCTIONS)
        self.diag.error(
            "BindError",
            f"unknown function {node.name}"
            + (f"; did you mean {suggestion}?" if suggestion else ""),
            node.span,
        )
        raise _Abort

    def call(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        name = node.name
        if node.over is not None:
            self.diag.error("BindError", f"window function {name} is not allowed in {where}",
                            node.span)
            raise _Abort
        if name in functions.AGGREGATES:
            self.diag.error(
                "BindError",
                f"aggregate function {name} is not allowed in {where}",
                node.span,
            )
            raise _Abort
        if name in functions.WINDOW_ONLY:
            self.diag.error("BindError", f"{name} needs an OVER clause", node.span)
            raise _Abort
        if name in functions.GROUP_WINDOWS:
            self.diag.error(
                "BindError",
                f"{name}(...) is a group window: it belongs in GROUP BY (or use the window "
                f"table function TABLE({name}(TABLE t, DESCRIPTOR(col), ...)))",
                node.span,
            )
            raise _Abort
        if name in functions.GROUP_WINDOW_PROPERTIES:
            self.diag.error("BindError", f"{name} needs a group window in GROUP BY", node.span)
            raise _Abort
        if node.distinct or node.filter is not None or node.within_group:
            self.diag.error("BindError", f"{name} is not an aggregate function", node.span)
            raise _Abort
        if name == "IF":
            if len(node.args) != 3:
                self.diag.error("BindError", "IF takes (condition, then, else)", node.span)
                raise _Abort
            return self.case(ast.Case(None, ((node.args[0], node.args[1]),), node.args[2],
                                      span=node.span), scope, where)
        scalar = functions.SCALARS.get(name)
        if scalar is None:
            self.unknown_function(node)
        args_ast = list(node.args)
        if name in ("DATE_TRUNC", "TIMESTAMPDIFF") and args_ast:
            unit = args_ast[0]
            if isinstance(unit, ast.Column) and unit.table is None:
                args_ast[0] = ast.Literal(unit.name.upper(), "string", span=unit.span)
            elif isinstance(unit, ast.Literal) and unit.kind in ("string", "keyword"):
                args_ast[0] = ast.Literal(str(unit.value).upper(), "string", span=unit.span)
        count = len(args_ast)
        if count < scalar.min_args or (scalar.max_args is not None and count > scalar.max_args):
            expected = (str(scalar.min_args) if scalar.min_args == scalar.max_args
                        else f"{scalar.min_args} to {scalar.max_args or 'any number of'}")
            self.diag.error("BindError", f"{name} takes {expected} argument(s), got {count}",
                            node.span)
            raise _Abort
        args = tuple(self.exprs(args_ast, scope, where))
        if name == "TO_TIMESTAMP_LTZ" and len(args) == 2:
            precision = args[1]
            if not (isinstance(precision, lg.Const) and precision.value in (0, 3)):
                self.diag.error("BindError", "TO_TIMESTAMP_LTZ precision must be 0 (seconds) or "
                                "3 (milliseconds)", args_ast[1].span)
                raise _Abort
        if name == "DATE_TRUNC":
            args = (args[0], args[1])
        result = scalar.result([a.type for a in args] if name != "DATE_TRUNC"
                               else [args[1].type, args[1].type])
        if isinstance(result, str):
            self.diag.error("BindError", result, node.span)
            raise _Abort
        return lg.Call(name, args, result, span=node.span)


# --------------------------------------------------------------------- helpers


# SQL window functions sqlc does not run (yet)
_UNSUPPORTED_WINDOW_FUNCTIONS = {"NTILE", "PERCENT_RANK", "CUME_DIST", "NTH_VALUE"}


@dataclass(frozen=True)
class _AggContext:
    """What rewriting an expression over an aggregate's output needs."""

    replacements: list  # [(key or aggregate AST, _Ref to its output column)]
    scope: Scope  # the aggregate's input
    key_by_index: dict[int, int]  # input column -> key position, for grouped columns
    out: lg.Schema  # the aggregate's output
    failed_aggs: list  # aggregate calls whose errors are reported already
    group_failed: bool  # a GROUP BY item failed: grouping is unknown


@dataclass(frozen=True)
class _Ref:
    """An expression already computed below: column ``index`` of the current scope."""

    index: int
    name: str
    span: Span = field(default=Span(0, 0), compare=False)


def _column_span(query: ast.Query, index: int) -> Span:
    """Where output column ``index`` of ``query`` is written (its SELECT item), or
    the query itself when a ``*`` or a set operation hides it."""
    while isinstance(query, ast.SetOp):
        query = query.left
    items = query.items
    if index < len(items) and not any(isinstance(i.expr, ast.Star) for i in items[: index + 1]):
        return items[index].expr.span
    return query.span


def _map_children(expr: ast.Expr, fn) -> ast.Expr:
    """The same AST node with ``fn`` applied to its direct child expressions."""
    if isinstance(expr, (ast.Column, ast.Literal, ast.Interval, ast.Star, _Ref,
                         ast.ScalarSubquery)):
        return expr
    changes = {}
    for name in expr.__dataclass_fields__:
        if name == "span":
            continue
        value = getattr(expr, name)
        if isinstance(value, tuple):
            new_items = []
            for item in value:
                if isinstance(item, tuple):
                    new_items.append(tuple(fn(i) if _is_expr(i) else i for i in item))
                elif isinstance(item, ast.OrderItem):
                    new_items.append(replace(item, expr=fn(item.expr)))
                elif _is_expr(item):
                    new_items.append(fn(item))
                else:
                    new_items.append(item)
            changes[name] = tuple(new_items)
        elif _is_expr(value):
            changes[name] = fn(value)
    return replace(expr, **changes)


def _is_expr(value: object) -> bool:
    return isinstance(value, (ast.Column, ast.Star, ast.Literal, ast.Interval, ast.Unary,
                              ast.Binary, ast.IsNull, ast.IsBool, ast.InList, ast.Between,
                              ast.Like, ast.Case, ast.Cast, ast.Extract, ast.Call,
                              ast.ScalarSubquery, _Ref))


def _substitute_aliases(expr: ast.Expr, aliases: dict[str, ast.Expr], scope: Scope) -> ast.Expr:
    """HAVING may name a SELECT alias (spec Query 3) where no input column has that name."""
    if isinstance(expr, ast.Column) and expr.table is None:
        if not scope.find(expr.name, None) and expr.name.lower() in aliases:
            return aliases[expr.name.lower()]
        return expr
    return _map_children(expr, lambda e: _substitute_aliases(e, aliases, scope))


def _over_calls(exprs: list[ast.Expr]) -> list[ast.Call]:
    calls: list[ast.Call] = []
    for expr in exprs:
        for node in iter_ast(expr):
            if isinstance(node, ast.Call) and node.over is not None and node not in calls:
                calls.append(node)
    return calls


def _is_session_tvf(sel: ast.Select) -> bool:
    return isinstance(sel.from_, ast.WindowTVF) and sel.from_.kind == "SESSION"


def _window_column_used(items: list[ast.SelectItem]) -> ast.Column | None:
    """The first use of window_start or window_end in the SELECT list."""
    for item in items:
        for node in iter_ast(item.expr, into_over=False):
            if isinstance(node, ast.Column) and node.name.lower() in ("window_start",
                                                                      "window_end"):
                return node
    return None


def _key_name(k: ast.Expr, b: lg.BoundExpr) -> str:
    if isinstance(b, lg.ColumnRef):
        return b.name
    return derive_name(k)


def _relations(query: ast.Query):
    """Every relation a query reads, including subqueries, CTEs and TVF inputs."""
    if isinstance(query, ast.SetOp):
        yield from _relations(query.left)
        yield from _relations(query.right)
        return
    for cte in query.ctes:
        yield from _relations(cte.query)
    stack = [query.from_] if query.from_ is not None else []
    while stack:
        rel = stack.pop()
        yield rel
        if isinstance(rel, ast.Join):
            stack.extend([rel.left, rel.right])
        elif isinstance(rel, ast.SubqueryRef):
            yield from _relations(rel.query)
        elif isinstance(rel, ast.WindowTVF):
            stack.append(rel.input)
        elif isinstance(rel, ast.MatchRecognize):
            stack.append(rel.input)


def _conjuncts(expr: lg.BoundExpr | None) -> list[lg.BoundExpr]:
    if expr is None:
        return []
    if isinstance(expr, lg.Call) and expr.fn == "AND":
        return _conjuncts(expr.args[0]) + _conjuncts(expr.args[1])
    return [expr]


_LOST_TIME_HINT = (
    "a regular join does not keep time attributes (as in Flink); bound the join in time, "
    "e.g. AND b.event_time BETWEEN a.event_time AND a.event_time + INTERVAL '1' HOUR, to "
    "make it an interval join that keeps them"
)


def _has_regular_join(plan: lg.LogicalNode) -> bool:
    if isinstance(plan, lg.Join) and plan.interval is None and not plan.lookup:
        return True
    return any(_has_regular_join(i) for i in plan.inputs())


def _and_all(parts: list[lg.BoundExpr]) -> lg.BoundExpr | None:
    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        nullable = result.type.nullable or part.type.nullable
        result = lg.Call("AND", (result, part), t.BOOLEAN.with_nullable(nullable))
    return result


def _is_half_bound(c: lg.BoundExpr, width: int, rowtimes: set[int]) -> bool:
    """One side of an interval bound: ``r.t >= l.t - INTERVAL ...``."""
    if not (isinstance(c, lg.Call) and c.fn in ("<", "<=", ">", ">=")):
        return False
    a, b = _time_offset(c.args[0], rowtimes), _time_offset(c.args[1], rowtimes)
    return a is not None and b is not None and (a[0] < width) != (b[0] < width)


def _equi_keys(condition: lg.BoundExpr | None, width: int) -> tuple[tuple[int, int], ...]:
    keys = []
    for c in _conjuncts(condition):
        if isinstance(c, lg.Call) and c.fn == "=":
            a, b = c.args
            if isinstance(a, lg.ColumnRef) and isinstance(b, lg.ColumnRef):
                if a.index < width <= b.index:
                    keys.append((a.index, b.index - width))
                elif b.index < width <= a.index:
                    keys.append((b.index, a.index - width))
    return tuple(keys)


def _time_offset(expr: lg.BoundExpr, rowtimes: set[int]) -> tuple[int, int] | None:
    """``col`` -> (col, 0); ``col +/- INTERVAL`` -> (col, +/-ms), for rowtime columns."""
    if isinstance(expr, lg.ColumnRef) and expr.index in rowtimes:
        return expr.index, 0
    if (isinstance(expr, lg.Call) and expr.fn in ("+", "-")
            and isinstance(expr.args[0], lg.ColumnRef)
            and expr.args[0].index in rowtimes
            and isinstance(expr.args[1], lg.Const) and expr.args[1].type.name == "INTERVAL"):
        sign = 1 if expr.fn == "+" else -1
        return expr.args[0].index, sign * int(expr.args[1].value)  # type: ignore[arg-type]
    return None


def _rowtimes(join: lg.Join) -> set[int]:
    """Positions of the join inputs' event-time attributes in the join's row."""
    fields = join.left.schema + join.right.schema
    return {i for i, f in enumerate(fields) if f.type.time_attribute == "ROWTIME"}


def _interval_bounds(condition: lg.BoundExpr | None, width: int, rowtimes: set[int]
                     ) -> tuple[int, int, int, int] | None:
    """Time bounds of an interval join: (left time, right time, lower, upper) meaning
    ``left.t + lower <= right.t <= left.t + upper``."""
    lower: int | None = None
    upper: int | None = None
    pair: tuple[int, int] | None = None
    for c in _conjuncts(condition):
        if not isinstance(c, lg.Call):
            continue
        comparisons = []
        if c.fn == "BETWEEN":
            comparisons = [(">=", c.args[0], c.args[1]), ("<=", c.args[0], c.args[2])]
        elif c.fn in ("<", "<=", ">", ">="):
            comparisons = [(c.fn, c.args[0], c.args[1])]
        for op, a, b in comparisons:
            ta, tb = _time_offset(a, rowtimes), _time_offset(b, rowtimes)
            if ta is None or tb is None:
                continue
            (ia, oa), (ib, ob) = ta, tb
            # normalize to right.t (op) left.t + offset
            if ia >= width > ib:
                r, l_, offset = ia - width, ib, ob - oa
            elif ib >= width > ia:
                r, l_, offset = ib - width, ia, oa - ob
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
            else:
                continue
            if pair is not None and pair != (l_, r):
                continue
            pair = (l_, r)
            if op in (">", ">="):
                value = offset + (1 if op == ">" else 0)
                lower = value if lower is None else max(lower, value)
            else:
                value = offset - (1 if op == "<" else 0)
                upper = value if upper is None else min(upper, value)
    if pair is None or lower is None or upper is None:
        return None
    return pair[0], pair[1], lower, upper


def _strip_pattern_refs(expr: ast.Expr, variables: set[str]) -> ast.Expr:
    """``A.latency_ms`` in MATCH_RECOGNIZE names the column of the row matched as A."""
    upper = {v.upper() for v in variables}
    if isinstance(expr, ast.Column) and expr.table and expr.table.upper() in upper:
        return ast.Column(expr.name, span=expr.span)
    if isinstance(expr, ast.Call) and expr.name in ("MATCH_ROWTIME", "CLASSIFIER"):
        return expr
    return _map_children(expr, lambda e: _strip_pattern_refs(e, variables))


def _duration_text(ms: int) -> str:
    """300000 -> '5 min', for messages."""
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


def _duration_ms(text: str) -> int | None:
    """A property duration ('5 s', '10 min'), read as the runtime reads it."""
    from runtime_lib.io.tables import duration_ms

    try:
        return duration_ms(text)
    except ValueError:
        return None

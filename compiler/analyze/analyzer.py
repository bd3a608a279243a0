"""Analyze: resolve names and types against the catalog and build the logical plan.

``Analyzer.script`` walks a parsed file in order: DDL changes the catalog
(computed columns and watermarks are typed here), each query or INSERT becomes
a logical plan ending in a ``Sink``. Every user error becomes a positioned
diagnostic, and the user sees every problem at once: each statement is checked,
and within a SELECT each clause (WHERE, GROUP BY, every SELECT item, HAVING) is
bound on its own. What depends on a name that failed fails silently instead of
cascading: a column of a GROUP BY that failed is not "ungrouped", a view whose
definition failed is not "unknown".

The ``Analyzer`` keeps what a whole file shares (the catalog, the CTEs in scope,
the names whose definition failed) and binds each FROM item's inputs; what is
decided about each part of a statement lives in its own module:

- ``sources.py``: CREATE TABLE/STREAM (columns, watermark, primary key), Scan
- ``joins.py``, ``join_conditions.py``: join kinds, keys and time bounds
- ``windows.py``: window TVFs and GROUP BY group windows
- ``match.py``: MATCH_RECOGNIZE
- ``select.py``: a SELECT's clauses in plan order, ORDER BY
- ``group_by.py``: GROUP BY, grouping sets, window aggregation, EMIT, HAVING
- ``aggregates.py``: one aggregate call; ``over.py``: OVER window functions
- ``expressions.py``: scalar expressions (``ExpressionBinder``), with
  ``type_names.py``, ``literals.py``; ``scope.py`` and ``syntax.py`` are the
  shared vocabulary (scopes, AST walking)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

from compiler import ast
from compiler import logical as lg
from compiler import types as t
from compiler.analyze import (
    joins,
    match,
    select,
    set_ops,
    sources,
    subqueries,
    unnest,
    windows,
)
from compiler.analyze import fields as row_fields
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.scope import Abort, Bound, Scope, fail
from compiler.analyze.syntax import column_span, relations
from compiler.catalog import Catalog, CatalogColumn, SourceDef, ViewDef
from compiler.errors import Diagnostics, Span


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
    utilities: list[ast.Statement]  # SHOW, DESCRIBE, EXPLAIN, in order (SET, RESET
    # change catalog.settings)


class Analyzer:
    def __init__(self, catalog: Catalog, diagnostics: Diagnostics):
        self.catalog = catalog
        self.diag = diagnostics
        self.binder = ExpressionBinder(diagnostics)
        self.ctes: list[dict[str, ast.CTE]] = []
        # streams, tables and views whose definition failed (already reported): a
        # later use of the name is not an "unknown" error of its own
        self.failed_names: set[str] = set()
        self.values_names: set[str] = set()  # the sources VALUES tables are read as

    # ================================================================== statements

    def script(self, script: ast.Script) -> AnalyzedScript:
        queries: list[AnalyzedQuery] = []
        utilities: list[ast.Statement] = []
        for stmt in script.statements:
            try:
                result = self.statement(stmt)
            except Abort:
                continue
            if isinstance(result, AnalyzedQuery):
                queries.append(result)
            elif isinstance(result, ast.Set):  # SET alone: sqlc shell and exec list them
                self.diag.error("UnsupportedError", "SET without a key lists the options, "
                                "which only sqlc shell and sqlc exec show", stmt.span,
                                hint="remove it from the file, or give a key: "
                                     "SET 'key' = 'value'")
            elif result is not None:
                utilities.append(result)
        return AnalyzedScript(queries, utilities)

    def statement(self, stmt: ast.Statement) -> AnalyzedQuery | ast.Statement | None:
        if isinstance(stmt, (ast.CreateSource, ast.CreateView)):
            self.define(stmt)
            return None
        if isinstance(stmt, ast.Drop):
            if self.catalog.get(stmt.name) is None and stmt.name.lower() in self.failed_names:
                return None  # its definition failed; that error is reported already
            self.catalog.drop(stmt, self.diag)
            return None
        if isinstance(stmt, ast.QueryStatement):
            plan = self.query(stmt.query)
            nested = row_fields.nested_outputs(self.binder, plan.schema)
            return AnalyzedQuery(lg.Sink(plan, None, span=stmt.span, nested=nested), stmt,
                                 stmt.span)
        if isinstance(stmt, ast.Insert):
            return self.insert(stmt)
        if isinstance(stmt, ast.Describe):
            if self.catalog.get(stmt.name) is None:
                self.unknown_object(stmt.name, stmt.name_span)
            return stmt
        if isinstance(stmt, ast.Set):
            if stmt.key is None:
                return stmt
            self.catalog.settings.apply_set(stmt, self.diag)
            return None
        if isinstance(stmt, ast.Reset):
            self.catalog.settings.apply_reset(stmt, self.diag)
            return None
        if isinstance(stmt, ast.Explain):
            inner = stmt.statement
            if not isinstance(inner, (ast.QueryStatement, ast.Insert)):
                fail(self.diag, "UnsupportedError", "EXPLAIN takes a query or an INSERT",
                                stmt.span)
            self.statement(inner)  # checks it
            return stmt
        if isinstance(stmt, ast.Show) and stmt.name is not None \
                and self.catalog.get(stmt.name) is None:
            self.unknown_object(stmt.name, stmt.name_span)
        return stmt  # SHOW

    def unknown_object(self, name: str, span: Span) -> NoReturn:
        if name.lower() in self.failed_names:
            raise Abort  # its definition failed, and that error is reported already
        suggestion = self.catalog.suggest(name)
        fail(self.diag, 
            "BindError",
            f"unknown stream, table or view '{name}'"
            + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            span,
        )

    # ------------------------------------------------------------------ DDL

    def define(self, stmt: ast.CreateSource | ast.CreateView) -> None:
        """CREATE TABLE/STREAM/VIEW; a name whose definition failed is remembered,
        so that its uses are not reported as unknown."""
        errors_before = len(self.diag.errors)
        try:
            if isinstance(stmt, ast.CreateSource):
                sources.create_source(self.binder, self.catalog, stmt)
            else:
                self.create_view(stmt)
        finally:
            if self.catalog.get(stmt.name) is not None:
                self.failed_names.discard(stmt.name.lower())
            elif len(self.diag.errors) > errors_before:
                self.failed_names.add(stmt.name.lower())

    def create_view(self, stmt: ast.CreateView) -> None:
        plan = self.query(stmt.query)
        schema = plan.schema
        names = [f.name for f in schema]
        if stmt.column_names:
            if len(stmt.column_names) != len(schema):
                fail(self.diag, 
                    "BindError",
                    f"view {stmt.name} names {len(stmt.column_names)} columns but its query "
                    f"has {len(schema)}",
                    stmt.columns_span,
                )
            names = list(stmt.column_names)
        dependencies = sorted(
            {
                node.name
                for node in relations(stmt.query)
                if isinstance(node, ast.TableRef) and self.catalog.get(node.name) is not None
            }
        )
        columns = tuple(
            CatalogColumn(name, f.type, span=stmt.span) for name, f in zip(names, schema)
        )
        view = ViewDef(stmt.name, stmt.query, columns, tuple(dependencies), stmt.span,
                       self.diag.source.path, self.diag.source.fragment(stmt.span))
        self.catalog.add(view, stmt.if_not_exists, self.diag, stmt.name_span)

    def insert(self, stmt: ast.Insert) -> AnalyzedQuery:
        target = self.catalog.get(stmt.target)
        if target is None:
            self.unknown_object(stmt.target, stmt.target_span)
        if isinstance(target, ViewDef):
            fail(self.diag, "BindError", f"cannot INSERT INTO view '{target.name}'",
                            stmt.target_span)
        plan = self.query(stmt.query)
        writable = self.insert_columns(stmt, target)
        items = row_fields.output_items(plan.schema, self.binder.row_columns)
        if len(items) != len(writable):
            fail(self.diag, 
                "BindError",
                f"INSERT INTO {target.name} writes {len(writable)} columns but the query "
                f"returns {len(items)}",
                stmt.query.span,
            )
        failed = False
        exprs: list[lg.BoundExpr] = []
        names: list[str] = []
        nested: list[tuple[str, tuple[str, ...]]] = []
        for i, (item, col) in enumerate(zip(items, writable)):
            # a ROW column takes a ROW of as many fields, nested alike, by position
            leaves = t.row_leaves(col.name, col.type)
            fits = (item.is_row == col.type.is_row and len(leaves) == len(item.columns)
                    and (not col.type.is_row or row_fields.same_shape(
                        [p for _, p in item.columns], [p[1:] for p, _ in leaves]))
                    and all(t.common_type(typ, leaf) is not None or leaf.is_string
                            for typ, (_, leaf) in zip(item.types, leaves)))
            if not fits:
                self.diag.error(
                    "BindError",
                    f"column '{item.name}' is {item.type().sql()} but {target.name}.{col.name} "
                    f"is {col.type.sql()}",
                    column_span(stmt.query, i),
                )
                failed = True
                continue
            for (index, _), typ, (path, leaf) in zip(item.columns, item.types, leaves):
                ref = lg.ColumnRef(index, plan.schema[index].name, typ)
                exprs.append(ref if typ.name == leaf.name or typ.is_null else
                             lg.Call("CAST", (ref,), leaf.with_nullable(typ.nullable)))
                names.append(t.leaf_name(path))
                if col.type.is_row:
                    nested.append((t.leaf_name(path), path))
        if failed:
            raise Abort
        renamed = lg.Project(plan, tuple(exprs), tuple(names), span=stmt.span)
        properties = tuple(sorted(target.properties.items()))
        sink = lg.Sink(renamed, target.name, properties, span=stmt.span,
                       primary_key=target.primary_key, partition_keys=target.partition_keys,
                       nested=tuple(nested))
        if target.connector in lg.PRIMARY_KEY_SINKS:
            self.check_keyed_sink(stmt, target, sink)
        if target.connector in ("filesystem", "file") and lg.changelog(sink.input) != "I":
            fail(self.diag, "BindError",
                 f"INSERT INTO {target.name}: the query's result is updating (rows change "
                 "as new events arrive), and a filesystem table only takes appended rows",
                 stmt.target_span,
                 hint="write the result of a window aggregate (final per window), or "
                      "insert into an upsert-kafka or PostgreSQL table")
        return AnalyzedQuery(sink, stmt, stmt.span)

    def check_keyed_sink(self, stmt: ast.Insert, target: SourceDef, sink: lg.Sink) -> None:
        """A table written by its PRIMARY KEY (PostgreSQL): an updating result
        needs one, the INSERT must write it, and it must be the key the query
        updates rows by, or rows would not be updated in place."""
        updating = lg.changelog(sink.input) != "I"
        key = target.primary_key
        if updating and not key:
            fail(self.diag, "BindError",
                 f"INSERT INTO {target.name}: the query's result is updating (rows change "
                 "as new events arrive), and a PostgreSQL table is updated by its PRIMARY "
                 f"KEY, but {target.name} declares none",
                 stmt.target_span,
                 hint=f"declare the key in CREATE TABLE {target.name}, e.g. PRIMARY KEY "
                      "(" + ", ".join(lg.upsert_key(sink) or ("id",)) + ") NOT ENFORCED")
        written = {f.name.lower() for f in sink.schema}
        missing = [k for k in key if k.lower() not in written]
        if missing:
            fail(self.diag, "BindError",
                 f"INSERT INTO {target.name} does not write its PRIMARY KEY column(s) "
                 + ", ".join(missing) + ", which rows are written by",
                 stmt.target_span)
        query_key = lg.upsert_key(sink)
        if updating and query_key and {k.lower() for k in query_key} != {
                k.lower() for k in key}:
            fail(self.diag, "BindError",
                 f"INSERT INTO {target.name}: the query updates rows by ("
                 + ", ".join(query_key) + f") but the PRIMARY KEY of {target.name} is ("
                 + ", ".join(key) + "): rows would not be updated in place",
                 stmt.target_span,
                 hint=f"declare PRIMARY KEY ({', '.join(query_key)}) NOT ENFORCED, or "
                      "GROUP BY the table's key")

    def insert_columns(self, stmt: ast.Insert, target: SourceDef) -> list[CatalogColumn]:
        """The target's columns an INSERT writes: those it names, else every
        physical column."""
        writable = [c for c in target.columns if c.kind == "physical"]
        if not stmt.columns:
            return writable
        by_name = {c.name.lower(): c for c in writable}
        chosen = []
        for name in stmt.columns:
            if name.lower() not in by_name:
                fail(self.diag, "BindError", f"'{name}' is not a column of {target.name}",
                                stmt.target_span)
            chosen.append(by_name[name.lower()])
        return chosen

    # ============================================================== queries

    def query(self, query: ast.Query) -> lg.LogicalNode:
        self.ctes.append({cte.name.lower(): cte for cte in query.ctes})
        try:
            if isinstance(query, ast.SetOp):
                return self.set_op(query)
            return self.select(query)
        finally:
            self.ctes.pop()

    def set_op(self, query: ast.SetOp) -> lg.LogicalNode:
        if query.op not in ("UNION ALL", "UNION", "INTERSECT", "EXCEPT"):
            fail(self.diag, "UnsupportedError", f"{query.op} is not supported on streams yet",
                 query.op_span, hint=f"{query.op.split()[0]} (distinct) runs")
        sides = []
        for side in (query.left, query.right):  # independent: check both
            try:
                sides.append(self.query(side))
            except Abort:
                pass
        if len(sides) < 2:
            raise Abort
        left, right = sides
        ls, rs = left.schema, right.schema
        if len(ls) != len(rs):
            fail(self.diag, 
                "BindError",
                f"{query.op} sides have {len(ls)} and {len(rs)} columns",
                query.right.span,
            )
        failed = False
        for i, (a, b) in enumerate(zip(ls, rs)):
            if t.common_type(a.type, b.type) is None:
                self.diag.error(
                    "BindError",
                    f"{query.op} column '{a.name}' is {a.type.sql()} on the left and "
                    f"{b.type.sql()} on the right",
                    column_span(query.right, i),
                )
                failed = True
        if failed:
            raise Abort
        if query.op in ("INTERSECT", "EXCEPT"):
            return set_ops.intersect_except(left, right, query.op, query.span)
        plan: lg.LogicalNode = lg.Union((left, right), query.op == "UNION", span=query.span)
        if query.op == "UNION":
            # distinct over the widened columns: a GroupAggregate without aggregates
            schema = plan.schema
            keys = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(schema))
            plan = lg.Aggregate(plan, keys, tuple(f.name for f in schema), (), (),
                                span=query.span)
        return plan

    # ------------------------------------------------------------------ FROM

    def relation(self, rel: ast.Relation) -> Bound:
        """Bind one FROM item; its inputs are bound first (by this Analyzer, which
        knows the catalog and the CTEs), then the item itself by its module."""
        bind = _RELATIONS.get(type(rel))
        if bind is None:
            fail(self.diag, "UnsupportedError", "unsupported FROM item", rel.span)
        return bind(self, rel)

    def subquery(self, rel: ast.SubqueryRef) -> Bound:
        plan = self.query(rel.query)
        return Bound(plan, row_fields.with_paths(Scope.of(plan.schema, rel.alias),
                                                 self.binder.row_columns), None)

    def window_tvf(self, rel: ast.WindowTVF) -> Bound:
        inner = self.table_ref(ast.TableRef(rel.input.name, span=rel.input.span))
        return windows.window_tvf(self.binder, rel, inner)

    def join(self, rel: ast.Join) -> Bound:
        left = self.relation(rel.left)
        if isinstance(rel.right, ast.Unnest):  # a lateral join: it reads the left's row
            return unnest.unnest_join(self.binder, rel, left)
        right = self.relation(rel.right)
        return joins.join(self.binder, self.catalog, rel, left, right)

    def lone_unnest(self, rel: ast.Unnest) -> Bound:
        fail(self.diag, "UnsupportedError", "UNNEST reads the rows of a table: write FROM t "
             "CROSS JOIN UNNEST(t.arr) AS x (element)", rel.span)

    def values(self, rel: ast.Values) -> Bound:
        """An inline VALUES table: a bounded source of its own, named after its
        alias (``values`` without one) unless a source or another VALUES has
        that name."""
        base = rel.alias or "values"
        name, n = base, 1
        while name.lower() in self.values_names or self.catalog.get(name) is not None:
            n += 1
            name = f"{base}_{n}"
        self.values_names.add(name.lower())
        plan = sources.values_scan(self.binder, rel, name)
        return Bound(plan, Scope.of(plan.schema, rel.alias))

    def match_recognize(self, rel: ast.MatchRecognize) -> Bound:
        return match.match_recognize(self.binder, rel, self.relation(rel.input))

    def table_ref(self, rel: ast.TableRef) -> Bound:
        """A name in FROM: a CTE (the innermost first), else a view or a source of
        the catalog."""
        qualifier = rel.alias or rel.name.split(".")[-1]
        plan = self.cte(rel.name)
        if plan is None:
            obj = self.catalog.get(rel.name)
            if obj is None:
                self.unknown_object(rel.name, rel.span)
            if isinstance(obj, ViewDef):
                plan = self.view(obj)
            else:
                assert isinstance(obj, SourceDef)
                plan = sources.scan(self.binder, obj, rel)
        return Bound(plan, row_fields.with_paths(Scope.of(plan.schema, qualifier),
                                                 self.binder.row_columns))

    def cte(self, name: str) -> lg.LogicalNode | None:
        """The plan of the CTE ``name`` in scope, or None."""
        for frame in reversed(self.ctes):
            cte = frame.get(name.lower())
            if cte is not None:
                # a CTE sees the CTEs defined before it (not itself: no recursion)
                position = list(frame).index(name.lower())
                earlier = dict(list(frame.items())[:position])
                saved = self.ctes
                self.ctes = self.ctes[: self.ctes.index(frame)] + [earlier]
                try:
                    return self.query(cte.query)
                finally:
                    self.ctes = saved
        return None

    def view(self, view: ViewDef) -> lg.LogicalNode:
        """A view's query (which sees no CTE of the query using it), its columns
        renamed as the view names them."""
        saved, self.ctes = self.ctes, []
        try:
            plan = self.query(view.query)
        finally:
            self.ctes = saved
        names = tuple(c.name for c in view.columns)
        if names != tuple(f.name for f in plan.schema):
            plan = lg.Project(
                plan,
                tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(plan.schema)),
                names,
            )
        return plan

    # ---------------------------------------------------------------- SELECT

    def select(self, sel: ast.Select) -> lg.LogicalNode:
        if sel.from_ is None:
            fail(self.diag, "UnsupportedError", "a streaming query needs a FROM clause",
                            sel.span)
        spine = joins.comma_spine(sel.from_) if sel.where is not None else []
        if not spine:
            return self.filtered_select(sel, self.relation(sel.from_), sel.where)
        # FROM a, b WHERE <a and b>: the WHERE conditions that join them go into ON
        sides = [self.relation(spine[0].left)] + [self.relation(j.right) for j in spine]
        assert sel.where is not None
        rewritten, where = joins.where_into_comma_joins(spine, [s.scope for s in sides],
                                                        sel.where)
        bound = sides[0]
        for join, right in zip(rewritten, sides[1:]):
            bound = joins.join(self.binder, self.catalog, join, bound, right)
        return self.filtered_select(sel, bound, where)

    def filtered_select(self, sel: ast.Select, bound: Bound, where: ast.Expr | None
                        ) -> lg.LogicalNode:
        """The SELECT over its FROM, the IN/EXISTS conditions of ``where`` joined
        in first (semi and anti joins), the rest of it a filter."""
        bound, where = subqueries.subqueries_into_joins(self, bound, where)
        return select.select(self.binder, replace(sel, where=where), bound)


# the binder of each FROM item class (Analyzer.relation)
_RELATIONS: dict[type, Callable[[Analyzer, Any], Bound]] = {
    ast.TableRef: Analyzer.table_ref,
    ast.SubqueryRef: Analyzer.subquery,
    ast.WindowTVF: Analyzer.window_tvf,
    ast.Join: Analyzer.join,
    ast.MatchRecognize: Analyzer.match_recognize,
    ast.Unnest: Analyzer.lone_unnest,
    ast.Values: Analyzer.values,
}

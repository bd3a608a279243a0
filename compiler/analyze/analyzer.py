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

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from compiler import ast, functions
from compiler import logical as lg
from compiler import types as t
from compiler.analyze import joins, match, sources, windows
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.join_conditions import (
    LOST_TIME_HINT,
    has_regular_join,
)
from compiler.analyze.literals import (
    interval_ms,
)
from compiler.analyze.scope import Abort, Bound, Ref, Scope, ScopeField
from compiler.analyze.syntax import (
    column_span,
    contains_aggregate,
    derive_name,
    iter_ast,
    map_children,
    over_calls,
    relations,
    substitute_aliases,
    unique_names,
)
from compiler.catalog import (
    Catalog,
    CatalogColumn,
    SourceDef,
    ViewDef,
)
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
    utilities: list[ast.Statement]  # SHOW, DESCRIBE, EXPLAIN, in order


class Analyzer:
    def __init__(self, catalog: Catalog, diagnostics: Diagnostics):
        self.catalog = catalog
        self.diag = diagnostics
        self.binder = ExpressionBinder(diagnostics)
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
            except Abort:
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
                    sources.create_source(self.binder, self.catalog, stmt)
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
                raise Abort
            self.statement(inner)  # checks it
            return stmt
        return stmt  # SHOW

    def unknown_object(self, name: str, span: Span) -> None:
        if name.lower() in self.failed_names:
            raise Abort  # its definition failed, and that error is reported already
        suggestion = self.catalog.suggest(name)
        self.diag.error(
            "BindError",
            f"unknown stream, table or view '{name}'"
            + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            span,
        )
        raise Abort

    # ------------------------------------------------------------------ DDL

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
                raise Abort
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
            raise Abort
        plan, _ = self.query(stmt.query)
        writable = [c for c in target.columns if c.kind == "physical"]
        if stmt.columns:
            by_name = {c.name.lower(): c for c in writable}
            chosen = []
            for name in stmt.columns:
                if name.lower() not in by_name:
                    self.diag.error("BindError", f"'{name}' is not a column of {target.name}",
                                    stmt.target_span)
                    raise Abort
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
            raise Abort
        failed = False
        for i, (out, col) in enumerate(zip(schema, writable)):
            if t.common_type(out.type, col.type) is None and not col.type.is_string:
                self.diag.error(
                    "BindError",
                    f"column '{out.name}' is {out.type.sql()} but {target.name}.{col.name} is "
                    f"{col.type.sql()}",
                    column_span(stmt.query, i),
                )
                failed = True
        if failed:
            raise Abort
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

    def query(self, query: ast.Query) -> tuple[lg.LogicalNode, Bound]:
        self.ctes.append({cte.name.lower(): cte for cte in query.ctes})
        try:
            if isinstance(query, ast.SetOp):
                return self.set_op(query)
            return self.select(query)
        finally:
            self.ctes.pop()

    def set_op(self, query: ast.SetOp) -> tuple[lg.LogicalNode, Bound]:
        if query.op not in ("UNION ALL", "UNION"):
            self.diag.error("UnsupportedError", f"{query.op} is not supported on streams yet",
                            query.op_span)
            raise Abort
        sides = []
        for side in (query.left, query.right):  # independent: check both
            try:
                sides.append(self.query(side)[0])
            except Abort:
                pass
        if len(sides) < 2:
            raise Abort
        left, right = sides
        ls, rs = left.schema, right.schema
        if len(ls) != len(rs):
            self.diag.error(
                "BindError",
                f"{query.op} sides have {len(ls)} and {len(rs)} columns",
                query.right.span,
            )
            raise Abort
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
        plan: lg.LogicalNode = lg.Union((left, right), query.op == "UNION", span=query.span)
        if query.op == "UNION":
            keys = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(ls))
            plan = lg.Aggregate(plan, keys, tuple(f.name for f in ls), (), (), span=query.span)
        return plan, Bound(plan, Scope.of(plan.schema, None))

    # ------------------------------------------------------------------ FROM

    def relation(self, rel: ast.Relation) -> Bound:
        """Bind one FROM item; its inputs are bound first (by this Analyzer, which
        knows the catalog and the CTEs), then the item itself by its module."""
        bind = _RELATIONS.get(type(rel))
        if bind is None:
            self.diag.error("UnsupportedError", "unsupported FROM item", rel.span)
            raise Abort
        return bind(self, rel)

    def subquery(self, rel: ast.SubqueryRef) -> Bound:
        plan, _ = self.query(rel.query)
        return Bound(plan, Scope.of(plan.schema, rel.alias), None)

    def window_tvf(self, rel: ast.WindowTVF) -> Bound:
        inner = self.table_ref(ast.TableRef(rel.input.name, span=rel.input.span))
        return windows.window_tvf(self.binder, rel, inner)

    def join(self, rel: ast.Join) -> Bound:
        left = self.relation(rel.left)
        right = self.relation(rel.right)
        return joins.join(self.binder, self.catalog, rel, left, right)

    def match_recognize(self, rel: ast.MatchRecognize) -> Bound:
        return match.match_recognize(self.binder, rel, self.relation(rel.input))

    def table_ref(self, rel: ast.TableRef) -> Bound:
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
                return Bound(plan, Scope.of(plan.schema, qualifier))
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
            return Bound(plan, Scope.of(plan.schema, qualifier))
        assert isinstance(obj, SourceDef)
        scan = sources.scan(self.binder, obj, rel)
        return Bound(scan, Scope.of(scan.schema, qualifier))

    # ---------------------------------------------------------------- SELECT

    def select(self, sel: ast.Select) -> tuple[lg.LogicalNode, Bound]:
        """Each clause is bound on its own (WHERE, GROUP BY, every SELECT item, HAVING),
        so one query reports all its independent errors; a name that failed to bind
        makes what depends on it fail silently rather than cascade."""
        if sel.from_ is None:
            self.diag.error("UnsupportedError", "a streaming query needs a FROM clause",
                            sel.span)
            raise Abort
        bound = self.relation(sel.from_)
        failed = False
        plan = bound.plan
        if sel.where is not None:
            try:
                self.binder.no_aggregates(sel.where, "WHERE")
                predicate = self.binder.expr(sel.where, bound.scope, "WHERE")
                self.binder.require_boolean(predicate, sel.where, "WHERE")
                bound, predicate = joins.time_bounds_into_join(self.diag, bound, predicate,
                                                                sel.where)
                plan = bound.plan
                if predicate is not None:
                    plan = lg.Filter(plan, predicate, span=sel.where.span)
            except Abort:
                failed = True
        bound = Bound(plan, bound.scope, bound.window)
        group_items = list(sel.group_by)
        group_failed = False
        try:
            bound, group_items = windows.legacy_group_window(self.binder, bound, group_items)
        except Abort:
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
        windowed = over_calls([e for e in item_exprs if e is not None])
        if windowed:
            try:
                plan, post_scope, item_exprs = self.over(
                    plan, post_scope, windowed, item_exprs,
                    bound.window is not None and aggregating)
            except Abort:  # reported; the items with OVER calls are not bound again
                failed = True
                item_exprs = [None if e is not None and over_calls([e]) else e
                              for e in item_exprs]
        exprs: list[lg.BoundExpr] = []
        for item, expr in zip(items, item_exprs):
            if expr is None:  # its error is reported already
                continue
            try:
                exprs.append(self.binder.expr(expr, post_scope, "SELECT"))
            except Abort:
                failed = True
        if failed:
            raise Abort
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
            raise Abort
        return plan, Bound(plan, Scope.of(plan.schema, None))

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

    def aggregate(self, sel: ast.Select, bound: Bound, group_items: list,
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
                    raise Abort
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
                key_bound.append(self.binder.expr(k, scope, "GROUP BY"))
            except Abort:
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
            raise Abort
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
                        raise Abort
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
            having_expr = substitute_aliases(having_expr, aliases, scope)
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
            except Abort:
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
                raise Abort
            emit = sel.emit.kind
            if sel.emit.delay is not None:
                try:
                    delay = interval_ms(sel.emit.delay, self.diag, "EMIT delay")
                    if delay < 0:
                        self.diag.error("BindError", "the EMIT delay must not be negative",
                                        sel.emit.delay.span)
                        raise Abort
                except Abort:
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
            replacements.append((k, Ref(i, out[i].name)))
        for j, a in enumerate(agg_asts):
            idx = len(key_asts) + j
            replacements.append((a, Ref(idx, out[idx].name)))
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
                    index = self.binder.resolve(item.expr, scope).index
                    if index not in key_by_index:
                        ungrouped.setdefault(id(star), []).append(item.expr.name)
                        raise Abort
                rewritten.append(self.post_aggregate(item.expr, ctx))
            except Abort:
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
                having = self.binder.expr(h, post, "HAVING")
                self.binder.require_boolean(having, having_expr, "HAVING")
            except Abort:
                failed = True
        return node, post, rewritten, having, failed

    def post_aggregate(self, expr: ast.Expr, ctx: _AggContext) -> ast.Expr:
        """Rewrite an expression over aggregate output: keys and aggregates become refs."""
        for original, ref in ctx.replacements:
            if expr == original:
                return ref
        if isinstance(expr, ast.Call) and expr in ctx.failed_aggs:
            raise Abort  # its error is reported already
        if isinstance(expr, ast.Column):
            field_ = self.binder.resolve(expr, ctx.scope)
            if field_.index in ctx.key_by_index:
                i = ctx.key_by_index[field_.index]
                return Ref(i, ctx.out[i].name, span=expr.span)
            if ctx.group_failed:
                raise Abort  # perhaps the GROUP BY item that failed meant this column
            self.diag.error(
                "BindError",
                f"column '{expr}' must appear in GROUP BY or be used in an aggregate function",
                expr.span,
            )
            raise Abort
        if isinstance(expr, ast.Call) and expr.name in functions.GROUP_WINDOW_PROPERTIES:
            name = functions.GROUP_WINDOW_PROPERTIES[expr.name]
            for i, f in enumerate(ctx.out):
                if f.name == name:
                    return Ref(i, name, span=expr.span)
            if ctx.group_failed:
                raise Abort
            self.diag.error("BindError", f"{expr.name} needs a {expr.name.split('_')[0]} group "
                            "window in GROUP BY", expr.span)
            raise Abort
        if isinstance(expr, ast.Call) and expr.over is None and (
                expr.name not in functions.KNOWN_FUNCTIONS):
            self.binder.unknown_function(expr)  # before its arguments' GROUP BY validity
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
        return map_children(expr, lambda e: self.post_aggregate(e, ctx))

    def agg_call(self, call: ast.Call, scope: Scope) -> lg.AggCall:
        name = call.name
        for arg in call.args:
            if contains_aggregate(arg):
                self.diag.error(
                    "BindError",
                    f"aggregate calls cannot be nested: {name}(...) contains another aggregate",
                    arg.span,
                )
                raise Abort
        param = None
        args_ast = list(call.args)
        if name in ("PERCENTILE_CONT", "PERCENTILE_DISC"):
            if len(call.within_group) != 1 or len(call.args) != 1:
                self.diag.error(
                    "BindError",
                    f"{name} is written {name}(p) WITHIN GROUP (ORDER BY column)",
                    call.span,
                )
                raise Abort
            param = self.percentile(call.args[0])
            if call.within_group[0].descending:
                param = 1.0 - param
            args_ast = [call.within_group[0].expr]
        elif name in ("PERCENTILE", "APPROX_PERCENTILE"):
            if len(call.args) != 2:
                self.diag.error("BindError", f"{name} takes (column, percentage)", call.span)
                raise Abort
            param = self.percentile(call.args[1])
            args_ast = [call.args[0]]
            name = "PERCENTILE_CONT" if name == "PERCENTILE" else name
        elif call.within_group:
            self.diag.error("BindError", f"{name} does not take WITHIN GROUP", call.span)
            raise Abort
        if name == "COUNT" and len(args_ast) == 1 and isinstance(args_ast[0], ast.Star):
            args: tuple[lg.BoundExpr, ...] = ()
        else:
            if any(isinstance(a, ast.Star) for a in args_ast):
                self.diag.error("BindError", f"{name}(*) is not valid; only COUNT(*) is",
                                call.span)
                raise Abort
            args = tuple(self.binder.expr(a, scope, f"{name}") for a in args_ast)
        expected = {"CORR": 2}.get(name, 1)
        if name != "COUNT" and len(args) != expected:
            self.diag.error("BindError", f"{name} takes {expected} argument(s)", call.span)
            raise Abort
        if name == "COUNT" and len(args) > 1 and not call.distinct:
            self.diag.error("BindError", "COUNT takes one argument", call.span)
            raise Abort
        result = functions.aggregate_type(name, [a.type for a in args])
        if isinstance(result, str):
            self.diag.error("BindError", result, call.span)
            raise Abort
        filter_ = None
        if call.filter is not None:
            self.binder.no_aggregates(call.filter, "FILTER")
            filter_ = self.binder.expr(call.filter, scope, "FILTER")
            self.binder.require_boolean(filter_, call.filter, "FILTER")
        if call.distinct and name not in ("COUNT", "SUM", "AVG", "MIN", "MAX"):
            self.diag.error("UnsupportedError", f"{name}(DISTINCT ...) is not supported",
                            call.span)
            raise Abort
        return lg.AggCall(name, args, result, call.distinct, filter_, param, span=call.span)

    def percentile(self, arg: ast.Expr) -> float:
        if not isinstance(arg, ast.Literal) or arg.kind not in ("integer", "decimal"):
            self.diag.error("BindError", "the percentile must be a number literal in [0, 1]",
                            arg.span)
            raise Abort
        value = float(arg.value)  # type: ignore[arg-type]
        if not 0.0 <= value <= 1.0:
            self.diag.error("BindError", f"percentile {value} is outside [0, 1]", arg.span)
            raise Abort
        return value

    def over(self, plan: lg.LogicalNode, scope: Scope, calls: list[ast.Call],
             item_exprs: list[ast.Expr | None], after_window_agg: bool):
        bound_calls = []
        failed = False
        for call in calls:  # each OVER call on its own
            try:
                bound_calls.append(self.over_call(call, scope, after_window_agg))
            except Abort:
                failed = True
        if failed:
            raise Abort
        names = unique_names([derive_name(c) + "_over" for c in calls])
        node = lg.Over(plan, tuple(bound_calls), tuple(names), span=calls[0].span)
        width = len(scope.fields)
        new_scope = Scope(scope.fields + [
            ScopeField(None, n, c.type, width + i) for i, (n, c) in enumerate(zip(names,
                                                                                  bound_calls))
        ])
        refs = {id(c): Ref(width + i, names[i]) for i, c in enumerate(calls)}

        def swap(expr: ast.Expr) -> ast.Expr:
            if isinstance(expr, ast.Call) and expr.over is not None:
                for c in calls:
                    if expr == c:
                        return refs[id(c)]
            return map_children(expr, swap)

        return node, new_scope, [swap(e) if e is not None else None for e in item_exprs]

    def over_call(self, call: ast.Call, scope: Scope, after_window_agg: bool) -> lg.OverCall:
        assert call.over is not None
        spec = call.over
        if call.name in _UNSUPPORTED_WINDOW_FUNCTIONS:
            self.diag.error("UnsupportedError", f"{call.name}(...) OVER is not supported yet",
                            call.span,
                            hint="ROW_NUMBER, RANK, DENSE_RANK, LAG, LEAD and the aggregates "
                            "work with OVER")
            raise Abort
        partition = tuple(self.binder.expr(p, scope, "PARTITION BY") for p in spec.partition_by)
        order = tuple(
            lg.OrderKey(self.binder.expr(o.expr, scope, "ORDER BY"), o.descending, o.nulls_first)
            for o in spec.order_by
        )
        name = call.name
        if name in ("ROW_NUMBER", "RANK", "DENSE_RANK"):
            if call.args:
                self.diag.error("BindError", f"{name}() takes no arguments", call.span)
                raise Abort
            if not order:
                self.diag.error("BindError", f"{name}() needs ORDER BY in its OVER clause",
                                spec.span)
                raise Abort
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
            raise Abort
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
            raise Abort
        args = tuple(self.binder.expr(a, scope, name) for a in call.args if not isinstance(a, ast.Star))
        if name in ("LAG", "LEAD"):
            if not args:
                self.diag.error("BindError", f"{name} takes (column[, offset[, default]])",
                                call.span)
                raise Abort
            offset = 1
            if len(call.args) > 1:
                lit = call.args[1]
                if not (isinstance(lit, ast.Literal) and lit.kind == "integer"):
                    self.diag.error("BindError", f"the {name} offset must be an integer literal",
                                    lit.span)
                    raise Abort
                offset = int(lit.value)  # type: ignore[arg-type]
            frame = lg.FrameSpec("ROWS", offset, offset)
            return lg.OverCall(name, args[:1], args[0].type.plain().with_nullable(True), partition,
                               order, frame, span=call.span)
        if name not in functions.AGGREGATES:
            self.diag.error("BindError", f"{name} cannot be used with OVER", call.span)
            raise Abort
        result = functions.aggregate_type(name, [a.type for a in args])
        if isinstance(result, str):
            self.diag.error("BindError", result, call.span)
            raise Abort
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
                raise Abort
            value = bound.offset
            if unit == "ROWS":
                if not (isinstance(value, ast.Literal) and value.kind == "integer"):
                    self.diag.error("BindError", "a ROWS frame bound is an integer literal",
                                    bound.span)
                    raise Abort
                return int(value.value)  # type: ignore[arg-type]
            if not isinstance(value, ast.Interval):
                self.diag.error("BindError", "a RANGE frame bound on time is an INTERVAL",
                                bound.span)
                raise Abort
            return interval_ms(value, self.diag, "RANGE bound")

        start = offset(frame.start, frame.unit)
        end = offset(frame.end, frame.unit)
        if end is None or (start is not None and start < end):
            self.diag.error("BindError", "the frame's start must not be after its end",
                            frame.span)
            raise Abort
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
                    raise Abort
                bound = exprs[index]
            elif (isinstance(expr, ast.Column) and expr.table is None
                  and expr.name.lower() in by_alias and not scope.find(expr.name, None)):
                bound = by_alias[expr.name.lower()]
            else:
                bound = self.binder.expr(expr, scope, "ORDER BY")
                if sel.distinct and bound not in exprs:
                    self.diag.error(
                        "BindError",
                        f"with SELECT DISTINCT, ORDER BY may only use selected columns; "
                        f"'{self.diag.source.fragment(expr.span)}' is not selected",
                        expr.span,
                    )
                    raise Abort
            keys.append(lg.OrderKey(bound, item.descending, item.nulls_first))
        first = keys[0]
        if first.expr.type.time_attribute is not None and not first.descending:
            return lg.Sort(plan, tuple(keys), span=sel.order_by[0].span)
        if sel.limit is None:
            hint = "add LIMIT for a Top-N, or ORDER BY the event-time column"
            if has_regular_join(plan) and first.expr.type.is_timestamp:
                hint = LOST_TIME_HINT
            self.diag.error(
                "BindError",
                "a stream can only be sorted by a time attribute ascending (its rows never "
                "end)",
                sel.order_by[0].span,
                hint=hint,
            )
            raise Abort
        # ORDER BY ... LIMIT n on a stream: a global Top-N
        return lg.TopN(plan, (), tuple(keys), sel.limit, None, span=sel.span)


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


# the binder of each FROM item class (Analyzer.relation)
_RELATIONS: dict[type, Callable[[Analyzer, Any], Bound]] = {
    ast.TableRef: Analyzer.table_ref,
    ast.SubqueryRef: Analyzer.subquery,
    ast.WindowTVF: Analyzer.window_tvf,
    ast.Join: Analyzer.join,
    ast.MatchRecognize: Analyzer.match_recognize,
}

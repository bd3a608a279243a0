"""Aggregation: GROUP BY keys and grouping sets, whether it is a window
aggregation (grouped by a window TVF's window_start/window_end), EMIT, and the
SELECT items and HAVING rewritten over the Aggregate's output (keys and
aggregates become references to its columns). One aggregate call is bound in
``aggregates.py``."""

from __future__ import annotations

from dataclasses import replace

from compiler import ast, functions
from compiler import logical as lg
from compiler.analyze.aggregates import agg_call
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.literals import interval_ms
from compiler.analyze.scope import Abort, Bound, Ref, Scope, ScopeField, fail
from compiler.analyze.syntax import (
    derive_name,
    describe_name,
    iter_ast,
    map_children,
    substitute_aliases,
    unique_names,
)
from compiler.errors import Diagnostics
from compiler.frozen import frozen_dataclass

_WINDOW_COLUMNS = ("window_start", "window_end", "window_time")


@frozen_dataclass
class _AggContext:
    """What rewriting an expression over an aggregate's output needs."""

    replacements: list  # [(key or aggregate AST, Ref to its output column)]
    scope: Scope  # the aggregate's input
    key_by_index: dict[int, int]  # input column -> key position, for grouped columns
    out: lg.Schema  # the aggregate's output
    failed_aggs: list  # aggregate calls whose errors are reported already
    group_failed: bool  # a GROUP BY item failed: grouping is unknown


@frozen_dataclass
class _Windowing:
    """How an aggregation stands to the window TVF below it, if there is one."""

    window: lg.WindowTVF | None
    indices: frozenset[int]  # the window columns' positions in the aggregate's input
    grouped: tuple[int, ...]  # the keys that are window_start or window_end

    @property
    def is_window_agg(self) -> bool:
        return self.window is not None and bool(self.grouped)


def aggregate(binder: ExpressionBinder, sel: ast.Select, bound: Bound, group_items: list,
              items: list[ast.SelectItem], stars: list[ast.Star | None], group_failed: bool):
    """The Aggregate node, the scope after it, each SELECT item rewritten over it
    (None where the item failed), the bound HAVING, and whether anything failed.
    ``group_failed``: a GROUP BY item failed already, so which columns are grouped
    is unknown and "must appear in GROUP BY" would be a guess."""
    diag = binder.diag
    scope = bound.scope
    plain_keys, sets_node, bad_item = _group_items(diag, group_items)
    key_asts, key_bound, unbound = _bind_keys(binder, plain_keys, sets_node, scope)
    group_failed = group_failed or bad_item or unbound
    failed = group_failed
    windowing = _windowing(diag, sel, bound, items, key_asts, key_bound, group_failed)
    grouping_sets = _grouping_sets(diag, sets_node, plain_keys, key_asts, windowing)
    key_names = unique_names([_key_name(k, b) for k, b in zip(key_asts, key_bound)])
    if windowing.is_window_agg:
        key_asts, key_bound, key_names, grouping_sets = _with_window_keys(
            scope, windowing, key_asts, key_bound, key_names, grouping_sets)
    # aggregates of SELECT, HAVING and ORDER BY
    aliases = {i.alias.lower(): i.expr for i in items if i.alias}
    having_expr = sel.having
    if having_expr is not None:
        having_expr = substitute_aliases(having_expr, aliases, scope)
    agg_asts, aggs, failed_aggs = _aggregate_calls(binder, items, having_expr, scope)
    failed = failed or bool(failed_aggs)
    agg_names = _aggregate_names(items, agg_asts, key_names)
    emit, delay, emit_failed = _emit(diag, sel, windowing.is_window_agg, group_failed)
    node = lg.Aggregate(
        bound.plan, tuple(key_bound), tuple(key_names), tuple(aggs), tuple(agg_names),
        windowing.window if windowing.is_window_agg else None, grouping_sets, emit, delay,
        span=sel.span,
    )
    # the scope after aggregation: keys, then aggregates
    out = node.schema
    post = Scope(
        [ScopeField(None, f.name, f.type, i) for i, f in enumerate(out)]
    )
    replacements: list[tuple[ast.Expr, ast.Expr | Ref]] = []
    for i, k in enumerate(key_asts):
        replacements.append((k, Ref(i, out[i].name)))
    for j, a in enumerate(agg_asts):
        idx = len(key_asts) + j
        replacements.append((a, Ref(idx, out[idx].name)))
    key_by_index = {
        b.index: i for i, b in enumerate(key_bound) if isinstance(b, lg.ColumnRef)
    }
    ctx = _AggContext(replacements, scope, key_by_index, out, failed_aggs, group_failed)
    rewritten, items_failed = _rewrite_items(binder, items, stars, ctx)
    having = None
    having_failed = False
    if having_expr is not None:
        try:
            h = post_aggregate(binder, having_expr, ctx)
            having = binder.expr(h, post, "HAVING")
            binder.require_boolean(having, having_expr, "HAVING")
        except Abort:
            having_failed = True
    failed = failed or emit_failed or items_failed or having_failed
    return node, post, rewritten, having, failed


def _group_items(diag: Diagnostics, group_items: list
                 ) -> tuple[list[ast.Expr], ast.GroupingSets | None, bool]:
    """The plain GROUP BY keys, the GROUPING SETS/ROLLUP/CUBE item (at most one),
    and whether an item was refused (an aggregate in GROUP BY)."""
    plain_keys: list[ast.Expr] = []
    sets_node: ast.GroupingSets | None = None
    refused = False
    for g in group_items:
        if isinstance(g, ast.GroupingSets):
            if sets_node is not None:
                fail(diag, "UnsupportedError", "only one GROUPING SETS/ROLLUP/CUBE per "
                           "GROUP BY", g.span)
            sets_node = g
        else:
            aggregate = next((n for n in iter_ast(g, into_over=False)
                              if isinstance(n, ast.Call) and n.over is None
                              and n.name in functions.AGGREGATES), None)
            if aggregate is not None:
                diag.error("BindError", "GROUP BY cannot contain an aggregate",
                           aggregate.span)
                refused = True
                continue
            plain_keys.append(g)
    return plain_keys, sets_node, refused


def _bind_keys(binder: ExpressionBinder, plain_keys: list[ast.Expr],
               sets_node: ast.GroupingSets | None, scope: Scope
               ) -> tuple[list[ast.Expr], list[lg.BoundExpr], bool]:
    """Every distinct key expression in first-seen order, bound; those that failed
    are left out, and the flag says whether one did."""
    key_asts: list[ast.Expr] = []
    for k in plain_keys + [e for s in (sets_node.sets if sets_node else ()) for e in s]:
        if k not in key_asts:
            key_asts.append(k)
    key_bound: list[lg.BoundExpr] = []
    failed = False
    for k in list(key_asts):
        try:
            key_bound.append(binder.expr(k, scope, "GROUP BY"))
        except Abort:
            key_asts.remove(k)
            failed = True
    return key_asts, key_bound, failed


def _windowing(diag: Diagnostics, sel: ast.Select, bound: Bound, items: list[ast.SelectItem],
               key_asts: list[ast.Expr], key_bound: list[lg.BoundExpr], group_failed: bool
               ) -> _Windowing:
    """Which keys group by the window; window columns selected but not grouped by
    are refused."""
    window = bound.window
    indices: frozenset[int] = frozenset()
    if window is not None:
        # window columns sit at the end of the TVF output; map them in this scope
        indices = frozenset(
            f.index for f in bound.scope.fields
            if f.name in _WINDOW_COLUMNS and f.index >= 0
            and isinstance(bound.plan, (lg.WindowTVF, lg.Filter, lg.Join))
        )
    grouped = tuple(
        i for i, k in enumerate(key_bound)
        if isinstance(k, lg.ColumnRef) and k.name in ("window_start", "window_end")
        and k.index in indices
    )
    windowing = _Windowing(window, indices, grouped)
    used = _window_column_used(items) if window is not None and not grouped else None
    if used is not None and not group_failed:
        fail(diag, 
            "BindError",
            "window_start/window_end are selected but not grouped by; add them to "
            "GROUP BY",
            used.span,
        )
    if window is not None and windowing.is_window_agg and window.kind == "SESSION" and (
            not window.partition_by):
        _warn_global_session(diag, sel, windowing, key_asts, key_bound)
    return windowing


def _warn_global_session(diag: Diagnostics, sel: ast.Select, windowing: _Windowing,
                         key_asts: list[ast.Expr], key_bound: list[lg.BoundExpr]) -> None:
    other_keys = [name for name, k in zip([derive_name(a) for a in key_asts], key_bound)
                  if not (isinstance(k, lg.ColumnRef) and k.index in windowing.indices)]
    if other_keys and _is_session_tvf(sel):
        diag.warning(
            "SESSION without PARTITION BY builds global sessions over the whole "
            f"stream (as Flink does); GROUP BY {', '.join(other_keys)} only splits each "
            "global session",
            sel.from_.span if sel.from_ is not None else sel.span,
            hint=f"for sessions per {other_keys[0]} write SESSION(TABLE t PARTITION BY "
            f"{other_keys[0]}, DESCRIPTOR(...), ...)",
        )


def _grouping_sets(diag: Diagnostics, sets_node: ast.GroupingSets | None,
                   plain_keys: list[ast.Expr], key_asts: list[ast.Expr], windowing: _Windowing
                   ) -> tuple[tuple[int, ...], ...] | None:
    """Each grouping set as key positions (the plain keys are in every set)."""
    if sets_node is None:
        return None
    base = [key_asts.index(k) for k in plain_keys]
    grouping_sets = []
    for s in sets_node.sets:  # (keys that failed to bind are left out)
        grouping_sets.append(tuple(sorted(set(
            base + [key_asts.index(e) for e in s if e in key_asts]))))
    if windowing.is_window_agg:
        for members in grouping_sets:
            if not any(i in members for i in windowing.grouped):
                fail(diag, 
                    "BindError",
                    "every grouping set of a window aggregation must contain "
                    "window_start (as in Flink)",
                    sets_node.span,
                )
    return tuple(grouping_sets)


def _with_window_keys(scope: Scope, windowing: _Windowing, key_asts: list[ast.Expr],
                      key_bound: list[lg.BoundExpr], key_names: list[str],
                      grouping_sets: tuple[tuple[int, ...], ...] | None):
    """The keys with the window's three columns among them, whichever the user
    grouped by (and in every grouping set)."""
    key_asts, key_bound, key_names = list(key_asts), list(key_bound), list(key_names)
    # the window columns already grouped by (window_time too: Flink's GROUP BY
    # window_start, window_end, window_time), each kept once
    present = {k.name for k in key_bound
               if isinstance(k, lg.ColumnRef) and k.index in windowing.indices}
    for name in _WINDOW_COLUMNS:
        if name in present:
            continue
        f = next(f for f in scope.fields if f.name == name and f.index in windowing.indices)
        key_bound.append(lg.ColumnRef(f.index, f.ref_name, f.type))
        key_asts.append(ast.Column(name))
        key_names.append(name)
        if grouping_sets is not None:
            idx = len(key_bound) - 1
            grouping_sets = tuple(s + (idx,) for s in grouping_sets)
    return key_asts, key_bound, key_names, grouping_sets


def _aggregate_calls(binder: ExpressionBinder, items: list[ast.SelectItem],
                     having: ast.Expr | None, scope: Scope
                     ) -> tuple[list[ast.Call], list[lg.AggCall], list[ast.Call]]:
    """The distinct aggregate calls of the SELECT items and HAVING, each bound on
    its own: those bound (their ASTs and AggCalls) and those that failed."""
    agg_asts: list[ast.Call] = []
    sources = [i.expr for i in items] + ([having] if having is not None else [])
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
            aggs.append(agg_call(binder, call, scope))
        except Abort:
            agg_asts.remove(call)
            failed_aggs.append(call)
    return agg_asts, aggs, failed_aggs


def _aggregate_names(items: list[ast.SelectItem], agg_asts: list[ast.Call],
                     key_names: list[str]) -> list[str]:
    # an aggregate the SELECT list names (SUM(...) AS error_count) keeps that name
    aliased = {}
    for item in items:
        if item.alias and isinstance(item.expr, ast.Call) and item.expr not in aliased:
            aliased[item.expr] = item.alias
    agg_names = unique_names([aliased.get(c) or describe_name(c) for c in agg_asts])
    return [n if n.lower() not in {k.lower() for k in key_names} else f"{n}_agg"
            for n in agg_names]


def _emit(diag: Diagnostics, sel: ast.Select, is_window_agg: bool, group_failed: bool
          ) -> tuple[str, int, bool]:
    """The EMIT mode, its delay in milliseconds, and whether the delay failed."""
    if sel.emit is None:
        return "AFTER WATERMARK", 0, False
    if sel.emit.kind == "AFTER WATERMARK" and not is_window_agg:
        if not group_failed:
            diag.error(
                "BindError",
                "EMIT AFTER WATERMARK needs a window aggregation (GROUP BY "
                "window_start, window_end of a window TVF)",
                sel.emit.span,
            )
        raise Abort
    delay = 0
    if sel.emit.delay is not None:
        try:
            delay = interval_ms(sel.emit.delay, diag, "EMIT delay")
            if delay < 0:
                fail(diag, "BindError", "the EMIT delay must not be negative",
                           sel.emit.delay.span)
        except Abort:
            return sel.emit.kind, 0, True
    return sel.emit.kind, delay, False


def _rewrite_items(binder: ExpressionBinder, items: list[ast.SelectItem],
                   stars: list[ast.Star | None], ctx: _AggContext
                   ) -> tuple[list[ast.Expr | None], bool]:
    """Each SELECT item over the aggregate's output (None where it failed), and
    whether one failed; a ``*`` that selects ungrouped columns is one error."""
    rewritten: list[ast.Expr | None] = []
    failed = False
    ungrouped: dict[int, list[str]] = {}  # per SELECT *: its columns not grouped
    for item, star in zip(items, stars):
        try:
            if star is not None:
                assert isinstance(item.expr, ast.Column)
                index = binder.resolve(item.expr, ctx.scope).index
                if index not in ctx.key_by_index:
                    ungrouped.setdefault(id(star), []).append(item.expr.name)
                    raise Abort
            rewritten.append(post_aggregate(binder, item.expr, ctx))
        except Abort:
            rewritten.append(None)
            failed = True
    for star in {id(s): s for s in stars if s is not None and id(s) in ungrouped}.values():
        if not ctx.group_failed:  # one error per star, not one per column
            names = ungrouped[id(star)]
            binder.diag.error(
                "BindError",
                f"SELECT * with GROUP BY selects {len(names)} column(s) that are neither "
                f"grouped nor aggregated: {', '.join(names)}",
                star.span,
                hint="list the grouped columns and the aggregates instead of *",
            )
    return rewritten, failed


def post_aggregate(binder: ExpressionBinder, expr: ast.Expr, ctx: _AggContext) -> ast.Expr:
    """Rewrite an expression over aggregate output: keys and aggregates become refs."""
    for original, ref in ctx.replacements:
        if expr == original:
            return ref
    if isinstance(expr, ast.Call) and expr in ctx.failed_aggs:
        raise Abort  # its error is reported already
    if isinstance(expr, ast.Column):
        field_ = binder.resolve(expr, ctx.scope)
        if field_.index in ctx.key_by_index:
            i = ctx.key_by_index[field_.index]
            return Ref(i, ctx.out[i].name, span=expr.span)
        if ctx.group_failed:
            raise Abort  # perhaps the GROUP BY item that failed meant this column
        fail(binder.diag, 
            "BindError",
            f"column '{expr}' must appear in GROUP BY or be used in an aggregate function",
            expr.span,
        )
    if isinstance(expr, ast.Call) and expr.name in functions.GROUP_WINDOW_PROPERTIES:
        name = functions.GROUP_WINDOW_PROPERTIES[expr.name]
        for i, f in enumerate(ctx.out):
            if f.name == name:
                return Ref(i, name, span=expr.span)
        if ctx.group_failed:
            raise Abort
        fail(binder.diag, "BindError", f"{expr.name} needs a {expr.name.split('_')[0]} group "
                          "window in GROUP BY", expr.span)
    if isinstance(expr, ast.Call) and expr.over is None and (
            expr.name not in functions.KNOWN_FUNCTIONS):
        binder.unknown_function(expr)  # before its arguments' GROUP BY validity
    if isinstance(expr, ast.Call) and expr.over is not None:
        return replace(
            expr,
            args=tuple(post_aggregate(binder, a, ctx) for a in expr.args),
            over=replace(
                expr.over,
                partition_by=tuple(post_aggregate(binder, p, ctx)
                                   for p in expr.over.partition_by),
                order_by=tuple(replace(o, expr=post_aggregate(binder, o.expr, ctx))
                               for o in expr.over.order_by),
            ),
        )
    return map_children(expr, lambda e: post_aggregate(binder, e, ctx))


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

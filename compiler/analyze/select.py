"""SELECT over its bound FROM: WHERE, GROUP BY (``group_by.py``), OVER
(``over.py``), the SELECT items, HAVING, ORDER BY, DISTINCT, LIMIT and EMIT, in
the order the plan applies them."""

from __future__ import annotations

from compiler import ast, functions
from compiler import logical as lg
from compiler.analyze import fields as row_fields
from compiler.analyze import group_by, joins, over, windows
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.join_conditions import LOST_TIME_HINT, has_regular_join
from compiler.analyze.scope import Abort, Bound, Scope, fail
from compiler.analyze.syntax import contains_aggregate, derive_name, over_calls, unique_names
from compiler.errors import Diagnostics


def select(binder: ExpressionBinder, sel: ast.Select, bound: Bound) -> lg.LogicalNode:
    """Each clause is bound on its own (WHERE, GROUP BY, every SELECT item, HAVING),
    so one query reports all its independent errors; a name that failed to bind
    makes what depends on it fail silently rather than cascade."""
    bound, failed = _where(binder, sel, bound)
    group_items = list(sel.group_by)
    group_failed = False
    try:
        bound, group_items = windows.legacy_group_window(binder, bound, group_items)
    except Abort:
        failed = group_failed = True
        group_items = [g for g in group_items
                       if not (isinstance(g, ast.Call) and g.name in functions.GROUP_WINDOWS)]
    try:  # GROUP BY a whole ROW: by its fields
        group_items = row_fields.group_keys(binder, group_items, bound.scope)
    except Abort:
        failed = group_failed = True
    items, stars, stars_failed = expand_stars(binder, sel.items, bound.scope)
    failed = failed or stars_failed
    aggregating = bool(sel.group_by) or any(
        contains_aggregate(i.expr) for i in items
    ) or (sel.having is not None)
    item_exprs: list[ast.Expr | None]
    if aggregating:
        plan, post_scope, item_exprs, having, agg_failed = group_by.aggregate(
            binder, sel, bound, group_items, items, stars, group_failed)
        failed = failed or agg_failed
    else:
        plan = bound.plan
        post_scope = bound.scope
        item_exprs = [i.expr for i in items]
        having = None
    # OVER window functions, evaluated on the (aggregated) rows
    plan, post_scope, item_exprs, over_failed = _over(
        binder, plan, post_scope, item_exprs, bound.window is not None and aggregating)
    exprs: list[lg.BoundExpr] = []
    for expr in item_exprs:
        if expr is None:  # its error is reported already
            continue
        try:
            exprs.append(binder.expr(expr, post_scope, "SELECT"))
        except Abort:
            failed = True
    if failed or over_failed:
        raise Abort
    names = unique_names([i.alias or derive_name(i.expr) for i in items])
    if having is not None:
        plan = lg.Filter(plan, having, span=sel.having.span if sel.having else sel.span)
    if sel.order_by:
        plan = order_by(binder, sel, plan, post_scope, exprs, names)
    plan = lg.Project(plan, tuple(exprs), tuple(names), span=sel.span)
    if sel.distinct:
        schema = plan.schema
        keys = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(schema))
        plan = lg.Aggregate(plan, keys, tuple(names), (), (), span=sel.span)
    if (sel.limit is not None or sel.offset) and not (sel.order_by
                                                      and isinstance(plan.input, lg.TopN)):
        plan = lg.Limit(plan, sel.limit, sel.offset or 0, span=sel.span)
    _check_emit(binder.diag, sel, aggregating)
    return plan


def _where(binder: ExpressionBinder, sel: ast.Select, bound: Bound) -> tuple[Bound, bool]:
    """The FROM with the WHERE filter over it, and whether WHERE failed (then the
    FROM is returned as it was)."""
    if sel.where is None:
        return bound, False
    try:
        binder.no_aggregates(sel.where, "WHERE")
        predicate = binder.expr(sel.where, bound.scope, "WHERE")
        binder.require_boolean(predicate, sel.where, "WHERE")
        bound, rest = joins.time_bounds_into_join(binder.diag, bound, predicate, sel.where)
    except Abort:
        return bound, True
    if rest is None:
        return bound, False
    return Bound(lg.Filter(bound.plan, rest, span=sel.where.span), bound.scope,
                 bound.window), False


def _over(binder: ExpressionBinder, plan: lg.LogicalNode, scope: Scope,
          item_exprs: list[ast.Expr | None], after_window_agg: bool):
    """The plan, scope and SELECT items after the items' OVER calls (if any), and
    whether they failed: then the items with OVER calls are None, not bound again."""
    windowed = over_calls([e for e in item_exprs if e is not None])
    if not windowed:
        return plan, scope, item_exprs, False
    try:
        plan, scope, item_exprs = over.over(binder, plan, scope, windowed, item_exprs,
                                            after_window_agg)
    except Abort:  # reported
        return plan, scope, [None if e is not None and over_calls([e]) else e
                             for e in item_exprs], True
    return plan, scope, item_exprs, False


def _check_emit(diag: Diagnostics, sel: ast.Select, aggregating: bool) -> None:
    # EMIT CHANGES on a query without aggregation (a ksqlDB push query): every
    # row is emitted as it arrives, which is what such a query does anyway.
    if sel.emit is not None and not aggregating and sel.emit.kind != "CHANGES":
        fail(diag, 
            "BindError",
            f"EMIT {sel.emit.kind} applies to an aggregation; this query has no GROUP BY",
            sel.emit.span,
            hint="a query without aggregation emits every row as it arrives "
            "(EMIT CHANGES, or no EMIT clause)",
        )


def expand_stars(binder: ExpressionBinder, items: tuple[ast.SelectItem, ...], scope: Scope
                 ) -> tuple[list[ast.SelectItem], list[ast.Star | None], bool]:
    """The SELECT items with every ``*`` expanded, and every whole ROW (``bid``)
    into its fields (recorded in ``row_columns``: an output writes them nested);
    for each, the star it came from (or None); and whether a star failed (it is
    dropped, its error reported)."""
    diag, produced = binder.diag, binder.row_columns
    out: list[ast.SelectItem] = []
    stars: list[ast.Star | None] = []
    failed = False
    row_names: set[str] = set()  # two ROW items of one name: the second gets a suffix
    for item in items:
        if isinstance(item.expr, ast.Star):
            q = item.expr.table
            fields = [f for f in scope.fields
                      if q is None or (f.qualifier or "").lower() == q.lower()]
            if q is not None and not fields:
                diag.error("BindError", f"unknown table or alias '{q}' in {q}.*",
                           item.span)
                failed = True
            row_fields.star_fields(fields, produced)
            for f in fields:
                out.append(ast.SelectItem(ast.Column(f.name, f.qualifier, span=item.span),
                                          None, span=item.span))
                stars.append(item.expr)
        else:
            try:
                expanded = row_fields.row_items(binder, item, scope, produced, row_names)
            except Abort:  # reported
                failed = True
                continue
            if expanded is None:
                out.append(item)
                stars.append(None)
                continue
            out += expanded
            stars += [None] * len(expanded)
    return out, stars, failed


def order_by(binder: ExpressionBinder, sel: ast.Select, plan: lg.LogicalNode, scope: Scope,
             exprs: list[lg.BoundExpr], names: list[str]) -> lg.LogicalNode:
    """ORDER BY, bound before the projection: it may name input columns, SELECT
    aliases or positions. On a stream only a time attribute ascending is a
    sort (rows leave in event-time order); with LIMIT it is a Top-N."""
    diag = binder.diag
    keys = []
    by_alias = {n.lower(): e for n, e in zip(names, exprs)}
    for item in sel.order_by:
        expr = item.expr
        if isinstance(expr, ast.Literal) and expr.kind == "integer":
            index = int(expr.value) - 1  # type: ignore[arg-type]
            if not 0 <= index < len(exprs):
                fail(diag, "BindError", f"ORDER BY {expr.value} is out of range; the "
                           f"query has {len(exprs)} columns", expr.span)
            bound = exprs[index]
        elif (isinstance(expr, ast.Column) and expr.table is None
              and expr.name.lower() in by_alias and not scope.find(expr.name, None)):
            bound = by_alias[expr.name.lower()]
        else:
            bound = binder.expr(expr, scope, "ORDER BY")
            if sel.distinct and bound not in exprs:
                fail(diag, 
                    "BindError",
                    f"with SELECT DISTINCT, ORDER BY may only use selected columns; "
                    f"'{diag.source.fragment(expr.span)}' is not selected",
                    expr.span,
                )
        keys.append(lg.OrderKey(bound, item.descending, item.nulls_first))
    first = keys[0]
    if first.expr.type.time_attribute is not None and not first.descending and sel.limit is None:
        return lg.Sort(plan, tuple(keys), span=sel.order_by[0].span)
    if sel.limit is None:
        hint = "add LIMIT for a Top-N, or ORDER BY the event-time column"
        if has_regular_join(plan) and first.expr.type.is_timestamp:
            hint = LOST_TIME_HINT
        fail(diag, 
            "BindError",
            "a stream can only be sorted by a time attribute ascending (its rows never "
            "end)",
            sel.order_by[0].span,
            hint=hint,
        )
    # ORDER BY ... LIMIT n on a stream: a global Top-N
    return lg.TopN(plan, (), tuple(keys), sel.limit, None, span=sel.span)

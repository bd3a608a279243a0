"""OVER window functions of the SELECT list: ranking (ROW_NUMBER, RANK,
DENSE_RANK), LAG/LEAD and aggregates over a frame, bound to an ``Over`` node
evaluated on the (aggregated) rows; each call becomes a column after its input's."""

from __future__ import annotations

from compiler import ast, functions
from compiler import logical as lg
from compiler import types as t
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.literals import interval_ms
from compiler.analyze.scope import Abort, Ref, Scope, ScopeField, fail
from compiler.analyze.syntax import derive_name, map_children, unique_names
from compiler.errors import Diagnostics

# SQL window functions sqlc does not run (yet)
_UNSUPPORTED_WINDOW_FUNCTIONS = {"NTILE", "PERCENT_RANK", "CUME_DIST", "NTH_VALUE"}


def over(binder: ExpressionBinder, plan: lg.LogicalNode, scope: Scope, calls: list[ast.Call],
         item_exprs: list[ast.Expr | None], after_window_agg: bool):
    """The Over node of ``calls`` over ``plan``, the scope after it, and the SELECT
    items with each OVER call replaced by a reference to its column."""
    bound_calls = []
    failed = False
    for call in calls:  # each OVER call on its own
        try:
            bound_calls.append(_over_call(binder, call, scope, after_window_agg))
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


def _over_call(binder: ExpressionBinder, call: ast.Call, scope: Scope, after_window_agg: bool
              ) -> lg.OverCall:
    assert call.over is not None
    diag = binder.diag
    spec = call.over
    if call.name in _UNSUPPORTED_WINDOW_FUNCTIONS:
        fail(diag, "UnsupportedError", f"{call.name}(...) OVER is not supported yet",
                   call.span,
                   hint="ROW_NUMBER, RANK, DENSE_RANK, LAG, LEAD and the aggregates "
                   "work with OVER")
    partition = tuple(binder.expr(p, scope, "PARTITION BY") for p in spec.partition_by)
    order = tuple(
        lg.OrderKey(binder.expr(o.expr, scope, "ORDER BY"), o.descending, o.nulls_first)
        for o in spec.order_by
    )
    name = call.name
    if name in ("ROW_NUMBER", "RANK", "DENSE_RANK"):
        if call.args:
            fail(diag, "BindError", f"{name}() takes no arguments", call.span)
        if not order:
            fail(diag, "BindError", f"{name}() needs ORDER BY in its OVER clause",
                       spec.span)
        return lg.OverCall(name, (), t.BIGINT.with_nullable(False), partition, order, None,
                           span=call.span)
    _check_time_order(diag, call, spec, order, after_window_agg)
    args = tuple(binder.expr(a, scope, name) for a in call.args if not isinstance(a, ast.Star))
    if name in ("LAG", "LEAD"):
        if not args or len(call.args) > 3:
            fail(diag, "BindError", f"{name} takes (column[, offset[, default]])",
                       call.span)
        offset = _lag_offset(diag, call)
        frame = lg.FrameSpec("ROWS", offset, offset)
        # the plan keeps the default (the value where the row is missing); the
        # offset is the frame
        kept = args[:1] + (_lag_default(diag, call, args) if len(call.args) == 3 else ())
        return lg.OverCall(name, kept, args[0].type.plain().with_nullable(True), partition,
                           order, frame, span=call.span)
    if name not in functions.AGGREGATES:
        fail(diag, "BindError", f"{name} cannot be used with OVER", call.span)
    result = functions.aggregate_type(name, [a.type for a in args])
    if isinstance(result, str):
        fail(diag, "BindError", result, call.span)
    return lg.OverCall(name, args, result, partition, order, _frame_spec(diag, spec.frame),
                       span=call.span)


def _check_time_order(diag: Diagnostics, call: ast.Call, spec: ast.WindowSpec,
                      order: tuple[lg.OrderKey, ...], after_window_agg: bool) -> None:
    """OVER aggregates and LAG/LEAD: Flink orders them by a time attribute."""
    if not order:
        fail(diag, 
            "UnsupportedError",
            f"{call.name}(...) OVER needs ORDER BY a time attribute on a stream (an unbounded "
            "partition never ends)",
            spec.span,
        )
    first = order[0]
    window_order = after_window_agg and isinstance(first.expr, lg.ColumnRef) and (
        first.expr.name in ("window_start", "window_end", "window_time")
    )
    if (first.expr.type.time_attribute is None and not window_order) or first.descending:
        fail(diag, 
            "BindError",
            f"{call.name}(...) OVER must ORDER BY a time attribute ascending",
            spec.order_by[0].span,
            hint="order by the stream's event-time column (or window_start after a window "
            "aggregation)",
        )


def _lag_offset(diag: Diagnostics, call: ast.Call) -> int:
    """How many rows back (LAG) or ahead (LEAD): the second argument, 1 by default."""
    if len(call.args) <= 1:
        return 1
    lit = call.args[1]
    if not (isinstance(lit, ast.Literal) and lit.kind == "integer"):
        fail(diag, "BindError", f"the {call.name} offset must be an integer literal",
                   lit.span)
    return int(lit.value)  # type: ignore[arg-type]


def _lag_default(diag: Diagnostics, call: ast.Call, args: tuple[lg.BoundExpr, ...]
                 ) -> tuple[lg.BoundExpr]:
    """LAG/LEAD's third argument, which must have a type in common with the value."""
    value, default = args[0], args[-1]
    if t.common_type(value.type, default.type) is None:
        fail(diag, "BindError", f"the {call.name} default is {default.type.sql()}, but the "
                   f"value is {value.type.sql()}", call.args[2].span)
    return (default,)


def _frame_spec(diag: Diagnostics, frame: ast.Frame | None) -> lg.FrameSpec:
    """The frame of an OVER aggregate; without one, every row up to the current."""
    if frame is None:
        return lg.FrameSpec("RANGE", None, 0)
    start = _frame_offset(diag, frame.start, frame.unit)
    end = _frame_offset(diag, frame.end, frame.unit)
    if end is None or (start is not None and start < end):
        fail(diag, "BindError", "the frame's start must not be after its end",
                   frame.span)
    return lg.FrameSpec(frame.unit, start, end)


def _frame_offset(diag: Diagnostics, bound: ast.FrameBound, unit: str) -> int | None:
    """Rows (ROWS) or milliseconds (RANGE) before the current row; None: unbounded."""
    if bound.kind == "CURRENT ROW":
        return 0
    if bound.kind == "UNBOUNDED PRECEDING":
        return None
    if "FOLLOWING" in bound.kind:
        fail(diag, 
            "UnsupportedError",
            "FOLLOWING frame bounds need future rows; a stream OVER window ends at "
            "the current row",
            bound.span,
        )
    value = bound.offset
    if unit == "ROWS":
        if not (isinstance(value, ast.Literal) and value.kind == "integer"):
            fail(diag, "BindError", "a ROWS frame bound is an integer literal",
                       bound.span)
        return int(value.value)  # type: ignore[arg-type]
    if not isinstance(value, ast.Interval):
        fail(diag, "BindError", "a RANGE frame bound on time is an INTERVAL",
                   bound.span)
    return interval_ms(value, diag, "RANGE bound")

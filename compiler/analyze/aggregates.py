"""One aggregate call (COUNT, SUM, ..., PERCENTILE_CONT ... WITHIN GROUP, FILTER,
DISTINCT) bound to an ``AggCall``: its arguments, its parameter and its result
type (``functions.aggregate_type``). Where the aggregates of a query come from
and how they are grouped is ``group_by.py``."""

from __future__ import annotations

from compiler import ast, functions
from compiler import logical as lg
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.scope import Scope, fail
from compiler.analyze.syntax import contains_aggregate
from compiler.errors import Diagnostics


def agg_call(binder: ExpressionBinder, call: ast.Call, scope: Scope) -> lg.AggCall:
    diag = binder.diag
    for arg in call.args:
        if contains_aggregate(arg):
            fail(diag, 
                "BindError",
                f"aggregate calls cannot be nested: {call.name}(...) contains another "
                "aggregate",
                arg.span,
            )
    name, args_ast, param = _percentile_form(diag, call)
    if name == "COUNT" and len(args_ast) == 1 and isinstance(args_ast[0], ast.Star):
        args: tuple[lg.BoundExpr, ...] = ()
    else:
        if any(isinstance(a, ast.Star) for a in args_ast):
            fail(diag, "BindError", f"{name}(*) is not valid; only COUNT(*) is",
                       call.span)
        args = tuple(binder.expr(a, scope, f"{name}") for a in args_ast)
    expected = {"CORR": 2}.get(name, 1)
    if name == "LISTAGG":
        _listagg_separator(diag, args, call)
    elif name != "COUNT" and len(args) != expected:
        fail(diag, "BindError", f"{name} takes {expected} argument(s)", call.span)
    if name == "COUNT" and len(args) > 1 and not call.distinct:
        fail(diag, "BindError", "COUNT takes one argument", call.span)
    result = functions.aggregate_type(name, [a.type for a in args])
    if isinstance(result, str):
        fail(diag, "BindError", result, call.span)
    filter_ = None
    if call.filter is not None:
        binder.no_aggregates(call.filter, "FILTER")
        filter_ = binder.expr(call.filter, scope, "FILTER")
        binder.require_boolean(filter_, call.filter, "FILTER")
    if call.distinct and name not in ("COUNT", "SUM", "AVG", "MIN", "MAX"):
        fail(diag, "UnsupportedError", f"{name}(DISTINCT ...) is not supported",
                   call.span)
    return lg.AggCall(name, args, result, call.distinct, filter_, param, span=call.span)


def _listagg_separator(diag: Diagnostics, args: tuple[lg.BoundExpr, ...], call: ast.Call
                       ) -> None:
    """LISTAGG(x [, separator]): the separator, when given, is a string
    literal (Flink's rule: one separator for the whole group)."""
    if len(args) not in (1, 2):
        fail(diag, "BindError", "LISTAGG takes (value [, separator])", call.span)
    if len(args) == 2 and not (isinstance(args[1], lg.Const) and isinstance(args[1].value, str)):
        fail(diag, "BindError", "the separator of LISTAGG must be a string literal, e.g. ', '",
             call.args[1].span)


def _percentile_form(diag: Diagnostics, call: ast.Call
                     ) -> tuple[str, list[ast.Expr], float | None]:
    """The aggregate's name, its argument expressions and its percentile: the
    percentile forms (``PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY c)``,
    ``PERCENTILE(c, p)``) become one argument and a parameter."""
    name = call.name
    if name in ("PERCENTILE_CONT", "PERCENTILE_DISC"):
        if len(call.within_group) != 1 or len(call.args) != 1:
            fail(diag, 
                "BindError",
                f"{name} is written {name}(p) WITHIN GROUP (ORDER BY column)",
                call.span,
            )
        param = _percentile(diag, call.args[0])
        if call.within_group[0].descending:
            param = 1.0 - param
        return name, [call.within_group[0].expr], param
    if name in ("PERCENTILE", "APPROX_PERCENTILE"):
        if len(call.args) != 2:
            fail(diag, "BindError", f"{name} takes (column, percentage)", call.span)
        param = _percentile(diag, call.args[1])
        return ("PERCENTILE_CONT" if name == "PERCENTILE" else name), [call.args[0]], param
    if call.within_group:
        fail(diag, "BindError", f"{name} does not take WITHIN GROUP", call.span)
    return name, list(call.args), None


def _percentile(diag: Diagnostics, arg: ast.Expr) -> float:
    if not isinstance(arg, ast.Literal) or arg.kind not in ("integer", "decimal"):
        fail(diag, "BindError", "the percentile must be a number literal in [0, 1]",
                   arg.span)
    value = float(arg.value)  # type: ignore[arg-type]
    if not 0.0 <= value <= 1.0:
        fail(diag, "BindError", f"percentile {value} is outside [0, 1]", arg.span)
    return value

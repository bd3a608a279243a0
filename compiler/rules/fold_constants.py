"""fold_constants: evaluate constant subexpressions once, at compile time, and
simplify boolean logic around them; a filter that is always TRUE disappears.

Before::

    Filter: condition=[((latency_ms > (500 * 2)) AND TRUE)]
      Scan: source=[llm_requests]

After::

    Filter: condition=[(latency_ms > 1000)]
      Scan: source=[llm_requests]

Only deterministic operators with Flink's semantics are folded (integer
division truncates toward zero, NULL propagates, three-valued AND/OR);
anything else is left for run time.
"""

from __future__ import annotations

import math
from dataclasses import replace

from compiler import logical as lg
from compiler import types as t

_NULL = object()  # "not a constant"

# operators whose result is NULL as soon as one argument is NULL
_STRICT = {"+", "-", "*", "/", "%", "NEG", "=", "<>", "<", "<=", ">", ">=", "||", "UPPER",
           "LOWER"}


def _value(expr: lg.BoundExpr) -> object:
    if isinstance(expr, lg.Call) and expr.fn == "FORMAT JSON" and isinstance(expr.args[0],
                                                                             lg.Const):
        # a constant JSON_ARRAY/JSON_OBJECT value inside another: the runtime's
        # fragment, so that the outer call folds (it never folds on its own)
        from runtime_lib.functions import format_json

        return format_json(expr.args[0].value)
    return expr.value if isinstance(expr, lg.Const) else _NULL


def _truncating_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _evaluate(fn: str, values: list[object], typ: t.SqlType) -> object:
    """The value of a call on constant arguments, or _NULL when not foldable."""
    if fn in ("AND", "OR"):
        a, b = values
        if fn == "AND":
            if a is False or b is False:
                return False
            return None if a is None or b is None else True
        if a is True or b is True:
            return True
        return None if a is None or b is None else False
    if fn == "NOT":
        return None if values[0] is None else not values[0]
    if fn == "IS NULL":
        return values[0] is None
    if fn == "IS NOT NULL":
        return values[0] is not None
    if fn == "CASE":
        for condition, value in zip(values[0:-1:2], values[1:-1:2]):
            if condition is True:
                return value
            if condition not in (False, None):
                return _NULL
        return values[-1]
    if fn not in _STRICT:
        return _NULL
    if any(v is None for v in values):
        return None  # NULL in, NULL out for the strict operators folded here
    if fn in ("+", "-", "*", "/", "%"):
        a, b = values
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
            return _NULL
        if fn == "+":
            result = a + b  # type: ignore[operator]
        elif fn == "-":
            result = a - b  # type: ignore[operator]
        elif fn == "*":
            result = a * b  # type: ignore[operator]
        elif b == 0:
            return _NULL  # leave division by zero to run time
        elif fn == "/":
            result = (_truncating_div(a, b) if isinstance(a, int) and isinstance(b, int)
                      else a / b)  # type: ignore[operator]
        else:
            result = math.fmod(a, b) if isinstance(a, float) or isinstance(b, float) else (
                a - b * _truncating_div(a, b))  # type: ignore[operator]
        return float(result) if typ.storage == "f" else result
    if fn == "NEG":
        return -values[0]  # type: ignore[operator]
    if fn in ("=", "<>", "<", "<=", ">", ">="):
        a, b = values
        if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            return _NULL
        return {
            "=": a == b, "<>": a != b, "<": a < b, "<=": a <= b,  # type: ignore[operator]
            ">": a > b, ">=": a >= b,  # type: ignore[operator]
        }[fn]
    if fn == "||" and all(isinstance(v, str) for v in values):
        return values[0] + values[1]  # type: ignore[operator]
    if fn in ("UPPER", "LOWER") and isinstance(values[0], str):
        return values[0].upper() if fn == "UPPER" else values[0].lower()
    return _NULL


def _runtime_value(expr: lg.Call, values: list[object]) -> object:
    """Evaluate a call on constants with the runtime's own scalar functions (one
    row), so folding can never disagree with run time; _NULL if it cannot."""
    from compiler.functions import OPERATORS, SCALARS
    from runtime_lib import functions as sql

    fn = expr.fn
    try:
        if fn in ("CAST", "TRY_CAST"):
            source = expr.args[0].type
            result = getattr(sql, OPERATORS[fn])(values[0], expr.type.sql(),
                                                 None if source.is_null else source.sql())
        elif fn in ("IN", "NOT IN"):
            result = getattr(sql, OPERATORS[fn])(values[0], values[1:])
        elif fn in ("EXTRACT", "DATE_FORMAT"):
            temporal = expr.args[1] if fn == "EXTRACT" else expr.args[0]
            name = OPERATORS.get(fn) or SCALARS[fn].runtime
            result = getattr(sql, name)(*values, temporal.type.sql())
        elif fn == "CASE":
            return _NULL
        elif fn in OPERATORS:
            result = getattr(sql, OPERATORS[fn])(*values)
        elif fn in SCALARS:
            result = getattr(sql, SCALARS[fn].runtime)(*values)
        else:
            return _NULL
    except Exception:  # noqa: BLE001  whatever fails here is left for run time
        return _NULL
    rows = result.to_pylist() if hasattr(result, "to_pylist") else [result]
    if len(rows) != 1:
        return _NULL
    value = rows[0]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return _NULL  # NaN: keep the expression
    if not isinstance(value, (str, int, float, bool, type(None))):
        return _NULL  # not a literal of generated code (FORMAT JSON's JSON fragments)
    return value


def fold_expr(expr: lg.BoundExpr) -> lg.BoundExpr:
    if not isinstance(expr, lg.Call):
        return expr
    args = tuple(fold_expr(a) for a in expr.args)
    if args != expr.args or any(a is not b for a, b in zip(args, expr.args)):
        expr = replace(expr, args=args)
    fn = expr.fn
    # boolean simplification with one constant side
    if fn in ("AND", "OR") and len(args) == 2:
        for const, other in ((args[0], args[1]), (args[1], args[0])):
            value = _value(const)
            if fn == "AND" and value is True:
                return other
            if fn == "OR" and value is False:
                return other
            if fn == "AND" and value is False:
                return lg.Const(False, expr.type.with_nullable(False), span=expr.span)
            if fn == "OR" and value is True:
                return lg.Const(True, expr.type.with_nullable(False), span=expr.span)
    if fn == "NOT" and isinstance(args[0], lg.Call) and args[0].fn == "NOT":
        return args[0].args[0]
    values = [_value(a) for a in args]
    if any(v is _NULL for v in values) or not lg.is_deterministic(expr):
        return expr
    if expr.type.name in ("ARRAY", "MAP", "ROW"):  # no literal of these in generated code
        return expr
    result = _evaluate(fn, values, expr.type)
    if result is _NULL:
        result = _runtime_value(expr, values)
    if result is _NULL:
        return expr
    return lg.Const(result, expr.type if result is not None else expr.type.with_nullable(True),
                    span=expr.span)


def _fold_node(node: lg.LogicalNode) -> lg.LogicalNode:
    if isinstance(node, lg.Scan) and node.rows is not None:  # a VALUES table's cells
        rows = tuple(tuple(fold_expr(c) for c in row) for row in node.rows)
        return node if rows == node.rows else replace(node, rows=rows)
    if isinstance(node, lg.Filter):
        predicate = fold_expr(node.predicate)
        if isinstance(predicate, lg.Const) and predicate.value is True:
            return node.input
        return node if predicate is node.predicate else replace(node, predicate=predicate)
    if isinstance(node, lg.Project):
        exprs = tuple(fold_expr(e) for e in node.exprs)
        return node if exprs == node.exprs and all(
            a is b for a, b in zip(exprs, node.exprs)) else replace(node, exprs=exprs)
    if isinstance(node, lg.Aggregate):
        keys = tuple(fold_expr(k) for k in node.keys)
        aggs = tuple(
            replace(a, args=tuple(fold_expr(x) for x in a.args),
                    filter=fold_expr(a.filter) if a.filter is not None else None)
            for a in node.aggs
        )
        if keys == node.keys and aggs == node.aggs:
            return node
        return replace(node, keys=keys, aggs=aggs)
    if isinstance(node, lg.Join) and node.condition is not None:
        condition = fold_expr(node.condition)
        return node if condition is node.condition else replace(node, condition=condition)
    return node


def fold_constants(plan: lg.LogicalNode) -> lg.LogicalNode:
    return lg.transform_up(plan, _fold_node)

"""MATCH_RECOGNIZE: its ordering, its DEFINE conditions (each checked on its own,
bound over the row being matched) and the types of its MEASURES (kept as SQL
text, with their types, until MATCH_RECOGNIZE runs)."""

from __future__ import annotations

import re

from compiler import ast, functions
from compiler import logical as lg
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.scope import Abort, Bound, Scope, fail
from compiler.analyze.syntax import iter_ast, map_children
from compiler.errors import Diagnostics
from compiler.types import SqlType

# functions of MATCH_RECOGNIZE that read another row of the match
_NAVIGATION = ("PREV", "NEXT", "FIRST", "LAST")


def match_recognize(binder: ExpressionBinder, rel: ast.MatchRecognize, inner: Bound) -> Bound:
    """The Match node over ``inner``, the bound input relation."""
    diag = binder.diag
    partition = tuple(binder.expr(p, inner.scope, "PARTITION BY") for p in rel.partition_by)
    order = tuple(
        lg.OrderKey(binder.expr(o.expr, inner.scope, "ORDER BY"), o.descending)
        for o in rel.order_by
    )
    if not order or order[0].expr.type.time_attribute is None or order[0].descending:
        fail(diag, 
            "BindError",
            "MATCH_RECOGNIZE must ORDER BY a time attribute ascending",
            rel.order_by[0].span if rel.order_by else rel.span,
        )
    if rel.rows_per_match and rel.rows_per_match != "ONE ROW PER MATCH":
        fail(diag, "UnsupportedError", f"{rel.rows_per_match} is not supported yet",
                   rel.span)
    variables = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", rel.pattern))
    defines = _defines(binder, rel, inner.scope, variables)
    names, types, texts = [], [], []
    for item in rel.measures:
        if item.alias is None:
            fail(diag, "BindError", "every MEASURES expression needs an AS name",
                       item.span)
        names.append(item.alias)
        types.append(_measure_type(binder, item.expr, inner.scope, variables))
        texts.append(diag.source.fragment(item.expr.span))
    node = lg.Match(inner.plan, partition, order, rel.pattern, tuple(defines), tuple(names),
                    tuple(types), tuple(texts), rel.after_match or "SKIP TO NEXT ROW",
                    span=rel.span)
    return Bound(node, Scope.of(node.schema, rel.alias))


def _defines(binder: ExpressionBinder, rel: ast.MatchRecognize, scope: Scope,
             variables: set[str]) -> list[tuple[str, lg.BoundExpr]]:
    """Each DEFINE (variable, condition bound over the row being matched), every
    one checked before the first failure aborts."""
    diag = binder.diag
    defines = []
    failed = False
    for define in rel.define:  # each is checked on its own
        name, cond = define.name, define.condition
        try:
            if name.upper() not in {v.upper() for v in variables}:
                fail(diag, "BindError",
                           f"DEFINE {name} names no variable of PATTERN ({rel.pattern})",
                           define.name_span)
            _refuse_other_rows(diag, name, cond, variables)
            bound = binder.expr(_strip_pattern_refs(cond, variables), scope, "DEFINE")
            binder.require_boolean(bound, cond, f"DEFINE {name}")
        except Abort:
            failed = True
            continue
        defines.append((name, bound))
    if failed:
        raise Abort
    return defines


def _refuse_other_rows(diag: Diagnostics, name: str, cond: ast.Expr, variables: set[str]
                       ) -> None:
    """A DEFINE condition is bound over the row being matched: ``B.x`` in DEFINE B
    is that row's x. What reads other rows (``A.x``, the last row matched as A;
    PREV, NEXT, FIRST, LAST) does not run yet, and is refused rather than bound
    to the current row."""
    upper = {v.upper() for v in variables}
    for node in iter_ast(cond):
        if isinstance(node, ast.Column) and node.table and node.table.upper() in upper and (
                node.table.upper() != name.upper()):
            fail(diag, 
                "UnsupportedError",
                f"DEFINE {name} reads {node}, a column of the rows matched as {node.table}; "
                f"only the row being matched ({name}.{node.name}) is supported yet",
                node.span,
            )
        if isinstance(node, ast.Call) and node.name in _NAVIGATION:
            fail(diag, "UnsupportedError", f"{node.name} in DEFINE is not supported yet",
                       node.span)


def _measure_type(binder: ExpressionBinder, measure: ast.Expr, scope: Scope,
                  variables: set[str]) -> SqlType:
    expr = _strip_pattern_refs(measure, variables)
    if isinstance(expr, ast.Call) and expr.name in _NAVIGATION:
        expr = expr.args[0]
    if isinstance(expr, ast.Call) and expr.name == "MATCH_ROWTIME":
        return SqlType("TIMESTAMP", False, (3,), time_attribute="ROWTIME")
    if isinstance(expr, ast.Call) and expr.name in functions.AGGREGATES:
        args = [binder.expr(a, scope, "MEASURES").type for a in expr.args
                if not isinstance(a, ast.Star)]
        result = functions.aggregate_type(expr.name, args)
        if isinstance(result, str):
            fail(binder.diag, "BindError", result, expr.span)
        return result
    return binder.expr(expr, scope, "MEASURES").type


def _strip_pattern_refs(expr: ast.Expr, variables: set[str]) -> ast.Expr:
    """``A.latency_ms`` in MATCH_RECOGNIZE names the column of the row matched as A."""
    upper = {v.upper() for v in variables}
    if isinstance(expr, ast.Column) and expr.table and expr.table.upper() in upper:
        return ast.Column(expr.name, span=expr.span)
    if isinstance(expr, ast.Call) and expr.name in ("MATCH_ROWTIME", "CLASSIFIER"):
        return expr
    return map_children(expr, lambda e: _strip_pattern_refs(e, variables))

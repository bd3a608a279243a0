"""``CROSS JOIN UNNEST(expr) AS t (c)``: each row of the left side once per
element of an ARRAY (column c) or entry of a MAP (columns key, value), as
Flink's Correlate. ``LEFT JOIN UNNEST(...) ON TRUE`` keeps the rows whose
container is NULL or empty once, the new columns NULL."""

from __future__ import annotations

from compiler import ast
from compiler import logical as lg
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.scope import Bound, Scope, ScopeField, fail


def _on_true(rel: ast.Join) -> bool:
    return rel.on is None or (isinstance(rel.on, ast.Literal) and rel.on.value is True)


def unnest_join(binder: ExpressionBinder, rel: ast.Join, left: Bound) -> Bound:
    right = rel.right
    assert isinstance(right, ast.Unnest)
    diag = binder.diag
    if rel.kind not in ("CROSS", "INNER", "LEFT") or rel.using or not _on_true(rel):
        fail(diag, "UnsupportedError", "UNNEST joins as CROSS JOIN UNNEST(...), or as "
             "[LEFT] JOIN UNNEST(...) ON TRUE", rel.span)
    expr = binder.expr(right.expr, left.scope, "UNNEST")
    kind = expr.type
    width = 2 if kind.name == "MAP" else 1
    if kind.name not in ("ARRAY", "MAP") or len(kind.children) < width:
        fail(diag, "BindError", f"UNNEST takes an ARRAY or a MAP, got {kind.sql()}",
             right.expr.span)
    names = right.columns or (("key", "value") if width == 2 else ("EXPR$0",))
    if len(names) != width:
        fail(diag, "BindError", f"UNNEST of {kind.sql()} gives {width} column(s); AS "
             f"{right.alias or 't'} ({', '.join(names)}) names {len(names)}", right.span)
    node = lg.Unnest(left.plan, expr, tuple(names), rel.kind == "LEFT", span=rel.span)
    qualifier = right.alias
    added = [ScopeField(qualifier, f.name, f.type, len(left.plan.schema) + i)
             for i, f in enumerate(node.schema[len(left.plan.schema):])]
    return Bound(node, Scope(left.scope.fields + added), left.window)

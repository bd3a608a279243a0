"""Walking and rewriting the parsed AST (no diagnostics): its nodes in order,
a node with its children replaced, the relations a query reads, and the
names of unaliased SELECT items."""

from __future__ import annotations

import re
from dataclasses import replace

from compiler import ast, functions
from compiler.analyze.scope import Ref, Scope
from compiler.errors import Span
from compiler.types import SqlType


def derive_name(expr: ast.Expr) -> str:
    """A column name for an unaliased SELECT item, from the expression itself."""
    if isinstance(expr, ast.Column):
        return expr.name
    if isinstance(expr, ast.FieldAccess):  # bid.price is price, as in Flink
        return expr.field
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


_OPERATOR_WORDS = {"+": "plus", "-": "minus", "*": "times", "/": "div", "%": "mod", "||": "concat",
                   "=": "eq", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
                   "AND": "and", "OR": "or"}


def describe_name(expr: ast.Expr, depth: int = 0) -> str:
    """A longer name than ``derive_name`` for an expression an aggregate reads
    (``SUM(CASE WHEN rating >= 4 ...)`` -> ``sum_case_rating_ge_4``), for the
    aggregate's own column, which the generated code shows but the output
    does not: ``derive_name`` names output columns and stays as it is."""
    if depth > 3:
        return ""
    if isinstance(expr, ast.Binary):
        left, right = describe_name(expr.left, depth + 1), describe_name(expr.right, depth + 1)
        return "_".join(p for p in (left, _OPERATOR_WORDS.get(expr.op, ""), right) if p)
    if isinstance(expr, ast.Case) and expr.whens:
        return "_".join(p for p in ("case", describe_name(expr.whens[0][0], depth + 1)) if p)
    if isinstance(expr, ast.Literal):
        text = str(expr.value)
        return text if re.fullmatch(r"[0-9A-Za-z_]{1,12}", text) else ""
    if isinstance(expr, ast.Call) and not expr.within_group:
        parts = [expr.name.lower(), *(describe_name(a, depth + 1) for a in expr.args[:2])]
        return "_".join(p for p in parts if p)
    name = derive_name(expr)
    return "" if name in ("expr", "literal") else name


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
    if isinstance(expr, (ast.ScalarSubquery, ast.InSubquery, ast.Exists)) and not into_subqueries:
        if isinstance(expr, ast.InSubquery):
            yield from iter_ast(expr.operand, into_over, into_subqueries)
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


def column_span(query: ast.Query, index: int) -> Span:
    """Where output column ``index`` of ``query`` is written (its SELECT item), or
    the query itself when a ``*`` or a set operation hides it."""
    while isinstance(query, ast.SetOp):
        query = query.left
    items = query.items
    if index < len(items) and not any(isinstance(i.expr, ast.Star) for i in items[: index + 1]):
        return items[index].expr.span
    return query.span


def map_children(expr: ast.Expr, fn) -> ast.Expr:
    """The same AST node with ``fn`` applied to its direct child expressions."""
    if isinstance(expr, (ast.Column, ast.Literal, ast.Interval, ast.Star, Ref,
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
                    new_items.append(tuple(fn(i) if is_expr(i) else i for i in item))
                elif isinstance(item, ast.OrderItem):
                    new_items.append(replace(item, expr=fn(item.expr)))
                elif is_expr(item):
                    new_items.append(fn(item))
                else:
                    new_items.append(item)
            changes[name] = tuple(new_items)
        elif is_expr(value):
            changes[name] = fn(value)
    return replace(expr, **changes)


def is_expr(value: object) -> bool:
    return isinstance(value, (ast.Column, ast.Star, ast.Literal, ast.Interval, ast.Unary,
                              ast.Binary, ast.IsNull, ast.IsBool, ast.InList, ast.Between,
                              ast.Like, ast.Case, ast.Cast, ast.Extract, ast.Call,
                              ast.ScalarSubquery, Ref))


def substitute_aliases(expr: ast.Expr, aliases: dict[str, ast.Expr], scope: Scope) -> ast.Expr:
    """HAVING may name a SELECT alias (spec Query 3) where no input column has that name."""
    if isinstance(expr, ast.Column) and expr.table is None:
        if not scope.find(expr.name, None) and expr.name.lower() in aliases:
            return aliases[expr.name.lower()]
        return expr
    return map_children(expr, lambda e: substitute_aliases(e, aliases, scope))


def over_calls(exprs: list[ast.Expr]) -> list[ast.Call]:
    calls: list[ast.Call] = []
    for expr in exprs:
        for node in iter_ast(expr):
            if isinstance(node, ast.Call) and node.over is not None and node not in calls:
                calls.append(node)
    return calls


def relations(query: ast.Query):
    """Every relation a query reads, including subqueries, CTEs and TVF inputs."""
    if isinstance(query, ast.SetOp):
        yield from relations(query.left)
        yield from relations(query.right)
        return
    for cte in query.ctes:
        yield from relations(cte.query)
    stack = [query.from_] if query.from_ is not None else []
    while stack:
        rel = stack.pop()
        yield rel
        if isinstance(rel, ast.Join):
            stack.extend([rel.left, rel.right])
        elif isinstance(rel, ast.SubqueryRef):
            yield from relations(rel.query)
        elif isinstance(rel, ast.WindowTVF):
            stack.append(rel.input)
        elif isinstance(rel, ast.MatchRecognize):
            stack.append(rel.input)

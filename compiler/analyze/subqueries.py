"""``IN`` / ``EXISTS`` subqueries in WHERE as semi and anti joins (Flink's
``Join(joinType=[LeftSemiJoin | LeftAntiJoin])``).

A conjunct of WHERE that is ``x [NOT] IN (SELECT y ...)`` or ``[NOT] EXISTS
(SELECT ... WHERE inner.y = outer.x AND ...)`` joins the FROM with the
distinct keys of the subquery (a GroupAggregate without aggregates, so each
outer row matches at most once), then keeps the outer columns only:

* semi (IN, EXISTS): an INNER join; a row comes out when its first match
  does, insert-only when both inputs are (Flink: a semi join forwards its
  inputs' changes; the distinct keys insert each key once).
* anti (NOT IN, NOT EXISTS): a LEFT join whose unmatched rows are kept (the
  right key IS NULL); a row comes out at once and is taken back (``-D``) when
  a match arrives, an updating result as Flink's.

``x NOT IN (SELECT y ...)`` is NULL (the row is dropped) when x is NULL or
any y is NULL, unless the subquery is empty: that is a plain anti join only
where neither can be NULL; otherwise a null-aware one
(``_null_aware_anti_join``), correlated (``WHERE b.k = a.k``) or not. Against a lookup table NOT IN needs a NOT NULL
left operand (a lookup cannot tell whether the table is empty).

    SELECT i, k FROM a WHERE k IN (SELECT k FROM b)
    Project: i, k
      Join: kind=[INNER], on=[k = k0]
        Scan: a
        Aggregate: group=[k]          (the distinct keys of b)
          Calc: select=[k]
            Scan: b
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from compiler import ast
from compiler import logical as lg
from compiler import types as t
from compiler.analyze import joins
from compiler.analyze.join_conditions import equi_keys
from compiler.analyze.joins import ast_conjoin, ast_conjuncts
from compiler.analyze.scope import Bound, Ref, Scope, fail
from compiler.analyze.syntax import iter_ast, map_children, relations, unique_names
from compiler.catalog import SourceDef

if TYPE_CHECKING:
    from compiler.analyze.analyzer import Analyzer

# (outer key over the outer plan, inner key over the inner plan)
KeyPair = tuple[lg.BoundExpr, lg.BoundExpr]


def subqueries_into_joins(analyzer: Analyzer, bound: Bound, where: ast.Expr | None
                          ) -> tuple[Bound, ast.Expr | None]:
    """The FROM with every IN/EXISTS conjunct of ``where`` joined in, and the
    rest of ``where`` (None when nothing is left)."""
    if where is None:
        return bound, None
    rest = []
    for part in ast_conjuncts(where):
        if isinstance(part, (ast.InSubquery, ast.Exists)):
            bound = _semi_join(analyzer, bound, part)
        else:
            rest.append(part)
    return bound, ast_conjoin(rest) if rest else None


def _semi_join(analyzer: Analyzer, bound: Bound, node: ast.InSubquery | ast.Exists) -> Bound:
    table = _lookup_table(analyzer, node.query)
    if table is not None:
        return _lookup_semi_join(analyzer, bound, node, table)
    if isinstance(node, ast.InSubquery) and _correlated(bound, node.query):
        inner, pairs = _correlated_in_keys(analyzer, bound, node)
    elif isinstance(node, ast.InSubquery):
        inner, pairs = _in_keys(analyzer, bound, node)
    else:
        inner, pairs, _ = _exists_keys(analyzer, bound, node)
    pairs = [_widened(a, b) for a, b in pairs]
    if isinstance(node, ast.InSubquery) and node.negated and (
            pairs[0][0].type.nullable or pairs[0][1].type.nullable):
        return _null_aware_anti_join(bound, inner, pairs[0], node, pairs[1:])
    return _join(bound, inner, pairs, node)


def _lookup_table(analyzer: Analyzer, query: ast.Query) -> ast.TableRef | None:
    """The FROM of ``SELECT ... FROM t [WHERE ...]`` when ``t`` is a lookup table
    (a lookup store, not a stream), else None."""
    if not isinstance(query, ast.Select) or not isinstance(query.from_, ast.TableRef):
        return None
    rel = query.from_
    obj = analyzer.catalog.get(rel.name) if analyzer.cte(rel.name) is None else None
    lookup = (isinstance(obj, SourceDef) and obj.kind == "TABLE" and not obj.is_stream
              and rel.system_time is None and not query.group_by and query.having is None)
    return rel if lookup else None


def _lookup_semi_join(analyzer: Analyzer, bound: Bound, node: ast.InSubquery | ast.Exists,
                      table: ast.TableRef) -> Bound:
    """Against a lookup table, each row is looked up by the key (``x IN (SELECT
    key FROM t WHERE c)`` is ``JOIN t ON x = t.key AND c``): an INNER lookup join
    keeps the rows found, a LEFT one with the key NULL-padded the rows not found;
    then only the outer columns."""
    query = node.query
    assert isinstance(query, ast.Select)
    qualifier = table.alias or table.name.split(".")[-1]
    parts = ast_conjuncts(query.where) if query.where is not None else []
    if isinstance(node, ast.InSubquery):
        item = query.items[0].expr if len(query.items) == 1 else None
        if not isinstance(item, ast.Column):
            fail(analyzer.binder.diag, "UnsupportedError", "IN (SELECT ... FROM a lookup table) "
                 "needs one column of the table, its key", query.span)
        operand = analyzer.binder.expr(node.operand, bound.scope, "WHERE")
        if node.negated and operand.type.nullable:
            fail(analyzer.binder.diag, "UnsupportedError", "NOT IN (subquery) where the left "
                 "operand can be NULL does not run yet: NOT IN of NULL is NULL (Flink's "
                 "null-aware anti join)", node.span, hint="add AND x IS NOT NULL, or write "
                 "NOT EXISTS (SELECT ... WHERE t.key = x)")
        column = ast.Column(item.name, item.table or qualifier, span=item.span)
        outer = _outer_refs(analyzer, node.operand, bound.scope)
        parts = [ast.Binary("=", outer, column, span=node.span), *parts]
    if not parts:
        fail(analyzer.binder.diag, "UnsupportedError", "EXISTS without a correlation "
             "(inner.y = outer.x in its WHERE) does not run yet", node.span)
    kind = "LEFT" if node.negated else "INNER"
    rel = ast.Join(kind, table, table, ast_conjoin(parts), span=node.span)
    joined = joins.join(analyzer.binder, analyzer.catalog, rel, bound, analyzer.relation(table))
    plan = joined.plan
    width = len(bound.scope.fields)
    if node.negated:  # not found: the table's side is NULL-padded (its key too)
        keys = [i for i, f in enumerate(joined.scope.fields[width:])
                if f.name in _primary_key(analyzer, table)] or [0]
        f = plan.schema[width + keys[0]]
        padded = lg.ColumnRef(width + keys[0], f.name, f.type)
        plan = lg.Filter(plan, lg.Call("IS NULL", (padded,), t.BOOLEAN.with_nullable(False)),
                         span=node.span)
    passed = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(bound.plan.schema))
    plan = lg.Project(plan, passed, tuple(f.name for f in bound.plan.schema), span=node.span)
    return Bound(plan, bound.scope, bound.window)


def _outer_refs(analyzer: Analyzer, expr: ast.Expr, scope: Scope) -> ast.Expr:
    """``expr`` with its columns resolved in the outer query's ``scope`` (whose
    fields come first in the join's): a table column of the same name does not
    make them ambiguous."""
    if isinstance(expr, ast.Column):
        f = analyzer.binder.resolve(expr, scope)
        return Ref(scope.fields.index(f), f.name, span=expr.span)
    return map_children(expr, lambda e: _outer_refs(analyzer, e, scope))


def _primary_key(analyzer: Analyzer, table: ast.TableRef) -> tuple[str, ...]:
    obj = analyzer.catalog.get(table.name)
    assert isinstance(obj, SourceDef)
    return tuple(obj.primary_key)


def _in_keys(analyzer: Analyzer, bound: Bound, node: ast.InSubquery
             ) -> tuple[lg.LogicalNode, list[KeyPair]]:
    diag = analyzer.binder.diag
    operand = analyzer.binder.expr(node.operand, bound.scope, "WHERE")
    inner = analyzer.query(node.query)
    if len(inner.schema) != 1:
        fail(diag, "BindError", f"IN (subquery) needs a subquery of one column; this one has "
             f"{len(inner.schema)}", node.query.span)
    f = inner.schema[0]
    column = lg.ColumnRef(0, f.name, f.type)
    if t.common_type(operand.type, f.type) is None:
        fail(diag, "BindError", f"IN compares {operand.type.sql()} with the subquery's "
             f"{f.type.sql()} column '{f.name}'", node.span)
    return inner, [(operand, column)]


def _correlated(bound: Bound, query: ast.Query) -> bool:
    """Whether a subquery's WHERE names a relation of the outer query (``WHERE
    b.k = a.k`` in a subquery over b, a outside) that it does not read itself."""
    if not isinstance(query, ast.Select) or query.where is None or query.from_ is None:
        return False
    inner = {(getattr(r, "alias", None) or getattr(r, "name", "")).split(".")[-1].lower()
             for r in relations(query)}
    outer = bound.scope.qualifiers()
    return any(isinstance(n, ast.Column) and n.table and n.table.lower() in outer - inner
               for n in iter_ast(query.where))


def _correlated_in_keys(analyzer: Analyzer, bound: Bound, node: ast.InSubquery
                        ) -> tuple[lg.LogicalNode, list[KeyPair]]:
    """``x IN (SELECT y FROM b WHERE b.k = a.k ...)``: EXISTS (SELECT ... WHERE
    b.k = a.k ... AND y = x), its correlations and x = y as the keys."""
    diag = analyzer.binder.diag
    query = node.query
    assert isinstance(query, ast.Select)
    if len(query.items) != 1 or query.distinct:
        fail(diag, "BindError", "IN (subquery) needs a subquery of one column; this one has "
             f"{len(query.items)}", query.span)
    plan, pairs, inner = _exists_keys(analyzer, bound, ast.Exists(query, span=node.span),
                                      correlated_by=node)
    operand = analyzer.binder.expr(node.operand, bound.scope, "WHERE")
    item = analyzer.binder.expr(query.items[0].expr, inner.scope, "SELECT")
    if t.common_type(operand.type, item.type) is None:
        fail(diag, "BindError", f"IN compares {operand.type.sql()} with the subquery's "
             f"{item.type.sql()} column", node.span)
    return plan, [(operand, item), *pairs]


def _exists_keys(analyzer: Analyzer, bound: Bound, node: ast.Exists,
                 correlated_by: ast.InSubquery | None = None
                 ) -> tuple[lg.LogicalNode, list[KeyPair], Bound]:
    """The subquery's rows filtered by its own conditions, its correlation
    equalities ``inner.y = outer.x`` as key pairs, and its FROM bound."""
    diag = analyzer.binder.diag
    query = node.query
    if not isinstance(query, ast.Select) or query.group_by or query.having or query.from_ is None:
        fail(diag, "UnsupportedError", "EXISTS over a subquery with GROUP BY, HAVING or a set "
             "operation does not run yet", query.span)
    inner = analyzer.relation(query.from_)
    width = len(inner.scope.fields)
    scope = inner.scope.concat(bound.scope)  # inner names first, then the outer query's
    local: list[lg.BoundExpr] = []
    pairs: list[KeyPair] = []
    for part in ast_conjuncts(query.where) if query.where is not None else []:
        expr = analyzer.binder.expr(part, scope, "WHERE")
        refs = lg.referenced(expr)
        if all(r < width for r in refs):
            local.append(expr)
            continue
        pair = _correlation(expr, width)
        if pair is None:
            fail(diag, "UnsupportedError", "a correlated condition of EXISTS other than an "
                 "equality of an inner and an outer expression does not run yet", part.span)
        pairs.append(pair)
    if not pairs and correlated_by is None:
        fail(diag, "UnsupportedError", "EXISTS without a correlation (inner.y = outer.x in "
             "its WHERE) does not run yet", node.span)
    plan = inner.plan
    if local:
        plan = lg.Filter(plan, lg.conjoin(local), span=query.span)  # type: ignore[arg-type]
    return plan, pairs, inner


def _correlation(expr: lg.BoundExpr, width: int) -> KeyPair | None:
    """``inner = outer`` (either order) as (outer key, inner key), the outer one
    renumbered over the outer plan; None for any other condition."""
    if not (isinstance(expr, lg.Call) and expr.fn == "="):
        return None
    for outer, inner in (expr.args, expr.args[::-1]):
        outer_refs, inner_refs = lg.referenced(outer), lg.referenced(inner)
        if outer_refs and inner_refs and min(outer_refs) >= width and max(inner_refs) < width:
            return lg.remap(outer, {r: r - width for r in outer_refs}), inner
    return None


def _widened(outer: lg.BoundExpr, inner: lg.BoundExpr) -> KeyPair:
    """Both keys in their common type (INT and BIGINT keys compare as BIGINT)."""
    common = t.common_type(outer.type, inner.type)
    assert common is not None

    def cast(e: lg.BoundExpr) -> lg.BoundExpr:
        if e.type.sql() == common.sql():
            return e
        return lg.Call("CAST", (e,), common.with_nullable(e.type.nullable), span=e.span)

    return cast(outer), cast(inner)


def _join(bound: Bound, inner: lg.LogicalNode, pairs: list[KeyPair],
          node: ast.InSubquery | ast.Exists) -> Bound:
    """A semi join (INNER) or an anti join (LEFT, the unmatched rows) of the
    outer rows with the subquery's distinct keys, then the outer columns."""
    outer = bound.plan
    join, width = _keys_join(outer, inner, pairs, "LEFT" if node.negated else "INNER", node.span)
    plan: lg.LogicalNode = join
    if node.negated:  # the rows no key matched: their right side is NULL-padded
        plan = lg.Filter(join, _is_null(join, width), span=node.span)
    return Bound(_outer_columns(plan, outer, node.span), bound.scope, bound.window)


def _keys_join(left: lg.LogicalNode, inner: lg.LogicalNode, pairs: list[KeyPair], kind: str,
               span) -> tuple[lg.Join, int]:
    """``left`` joined (``kind``) with the distinct keys of ``inner``, each
    pair's outer key (an expression over ``left``'s first columns) equal to its
    inner key; and the width of the join's left input (the keys follow it)."""
    passed = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(left.schema))
    # the subquery's distinct keys: one row each, so an outer row matches once
    names = tuple(unique_names([b.name if isinstance(b, lg.ColumnRef) else f"key{i}"
                                for i, (_, b) in enumerate(pairs)]))
    keys: lg.LogicalNode = lg.Project(inner, tuple(b for _, b in pairs), names, span=span)
    columns = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(keys.schema))
    keys = lg.Aggregate(keys, columns, names, (), (), span=span)
    # outer keys that are expressions are computed before the join
    computed = [a for a, _ in pairs if not isinstance(a, lg.ColumnRef)]
    joined = left
    if computed:
        taken = [f.name for f in left.schema]
        extra = unique_names(taken + [f"semi_key{i}" for i in range(len(computed))])[len(taken):]
        joined = lg.Project(left, passed + tuple(computed), tuple(taken) + tuple(extra), span=span)
    width = len(joined.schema)
    join = lg.Join(joined, keys, kind, None, span=span,
                   right_qualifiers=("subquery",) * len(names), semi=kind == "INNER")
    schema = join.schema
    parts, n = [], 0
    for j, (a, _) in enumerate(pairs):
        if not isinstance(a, lg.ColumnRef):
            a = lg.ColumnRef(len(left.schema) + n, schema[len(left.schema) + n].name, a.type)
            n += 1
        b = lg.ColumnRef(width + j, schema[width + j].name, schema[width + j].type)
        nullable = a.type.nullable or b.type.nullable
        parts.append(lg.Call("=", (a, b), t.BOOLEAN.with_nullable(nullable), span=span))
    condition = lg.conjoin(parts)
    return replace(join, condition=condition, equi_keys=equi_keys(condition, width)), width


def _null_aware_anti_join(bound: Bound, inner: lg.LogicalNode, pair: KeyPair,
                          node: ast.InSubquery, correlation: list[KeyPair] | None = None
                          ) -> Bound:
    """``x NOT IN (SELECT y ...)`` where x or y can be NULL, as SQL and Flink's
    null-aware anti join have it: TRUE for every row while the subquery is
    empty; else NULL (the row is dropped) when x is NULL or any y is NULL, and
    TRUE where no y equals x. Correlated (``... WHERE b.k = a.k``), "the
    subquery" is its rows for the outer row's correlation keys (none when a key
    is NULL): Flink's anti join on ``(x = y OR x IS NULL OR y IS NULL) AND
    b.k = a.k``.

    The outer rows are joined (LEFT, on a constant key, or on the correlation
    keys) with the subquery's row count and non-NULL count (one row per key,
    updated as the subquery's rows arrive), then anti-joined with its distinct
    keys; a row is kept while the count is missing (no row yet), or x is not
    NULL, every y is not NULL and no key matched. An updating result: a row
    goes out (-D) when the first y arrives (x NULL), a NULL y arrives (every
    row) or a y equal to x."""
    outer, span = bound.plan, node.span
    x, y = pair
    correlation = correlation or []
    zero = lg.Const(0, t.INT.with_nullable(False), span=span)
    count = t.BIGINT.with_nullable(False)
    # the subquery's groups: by the correlation keys, or one group (a constant)
    outer_keys = [a for a, _ in correlation] or [zero]
    inner_keys = [b for _, b in correlation] or [zero]
    taken = [f.name for f in outer.schema]
    key_names = unique_names(taken + [f"subquery_key{i}" if len(inner_keys) > 1 else
                                      "subquery_key" for i in range(len(inner_keys))])
    key_names = key_names[len(taken):]
    nk = len(inner_keys)
    if correlation:  # grouped by the subquery's correlation keys
        values = lg.Project(inner, (*inner_keys, y), (*key_names, "value"), span=span)
        groups: tuple[lg.BoundExpr, ...] = tuple(
            lg.ColumnRef(i, key_names[i], k.type) for i, k in enumerate(inner_keys))
    else:
        values, groups = lg.Project(inner, (y,), ("value",), span=span), (zero,)
    value = lg.ColumnRef(len(values.schema) - 1, "value", y.type)
    stats = lg.Aggregate(values, groups, tuple(key_names), (
        lg.AggCall("COUNT", (), count, span=span),
        lg.AggCall("COUNT", (value,), count, span=span),
    ), ("subquery_rows", "subquery_values"), span=span)
    width = len(outer.schema)
    passed = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(outer.schema))
    keyed = lg.Project(outer, passed + tuple(outer_keys), (*taken, *key_names), span=span)
    counted = lg.Join(keyed, stats, "LEFT", None, span=span,
                      right_qualifiers=("subquery",) * (nk + 2))
    on = lg.conjoin([
        lg.Call("=", (lg.ColumnRef(width + i, key_names[i], outer_keys[i].type),
                      lg.ColumnRef(width + nk + i, counted.schema[width + nk + i].name,
                                   inner_keys[i].type)),
                t.BOOLEAN.with_nullable(outer_keys[i].type.nullable or inner_keys[i].type.nullable),
                span=span)
        for i in range(nk)])
    counted = replace(counted, condition=on, equi_keys=equi_keys(on, width + nk))
    join, key_at = _keys_join(counted, inner, [pair, *correlation], "LEFT", span)
    schema = join.schema
    rows = lg.ColumnRef(width + 2 * nk, schema[width + 2 * nk].name, schema[width + 2 * nk].type)
    non_null = lg.ColumnRef(width + 2 * nk + 1, schema[width + 2 * nk + 1].name,
                            schema[width + 2 * nk + 1].type)
    boolean = t.BOOLEAN
    keep = lg.Call("OR", (
        lg.Call("IS NULL", (rows,), boolean.with_nullable(False), span=span),
        lg.conjoin([lg.Call("IS NOT NULL", (x,), boolean.with_nullable(False), span=span),
                    lg.Call("=", (rows, non_null), boolean.with_nullable(True), span=span),
                    _is_null(join, key_at)]),  # type: ignore[list-item]
    ), boolean.with_nullable(True), span=span)
    plan = lg.Filter(join, keep, span=span)
    return Bound(_outer_columns(plan, outer, span), bound.scope, bound.window)


def _is_null(plan: lg.LogicalNode, index: int) -> lg.BoundExpr:
    f = plan.schema[index]
    return lg.Call("IS NULL", (lg.ColumnRef(index, f.name, f.type),),
                   t.BOOLEAN.with_nullable(False))


def _outer_columns(plan: lg.LogicalNode, outer: lg.LogicalNode, span) -> lg.LogicalNode:
    """The outer query's columns of ``plan`` (its first ones)."""
    passed = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(outer.schema))
    return lg.Project(plan, passed, tuple(f.name for f in outer.schema), span=span)

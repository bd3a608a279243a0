"""``IN`` / ``EXISTS`` subqueries in WHERE as semi and anti joins (Flink's
``Join(joinType=[LeftSemiJoin | LeftAntiJoin])``).

A conjunct of WHERE that is ``x [NOT] IN (SELECT y ...)`` or ``[NOT] EXISTS
(SELECT ... WHERE inner.y = outer.x AND ...)`` joins the FROM with the
distinct keys of the subquery (a GroupAggregate without aggregates, so each
outer row matches at most once), then keeps the outer columns only:

* semi (IN, EXISTS): an INNER join; a row comes out when its first match does.
* anti (NOT IN, NOT EXISTS): a LEFT join whose unmatched rows are kept (the
  right key IS NULL); a row comes out at once and is taken back (``-D``) when
  a match arrives, an updating result as Flink's.

``x NOT IN (SELECT y ...)`` is NULL (the row is dropped) when x is NULL or
any y is NULL: that is an anti join only where neither can be NULL; otherwise
it is refused with what to write instead.

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
from compiler.analyze.syntax import derive_name, iter_ast, map_children, relations, unique_names
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
    if isinstance(node, ast.InSubquery):
        inner, pairs = _in_keys(analyzer, bound, node)
    else:
        inner, pairs = _exists_keys(analyzer, bound, node)
    return _join(bound, inner, [_widened(a, b) for a, b in pairs], node)


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
    correlated = _correlated_select(bound, node.query)
    if correlated is not None:  # x IN (SELECT y FROM r WHERE r.a = outer.b): EXISTS's plan
        inner, pairs, scope = _filtered_keys(analyzer, bound, correlated, "IN")
        column = analyzer.binder.expr(correlated.items[0].expr, scope, "SELECT")
        f = lg.Field(derive_name(correlated.items[0].expr), column.type)
    else:
        inner, pairs = analyzer.query(node.query), []
        if len(inner.schema) != 1:
            fail(diag, "BindError", f"IN (subquery) needs a subquery of one column; this one "
                 f"has {len(inner.schema)}", node.query.span)
        f = inner.schema[0]
        column = lg.ColumnRef(0, f.name, f.type)
    if t.common_type(operand.type, f.type) is None:
        fail(diag, "BindError", f"IN compares {operand.type.sql()} with the subquery's "
             f"{f.type.sql()} column '{f.name}'", node.span)
    if node.negated and (operand.type.nullable or f.type.nullable):
        which = f"'{f.name}' of the subquery" if f.type.nullable else "the left operand"
        fail(diag, "UnsupportedError",
             f"NOT IN (subquery) where {which} can be NULL does not run yet: one NULL makes "
             "NOT IN NULL for every row (Flink's null-aware anti join)", node.span,
             hint="write NOT EXISTS (SELECT ... WHERE inner.y = outer.x), which ignores "
             "NULLs, or declare the columns NOT NULL")
    return inner, [(operand, column), *pairs]


def _correlated_select(bound: Bound, query: ast.Query) -> ast.Select | None:
    """``query`` when it is a one-column SELECT whose WHERE names a table of
    the outer query that its own FROM does not have (Flink's window semi join
    writes ``L.num IN (SELECT num FROM ... R WHERE L.window_start = ...)``)."""
    if not isinstance(query, ast.Select) or query.where is None or len(query.items) != 1:
        return None
    own = {(getattr(r, "alias", None) or getattr(r, "name", None) or "").lower()
           for r in relations(query)}
    outer = bound.scope.qualifiers() - own
    named = {(c.table or "").lower() for c in iter_ast(query.where) if isinstance(c, ast.Column)}
    return query if named & outer else None


def _exists_keys(analyzer: Analyzer, bound: Bound, node: ast.Exists
                 ) -> tuple[lg.LogicalNode, list[KeyPair]]:
    """The subquery's rows filtered by its own conditions, and its correlation
    equalities ``inner.y = outer.x`` as key pairs."""
    plan, pairs, _ = _filtered_keys(analyzer, bound, node.query, "EXISTS")
    if not pairs:
        fail(analyzer.binder.diag, "UnsupportedError", "EXISTS without a correlation "
             "(inner.y = outer.x in its WHERE) does not run yet", node.span)
    return plan, pairs


def _filtered_keys(analyzer: Analyzer, bound: Bound, query: ast.Query, what: str
                   ) -> tuple[lg.LogicalNode, list[KeyPair], Scope]:
    """A correlated subquery's FROM filtered by its own conditions, its
    correlation equalities as key pairs, and the FROM's names."""
    diag = analyzer.binder.diag
    if not isinstance(query, ast.Select) or query.group_by or query.having or query.from_ is None:
        fail(diag, "UnsupportedError", f"{what} over a subquery with GROUP BY, HAVING or a set "
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
            fail(diag, "UnsupportedError", f"a correlated condition of {what} other than an "
                 "equality of an inner and an outer expression does not run yet", part.span)
        pairs.append(pair)
    plan = inner.plan
    if local:
        plan = lg.Filter(plan, lg.conjoin(local), span=query.span)  # type: ignore[arg-type]
    return plan, pairs, inner.scope


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
    outer = bound.plan
    span = node.span
    passed = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(outer.schema))
    # the subquery's distinct keys: one row each, so an outer row matches once
    names = tuple(unique_names([b.name if isinstance(b, lg.ColumnRef) else f"key{i}"
                                for i, (_, b) in enumerate(pairs)]))
    keys: lg.LogicalNode = lg.Project(inner, tuple(b for _, b in pairs), names, span=span)
    columns = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(keys.schema))
    keys = lg.Aggregate(keys, columns, names, (), (), span=span)
    # outer keys that are expressions are computed before the join
    computed = [a for a, _ in pairs if not isinstance(a, lg.ColumnRef)]
    left = outer
    if computed:
        taken = [f.name for f in outer.schema]
        extra = unique_names(taken + [f"semi_key{i}" for i in range(len(computed))])[len(taken):]
        left = lg.Project(outer, passed + tuple(computed), tuple(taken) + tuple(extra), span=span)
    width = len(left.schema)
    join = lg.Join(left, keys, "LEFT" if node.negated else "INNER", None, span=span,
                   right_qualifiers=("subquery",) * len(names))
    schema = join.schema
    parts, n = [], 0
    for j, (a, _) in enumerate(pairs):
        if not isinstance(a, lg.ColumnRef):
            a = lg.ColumnRef(len(outer.schema) + n, schema[len(outer.schema) + n].name, a.type)
            n += 1
        b = lg.ColumnRef(width + j, schema[width + j].name, schema[width + j].type)
        nullable = a.type.nullable or b.type.nullable
        parts.append(lg.Call("=", (a, b), t.BOOLEAN.with_nullable(nullable), span=span))
    condition = lg.conjoin(parts)
    join = replace(join, condition=condition, equi_keys=equi_keys(condition, width))
    plan: lg.LogicalNode = join
    if node.negated:  # the rows no key matched: their right side is NULL-padded
        padded = lg.ColumnRef(width, schema[width].name, schema[width].type)
        plan = lg.Filter(join, lg.Call("IS NULL", (padded,), t.BOOLEAN.with_nullable(False)),
                         span=span)
    plan = lg.Project(plan, passed, tuple(f.name for f in outer.schema), span=span)
    return Bound(plan, bound.scope, bound.window)

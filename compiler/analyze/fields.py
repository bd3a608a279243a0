"""Fields of ROW columns: ``bid.price``, ``t.bid.price``, ``(bid).price``.

A source reads each field of a ROW column into a column of its own, named by
the field's path (``bid.price``; ``runtime_lib.io.decode`` finds it in the
nested JSON object by the path its ``Field`` carries). So downstream a field is
a column like any other, column pruning keeps only the fields a query reads,
and no ROW value exists in a plan (a ROW selected whole, or built with
``ROW(a, b)`` / ``(a, b)`` / ``CAST(.. AS ROW<..>)``, is its fields, and the
Sink nests them: ``nested_outputs``). Binding a field access is finding that
column; what cannot be found is a positioned error that names the fields that
exist, or says that the column is no ROW.

``bid.price`` is a column ``price`` qualified by ``bid`` to the parser: as in
Flink, a table or alias called ``bid`` comes first, the ROW column ``bid``
second.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, NoReturn

from compiler import ast
from compiler import types as t
from compiler.analyze.scope import Scope, ScopeField, fail
from compiler.analyze.syntax import derive_name
from compiler.errors import Diagnostics, Span, did_you_mean
from compiler.frozen import frozen_dataclass
from compiler.types import SqlType, leaf_name

if TYPE_CHECKING:
    from compiler.analyze.expressions import ExpressionBinder


def names_of(node: ast.FieldAccess) -> tuple[str, ...] | None:
    """``t.bid.price`` -> ("t", "bid", "price"); None when the base is no column."""
    names: list[str] = []
    base: ast.Expr = node
    while isinstance(base, ast.FieldAccess):
        names.append(base.field)
        base = base.base
    if not isinstance(base, ast.Column):
        return None
    names.append(base.name)
    if base.table:
        names.append(base.table)
    return tuple(reversed(names))


def resolve_names(binder: ExpressionBinder, names: tuple[str, ...], scope: Scope, span: Span
                  ) -> ScopeField:
    """The column of a field written ``names`` (the first may be a qualifier)."""
    if len(names) > 2 and names[0].lower() in scope.qualifiers():
        return resolve_path(binder, names[1:], names[0], scope, span)
    return resolve_path(binder, names, None, scope, span)


def resolve_path(binder: ExpressionBinder, path: tuple[str, ...], qualifier: str | None,
                 scope: Scope, span: Span) -> ScopeField:
    """The column a ROW field ``path`` (column, field, nested field...) is read into."""
    column = ast.Column(leaf_name(path), qualifier, span=span)
    if scope.find(column.name, qualifier):
        return binder.resolve(column, scope)
    for depth in range(len(path) - 1, 0, -1):
        prefix = path[:depth]
        fields = row_fields(scope, prefix, qualifier)
        if fields:
            if path[depth].lower() in (f.lower() for f in fields):
                if len(path) == depth + 1:  # bid.address, itself a ROW
                    refuse_row(binder, leaf_name(path), row_fields(scope, path, qualifier),
                               span)
                continue  # the deeper prefix is a ROW: reported there
            wrong = path[depth]
            suggestion = did_you_mean(wrong, fields)
            fail(binder.diag, "BindError",
                 f"unknown field '{wrong}' of ROW column {leaf_name(prefix)}"
                 + (f"; did you mean '{suggestion}'?" if suggestion else ""),
                 span, hint=f"{leaf_name(prefix)} has the fields {', '.join(fields)}")
        plain = scope.find(leaf_name(prefix), qualifier)
        if plain:
            fail(binder.diag, "BindError",
                 f"column {leaf_name(prefix)} is {plain[0].type.sql()}, not a ROW: it has no "
                 f"field '{path[depth]}'", span)
    if qualifier is None:  # rr.x: neither a table nor a column is called rr
        binder.column_error(ast.Column(path[1], path[0], span=span), scope)
    binder.column_error(ast.Column(path[0], qualifier, span=span), scope)


def row_fields(scope: Scope, prefix: tuple[str, ...], qualifier: str | None) -> list[str]:
    """The field names of the ROW column ``prefix``, from the columns its fields are
    read into (empty when no ROW is called so)."""
    start = leaf_name(prefix).lower() + "."
    names: list[str] = []
    for f in scope.fields:
        if not f.path or (qualifier is not None
                          and (f.qualifier or "").lower() != qualifier.lower()):
            continue
        if len(f.path) > len(prefix) and f.name.lower().startswith(start):
            name = f.path[len(prefix)]
            if name not in names:
                names.append(name)
    return names


def whole_row_error(binder: ExpressionBinder, col: ast.Column, scope: Scope) -> None:
    """A ROW column used as a value (``SELECT bid``): sqlc reads only its fields."""
    fields = row_fields(scope, (col.name,), col.table)
    if fields:
        refuse_row(binder, col.name, fields, col.span)


def row_items(binder: ExpressionBinder, item: ast.SelectItem, scope: Scope,
              produced: dict[str, tuple[str, ...]], taken: set[str] | None = None
              ) -> list[ast.SelectItem] | None:
    """A SELECT item that is a whole ROW (``bid``, ``t.bid``, ``bid.address``, a
    built ``ROW(a, b)`` / ``(a, b)`` / ``CAST(ROW(..) AS ROW<x INT, ..>)``) as one
    item per leaf field it holds, each named by its path from the item's name
    (``bid.auction``, or ``b.auction`` for ``bid AS b``; ``r.EXPR$0`` for
    ``ROW(a, b) AS r``, Flink's names of a ROW constructor's fields), recorded in
    ``produced``; None for any other item. A name in ``taken`` (an earlier ROW
    item's, lower case) gets a suffix, as ``unique_names`` gives one."""
    fields = row_value_fields(binder, item.expr, scope)
    if fields is None:
        return None
    items: list[ast.SelectItem] = []

    def expand(expr: ast.Expr, out_path: tuple[str, ...]) -> None:
        inner = row_value_fields(binder, expr, scope)
        if inner is None:
            produced[leaf_name(out_path)] = out_path
            items.append(ast.SelectItem(expr, leaf_name(out_path), span=item.span))
            return
        for name, field_expr in inner:
            expand(field_expr, (*out_path, name))

    name = item.alias or _row_item_name(item.expr)
    if taken is not None:
        base, n = name, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
    for field_name, field_expr in fields:
        expand(field_expr, (name, field_name))
    return items


def _row_item_name(expr: ast.Expr) -> str:
    """An unaliased ROW item's name: the column's (``bid``), else derived as for any
    expression (``row_a_b``)."""
    return derive_name(expr)


def row_value_fields(binder: ExpressionBinder, expr: ast.Expr, scope: Scope
                     ) -> list[tuple[str, ast.Expr]] | None:
    """The fields of a ROW-valued expression, in order, each as (name, expression
    of its value): a ROW column's fields (``bid.price``...), a constructor's
    arguments (named ``EXPR$0``, ``EXPR$1``... as Flink names them), a CAST to a
    ROW type's fields (cast each to its declared type); None when the expression
    is no ROW."""
    if isinstance(expr, ast.Call) and expr.name == "ROW" and expr.over is None:
        if not expr.args:
            fail(binder.diag, "BindError", "ROW() needs at least one field", expr.span)
        return [(f"EXPR${i}", arg) for i, arg in enumerate(expr.args)]
    if isinstance(expr, ast.Cast) and expr.to.name == "ROW":
        inner = row_value_fields(binder, expr.operand, scope)
        target = f"ROW<{', '.join(f'{n} {c}' for n, c in zip(expr.to.fields, expr.to.children))}>"
        if inner is None:
            fail(binder.diag, "BindError", f"cannot cast a value that is no ROW to {target}",
                 expr.span, hint="build the ROW first: CAST(ROW(a, b) AS ROW<x INT, y STRING>)")
        if len(inner) != len(expr.to.children):
            fail(binder.diag, "BindError",
                 f"cannot cast a ROW of {len(inner)} field(s) to {target}, which has "
                 f"{len(expr.to.children)}", expr.span)
        return [(name, ast.Cast(value, child, expr.safe, span=expr.span))
                for name, child, (_, value) in zip(expr.to.fields, expr.to.children, inner)]
    located = _row_column(expr, scope)
    if located is None:
        return None
    qualifier, path = located
    span = expr.span
    base: ast.Expr = ast.Column(path[0], qualifier, span=span)
    for key in path[1:]:
        base = ast.FieldAccess(base, key, span=span)
    return [(name, ast.FieldAccess(base, name, span=span))
            for name in row_fields(scope, path, qualifier)]


_ROW_COMPARISONS = {  # op -> (the fields' comparison, how the fields' results combine)
    "=": ("=", "AND"), "<>": ("<>", "OR"),
    "IS NOT DISTINCT FROM": ("IS NOT DISTINCT FROM", "AND"),
    "IS DISTINCT FROM": ("IS DISTINCT FROM", "OR"),
}


def row_comparison(binder: ExpressionBinder, op: str, left: ast.Expr, right: ast.Expr,
                   scope: Scope, span: Span) -> ast.Expr | None:
    """``=``, ``<>``, ``IS [NOT] DISTINCT FROM`` of two ROWs as the SQL standard
    defines them, field by field in order: ``(a, b) = (c, d)`` is ``a = c AND
    b = d`` (three-valued: NULL when no pair is FALSE and one is NULL), ``<>``
    its negation ``a <> c OR b <> d``; nested ROWs in turn. None when neither
    side is a ROW."""
    if op not in _ROW_COMPARISONS:
        return None
    lf, rf = row_value_fields(binder, left, scope), row_value_fields(binder, right, scope)
    if lf is None and rf is None:
        return None
    if lf is None or rf is None or len(lf) != len(rf):
        def what(fields):
            return "a value that is no ROW" if fields is None else f"a ROW of {len(fields)} field(s)"
        fail(binder.diag, "BindError", f"{op} compares {what(lf)} with {what(rf)}", span)
    field_op, combine = _ROW_COMPARISONS[op]
    terms: list[ast.Expr] = [
        ast.Binary(field_op, a, b, span=span) if field_op in ("=", "<>")
        else ast.Call(field_op, (a, b), span=span)
        for (_, a), (_, b) in zip(lf, rf)]
    out = terms[0]
    for term in terms[1:]:
        out = ast.Binary(combine, out, term, span=span)
    return out


def group_keys(binder: ExpressionBinder, items: list[ast.Expr], scope: Scope
               ) -> list[ast.Expr]:
    """GROUP BY items with a whole ROW (``GROUP BY bid``, ``GROUP BY (a, b)``) as
    its fields, nested ROWs in turn: rows are one group when every field is."""
    out: list[ast.Expr] = []
    for item in items:
        fields = None if isinstance(item, ast.GroupingSets) else row_value_fields(
            binder, item, scope)
        if fields is None:
            out.append(item)
        else:
            out += group_keys(binder, [expr for _, expr in fields], scope)
    return out


def built_field(binder: ExpressionBinder, node: ast.FieldAccess, scope: Scope) -> ast.Expr:
    """The expression of a field of a ROW value that is no column
    (``CAST(ROW(a, b) AS ROW<x INT, y INT>).x``, ``ROW(a, b).EXPR$1``)."""
    fields = row_value_fields(binder, node.base, scope)
    if fields is None:
        fail(binder.diag, "BindError", "a field access needs a ROW value: "
             f"'{binder.diag.source.fragment(node.base.span)}' is none", node.span)
    for name, expr in fields:
        if name.lower() == node.field.lower():
            return expr
    names = [name for name, _ in fields]
    suggestion = did_you_mean(node.field, names)
    fail(binder.diag, "BindError", f"unknown field '{node.field}' of the ROW"
         + (f"; did you mean '{suggestion}'?" if suggestion else ""), node.span,
         hint=f"the ROW has the fields {', '.join(names)}")


def refuse_built_row(binder: ExpressionBinder, node: ast.Call, where: str) -> NoReturn:
    """A ROW built where sqlc has no ROW values: only a SELECT item (or a field
    of one) is written as a nested object."""
    fail(binder.diag, "UnsupportedError", f"sqlc builds a ROW value only as a SELECT item "
         f"(written as a nested object), not inside an expression in {where}", node.span,
         hint="select ROW(...) AS r as its own item, or read its fields")


def _row_column(expr: ast.Expr, scope: Scope) -> tuple[str | None, tuple[str, ...]] | None:
    """(qualifier, path) of the ROW column an expression names, or None."""
    if isinstance(expr, ast.Column):
        if scope.find(expr.name, expr.table):
            return None
        if expr.table is None or expr.table.lower() in scope.qualifiers():
            qualifier, path = expr.table, (expr.name,)
        else:
            qualifier, path = None, (expr.table, expr.name)
    elif isinstance(expr, ast.FieldAccess):
        names = names_of(expr)
        if names is None:
            return None
        if len(names) > 2 and names[0].lower() in scope.qualifiers():
            qualifier, path = names[0], names[1:]
        else:
            qualifier, path = None, names
    else:
        return None
    if not row_fields(scope, path, qualifier):
        return None
    return qualifier, path


def star_fields(fields: list[ScopeField], produced: dict[str, tuple[str, ...]]) -> None:
    """``SELECT *`` keeps a ROW's fields together: they stay nested in the output."""
    for f in fields:
        if f.path:
            produced[f.name] = f.path


def with_paths(scope: Scope, produced: dict[str, tuple[str, ...]]) -> Scope:
    """A view's or subquery's scope, its columns that are fields of a selected ROW
    (``r.x``) with their paths: ``r`` is then a ROW column of it."""
    if not any(not f.path and f.name in produced for f in scope.fields):
        return scope
    return Scope([replace(f, path=produced[f.name]) if not f.path and f.name in produced
                  else f for f in scope.fields])


def nested_outputs(binder: ExpressionBinder, schema) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The output columns of a query that are fields of a selected ROW, with their paths."""
    return tuple((f.name, binder.row_columns[f.name]) for f in schema
                 if f.name in binder.row_columns)


@frozen_dataclass
class OutputItem:
    """A column of a query's result as an INSERT sees it: a plain column, or a
    selected ROW, whose fields are the result's columns ``columns`` (each with
    its path from the ROW: ``("EXPR$1", "EXPR$0")``)."""

    name: str
    columns: tuple[tuple[int, tuple[str, ...]], ...]  # (index in the schema, path)
    types: tuple[SqlType, ...]

    @property
    def is_row(self) -> bool:
        return bool(self.columns[0][1])

    def type(self) -> SqlType:
        """Its type: a ROW's rebuilt from its fields' paths and types."""
        if not self.is_row:
            return self.types[0]
        return _row_type([path for _, path in self.columns], list(self.types))


def output_items(schema, produced: dict[str, tuple[str, ...]]) -> list[OutputItem]:
    """The result's columns, a selected ROW's fields (consecutive, recorded in
    ``produced``) together as one item."""
    items: list[OutputItem] = []
    for i, f in enumerate(schema):
        path = produced.get(f.name, ())
        if len(path) > 1 and items and items[-1].is_row and items[-1].name == path[0]:
            last = items[-1]
            items[-1] = OutputItem(last.name, (*last.columns, (i, path[1:])),
                                   (*last.types, f.type))
        elif len(path) > 1:
            items.append(OutputItem(path[0], ((i, path[1:]),), (f.type,)))
        else:
            items.append(OutputItem(f.name, ((i, ()),), (f.type,)))
    return items


def same_shape(a: list[tuple[str, ...]], b: list[tuple[str, ...]]) -> bool:
    """Whether two ROWs' leaf paths nest alike, field by field in order (a ROW is
    written into a ROW by position, as Flink casts one)."""
    return _positions(a) == _positions(b)


def _positions(paths: list[tuple[str, ...]]) -> list[tuple[int, ...]]:
    seen: dict[tuple[str, ...], list[str]] = {}
    out = []
    for path in paths:
        position = []
        for depth, key in enumerate(path):
            keys = seen.setdefault(path[:depth], [])
            if key not in keys:
                keys.append(key)
            position.append(keys.index(key))
        out.append(tuple(position))
    return out


def _row_type(paths: list[tuple[str, ...]], types: list[SqlType]) -> SqlType:
    names: list[str] = []
    children: list[SqlType] = []
    groups: dict[str, tuple[list, list]] = {}
    for path, typ in zip(paths, types):
        if len(path) == 1:
            names.append(path[0])
            children.append(typ)
        else:
            if path[0] not in groups:
                groups[path[0]] = ([], [])
                names.append(path[0])
                children.append(None)  # type: ignore[arg-type]
            groups[path[0]][0].append(path[1:])
            groups[path[0]][1].append(typ)
    children = [child if child is not None else _row_type(*groups[name])
                for name, child in zip(names, children)]
    return t.from_name("ROW", (), tuple(children), tuple(names))


def refuse_row(binder: ExpressionBinder, name: str, fields: list[str], span: Span) -> NoReturn:
    message, hint = _row_message(name, fields)
    fail(binder.diag, "UnsupportedError", message, span, hint=hint)


def _row_message(name: str, fields: list[str]) -> tuple[str, str]:
    listed = ", ".join(f"{name}.{f}" for f in fields)
    return ((f"{name} is a ROW column: sqlc reads a ROW's fields as columns, not the ROW as "
            f"one value; select its fields ({listed})"),
            f"e.g. SELECT {name}.{fields[0]} AS {fields[0]}")

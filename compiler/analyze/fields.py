"""Fields of ROW columns: ``bid.price``, ``t.bid.price``, ``(bid).price``.

A source reads each field of a ROW column into a column of its own, named by
the field's path (``bid.price``; ``runtime_lib.io.decode`` finds it in the
nested JSON object by the path its ``Field`` carries). So downstream a field is
a column like any other, column pruning keeps only the fields a query reads,
and no ROW value exists in a plan (a ROW selected whole is its fields, and
the Sink nests them: ``nested_outputs``). Binding a field access is finding that
column; what cannot be found is a positioned error that names the fields that
exist, or says that the column is no ROW.

``bid.price`` is a column ``price`` qualified by ``bid`` to the parser: as in
Flink, a table or alias called ``bid`` comes first, the ROW column ``bid``
second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from compiler import ast
from compiler.analyze.scope import Scope, ScopeField, fail
from compiler.errors import Diagnostics, Span, did_you_mean
from compiler.types import leaf_name

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


def row_items(item: ast.SelectItem, scope: Scope, produced: dict[str, tuple[str, ...]]
              ) -> list[ast.SelectItem] | None:
    """A SELECT item that is a whole ROW (``bid``, ``t.bid``, ``bid.address``) as one
    item per field it holds, each named by its path from the item's name
    (``bid.auction``, or ``b.auction`` for ``bid AS b``), recorded in
    ``produced``; None for any other item."""
    expr = item.expr
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
    lowered = tuple(p.lower() for p in path)
    out_name = item.alias or path[-1]
    items = []
    for f in scope.fields:
        if not f.path or tuple(p.lower() for p in f.path[:len(path)]) != lowered or (
                qualifier is not None and (f.qualifier or "").lower() != qualifier.lower()):
            continue
        out_path = (out_name, *f.path[len(path):])
        produced[leaf_name(out_path)] = out_path
        items.append(ast.SelectItem(ast.Column(f.name, f.qualifier, span=expr.span),
                                    leaf_name(out_path), span=item.span))
    return items


def star_fields(fields: list[ScopeField], produced: dict[str, tuple[str, ...]]) -> None:
    """``SELECT *`` keeps a ROW's fields together: they stay nested in the output."""
    for f in fields:
        if f.path:
            produced[f.name] = f.path


def nested_outputs(binder: ExpressionBinder, schema) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The output columns of a query that are fields of a selected ROW, with their paths."""
    return tuple((f.name, binder.row_columns[f.name]) for f in schema
                 if f.name in binder.row_columns)


def refuse_row(binder: ExpressionBinder, name: str, fields: list[str], span: Span) -> NoReturn:
    message, hint = _row_message(name, fields)
    fail(binder.diag, "UnsupportedError", message, span, hint=hint)


def _row_message(name: str, fields: list[str]) -> tuple[str, str]:
    listed = ", ".join(f"{name}.{f}" for f in fields)
    return ((f"{name} is a ROW column: sqlc reads a ROW's fields as columns, not the ROW as "
            f"one value; select its fields ({listed})"),
            f"e.g. SELECT {name}.{fields[0]} AS {fields[0]}")

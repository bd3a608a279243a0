"""SQL type names (``DECIMAL(10, 2)``, ``ARRAY<INT>``) to ``SqlType``: the one
place DDL columns and CASTs read a type from."""

from __future__ import annotations

from compiler import ast
from compiler import types as t
from compiler.errors import Diagnostics, did_you_mean
from compiler.types import SqlType


def type_of(name: ast.TypeName, diag: Diagnostics) -> SqlType | None:
    """The type a type name denotes; None (its error reported) when it has none."""
    base = t.ALIASES.get(name.name, name.name)
    if base not in t.KNOWN:
        suggestion = did_you_mean(base, sorted(t.KNOWN | set(t.ALIASES)))
        diag.error(
            "BindError",
            f"unknown data type '{name.name}'"
            + (f"; did you mean {suggestion}?" if suggestion else ""),
            name.span,
        )
        return None
    children = []
    for i, child in enumerate(name.children):
        typ = type_of(child, diag)
        if typ is None:
            return None
        if i < len(name.not_null) and name.not_null[i]:
            typ = typ.with_nullable(False)
        children.append(typ)
    if base == "ROW" and len(name.fields) != len(children):
        diag.error("BindError", "a ROW type names its fields: ROW<name TYPE, ...>", name.span)
        return None
    if base == "DECIMAL" and name.params:
        precision, scale = name.params[0], (name.params[1] if len(name.params) > 1 else 0)
        problems = []
        if not 1 <= precision <= 38:
            problems.append(f"the precision must be 1 to 38, got {precision}")
        if not 0 <= scale <= precision:
            problems.append(f"the scale must be 0 to the precision, got {scale}")
        if problems:
            diag.error("BindError", f"{name}: " + "; ".join(problems), name.span)
            return None
    if base in t.TIMESTAMPS and name.params and name.params[0] != 3:
        diag.error(
            "UnsupportedError",
            f"{base}({name.params[0]}): sqlc keeps event time in milliseconds; "
            f"use {base}(3)",
            name.span,
        )
        return None
    return t.from_name(base, name.params, tuple(children), name.fields)

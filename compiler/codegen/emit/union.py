"""UNION ALL: stateless, the rows of each input go on up the plan as they come.

An input whose columns are named or typed otherwise than the union's (the
first input's names, the widened types) is renamed and cast on the way in;
its changelog kinds (``ops``) pass through. The watermark after a union is
the minimum of its inputs' (``Generator.watermark_of``). UNION (distinct) is
a GroupAggregate over all columns above this operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import Emitter
from compiler.codegen.expressions import ExprEmitter
from compiler.physical import Exec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def _conversions(child: lg.Schema, union: lg.Schema) -> list[tuple[str, lg.BoundExpr]]:
    """(union column, expression over the child's columns) for every column;
    empty when the child's rows already are the union's."""
    pairs: list[tuple[str, lg.BoundExpr]] = []
    changed = False
    for i, (f, u) in enumerate(zip(child, union)):
        expr: lg.BoundExpr = lg.ColumnRef(i, f.name, f.type)
        if f.type.sql() != u.type.sql():
            expr = lg.Call("CAST", (expr,), u.type)
            changed = True
        changed = changed or f.name != u.name
        pairs.append((u.name, expr))
    return pairs if changed else []


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    number = next(i for i, c in enumerate(e.inputs, start=1) if c is child)
    head = f"{indent}# {e.name} ({g.m.where(e.span)}): input {number} of {len(e.inputs)}"
    pairs = _conversions(child.schema, e.schema)
    if not pairs:
        return [head]
    emitter = ExprEmitter(child.schema, var)
    lines = [head + ", renamed and cast to the union's columns", f"{indent}{var} = {var}.project("]
    lines.append(f"{indent}    {{")
    lines += [f"{indent}        {name!r}: {emitter.column(expr)}," for name, expr in pairs]
    lines += [f"{indent}    }}", f"{indent})"]
    return lines


UNION = Emitter("union", push=push, inline=True)

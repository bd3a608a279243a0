"""UNNEST (CorrelateExec): stateless, each row once per element of an ARRAY or
entry of a MAP, by ``runtime_lib.columns.unnest``; its rows go on up the plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import Emitter
from compiler.codegen.expressions import ExprEmitter
from compiler.codegen.text import comment
from compiler.physical import Exec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    node = e.logical
    assert isinstance(node, lg.Unnest)
    added = node.schema[len(node.input.schema):]
    container = ExprEmitter(child.schema, var).emit(node.expr)
    how = "LEFT JOIN UNNEST" if node.outer else "CROSS JOIN UNNEST"
    sql = f"{how}({lg.expr_sql(node.expr)}) AS ({', '.join(node.names)})"
    return [
        f"{indent}# {e.name} ({g.m.where(e.span)}): {comment(sql)}",
        f"{indent}{var} = unnest({var}, {container}, {[f.name for f in added]!r}, "
        f"{[f.type.storage for f in added]!r}{', outer=True' if node.outer else ''})",
    ]


CORRELATE = Emitter("correlate", push=push, inline=True)

"""A window TVF that no aggregation consumes (WindowTableFunctionExec): each
row gets its windows' columns, one row per window, in the batch's flow (no
state); copies for windows that had already fired are dropped, as in Flink."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.aggregates import pane_window_spec
from compiler.codegen.emit.base import Emitter, over_updating_problem
from compiler.codegen.text import comment
from compiler.errors import Diagnostic
from compiler.explain import window_text
from compiler.physical import Exec, WindowTableFunctionExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, WindowTableFunctionExec)
    node = e.logical
    found = over_updating_problem(e)
    if node.kind == "SESSION":
        found.append(Diagnostic(
            "UnsupportedError", "SESSION window rows without an aggregation do not run yet "
            "(TUMBLE, HOP and CUMULATE do)", e.span))
    elif node.input.schema[node.time_column].type.time_attribute == "PROCTIME":
        found.append(Diagnostic(
            "UnsupportedError", "processing-time windows do not run yet", e.span))
    return found


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    node = e.logical
    assert isinstance(node, lg.WindowTVF)
    name = g.name_of(e)
    time_name = node.input.schema[node.time_column].name
    return [
        f"{indent}# {e.name} ({g.m.where(e.span)}): {comment(window_text(node))}, "
        "one row per window",
        f"{indent}rows, late = window_rows({var}, {time_name!r}, {pane_window_spec(node)})",
        f"{indent}self.late({name!r}, {var}.take(late), \"its windows had already fired\")",
        f"{indent}{var} = rows",
    ]


WINDOW_TABLE_FUNCTION = Emitter("window_tvf", push=push, problems=problems, inline=True)

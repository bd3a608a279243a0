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
from compiler.physical import CalcExec, Exec, IntervalJoinExec, WindowTableFunctionExec

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


def _is_window_join(join: lg.Join) -> bool:
    """A window join: an interval join on window_end = window_end, bounds 0..0
    (how the analyzer plans Flink's window join)."""
    if join.interval is None:
        return False
    left, right, lower, upper = join.interval
    return (lower, upper) == (0, 0) and (join.left.schema[left].name,
                                         join.right.schema[right].name) == ("window_end",) * 2


def _window_join_watermark(g: Generator, e: Exec, var: str) -> str:
    """``, watermarks=...`` when ``e`` feeds a window join (through Calcs): a
    row is late by the join's watermark, the lower of both inputs' (Flink
    fuses the TVF into its WindowJoin); else nothing (its input's)."""
    below, above = e, g.parent.get(id(e))
    while isinstance(above, CalcExec):
        below, above = above, g.parent.get(id(above))
    if not isinstance(above, IntervalJoinExec) or not _is_window_join(above.logical):
        return ""
    other = g.watermark_of(above.inputs[1 - above.inputs.index(below)], latest=True)
    return f", watermarks=np.minimum({var}.row_watermarks(), {other})"


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    node = e.logical
    assert isinstance(node, lg.WindowTVF)
    name = g.name_of(e)
    time_name = node.input.schema[node.time_column].name
    by_join = _window_join_watermark(g, e, var)
    return [
        f"{indent}# {e.name} ({g.m.where(e.span)}): {comment(window_text(node))}, "
        "one row per window" + (" (late by the window join's watermark)" if by_join else ""),
        (f"{indent}rows, late = window_rows({var}, {time_name!r}, {pane_window_spec(node)}"
         f"{by_join})"),
        f"{indent}self.late({name!r}, {var}.take(late), \"its windows had already fired\")",
        f"{indent}{var} = rows",
    ]


WINDOW_TABLE_FUNCTION = Emitter("window_tvf", push=push, problems=problems, inline=True)

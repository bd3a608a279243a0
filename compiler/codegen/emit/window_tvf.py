"""A window TVF that no aggregation consumes (WindowTableFunctionExec): each
row gets its windows' columns, one row per window, in the batch's flow (no
state); copies for windows that had already fired are dropped, as in Flink."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.aggregates import pane_window_spec
from compiler.codegen.emit.base import KINDS_NOTE, Emitter, over_updating_problem, with_note
from compiler.codegen.text import comment
from compiler.errors import Diagnostic
from compiler.explain import window_text
from compiler.physical import (
    CalcExec,
    Exec,
    IntervalJoinExec,
    SessionWindowRowsExec,
    WindowTableFunctionExec,
)

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, WindowTableFunctionExec | SessionWindowRowsExec)
    node = e.logical
    found = over_updating_problem(e)
    if node.input.schema[node.time_column].type.time_attribute == "PROCTIME":
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


def declare_session(g: Generator, e: Exec) -> None:
    m = g.m
    node = e.logical
    assert isinstance(node, lg.WindowTVF)
    name = g.name_of(e)
    m.span_entry(name, e.span)
    schema = node.input.schema
    m.state.extend([
        f"# {e.name} ({m.where(e.span)}): {comment(window_text(node))}; {comment(e.state)}",
        f"self.{name} = SessionRows(",
        f"    {schema[node.time_column].name!r},",
        f"    partition_by={[schema[i].name for i in node.partition_by]!r},",
        f"    gap_ms={node.gap_ms},",
        f"    names={[f.name for f in schema]!r},",
        f"    {KINDS_NOTE}",
        with_note(f"    kinds={[f.type.storage for f in schema]!r},", "one per name"),
        ")",
    ])
    g.stateful_operator(e, name, f"Rows leaving {e.name} {name}, with their session's bounds.")


def push_session(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    name = g.name_of(e)
    return [
        (f"{indent}# {e.name} ({g.m.where(e.span)}): held until the watermark closes each "
         "row's session"),
        f"{indent}late = self.{name}.process({var})",
        (f"{indent}self.late({name!r}, {var}.take(late), "
         "\"its session had already closed\")"),
    ]


SESSION_WINDOW_ROWS = Emitter("session_rows", push=push_session, declare=declare_session,
                              problems=problems, fires=True)

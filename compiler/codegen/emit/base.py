"""What an operator family's emitter provides, and the checks families share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.text import comment
from compiler.errors import Diagnostic
from compiler.frozen import frozen_dataclass
from compiler.physical import (
    CalcExec,
    Exec,
    GroupAggregateExec,
    SourceExec,
    WindowAggregateExec,
    walk,
)

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator

# (generator, operator, the input whose rows arrive, their variable, indent) -> code
Push = Callable[["Generator", Exec, Exec, str, str], list[str]]


def no_problems(e: Exec) -> list[Diagnostic]:
    return []


@frozen_dataclass
class Emitter:
    """How one physical operator becomes code.

    ``push`` is the code that hands the rows of one input (in a variable) to the
    operator; for a stateful operator, ``declare`` writes its state into
    ``__init__`` and the ``on_<name>`` method its output rows leave by."""

    name: str  # the base of the names generated for it (attribute, function)
    push: Push | None = None  # None: nothing pushes into it (a source)
    declare: Callable[[Generator, Exec], None] | None = None  # None: stateless
    problems: Callable[[Exec], list[Diagnostic]] = no_problems  # what does not run yet
    inline: bool = False  # its rows stay in the variable, and go on up the plan (Calc)
    fires: bool = False  # it emits when watermarks pass: ``advance`` drives it
    # the name from the query (what the operator brings in or feeds), if not ``name``
    naming: Callable[[Generator, Exec], str] | None = None


# What the runtime's kinds lists mean (numpy dtype kinds), said once per operator.
KINDS_NOTE = "# numpy kinds: O object (str), i int64 (timestamps too), f float64, b bool"


def with_note(line: str, note: str) -> str:
    """``line`` (an argument at 4 spaces in ``__init__``) with a trailing comment,
    cut to fit black's 100 columns at the 12 columns it ends up indented."""
    room = max(24, 100 - 12 - len(line) - 2)
    return f"{line}  # {comment(note, room)}"


def source_below(e: Exec) -> str | None:
    """The source whose rows reach ``e`` through stateless steps only, if any."""
    while isinstance(e, CalcExec):
        e = e.inputs[0]
    return e.logical.source if isinstance(e, SourceExec) else None


def updating_input(e: Exec) -> bool:
    """An input of ``e`` retracts rows (a regular outer join, an aggregation)."""
    return any(lg.changelog(child.logical) != "I" for child in e.inputs)


def over_aggregation(e: Exec) -> bool:
    """An aggregation runs somewhere below ``e``."""
    return any(isinstance(x, (WindowAggregateExec, GroupAggregateExec))
               for child in e.inputs for x in walk(child))


def over_updating_problem(e: Exec) -> list[Diagnostic]:
    if not updating_input(e):
        return []
    return [Diagnostic(
        "UnsupportedError", f"{e.name} over an updating input (a regular outer "
        "join or an aggregation) does not run yet", e.span)]


def over_aggregation_problem(e: Exec) -> list[Diagnostic]:
    if not over_aggregation(e):
        return []
    return [Diagnostic(
        "UnsupportedError", f"{e.name} over an aggregation does not run yet", e.span)]


def aggregate_column(e: Exec, index: int) -> tuple[WindowAggregateExec, int] | None:
    """Column ``index`` of ``e``'s output traced down through Calcs: the window
    aggregate it is an output column of, and its index there, if it is one."""
    while isinstance(e, CalcExec):
        node = e.logical
        if not isinstance(node, lg.Filter):
            expr = node.exprs[index]
            if not isinstance(expr, lg.ColumnRef):
                return None
            index = expr.index
        e = e.inputs[0]
    return (e, index) if isinstance(e, WindowAggregateExec) else None


def grouped_column(e: WindowAggregateExec, index: int) -> int | None:
    """The column of the window TVF's rows (0..) that output column ``index`` of
    ``e`` groups by, or its window column: window_start is the TVF input's width."""
    node = e.logical
    if index >= len(node.keys) or not isinstance(node.keys[index], lg.ColumnRef):
        return None
    return node.keys[index].index


def window_column(e: Exec, index: int) -> tuple[WindowAggregateExec, int] | None:
    """Column ``index`` of ``e``'s output traced down through Calcs: the window
    aggregate whose ``window_start`` (0), ``window_end`` (1) or ``window_time``
    (2) it is, if it is one."""
    found = aggregate_column(e, index)
    if found is None:
        return None
    agg, index = found
    column = grouped_column(agg, index)
    assert agg.logical.window is not None
    width = len(agg.logical.window.input.schema)
    if column is None or column < width:
        return None
    return agg, column - width


def window_column_lag(e: WindowAggregateExec, which: int) -> int | None:
    """How far a window column of ``e``'s rows trails the watermark after ``e``:
    rows still to come from ``e`` have a value above ``watermark - lag`` (a
    window fires once the watermark reaches window_time; an EMIT delay holds
    the watermark after ``e`` back by as much, ``held_back``). None: no such
    bound (the start of a session that is still open can be arbitrarily old)."""
    window = e.logical.window
    assert window is not None
    if which == 0:
        if window.kind == "SESSION":
            return None
        assert window.size_ms is not None
        return window.size_ms - 1
    return -1 if which == 1 else 0

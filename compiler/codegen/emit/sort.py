"""ORDER BY a time attribute: a TemporalSort that holds rows until the
watermark passes them, then lets them go in event-time order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import (
    KINDS_NOTE,
    Emitter,
    over_aggregation_problem,
    over_updating_problem,
    with_note,
)
from compiler.codegen.text import comment
from compiler.errors import Diagnostic
from compiler.physical import Exec, TemporalSortExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, TemporalSortExec)
    found = over_updating_problem(e)
    if len(e.logical.keys) > 1:
        found.append(Diagnostic(
            "UnsupportedError", "ORDER BY a time attribute and more columns "
            "does not run yet", e.span))
    return found + over_aggregation_problem(e)


def declare(g: Generator, e: Exec) -> None:
    m = g.m
    node = e.logical
    assert isinstance(node, lg.Sort)
    name = g.name_of(e)
    m.span_entry(name, e.span)
    schema = node.schema
    key = node.keys[0].expr
    assert isinstance(key, lg.ColumnRef)
    m.state.extend([
        f"# {e.name} ({m.where(e.span)}): {comment(e.state)}",
        f"self.{name} = TemporalSort(",
        f"    {schema[key.index].name!r},",
        f"    names={[f.name for f in schema]!r},",
        f"    {KINDS_NOTE}",
        with_note(f"    kinds={[f.type.storage for f in schema]!r},", "one per name"),
        ")",
    ])
    g.stateful_operator(e, name, f"Rows leaving {e.name} {name}, in event-time order.")


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    name = g.name_of(e)
    return [
        f"{indent}# {e.name} ({g.m.where(e.span)}): held until the watermark passes each row",
        f"{indent}late = self.{name}.process({var})",
        (f"{indent}self.late({name!r}, {var}.take(late), "
        "\"it came after the watermark had passed it\")"),
    ]


TEMPORAL_SORT = Emitter("temporal_sort", push=push, declare=declare, problems=problems,
                        fires=True)

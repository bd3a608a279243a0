"""Sinks: the ``Output`` spec of each result, and the rows written to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import Emitter
from compiler.codegen.text import comment, field_call
from compiler.physical import Exec, SinkExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def _upsert_key(sink: lg.Sink) -> tuple[str, ...]:
    """The columns that identify a row of an updating result (the grouping keys
    of the aggregate that makes it updating), as the sink names them; () for an
    insert-only result. An upsert sink writes each key's latest row."""
    if lg.changelog(sink.input) == "I":
        return ()
    node: lg.LogicalNode = sink.input
    names = [f.name for f in sink.schema]
    # follow the columns down through projections to the aggregate
    positions = list(range(len(names)))
    while not isinstance(node, lg.Aggregate):
        if isinstance(node, (lg.Calc, lg.Project)):
            exprs = node.exprs
            mapped = []
            for p in positions:
                e = exprs[p] if p is not None else None
                mapped.append(e.index if isinstance(e, lg.ColumnRef) else None)
            positions = mapped
        elif not isinstance(node, (lg.Filter, lg.Limit)):
            return ()
        node = node.inputs()[0]
    key_positions = set(range(len(node.keys)))
    if node.window is not None:  # window_time follows from window_end
        key_positions = {i for i in key_positions if node.key_names[i] != "window_time"}
    found = {p: names[i] for i, p in enumerate(positions) if p is not None}
    if not key_positions <= set(found):
        return ()  # a key column is not in the output: no upsert key
    return tuple(found[p] for p in sorted(key_positions))


def output(g: Generator, e: SinkExec) -> None:
    """The sink's ``Output(...)`` in ``Query.outputs``; its index is what writes name."""
    g.sink_index[id(e)] = len(g.sink_index)
    node = e.logical
    fields = ", ".join(field_call(f) for f in node.schema)
    extra = ""
    key = _upsert_key(node)
    if key:
        extra += f", key={key!r}"
    if node.properties:
        extra += f", properties={dict(node.properties)!r}"
    g.m.outputs.append(f"Output({node.target!r}, ({fields},){extra})")


def push_sink(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    assert isinstance(e, SinkExec)
    index = g.sink_index[id(e)]
    target = e.logical.target
    return [f"{indent}# {e.name}: {comment(target or 'the output')}",
            f"{indent}self.write({index}, {var})"]


SINK = Emitter("sink", push=push_sink)

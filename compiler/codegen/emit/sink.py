"""Sinks: the ``Output`` spec of each result, and the rows written to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import Emitter
from compiler.codegen.text import comment, field_call
from compiler.physical import Exec, SinkExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def _writes_by_primary_key(sink: lg.Sink) -> bool:
    return dict(sink.properties).get("connector") in lg.PRIMARY_KEY_SINKS


def output(g: Generator, e: SinkExec) -> None:
    """The sink's ``Output(...)`` in ``Query.outputs``; its index is what writes name."""
    g.sink_index[id(e)] = len(g.sink_index)
    node = e.logical
    fields = ", ".join(field_call(f) for f in node.schema)
    extra = ""
    # a PostgreSQL table is written by its declared key; a Kafka topic by the
    # query's own (the upsert-kafka key is the message key, checked at run time)
    key = node.primary_key if _writes_by_primary_key(node) else lg.upsert_key(node)
    if key:
        extra += f", key={key!r}"
    if node.properties:
        extra += f", properties={dict(node.properties)!r}"
    if node.partition_keys:
        extra += f", partitioned_by={node.partition_keys!r}"
    g.m.outputs.append(f"Output({node.target!r}, ({fields},){extra})")


def push_sink(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    assert isinstance(e, SinkExec)
    index = g.sink_index[id(e)]
    target = e.logical.target
    return [f"{indent}# {e.name}: {comment(target or 'the output')}",
            f"{indent}self.write({index}, {var})"]


SINK = Emitter("sink", push=push_sink)

"""LIMIT n [OFFSET m] on an append-only stream without ORDER BY (Flink's
Limit): the first n rows that arrive (after m skipped) go on up the plan,
then nothing; OFFSET m alone: every row after the first m. Its state, the
number of rows seen, is checkpointed; its rows go on in the same batch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler.codegen.emit.base import Emitter, updating_input
from compiler.codegen.text import comment
from compiler.errors import Diagnostic
from compiler.physical import Exec, LimitExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, LimitExec)
    if updating_input(e):
        return [Diagnostic("UnsupportedError", "LIMIT over an updating result (an aggregation "
                           "or a join that takes rows back) does not run yet; LIMIT takes the "
                           "first rows of an append-only stream", e.span)]
    return []


def declare(g: Generator, e: Exec) -> None:
    assert isinstance(e, LimitExec)
    m = g.m
    name = g.name_of(e)
    m.span_entry(name, e.span)
    offset = f", offset={e.logical.offset}" if e.logical.offset else ""
    m.state.extend([
        f"# {e.name} ({m.where(e.span)}): {comment(e.state)}",
        f"self.{name} = Limit({e.logical.count}{offset})",
    ])
    g.stateful.append((e, name))  # its rows go on in the batch (push), no method of its own


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    name = g.name_of(e)
    what = ("the first rows that arrive, then none" if e.logical.count is not None
            else f"every row after the first {e.logical.offset}")
    return [f"{indent}# {e.name} ({g.m.where(e.span)}): {what}",
            f"{indent}{var} = self.{name}.process({var})"]


LIMIT = Emitter("limit", push=push, declare=declare, problems=problems, inline=True)

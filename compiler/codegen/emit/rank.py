"""Top-N: RankExec (no window), an updating result of each partition's top N
rows; WindowRankExec, the top N rows of each partition of each window, held
until the watermark closes the window, then ranked once; DeduplicateExec,
the first or last row per key by event time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import (
    KINDS_NOTE,
    Emitter,
    over_updating_problem,
    updating_input,
    with_note,
)
from compiler.codegen.text import comment
from compiler.errors import Diagnostic
from compiler.physical import Exec, RankExec, WindowRankExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def window_end(node: lg.TopN) -> tuple[str, int] | None:
    """(the input column the window's end is read from, what to add to it for
    the watermark that closes the window). A window aggregate's EMIT delay
    holds the watermark after it back (``held_back``): nothing to add for it."""
    names = [f.name for f in node.input.schema]
    tvf = lg.window_below(node.input)
    if "window_end" in names:
        return "window_end", 0
    if "window_time" in names:
        return "window_time", 1
    if "window_start" in names and tvf is not None and tvf.kind in ("TUMBLE", "HOP"):
        return "window_start", int(tvf.size_ms or 0)
    return None


def _column_problems(e: Exec) -> list[Diagnostic]:
    node = e.logical
    assert isinstance(node, lg.TopN)
    exprs = list(node.partition_by) + [k.expr for k in node.order_by]
    if all(isinstance(x, lg.ColumnRef) for x in exprs):
        return []
    return [Diagnostic(
        "UnsupportedError", "a Top-N partitioned or ordered by an expression does "
        "not run yet; name the expression in a subquery", e.span)]


def rank_problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, RankExec)
    return _column_problems(e)


def problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, WindowRankExec)
    node = e.logical
    found = over_updating_problem(e) + _column_problems(e)
    if window_end(node) is None:
        found.append(Diagnostic(
            "UnsupportedError", "a window Top-N whose input has none of window_end, "
            "window_time (or window_start of a TUMBLE or HOP) does not run yet", e.span))
    return found


def _columns(node: lg.TopN) -> list[str]:
    """The input's columns and the partition's, one argument a line."""
    schema = node.input.schema
    partition = [schema[p.index].name for p in node.partition_by]  # type: ignore[union-attr]
    return [
        f"    names={[f.name for f in schema]!r},",
        f"    {KINDS_NOTE}",
        with_note(f"    kinds={[f.type.storage for f in schema]!r},", "one per name"),
        f"    partition_by={partition!r},",
    ]


def _arguments(node: lg.TopN) -> list[str]:
    """The runtime operator's arguments after its window's, one a line."""
    schema = node.input.schema
    order = [(schema[k.expr.index].name, k.descending, k.nulls_first)  # type: ignore[union-attr]
             for k in node.order_by]
    return [
        *_columns(node),
        with_note(f"    order_by={order!r},", "(column, descending, nulls first)"),
        f"    limit={node.limit},",
        f"    fn={node.fn.lower()!r},",
        f"    rank_name={node.rank_name!r},",
    ]


def declare(g: Generator, e: Exec) -> None:
    node = e.logical
    assert isinstance(node, lg.TopN)
    name = g.name_of(e)
    g.m.span_entry(name, e.span)
    end = window_end(node)
    assert end is not None
    offset = [with_note(f"    end_offset_ms={end[1]},", f"added to {end[0]}: when the window "
                        "closes")] if end[1] else []
    g.m.state.extend([
        f"# {e.name} ({g.m.where(e.span)}): {comment(e.state)}",
        f"self.{name} = WindowRank(",
        f"    {end[0]!r},",
        *_arguments(node),
        *offset,
        ")",
    ])
    g.stateful_operator(e, name, f"Rows leaving {e.name} {name}, once per window.")


def declare_rank(g: Generator, e: Exec) -> None:
    node = e.logical
    assert isinstance(node, lg.TopN)
    name = g.name_of(e)
    g.m.span_entry(name, e.span)
    updating = ["    updating_input=True,  # -U/-D rows take rows back"] if updating_input(e) else []
    g.m.state.extend([f"# {e.name} ({g.m.where(e.span)}): {comment(e.state)}",
                      f"self.{name} = Rank(", *_arguments(node), *updating, ")"])
    g.stateful_operator(e, name, f"Changes of the top rows of {e.name} {name}.")


def push_rank(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    name = g.name_of(e)
    return [f"{indent}# {e.name} ({g.m.where(e.span)}): the top rows, updated as rows arrive",
            f"{indent}self.on_{name}(self.{name}.process({var}))"]


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    name = g.name_of(e)
    return [
        f"{indent}# {e.name} ({g.m.where(e.span)}): the top rows held until the window closes",
        f"{indent}late = self.{name}.process({var})",
        f"{indent}self.late({name!r}, {var}.take(late), \"its window had already fired\")",
    ]


def declare_dedup(g: Generator, e: Exec) -> None:
    node = e.logical
    assert isinstance(node, lg.TopN)
    name = g.name_of(e)
    g.m.span_entry(name, e.span)
    time = node.order_by[0].expr
    assert isinstance(time, lg.ColumnRef)
    ttl_ms = lg.state_ttl_ms(node.input)
    ttl = [] if ttl_ms is None else [f"    state_ttl_ms={ttl_ms},  # the stream's 'state.ttl'"]
    g.m.state.extend([
        f"# {e.name} ({g.m.where(e.span)}): {comment(e.state)}",
        f"self.{name} = Deduplicate(",
        f"    {node.input.schema[time.index].name!r},",
        *_columns(node),
        f"    keep={lg.dedup_keep(node)!r},",
        f"    rank_name={node.rank_name!r},",
        *ttl,
        ")",
    ])
    g.stateful_operator(e, name, f"Rows leaving {e.name} {name}.")


def push_dedup(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    node = e.logical
    assert isinstance(node, lg.TopN)
    name = g.name_of(e)
    what = ("each key's first row, once the watermark passes it"
            if lg.dedup_keep(node) == "first" else "each key's last row, as it changes")
    return [
        f"{indent}# {e.name} ({g.m.where(e.span)}): {what}",
        f"{indent}rows, late = self.{name}.process({var})",
        (f"{indent}self.late({name!r}, {var}.take(late), "
         "\"it came after the watermark had passed it\")"),
        f"{indent}self.on_{name}(rows)",
    ]


WINDOW_RANK = Emitter("window_rank", push=push, declare=declare, problems=problems, fires=True)
RANK = Emitter("rank", push=push_rank, declare=declare_rank, problems=rank_problems)
DEDUPLICATE = Emitter("deduplicate", push=push_dedup, declare=declare_dedup, fires=True)

"""OVER aggregates on a stream: one OverAggregate per Over node, holding rows
until the watermark passes them and computing every OVER call of the SELECT
over its frame (calls share the operator: one PARTITION BY and ORDER BY)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import (
    KINDS_NOTE,
    Emitter,
    aggregate_column,
    grouped_column,
    over_aggregation,
    over_updating_problem,
    window_column,
    window_column_lag,
    with_note,
)
from compiler.codegen.expressions import ExprEmitter
from compiler.codegen.text import comment
from compiler.errors import Diagnostic
from compiler.physical import Exec, OverAggregateExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator

# SQL function -> the runtime's OverFn.func
FUNCS = {
    "COUNT": "count", "SUM": "sum", "AVG": "avg", "MIN": "min", "MAX": "max",
    "STDDEV": "stddev_samp", "STDDEV_SAMP": "stddev_samp", "STDDEV_POP": "stddev_pop",
    "VARIANCE": "var_samp", "VAR_SAMP": "var_samp", "VAR_POP": "var_pop",
    "FIRST_VALUE": "first_value", "LAST_VALUE": "last_value", "LAG": "lag", "LEAD": "lead",
}
# functions that read only whether their argument is NULL
_ANY_KIND = ("COUNT",)
# functions that run on strings too (as codes: ordered for MIN/MAX, carried by the others)
_STRINGS = ("MIN", "MAX", "FIRST_VALUE", "LAST_VALUE", "LAG", "LEAD")


def problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, OverAggregateExec)
    found = over_updating_problem(e)
    if found:
        return found
    node = e.logical
    if over_aggregation(e) and order_lag(e) is None and not session_order(e):
        return [Diagnostic(
            "UnsupportedError", "OVER over an aggregation runs when it is ordered by the "
            "window_start, window_end or window_time of a window aggregate's rows (by a "
            "SESSION's window_start: partitioned by the session's PARTITION BY columns); "
            "this one does not run yet", e.span)]
    first = node.calls[0]
    for call in node.calls:
        if call.fn not in FUNCS:
            found.append(Diagnostic("UnsupportedError", f"{call.fn}(...) OVER does not run yet; "
                                    + ", ".join(sorted(FUNCS)) + " do", call.span))
            continue
        if call.partition_by != first.partition_by or call.order_by != first.order_by:
            found.append(Diagnostic(
                "UnsupportedError", "OVER calls with different PARTITION BY or ORDER BY in "
                "one SELECT do not run yet (different frames do)", call.span))
        if len(call.order_by) > 1:
            found.append(Diagnostic(
                "UnsupportedError", "OVER ... ORDER BY a time attribute and more columns "
                "does not run yet", call.span))
        frame = call.frame
        if frame is not None and frame.unit == "RANGE" and frame.end != 0:
            found.append(Diagnostic(
                "UnsupportedError", "a RANGE frame that ends before the current row does not "
                "run yet", call.span))
        storage = call.args[0].type.storage if call.args else "i"
        if call.fn not in _ANY_KIND and storage not in "if" and not (
                storage == "O" and call.fn in _STRINGS and call.args[0].type.name in ("VARCHAR",
                                                                                      "CHAR")):
            runs = ("numbers and timestamps do, and strings for " + ", ".join(_STRINGS)
                    if call.fn in _STRINGS else "numbers and timestamps do")
            found.append(Diagnostic(
                "UnsupportedError", f"{call.fn}(...) OVER of a {call.args[0].type.sql()} "
                f"does not run yet; {runs}", call.span))
    return found


def order_lag(e: Exec) -> int | None:
    """How far the ORDER BY column trails the watermark: 0 for a stream's time
    attribute; after a window aggregate, the lag of its window column (rows
    are released once no row still to come can come before them)."""
    if not over_aggregation(e):
        return 0
    order = e.logical.calls[0].order_by
    time = order[0].expr if order else None
    if not isinstance(time, lg.ColumnRef):
        return None
    found = window_column(e.inputs[0], time.index)
    return None if found is None else window_column_lag(*found)


def session_order(e: Exec) -> bool:
    """Ordered by the window_start of a SESSION window aggregate's rows and
    partitioned by (at least) the session's PARTITION BY columns: each partition's
    sessions fire in the order of their starts (a row that would open a session
    before one that fired comes after it, or is late), so the rows can leave as
    they come, though an open session's start is arbitrarily old."""
    if not over_aggregation(e):
        return False
    first = e.logical.calls[0]
    time = first.order_by[0].expr if first.order_by else None
    found = window_column(e.inputs[0], time.index) if isinstance(time, lg.ColumnRef) else None
    if found is None or found[1] != 0:
        return False
    agg = found[0]
    window = agg.logical.window
    assert window is not None
    if window.kind != "SESSION":
        return False
    keys = set()
    for expr in first.partition_by:
        traced = aggregate_column(e.inputs[0], expr.index) if isinstance(expr, lg.ColumnRef) \
            else None
        if traced is not None and traced[0] is agg:
            keys.add(grouped_column(agg, traced[1]))
    return set(window.partition_by) <= keys


class _OverPlan:
    """How a logical Over maps onto the runtime operator's arguments."""

    def __init__(self, node: lg.Over):
        first = node.calls[0]
        self.key_exprs = list(first.partition_by)
        self.time = first.order_by[0].expr
        assert isinstance(self.time, lg.ColumnRef)
        self.arg_exprs: list[lg.BoundExpr] = []
        self._values_read: set[int] = set()  # the arguments whose values a call reads
        self.calls = [self._call(c) for c in node.calls]
        self.arg_kinds = [self._kind(a, i in self._values_read)
                          for i, a in enumerate(self.arg_exprs)]

    @staticmethod
    def _kind(expr: lg.BoundExpr, value_read: bool) -> str:
        kind = expr.type.storage
        if kind in "if" or (kind == "O" and value_read):
            return kind
        return "i"  # COUNT of a string: its validity only

    def _index(self, expr: lg.BoundExpr, value_read: bool = True) -> int:
        if expr not in self.arg_exprs:
            self.arg_exprs.append(expr)
        index = self.arg_exprs.index(expr)
        if value_read:
            self._values_read.add(index)
        return index

    def _call(self, call: lg.OverCall) -> str:
        func = FUNCS[call.fn]
        parts = []
        if call.fn == "COUNT" and not call.args:
            func = "count_star"
        else:
            parts.append(f"arg={self._index(call.args[0], call.fn not in _ANY_KIND)}")
        frame = call.frame or lg.FrameSpec("RANGE", None, 0)
        if call.fn == "LEAD":  # the frame is the offset, following
            parts.append(f"lead={frame.start}")
        elif frame.start is not None:
            parts.append(f"rows={frame.start}" if frame.unit == "ROWS" else f"range_ms={frame.start}")
        elif frame.unit == "ROWS":
            parts.append("unit='ROWS'")
        if frame.end and call.fn != "LEAD":
            parts.append(f"end={frame.end}")
        if call.fn in ("LAG", "LEAD") and len(call.args) > 1:
            parts.append(f"default={self._index(call.args[1])}")
        return f"OverFn({', '.join([repr(func)] + parts)})"


def declare(g: Generator, e: Exec) -> None:
    node = e.logical
    assert isinstance(node, lg.Over)
    name = g.name_of(e)
    g.m.span_entry(name, e.span)
    plan = _OverPlan(node)
    schema = node.input.schema
    keys = ", ".join(lg.expr_sql(k) for k in plan.key_exprs) or "()"
    lines = [
        f"# {e.name} ({g.m.where(e.span)}) PARTITION BY {comment(keys)}: {comment(e.state)}",
        f"self.{name} = OverAggregate(",
        f"    {schema[plan.time.index].name!r},",
        f"    names={[f.name for f in schema]!r},",
        f"    {KINDS_NOTE}",
        with_note(f"    kinds={[f.type.storage for f in schema]!r},", "one per name"),
        with_note(f"    key_kinds={[k.type.storage for k in plan.key_exprs]!r},", keys),
        with_note(f"    arg_kinds={plan.arg_kinds!r},",
                  ", ".join(lg.expr_sql(a) for a in plan.arg_exprs) or "no arguments"),
        "    calls=[",
    ]
    for fn, call, out in zip(plan.calls, node.calls, node.names):
        lines.append(with_note(f"        {fn},", f"{out} = {lg.expr_sql(call)}"))
    lines += ["    ],", f"    out_names={list(node.names)!r},"]
    lag = order_lag(e)
    if lag:
        what = schema[plan.time.index].name
        lines.append(with_note(f"    lag_ms={lag},", f"{what} of rows to come > watermark - lag"))
    elif lag is None:  # ordered by a SESSION's window_start
        lines.append(with_note("    arrival_order=True,", "each key's sessions fire in start order"))
    lines.append(")")
    g.m.state.extend(lines)
    g.stateful_operator(e, name, f"Rows leaving {e.name} {name}, in event-time order.")


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    node = e.logical
    assert isinstance(node, lg.Over)
    name = g.name_of(e)
    plan = _OverPlan(node)
    emitter = ExprEmitter(e.inputs[0].schema, var)
    keys = ", ".join(emitter.column(k) for k in plan.key_exprs)
    args = ", ".join(emitter.column(a) for a in plan.arg_exprs)
    call = f"self.{name}.process({var}, keys=[{keys}], args=[{args}])"
    if over_aggregation(e):  # a fired window's row comes after the watermark that fired it
        return [f"{indent}# {e.name} ({g.m.where(e.span)}): held until no earlier window "
                "can come", f"{indent}{call}"]
    return [
        f"{indent}# {e.name} ({g.m.where(e.span)}): held until the watermark passes each row",
        f"{indent}late = {call}",
        (f"{indent}self.late({name!r}, {var}.take(late), "
         "\"it came after the watermark had passed it\")"),
    ]


OVER_AGGREGATE = Emitter("over_aggregate", push=push, declare=declare, problems=problems,
                         fires=True)

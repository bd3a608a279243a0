"""Aggregations: a WindowAggregate per windowed GROUP BY (TUMBLE, HOP,
SESSION, CUMULATE, the TVF fused in) and a GroupAggregate per GROUP BY without
a window; GROUPING SETS become one runtime operator per set."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from compiler import logical as lg
from compiler.codegen.emit.base import (
    KINDS_NOTE,
    Emitter,
    over_aggregation,
    updating_input,
    window_column,
    with_note,
)
from compiler.codegen.expressions import ExprEmitter
from compiler.codegen.runtime import RETRACTABLE, Agg, accumulator_names
from compiler.codegen.text import comment
from compiler.errors import Diagnostic
from compiler.physical import Exec, WindowAggregateExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def problems(e: Exec) -> list[Diagnostic]:
    """What of an aggregation does not run yet, in the order users see it."""
    node = e.logical
    assert isinstance(node, lg.Aggregate)
    found = []
    for call in node.aggs:
        if call.distinct and call.fn not in ("COUNT", "MIN", "MAX"):
            found.append(Diagnostic(
                "UnsupportedError",
                f"{call.fn}(DISTINCT ...) does not run yet; COUNT(DISTINCT) "
                "does", call.span))
    if updating_input(e):  # a join's or an aggregation's changelog: -U/-D take rows back
        found += _retraction_problems(e)
    if isinstance(e, WindowAggregateExec):
        found += _cascade_problems(e) + _window_problems(e)
    return found


def _cascade_problems(e: WindowAggregateExec) -> list[Diagnostic]:
    """A window aggregate over another one's rows (cascaded windows) runs on
    the inner window_time: the inner windows fire, and their rows arrive,
    before the watermark that fires the outer windows holding them (an inner
    EMIT delay holds the watermark after the inner aggregate back by as much)."""
    if not over_aggregation(e):
        return []
    window = e.logical.window
    assert window is not None
    inner = window_column(e.inputs[0], window.time_column)
    if inner is None or inner[1] != 2:
        return [Diagnostic(
            "UnsupportedError", "a window over an aggregation's rows runs on the window_time "
            "of a window aggregate (cascaded windows); this one does not run yet", e.span)]
    return []


def _window_problems(e: WindowAggregateExec) -> list[Diagnostic]:
    node = e.logical
    assert node.window is not None
    found = []
    if node.window is not None and node.input is not node.window:
        found.append(Diagnostic(
            "UnsupportedError",
            "a filter on window columns between the window TVF and its "
            "aggregation does not run yet",
            e.span,
        ))
    return found


def processing_time_window(e: Exec) -> bool:
    """A window aggregate on a PROCTIME() attribute: it fires by the clock."""
    window = e.logical.window if isinstance(e, WindowAggregateExec) else None
    return (window is not None
            and window.input.schema[window.time_column].type.time_attribute == "PROCTIME")


def _retraction_problems(e: Exec) -> list[Diagnostic]:
    """An aggregation over an updating input takes rows back (-D/-U): every
    aggregate needs an inverse, and a SESSION could split."""
    node = e.logical
    assert isinstance(node, lg.Aggregate)
    problems = []
    if node.window is not None and node.window.kind == "SESSION":
        problems.append(Diagnostic(
            "UnsupportedError", "a SESSION window over an updating input (a regular outer join) "
            "does not run: taking a row back could split a session; use an interval join or "
            "TUMBLE/HOP/CUMULATE", node.window.span if node.window.span.end else e.span))
    for call in node.aggs:
        func = "count_star" if call.fn == "COUNT" and not call.args else _AggregatePlan.FUNCS[call.fn]
        if func not in RETRACTABLE or (call.distinct and call.fn == "COUNT"):
            name = f"{call.fn}(DISTINCT ...)" if call.distinct else call.fn
            problems.append(Diagnostic(
                "UnsupportedError", f"{name} over an updating input (a regular outer join or "
                "an aggregation retracts rows) does not run yet; COUNT, SUM, AVG, MIN, MAX, "
                "STDDEV/VARIANCE and LISTAGG do",
                call.span))
    return problems


def declare(g: Generator, e: Exec) -> None:
    """State in ``__init__``, and ``on_<name>`` for the rows the operator emits.
    GROUPING SETS become one runtime operator per set, whose rows get NULL for
    the keys the set rolls up."""
    m = g.m
    node = e.logical
    assert isinstance(node, lg.Aggregate)
    name = g.name_of(e)
    m.span_entry(name, e.span)
    for operator, plan in _operators(g, e):
        _operator_state(g, e, operator, plan)
        method = []
        if node.emit == "CHANGES" or node.window is None:
            method.append('        batch = batch.split_ops("op")')
        if plan.reorder:
            method.append("        batch = batch.project(")
            method.append("            {")
            for i, out in enumerate(node.schema):
                if out.name in plan.runtime_names:
                    method.append(f"                {out.name!r}: batch[{out.name!r}],")
                else:  # rolled up by this grouping set
                    method.append(f"                {out.name!r}: "
                                  f"null_column({out.type.storage!r}, batch.num_rows),")
            method.append("            }")
            method.append("        )")
        g.stateful_operator(e, operator, f"Rows emitted by {e.name} {operator}.", method)
    m.processing_time = m.processing_time or processing_time_window(e)


def _operators(g: Generator, e: Exec) -> list[tuple[str, _AggregatePlan]]:
    """(attribute name, plan) of each runtime operator an Aggregate needs."""
    node = e.logical
    assert isinstance(node, lg.Aggregate)
    name = g.name_of(e)
    if node.grouping_sets is None:
        return [(name, _AggregatePlan(node, e.inputs[0].schema))]
    return [(f"{name}_{i + 1}", _AggregatePlan(node, e.inputs[0].schema, keys))
            for i, keys in enumerate(node.grouping_sets)]


def _operator_state(g: Generator, e: Exec, operator: str, plan: _AggregatePlan) -> None:
    node = e.logical
    assert isinstance(node, lg.Aggregate)
    window = node.window
    keys = ", ".join(plan.key_names) or "()"
    lines = [(f"# {e.name} ({g.m.where(e.span)}) GROUP BY {comment(keys)}: "
             f"{comment(e.state)}")]
    if window is not None:
        lines.append(f"self.{operator} = WindowAggregate(")
        lines.append(f"    window={plan.window_spec()},")
    else:
        lines.append(f"self.{operator} = GroupAggregate(")
    lines.append(f"    {KINDS_NOTE}")
    lines.append(with_note(f"    key_kinds={plan.key_kinds!r},", keys))
    lines.append(f"    arg_kinds={plan.arg_kinds!r}," + ("" if plan.arg_exprs else "  # no arguments"))
    if plan.arg_exprs or plan.filter_exprs:
        lines.append("    # checkpoints store the accumulators under names made of these")
    if plan.arg_exprs:
        lines.append(f"    arg_names={plan.arg_names!r},")
    if plan.filter_exprs:
        lines.append(f"    filter_names={plan.filter_names!r},")
    lines.append("    aggs=[")
    for agg, call, name in zip(plan.aggs, node.aggs, node.agg_names):
        lines.append(with_note(f"        {agg},", f"{name} = {lg.expr_sql(call)}"))
    lines.append("    ],")
    if window is not None:
        emit = (f"Changes(delay_ms={node.emit_delay_ms})" if node.emit == "CHANGES"
                else f"AfterWatermark(delay_ms={node.emit_delay_ms})")
        lines.append(f"    emit={emit},")
    lines.append(f"    names={plan.runtime_names!r},")
    if lg.changelog(e.inputs[0].logical) != "I":
        lines.append("    updating_input=True,  # -U/-D rows take rows back")
    ttl_ms = lg.state_ttl_ms(node.input) if window is None else None
    if ttl_ms is not None:
        lines.append(f"    state_ttl_ms={ttl_ms},  # the streams' 'state.ttl'")
    lines.append(")")
    g.m.state.extend(lines)


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    """Code that hands ``var`` (rows of its input) to the stateful operator ``e``."""
    node = e.logical
    assert isinstance(node, lg.Aggregate)
    lines: list[str] = []
    # over an updating input (a regular outer join) -D/-U rows take rows back
    updating = lg.changelog(e.inputs[0].logical) != "I"
    retract = [f"{indent}    retract={var}.retracted(),"] if updating else []
    for number, (operator, plan) in enumerate(_operators(g, e)):
        emitter = ExprEmitter(e.inputs[0].schema, var)
        keys = ", ".join(emitter.column(k) for k in plan.key_exprs)
        args = ", ".join(emitter.column(a) for a in plan.arg_exprs)
        filters = ", ".join(emitter.mask(f) for f in plan.filter_exprs)
        lines.append(f"{indent}# {e.name} ({g.m.where(e.span)}): "
                     + comment("GROUP BY " + (", ".join(plan.key_names) or "()")))
        if node.window is not None:
            time_name = node.window.input.schema[node.window.time_column].name
            # a row's processing time is never behind the clock that fires the windows
            before = "WM_MIN" if processing_time_window(e) else f"{var}.row_watermarks()"
            # every grouping set sees the same rows late: count them once
            target = "late = " if number == 0 else ""
            lines += [
                f"{indent}{target}self.{operator}.process(",
                f"{indent}    keys=[{keys}],",
                f"{indent}    ts={var}[{time_name!r}].values,",
                f"{indent}    watermark_before={before},",
                f"{indent}    args=[{args}],",
                f"{indent}    filters=[{filters}],",
                *retract,
                f"{indent})",
            ]
            if number == 0:
                lines.append(f"{indent}self.late({g.name_of(e)!r}, {var}.take(late), "
                             "\"its window had already fired\")")
        else:
            lines += [
                f"{indent}self.on_{operator}(",
                f"{indent}    self.{operator}.process(",
                f"{indent}        keys=[{keys}],",
                f"{indent}        args=[{args}],",
                f"{indent}        filters=[{filters}],",
                f"{indent}        num_rows={var}.num_rows,",
                *("    " + line for line in retract),
                f"{indent}    )",
                f"{indent})",
            ]
    return lines


def accumulators(e: Exec) -> list[str]:
    """The accumulator names of an aggregation's aggregates, in their order."""
    return _AggregatePlan(e.logical, e.inputs[0].schema).accumulators()


def pane_window_spec(window: lg.WindowTVF) -> str:
    """The runtime's spec of a TUMBLE, HOP or CUMULATE window."""
    if window.kind == "TUMBLE":
        return f"Tumble(size_ms={window.size_ms}, offset_ms={window.offset_ms})"
    if window.kind == "HOP":
        return (f"Hop(slide_ms={window.slide_ms}, size_ms={window.size_ms}, "
                f"offset_ms={window.offset_ms})")
    assert window.kind == "CUMULATE", window.kind
    return (f"Cumulate(step_ms={window.step_ms}, max_size_ms={window.size_ms}, "
            f"offset_ms={window.offset_ms})")


class _AggregatePlan:
    """How a logical Aggregate maps onto the runtime operator's arguments."""

    FUNCS: ClassVar[dict[str, str]] = {
        "COUNT": "count", "SUM": "sum", "AVG": "avg", "MIN": "min", "MAX": "max",
        "STDDEV": "stddev_samp", "STDDEV_SAMP": "stddev_samp", "STDDEV_POP": "stddev_pop",
        "VARIANCE": "var_samp", "VAR_SAMP": "var_samp", "VAR_POP": "var_pop",
        "FIRST_VALUE": "first_value", "LAST_VALUE": "last_value", "CORR": "corr",
        "PERCENTILE_CONT": "percentile_cont", "PERCENTILE_DISC": "percentile_disc",
        "APPROX_PERCENTILE": "approx_percentile", "LISTAGG": "listagg",
    }
    WINDOW_COLUMNS = ("window_start", "window_end", "window_time")

    def __init__(self, node: lg.Aggregate, input_schema: lg.Schema,
                 grouping_set: tuple[int, ...] | None = None):
        self.node = node
        width = len(input_schema)
        self.key_exprs: list[lg.BoundExpr] = []
        self.key_names: list[str] = []
        for i, (key, key_name) in enumerate(zip(node.keys, node.key_names)):
            if node.window is not None and isinstance(key, lg.ColumnRef) and key.index >= width:
                continue  # window_start, window_end, window_time: the operator's own
            if grouping_set is not None and i not in grouping_set:
                continue
            self.key_exprs.append(key)
            self.key_names.append(key_name)
        self.key_kinds = [k.type.storage for k in self.key_exprs]
        self.arg_exprs: list[lg.BoundExpr] = []
        self.filter_exprs: list[lg.BoundExpr] = []
        self.aggs: list[str] = []
        self.specs: list[Agg] = []
        for call in node.aggs:
            self.aggs.append(self.agg(call))
        self.arg_kinds = [a.type.storage for a in self.arg_exprs]
        self.arg_names = [lg.expr_sql(a) for a in self.arg_exprs]
        self.filter_names = [lg.expr_sql(f) for f in self.filter_exprs]
        window_names = list(self.WINDOW_COLUMNS) if node.window is not None else []
        self.runtime_names = self.key_names + window_names + list(node.agg_names)
        self.reorder = self.runtime_names != [f.name for f in node.schema]

    def _index(self, exprs: list[lg.BoundExpr], expr: lg.BoundExpr) -> int:
        if expr not in exprs:
            exprs.append(expr)
        return exprs.index(expr)

    def agg(self, call: lg.AggCall) -> str:
        """The runtime's ``Agg(...)`` of ``call`` (also kept in ``specs``)."""
        func = self.FUNCS[call.fn]
        fields: dict = {}
        if call.fn == "COUNT" and not call.args:
            func = "count_star"
        else:
            fields["arg"] = self._index(self.arg_exprs, call.args[0])
        if call.fn == "CORR":
            fields["arg2"] = self._index(self.arg_exprs, call.args[1])
        if call.param is not None:
            fields["param"] = call.param
        if call.fn == "LISTAGG" and len(call.args) == 2:
            separator = call.args[1]
            assert isinstance(separator, lg.Const)
            fields["separator"] = separator.value
        if call.filter is not None:
            fields["filter"] = self._index(self.filter_exprs, call.filter)
        if call.distinct and call.fn == "COUNT":  # MIN/MAX(DISTINCT x) = MIN/MAX(x)
            fields["distinct"] = True
        self.specs.append(Agg(func, **fields))
        return f"Agg({', '.join([repr(func)] + [f'{k}={v!r}' for k, v in fields.items()])})"

    def accumulators(self) -> list[str]:
        """The name each aggregate's accumulator is checkpointed under (the
        runtime's own naming, so that the state layout says what restores)."""
        return accumulator_names(self.specs, self.arg_names, self.filter_names)

    def window_spec(self) -> str:
        window = self.node.window
        assert window is not None
        if window.kind != "SESSION":
            return pane_window_spec(window)
        positions = []
        for index in window.partition_by:
            ref = [i for i, k in enumerate(self.key_exprs)
                   if isinstance(k, lg.ColumnRef) and k.index == index]
            positions.append(ref[0])
        return f"Session(gap_ms={window.gap_ms}, partition_by={tuple(positions)!r})"


WINDOW_AGGREGATE = Emitter("window_aggregate", push=push, declare=declare, problems=problems,
                           fires=True)
GROUP_AGGREGATE = Emitter("group_aggregate", push=push, declare=declare, problems=problems)

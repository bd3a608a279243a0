"""Event-time windows: the window table functions of FROM (``TABLE(TUMBLE(TABLE t,
DESCRIPTOR(ts), ...))``, HOP, SESSION, CUMULATE) and the legacy group windows
of GROUP BY (``GROUP BY k, TUMBLE(ts, INTERVAL ...)``); both become a
``WindowTVF`` node. Which aggregation runs per window is decided in
``group_by.py``."""

from __future__ import annotations

from dataclasses import replace

from compiler import ast, functions
from compiler import logical as lg
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.join_conditions import LOST_TIME_HINT, has_regular_join
from compiler.analyze.literals import interval_ms
from compiler.analyze.scope import Bound, Scope, ScopeField, fail
from compiler.errors import Diagnostics, did_you_mean
from compiler.explain import format_ms


def window_tvf(binder: ExpressionBinder, rel: ast.WindowTVF, inner: Bound) -> Bound:
    """A window TVF over ``inner``, the table it names."""
    time_field = _descriptor_column(binder.diag, rel, inner.scope)
    _refuse_window_column_names(binder.diag, rel, inner.scope)
    params = _tvf_params(binder.diag, rel)
    partition = []
    for col in rel.partition_by:
        if rel.kind != "SESSION":
            fail(binder.diag, "BindError", f"{rel.kind} does not take PARTITION BY", col.span)
        found = inner.scope.find(col.name, None)
        if not found:
            binder.column_error(col, inner.scope)
        partition.append(found[0].index)
    tvf = lg.WindowTVF(
        inner.plan,
        rel.kind,
        time_field.index,
        size_ms=params.get("size"),
        slide_ms=params.get("slide"),
        step_ms=params.get("step"),
        gap_ms=params.get("gap"),
        offset_ms=params.get("offset", 0),
        partition_by=tuple(partition),
        span=rel.span,
    )
    qualifier = rel.alias or rel.input.name.split(".")[-1]
    return Bound(tvf, Scope.of(tvf.schema, qualifier), tvf)


def _refuse_window_column_names(diag: Diagnostics, rel: ast.WindowTVF, scope: Scope) -> None:
    """The TVF adds window_start, window_end and window_time: an input column of
    one of those names (a window aggregate's, in cascaded windows) would make
    them ambiguous, so it must be renamed, as Flink's cascading example does."""
    taken = [f.name for f in scope.fields if f.name in ("window_start", "window_end", "window_time")]
    if taken:
        fail(diag, "BindError", f"{rel.input.name} already has a column {taken[0]}, which "
             f"{rel.kind} adds", rel.input.span,
             hint=f"rename it in {rel.input.name} ({taken[0]} AS another_name); for cascaded "
             "windows, e.g. window_time AS rowtime and DESCRIPTOR(rowtime)")


def _descriptor_column(diag: Diagnostics, rel: ast.WindowTVF, scope: Scope) -> ScopeField:
    """The DESCRIPTOR column, which must be a time attribute."""
    fields = scope.find(rel.time_column.name, None)
    if not fields:
        suggestion = did_you_mean(rel.time_column.name, [f.name for f in scope.fields])
        fail(diag, 
            "BindError",
            f"DESCRIPTOR column '{rel.time_column.name}' is not a column of "
            f"{rel.input.name}" + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            rel.time_column.span,
        )
    time_field = fields[0]
    if time_field.type.time_attribute is None:
        hint = None
        if time_field.type.is_timestamp:
            hint = (
                f"declare WATERMARK FOR {time_field.name} AS {time_field.name} - "
                f"INTERVAL '5' SECOND in {rel.input.name}"
            )
        fail(diag, 
            "BindError",
            f"{rel.kind} needs a time attribute, but '{time_field.name}' "
            f"({time_field.type.sql()}) has no watermark",
            rel.time_column.span,
            hint=hint,
        )
    return time_field


def _tvf_params(diag: Diagnostics, rel: ast.WindowTVF) -> dict[str, int]:
    """The TVF's intervals in milliseconds, by name (size, slide, step, gap, offset)."""
    params: dict[str, int] = {}
    for name in ("size", "slide", "step", "gap", "offset"):
        value = getattr(rel, name)
        if value is None:
            continue
        if not isinstance(value, ast.Interval):
            fail(diag, 
                "BindError",
                f"{rel.kind} {name.upper()} must be an interval literal, e.g. "
                "INTERVAL '5' MINUTE",
                value.span,
            )
        ms = interval_ms(value, diag, f"{rel.kind} {name.upper()}")
        if name != "offset" and ms <= 0:
            fail(diag, "BindError", f"{rel.kind} {name.upper()} must be positive",
                       value.span)
        params[name] = ms
    required = {"TUMBLE": ("size",), "HOP": ("slide", "size"), "CUMULATE": ("step", "size"),
                "SESSION": ("gap",)}[rel.kind]
    for name in required:
        if name not in params:
            fail(diag, "BindError", f"{rel.kind} needs its {name.upper()} interval",
                       rel.span)
    if rel.kind == "HOP" and params["slide"] > params["size"]:
        fail(diag, 
            "BindError",
            f"HOP slide ({format_ms(params['slide'])}) must not exceed its size "
            f"({format_ms(params['size'])})",
            rel.slide.span if rel.slide else rel.span,
            hint="HOP takes the slide first, then the size: HOP(TABLE t, DESCRIPTOR(ts), "
            "slide, size)",
        )
    if rel.kind == "HOP" and params["size"] % params["slide"] != 0:
        fail(diag, 
            "BindError",
            f"HOP size ({params['size']} ms) must be an integral multiple of its slide "
            f"({params['slide']} ms)",
            rel.size.span if rel.size else rel.span,
        )
    if rel.kind == "CUMULATE" and params["size"] % params["step"] != 0:
        fail(diag, 
            "BindError",
            f"CUMULATE max size ({params['size']} ms) must be an integral multiple of its "
            f"step ({params['step']} ms)",
            rel.size.span if rel.size else rel.span,
        )
    return params


def legacy_group_window(binder: ExpressionBinder, bound: Bound, group_items: list
                        ) -> tuple[Bound, list]:
    """``GROUP BY k, TUMBLE(ts, INTERVAL ...)``: a window TVF under the aggregate;
    the group window's place in the GROUP BY items is taken by window_start and
    window_end."""
    diag = binder.diag
    windows = [
        g for g in group_items
        if isinstance(g, ast.Call) and g.name in functions.GROUP_WINDOWS
    ]
    if not windows:
        return bound, group_items
    if len(windows) > 1:
        fail(diag, "BindError", "GROUP BY takes at most one group window",
                   windows[1].span)
    call = windows[0]
    expected = functions.GROUP_WINDOWS[call.name]
    if len(call.args) != expected:
        usage = {"TUMBLE": "TUMBLE(time_attr, size)", "HOP": "HOP(time_attr, slide, size)",
                 "SESSION": "SESSION(time_attr, gap)"}[call.name]
        fail(diag, "BindError", f"{call.name} takes {expected} arguments: {usage}",
                   call.span)
    time_arg = call.args[0]
    if isinstance(time_arg, ast.Call) and time_arg.name == "PROCTIME" and not time_arg.args:
        bound, time_arg = _with_proctime(binder, bound, time_arg)
    if not isinstance(time_arg, ast.Column):
        fail(diag, "BindError", f"{call.name} takes a time attribute column first",
                   time_arg.span)
    found = binder.resolve(time_arg, bound.scope)
    if found.type.time_attribute is None:
        fail(diag, 
            "BindError",
            f"{call.name} needs a time attribute, but '{found.name}' has none here",
            time_arg.span,
            hint=LOST_TIME_HINT if has_regular_join(bound.plan) else
            f"declare WATERMARK FOR {found.name} in the stream's DDL",
        )
    values = _group_window_params(diag, call)
    tvf = lg.WindowTVF(
        bound.plan, call.name, found.index,
        size_ms=values.get("size"), slide_ms=values.get("slide"), gap_ms=values.get("gap"),
        partition_by=_session_keys(binder, bound.scope, call, group_items), span=call.span,
    )
    width = len(bound.scope.fields)
    scope = Scope(
        [replace(f, type=f.type.plain()) if f.type.time_attribute == "ROWTIME" else f
         for f in bound.scope.fields]
        + [ScopeField(None, f.name, f.type, width + i)
           for i, f in enumerate(tvf.schema[width:])]
    )
    new_items = []
    for g in group_items:
        if g is call:
            new_items.append(ast.Column("window_start", span=call.span))
            new_items.append(ast.Column("window_end", span=call.span))
        else:
            new_items.append(g)
    return Bound(tvf, scope, tvf), new_items


def _session_keys(binder: ExpressionBinder, scope: Scope, call: ast.Call, group_items: list
                  ) -> tuple[int, ...]:
    """A legacy session window is per group key, as in Flink's group windows: the
    columns of the other GROUP BY items."""
    if call.name != "SESSION":
        return ()
    keys = []
    for g in group_items:
        if g is call or not isinstance(g, ast.Column):
            continue
        keys.append(binder.resolve(g, scope).index)
    return tuple(keys)


def _with_proctime(binder: ExpressionBinder, bound: Bound, time_arg: ast.Call
                   ) -> tuple[Bound, ast.Column]:
    """GROUP BY TUMBLE(PROCTIME(), ...): window on the arrival time of each row,
    computed as a column ``proctime`` after the input's."""
    width = len(bound.scope.fields)
    proc = binder.expr(time_arg, bound.scope, "GROUP BY")
    refs = tuple(lg.ColumnRef(f.index, f.ref_name, f.type) for f in bound.scope.fields)
    projected = lg.Project(bound.plan, refs + (proc,),
                           tuple(f.name for f in bound.scope.fields) + ("proctime",),
                           span=time_arg.span)
    bound = Bound(projected, Scope(bound.scope.fields + [
        ScopeField(None, "proctime", proc.type, width)]), bound.window)
    return bound, ast.Column("proctime", span=time_arg.span)


def _group_window_params(diag: Diagnostics, call: ast.Call) -> dict[str, int]:
    """A group window's intervals in milliseconds, by name (size, slide, gap)."""
    values = {}
    names = {"TUMBLE": ("size",), "HOP": ("slide", "size"), "SESSION": ("gap",)}[call.name]
    for name, arg in zip(names, call.args[1:]):
        if not isinstance(arg, ast.Interval):
            fail(diag, "BindError", f"{call.name} {name.upper()} must be an interval",
                       arg.span)
        values[name] = interval_ms(arg, diag, f"{call.name} {name.upper()}")
        if values[name] <= 0:
            fail(diag, "BindError", f"{call.name} {name.upper()} must be positive",
                       arg.span)
    if call.name == "HOP" and values["slide"] > values["size"]:
        fail(diag, 
            "BindError",
            f"HOP slide ({format_ms(values['slide'])}) must not exceed its size "
            f"({format_ms(values['size'])})",
            call.args[1].span,
            hint="HOP takes the slide first, then the size: HOP(time_attr, slide, size)",
        )
    if call.name == "HOP" and values["size"] % values["slide"]:
        fail(diag, "BindError", "HOP size must be an integral multiple of its slide",
                   call.args[2].span)
    return values

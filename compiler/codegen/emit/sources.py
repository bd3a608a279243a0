"""Sources and Calc: the Source spec of each stream with its computed columns
and its entry method, and the pure function of each fused filter+projection."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import Emitter
from compiler.codegen.expressions import ExprEmitter
from compiler.codegen.text import comment, docstring_safe, field_call, identifier
from compiler.errors import Diagnostic
from compiler.frozen import frozen_dataclass
from compiler.physical import Exec, SinkExec, SourceExec, selects_only

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


@frozen_dataclass
class _Columns:
    """What the queries that read one source need of it."""

    wanted: dict[str, lg.Field]  # the union of the columns they read, in the source's order
    computed: dict[str, tuple[lg.BoundExpr, lg.Schema]]  # computed column -> expr, its schema
    metadata: dict[str, str]  # metadata column -> key
    physical: list[lg.Field]  # what the decoder reads


def _columns(scans: list[lg.Scan]) -> _Columns:
    wanted: dict[str, lg.Field] = {}
    for scan in scans:
        for f in scan.schema:
            wanted.setdefault(f.name, f)
    computed_exprs: dict[str, tuple[lg.BoundExpr, lg.Schema]] = {}
    metadata: dict[str, str] = {}
    physical: list[lg.Field] = []
    for scan in scans:
        computed = dict(scan.computed)
        meta = dict(scan.metadata)
        for i, f in enumerate(scan.schema):
            if i in computed:
                computed_exprs.setdefault(f.name, (computed[i], scan.schema))
            elif i in meta:
                metadata.setdefault(f.name, meta[i])
            elif f.name not in [p.name for p in physical]:
                physical.append(f)
    return _Columns(wanted, computed_exprs, metadata, physical)


def _event_time_inputs(scan: lg.Scan) -> set[str]:
    """The columns the event time is computed from (itself, if it is read)."""
    if scan.watermark is None:
        return set()
    time_index = scan.watermark.column
    time_expr = dict(scan.computed).get(time_index)
    refs = lg.referenced(time_expr) if time_expr is not None else {time_index}
    return {scan.schema[i].name for i in refs}


def _field_lines(physical: list[lg.Field], required: set[str]) -> list[str]:
    # the event time cannot be NULL: records without the columns it is computed
    # from are dead letters at decoding, with their position and raw text
    lines = ["    fields=("]
    for f in physical:
        # (a ROW's field may be NULL where the ROW is: rows whose event time is
        # NULL are dead letters once it is computed)
        if f.name in required and f.type.nullable and not f.path:
            f = lg.Field(f.name, f.type.with_nullable(False))
            lines.append(f"        # {comment(f.name)}: NOT NULL here, the event time needs it")
            lines.append(f"        {field_call(f, 'the event time is computed from it')},")
            continue
        lines.append(f"        {field_call(f)},")
    lines.append("    ),")
    return lines


def _watermark_line(g: Generator, scan: lg.Scan, source_name: str) -> tuple[str, str | None]:
    """The ``watermark=`` argument, and the function of a custom watermark expression."""
    wm = scan.watermark
    assert wm is not None
    column = scan.schema[wm.column].name
    if wm.bound_ms is not None:
        return (f"    watermark=Watermark({column!r}, delay_ms={wm.bound_ms!r}, "
                f"idle_timeout_ms={wm.idle_timeout_ms!r}),"), None
    fn = g.m.unique(f"watermark_{identifier(source_name)}")
    emitter = ExprEmitter(scan.schema)
    assert wm.expr is not None
    function = (
        f"def {fn}(batch: Batch):\n"
        f'    """The watermark expression of {comment(source_name)}."""\n'
        f"    return {emitter.emit(wm.expr)}"
    )
    return (f"    watermark=Watermark({column!r}, expression={fn}, "
            f"idle_timeout_ms={wm.idle_timeout_ms!r}),"), function


def _computed_function(g: Generator, source_name: str, columns: _Columns) -> tuple[str, str]:
    """The name and text of the function that adds the computed columns to a decoded batch."""
    fn = g.m.unique(f"computed_{identifier(source_name)}")
    body = [f"def {fn}(batch: Batch) -> Batch:",
            f'    """Computed columns of {comment(source_name)}."""',
            "    return batch.project(", "        {"]
    for name in columns.wanted:
        if name in columns.computed:
            expr, schema = columns.computed[name]
            body.append(f"            # {comment(name + ' AS ' + lg.expr_sql(expr))}")
            body.append(f"            {name!r}: {ExprEmitter(schema).column(expr)},")
        else:
            body.append(f"            {name!r}: batch[{name!r}],")
    body += ["        }", "    )"]
    return fn, "\n".join(body)


def _entry_method(g: Generator, source_name: str, execs: list[SourceExec],
                  wanted: list[str]) -> str:
    """``on_<source>``: each query reading the source gets its columns, pushed up its plan."""
    ident = identifier(source_name)
    method = [f"    def on_{ident}(self, batch: Batch) -> None:",
              f'        """Rows of {comment(source_name)}."""']
    if len(execs) == 1:
        return "\n".join(method + g.chain(execs[0], "batch", "        "))
    for number, e in enumerate(execs, start=1):
        # several queries read this source: each gets its own rows variable
        names = [f.name for f in e.logical.schema]
        var = f"{ident}_{number}"
        if names != wanted:
            method.append(f"        {var} = batch.project("
                          f"{{name: batch[name] for name in {tuple(names)!r}}})")
        else:
            method.append(f"        {var} = batch")
        method += g.chain(e, var, "        ")
    return "\n".join(method)


def source(g: Generator, source_name: str, execs: list[SourceExec]) -> None:
    """The Source spec, after the functions it names (a custom watermark, the
    computed columns), and the method its batches enter by."""
    m = g.m
    m.names.add(identifier(source_name))  # on_<source> and on_<operator> share one namespace
    scans = [e.logical for e in execs]
    first = scans[0]
    columns = _columns(scans)
    const = m.unique(identifier(source_name).upper())
    functions: list[str] = []
    lines = [f"{const} = Source(", f"    name={source_name!r},"]
    # (a changelog's deletes may lack the event time: the driver keeps them, and
    # dead-letters an upsert without it)
    lines += _field_lines(columns.physical,
                          set() if first.changelog_key else _event_time_inputs(first))
    if columns.metadata:
        lines.append("    metadata={")
        for name, key in columns.metadata.items():
            lines.append(f"        {name!r}: {key!r},")
        lines.append("    },")
    lines.append("    properties={")
    for key, value in first.properties:
        lines.append(f"        {key!r}: {value!r},")
    lines.append("    },")
    if first.watermark is not None:
        line, function = _watermark_line(g, first, source_name)
        lines.append(line)
        functions += [function] if function is not None else []
    if columns.computed:
        fn, function = _computed_function(g, source_name, columns)
        lines.append(f"    computed={fn},")
        functions.append(function)
    if first.rows is not None:
        lines += _rows_lines(first)
    if first.changelog_key:
        lines.append("    # read as a stream of changes by its primary key (a tombstone: a -D)")
        lines.append(f"    changelog_key={first.changelog_key!r},")
        if first.op_field is not None:
            lines.append(f"    op_field={first.op_field!r},  # each change's kind: +I, +U, -U, -D")
    lines.append(")")
    heading = f"# SourceExec: {comment(source_name)} ({m.where(first.span)})"
    m.sources.append(heading + "\n" + "\n\n\n".join([*functions, "\n".join(lines)]))
    m.source_names.append(const)
    m.entries.append(f"{source_name!r}: self.on_{identifier(source_name)}")
    m.methods.append(_entry_method(g, source_name, execs, list(columns.wanted)))


def _rows_lines(scan: lg.Scan) -> list[str]:
    """The ``rows=`` of a VALUES table: its constants in storage form (repr)."""
    assert scan.rows is not None
    lines = ["    # the VALUES rows (timestamps as epoch ms, dates as days since 1970-01-01)",
             "    rows=("]
    for row in scan.rows:
        cells = [repr(c.value) for c in row if isinstance(c, lg.Const)]
        lines.append(f"        ({', '.join(cells)}{',' if len(cells) == 1 else ''}),")
    lines.append("    ),")
    return lines


def _values_problems(e: Exec) -> list[Diagnostic]:
    """A VALUES cell that is no constant once folded (or not a finite one)."""
    rows = e.logical.rows if isinstance(e.logical, lg.Scan) else None
    problems = []
    for row in rows or ():
        for cell in row:
            value = cell.value if isinstance(cell, lg.Const) else None
            if not isinstance(cell, lg.Const) or (
                    isinstance(value, float) and not math.isfinite(value)):
                problems.append(Diagnostic(
                    "UnsupportedError", "a VALUES row holds constants only (literals, and "
                    f"functions of literals sqlc folds at compile time): {lg.expr_sql(cell)} "
                    "is not one", cell.span))
    return problems


def _calc_function(name: str, node: lg.LogicalNode, doc: str) -> str:
    """A pure function for a CalcExec: filter the batch, then project it."""
    input_schema = node.inputs()[0].schema
    emitter = ExprEmitter(input_schema)
    if isinstance(node, lg.Calc):
        condition, exprs, names = node.condition, node.exprs, node.names
    elif isinstance(node, lg.Filter):
        condition = node.predicate
        exprs = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(input_schema))
        names = tuple(f.name for f in input_schema)
    else:
        assert isinstance(node, lg.Project)
        condition, exprs, names = None, node.exprs, node.names
    lines = [f"def {name}(batch: Batch) -> Batch:", f'    """{docstring_safe(doc)}"""']
    if condition is not None:
        lines.append(f"    batch = batch.take({emitter.mask(condition)})")
    identity = [isinstance(e, lg.ColumnRef) and e.index == i and n == input_schema[i].name
                for i, (e, n) in enumerate(zip(exprs, names))]
    if all(identity) and len(exprs) == len(input_schema):
        lines.append("    return batch")
    else:
        lines.append("    return batch.project(")
        lines.append("        {")
        for expr, out in zip(exprs, names):
            lines.append(f"            {out!r}: {emitter.column(expr)},")
        lines.append("        }")
        lines.append("    )")
    return "\n".join(lines)


def _calc_doc(e: Exec) -> str:
    node = e.logical
    parts = []
    condition = node.condition if isinstance(node, lg.Calc) else (
        node.predicate if isinstance(node, lg.Filter) else None)
    if condition is not None:
        parts.append("WHERE " + lg.expr_sql(condition))
    if not isinstance(node, lg.Filter):
        parts.append("SELECT " + ", ".join(node.names))  # type: ignore[union-attr]
    return "; ".join(parts)


def push_calc(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    """The call of the Calc's function on ``var``, written once as a function; a
    Calc that only selects columns by name is one line, no function."""
    m = g.m
    doc = _calc_doc(e)
    if selects_only(e.logical):
        names = tuple(e.logical.names)
        return [f"{indent}# {e.name} ({m.where(e.span)}): {comment(doc)}",
                f"{indent}{var} = {var}.project({{name: {var}[name] for name in {names!r}}})"]
    name = g.name_of(e)
    if name not in g.emitted:  # several producers may feed one Calc
        g.emitted.add(name)
        m.functions.append(_calc_function(name, e.logical, doc))
        m.span_entry(name, e.span)
    return [f"{indent}# {e.name} ({m.where(e.span)}): {comment(doc)}",
            f"{indent}{var} = {name}({var})"]


def _calc_name(g: Generator, e: Exec) -> str:
    """A Calc is named after what it feeds or follows: ``select_output`` (the
    sink's columns), ``calc_llm_requests`` (right after the source),
    ``calc_window_aggregate`` (after that operator)."""
    parent = g.parent.get(id(e))
    if isinstance(parent, SinkExec):
        return f"select_{identifier(parent.logical.target or 'output')}"
    child = e.inputs[0]
    if isinstance(child, SourceExec):
        return f"calc_{identifier(child.logical.source)}"
    return f"calc_{g.name_of(child)}"


SOURCE = Emitter("source", problems=_values_problems)
CALC = Emitter("calc", push=push_calc, inline=True, naming=_calc_name)

"""Codegen: physical plans -> one black-formatted Python module.

Python decides every name, expression and comment; ``templates/module.py.j2``
only lays them out. Identifiers and literals from the SQL reach the module
only through ``repr()`` (string keys, literal values) or through
``_identifier`` (operator and source names, reduced to ``[a-z0-9_]``), and
comments are flattened to one line, so no SQL text can become code.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import black
import jinja2

from compiler import __version__
from compiler import logical as lg
from compiler.errors import Diagnostic, Source, Span, UnsupportedError
from compiler.functions import OPERATORS, SCALARS
from compiler.physical import Exec, explain_physical, walk
from runtime_lib.operators.aggregates import RETRACTABLE
from runtime_lib.pipeline import identifier

# Every runtime symbol the generated code names, in one place (a test checks
# that each exists in runtime_lib).
RUNTIME_IMPORTS = {
    "runtime_lib.columns": ("Batch", "null_column"),
    "runtime_lib.pipeline": ("Context", "Field", "Output", "Pipeline", "Source", "Watermark",
                             "main"),
    "runtime_lib.operators.aggregates": ("Agg",),
    "runtime_lib.operators.joins": ("IntervalJoin", "Join"),
    "runtime_lib.operators.lookup_join": ("LookupJoin",),
    "runtime_lib.io.tables": ("open_lookup_table",),
    "runtime_lib.operators.temporal_sort": ("TemporalSort",),
    "runtime_lib.watermarks": ("WM_MIN",),
    "runtime_lib.operators.group_aggregate": ("GroupAggregate",),
    "runtime_lib.operators.windows": ("AfterWatermark", "Changes", "Cumulate", "Hop", "Session",
                                      "Tumble", "WindowAggregate"),
}
SCALAR_MODULE = "runtime_lib.functions"  # imported as `sql`

RUNNABLE = {"SourceExec", "CalcExec", "SinkExec", "WindowAggregateExec", "GroupAggregateExec",
            "IntervalJoinExec", "TemporalSortExec", "LookupJoinExec", "JoinExec"}
NOT_YET = {
    "LookupJoinExec": "lookup joins",
    "IntervalJoinExec": "interval joins",
    "JoinExec": "regular joins",
    "OverAggregateExec": "OVER windows",
    "RankExec": "Top-N",
    "WindowRankExec": "window Top-N",
    "MatchExec": "MATCH_RECOGNIZE",
    "UnionExec": "UNION",
    "TemporalSortExec": "ORDER BY on a stream",
    "LimitExec": "LIMIT on a stream",
    "WindowTableFunctionExec": "window TVFs outside an aggregation",
}


def _identifier(name: str) -> str:
    """A Python identifier for an SQL name (the runtime's rule, shared)."""
    return identifier(name)


def _printable(text: str, keep: str = "") -> str:
    """Control characters (NUL, CR, ...) written as escapes: a module may not
    contain them raw, and a CR would end a comment line."""
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


def _comment(text: str, limit: int = 90) -> str:
    """One line of text for a comment or a one-line docstring: whitespace
    (newlines too) flattened, control characters escaped."""
    flat = _printable(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _docstring_safe(text: str) -> str:
    """Text that can sit inside a triple-quoted string and not end it."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    text = _printable(text, keep="\n\t")
    return text[:-1] + '\\"' if text.endswith('"') else text


def _literal(value: object) -> str:
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"cannot emit literal {value!r}")


class ExprEmitter:
    """Python source for a bound expression over the columns of ``schema``."""

    def __init__(self, schema: lg.Schema, batch: str = "batch"):
        self.schema = schema
        self.batch = batch

    def emit(self, expr: lg.BoundExpr) -> str:
        if isinstance(expr, lg.ColumnRef):
            return f"{self.batch}[{self.schema[expr.index].name!r}]"
        if isinstance(expr, lg.Const):
            return _literal(expr.value)
        args = [self.emit(a) for a in expr.args]
        fn = expr.fn
        if fn in ("CAST", "TRY_CAST"):
            # TIMESTAMP, DATE and TIME are all int64 underneath: say which one it is
            source = expr.args[0].type
            from_type = "" if source.is_null else f", {source.sql()!r}"
            return f"sql.{OPERATORS[fn]}({args[0]}, {expr.type.sql()!r}{from_type})"
        if fn in ("EXTRACT", "DATE_FORMAT"):
            temporal = expr.args[1] if fn == "EXTRACT" else expr.args[0]
            name = OPERATORS.get(fn) or SCALARS[fn].runtime
            return f"sql.{name}({', '.join(args)}, {temporal.type.sql()!r})"
        if fn == "CASE":
            conditions = ", ".join(args[0:-1:2])
            values = ", ".join(args[1:-1:2])
            return f"sql.case_when([{conditions}], [{values}], {args[-1]})"
        if fn in ("IN", "NOT IN"):
            return f"sql.{OPERATORS[fn]}({args[0]}, [{', '.join(args[1:])}])"
        if fn in ("NOW", "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "PROCTIME", "CURRENT_DATE"):
            return f"sql.{SCALARS[fn].runtime}({self.batch}.num_rows)"
        if fn in OPERATORS:
            return f"sql.{OPERATORS[fn]}({', '.join(args)})"
        if fn in SCALARS:
            return f"sql.{SCALARS[fn].runtime}({', '.join(args)})"
        raise TypeError(f"no runtime function for {fn}")

    def column(self, expr: lg.BoundExpr) -> str:
        """Like ``emit``, but always a column of the batch's length: a constant
        (SELECT 'x' AS a, SUM(1)) becomes a constant column."""
        if isinstance(expr, lg.Const):
            return (f"sql.literal({_literal(expr.value)}, {self.batch}.num_rows, "
                    f"{expr.type.sql()!r})")
        return self.emit(expr)

    def mask(self, expr: lg.BoundExpr) -> str:
        """The rows a condition keeps, as a boolean array."""
        if isinstance(expr, lg.Const):
            return f"sql.filter_mask({_literal(expr.value)}, {self.batch}.num_rows)"
        return f"sql.filter_mask({self.emit(expr)})"


@dataclass
class _Module:
    source: Source
    imports: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)
    source_names: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def unique(self, base: str) -> str:
        name, n = base, 2
        while name in self.names:
            name, n = f"{base}_{n}", n + 1
        self.names.add(name)
        return name

    def where(self, span: Span) -> str:
        line, col = self.source.line_col(span.start)
        return _comment(f"{self.source.path.rsplit('/', 1)[-1]}:{line}:{col}")

    def span_entry(self, name: str, span: Span) -> None:
        self.spans[name] = self.source.line_col(span.start)


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


def _field_call(f: lg.Field, note: str = "") -> str:
    extra = f", {note!r}" if note else ""
    return f"Field({f.name!r}, {f.type.sql()!r}, {f.type.nullable!r}{extra})"


def _calc_function(m: _Module, name: str, node: lg.LogicalNode, doc: str) -> str:
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
    lines = [f"def {name}(batch: Batch) -> Batch:", f'    """{_docstring_safe(doc)}"""']
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


class _Generator:
    def __init__(self, source: Source, roots: list[Exec]):
        self.m = _Module(source)
        self.roots = roots
        self.parent: dict[int, Exec] = {}
        for root in roots:
            for e in walk(root):
                for child in e.inputs:
                    self.parent[id(child)] = e
        self.op_names: dict[int, str] = {}
        self.sink_index: dict[int, int] = {}
        self.stateful: list[tuple[Exec, str]] = []
        self.emitted: set[str] = set()

    def refuse_unsupported(self) -> None:
        problems = []
        for root in self.roots:
            for e in walk(root):
                if e.name not in RUNNABLE:
                    what = NOT_YET.get(e.name, e.name)
                    problems.append(Diagnostic(
                        "UnsupportedError",
                        f"{what} ({e.name}) compile and EXPLAIN but do not run yet",
                        e.span,
                    ))
                node = e.logical
                if isinstance(node, lg.Aggregate):
                    for call in node.aggs:
                        if call.distinct and call.fn not in ("COUNT", "MIN", "MAX"):
                            problems.append(Diagnostic(
                                "UnsupportedError",
                                f"{call.fn}(DISTINCT ...) does not run yet; COUNT(DISTINCT) "
                                "does", call.span))
                nested = e.name in ("WindowAggregateExec", "GroupAggregateExec") and any(
                    x.name in ("WindowAggregateExec", "GroupAggregateExec")
                    for child in e.inputs for x in walk(child))
                if nested:
                    problems.append(Diagnostic(
                        "UnsupportedError", "an aggregation over another aggregation does not "
                        "run yet", e.span))
                updating = any(lg.changelog(child.logical) != "I" for child in e.inputs)
                if e.name in ("TemporalSortExec", "IntervalJoinExec") and updating:
                    problems.append(Diagnostic(
                        "UnsupportedError", f"{e.name} over an updating input (a regular outer "
                        "join or an aggregation) does not run yet", e.span))
                if e.name in ("GroupAggregateExec", "WindowAggregateExec") and updating \
                        and not nested:
                    problems += _retraction_problems(e)
                if e.name in ("IntervalJoinExec", "JoinExec"):
                    assert isinstance(node, lg.Join)
                    if not node.equi_keys:
                        problems.append(Diagnostic(
                            "UnsupportedError", "an interval join needs an equality between the "
                            "two sides (ON a.k = b.k)", e.span))
                    for li, ri in node.equi_keys:
                        if node.left.schema[li].type.storage != node.right.schema[ri].type.storage:
                            problems.append(Diagnostic(
                                "UnsupportedError", "join keys of different types "
                                f"({node.left.schema[li].type.sql()} and "
                                f"{node.right.schema[ri].type.sql()}) do not run yet; CAST one "
                                "side", e.span))
                if e.name == "LookupJoinExec":
                    assert isinstance(node, lg.Join)
                    table = e.inputs[1].logical
                    if not isinstance(table, lg.Scan) or table.computed or table.metadata:
                        problems.append(Diagnostic(
                            "UnsupportedError", "a lookup table with computed or metadata "
                            "columns does not run yet", e.span))
                if e.name == "TemporalSortExec":
                    assert isinstance(node, lg.Sort)
                    if len(node.keys) > 1:
                        problems.append(Diagnostic(
                            "UnsupportedError", "ORDER BY a time attribute and more columns "
                            "does not run yet", e.span))
                if e.name in ("WindowAggregateExec", "IntervalJoinExec", "TemporalSortExec") and any(
                        x.name in ("WindowAggregateExec", "GroupAggregateExec")
                        for child in e.inputs for x in walk(child)):
                    problems.append(Diagnostic(
                        "UnsupportedError", f"{e.name} over an aggregation does not run yet",
                        e.span))
                if e.name == "WindowAggregateExec":
                    assert isinstance(node, lg.Aggregate)
                    assert node.window is not None
                    time_type = node.window.input.schema[node.window.time_column].type
                    if time_type.time_attribute == "PROCTIME":
                        problems.append(Diagnostic(
                            "UnsupportedError", "processing-time windows do not run yet",
                            e.span))

                    if node.window is not None and node.input is not node.window:
                        problems.append(Diagnostic(
                            "UnsupportedError",
                            "a filter on window columns between the window TVF and its "
                            "aggregation does not run yet",
                            e.span,
                        ))
        if problems:
            raise UnsupportedError(problems, self.m.source)

    # -- naming -----------------------------------------------------------------

    def name_of(self, e: Exec) -> str:
        key = id(e)
        if key not in self.op_names:
            base = {
                "CalcExec": "calc",
                "WindowAggregateExec": "window_aggregate",
                "GroupAggregateExec": "group_aggregate",
                "IntervalJoinExec": "interval_join",
                "LookupJoinExec": "lookup_join",
                "JoinExec": "join",
                "TemporalSortExec": "temporal_sort",
                "SinkExec": "sink",
            }.get(e.name, _identifier(e.name))
            self.op_names[key] = self.m.unique(base)
        return self.op_names[key]

    # -- the module -------------------------------------------------------------------

    def generate(self) -> dict:
        self.refuse_unsupported()
        m = self.m
        scans: dict[str, list[Exec]] = {}
        tables = {id(e.inputs[1]) for root in self.roots for e in walk(root)
                  if e.name == "LookupJoinExec"}
        for root in self.roots:
            for e in walk(root):
                if e.name == "SourceExec" and id(e) not in tables:
                    assert isinstance(e.logical, lg.Scan)
                    scans.setdefault(e.logical.source, []).append(e)
                if e.name == "SinkExec":
                    self.sink_index[id(e)] = len(self.sink_index)
                    node = e.logical
                    assert isinstance(node, lg.Sink)
                    fields = ", ".join(_field_call(f) for f in node.schema)
                    extra = ""
                    key = _upsert_key(node)
                    if key:
                        extra += f", key={key!r}"
                    if node.properties:
                        extra += f", properties={dict(node.properties)!r}"
                    m.outputs.append(f"Output({node.target!r}, ({fields},){extra})")
        for source_name, execs in scans.items():
            self.source(source_name, execs)
        # stateful operators: state in __init__, their output in a method each
        for root in self.roots:
            for e in walk(root):
                if e.name in ("WindowAggregateExec", "GroupAggregateExec"):
                    self.aggregate(e)
                if e.name == "IntervalJoinExec":
                    self.interval_join(e)
                if e.name == "TemporalSortExec":
                    self.temporal_sort(e)
                if e.name == "LookupJoinExec":
                    self.lookup_join(e)
                if e.name == "JoinExec":
                    self.interval_join(e)  # a regular join: the same shape without time
        self.advance_method()
        return {}

    def source(self, source_name: str, execs: list[Exec]) -> None:
        """The Source spec, its computed columns, and the method its batches enter by."""
        m = self.m
        scans = [e.logical for e in execs]
        assert all(isinstance(s, lg.Scan) for s in scans)
        first: lg.Scan = scans[0]  # type: ignore[assignment]
        # the union of the columns the queries read, in the source's order
        wanted: dict[str, lg.Field] = {}
        for scan in scans:
            for f in scan.schema:  # type: ignore[union-attr]
                wanted.setdefault(f.name, f)
        computed_exprs: dict[str, tuple[lg.BoundExpr, lg.Schema]] = {}
        metadata: dict[str, str] = {}
        physical: list[lg.Field] = []
        for scan in scans:
            computed = dict(scan.computed)  # type: ignore[union-attr]
            meta = dict(scan.metadata)  # type: ignore[union-attr]
            for i, f in enumerate(scan.schema):  # type: ignore[union-attr]
                if i in computed:
                    computed_exprs.setdefault(f.name, (computed[i], scan.schema))  # type: ignore
                elif i in meta:
                    metadata.setdefault(f.name, meta[i])
                elif f.name not in [p.name for p in physical]:
                    physical.append(f)
        const = m.unique(_identifier(source_name).upper())
        ident = _identifier(source_name)
        lines = [f"# SourceExec: {_comment(source_name)} ({m.where(first.span)})"]
        lines.append(f"{const} = Source(")
        lines.append(f"    name={source_name!r},")
        # the event time cannot be NULL: records without the columns it is computed
        # from are dead letters at decoding, with their position and raw text
        required: set[str] = set()
        if first.watermark is not None:
            time_index = first.watermark.column
            time_expr = dict(first.computed).get(time_index)
            refs = lg.referenced(time_expr) if time_expr is not None else {time_index}
            required = {first.schema[i].name for i in refs}
        lines.append("    fields=(")
        for f in physical:
            if f.name in required and f.type.nullable:
                f = lg.Field(f.name, f.type.with_nullable(False))
                lines.append(f"        # {_comment(f.name)}: NOT NULL here, the event time needs it")
                lines.append(f"        {_field_call(f, 'the event time is computed from it')},")
                continue
            lines.append(f"        {_field_call(f)},")
        lines.append("    ),")
        if metadata:
            lines.append("    metadata={")
            for name, key in metadata.items():
                lines.append(f"        {name!r}: {key!r},")
            lines.append("    },")
        lines.append("    properties={")
        for key, value in first.properties:
            lines.append(f"        {key!r}: {value!r},")
        lines.append("    },")
        wm = first.watermark
        if wm is not None:
            column = first.schema[wm.column].name
            if wm.bound_ms is not None:
                lines.append(f"    watermark=Watermark({column!r}, delay_ms={wm.bound_ms!r}, "
                             f"idle_timeout_ms={wm.idle_timeout_ms!r}),")
            else:
                fn = m.unique(f"watermark_{ident}")
                emitter = ExprEmitter(first.schema)
                assert wm.expr is not None
                m.functions.append(
                    f"def {fn}(batch: Batch):\n"
                    f'    """The watermark expression of {_comment(source_name)}."""\n'
                    f"    return {emitter.emit(wm.expr)}"
                )
                lines.append(f"    watermark=Watermark({column!r}, expression={fn}, "
                             f"idle_timeout_ms={wm.idle_timeout_ms!r}),")
        if computed_exprs:
            fn = m.unique(f"computed_{ident}")
            lines.append(f"    computed={fn},")
            body = [f"def {fn}(batch: Batch) -> Batch:",
                    f'    """Computed columns of {_comment(source_name)}."""',
                    "    return batch.project(", "        {"]
            for name, f in wanted.items():
                if name in computed_exprs:
                    expr, schema = computed_exprs[name]
                    body.append(f"            # {_comment(name + ' AS ' + lg.expr_sql(expr))}")
                    body.append(f"            {name!r}: {ExprEmitter(schema).column(expr)},")
                else:
                    body.append(f"            {name!r}: batch[{name!r}],")
            body += ["        }", "    )"]
            m.functions.append("\n".join(body))
        lines.append(")")
        m.sources.append("\n".join(lines))
        m.source_names.append(const)
        # the entry method: each query reading this source gets its columns
        method = [f"    def on_{ident}(self, batch: Batch) -> None:",
                  f'        """Rows of {_comment(source_name)}."""']
        for number, e in enumerate(execs, start=1):
            scan = e.logical
            assert isinstance(scan, lg.Scan)
            names = [f.name for f in scan.schema]
            if len(execs) == 1:
                method += self.chain(e, "batch", "        ")
                continue
            # several queries read this source: each gets its own rows variable
            var = f"{ident}_{number}"
            if names != list(wanted):
                method.append(f"        {var} = batch.project("
                              f"{{name: batch[name] for name in {tuple(names)!r}}})")
            else:
                method.append(f"        {var} = batch")
            method += self.chain(e, var, "        ")
        m.methods.append("\n".join(method))

    def chain(self, start: Exec, var: str, indent: str) -> list[str]:
        """Code that pushes ``var`` (the output of ``start``) up to the next stateful
        operator or sink."""
        m = self.m
        lines: list[str] = []
        current = start
        while True:
            parent = self.parent.get(id(current))
            if parent is None:
                return lines
            if parent.name == "CalcExec":
                name = self.name_of(parent)
                doc = self.calc_doc(parent)
                if name not in self.emitted:  # several producers may feed one Calc
                    self.emitted.add(name)
                    m.functions.append(_calc_function(m, name, parent.logical, doc))
                    m.span_entry(name, parent.span)
                lines.append(f"{indent}# CalcExec ({m.where(parent.span)}): {_comment(doc)}")
                lines.append(f"{indent}{var} = {name}({var})")
                current = parent
                continue
            if parent.name == "SinkExec":
                index = self.sink_index[id(parent)]
                target = parent.logical.target  # type: ignore[union-attr]
                lines.append(f"{indent}# SinkExec: {_comment(target or 'the output')}")
                lines.append(f"{indent}self.write({index}, {var})")
                return lines
            # a stateful operator: hand the rows over
            if parent.name in ("IntervalJoinExec", "JoinExec"):
                side = 0 if parent.inputs[0] is current else 1
                return lines + self.push_into_join(parent, side, var, indent)
            if parent.name == "LookupJoinExec":
                name = self.name_of(parent)
                node = parent.logical
                assert isinstance(node, lg.Join)
                emitter = ExprEmitter(current.schema, var)
                keys = ", ".join(emitter.column(k) for k in _lookup_keys(node, current.schema))
                return lines + [
                    f"{indent}# {parent.name} ({self.m.where(parent.span)}): {node.kind} JOIN "
                    f"{_comment(parent.inputs[1].logical.source)}",  # type: ignore[union-attr]
                    f"{indent}self.on_{name}(self.{name}.process([{keys}], {var}))",
                ]
            if parent.name == "TemporalSortExec":
                name = self.name_of(parent)
                return lines + [
                    f"{indent}# {parent.name} ({self.m.where(parent.span)}): "
                    "held until the watermark passes each row",
                    f"{indent}late = self.{name}.process({var})",
                    f"{indent}self.late({name!r}, {var}.take(late), "
                    "\"it came after the watermark had passed it\")",
                ]
            return lines + self.push_into(parent, var, indent)

    def calc_doc(self, e: Exec) -> str:
        node = e.logical
        parts = []
        condition = node.condition if isinstance(node, lg.Calc) else (
            node.predicate if isinstance(node, lg.Filter) else None)
        if condition is not None:
            parts.append("WHERE " + lg.expr_sql(condition))
        if not isinstance(node, lg.Filter):
            parts.append("SELECT " + ", ".join(node.names))  # type: ignore[union-attr]
        return "; ".join(parts)

    def aggregate(self, e: Exec) -> None:
        """State in ``__init__``, and ``on_<name>`` for the rows the operator emits.
        GROUPING SETS become one runtime operator per set, whose rows get NULL for
        the keys the set rolls up."""
        m = self.m
        node = e.logical
        assert isinstance(node, lg.Aggregate)
        name = self.name_of(e)
        m.span_entry(name, e.span)
        for operator, plan in self.operators(e):
            self.operator_state(e, operator, plan)
            method = [f"    def on_{operator}(self, batch: Batch) -> None:",
                      f'        """Rows emitted by {e.name} {operator}."""']
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
            method += self.chain(e, "batch", "        ")
            m.methods.append("\n".join(method))
            self.stateful.append((e, operator))

    def operators(self, e: Exec) -> list[tuple[str, _AggregatePlan]]:
        """(attribute name, plan) of each runtime operator an Aggregate needs."""
        node = e.logical
        assert isinstance(node, lg.Aggregate)
        name = self.name_of(e)
        if node.grouping_sets is None:
            return [(name, _AggregatePlan(node, e.inputs[0].schema))]
        return [(f"{name}_{i + 1}", _AggregatePlan(node, e.inputs[0].schema, keys))
                for i, keys in enumerate(node.grouping_sets)]

    def operator_state(self, e: Exec, operator: str, plan: _AggregatePlan) -> None:
        node = e.logical
        assert isinstance(node, lg.Aggregate)
        window = node.window
        keys = ", ".join(plan.key_names) or "()"
        lines = [f"# {e.name} ({self.m.where(e.span)}) GROUP BY {_comment(keys)}: "
                 f"{_comment(e.state)}"]
        if window is not None:
            lines.append(f"self.{operator} = WindowAggregate(")
            lines.append(f"    window={plan.window_spec()},")
        else:
            lines.append(f"self.{operator} = GroupAggregate(")
        lines.append(f"    key_kinds={plan.key_kinds!r},")
        lines.append(f"    arg_kinds={plan.arg_kinds!r},")
        lines.append("    aggs=[")
        for agg in plan.aggs:
            lines.append(f"        {agg},")
        lines.append("    ],")
        if window is not None:
            emit = (f"Changes(delay_ms={node.emit_delay_ms})" if node.emit == "CHANGES"
                    else f"AfterWatermark(delay_ms={node.emit_delay_ms})")
            lines.append(f"    emit={emit},")
        lines.append(f"    names={plan.runtime_names!r},")
        lines.append(")")
        self.m.state.extend(lines)

    def push_into(self, e: Exec, var: str, indent: str) -> list[str]:
        """Code that hands ``var`` (rows of its input) to the stateful operator ``e``."""
        node = e.logical
        assert isinstance(node, lg.Aggregate)
        lines: list[str] = []
        # over an updating input (a regular outer join) -D/-U rows take rows back
        updating = lg.changelog(e.inputs[0].logical) != "I"
        retract = [f"{indent}    retract={var}.retracted(),"] if updating else []
        for number, (operator, plan) in enumerate(self.operators(e)):
            emitter = ExprEmitter(e.inputs[0].schema, var)
            keys = ", ".join(emitter.column(k) for k in plan.key_exprs)
            args = ", ".join(emitter.column(a) for a in plan.arg_exprs)
            filters = ", ".join(emitter.mask(f) for f in plan.filter_exprs)
            lines.append(f"{indent}# {e.name} ({self.m.where(e.span)}): "
                         + _comment("GROUP BY " + (", ".join(plan.key_names) or "()")))
            if node.window is not None:
                time_name = node.window.input.schema[node.window.time_column].name
                # every grouping set sees the same rows late: count them once
                target = "late = " if number == 0 else ""
                lines += [
                    f"{indent}{target}self.{operator}.process(",
                    f"{indent}    keys=[{keys}],",
                    f"{indent}    ts={var}[{time_name!r}].values,",
                    f"{indent}    watermark_before={var}.row_watermarks(),",
                    f"{indent}    args=[{args}],",
                    f"{indent}    filters=[{filters}],",
                    *retract,
                    f"{indent})",
                ]
                if number == 0:
                    lines.append(f"{indent}self.late({self.name_of(e)!r}, {var}.take(late), "
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

    def watermark_of(self, e: Exec, latest: bool = False) -> str:
        """The expression of the watermark that reaches operator ``e``'s output:
        from ``advance``'s argument, or (``latest``) from the latest watermarks
        the pipeline saw, while a batch is processed."""
        if e.name == "SourceExec":
            source = e.logical.source  # type: ignore[union-attr]
            return f"self.watermarks.get({source!r}, WM_MIN)" if latest else f"watermarks[{source!r}]"
        if e.name == "LookupJoinExec":
            # a lookup table has no watermark: the stream side's passes through
            return self.watermark_of(e.inputs[0], latest)
        if e.name == "IntervalJoinExec":
            inner = (f"min({self.watermark_of(e.inputs[0], latest)}, "
                     f"{self.watermark_of(e.inputs[1], latest)})")
            # an interval join holds its output back: the downstream watermark lags
            return f"self.{self.name_of(e)}.output_watermark({inner})"
        parts = sorted({self.watermark_of(child, latest) for child in e.inputs})
        return parts[0] if len(parts) == 1 else f"min({', '.join(parts)})"

    def advance_method(self) -> None:
        """``advance``: fire what the new watermarks allow, lowest operators first."""
        timed = [(e, name) for e, name in self.stateful
                 if e.name in ("WindowAggregateExec", "IntervalJoinExec", "TemporalSortExec")]
        if not timed:
            return
        order = {id(e): i for root in self.roots for i, e in enumerate(_post_order(root))}
        timed.sort(key=lambda pair: order[id(pair[0])])
        lines = ["    def advance(self, watermarks: dict[str, int]) -> None:",
                 '        """Fire the windows and join bounds the watermarks have passed."""']
        if any(e.name == "IntervalJoinExec" for e, _ in timed):
            lines.append("        self.watermarks = watermarks")
        for e, name in timed:
            watermark = " ".join(self.watermark_of(e.inputs[0]).split()) if e.name != \
                "IntervalJoinExec" else f"min({self.watermark_of(e.inputs[0])}, " \
                f"{self.watermark_of(e.inputs[1])})"
            lines.append(f"        self.on_{name}(self.{name}.advance({watermark}))")
        self.m.methods.append("\n".join(lines))

    # -- lookup joins -----------------------------------------------------------------

    def lookup_join(self, e: Exec) -> None:
        m = self.m
        node = e.logical
        assert isinstance(node, lg.Join)
        name = self.name_of(e)
        m.span_entry(name, e.span)
        table = e.inputs[1].logical
        assert isinstance(table, lg.Scan)
        width = len(node.left.schema)
        table_attr = m.unique(_identifier(table.source))
        m.tables.append(repr(table.source))
        fields = ", ".join(_field_call(f) for f in table.schema)
        key = tuple(table.schema[ri].name for ri in _lookup_key_order(node))
        residual = _residual(node)
        residual_fn = None
        if residual is not None:
            residual_fn = m.unique(f"residual_{name}")
            m.functions.append(
                f"def {residual_fn}(batch: Batch):\n"
                f'    """The rest of the ON condition: '
                f'{_docstring_safe(_comment(lg.expr_sql(residual)))}"""\n'
                f"    return {ExprEmitter(node.schema).mask(residual)}"
            )
        key_kinds = [node.left.schema[li].type.storage for li, _ in
                     sorted(node.equi_keys, key=lambda p: _lookup_key_order(node).index(p[1]))]
        lines = [
            f"# {e.name} ({m.where(e.span)}): the table {_comment(table.source)}, "
            f"{_comment(e.state)}",
            f"self.{table_attr} = open_lookup_table(",
            f"    {table.source!r},",
            f"    fields=({fields},),",
            f"    key={key!r},",
            f"    properties={dict(table.properties)!r},",
            f"    path=ctx.inputs.get({table.source!r}),",
            ")",
            f"self.{name} = LookupJoin(",
            f"    kind={node.kind!r},",
            f"    table=self.{table_attr},",
            f"    key_kinds={key_kinds!r},",
            f"    table_names={[f.name for f in node.schema[width:]]!r},",
        ]
        if residual_fn:
            lines.append(f"    residual={residual_fn},")
        lines.append(")")
        m.state.extend(lines)
        method = [f"    def on_{name}(self, batch: Batch) -> None:",
                  f'        """Rows emitted by {e.name} {name}."""']
        method += self.chain(e, "batch", "        ")
        m.methods.append("\n".join(method))
        self.stateful.append((e, name))

    # -- ORDER BY a time attribute -----------------------------------------------

    def temporal_sort(self, e: Exec) -> None:
        m = self.m
        node = e.logical
        assert isinstance(node, lg.Sort)
        name = self.name_of(e)
        m.span_entry(name, e.span)
        schema = node.schema
        key = node.keys[0].expr
        assert isinstance(key, lg.ColumnRef)
        m.state.extend([
            f"# {e.name} ({m.where(e.span)}): {_comment(e.state)}",
            f"self.{name} = TemporalSort(",
            f"    {schema[key.index].name!r},",
            f"    names={[f.name for f in schema]!r},",
            f"    kinds={[f.type.storage for f in schema]!r},",
            ")",
        ])
        method = [f"    def on_{name}(self, batch: Batch) -> None:",
                  f'        """Rows leaving {e.name} {name}, in event-time order."""']
        method += self.chain(e, "batch", "        ")
        m.methods.append("\n".join(method))
        self.stateful.append((e, name))

    # -- interval joins ------------------------------------------------------------

    def interval_join(self, e: Exec) -> None:
        m = self.m
        node = e.logical
        assert isinstance(node, lg.Join)
        name = self.name_of(e)
        m.span_entry(name, e.span)
        regular = node.interval is None
        lower, upper = (0, 0) if regular else node.interval[2:]  # type: ignore[index]
        schema = node.schema
        width = len(node.left.schema)
        residual = _residual(node)
        residual_fn = None
        if residual is not None:
            residual_fn = m.unique(f"residual_{name}")
            m.functions.append(
                f"def {residual_fn}(batch: Batch):\n"
                f'    """The rest of the ON condition: {_docstring_safe(_comment(lg.expr_sql(residual)))}"""\n'
                f"    return {ExprEmitter(schema).mask(residual)}"
            )
        key_kinds = [node.left.schema[li].type.storage for li, _ in node.equi_keys]
        lines = [
            f"# {e.name} ({m.where(e.span)}): {_comment(e.state)}",
            f"self.{name} = {'Join' if regular else 'IntervalJoin'}(",
            f"    kind={node.kind!r},",
            f"    key_kinds={key_kinds!r},",
        ]
        if not regular:
            lines += [f"    lower_ms={lower},", f"    upper_ms={upper},"]
        lines += [
            f"    left_names={[f.name for f in schema[:width]]!r},",
            f"    right_names={[f.name for f in schema[width:]]!r},",
            f"    left_kinds={[f.type.storage for f in node.left.schema]!r},",
            f"    right_kinds={[f.type.storage for f in node.right.schema]!r},",
        ]
        if residual_fn:
            lines.append(f"    residual={residual_fn},")
        if regular and lg.changelog(node) == "I":
            lines.append("    insert_only=True,  # an INNER join of insert-only inputs")
        ttl = (lg.state_ttl_ms(node.left), lg.state_ttl_ms(node.right)) if regular else (None, None)
        if ttl != (None, None):
            lines.append(f"    state_ttl_ms={ttl!r},  # (left, right): the streams' 'state.ttl'")
        lines.append(")")
        if not regular and not any(line.startswith("self.watermarks") for line in m.state):
            m.state.append("self.watermarks: dict[str, int] = {}  # the latest, per source")
        m.state.extend(lines)
        method = [f"    def on_{name}(self, batch: Batch) -> None:",
                  f'        """Rows emitted by {e.name} {name}."""']
        method += self.chain(e, "batch", "        ")
        m.methods.append("\n".join(method))
        self.stateful.append((e, name))

    def push_into_join(self, e: Exec, side: int, var: str, indent: str) -> list[str]:
        node = e.logical
        assert isinstance(node, lg.Join)
        name = self.name_of(e)
        child = e.inputs[side]
        schema = child.schema
        emitter = ExprEmitter(schema, var)
        keys = ", ".join(emitter.column(lg.ColumnRef(pair[side], schema[pair[side]].name,
                                                     schema[pair[side]].type))
                         for pair in node.equi_keys)
        which = ("left", "right")[side]
        if node.interval is None:
            return [
                f"{indent}# {e.name} ({self.m.where(e.span)}): the {which} side",
                f"{indent}self.on_{name}(self.{name}.process_{which}([{keys}], {var}))",
            ]
        time_index = node.interval[side]
        other_wm = self.watermark_of(e.inputs[1 - side], latest=True)
        return [
            f"{indent}# {e.name} ({self.m.where(e.span)}): the {which} side",
            f"{indent}joined, late = self.{name}.process_{which}(",
            f"{indent}    [{keys}],",
            f"{indent}    {var}[{schema[time_index].name!r}].values,",
            f"{indent}    {var},",
            f"{indent}    # the join's watermark is the lower of its two inputs'",
            f"{indent}    watermark_before=np.minimum({var}.row_watermarks(), {other_wm}),",
            f"{indent})",
            f"{indent}self.late({name!r}, {var}.take(late), \"it came behind the join's watermark: "
            "joined with the rows still buffered only\", dropped=False)",
            f"{indent}self.on_{name}(joined)",
        ]


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
                "UnsupportedError", f"{name} over an updating input (a regular outer join "
                "retracts rows) does not run yet; COUNT, SUM, AVG and STDDEV/VARIANCE do",
                call.span))
    return problems


def _lookup_key_order(join: lg.Join) -> list[int]:
    """The table's key columns (positions in its schema) in primary-key order,
    or in the ON clause's order when the table declares no key."""
    return [ri for _, ri in join.equi_keys]


def _lookup_keys(join: lg.Join, stream_schema: lg.Schema) -> list[lg.BoundExpr]:
    order = _lookup_key_order(join)
    pairs = sorted(join.equi_keys, key=lambda p: order.index(p[1]))
    return [lg.ColumnRef(li, stream_schema[li].name, stream_schema[li].type) for li, _ in pairs]


def _post_order(root: Exec):
    for child in root.inputs:
        yield from _post_order(child)
    yield root


def _residual(join: lg.Join) -> lg.BoundExpr | None:
    """The ON condition without the key equalities and the time bounds, which the
    join operator evaluates itself."""
    if join.condition is None:
        return None
    width = len(join.left.schema)
    keys = {(li, ri + width) for li, ri in join.equi_keys}
    lt, rt = (join.interval[0], join.interval[1] + width) if join.interval else (-1, -1)
    rest = []
    stack = [join.condition]
    while stack:
        c = stack.pop()
        if isinstance(c, lg.Call) and c.fn == "AND":
            stack.extend(reversed(c.args))
            continue
        refs = lg.referenced(c)
        if isinstance(c, lg.Call) and c.fn == "=" and len(c.args) == 2 and all(
                isinstance(a, lg.ColumnRef) for a in c.args):
            pair = tuple(sorted(a.index for a in c.args))  # type: ignore[union-attr]
            if pair in keys:
                continue
        if refs and refs <= {lt, rt} and len(refs) == 2:
            continue  # a time bound
        rest.append(c)
    if not rest:
        return None
    result = rest[0]
    for part in rest[1:]:
        result = lg.Call("AND", (result, part), result.type)
    return result


class _AggregatePlan:
    """How a logical Aggregate maps onto the runtime operator's arguments."""

    FUNCS = {
        "COUNT": "count", "SUM": "sum", "AVG": "avg", "MIN": "min", "MAX": "max",
        "STDDEV": "stddev_samp", "STDDEV_SAMP": "stddev_samp", "STDDEV_POP": "stddev_pop",
        "VARIANCE": "var_samp", "VAR_SAMP": "var_samp", "VAR_POP": "var_pop",
        "FIRST_VALUE": "first_value", "LAST_VALUE": "last_value", "CORR": "corr",
        "PERCENTILE_CONT": "percentile_cont", "PERCENTILE_DISC": "percentile_disc",
        "APPROX_PERCENTILE": "approx_percentile",
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
        for call in node.aggs:
            self.aggs.append(self.agg(call))
        self.arg_kinds = [a.type.storage for a in self.arg_exprs]
        window_names = list(self.WINDOW_COLUMNS) if node.window is not None else []
        self.runtime_names = self.key_names + window_names + list(node.agg_names)
        self.reorder = self.runtime_names != [f.name for f in node.schema]

    def _index(self, exprs: list[lg.BoundExpr], expr: lg.BoundExpr) -> int:
        if expr not in exprs:
            exprs.append(expr)
        return exprs.index(expr)

    def agg(self, call: lg.AggCall) -> str:
        func = self.FUNCS[call.fn]
        distinct = call.distinct and call.fn == "COUNT"  # MIN/MAX(DISTINCT x) = MIN/MAX(x)
        parts = []
        if call.fn == "COUNT" and not call.args:
            func = "count_star"
        else:
            parts.append(f"arg={self._index(self.arg_exprs, call.args[0])}")
        if call.fn == "CORR":
            parts.append(f"arg2={self._index(self.arg_exprs, call.args[1])}")
        if call.param is not None:
            parts.append(f"param={call.param!r}")
        if call.filter is not None:
            parts.append(f"filter={self._index(self.filter_exprs, call.filter)}")
        if distinct:
            parts.append("distinct=True")
        return f"Agg({', '.join([repr(func)] + parts)})"

    def window_spec(self) -> str:
        window = self.node.window
        assert window is not None
        if window.kind == "TUMBLE":
            return f"Tumble(size_ms={window.size_ms}, offset_ms={window.offset_ms})"
        if window.kind == "HOP":
            return (f"Hop(slide_ms={window.slide_ms}, size_ms={window.size_ms}, "
                    f"offset_ms={window.offset_ms})")
        if window.kind == "CUMULATE":
            return (f"Cumulate(step_ms={window.step_ms}, max_size_ms={window.size_ms}, "
                    f"offset_ms={window.offset_ms})")
        positions = []
        for index in window.partition_by:
            ref = [i for i, k in enumerate(self.key_exprs)
                   if isinstance(k, lg.ColumnRef) and k.index == index]
            positions.append(ref[0])
        return f"Session(gap_ms={window.gap_ms}, partition_by={tuple(positions)!r})"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def render_module(source: Source, roots: list[Exec], display_path: str) -> str:
    gen = _Generator(source, roots)
    gen.generate()
    m = gen.m
    body = "\n".join(m.functions + m.sources + m.methods + m.state + m.outputs)
    body += "\nPipeline main"  # the template itself names these two
    if m.state:
        body += "\nContext"  # the __init__ the template writes for stateful queries

    def used(name: str) -> bool:
        return re.search(rf"\b{name}\b", body) is not None

    imports = ["import numpy as np", ""] if used("np") else []
    package, module = SCALAR_MODULE.rsplit(".", 1)
    imports += [f"from {package} import {module} as sql"] if used("sql") else []
    for module, names in sorted(RUNTIME_IMPORTS.items()):
        needed = sorted(n for n in names if used(n))
        if needed:
            imports.append(f"from {module} import {', '.join(needed)}")
    plan = "\n\n".join(explain_physical(r) for r in roots)
    docstring = (
        f"{_docstring_safe(source.text.strip())}\n\n"
        "Physical plan:\n\n" + "\n".join("    " + line for line in _docstring_safe(plan).splitlines())
        + "\n"
    )
    text = _template().render(
        header=f"# Generated by sqlc {__version__} from {_comment(display_path, 300)} "
        f"(sha256:{_sha(source.text)}). Do not edit.",
        docstring=docstring,
        imports=imports,
        sources=m.sources,
        source_names=m.source_names,
        functions=m.functions,
        path_repr=_docstring_safe(_comment(display_path)),
        outputs=m.outputs,
        tables=m.tables,
        state=m.state,
        methods=m.methods,
        spans=repr(dict(sorted(m.spans.items()))),
    )
    return format_python(text)


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("templates").joinpath(name).read_text("utf-8")
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template("module.py.j2")


BLACK_MODE = black.Mode(line_length=100)


def format_python(text: str) -> str:
    """black, memoized on disk by the unformatted text: black is most of a compile's
    time (40-80 ms), and `sqlc compile --check` and edit-run loops repeat it."""
    key = hashlib.sha256(f"{black.__version__}\0{BLACK_MODE!r}\0{text}".encode()).hexdigest()
    cache = _cache_dir()
    entry = cache / key[:2] / f"{key}.py" if cache is not None else None
    if entry is not None:
        try:
            return entry.read_text(encoding="utf-8")
        except OSError:
            pass
    formatted = black.format_str(text, mode=BLACK_MODE)
    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            temporary = entry.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(formatted, encoding="utf-8")
            os.replace(temporary, entry)
        except OSError:
            pass  # a read-only home: no cache, same output
    return formatted


def _cache_dir() -> Path | None:
    if os.environ.get("SQLC_NO_CACHE"):
        return None
    base = os.environ.get("SQLC_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "sqlc" / "black" if not os.environ.get("SQLC_CACHE_DIR") else Path(base)

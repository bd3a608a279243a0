"""MATCH_RECOGNIZE on a stream: one MatchRecognize operator per Match node.

The PATTERN is compiled here to its automaton (``analyze.match_automaton``)
and written as a table, each state commented with its variable's DEFINE.
A DEFINE that reads only the row being matched becomes a boolean column
computed per batch where the rows come in (``conditions=``); one that reads
the match (navigation, aggregates, another variable's row) becomes a
function ``define_<v>`` over a batch of the values it reads, and MEASURES one
function over the values of the matches. Those values (``MatchValue``: the
last/first row of a variable, an aggregate over its rows, MATCH_ROWTIME)
are numbered ``v0, v1, ...``, and read their columns from ``args``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.analyze.match_automaton import ACCEPT, Step, build_automaton, steps_sql
from compiler.codegen.emit.base import (
    KINDS_NOTE,
    Emitter,
    over_aggregation_problem,
    over_updating_problem,
    with_note,
)
from compiler.codegen.expressions import ExprEmitter
from compiler.codegen.text import comment, docstring_safe, identifier
from compiler.errors import Diagnostic
from compiler.physical import Exec, MatchExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator

# SQL aggregate -> MatchValue.func
AGGREGATES = {"COUNT": "count", "SUM": "sum", "AVG": "avg", "MIN": "min", "MAX": "max"}


def problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, MatchExec)
    found = over_updating_problem(e) + over_aggregation_problem(e)
    node = e.logical
    for _, expr in node.defines + node.measures:
        for sub in lg.walk(expr):
            if isinstance(sub, lg.PatternAggregate) and sub.fn not in AGGREGATES:
                found.append(Diagnostic(
                    "UnsupportedError", f"{sub.fn}(...) in MATCH_RECOGNIZE does not run yet; "
                    + ", ".join(AGGREGATES) + " do", sub.span))
    return found


def _row_expr(expr: lg.BoundExpr) -> lg.BoundExpr:
    """A pattern expression that reads one row, over the input's columns."""
    if isinstance(expr, lg.PatternRef):
        return lg.ColumnRef(expr.index, expr.name, expr.type, span=expr.span)
    if isinstance(expr, lg.Call):
        return replace(expr, args=tuple(_row_expr(a) for a in expr.args))
    return expr


def _reads_row_only(expr: lg.BoundExpr, variable: str) -> bool:
    """The DEFINE of ``variable`` reads only the row being matched."""
    for sub in lg.walk(expr):
        if isinstance(sub, (lg.Navigate, lg.PatternAggregate, lg.MatchFunction)):
            return False
        if isinstance(sub, lg.PatternRef) and sub.variable not in (None, variable):
            return False
    return True


class MatchPlan:
    """How a logical Match maps onto the runtime operator's arguments."""

    def __init__(self, node: lg.Match):
        self.node = node
        self.input = node.input.schema
        self.automaton = build_automaton(node.pattern)
        self.args: list[lg.BoundExpr] = []  # row expressions the values read
        self.values: list[tuple[str, str]] = []  # (MatchValue source, its SQL)
        self.value_types: list = []
        time = node.order_by[0].expr
        assert isinstance(time, lg.ColumnRef)
        self.time = time
        self.order = [(self._arg(_row_expr(k.expr)), k.descending,
                       k.nulls_first if k.nulls_first is not None else not k.descending)
                      for k in node.order_by[1:]]
        self.defines = dict(node.defines)
        self.conditions: list[tuple[str, lg.BoundExpr]] = []  # (variable, row condition)
        self.tests: dict[str, tuple[lg.BoundExpr, tuple[int, ...]]] = {}
        for variable in lg.pattern_variables(node.pattern):
            cond = self.defines.get(variable)
            if cond is None:
                continue
            if _reads_row_only(cond, variable):
                self.conditions.append((variable, _row_expr(cond)))
            else:
                rewritten = self._virtual(cond)
                reads = tuple(sorted(_value_indices(rewritten)))
                self.tests[variable] = (rewritten, reads)
        self.measures = [(name, self._virtual(expr)) for name, expr in node.measures]

    def _arg(self, expr: lg.BoundExpr) -> int:
        if expr not in self.args:
            self.args.append(expr)
        return self.args.index(expr)

    def _value(self, source: str, expr: lg.BoundExpr) -> lg.ColumnRef:
        """The value ``source`` (a MatchValue(...)) as column v<i> of the values'
        batch; ``A.x`` and ``LAST(A.x)`` are one value."""
        specs = [spec for spec, _ in self.values]
        if source not in specs:
            self.values.append((source, lg.expr_sql(expr)))
            self.value_types.append(expr.type)
            specs.append(source)
        i = specs.index(source)
        return lg.ColumnRef(i, f"v{i}", self.value_types[i])

    def _spec(self, func: str, variable: str | None, arg: lg.BoundExpr | None, kind: str,
              offset: int = 0) -> str:
        parts = [repr(func)]
        if variable is not None:
            parts.append(repr(variable))
        if arg is not None:
            parts.append(f"arg={self._arg(_row_expr(arg))}")
        if offset:
            parts.append(f"offset={offset}")
        parts.append(f"kind={kind!r}")
        return f"MatchValue({', '.join(parts)})"

    def _virtual(self, expr: lg.BoundExpr) -> lg.BoundExpr:
        """``expr`` with what it reads of the match replaced by value columns."""
        kind = expr.type.storage
        if isinstance(expr, lg.PatternRef):
            return self._value(self._spec("last", expr.variable, expr, kind), expr)
        if isinstance(expr, lg.Navigate):
            refs = [r for r in lg.walk(expr.arg) if isinstance(r, lg.PatternRef)]
            variable = refs[0].variable if refs else None
            func = "first" if expr.fn == "FIRST" else "last"  # PREV/NEXT: offset 0 only
            offset = expr.offset if expr.fn in ("FIRST", "LAST") else 0
            return self._value(self._spec(func, variable, expr.arg, kind, offset), expr)
        if isinstance(expr, lg.PatternAggregate):
            if expr.fn == "COUNT" and not expr.args:
                return self._value(self._spec("count_star", expr.variable, None, kind), expr)
            return self._value(self._spec(AGGREGATES[expr.fn], expr.variable, expr.args[0], kind),
                               expr)
        if isinstance(expr, lg.MatchFunction):
            func = {"MATCH_ROWTIME": "rowtime", "MATCH_PROCTIME": "proctime"}.get(
                expr.name, "classifier")
            return self._value(self._spec(func, None, None, kind), expr)
        if isinstance(expr, lg.Call):
            return replace(expr, args=tuple(self._virtual(a) for a in expr.args))
        return expr

    @property
    def value_schema(self) -> lg.Schema:
        return tuple(lg.Field(f"v{i}", t) for i, t in enumerate(self.value_types))


def _value_indices(expr: lg.BoundExpr) -> set[int]:
    return {e.index for e in lg.walk(expr) if isinstance(e, lg.ColumnRef)}


def _functions(g: Generator, name: str, plan: MatchPlan) -> dict[str, str]:
    """``define_<v>`` per DEFINE that reads the match, and ``measures_<name>``:
    module functions over a batch of values; their names by variable."""
    emitter = ExprEmitter(plan.value_schema, "v")
    names: dict[str, str] = {}
    for variable, (cond, _) in plan.tests.items():
        fn = g.m.unique(f"define_{identifier(variable)}")
        names[variable] = fn
        sql = f"{variable} AS {lg.expr_sql(plan.defines[variable])}"
        g.m.functions.append("\n".join([
            f"def {fn}(v: Batch) -> np.ndarray:",
            f'    """{docstring_safe(comment(sql, 200))}"""',
            f"    return {emitter.mask(cond)}",
        ]))
    fn = g.m.unique(f"measures_{name}")
    names[""] = fn
    lines = [f"def {fn}(v: Batch) -> Batch:",
             '    """MEASURES ' + docstring_safe(comment(", ".join(
                 f"{lg.expr_sql(e)} AS {n}" for n, e in plan.node.measures), 200)) + '"""',
             "    return v.project(", "        {"]
    for (out, _), (_, expr) in zip(plan.node.measures, plan.measures):
        lines.append(f"            {out!r}: {emitter.column(expr)},")
    lines += ["        }", "    )"]
    g.m.functions.append("\n".join(lines))
    return names


def _steps_code(steps: tuple[Step, ...]) -> str:
    """``[1, Unless(2, 'B')]``: a step is its state (or ACCEPT), guarded by the
    variables a greedy quantifier keeps its rows for."""
    def one(step: Step) -> str:
        target = "ACCEPT" if step.state == ACCEPT else str(step.state)
        if not step.unless:
            return target
        return f"Unless({', '.join([target, *map(repr, step.unless)])})"

    return f"[{', '.join(one(s) for s in steps)}]"


def _automaton_lines(plan: MatchPlan) -> list[str]:
    auto = plan.automaton
    guarded = [s for s in auto.start + tuple(s for _, steps in auto.states for s in steps)
               if s.unless]
    example = []
    if guarded:
        step = guarded[0]
        names = " or ".join(step.unless)
        code = _steps_code((step,))[1:-1].replace("'", '"')
        example = [(f"    # {code}: only on a row {comment(names)}'s DEFINE rejects (greedy: "
                    f"{comment(names)} keeps every row it can take)")]
    lines = [
        (f"    # PATTERN ({comment(lg.pattern_sql(plan.node.pattern))}): state i = the last row "
         "matched as its variable;"),
        "    # its next steps in order of preference (greedy: one more row first)",
        *example,
        "    automaton=MatchAutomaton(",
        with_note(f"        start={_steps_code(auto.start)},", steps_sql(auto, auto.start)),
        "        states=[",
    ]
    previous = None
    for i, (variable, steps) in enumerate(auto.states):
        if variable != previous:  # the DEFINE above the states of its variable
            cond = plan.defines.get(variable)
            what = f"{variable} AS {lg.expr_sql(cond)}" if cond is not None else f"{variable}: any row"
            lines.append(f"            # {comment(what, 200)}")
            previous = variable
        lines.append(with_note(f"            ({variable!r}, {_steps_code(steps)}),",
                               f"{i} -> {steps_sql(auto, steps)}"))
    lines += ["        ],", "    ),"]
    return lines


def declare(g: Generator, e: Exec) -> None:
    node = e.logical
    assert isinstance(node, lg.Match)
    name = g.name_of(e)
    g.m.span_entry(name, e.span)
    plan = MatchPlan(node)
    functions = _functions(g, name, plan)
    schema = plan.input
    keys = ", ".join(lg.expr_sql(k) for k in node.partition_by) or "()"
    n_keys = len(node.partition_by)
    out = node.schema
    lines = [
        f"# {e.name} ({g.m.where(e.span)}) PARTITION BY {comment(keys)}: {comment(e.state)}",
        f"self.{name} = MatchRecognize(",
        f"    {schema[plan.time.index].name!r},",
        f"    {KINDS_NOTE}",
        with_note(f"    key_kinds={[k.type.storage for k in node.partition_by]!r},", keys),
        with_note(f"    arg_kinds={[a.type.storage for a in plan.args]!r},",
                  ", ".join(lg.expr_sql(a) for a in plan.args) or "no arguments"),
        *_automaton_lines(plan),
        "    variables=[",
    ]
    conditions = [v for v, _ in plan.conditions]
    for variable in lg.pattern_variables(node.pattern):
        cond = plan.defines.get(variable)
        if variable in plan.tests:
            reads = plan.tests[variable][1]
            lines.append(with_note(f"        MatchVariable({variable!r}, test={functions[variable]}, "
                                   f"reads={reads!r}),", "reads the match"))
        elif cond is not None:
            lines.append(with_note(
                f"        MatchVariable({variable!r}, condition={conditions.index(variable)}),",
                "the row only: computed per batch"))
        else:
            lines.append(with_note(f"        MatchVariable({variable!r}),", "no DEFINE: any row"))
    lines.append("    ],")
    lines.append("    values=[")
    for i, (spec, sql) in enumerate(plan.values):
        lines.append(with_note(f"        {spec},", f"v{i} = {sql}"))
    lines += [
        "    ],",
        f"    measures={functions['']},",
        f"    key_names={[f.name for f in out[:n_keys]]!r},",
        f"    out_names={[f.name for f in out[n_keys:]]!r},",
        f"    out_kinds={[f.type.storage for f in out[n_keys:]]!r},",
    ]
    if plan.order:
        lines.append(with_note(f"    order={plan.order!r},", "(arg, descending, nulls first)"))
    lines.append(f"    after_match={node.after_match!r},")
    if node.within_ms is not None:
        lines.append(f"    within_ms={node.within_ms},")
    lines.append(")")
    g.m.state.extend(lines)
    g.stateful_operator(e, name, f"One row per match of {e.name} {name}.")


def push(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    node = e.logical
    assert isinstance(node, lg.Match)
    name = g.name_of(e)
    plan = MatchPlan(node)
    emitter = ExprEmitter(e.inputs[0].schema, var)
    keys = ", ".join(emitter.column(k) for k in node.partition_by)
    args = ", ".join(emitter.column(a) for a in plan.args)
    lines = [
        f"{indent}# {e.name} ({g.m.where(e.span)}): held until the watermark passes each row;",
        f"{indent}# the DEFINEs that read only the row, as a mask per batch",
        f"{indent}late = self.{name}.process(",
        f"{indent}    {var},",
        f"{indent}    keys=[{keys}],",
        f"{indent}    args=[{args}],",
        f"{indent}    conditions=[",
    ]
    for variable, cond in plan.conditions:
        sql = f"{variable} AS {lg.expr_sql(plan.defines[variable])}"
        lines.append(f"{indent}        # {comment(sql)}")
        lines.append(f"{indent}        {emitter.mask(cond)},")
    lines += [
        f"{indent}    ],",
        f"{indent})",
        (f"{indent}self.late({name!r}, {var}.take(late), "
         "\"it came after the watermark had passed it\")"),
    ]
    return lines


MATCH_RECOGNIZE = Emitter("match", push=push, declare=declare, problems=problems, fires=True)

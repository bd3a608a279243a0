"""MATCH_RECOGNIZE: its ordering, its PATTERN (``match_pattern``), and DEFINE and
MEASURES bound with Flink's pattern navigation (``logical.PatternRef``,
``Navigate``, ``PatternAggregate``, ``MatchFunction``).

What the expressions read, as Flink's "Pattern Recognition" page says:

* ``A.price`` is the last row matched as A (in DEFINE A: the row being
  matched); ``price`` without a variable the last row matched to any variable.
* ``LAST(A.price, n)`` / ``FIRST(A.price, n)`` (logical offsets, n >= 0, default
  0): the n-th row from the last / first row matched as A. Their argument reads
  one variable; they cannot be nested in each other.
* ``AVG(A.price)``, ``COUNT(A.*)``, ``SUM(price)``: over the rows matched as A
  (or all rows) so far. One variable per aggregate, no nesting, no DISTINCT.
* ``PREV``/``NEXT`` (physical offsets) Flink refuses ("Flink does not support
  physical offsets within partition") except with offset 0, and (Calcite) not
  in MEASURES nor under FIRST/LAST.
* ``MATCH_ROWTIME()``, ``MATCH_PROCTIME()``, ``CLASSIFIER()`` (the variable of the
  last row) in MEASURES.

Each rule broken is a positioned error naming it; every DEFINE and MEASURE is
checked before the first failure aborts the query.
"""

from __future__ import annotations

from typing import NoReturn

from compiler import ast, functions
from compiler import logical as lg
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.literals import interval_ms
from compiler.analyze.match_pattern import (
    flink_refusals,
    mandatory,
    parse_pattern,
    spelled_as_first,
)
from compiler.analyze.scope import Abort, Bound, Scope, fail
from compiler.errors import Diagnostics, Span, did_you_mean
from compiler.types import SqlType

NAVIGATION = ("PREV", "NEXT", "FIRST", "LAST")
MATCH_FUNCTIONS = ("MATCH_ROWTIME", "MATCH_PROCTIME", "CLASSIFIER")
# aggregates with a parameter or an order of their own: not in MATCH_RECOGNIZE
_NOT_IN_MATCH = ("PERCENTILE_CONT", "PERCENTILE_DISC", "PERCENTILE", "APPROX_PERCENTILE")


def match_recognize(binder: ExpressionBinder, rel: ast.MatchRecognize, inner: Bound) -> Bound:
    """The Match node over ``inner``, the bound input relation."""
    diag = binder.diag
    failed = False
    partition = tuple(binder.expr(p, inner.scope, "PARTITION BY") for p in rel.partition_by)
    order = tuple(
        lg.OrderKey(binder.expr(o.expr, inner.scope, "ORDER BY"), o.descending)
        for o in rel.order_by
    )
    if not order or order[0].expr.type.time_attribute is None or order[0].descending:
        fail(diag,
             "BindError",
             "MATCH_RECOGNIZE must ORDER BY a time attribute ascending",
             rel.order_by[0].span if rel.order_by else rel.span,
             )
    if rel.rows_per_match and rel.rows_per_match != "ONE ROW PER MATCH":
        diag.error("UnsupportedError", f"{rel.rows_per_match} is not supported (nor by Flink): "
                   "MATCH_RECOGNIZE returns ONE ROW PER MATCH", rel.rows_span)
        failed = True
    pattern = spelled_as_first(
        parse_pattern(diag, diag.source.fragment(rel.pattern_span), rel.pattern_span))
    for message, span in flink_refusals(pattern):
        diag.error("UnsupportedError", message, span)
        failed = True
    variables = {v.upper(): v for v in lg.pattern_variables(pattern)}
    within = None
    try:
        after = _after_match(diag, rel, pattern, variables)
        within = _within(diag, rel.within)
    except Abort:
        failed = True
        after = ""
    try:
        defines = _defines(binder, rel, inner.scope, variables, mandatory(pattern))
    except Abort:
        failed, defines = True, []
    try:
        measures = _measures(binder, rel, inner.scope, variables, mandatory(pattern))
    except Abort:
        failed, measures = True, []
    if failed:
        raise Abort
    node = lg.Match(inner.plan, partition, order, pattern, tuple(defines), tuple(measures),
                    after, within, span=rel.span)
    return Bound(node, Scope.of(node.schema, rel.alias))


def _after_match(diag: Diagnostics, rel: ast.MatchRecognize, pattern: lg.PatternTerm,
                 variables: dict[str, str]) -> str:
    """AFTER MATCH SKIP ..., the variable of SKIP TO FIRST|LAST spelled as in PATTERN."""
    text = rel.after_match or "SKIP TO NEXT ROW"
    words = text.split()
    if len(words) != 4 or words[:2] != ["SKIP", "TO"] or words[2] not in ("FIRST", "LAST"):
        return text
    name = words[3]
    if name.upper() not in variables:
        suggestion = did_you_mean(name, list(variables.values()))
        fail(diag, "BindError",
             f"AFTER MATCH SKIP TO {words[2]} {name}: {name} is no variable of PATTERN "
             f"({lg.pattern_sql(pattern)})"
             + (f"; did you mean {suggestion}?" if suggestion else ""),
             rel.after_variable_span)
    name = variables[name.upper()]
    first = lg.pattern_variables(pattern)[0]
    if words[2] == "FIRST" and name == first:
        fail(diag, "BindError",
             f"AFTER MATCH SKIP TO FIRST {name} would start the next match where this one "
             f"started, for ever (Flink refuses it); use SKIP TO NEXT ROW",
             rel.after_variable_span)
    return f"SKIP TO {words[2]} {name}"


def _within(diag: Diagnostics, node: ast.Expr | None) -> int | None:
    if node is None:
        return None
    if not isinstance(node, ast.Interval):
        fail(diag, "BindError", "WITHIN takes an interval, e.g. WITHIN INTERVAL '1' HOUR",
             node.span)
    ms = interval_ms(node, diag)
    if ms <= 0:
        fail(diag, "BindError", "WITHIN must be a positive interval", node.span)
    return ms


def _defines(binder: ExpressionBinder, rel: ast.MatchRecognize, scope: Scope,
             variables: dict[str, str], required: set[str]) -> list[tuple[str, lg.BoundExpr]]:
    """Each DEFINE (PATTERN's variable, its bound condition), every one checked
    before the first failure aborts."""
    diag = binder.diag
    defines: list[tuple[str, lg.BoundExpr]] = []
    seen: set[str] = set()
    failed = False
    for define in rel.define:
        name, cond = define.name, define.condition
        try:
            if name.upper() not in variables:
                suggestion = did_you_mean(name, list(variables.values()))
                fail(diag, "BindError",
                     f"DEFINE {name} names no variable of PATTERN ({rel.pattern})"
                     + (f"; did you mean {suggestion}?" if suggestion else ""),
                     define.name_span)
            if name.upper() in seen:
                fail(diag, "BindError", f"pattern variable {name} is defined twice",
                     define.name_span)
            seen.add(name.upper())
            variable = variables[name.upper()]
            pattern_binder = PatternBinder(diag, variables, required, "DEFINE", variable)
            bound = pattern_binder.expr(cond, scope, f"DEFINE {variable}")
            binder.require_boolean(bound, cond, f"DEFINE {variable}")
        except Abort:
            failed = True
            continue
        defines.append((variable, bound))
    if failed:
        raise Abort
    return defines


def _measures(binder: ExpressionBinder, rel: ast.MatchRecognize, scope: Scope,
              variables: dict[str, str], required: set[str]) -> list[tuple[str, lg.BoundExpr]]:
    diag = binder.diag
    measures: list[tuple[str, lg.BoundExpr]] = []
    taken = {p.name.lower() for p in rel.partition_by if isinstance(p, ast.Column)}
    failed = False
    for item in rel.measures:
        try:
            if item.alias is None:
                fail(diag, "BindError", "every MEASURES expression needs an AS name", item.span)
            if item.alias.lower() in taken:
                fail(diag, "BindError", f"MEASURES name {item.alias} is taken (by a PARTITION "
                     "BY column or another measure)", item.span)
            taken.add(item.alias.lower())
            pattern_binder = PatternBinder(diag, variables, required, "MEASURES", None)
            measures.append((item.alias, pattern_binder.expr(item.expr, scope, "MEASURES")))
        except Abort:
            failed = True
    if failed:
        raise Abort
    return measures


class PatternBinder(ExpressionBinder):
    """The expression binder of one DEFINE or MEASURE: columns qualified by a
    pattern variable (or not at all) become PatternRefs, navigation and
    aggregates become Navigate and PatternAggregate; the rest binds as
    anywhere else (``ExpressionBinder``)."""

    def __init__(self, diag: Diagnostics, variables: dict[str, str], required: set[str],
                 clause: str, defining: str | None):
        super().__init__(diag)
        self.variables = variables  # upper case -> as PATTERN spells it
        self.required = required  # variables every match has a row of
        self.clause = clause  # DEFINE | MEASURES
        self.defining = defining  # the variable of a DEFINE
        self.navigation: list[str] = []  # enclosing PREV/NEXT/FIRST/LAST, innermost last
        self.aggregate: str | None = None  # the enclosing aggregate
        self.reads: list[set[str | None]] = []  # variables read, per enclosing call

    def expr(self, node: ast.Expr, scope: Scope, where: str) -> lg.BoundExpr:
        if isinstance(node, ast.Column):
            return self.pattern_column(node, scope)
        if isinstance(node, ast.Call) and node.over is None:
            if node.name in NAVIGATION:
                return self.navigate(node, scope, where)
            if node.name in functions.AGGREGATES:
                return self.pattern_aggregate(node, scope, where)
            if node.name in MATCH_FUNCTIONS:
                return self.match_function(node, scope)
        return super().expr(node, scope, where)

    # -- columns -----------------------------------------------------------------

    def variable(self, name: str, span: Span, text: str) -> str:
        """The PATTERN variable ``name`` (any case) stands for."""
        found = self.variables.get(name.upper())
        if found is None:
            suggestion = did_you_mean(name, list(self.variables.values()))
            self.refuse("BindError",
                        f"{text}: {name} is no variable of PATTERN; its variables are "
                        + ", ".join(self.variables.values())
                        + (f"; did you mean {suggestion}?" if suggestion else ""), span)
        return found

    def pattern_column(self, node: ast.Column, scope: Scope) -> lg.BoundExpr:
        variable = None
        if node.table is not None:
            variable = self.variable(node.table, node.span, str(node))
        f = self.resolve(ast.Column(node.name, span=node.span), scope)
        for reads in self.reads:
            reads.add(variable)
        typ = f.type.plain()
        # the last row of another variable may not exist (yet): NULL then
        if variable is not None and self.aggregate is None and (
                (self.clause == "DEFINE" and variable != self.defining)
                or (self.clause == "MEASURES" and variable.upper() not in self.required)):
            typ = typ.with_nullable(True)
        return lg.PatternRef(variable, f.index, f.ref_name, typ, span=node.span)

    # -- navigation --------------------------------------------------------------

    def navigate(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        fn, span = node.name, node.span
        if self.aggregate is not None:
            self.refuse("BindError", f"{fn} cannot be used inside the aggregate "
                        f"{self.aggregate}(...)", span)
        physical = fn in ("PREV", "NEXT")
        outer = self.navigation[-1] if self.navigation else None
        if outer in ("FIRST", "LAST"):
            self.refuse("BindError", f"{fn} cannot be nested in {outer}: Flink (Calcite) does "
                        "not allow PREV, NEXT, FIRST or LAST under FIRST/LAST", span)
        if physical and self.clause == "MEASURES":
            self.refuse("BindError", f"{fn} cannot be used in MEASURES (Flink, Calcite); "
                        "use FIRST or LAST", span)
        if node.distinct or node.filter is not None or not 1 <= len(node.args) <= 2:
            self.refuse("BindError", f"{fn} takes (expression[, offset])", span)
        offset = self.offset(node) if len(node.args) == 2 else (1 if physical else 0)
        arg_ast = node.args[0]
        if physical and offset != 0:
            text = self.diag.source.fragment(arg_ast.span)
            hint = (f"a logical offset reads the rows matched: LAST({text}, {offset}) is the "
                    f"value {offset} row(s) before the last row matched as its variable")
            self.refuse("UnsupportedError",
                        f"{fn}({text}{', ' + str(offset) if len(node.args) == 2 else ''}) is a "
                        "physical offset, and Flink does not support physical offsets within "
                        f"a partition ({fn} only with offset 0)", span, hint=hint)
        self.navigation.append(fn)
        self.reads.append(set())
        try:
            arg = self.expr(arg_ast, scope, where)
        finally:
            self.navigation.pop()
            reads = self.reads.pop()
        for outer_reads in self.reads:
            outer_reads |= reads
        if not reads:
            self.refuse("BindError", f"{fn} needs a column of the match to navigate, e.g. "
                        f"{fn}(A.price)", arg_ast.span)
        if len(reads) > 1:
            self.refuse("BindError", f"{fn} reads more than one pattern variable ("
                        + ", ".join(sorted(v or "no variable" for v in reads))
                        + "); its value must come from one row, so every column in it needs "
                        "the same variable", arg_ast.span)
        typ = arg.type if physical else arg.type.with_nullable(True)
        return lg.Navigate(fn, arg, offset, typ, span=span)

    def offset(self, node: ast.Call) -> int:
        """The offset of a navigation: a literal integer >= 0."""
        arg = node.args[1]
        rule = f"the offset of {node.name} must be a literal integer >= 0"
        if isinstance(arg, ast.Unary) and arg.op == "-" and isinstance(arg.operand, ast.Literal):
            self.refuse("BindError", f"{rule}, got {self.diag.source.fragment(arg.span)}",
                        arg.span)
        if not (isinstance(arg, ast.Literal) and arg.kind == "integer"):
            self.refuse("BindError", rule, arg.span)
        if int(arg.value) < 0:  # type: ignore[call-overload]
            self.refuse("BindError", f"{rule}, got {arg.value}", arg.span)
        return int(arg.value)  # type: ignore[call-overload]

    # -- aggregates --------------------------------------------------------------

    def pattern_aggregate(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        fn, span = node.name, node.span
        if self.aggregate is not None:
            self.refuse("BindError", f"aggregate {fn} cannot be nested in {self.aggregate}",
                        span)
        if self.navigation:
            self.refuse("BindError", f"aggregate {fn} cannot be used inside "
                        f"{self.navigation[-1]} (Flink, Calcite: no aggregation in "
                        "navigation)", span)
        if node.distinct:
            self.refuse("UnsupportedError", f"{fn}(DISTINCT ...): DISTINCT aggregates are not "
                        "supported in MATCH_RECOGNIZE (nor by Flink)", span)
        if node.filter is not None or node.within_group or fn in _NOT_IN_MATCH:
            self.refuse("UnsupportedError", f"{fn} with FILTER, WITHIN GROUP or a percentile "
                        "is not supported in MATCH_RECOGNIZE", span)
        variable: str | None = None
        args_ast = list(node.args)
        if fn == "COUNT" and len(args_ast) > 1:
            self.refuse("BindError", "COUNT takes one argument in MATCH_RECOGNIZE", span)
        if args_ast and isinstance(args_ast[0], ast.Star):
            star = args_ast[0]
            if fn != "COUNT":
                self.refuse("BindError", f"{fn}(*) is not an aggregate; only COUNT(*)",
                            star.span)
            if star.table is not None:
                variable = self.variable(star.table, star.span, f"{star.table}.*")
            args_ast = []
        self.aggregate = fn
        self.reads.append({variable} if variable else set())
        try:
            args = tuple(self.exprs(args_ast, scope, where))
        finally:
            self.aggregate = None
            reads = self.reads.pop()
        named = {v for v in reads if v is not None}
        if len(named) > 1:
            self.refuse("BindError", f"aggregate {fn} reads more than one pattern variable ("
                        + ", ".join(sorted(named)) + "); Flink aggregates the rows of one "
                        "variable (or, without one, all rows of the match)", span)
        if named:
            variable = next(iter(named))
        for outer_reads in self.reads:
            outer_reads.add(variable)
        result = functions.aggregate_type(fn, [a.type for a in args])
        if isinstance(result, str):
            self.refuse("BindError", result, span)
        return lg.PatternAggregate(fn, variable, args, result, span=span)

    # -- MATCH_ROWTIME, MATCH_PROCTIME, CLASSIFIER --------------------------------

    def match_function(self, node: ast.Call, scope: Scope) -> lg.BoundExpr:
        name, span = node.name, node.span
        if self.clause != "MEASURES" or self.navigation or self.aggregate:
            self.refuse("BindError", f"{name}() is only valid in MEASURES, outside "
                        "navigation and aggregates", span)
        if name == "CLASSIFIER":  # ONE ROW PER MATCH: the variable of the match's last row
            if node.args:
                self.refuse("BindError", "CLASSIFIER takes no argument", span)
            return lg.MatchFunction(name, SqlType("VARCHAR", False), span=span)
        if name == "MATCH_PROCTIME":
            if node.args:
                self.refuse("BindError", "MATCH_PROCTIME takes no argument", span)
            proctime = SqlType("TIMESTAMP_LTZ", False, (3,), time_attribute="PROCTIME")
            return lg.MatchFunction(name, proctime, span=span)
        typ = SqlType("TIMESTAMP", False, (3,), time_attribute="ROWTIME")
        if len(node.args) > 1:
            self.refuse("BindError", "MATCH_ROWTIME takes at most one argument, a rowtime "
                        "column", span)
        if node.args:
            arg = node.args[0]
            field = self.resolve(arg, scope) if isinstance(arg, ast.Column) else None
            if field is None or field.type.time_attribute != "ROWTIME":
                self.refuse("BindError", "the argument of MATCH_ROWTIME must be a rowtime "
                            "attribute column", arg.span)
            typ = field.type.with_nullable(False)
        return lg.MatchFunction(name, typ, span=span)

    def refuse(self, kind: str, message: str, span: Span, hint: str | None = None) -> NoReturn:
        fail(self.diag, kind, message, span, hint=hint)


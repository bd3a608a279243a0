"""Binding scalar expressions: names to column positions, and a type for every node.

``ExpressionBinder.expr`` dispatches on the AST node's class (``_BIND`` at the
end of the module); a class it has no entry for is an "unsupported expression"
error, never a silent pass. The binder knows only the diagnostics: which
columns are visible comes with each call (a ``Scope``), so every clause of a
query, a computed column and a watermark bind their expressions the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from compiler import ast, functions
from compiler import logical as lg
from compiler import types as t
from compiler.analyze import fields
from compiler.analyze.literals import (
    constant,
    interval_ms,
    parse_date_literal,
    parse_timestamp_literal,
)
from compiler.analyze.scope import Abort, Ref, Scope, ScopeField, fail
from compiler.analyze.syntax import iter_ast
from compiler.analyze.type_names import type_of
from compiler.errors import Diagnostics, did_you_mean
from compiler.types import SqlType


class ExpressionBinder:
    def __init__(self, diagnostics: Diagnostics):
        self.diag = diagnostics
        # the output columns SELECT made of a whole ROW (bid -> bid.auction, ...):
        # name -> its path in the ROW (analyze/fields.py)
        self.row_columns: dict[str, tuple[str, ...]] = {}

    def no_aggregates(self, expr: ast.Expr, where: str) -> None:
        for node in iter_ast(expr):
            if isinstance(node, ast.Call) and node.name in functions.AGGREGATES:
                fail(self.diag, 
                    "BindError",
                    f"aggregate function {node.name} is not allowed in {where}",
                    node.span,
                    hint="use HAVING to filter on aggregates" if where == "WHERE" else None,
                )
            if isinstance(node, ast.Call) and node.over is not None:
                fail(self.diag, "BindError", f"window function {node.name} is not allowed in "
                                f"{where}", node.span)

    def require_boolean(self, bound: lg.BoundExpr, node: ast.Expr, where: str) -> None:
        if bound.type.name not in ("BOOLEAN", "NULL"):
            fail(self.diag, 
                "BindError",
                f"{where} must be a boolean condition, got {bound.type.sql()}",
                node.span,
            )

    def resolve(self, col: ast.Column, scope: Scope) -> ScopeField:
        found = scope.find(col.name, col.table)
        if not found and col.table is not None and col.table.lower() not in scope.qualifiers():
            # bid.price with no table bid: the field price of the ROW column bid
            return fields.resolve_path(self, (col.table, col.name), None, scope, col.span)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            distinct = {(f.qualifier or "") for f in found}
            if len({f.index for f in found}) > 1:
                fail(self.diag, 
                    "BindError",
                    f"column '{col.name}' is ambiguous; it is in "
                    + ", ".join(sorted(q or "?" for q in distinct)),
                    col.span,
                    hint=f"qualify it, e.g. {sorted(distinct)[0] or 't'}.{col.name}",
                )
            return found[0]
        fields.whole_row_error(self, col, scope)
        self.column_error(col, scope)

    def column_error(self, col: ast.Column, scope: Scope) -> NoReturn:
        if col.table and col.table.lower() not in scope.qualifiers():
            suggestion = did_you_mean(col.table, sorted({f.qualifier for f in scope.fields
                                                         if f.qualifier}))
            fail(self.diag, 
                "BindError",
                f"unknown table or alias '{col.table}' in {col}"
                + (f"; did you mean '{suggestion}'?" if suggestion else ""),
                col.span,
            )
        candidates = [f.name for f in scope.fields
                      if col.table is None or (f.qualifier or "").lower() == col.table.lower()]
        suggestion = did_you_mean(col.name, candidates)
        fail(self.diag, 
            "BindError",
            f"unknown column '{col}'" + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            col.span,
        )

    def expr(self, node: ast.Expr, scope: Scope, where: str) -> lg.BoundExpr:
        """Bind one expression: names to column positions, and a type for every node."""
        bind = _BIND.get(type(node))
        if bind is None:
            fail(self.diag, "UnsupportedError", "unsupported expression", node.span)
        return bind(self, node, scope, where)

    def ref(self, node: Ref, scope: Scope, where: str) -> lg.BoundExpr:
        f = scope.fields[node.index]
        return lg.ColumnRef(f.index, f.ref_name, f.type, span=node.span)

    def column(self, node: ast.Column, scope: Scope, where: str) -> lg.BoundExpr:
        f = self.resolve(node, scope)
        return lg.ColumnRef(f.index, f.ref_name, f.type, span=node.span)

    def field_access(self, node: ast.FieldAccess, scope: Scope, where: str) -> lg.BoundExpr:
        names = fields.names_of(node)
        if names is None:  # CAST(ROW(a, b) AS ROW<x INT, y INT>).x: the field's expression
            return self.expr(fields.built_field(self, node, scope), scope, where)
        f = fields.resolve_names(self, names, scope, node.span)
        return lg.ColumnRef(f.index, f.ref_name, f.type, span=node.span)

    def literal(self, node: ast.Literal, scope: Scope, where: str) -> lg.BoundExpr:
        return constant(node, self.diag)

    def interval(self, node: ast.Interval, scope: Scope, where: str) -> lg.BoundExpr:
        return lg.Const(interval_ms(node, self.diag), t.INTERVAL, span=node.span)

    def star(self, node: ast.Star, scope: Scope, where: str) -> lg.BoundExpr:
        fail(self.diag, "BindError", "* is only valid in SELECT * and COUNT(*)", node.span)

    def unary(self, node: ast.Unary, scope: Scope, where: str) -> lg.BoundExpr:
        span = node.span
        operand = self.expr(node.operand, scope, where)
        if node.op == "NOT":
            self.require_boolean(operand, node.operand, "NOT")
            return lg.Call("NOT", (operand,), t.BOOLEAN.with_nullable(operand.type.nullable),
                           span=span)
        if not (operand.type.is_numeric or operand.type.name == "INTERVAL"):
            fail(self.diag, "BindError", f"cannot negate {operand.type.sql()}", span)
        if node.op == "+":
            return operand
        return lg.Call("NEG", (operand,), operand.type.plain(), span=span)

    def is_null(self, node: ast.IsNull, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.operand, scope, where)
        fn = "IS NOT NULL" if node.negated else "IS NULL"
        return lg.Call(fn, (operand,), t.BOOLEAN.with_nullable(False), span=node.span)

    def is_bool(self, node: ast.IsBool, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.operand, scope, where)
        self.require_boolean(operand, node.operand, "IS TRUE/FALSE")
        fn = "IS " + ("NOT " if node.negated else "") + ("TRUE" if node.value else "FALSE")
        return lg.Call(fn, (operand,), t.BOOLEAN.with_nullable(False), span=node.span)

    def in_list(self, node: ast.InList, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.operand, scope, where)
        items = []
        for item in node.items:
            b = self.coerce_for_compare(operand, self.expr(item, scope, where), item)
            items.append(b)
        nullable = operand.type.nullable or any(i.type.nullable for i in items)
        fn = "NOT IN" if node.negated else "IN"
        return lg.Call(fn, (operand, *items), t.BOOLEAN.with_nullable(nullable), span=node.span)

    def between(self, node: ast.Between, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.operand, scope, where)
        low = self.coerce_for_compare(operand, self.expr(node.low, scope, where), node.low)
        high = self.coerce_for_compare(operand, self.expr(node.high, scope, where), node.high)
        nullable = operand.type.nullable or low.type.nullable or high.type.nullable
        kind = t.BOOLEAN.with_nullable(nullable)
        if node.symmetric:  # (x BETWEEN a AND b) OR (x BETWEEN b AND a), NULLs as Flink's
            either = lg.Call("OR", (lg.Call("BETWEEN", (operand, low, high), kind, span=node.span),
                                    lg.Call("BETWEEN", (operand, high, low), kind, span=node.span)),
                             kind, span=node.span)
            return lg.Call("NOT", (either,), kind, span=node.span) if node.negated else either
        fn = "NOT BETWEEN" if node.negated else "BETWEEN"
        return lg.Call(fn, (operand, low, high), kind, span=node.span)

    def like(self, node: ast.Like, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.operand, scope, where)
        pattern = self.expr(node.pattern, scope, where)
        for b, n in ((operand, node.operand), (pattern, node.pattern)):
            if not (b.type.is_string or b.type.is_null):
                fail(self.diag, "BindError", f"LIKE compares strings, got {b.type.sql()}",
                                n.span)
        args = [operand, pattern]
        if node.escape is not None:
            args.append(self.expr(node.escape, scope, where))
        fn = "NOT LIKE" if node.negated else "LIKE"
        nullable = operand.type.nullable or pattern.type.nullable
        return lg.Call(fn, tuple(args), t.BOOLEAN.with_nullable(nullable), span=node.span)

    def extract(self, node: ast.Extract, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.operand, scope, where)
        if not (operand.type.name in t.TEMPORALS or operand.type.is_null):
            fail(self.diag, "BindError", f"EXTRACT takes a timestamp or date, got "
                            f"{operand.type.sql()}", node.operand.span)
        units = ("YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DAYOFWEEK", "DAYOFYEAR", "HOUR",
                 "MINUTE", "SECOND", "MILLISECOND", "EPOCH", "DOW", "DOY")
        if node.unit not in units:
            fail(self.diag, "BindError", f"EXTRACT cannot take {node.unit}; use one of "
                            + ", ".join(units), node.span)
        return lg.Call("EXTRACT", (lg.Const(node.unit, t.VARCHAR), operand),
                       t.BIGINT.with_nullable(operand.type.nullable), span=node.span)

    def scalar_subquery(self, node: ast.ScalarSubquery, scope: Scope, where: str
                        ) -> lg.BoundExpr:
        fail(self.diag, "UnsupportedError", "scalar subqueries are not supported on streams "
                        "yet; use a join", node.span)

    def predicate_subquery(self, node: ast.InSubquery | ast.Exists, scope: Scope, where: str
                           ) -> lg.BoundExpr:
        what = "EXISTS" if isinstance(node, ast.Exists) else "IN"
        fail(self.diag, "UnsupportedError", f"{'NOT ' if node.negated else ''}{what} (subquery) "
             f"runs only as a condition of WHERE, ANDed with the others (a semi or anti join); "
             f"not in {where} or under OR / NOT", node.span)

    def coerce_for_compare(self, left: lg.BoundExpr, right: lg.BoundExpr, node: ast.Expr
                           ) -> lg.BoundExpr:
        """A string constant compared with a timestamp becomes a timestamp constant."""
        if left.type.is_timestamp and isinstance(right, lg.Const) and right.type.is_string:
            ms = parse_timestamp_literal(str(right.value))
            if ms is None:
                fail(self.diag, "BindError", f"cannot compare a timestamp with '{right.value}'",
                                node.span)
            return lg.Const(ms, t.TIMESTAMP.with_nullable(False), span=right.span)
        if not t.is_comparable(left.type, right.type):
            fail(self.diag, 
                "BindError",
                f"cannot compare {left.type.sql()} with {right.type.sql()}",
                node.span,
            )
        return right

    def exprs(self, nodes, scope: Scope, where: str) -> list[lg.BoundExpr]:
        """Bind independent expressions (operands, arguments): every one is bound,
        so an error in one does not hide an error in the next; then the first
        failure aborts."""
        bound, failed = [], False
        for node in nodes:
            try:
                bound.append(self.expr(node, scope, where))
            except Abort:
                failed = True
        if failed:
            raise Abort
        return bound

    def binary(self, node: ast.Binary, scope: Scope, where: str) -> lg.BoundExpr:
        rows = fields.row_comparison(self, node.op, node.left, node.right, scope, node.span)
        if rows is not None:  # (a, b) = (c, d): a = c AND b = d
            return self.expr(rows, scope, where)
        left, right = self.exprs((node.left, node.right), scope, where)
        op, span = node.op, node.span
        lt, rt = left.type, right.type
        nullable = lt.nullable or rt.nullable
        if op in ("AND", "OR"):
            for b, n in ((left, node.left), (right, node.right)):
                self.require_boolean(b, n, op)
            return lg.Call(op, (left, right), t.BOOLEAN.with_nullable(nullable), span=span)
        if op in ("=", "<>", "<", "<=", ">", ">="):
            if lt.is_string and isinstance(left, lg.Const) and rt.is_timestamp:
                left = self.coerce_for_compare(right, left, node.left)
            else:
                right = self.coerce_for_compare(left, right, node.right)
            if lt.name in ("ARRAY", "MAP", "ROW"):
                fail(self.diag, "BindError", f"cannot compare {lt.sql()} values", span)
            return lg.Call(op, (left, right), t.BOOLEAN.with_nullable(nullable), span=span)
        if op == "||":
            for b, n in ((left, node.left), (right, node.right)):
                if not (b.type.is_string or b.type.is_null):
                    fail(self.diag, "BindError", f"|| concatenates strings, got {b.type.sql()}; "
                                    "use CAST(... AS VARCHAR)", n.span)
            return lg.Call("||", (left, right), t.VARCHAR.with_nullable(nullable), span=span)
        # arithmetic, including time arithmetic
        if op in ("+", "-") and lt.is_timestamp and rt.name == "INTERVAL":
            return lg.Call(op, (left, right), lt.plain().with_nullable(lt.nullable), span=span)
        if op == "+" and lt.name == "INTERVAL" and rt.is_timestamp:
            return lg.Call(op, (right, left), rt.plain().with_nullable(rt.nullable), span=span)
        if op == "-" and lt.is_timestamp and rt.is_timestamp:
            # sqlc: the difference of two timestamps is an INTERVAL, in milliseconds
            return lg.Call("-", (left, right), SqlType("INTERVAL", nullable), span=span)
        if lt.name == "INTERVAL" and rt.name == "INTERVAL" and op in ("+", "-"):
            return lg.Call(op, (left, right), SqlType("INTERVAL", nullable), span=span)
        result = t.arithmetic_type(lt, rt, op)
        if result is None:
            fail(self.diag, 
                "BindError",
                f"cannot apply '{op}' to {lt.sql()} and {rt.sql()}",
                span,
                hint="CAST strings to numbers first" if lt.is_string or rt.is_string else None,
            )
        if op in ("/", "%") and isinstance(right, lg.Const) and right.value == 0:
            fail(self.diag, "BindError", "division by zero", node.right.span)
        return lg.Call(op, (left, right), result, span=span)

    def case(self, node: ast.Case, scope: Scope, where: str) -> lg.BoundExpr:
        args: list[lg.BoundExpr] = []
        values: list[lg.BoundExpr] = []
        operand = self.expr(node.operand, scope, where) if node.operand is not None else None
        for cond_ast, value_ast in node.whens:
            if operand is not None:
                rhs = self.coerce_for_compare(operand, self.expr(cond_ast, scope, where),
                                              cond_ast)
                cond = lg.Call("=", (operand, rhs), t.BOOLEAN, span=cond_ast.span)
            else:
                cond = self.expr(cond_ast, scope, where)
                self.require_boolean(cond, cond_ast, "a CASE WHEN condition")
            value = self.expr(value_ast, scope, where)
            args.extend([cond, value])
            values.append(value)
        default = (self.expr(node.else_, scope, where) if node.else_ is not None
                   else lg.Const(None, t.NULL))
        values.append(default)
        result = values[0].type
        for v, n in zip(values[1:], [w[1] for w in node.whens[1:]] + [node.else_ or node]):
            common = t.common_type(result, v.type)
            if common is None:
                fail(self.diag, 
                    "BindError",
                    f"CASE branches have incompatible types {result.sql()} and {v.type.sql()}",
                    n.span,
                )
            result = common
        nullable = any(v.type.nullable for v in values)
        if result.is_null:
            result = t.VARCHAR
        return lg.Call("CASE", (*args, default), result.plain().with_nullable(nullable),
                       span=node.span)

    def cast(self, node: ast.Cast, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.operand, scope, where)
        target = type_of(node.to, self.diag)
        if target is None:
            raise Abort
        source = operand.type
        ok = (
            source.is_null
            or target.is_string
            or (source.is_numeric and target.is_numeric)
            or (source.is_string and target.name in t.NUMERICS + t.TEMPORALS + ("BOOLEAN",))
            or (source.name in t.TEMPORALS and target.name in t.TEMPORALS)
            or (source.is_numeric and target.name == "BOOLEAN")
            or (source.name == "BOOLEAN" and target.is_numeric)
            or (source.is_integer and target.is_timestamp)
            or source.name == target.name
        )
        if not ok:
            fail(self.diag, "BindError", f"cannot CAST {source.sql()} to {target.sql()}",
                            node.span)
        literal = node.operand
        if isinstance(literal, ast.Literal) and literal.kind == "string" and not node.safe:
            # TIMESTAMP '...' and DATE '...' (and CASTs of constants): read them now,
            # rather than fail on every row
            text = str(literal.value)
            if target.is_timestamp and parse_timestamp_literal(text) is None:
                fail(self.diag, "BindError", f"cannot read timestamp '{text}'; write "
                                "'YYYY-MM-DD HH:MM:SS[.fff]'", node.span)
            if target.name == "DATE" and parse_date_literal(text) is None:
                fail(self.diag, "BindError", f"cannot read date '{text}'; write 'YYYY-MM-DD'",
                                node.span)
            if target.name == "TIME" and not _reads_as_time(text):
                fail(self.diag, "BindError", f"cannot read time '{text}'; write "
                     "'HH:MM:SS[.fff]'", node.span)
        nullable = source.nullable or node.safe or (source.is_string and not target.is_string)
        fn = "TRY_CAST" if node.safe else "CAST"
        return lg.Call(fn, (operand,), target.with_nullable(nullable), span=node.span)

    def unknown_function(self, node: ast.Call) -> NoReturn:
        if node.name.upper() in functions.NOT_IMPLEMENTED:
            fail(self.diag, "UnsupportedError", f"{node.name} is a Flink built-in function "
                 "sqlc does not implement yet", node.span)
        suggestion = did_you_mean(node.name, functions.KNOWN_FUNCTIONS)
        fail(self.diag, 
            "BindError",
            f"unknown function {node.name}"
            + (f"; did you mean {suggestion}?" if suggestion else ""),
            node.span,
        )

    def call(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        """A scalar function call (IF is a CASE)."""
        name = node.name
        self.refuse_non_scalar(node, where)
        if len(node.args) == 2 and (rows := fields.row_comparison(
                self, name, node.args[0], node.args[1], scope, node.span)) is not None:
            return self.expr(rows, scope, where)  # ROWs IS [NOT] DISTINCT FROM each other
        if name == "ROW":  # ROW(a, b) and (a, b), where a ROW is no SELECT item
            fields.refuse_built_row(self, node, where)
        if name == "IF":
            if len(node.args) != 3:
                fail(self.diag, "BindError", "IF takes (condition, then, else)", node.span)
            return self.case(ast.Case(None, ((node.args[0], node.args[1]),), node.args[2],
                                      span=node.span), scope, where)
        if name in functions.EXTRACT_SHORTHANDS:
            return self.extract_shorthand(node, scope, where)
        if (name in ("FLOOR", "CEIL") and len(node.args) == 2
                and isinstance(node.args[1], ast.Literal) and node.args[1].kind == "keyword"):
            return self.floor_ceil_to(node, scope, where)
        if name == "JSON_VALUE" and len(node.args) == 7:
            return self.json_value(node, scope, where)
        if name == "PERIOD OVERLAPS":
            return self.overlaps(node, scope, where)
        if name == "JSON_EXISTS" and len(node.args) == 3:
            return self.json_exists(node, scope, where)
        if name == "JSON_QUERY" and len(node.args) == 6:
            return self.json_query(node, scope, where)
        if name == "UNIX_TIMESTAMP" and not node.args:
            now = lg.Call("NOW", (), t.TIMESTAMP_LTZ.with_nullable(False), span=node.span)
            return lg.Call(name, (now,), t.BIGINT.with_nullable(False), span=node.span)
        scalar = functions.SCALARS.get(name)
        if scalar is None:
            self.unknown_function(node)
        args_ast = list(node.args)
        if name in functions.UNIT_FUNCTIONS and args_ast:
            unit = args_ast[0]
            self.check_time_unit(name, unit)
            if isinstance(unit, ast.Column) and unit.table is None:
                args_ast[0] = ast.Literal(unit.name.upper(), "string", span=unit.span)
            elif isinstance(unit, ast.Literal) and unit.kind in ("string", "keyword"):
                args_ast[0] = ast.Literal(str(unit.value).upper(), "string", span=unit.span)
        count = len(args_ast)
        if count < scalar.min_args or (scalar.max_args is not None and count > scalar.max_args):
            expected = (str(scalar.min_args) if scalar.min_args == scalar.max_args
                        else f"{scalar.min_args} to {scalar.max_args or 'any number of'}")
            fail(self.diag, "BindError", f"{name} takes {expected} argument(s), got {count}",
                            node.span)
        args = tuple(self.exprs(args_ast, scope, where))
        if name in ("JSON_ARRAY", "JSON_OBJECT"):
            args = json_constructor_values(name, args)
        if name == "TO_TIMESTAMP_LTZ" and len(args) == 2:
            precision = args[1]
            if not (isinstance(precision, lg.Const) and precision.value in (0, 3)):
                fail(self.diag, "BindError", "TO_TIMESTAMP_LTZ precision must be 0 (seconds) or "
                                "3 (milliseconds)", args_ast[1].span)
        if scalar.constants is not None:
            problem = scalar.constants([a.value if isinstance(a, lg.Const) else
                                        functions.NOT_CONSTANT for a in args])
            if problem is not None:
                index, message = problem
                fail(self.diag, "BindError", message, args_ast[index].span)
        if name == "DATE_TRUNC":
            args = (args[0], args[1])
        result = scalar.result([a.type for a in args] if name != "DATE_TRUNC"
                               else [args[1].type, args[1].type])
        if isinstance(result, str):
            fail(self.diag, "BindError", result, node.span)
        return lg.Call(name, args, result, span=node.span)

    def check_time_unit(self, name: str, unit: ast.Expr) -> None:
        """The unit of DATE_TRUNC/TIMESTAMPDIFF/TIMESTAMPADD is a keyword or a
        string literal naming one (``DATE_TRUNC(model_id, ...)`` is refused here)."""
        text = (unit.name if isinstance(unit, ast.Column) and unit.table is None
                else unit.value if isinstance(unit, ast.Literal) and unit.kind in ("string", "keyword")
                else None)
        if not isinstance(text, str) or functions.time_unit(text) is None:
            got = (f"'{text}'" if isinstance(text, str)
                   else "NULL" if isinstance(unit, ast.Literal) and unit.kind == "null"
                   else "an expression")
            fail(self.diag, "BindError", f"{name} takes a unit of "
                 f"{', '.join(functions.TIME_UNITS)}; got {got}", unit.span)

    def temporal_operand(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        operand = self.expr(node.args[0], scope, where)
        if not (operand.type.name in t.TEMPORALS or operand.type.is_null):
            fail(self.diag, "BindError", f"{node.name} takes a TIMESTAMP or DATE, got "
                            f"{operand.type.sql()}", node.args[0].span)
        return operand

    def extract_shorthand(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        """HOUR(ts), DAYOFWEEK(ts), ...: EXTRACT(unit FROM ts), as Flink defines them."""
        if len(node.args) != 1:
            fail(self.diag, "BindError", f"{node.name} takes 1 argument(s), got "
                            f"{len(node.args)}", node.span)
        operand = self.temporal_operand(node, scope, where)
        unit = functions.EXTRACT_SHORTHANDS[node.name]
        return lg.Call("EXTRACT", (lg.Const(unit, t.VARCHAR), operand),
                       t.BIGINT.with_nullable(operand.type.nullable), span=node.span)

    def floor_ceil_to(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        """FLOOR(ts TO unit) / CEIL(ts TO unit): (unit, ts, the type of ts)."""
        unit_node = node.args[1]
        unit = str(unit_node.value).upper()  # type: ignore[union-attr]
        unit = {"MILLISECONDS": "MILLISECOND"}.get(unit, unit.rstrip("S") if unit != "S" else unit)
        if unit not in functions.FLOOR_CEIL_UNITS:
            fail(self.diag, "BindError", f"{node.name}(... TO unit) takes a unit of "
                            + ", ".join(functions.FLOOR_CEIL_UNITS) + f"; got {unit_node.value}",
                            unit_node.span)
        operand = self.temporal_operand(node, scope, where)
        clock_units = ("MILLISECOND", "SECOND", "MINUTE", "HOUR")
        if operand.type.name == "TIME" and unit not in clock_units:
            fail(self.diag, "BindError", f"{node.name}(TIME TO {unit}): a TIME rounds to "
                 + ", ".join(clock_units), unit_node.span)
        if operand.type.name == "DATE" and unit in clock_units:
            fail(self.diag, "UnsupportedError", f"{node.name}({operand.type.sql()} TO {unit}) "
                            "is not supported; use a TIMESTAMP", node.span)
        fn = f"{node.name} TO"
        type_name = lg.Const(operand.type.sql(), t.VARCHAR)
        result = functions.SCALARS[fn].result([t.VARCHAR, operand.type, t.VARCHAR])
        return lg.Call(fn, (lg.Const(unit, t.VARCHAR), operand, type_name), result,  # type: ignore[arg-type]
                       span=node.span)

    def json_value(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        """JSON_VALUE(json, path [RETURNING type] [NULL | DEFAULT x ON EMPTY]
        [NULL | DEFAULT x ON ERROR]); the parser gives the clauses in a fixed order."""
        json_ast, path_ast, returning_ast, empty_ast, empty_default_ast, error_ast, \
            error_default_ast = node.args
        json_arg, path = self.exprs((json_ast, path_ast), scope, where)
        if not (json_arg.type.is_string or json_arg.type.is_null):
            fail(self.diag, "BindError", f"JSON_VALUE takes JSON text (a string), got "
                            f"{json_arg.type.sql()}", json_ast.span)
        problem = functions.SCALARS["JSON_EXISTS"].constants(  # type: ignore[misc]
            [None, path.value if isinstance(path, lg.Const) else functions.NOT_CONSTANT])
        if problem is not None:
            fail(self.diag, "BindError", problem[1].replace("JSON_EXISTS", "JSON_VALUE"),
                 path_ast.span)
        target = type_of(returning_ast.to, self.diag)  # type: ignore[attr-defined]
        if target is None:
            raise Abort
        if target.name not in functions.JSON_RETURNING:
            fail(self.diag, "BindError", f"JSON_VALUE cannot return {target.sql()}; use one of "
                            + ", ".join(functions.JSON_RETURNING), returning_ast.span)
        args: list[lg.BoundExpr] = [json_arg, path, lg.Const(target.name, t.VARCHAR)]
        for kind_ast, default_ast, on in ((empty_ast, empty_default_ast, "EMPTY"),
                                          (error_ast, error_default_ast, "ERROR")):
            kind = str(kind_ast.value)  # type: ignore[attr-defined]
            if kind == "ERROR":
                fail(self.diag, "UnsupportedError", f"ERROR ON {on} is not supported: a sqlc "
                                "pipeline keeps running on bad input; write NULL ON "
                                f"{on} or DEFAULT <value> ON {on}", kind_ast.span)
            default = self.expr(default_ast, scope, where)
            if t.common_type(target, default.type) is None and not (
                    target.is_string or default.type.is_null):
                fail(self.diag, "BindError", f"JSON_VALUE's DEFAULT ON {on} is "
                                f"{default.type.sql()}, not {target.sql()}", default_ast.span)
            args += [lg.Const(kind, t.VARCHAR), default]
        return lg.Call("JSON_VALUE", tuple(args), target.with_nullable(True), span=node.span)

    def overlaps(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        """``(r0, r1) OVERLAPS (r2, r3)``, each second value an end or an
        INTERVAL after the start (made an end here); the runtime's
        ``overlaps`` is Calcite's rewrite of it."""
        bound = self.exprs(node.args, scope, where)
        ends = []
        for start, end, start_ast, end_ast in ((bound[0], bound[1], *node.args[0:2]),
                                               (bound[2], bound[3], *node.args[2:4])):
            if not (start.type.name in t.TEMPORALS or start.type.is_null):
                fail(self.diag, "BindError", "OVERLAPS compares periods of a TIMESTAMP, DATE "
                     f"or TIME, got {start.type.sql()}", start_ast.span)
            if end.type.name == "INTERVAL":
                end = self.period_end(start, end, end_ast)
            ends.append((start, end, end_ast))
        (r0, r1, _), (r2, r3, r3_ast) = ends
        for a, b, b_ast in ((r0, r1, node.args[1]), (r0, r2, node.args[2]), (r0, r3, r3_ast)):
            if t.common_type(a.type, b.type) is None and not (a.type.is_null or b.type.is_null):
                fail(self.diag, "BindError", f"OVERLAPS compares {a.type.sql()} with "
                     f"{b.type.sql()}", b_ast.span)
        nullable = any(b.type.nullable for b in (r0, r1, r2, r3))
        return lg.Call("OVERLAPS", (r0, r1, r2, r3), t.BOOLEAN.with_nullable(nullable),
                       span=node.span)

    def period_end(self, start: lg.BoundExpr, interval: lg.BoundExpr, node: ast.Expr
                   ) -> lg.BoundExpr:
        """The end of an OVERLAPS period given as (start, interval)."""
        typ = start.type.plain().with_nullable(start.type.nullable or interval.type.nullable)
        if start.type.name == "DATE":  # days: a whole number of days only
            if not (isinstance(interval, lg.Const) and isinstance(interval.value, int)
                    and interval.value % 86_400_000 == 0):
                fail(self.diag, "BindError", "a DATE period's INTERVAL is a constant number "
                     "of days", node.span)
            interval = lg.Const(interval.value // 86_400_000, t.INT.with_nullable(False),
                                span=interval.span)
        # a TIME period is not wrapped at midnight (sqlc; Flink's TIME + INTERVAL wraps)
        return lg.Call("+", (start, interval), typ, span=node.span)

    def json_text_and_path(self, node: ast.Call, scope: Scope, where: str
                           ) -> tuple[lg.BoundExpr, lg.BoundExpr]:
        """The JSON text and the path of JSON_EXISTS / JSON_QUERY, checked."""
        json_ast, path_ast = node.args[:2]
        json_arg, path = self.exprs((json_ast, path_ast), scope, where)
        for bound, arg_ast, what in ((json_arg, json_ast, "JSON text (a string)"),
                                     (path, path_ast, "a JSON path (a string)")):
            if not (bound.type.is_string or bound.type.is_null):
                fail(self.diag, "BindError", f"{node.name} takes {what}, got "
                     f"{bound.type.sql()}", arg_ast.span)
        problem = functions.SCALARS[node.name].constants(  # type: ignore[misc]
            [None, path.value if isinstance(path, lg.Const) else functions.NOT_CONSTANT])
        if problem is not None:
            fail(self.diag, "BindError", problem[1], path_ast.span)
        return json_arg, path

    def refuse_error_clause(self, node: ast.Call, kind_ast: ast.Expr, on: str) -> str:
        """The clause's word; ERROR ON EMPTY/ERROR is refused as JSON_VALUE's is."""
        kind = str(kind_ast.value)  # type: ignore[attr-defined]
        if kind == "ERROR":
            fail(self.diag, "UnsupportedError", f"ERROR ON {on} is not supported in "
                 f"{node.name}: a sqlc pipeline keeps running on bad input; write another "
                 f"ON {on} behaviour", kind_ast.span)
        return kind

    def json_exists(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        """JSON_EXISTS(json, path [TRUE | FALSE | UNKNOWN ON ERROR]): FALSE ON
        ERROR, the default, is left out of the call."""
        json_arg, path = self.json_text_and_path(node, scope, where)
        on_error = self.refuse_error_clause(node, node.args[2], "ERROR")
        args: tuple[lg.BoundExpr, ...] = (json_arg, path)
        if on_error != "FALSE":
            args += (lg.Const(on_error, t.VARCHAR),)
        nullable = json_arg.type.nullable or path.type.nullable or on_error == "UNKNOWN"
        return lg.Call("JSON_EXISTS", args, t.BOOLEAN.with_nullable(nullable), span=node.span)

    def json_query(self, node: ast.Call, scope: Scope, where: str) -> lg.BoundExpr:
        """JSON_QUERY(json, path [RETURNING type] [wrapper] [x ON EMPTY] [y ON
        ERROR]); the parser gives the clauses in a fixed order, and the
        defaults at the end (WITHOUT ARRAY, NULL, NULL) are left out of the call."""
        json_arg, path = self.json_text_and_path(node, scope, where)
        returning_ast, wrapper_ast, empty_ast, error_ast = node.args[2:]
        target = type_of(returning_ast.to, self.diag)  # type: ignore[attr-defined]
        if target is None:
            raise Abort
        as_array = target.name == "ARRAY" and target.children[0].is_string
        if not (target.is_string or as_array):
            fail(self.diag, "UnsupportedError", f"JSON_QUERY ... RETURNING {target.sql()} is "
                 "not supported; JSON_QUERY returns the JSON text (STRING) or its array's "
                 "elements (ARRAY<STRING>), as in Flink", returning_ast.span)
        words = [str(wrapper_ast.value),  # type: ignore[attr-defined]
                 self.refuse_error_clause(node, empty_ast, "EMPTY"),
                 self.refuse_error_clause(node, error_ast, "ERROR"),
                 "ARRAY" if as_array else "STRING"]
        if as_array and "EMPTY OBJECT" in words[1:3]:
            fail(self.diag, "BindError", "EMPTY OBJECT ON EMPTY/ERROR is no ARRAY<STRING>; "
                 "write NULL or EMPTY ARRAY", node.span)
        defaults = ("WITHOUT ARRAY", "NULL", "NULL", "STRING")
        while words and words[-1] == defaults[len(words) - 1]:
            words.pop()
        args = (json_arg, path, *(lg.Const(w, t.VARCHAR) for w in words))
        typ = target if as_array else t.VARCHAR
        return lg.Call("JSON_QUERY", args, typ.with_nullable(True), span=node.span)

    def refuse_non_scalar(self, node: ast.Call, where: str) -> None:
        """Window functions, aggregates and group windows are not scalar calls."""
        name = node.name
        if node.over is not None:
            fail(self.diag, "BindError", f"window function {name} is not allowed in {where}",
                            node.span)
        if name in functions.AGGREGATES:
            fail(self.diag, 
                "BindError",
                f"aggregate function {name} is not allowed in {where}",
                node.span,
            )
        if name in functions.WINDOW_ONLY:
            fail(self.diag, "BindError", f"{name} needs an OVER clause", node.span)
        if name in functions.GROUP_WINDOWS:
            fail(self.diag, 
                "BindError",
                f"{name}(...) is a group window: it belongs in GROUP BY (or use the window "
                f"table function TABLE({name}(TABLE t, DESCRIPTOR(col), ...)))",
                node.span,
            )
        if name in functions.GROUP_WINDOW_PROPERTIES:
            fail(self.diag, "BindError", f"{name} needs a group window in GROUP BY", node.span)
        if node.distinct or node.filter is not None or node.within_group:
            fail(self.diag, "BindError", f"{name} is not an aggregate function", node.span)


def _reads_as_time(text: str) -> bool:
    """Whether a TIME literal reads as the runtime reads it."""
    from runtime_lib.temporal import parse_times

    return bool(parse_times([text.strip()])[1][0])


def json_constructor_values(name: str, args: tuple[lg.BoundExpr, ...]
                            ) -> tuple[lg.BoundExpr, ...]:
    """JSON_ARRAY's values, JSON_OBJECT's values (not its keys): one that is
    itself a JSON_ARRAY or JSON_OBJECT call goes in as JSON, not as a string
    (Flink: ``JSON_ARRAY(JSON_ARRAY(1))`` is ``[[1]]``), marked FORMAT JSON."""
    first_value = 2 if name == "JSON_OBJECT" else 1  # after the NULL ON NULL mode
    step = 2 if name == "JSON_OBJECT" else 1
    marked = list(args)
    for i in range(first_value, len(args), step):
        arg = args[i]
        if isinstance(arg, lg.Call) and arg.fn in ("JSON_ARRAY", "JSON_OBJECT"):
            marked[i] = lg.Call("FORMAT JSON", (arg,), arg.type, span=arg.span)
    return tuple(marked)


# the binder of each expression class (ExpressionBinder.expr); a class without an
# entry is unsupported
_BIND: dict[type, Callable[[ExpressionBinder, Any, Scope, str], lg.BoundExpr]] = {
    Ref: ExpressionBinder.ref,
    ast.Column: ExpressionBinder.column,
    ast.FieldAccess: ExpressionBinder.field_access,
    ast.Literal: ExpressionBinder.literal,
    ast.Interval: ExpressionBinder.interval,
    ast.Star: ExpressionBinder.star,
    ast.Unary: ExpressionBinder.unary,
    ast.Binary: ExpressionBinder.binary,
    ast.IsNull: ExpressionBinder.is_null,
    ast.IsBool: ExpressionBinder.is_bool,
    ast.InList: ExpressionBinder.in_list,
    ast.Between: ExpressionBinder.between,
    ast.Like: ExpressionBinder.like,
    ast.Case: ExpressionBinder.case,
    ast.Cast: ExpressionBinder.cast,
    ast.Extract: ExpressionBinder.extract,
    ast.Call: ExpressionBinder.call,
    ast.ScalarSubquery: ExpressionBinder.scalar_subquery,
    ast.InSubquery: ExpressionBinder.predicate_subquery,
    ast.Exists: ExpressionBinder.predicate_subquery,
}

"""sqlglot expressions -> ``compiler.ast`` expressions, keeping spans.

``ExpressionConverter`` converts what can stand in an expression: literals,
columns, operators, calls (with DISTINCT, FILTER, WITHIN GROUP, OVER), CASE,
CAST, intervals, types and ORDER BY items. Subqueries inside an expression are
queries: ``StatementConverter`` (compiler/parse/statements.py) converts them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from compiler import ast
from compiler.errors import Span, SqlcError, SqlSyntaxError, UnsupportedError
from compiler.parse.errors import _SPAN, ConversionError, span_of

INTERVAL_UNITS = {
    "MILLISECOND": "MILLISECOND",
    "MILLISECONDS": "MILLISECOND",
    "SECOND": "SECOND",
    "SECONDS": "SECOND",
    "MINUTE": "MINUTE",
    "MINUTES": "MINUTE",
    "HOUR": "HOUR",
    "HOURS": "HOUR",
    "DAY": "DAY",
    "DAYS": "DAY",
    "WEEK": "WEEK",
    "WEEKS": "WEEK",
    "MONTH": "MONTH",
    "MONTHS": "MONTH",
    "YEAR": "YEAR",
    "YEARS": "YEAR",
}


# the call a `(t1, t2) OVERLAPS (t3, t4)` becomes: a name no SQL call can have
OVERLAPS = "PERIOD OVERLAPS"


class _Node(exp.Expression):
    """Carries an already-built ``compiler.ast`` node through sqlglot's tree."""

    arg_types = {"node": True}


_BINARY = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
    exp.Mod: "%",
    exp.DPipe: "||",
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.And: "AND",
    exp.Or: "OR",
}

_NO_PAREN_FUNCTIONS = {
    exp.CurrentTimestamp: "CURRENT_TIMESTAMP",
    exp.CurrentDate: "CURRENT_DATE",
    exp.CurrentTime: "CURRENT_TIME",
}


class ExpressionConverter:
    """Turns sqlglot expressions into ``compiler.ast`` nodes, keeping spans."""

    def fail(self, kind: type[SqlcError], message: str, node: exp.Expression | None) -> Any:
        """Refuse ``node``: ``kind`` is SqlSyntaxError or UnsupportedError."""
        raise ConversionError(kind, message, span_of(node))

    def sp(self, node: exp.Expression) -> Span:
        return span_of(node) or Span(0, 0)

    def query(self, node: exp.Expression) -> ast.Query:
        """A subquery in an expression; ``StatementConverter`` converts queries."""
        raise NotImplementedError

    def order(self, node: exp.Expression | None) -> tuple[ast.OrderItem, ...]:
        if node is None:
            return ()
        items = []
        for ordered in node.expressions:
            desc = bool(ordered.args.get("desc"))
            nulls_first = ordered.args.get("nulls_first")
            explicit = "NULLS" in (ordered.sql().upper())
            items.append(
                ast.OrderItem(
                    self.expr(ordered.this),
                    desc,
                    bool(nulls_first) if explicit else None,
                    span=self.sp(ordered),
                )
            )
        return tuple(items)

    # -- types -----------------------------------------------------------------------

    def type_name(self, node: exp.DataType, span: Span | None = None) -> ast.TypeName:
        if "sqlc_type" in node.meta:  # a ROW type, read as the DDL reads it
            return node.meta["sqlc_type"]
        span = span or self.sp(node)
        this = node.this
        name = this.name if isinstance(this, exp.DataType.Type) else str(this)
        if name == "USERDEFINED":  # a name sqlglot does not know; the analyzer reports it
            name = str(node.args.get("kind") or name).upper()
        name = {
            "TEXT": "VARCHAR",
            "CHAR": "CHAR",
            "NCHAR": "CHAR",
            "NVARCHAR": "VARCHAR",
            "INTEGER": "INT",
            "SMALLINT": "SMALLINT",
            "TINYINT": "TINYINT",
            "FLOAT": "FLOAT",
            "DECIMAL": "DECIMAL",
            "TIMESTAMPLTZ": "TIMESTAMP_LTZ",
            "TIMESTAMPTZ": "TIMESTAMP_LTZ",
            "STRUCT": "ROW",
            "DATETIME": "TIMESTAMP",
        }.get(name, name)
        params: list[int] = []
        children: list[ast.TypeName] = []
        for param in node.expressions:
            if isinstance(param, exp.DataType):
                children.append(self.type_name(param, span))
            elif isinstance(param, exp.DataTypeParam):
                value = param.this
                if isinstance(value, exp.Literal) and not value.is_string:
                    params.append(int(value.this))
                elif isinstance(value, exp.DataType):
                    children.append(self.type_name(value, span))
                else:
                    return self.fail(UnsupportedError, f"Unsupported type parameter {param.sql()}",
                                     node)
            elif isinstance(param, exp.ColumnDef):
                kind = param.args.get("kind")
                if kind is not None:
                    children.append(self.type_name(kind, span))
            else:
                return self.fail(UnsupportedError, f"Unsupported type {node.sql()}", node)
        return ast.TypeName(name, tuple(params), tuple(children), span=span)

    # -- expressions ---------------------------------------------------------------

    def expr(self, node: exp.Expression | None) -> ast.Expr:
        # The checks go from the most specific node class to the catch-all
        # exp.Func: their order matters (exp.Count, exp.Cast, exp.Trim and
        # exp.Anonymous are all functions to sqlglot).
        if node is None:
            return self.fail(SqlSyntaxError, "Expected an expression", None)
        span = self.sp(node)
        if isinstance(node, _Node):
            return node.args["node"]
        if isinstance(node, exp.Paren):
            return self.expr(node.this)
        if isinstance(node, (exp.Column, exp.Star, exp.Identifier)):
            return self.column(node, span)
        if isinstance(node, (exp.Literal, exp.Boolean, exp.Null)):
            return self.literal(node, span)
        if isinstance(node, exp.Interval):
            return self.interval(node)
        if isinstance(node, exp.Neg):
            inner = self.expr(node.this)
            if isinstance(inner, ast.Literal) and inner.kind in ("integer", "decimal"):
                return ast.Literal(-inner.value, inner.kind, span=span)  # type: ignore[operator]
            return ast.Unary("-", inner, span=span)
        if isinstance(node, exp.Not):
            return self.negation(node, span)
        op = _BINARY.get(type(node))
        if op is not None:
            return ast.Binary(op, self.expr(node.this), self.expr(node.expression), span=span)
        if isinstance(node, exp.Overlaps):  # (start, end | interval) OVERLAPS (...)
            periods = []
            for side in (node.this, node.expression):
                if isinstance(side, exp.Paren):
                    side = side.this
                if not isinstance(side, exp.Tuple) or len(side.expressions) != 2:
                    return self.fail(SqlSyntaxError, "OVERLAPS compares two periods, each "
                                     "(start, end) or (start, interval)", side)
                periods += [self.expr(e) for e in side.expressions]
            return ast.Call(OVERLAPS, tuple(periods), span=span)
        if isinstance(node, (exp.Is, exp.In, exp.Between, exp.Like, exp.ILike, exp.NullSafeEQ,
                             exp.NullSafeNEQ, exp.Escape)):
            return self.predicate(node, span)
        if isinstance(node, exp.Trim):
            position = str(node.args.get("position") or "BOTH").upper()
            name = {"LEADING": "LTRIM", "TRAILING": "RTRIM"}.get(position, "TRIM")
            chars = node.args.get("expression")
            args = (self.expr(node.this),) + ((self.expr(chars),) if chars is not None else ())
            return ast.Call(name, args, span=span)
        if isinstance(node, exp.Initcap):
            # sqlglot adds its default word delimiters; Flink's INITCAP has one argument
            return ast.Call("INITCAP", (self.expr(node.this),), span=span)
        if isinstance(node, exp.JSONObject):
            # JSON_OBJECT(KEY k VALUE v, ...) [NULL | ABSENT ON NULL]: the mode first
            mode = str(node.args.get("null_handling") or "NULL ON NULL").split()[0].upper()
            args: list[ast.Expr] = [ast.Literal(mode, "keyword", span=span)]
            for pair in node.expressions:
                if not isinstance(pair, exp.JSONKeyValue):
                    return self.fail(SqlSyntaxError, "JSON_OBJECT takes KEY k VALUE v pairs", pair)
                args += [self.expr(pair.this), self.expr(pair.expression)]
            return ast.Call("JSON_OBJECT", tuple(args), span=span)
        if isinstance(node, exp.Anonymous) and node.name.upper() == "JSON_ARRAY":
            # Flink's default: ABSENT ON NULL
            return ast.Call("JSON_ARRAY", (ast.Literal("ABSENT", "keyword", span=span),
                                           *(self.expr(e) for e in node.expressions)), span=span)
        if isinstance(node, exp.Bracket):  # arr[1], m['key']
            if len(node.expressions) != 1:
                return self.fail(SqlSyntaxError, "[...] takes one index or key", node)
            return ast.Call("ELEMENT_AT", (self.expr(node.this), self.expr(node.expressions[0])),
                            span=span)
        if isinstance(node, exp.Case):
            return self.case(node, span)
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return self.cast(node, span)
        if isinstance(node, exp.Extract):
            return ast.Extract(node.this.name.upper(), self.expr(node.expression), span=span)
        if isinstance(node, (exp.Window, exp.WithinGroup, exp.Filter)):
            # the call starts at its function name, not at OVER / WITHIN / FILTER
            return self.qualified_call(node, self.sp(node.this).to(span))
        if isinstance(node, exp.Count):
            return self.count(node, span)
        for cls, name in _NO_PAREN_FUNCTIONS.items():
            if isinstance(node, cls):
                arg = node.this
                return ast.Call(name, (self.expr(arg),) if arg is not None else (), span=span)
        if isinstance(node, exp.Anonymous):
            return self.call(node.name.upper(), node.expressions, node, span)
        if isinstance(node, exp.Exists):
            return ast.Exists(self.query(node.this), span=span)
        if isinstance(node, exp.Subquery):
            return ast.ScalarSubquery(self.query(node.this), span=span)
        if isinstance(node, exp.Select):
            return ast.ScalarSubquery(self.query(node), span=span)
        if isinstance(node, exp.Func):
            # Functions sqlglot gives a node of their own (e.g. SUBSTRING, TRIM,
            # CONCAT, COALESCE): keep their SQL name and arguments in order.
            args = []
            for key in node.arg_types:
                value = node.args.get(key)
                if value is None or isinstance(value, bool):
                    continue
                args.extend(value if isinstance(value, list) else [value])
            return self.call(node.sql_name(), args, node, span)
        if isinstance(node, exp.Tuple):  # (a, b): Flink's implicit ROW(a, b)
            return ast.Call("ROW", tuple(self.expr(e) for e in node.expressions), span=span)
        if isinstance(node, exp.Dot):  # (bid).price, t.bid.address.city
            return ast.FieldAccess(self.expr(node.this), node.expression.name, span=span)
        return self.fail(UnsupportedError, f"Unsupported expression {node.sql()}", node)

    def column(self, node: exp.Expression, span: Span) -> ast.Expr:
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                return ast.Star(node.table or None, span=span)
            if node.args.get("catalog"):  # t.bid.address.city: nested ROW fields
                base = ast.FieldAccess(ast.Column(node.db, node.catalog, span=span),
                                       node.table, span=span)
                return ast.FieldAccess(base, node.name, span=span)
            if node.args.get("db"):  # t.bid.price: a field of the ROW column t.bid
                base = ast.Column(node.table, node.db, span=span)
                return ast.FieldAccess(base, node.name, span=span)
            if (not node.table and node.name.upper() == "LOCALTIMESTAMP"
                    and not node.this.args.get("quoted")):
                # Flink writes LOCALTIMESTAMP without parentheses (a reserved word;
                # a column of that name is written `localtimestamp`)
                return ast.Call("LOCALTIMESTAMP", (), span=span)
            return ast.Column(node.name, node.table or None, span=span)
        if isinstance(node, exp.Star):
            return ast.Star(span=span)
        return ast.Column(node.name, span=span)  # exp.Identifier

    def literal(self, node: exp.Expression, span: Span) -> ast.Literal:
        if isinstance(node, exp.Literal):
            if node.is_string:
                return ast.Literal(node.this, "string", span=span)
            text = node.this
            if re.fullmatch(r"\d+", text):
                return ast.Literal(int(text), "integer", span=span)
            return ast.Literal(float(text), "decimal", span=span)
        if isinstance(node, exp.Boolean):
            return ast.Literal(bool(node.this), "boolean", span=span)
        return ast.Literal(None, "null", span=span)  # exp.Null

    def negation(self, node: exp.Not, span: Span) -> ast.Expr:
        """NOT: folded into IS [NOT] NULL/TRUE/FALSE, NOT IN, NOT BETWEEN, NOT LIKE."""
        inner_node = node.this
        if isinstance(inner_node, exp.Paren):
            inner_node = inner_node.this
        if isinstance(inner_node, exp.Is):
            converted = self.expr(inner_node)
            if isinstance(converted, (ast.IsNull, ast.IsBool)):
                return type(converted)(
                    **{**converted.__dict__, "negated": not converted.negated}
                )
        if isinstance(inner_node, (exp.In, exp.Between, exp.Like, exp.ILike, exp.Exists)):
            converted = self.expr(inner_node)
            return type(converted)(**{**converted.__dict__, "negated": True})
        return ast.Unary("NOT", self.expr(node.this), span=span)

    def predicate(self, node: exp.Expression, span: Span) -> ast.Expr:
        """IS, IN, BETWEEN, LIKE [ESCAPE], IS [NOT] DISTINCT FROM."""
        if isinstance(node, exp.Is):
            target = node.expression
            if isinstance(target, exp.Null):
                return ast.IsNull(self.expr(node.this), span=span)
            if isinstance(target, exp.Boolean):
                return ast.IsBool(self.expr(node.this), bool(target.this), span=span)
            if isinstance(target, exp.JSON):  # IS JSON [VALUE | SCALAR | ARRAY | OBJECT]
                kind = str(target.this or "VALUE").upper()
                return ast.Call("IS JSON", (self.expr(node.this),
                                            ast.Literal(kind, "keyword", span=span)), span=span)
            return self.fail(UnsupportedError, f"Unsupported IS expression: {node.sql()}", node)
        if isinstance(node, exp.In):
            query = node.args.get("query")
            if query is not None:
                inner = query.this if isinstance(query, exp.Subquery) else query
                return ast.InSubquery(self.expr(node.this), self.query(inner), span=span)
            if not node.expressions:  # x IN (): a syntax error in SQL and in Flink
                return self.fail(SqlSyntaxError, "Expected at least one value in IN (...)", node)
            return ast.InList(
                self.expr(node.this), tuple(self.expr(e) for e in node.expressions), span=span
            )
        if isinstance(node, exp.Between):
            return ast.Between(
                self.expr(node.this),
                self.expr(node.args["low"]),
                self.expr(node.args["high"]),
                symmetric=bool(node.args.get("symmetric")),
                span=span,
            )
        if isinstance(node, (exp.Like, exp.ILike)):
            return ast.Like(self.expr(node.this), self.expr(node.expression),
                            negated=bool(node.args.get("negate")), span=span)
        if isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
            name = "IS NOT DISTINCT FROM" if isinstance(node, exp.NullSafeEQ) else "IS DISTINCT FROM"
            return ast.Call(name, (self.expr(node.this), self.expr(node.expression)), span=span)
        like = self.expr(node.this)  # exp.Escape
        if not isinstance(like, ast.Like):
            return self.fail(SqlSyntaxError, "ESCAPE only follows LIKE", node)
        return ast.Like(like.operand, like.pattern, self.expr(node.expression), span=span)

    def case(self, node: exp.Case, span: Span) -> ast.Case:
        operand = node.this
        whens = tuple(
            (self.expr(w.this), self.expr(w.args["true"])) for w in node.args["ifs"]
        )
        default = node.args.get("default")
        return ast.Case(
            self.expr(operand) if operand is not None else None,
            whens,
            self.expr(default) if default is not None else None,
            span=span,
        )

    def cast(self, node: exp.Cast, span: Span) -> ast.Expr:
        """CAST / TRY_CAST; ``TIMESTAMP '...'`` (and DATE, TIME) is a typed literal."""
        safe = isinstance(node, exp.TryCast) or bool(node.args.get("safe"))
        to = node.args["to"]
        operand = self.expr(node.this)
        type_name = self.type_name(to, span_of(to) or span)
        if (
            isinstance(node.this, exp.Literal)
            and node.this.is_string
            and type_name.name in ("TIMESTAMP", "DATE", "TIME", "TIMESTAMP_LTZ")
            and not node.meta.get(_SPAN, Span(0, 0)) == span_of(node.this)
            and node.sql().upper().startswith(type_name.name)
        ):
            return ast.Literal(node.this.this, type_name.name.lower(), span=span)
        return ast.Cast(operand, type_name, safe, span=span)

    def qualified_call(self, node: exp.Expression, span: Span) -> ast.Call:
        """A call with OVER (...), WITHIN GROUP (ORDER BY ...) or FILTER (WHERE ...)."""
        if isinstance(node, exp.Window):
            call = self.expr(node.this)
            if not isinstance(call, ast.Call):
                return self.fail(SqlSyntaxError, "OVER must follow a function call", node)
            alias = node.args.get("alias")
            if alias is not None:  # OVER w: the SELECT's WINDOW w AS (...)
                named = getattr(self, "named_windows", {}).get(alias.name.lower())
                if named is None:
                    return self.fail(SqlSyntaxError, f"unknown window {alias.name}; define it "
                                     f"with WINDOW {alias.name} AS (...) after the FROM/WHERE/"
                                     "GROUP BY clauses", alias)
                if node.args.get("partition_by") or node.args.get("order") or node.args.get("spec"):
                    return self.fail(UnsupportedError, "refining a named window in OVER "
                                     f"({alias.name} ...) is not supported; define another "
                                     "WINDOW", node)
                node = named
            spec = ast.WindowSpec(
                tuple(self.expr(e) for e in node.args.get("partition_by") or []),
                self.order(node.args.get("order")),
                self.frame(node.args.get("spec")),
                span=self.sp(node),
            )
            return ast.Call(call.name, call.args, call.distinct, call.filter,
                            call.within_group, spec, span=span)
        if isinstance(node, exp.WithinGroup):
            call = self.expr(node.this)
            if not isinstance(call, ast.Call):
                return self.fail(SqlSyntaxError, "WITHIN GROUP must follow a function call", node)
            return ast.Call(call.name, call.args, call.distinct, call.filter,
                            self.order(node.expression), span=span)
        call = self.expr(node.this)  # exp.Filter
        if not isinstance(call, ast.Call):
            return self.fail(SqlSyntaxError, "FILTER must follow an aggregate call", node)
        where = node.expression
        return ast.Call(call.name, call.args, call.distinct,
                        self.expr(where.this if isinstance(where, exp.Where) else where),
                        call.within_group, call.over, span=span)

    def count(self, node: exp.Count, span: Span) -> ast.Call:
        arg = node.this
        distinct = isinstance(arg, exp.Distinct)
        if distinct:
            args = tuple(self.expr(e) for e in arg.expressions)
        elif arg is None:
            args = ()
        else:  # COUNT(a, b) keeps both, for the analyzer to refuse
            args = tuple(self.expr(e) for e in [arg, *node.expressions])
        if not args:
            args = (ast.Star(span=span),)
        return ast.Call("COUNT", args, distinct, span=span)

    def call(self, name: str, args: list, node: exp.Expression, span: Span) -> ast.Call:
        if name == "STR_POSITION":  # POSITION(needle IN haystack)
            name, args = "POSITION", [args[1], args[0]]
        distinct = False
        converted = []
        if name in ("TIMESTAMPDIFF", "TIMESTAMPADD") and args and isinstance(args[0], exp.Column):
            unit = args[0]
            converted.append(ast.Literal(unit.name.upper(), "keyword", span=self.sp(unit)))
            args = args[1:]
        for arg in args:
            if isinstance(arg, exp.Distinct):
                distinct = True
                converted.extend(self.expr(e) for e in arg.expressions)
            elif isinstance(arg, exp.Var):
                converted.append(ast.Literal(arg.name.upper(), "keyword", span=self.sp(arg)))
            else:
                converted.append(self.expr(arg))
        return ast.Call(name, tuple(converted), distinct, span=span)

    def interval(self, node: exp.Interval) -> ast.Interval:
        span = self.sp(node)
        value = node.this
        unit = node.args.get("unit")
        if isinstance(value, exp.Literal):
            text = value.this
        elif isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal):
            text = "-" + value.this.this
        else:
            return self.fail(SqlSyntaxError,
                             "INTERVAL takes a quoted number, e.g. INTERVAL '5' MINUTE", node)
        to_unit = None
        if isinstance(unit, exp.IntervalSpan):
            unit_name = unit.this.name.upper()
            to_unit = INTERVAL_UNITS.get(unit.expression.name.upper(), unit.expression.name)
        elif unit is not None:
            unit_name = unit.name.upper()
        else:  # INTERVAL '5 minutes'
            parts = text.split()
            if len(parts) != 2:
                return self.fail(SqlSyntaxError, 
                    f"INTERVAL '{text}' needs a unit, e.g. INTERVAL '5' MINUTE", node
                )
            text, unit_name = parts[0], parts[1].upper()
        normalized = INTERVAL_UNITS.get(unit_name)
        if normalized is None:
            return self.fail(SqlSyntaxError, 
                f"Unknown interval unit {unit_name}; use one of "
                "MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, YEAR",
                node,
            )
        return ast.Interval(text, normalized, to_unit, span=span)

    def frame(self, spec: exp.Expression | None) -> ast.Frame | None:
        if spec is None:
            return None
        unit = (spec.args.get("kind") or "ROWS").upper()
        written = list(spec.meta.get("sqlc_bound_spans") or [])

        def bound(value: Any, side: Any, index: int) -> ast.FrameBound:
            side_text = (side or "").upper()
            span = written[index] if index < len(written) else self.sp(spec)
            if isinstance(value, str):
                text = value.upper()
                if text == "UNBOUNDED":
                    return ast.FrameBound(f"UNBOUNDED {side_text}", span=span)
                if text == "CURRENT ROW":
                    return ast.FrameBound("CURRENT ROW", span=span)
            if isinstance(value, exp.Expression):
                return ast.FrameBound(side_text, self.expr(value), span=span)
            return self.fail(UnsupportedError, f"Unsupported window frame bound {value}", spec)

        start = bound(spec.args.get("start"), spec.args.get("start_side"), 0)
        end_value = spec.args.get("end")
        end = (
            bound(end_value, spec.args.get("end_side"), 1)
            if end_value is not None
            else ast.FrameBound("CURRENT ROW", span=self.sp(spec))
        )
        return ast.Frame(unit, start, end, span=self.sp(spec))

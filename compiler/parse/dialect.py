"""The dialect: sqlglot's tokenizer and parser, subclassed for what Flink SQL and
the spec add to standard SQL.

``SqlcParser`` parses the statements it owns into ``compiler.ast`` nodes (the
DDL in ``DdlParser``, DESCRIBE and EXPLAIN here) and extends sqlglot's query
parsing: window TVFs with positional or named arguments and ``PARTITION BY``,
``EMIT``, MATCH_RECOGNIZE measures, window frames and set operators as written.
Every node it builds remembers its token range (``_with_span``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from sqlglot import exp, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.parser import Parser as _SqlglotParser
from sqlglot.tokens import TokenType

from compiler import ast
from compiler.errors import Span, did_you_mean
from compiler.parse.ddl import DdlParser
from compiler.parse.errors import _SPAN
from compiler.parse.expressions import _Node
from compiler.parse.statements import StatementConverter

# The parameter names of Flink's window TVFs, in positional order after the
# table and the descriptor.
TVF_PARAMETERS = {
    "TUMBLE": ("size", "offset"),
    "HOP": ("slide", "size", "offset"),
    "CUMULATE": ("step", "size", "offset"),
    "SESSION": ("gap",),
}


def _with_span(method: Callable) -> Callable:
    """Wrap a parser method so the node it returns remembers its token range."""

    @functools.wraps(method)
    def wrapper(self: SqlcParser, *args: Any, **kwargs: Any) -> Any:
        first, index = self._curr, self._index
        node = method(self, *args, **kwargs)
        # only a method that consumed tokens knows the node's extent (at the end of
        # a statement sqlglot's current token is a falsy sentinel at offset 0)
        if isinstance(node, exp.Expression) and first and self._index > index:
            if _SPAN not in node.meta and self._prev.end >= first.start:
                node.meta[_SPAN] = Span(first.start, self._prev.end + 1)
        return node

    return wrapper


class SqlcTokenizer(tokens.Tokenizer):
    IDENTIFIERS = ["`", '"']
    QUOTES = ["'"]
    KEYWORDS = {
        **tokens.Tokenizer.KEYWORDS,
        "MATCH_RECOGNIZE": TokenType.MATCH_RECOGNIZE,
        # sqlglot reads the rest of an EXPLAIN statement as an opaque string
        "EXPLAIN": TokenType.VAR,
    }
    COMMANDS = tokens.Tokenizer.COMMANDS - {TokenType.SHOW, TokenType.COMMAND}


class SqlcParser(DdlParser):
    """sqlglot's parser for Flink SQL as sqlc reads it."""

    # Let every function without special syntax parse as an anonymous call:
    # the analyzer owns the function catalog, not sqlglot.
    FUNCTIONS = {
        name: builder
        for name, builder in _SqlglotParser.FUNCTIONS.items()
        if name in ("COUNT",)
    }
    # JSON_VALUE(json, path [RETURNING type] [behaviour ON EMPTY] [behaviour ON ERROR])
    FUNCTION_PARSERS = {
        **_SqlglotParser.FUNCTION_PARSERS,
        "JSON_VALUE": lambda self: self._parse_sqlc_json_value(),
        "JSON_EXISTS": lambda self: self._parse_sqlc_json_exists(),
        "JSON_QUERY": lambda self: self._parse_sqlc_json_query(),
    }
    # SESSION is a keyword, but GROUP BY SESSION(ts, gap) is a call (legacy group window)
    FUNC_TOKENS = {*_SqlglotParser.FUNC_TOKENS, TokenType.SESSION}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the frame bounds of the window being parsed, as written (see _parse_window)
        self._sqlc_bound_spans: list[Span] = []

    def _parse_sqlc_json_value(self) -> exp.Expression:
        """JSON_VALUE's clauses as plain arguments, in a fixed order: (json, path,
        CAST(NULL AS returning type), ON EMPTY kind, its default, ON ERROR kind,
        its default); a kind is the keyword NULL, ERROR or DEFAULT."""
        json_arg = self._parse_bitwise()
        self._match(TokenType.COMMA)
        path = self._parse_bitwise()
        returning: exp.Expression = exp.DataType.build("VARCHAR")
        if self._match_text_seq("RETURNING"):
            returning = self._parse_types() or returning
        behaviour = {"EMPTY": [exp.var("NULL"), exp.Null()],
                     "ERROR": [exp.var("NULL"), exp.Null()]}
        while True:
            if self._match(TokenType.NULL):
                kind, default = "NULL", exp.Null()
            elif self._match_text_seq("ERROR"):
                kind, default = "ERROR", exp.Null()
            elif self._match(TokenType.DEFAULT):
                kind, default = "DEFAULT", self._parse_bitwise()
            else:
                break
            self._match(TokenType.ON)
            which = "EMPTY" if self._match_text_seq("EMPTY") else "ERROR"
            if which == "ERROR" and not self._match_text_seq("ERROR"):
                self.raise_error("Expected ON EMPTY or ON ERROR in JSON_VALUE")
            behaviour[which] = [exp.var(kind), default]
        cast = exp.Cast(this=exp.Null(), to=returning)
        return exp.Anonymous(this="JSON_VALUE", expressions=[
            json_arg, path, cast, *behaviour["EMPTY"], *behaviour["ERROR"]])

    def _sqlc_keyword(self, first: Any, text: str) -> exp.Expression:
        """A clause's words as one keyword argument, spanned from ``first``."""
        keyword = exp.var(text)
        keyword.meta[_SPAN] = self._span_from(first)
        return keyword

    def _parse_sqlc_json_exists(self) -> exp.Expression:
        """JSON_EXISTS(json, path [TRUE | FALSE | UNKNOWN | ERROR ON ERROR]):
        (json, path, the ON ERROR word), FALSE when not written."""
        json_arg = self._parse_bitwise()
        self._match(TokenType.COMMA)
        path = self._parse_bitwise()
        on_error = exp.var("FALSE")
        first = self._curr
        if self._match_texts(("TRUE", "FALSE", "UNKNOWN", "ERROR")):
            kind = self._prev.text.upper()
            if not self._match_text_seq("ON", "ERROR"):
                self.raise_error(f"Expected ON ERROR after {kind} in JSON_EXISTS")
            on_error = self._sqlc_keyword(first, kind)
        return exp.Anonymous(this="JSON_EXISTS", expressions=[json_arg, path, on_error])

    def _parse_sqlc_json_query(self) -> exp.Expression:
        """JSON_QUERY(json, path [RETURNING type] [WITHOUT [ARRAY] WRAPPER |
        WITH [CONDITIONAL | UNCONDITIONAL] [ARRAY] WRAPPER] [NULL | EMPTY ARRAY
        | EMPTY OBJECT | ERROR ON EMPTY] [... ON ERROR]): (json, path,
        CAST(NULL AS returning type), the wrapper, the ON EMPTY and ON ERROR
        words), each word the default where not written."""
        json_arg = self._parse_bitwise()
        self._match(TokenType.COMMA)
        path = self._parse_bitwise()
        returning: exp.Expression = exp.DataType.build("VARCHAR")
        if self._match_text_seq("RETURNING"):
            returning = self._parse_types() or returning
        wrapper = exp.var("WITHOUT ARRAY")
        first = self._curr
        if self._match_text_seq("WITHOUT"):
            self._match_text_seq("ARRAY")
            if not self._match_text_seq("WRAPPER"):
                self.raise_error("Expected WRAPPER after WITHOUT [ARRAY] in JSON_QUERY")
            wrapper = self._sqlc_keyword(first, "WITHOUT ARRAY")
        elif self._match(TokenType.WITH):
            kind = "UNCONDITIONAL"
            if self._match_texts(("CONDITIONAL", "UNCONDITIONAL")):
                kind = self._prev.text.upper()
            self._match_text_seq("ARRAY")
            if not self._match_text_seq("WRAPPER"):
                self.raise_error("Expected WRAPPER after WITH [CONDITIONAL | UNCONDITIONAL] "
                                 "[ARRAY] in JSON_QUERY")
            wrapper = self._sqlc_keyword(first, f"{kind} ARRAY")
        behaviour = {"EMPTY": exp.var("NULL"), "ERROR": exp.var("NULL")}
        while True:
            first = self._curr
            if self._match(TokenType.NULL):
                kind = "NULL"
            elif self._match_text_seq("ERROR"):
                kind = "ERROR"
            elif self._match_text_seq("EMPTY", "ARRAY"):
                kind = "EMPTY ARRAY"
            elif self._match_text_seq("EMPTY", "OBJECT"):
                kind = "EMPTY OBJECT"
            else:
                break
            if self._match_text_seq("ON", "EMPTY"):
                which = "EMPTY"
            elif self._match_text_seq("ON", "ERROR"):
                which = "ERROR"
            else:
                self.raise_error(f"Expected ON EMPTY or ON ERROR after {kind} in JSON_QUERY")
            behaviour[which] = self._sqlc_keyword(first, kind)
        cast = exp.Cast(this=exp.Null(), to=returning)
        return exp.Anonymous(this="JSON_QUERY", expressions=[
            json_arg, path, cast, wrapper, behaviour["EMPTY"], behaviour["ERROR"]])

    # -- statements --------------------------------------------------------------

    def _parse_statement(self) -> exp.Expression | None:
        if not self._curr:
            return None
        first = self._curr
        word = first.text.upper()
        statement: ast.Statement | None = None
        if word == "CREATE":
            statement = self._parse_sqlc_create()
        elif word == "DROP":
            statement = self._parse_sqlc_drop()
        elif word == "SHOW":
            statement = self._parse_sqlc_show()
        elif word in ("DESCRIBE", "DESC"):
            self._advance()
            name, name_span = self._parse_sqlc_name_spanned()
            statement = ast.Describe(name, name_span=name_span, span=self._span_from(first))
        elif word == "SET":
            statement = self._parse_sqlc_set()
        elif word == "RESET":
            statement = self._parse_sqlc_reset()
        elif first.token_type in (TokenType.VAR, TokenType.IDENTIFIER) and word != "EXPLAIN":
            known = ["SELECT", "INSERT", "CREATE", "DROP", "SHOW", "DESCRIBE", "EXPLAIN", "WITH",
                     "SET", "RESET"]
            suggestion = did_you_mean(word, known)
            self._error_at(
                f"Expected a statement, found '{first.text}'"
                + (f"; did you mean {suggestion}?" if suggestion else ""),
                first,
            )
        elif word == "EXPLAIN":
            self._advance()
            verbose = self._match_text_seq("VERBOSE")
            self._match_text_seq("PLAN", "FOR")
            inner = self._parse_statement()
            statement = ast.Explain(
                self._statement_of(inner), verbose=bool(verbose), span=self._span_from(first)
            )
        if statement is not None:
            return _Node(node=statement)
        index = self._index
        node = super()._parse_statement()
        # INSERT and queries: sqlglot consumed the first keyword before building the node
        if isinstance(node, exp.Expression) and self._index > index and _SPAN not in node.meta:
            node.meta[_SPAN] = self._span_from(first)
        return node

    def _statement_of(self, node: exp.Expression | None) -> ast.Statement:
        if isinstance(node, _Node):
            return node.args["node"]
        if node is None:
            self._error_at("Expected a statement after EXPLAIN")
        return StatementConverter().statement(node)

    # -- SELECT list, joins, OVER, MATCH_RECOGNIZE -------------------------------------

    def _parse_projections(self) -> Any:
        projections = super()._parse_projections()
        if self._prev and self._prev.token_type == TokenType.COMMA:  # `SELECT a, FROM t`
            found = f"found '{self._curr.text}'" if self._curr else "found the end of the statement"
            self._error_at(f"Expected an expression after ',' in the SELECT list, {found}",
                           self._curr or self._prev)
        return projections

    def _parse_join(self, *args: Any, **kwargs: Any) -> Any:
        comma = self._curr and self._curr.token_type == TokenType.COMMA
        join = super()._parse_join(*args, **kwargs)
        if comma and isinstance(join, exp.Join):
            join.meta["sqlc_comma"] = True  # `FROM a, b` is a cross join; `JOIN b` needs ON
        return join

    def parse_set_operation(self, this: Any, *args: Any, **kwargs: Any) -> Any:
        first, index = self._curr, self._index
        setop = super().parse_set_operation(this, *args, **kwargs)
        if isinstance(setop, exp.SetOperation) and first:
            # the operator as written: UNION [ALL | DISTINCT], INTERSECT, EXCEPT
            last = first
            following = self._tokens[index + 1] if index + 1 < len(self._tokens) else None
            if following is not None and following.token_type in (TokenType.ALL,
                                                                   TokenType.DISTINCT):
                last = following
            setop.meta["sqlc_op_span"] = Span(first.start, last.end + 1)
        return setop

    def _parse_window_spec(self) -> Any:
        self._match(TokenType.BETWEEN)
        first = self._curr
        bound = super()._parse_window_spec()
        if first and self._prev and self._prev.end >= first.start:
            self._sqlc_bound_spans.append(self._span_from(first))
        return bound

    def _parse_window(self, this: Any, *args: Any, **kwargs: Any) -> Any:
        before = len(self._sqlc_bound_spans)
        node = super()._parse_window(this, *args, **kwargs)
        spans = self._sqlc_bound_spans[before:]
        del self._sqlc_bound_spans[before:]
        spec = node.args.get("spec") if isinstance(node, exp.Window) else None
        if spec is not None:
            spec.meta["sqlc_bound_spans"] = spans  # frame start (and end) as written
        return node

    def _parse_match_recognize_measure(self) -> Any:
        # Flink writes `expr AS name`; without AS, sqlglot would take the next
        # keyword (PATTERN) for the name
        first = self._curr
        window_frame = self._match_texts(("FINAL", "RUNNING")) and self._prev.text.upper()
        this = self._parse_assignment()
        if self._match(TokenType.ALIAS):
            this = self.expression(exp.Alias(this=this, alias=self._parse_id_var(any_token=True)))
        elif self._curr and self._curr.token_type in (TokenType.VAR, TokenType.IDENTIFIER) and (
            self._curr.text.upper() not in ("ONE", "ALL", "AFTER", "PATTERN", "DEFINE", "WITHIN")
        ):
            self._error_at(f"Expected AS before the MEASURES name '{self._curr.text}'")
        measure = self.expression(exp.MatchRecognizeMeasure(window_frame=window_frame, this=this))
        measure.meta[_SPAN] = self._span_from(first)
        return measure

    def _parse_match_recognize(self) -> Any:
        # sqlglot's clause order, plus what it does not keep: where PATTERN's text,
        # the rows-per-match words and the AFTER MATCH variable stand (errors
        # point there), and Flink's `WITHIN INTERVAL ...` after the pattern
        if not self._match(TokenType.MATCH_RECOGNIZE):
            return None
        self._match_l_paren()
        partition = self._parse_partition_by()
        order = self._parse_order()
        measures = (self._parse_csv(self._parse_match_recognize_measure)
                    if self._match_text_seq("MEASURES") else None)
        rows, rows_first = None, self._curr
        if self._match_text_seq("ONE", "ROW", "PER", "MATCH"):
            rows = exp.var("ONE ROW PER MATCH")
        elif self._match_text_seq("ALL", "ROWS", "PER", "MATCH"):
            text = "ALL ROWS PER MATCH"
            for words in (("SHOW", "EMPTY", "MATCHES"), ("OMIT", "EMPTY", "MATCHES"),
                          ("WITH", "UNMATCHED", "ROWS")):
                if self._match_text_seq(*words):
                    text += " " + " ".join(words)
                    break
            rows = exp.var(text)
        if rows is not None and rows_first:
            rows.meta[_SPAN] = self._span_from(rows_first)
        after = None
        if self._match_text_seq("AFTER", "MATCH", "SKIP"):
            text = "AFTER MATCH SKIP"
            variable_span = None
            if self._match_text_seq("PAST", "LAST", "ROW"):
                text += " PAST LAST ROW"
            elif self._match_text_seq("TO", "NEXT", "ROW"):
                text += " TO NEXT ROW"
            elif self._match_text_seq("TO", "FIRST") or self._match_text_seq("TO", "LAST"):
                direction = self._prev.text.upper()
                variable = self._advance_any()
                if not variable:
                    self._error_at(f"Expected a pattern variable after AFTER MATCH SKIP TO "
                                   f"{direction}")
                text += f" TO {direction} {variable.text}"
                variable_span = Span(variable.start, variable.end + 1)
            else:
                self._error_at("Expected PAST LAST ROW, TO NEXT ROW, TO FIRST <variable> or "
                               "TO LAST <variable> after AFTER MATCH SKIP")
            after = exp.var(text)
            after.meta["sqlc_variable_span"] = variable_span
        pattern = None
        if self._match_text_seq("PATTERN"):
            open_paren = self._curr
            self._match_l_paren()
            depth, start, end = 1, self._curr, None
            while self._curr and depth > 0:
                if self._curr.text.upper() in ("DEFINE", "WITHIN") and (
                        self._curr.token_type != TokenType.STRING):
                    self._error_at(f"Expected ')' before {self._curr.text.upper()}: a '(' in "
                                   "PATTERN is not closed", self._curr)
                if self._curr.token_type == TokenType.L_PAREN:
                    depth += 1
                elif self._curr.token_type == TokenType.R_PAREN:
                    depth -= 1
                if depth > 0:
                    end = self._curr
                self._advance()
            if depth > 0:
                self._error_at("Expecting )", self._curr or self._prev)
            if end is None:  # PATTERN ()
                pattern = exp.var("")
                pattern.meta[_SPAN] = Span(open_paren.start, open_paren.end + 1)
            else:
                pattern = exp.var(self._find_sql(start, end))
                pattern.meta[_SPAN] = Span(start.start, end.end + 1)
        within = None
        if self._match_text_seq("WITHIN"):
            within = self._parse_interval()
            if within is None:
                self._error_at("Expected an INTERVAL after WITHIN", self._curr or self._prev)
        define = (self._parse_csv(self._parse_name_as_expression)
                  if self._match_text_seq("DEFINE") else None)
        self._match_r_paren()
        node = self.expression(exp.MatchRecognize(
            partition_by=partition, order=order, measures=measures, rows=rows, after=after,
            pattern=pattern, define=define, alias=self._parse_table_alias()))
        node.meta["sqlc_within"] = within
        return node

    # -- window table functions ----------------------------------------------------

    def _parse_table(self, *args: Any, **kwargs: Any) -> exp.Expression | None:
        if (
            self._curr
            and self._curr.token_type == TokenType.TABLE
            and self._next
            and self._next.token_type == TokenType.L_PAREN
        ):
            return self._parse_sqlc_tvf()
        return super()._parse_table(*args, **kwargs)

    def _parse_sqlc_tvf(self) -> exp.Expression:
        first = self._curr
        self._advance()  # TABLE
        self._advance()  # (
        kind_token = self._curr
        kind = kind_token.text.upper() if kind_token else ""
        if kind not in TVF_PARAMETERS:
            self._error_at(
                "Expected a window table function TUMBLE, HOP, CUMULATE or SESSION", kind_token
            )
        self._advance()
        if not self._match(TokenType.L_PAREN):
            self._error_at(f"Expected '(' after {kind}")
        table, partition_by, time_column, positional, named = self._parse_sqlc_tvf_arguments(kind)
        if not self._match(TokenType.R_PAREN):
            self._error_at("Expected ')' to close TABLE(")
        if table is None:
            self._error_at(f"{kind} needs its input as its first argument: TABLE <name>", kind_token)
        if time_column is None:
            self._error_at(
                f"{kind} needs the time attribute column as DESCRIPTOR(<column>)", kind_token
            )
        values = self._sqlc_tvf_intervals(kind, positional, named)
        alias = self._parse_table_alias()
        tvf = ast.WindowTVF(
            kind=kind,
            input=table,
            time_column=time_column,
            partition_by=tuple(partition_by),
            alias=alias.name if alias else None,
            span=self._span_from(first),
            **values,
        )
        return _Node(node=tvf)

    def _parse_sqlc_tvf_arguments(self, kind: str) -> tuple[
        ast.TableRef | None, list[ast.Column], ast.Column | None, list[Any], dict[str, Any]
    ]:
        """The arguments up to the closing ')': ``TABLE t [PARTITION BY ...]``,
        ``DESCRIPTOR(col)`` and the intervals, positional or ``NAME => value``
        (each interval with its first token, for errors)."""
        named: dict[str, Any] = {}
        positional: list[Any] = []
        table: ast.TableRef | None = None
        partition_by: list[ast.Column] = []
        time_column: ast.Column | None = None
        while True:
            arg_first = self._curr
            param = None
            if self._next and self._next.token_type == TokenType.FARROW:
                param = self._curr.text.upper()
                self._advance(2)
            if self._match(TokenType.TABLE):
                name_token = self._curr
                name = self._parse_sqlc_name()
                table = ast.TableRef(name, span=Span(name_token.start, self._prev.end + 1))
                if self._match(TokenType.PARTITION_BY) or self._match_text_seq("PARTITION", "BY"):
                    partition_by.append(self._parse_sqlc_column_ref())
                    while (
                        self._match(TokenType.COMMA)
                        and self._curr
                        and self._curr.text.upper() != "DESCRIPTOR"
                        and not (self._next and self._next.token_type == TokenType.FARROW)
                    ):
                        partition_by.append(self._parse_sqlc_column_ref())
                    else:
                        # the comma before DESCRIPTOR / a named argument was consumed
                        if self._prev.token_type == TokenType.COMMA:
                            continue
            elif self._curr and self._curr.text.upper() == "DESCRIPTOR":
                self._advance()
                if not self._match(TokenType.L_PAREN):
                    self._error_at("Expected '(' after DESCRIPTOR")
                time_column = self._parse_sqlc_column_ref()
                if not self._match(TokenType.R_PAREN):
                    extra = self._next if self._curr.token_type == TokenType.COMMA else None
                    self._error_at("DESCRIPTOR takes exactly one time column", extra)
            else:
                value = StatementConverter().expr(self._parse_assignment())
                if param is not None:
                    key = param.lower()
                    if key == "max_size":
                        key = "size"
                    if key in named:
                        self._soft_error(f"{kind} parameter {param} is given twice",
                                         self._span_from(arg_first))
                    else:
                        named[key] = (value, arg_first)
                else:
                    positional.append((value, arg_first))
            if self._match(TokenType.COMMA):
                continue
            if self._match(TokenType.R_PAREN):
                break
            self._error_at(f"Expected ',' or ')' in the arguments of {kind}")
        return table, partition_by, time_column, positional, named

    def _sqlc_tvf_intervals(self, kind: str, positional: list[Any], named: dict[str, Any]
                            ) -> dict[str, Any]:
        """The interval arguments by parameter name (``TVF_PARAMETERS``)."""
        names = TVF_PARAMETERS[kind]
        if len(positional) > len(names):
            value, token = positional[len(names)]
            self._error_at(f"{kind} takes at most {len(names)} interval arguments", token)
        values = {names[i]: v for i, (v, _) in enumerate(positional)}
        for key, (value, token) in named.items():
            if key not in names:
                self._error_at(
                    f"{kind} has no parameter {key.upper()}; it takes "
                    + ", ".join(n.upper() for n in names),
                    token,
                )
            if key in values:
                self._soft_error(f"{kind} parameter {key.upper()} is given twice, by position "
                                 "and by name", Span(token.start, token.end + 1))
                continue
            values[key] = value
        return values

    # -- EMIT ------------------------------------------------------------------------

    def _parse_types(self, *args: Any, **kwargs: Any) -> Any:
        """Flink's ROW types (``CAST(x AS ROW<a INT, b STRING>)``) as the DDL reads
        them: a DataType carrying the type name built (``type_name`` takes it).
        Only after AS: elsewhere ``ROW(a, b)`` is a value."""
        after_as = self._prev is not None and self._prev.token_type == TokenType.ALIAS
        row = self._parse_sqlc_row_type() if after_as else None
        if row is None:
            return super()._parse_types(*args, **kwargs)
        node = exp.DataType(this=exp.DataType.Type.STRUCT)
        node.meta["sqlc_type"] = row
        return node

    def _parse_table_alias(self, *args: Any, **kwargs: Any) -> Any:
        if self._curr and self._curr.text.upper() == "EMIT":  # `FROM t EMIT CHANGES`
            return None
        return super()._parse_table_alias(*args, **kwargs)

    def _parse_query_modifiers(self, this: Any) -> Any:
        this = super()._parse_query_modifiers(this)
        if this is not None and self._curr and self._curr.text.upper() == "EMIT":
            first = self._curr
            self._advance()
            if self._match_text_seq("CHANGES"):
                emit = ast.Emit("CHANGES", span=self._span_from(first))
            elif self._match_text_seq("AFTER", "WATERMARK"):
                delay = None
                if self._match_text_seq("WITH", "DELAY"):
                    node = self._parse_interval()
                    converted = StatementConverter().expr(node) if node is not None else None
                    if not isinstance(converted, ast.Interval):
                        self._error_at("Expected an INTERVAL after WITH DELAY")
                    delay = converted
                emit = ast.Emit("AFTER WATERMARK", delay, span=self._span_from(first))
            else:
                self._error_at("Expected CHANGES or AFTER WATERMARK after EMIT")
            this.meta["sqlc_emit"] = emit
        return this


for _name in (
    "_parse_primary",
    "_parse_column",
    "_parse_function",
    "_parse_unary",
    "_parse_factor",
    "_parse_term",
    "_parse_bitwise",
    "_parse_range",
    "_parse_comparison",
    "_parse_equality",
    "_parse_conjunction",
    "_parse_disjunction",
    "_parse_assignment",
    "_parse_expression",
    "_parse_case",
    "_parse_interval",
    "_parse_window",
    "_parse_table",
    "_parse_select",
    "_parse_join",
    "_parse_lambda",
    "_parse_types",
    "_parse_ordered",
    "_parse_subquery",
    "_parse_match_recognize",
    "_parse_cte",
):
    setattr(SqlcParser, _name, _with_span(getattr(SqlcParser, _name)))


class SqlcDialect(Dialect):
    """Flink SQL as sqlc reads it."""

    NORMALIZE_FUNCTIONS = "upper"
    Tokenizer = SqlcTokenizer
    Parser = SqlcParser

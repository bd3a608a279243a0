"""Parse: SQL text -> ``compiler.ast.Script``. The only module that imports sqlglot.

sqlglot parses standard SQL; ``SqlcDialect`` subclasses its tokenizer and parser
for what Flink SQL and the spec add (``CREATE STREAM``, computed columns,
``WATERMARK FOR``, ``METADATA FROM``, window TVFs with positional or named
arguments and ``PARTITION BY``, ``EMIT``, ``SHOW``/``DESCRIBE``/``EXPLAIN``,
plural interval units, ``MATCH_RECOGNIZE``, ``FOR SYSTEM_TIME AS OF``).
Statements the dialect owns are parsed straight into ``compiler.ast`` nodes;
everything else is converted from sqlglot's tree by ``_Converter``.

Every node keeps its source span: the parser records, for each expression
it builds, the first and last token it consumed (``_with_span``).

    >>> script = parse_sql("SELECT model_id FROM llm_requests WHERE latency_ms > 1000")
    >>> script.statements[0].query.where
    Binary(op='>', left=Column(name='latency_ms', table=None), right=Literal(value=1000, kind='integer'))
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

from sqlglot import exp, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.parser import Parser as _SqlglotParser
from sqlglot.tokens import Token, TokenType

from compiler import ast
from compiler.errors import Diagnostics, Source, Span, did_you_mean

_SPAN = "sqlc_span"

# sqlglot's messages for a missing closing token
_MISSING_CLOSER = ("Expecting )", "Expected END after CASE")

# clause keywords a misspelling of which sqlglot would read as an alias
_CLAUSE_KEYWORDS = ["WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "FROM", "JOIN", "UNION",
                    "EMIT", "WINDOW", "SELECT", "INNER", "LEFT", "RIGHT", "FULL", "CROSS"]

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

# The parameter names of Flink's window TVFs, in positional order after the
# table and the descriptor.
TVF_PARAMETERS = {
    "TUMBLE": ("size", "offset"),
    "HOP": ("slide", "size", "offset"),
    "CUMULATE": ("step", "size", "offset"),
    "SESSION": ("gap",),
}


class _Node(exp.Expression):
    """Carries an already-built ``compiler.ast`` node through sqlglot's tree."""

    arg_types = {"node": True}


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


class SqlcParser(_SqlglotParser):
    # Let every function without special syntax parse as an anonymous call:
    # the analyzer owns the function catalog, not sqlglot.
    FUNCTIONS = {
        name: builder
        for name, builder in _SqlglotParser.FUNCTIONS.items()
        if name in ("COUNT",)
    }
    # SESSION is a keyword, but GROUP BY SESSION(ts, gap) is a call (legacy group window)
    FUNC_TOKENS = {*_SqlglotParser.FUNC_TOKENS, TokenType.SESSION}

    sqlc_error_span: Span | None = None
    # where the statement ends: its ';', or just past its last token
    sqlc_end_span: Span | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # errors that do not stop the statement's parse: (message, span)
        self.sqlc_soft_errors: list[tuple[str, Span]] = []
        self._sqlc_bound_spans: list[Span] = []

    # -- errors ----------------------------------------------------------------

    def raise_error(self, message: str, token: Token | None = None) -> None:
        if message in _MISSING_CLOSER:
            # report a missing ')' or END where it is missing, not at the last good token
            token = self._curr or None
            if token is None and self.sqlc_error_span is None and self.sqlc_end_span:
                self.sqlc_error_span = self.sqlc_end_span
        elif message == "Invalid expression / Unexpected token":
            token = token or self._curr
            message = self._unexpected_message(token)
        token = token or self._curr or self._prev
        if token and self.sqlc_error_span is None:
            self.sqlc_error_span = Span(token.start, token.end + 1)
        super().raise_error(message, token)

    def _error_at(self, message: str, token: Token | None = None) -> None:
        self.sqlc_error_span = None
        self.raise_error(message, token)

    def _soft_error(self, message: str, span: Span) -> None:
        """A syntax error that leaves the statement readable: report it, keep parsing."""
        self.sqlc_soft_errors.append((message, span))

    def _unexpected_message(self, token: Token) -> str:
        """Name the token sqlglot could not place, and guess why it is there."""
        if not token:
            return "Unexpected end of statement"
        text = token.text if token.token_type != TokenType.STRING else f"'{token.text}'"
        prev = self._tokens[self._index - 1] if self._index > 0 else None
        if prev and prev.text.upper() in ("GROUP", "ORDER") and token.text.upper() != "BY":
            return f"Expected BY after {prev.text.upper()}, found '{text}'"
        message = f"Unexpected '{text}'"
        if token.token_type == TokenType.R_PAREN:
            return message + ": no '(' is open here"
        if prev and prev.token_type in (TokenType.VAR, TokenType.IDENTIFIER):
            # `FROM t WHER x > 1`: the misspelt keyword was read as an alias
            suggestion = did_you_mean(prev.text, _CLAUSE_KEYWORDS)
            if suggestion and prev.token_type == TokenType.VAR:
                return message + f"; did you mean {suggestion} instead of '{prev.text}'?"
            if token.token_type in (TokenType.VAR, TokenType.IDENTIFIER):
                return message + f" after '{prev.text}'; is a comma missing between them?"
        return message

    # -- statements --------------------------------------------------------------

    def _parse_statement(self) -> exp.Expression | None:
        if self._curr is None:
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
        elif first.token_type in (TokenType.VAR, TokenType.IDENTIFIER) and word != "EXPLAIN":
            known = ["SELECT", "INSERT", "CREATE", "DROP", "SHOW", "DESCRIBE", "EXPLAIN", "WITH"]
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
        return _Converter().statement(node)

    def _span_from(self, first: Token) -> Span:
        return Span(first.start, self._prev.end + 1)

    def _parse_sqlc_name(self) -> str:
        """A possibly qualified object name: ``db.schema.name`` -> 'db.schema.name'."""
        return self._parse_sqlc_name_spanned()[0]

    def _parse_sqlc_name_spanned(self) -> tuple[str, Span]:
        first = self._curr
        parts = [self._parse_sqlc_identifier()]
        while self._match(TokenType.DOT):
            parts.append(self._parse_sqlc_identifier())
        return ".".join(parts), self._span_from(first)

    def _parse_sqlc_identifier(self) -> str:
        token = self._curr
        if token is None or token.token_type in (
            TokenType.L_PAREN,
            TokenType.R_PAREN,
            TokenType.COMMA,
            TokenType.SEMICOLON,
            TokenType.STRING,
            TokenType.NUMBER,
        ):
            self._error_at("Expected a name", token)
        self._advance()
        return token.text

    def _parse_sqlc_create(self) -> ast.Statement | None:
        first = self._curr
        index = self._index
        self._advance()  # CREATE
        self._match_text_seq("OR", "REPLACE")
        self._match_texts(("TEMPORARY",))
        word = self._curr.text.upper() if self._curr else ""
        if word in ("STREAM", "TABLE"):
            self._advance()
            return self._parse_sqlc_create_source(first, word)
        if word == "VIEW":
            self._advance()
            return self._parse_sqlc_create_view(first)
        self._retreat(index)
        self._error_at("Expected STREAM, TABLE or VIEW after CREATE", self._tokens[index + 1]
                       if index + 1 < len(self._tokens) else None)
        return None

    def _parse_sqlc_if_not_exists(self) -> bool:
        return bool(self._match_text_seq("IF", "NOT", "EXISTS"))

    def _parse_sqlc_create_source(self, first: Token, kind: str) -> ast.CreateSource:
        if_not_exists = self._parse_sqlc_if_not_exists()
        name, name_span = self._parse_sqlc_name_spanned()
        if not self._match(TokenType.L_PAREN):
            self._error_at(f"Expected '(' and the column list of {kind.lower()} {name}")
        columns: list[ast.ColumnDef] = []
        watermark: ast.WatermarkDef | None = None
        primary_key: ast.PrimaryKey | None = None
        while True:
            element_first = self._curr
            if self._match_text_seq("WATERMARK", "FOR"):
                column = self._parse_sqlc_column_ref()
                if not self._match(TokenType.ALIAS):
                    self._error_at("Expected AS and the watermark expression")
                expr = _Converter().expr(self._parse_assignment())
                if watermark is not None:
                    self._soft_error(
                        f"{kind.lower()} {name} already has WATERMARK FOR "
                        f"{watermark.column.name}; only one WATERMARK is allowed",
                        Span(element_first.start, element_first.end + 1),
                    )
                else:
                    watermark = ast.WatermarkDef(column, expr,
                                                 span=self._span_from(element_first))
            elif self._match(TokenType.PRIMARY_KEY) or self._match_text_seq("PRIMARY", "KEY"):
                cols = self._parse_sqlc_column_list()
                enforced = self._parse_sqlc_enforced() == "ENFORCED"
                primary_key = ast.PrimaryKey(
                    tuple(cols), enforced, span=self._span_from(element_first)
                )
            elif self._match_texts(("CONSTRAINT",)):
                self._parse_sqlc_identifier()
                continue
            else:
                column_def, inline_pk = self._parse_sqlc_column_def()
                columns.append(column_def)
                if inline_pk is not None:
                    primary_key = ast.PrimaryKey(
                        (ast.Column(column_def.name, span=column_def.span),),
                        inline_pk == "ENFORCED",
                        span=column_def.span,
                    )
            if self._match(TokenType.COMMA):
                continue
            if self._match(TokenType.R_PAREN):
                break
            self._error_at("Expected ',' or ')' in the column list")
        comment = None
        if self._match(TokenType.COMMENT):
            comment = self._parse_sqlc_string()
        properties = self._parse_sqlc_properties()
        return ast.CreateSource(
            kind=kind,
            name=name,
            columns=tuple(columns),
            watermark=watermark,
            primary_key=primary_key,
            properties=tuple(properties),
            if_not_exists=if_not_exists,
            comment=comment,
            name_span=name_span,
            span=self._span_from(first),
        )

    def _parse_sqlc_column_ref(self) -> ast.Column:
        token = self._curr
        name = self._parse_sqlc_identifier()
        return ast.Column(name, span=Span(token.start, token.end + 1))

    def _parse_sqlc_column_list(self) -> list[ast.Column]:
        if not self._match(TokenType.L_PAREN):
            self._error_at("Expected '(' and a column list")
        cols = [self._parse_sqlc_column_ref()]
        while self._match(TokenType.COMMA):
            cols.append(self._parse_sqlc_column_ref())
        if not self._match(TokenType.R_PAREN):
            self._error_at("Expected ')' after the column list")
        return cols

    def _parse_sqlc_enforced(self) -> str:
        """'NOT ENFORCED', 'ENFORCED' when written so (refused, as in Flink), or ''
        when nothing is written: a key sqlc does not enforce, as the spec's
        FR-DDL-002 example writes it (`model_id VARCHAR PRIMARY KEY`)."""
        if self._match_text_seq("NOT", "ENFORCED"):
            return "NOT ENFORCED"
        if self._match_text_seq("ENFORCED"):
            return "ENFORCED"
        return ""

    def _parse_sqlc_column_def(self) -> tuple[ast.ColumnDef, str | None]:
        first = self._curr
        name = self._parse_sqlc_identifier()
        if self._match(TokenType.ALIAS):  # computed column: name AS expr
            expr = _Converter().expr(self._parse_assignment())
            comment = self._parse_sqlc_string() if self._match(TokenType.COMMENT) else None
            return ast.ColumnDef(name, computed=expr, comment=comment,
                                 span=self._span_from(first)), None
        type_first = self._curr
        type_node = self._parse_types(check_func=False, schema=True, allow_identifiers=False)
        if isinstance(type_node, exp.DataType):
            type_name = _Converter().type_name(type_node,
                                               Span(type_first.start, self._prev.end + 1))
        elif type_first and type_first.token_type in (TokenType.VAR, TokenType.IDENTIFIER):
            # a name sqlglot does not know as a type: the analyzer reports it with a suggestion
            self._advance()
            type_name = ast.TypeName(type_first.text.upper(),
                                     span=Span(type_first.start, type_first.end + 1))
            if self._match(TokenType.L_PAREN):
                while self._curr and not self._match(TokenType.R_PAREN):
                    self._advance()
        else:
            self._error_at(f"Expected a data type for column {name}", type_first)
        not_null = False
        metadata_key: str | None = None
        metadata_span: Span | None = None
        virtual = False
        inline_pk: str | None = None
        comment: str | None = None
        while True:
            if self._match_text_seq("NOT", "NULL"):
                not_null = True
            elif self._match(TokenType.NULL):
                not_null = False
            elif self._match_text_seq("METADATA"):
                metadata_key = ""
                metadata_span = Span(self._prev.start, self._prev.end + 1)
                if self._match(TokenType.FROM):
                    metadata_span = Span(self._curr.start, self._curr.end + 1)
                    metadata_key = self._parse_sqlc_string()
                virtual = bool(self._match_text_seq("VIRTUAL"))
            elif self._match(TokenType.PRIMARY_KEY) or self._match_text_seq("PRIMARY", "KEY"):
                inline_pk = self._parse_sqlc_enforced()
            elif self._match(TokenType.COMMENT):
                comment = self._parse_sqlc_string()
            else:
                break
        column = ast.ColumnDef(
            name,
            type=type_name,
            not_null=not_null,
            metadata_key=metadata_key,
            virtual=virtual,
            comment=comment,
            metadata_span=metadata_span or self._span_from(first),
            span=self._span_from(first),
        )
        return column, inline_pk

    def _parse_sqlc_string(self) -> str:
        token = self._curr
        if token is None or token.token_type != TokenType.STRING:
            self._error_at("Expected a quoted string", token)
        self._advance()
        return token.text

    def _parse_sqlc_properties(self) -> list[ast.Property]:
        if not self._match(TokenType.WITH):
            return []
        if not self._match(TokenType.L_PAREN):
            self._error_at("Expected '(' after WITH")
        properties: list[ast.Property] = []
        while not self._match(TokenType.R_PAREN):
            first = self._curr
            key = self._parse_sqlc_string()
            if not self._match(TokenType.EQ):
                self._error_at(f"Expected '=' after property '{key}'")
            value = self._parse_sqlc_string()
            properties.append(ast.Property(key, value, span=self._span_from(first)))
            if not self._match(TokenType.COMMA) and not (
                self._curr and self._curr.token_type == TokenType.R_PAREN
            ):
                self._error_at("Expected ',' or ')' in the WITH properties")
        return properties

    def _parse_sqlc_create_view(self, first: Token) -> ast.CreateView:
        if_not_exists = self._parse_sqlc_if_not_exists()
        name, name_span = self._parse_sqlc_name_spanned()
        column_names: tuple[str, ...] = ()
        columns_span = name_span
        if self._match(TokenType.L_PAREN, advance=False):
            list_first = self._curr
            column_names = tuple(c.name for c in self._parse_sqlc_column_list())
            columns_span = self._span_from(list_first)
        if not self._match(TokenType.ALIAS):
            self._error_at(f"Expected AS and a query for view {name}")
        query_node = self._parse_select(nested=True) or self._parse_sqlc_with_query()
        if query_node is None:
            self._error_at("Expected a SELECT query")
        query = _Converter().query(query_node)
        return ast.CreateView(name, query, column_names, if_not_exists, name_span=name_span,
                              columns_span=columns_span, span=self._span_from(first))

    def _parse_sqlc_with_query(self) -> exp.Expression | None:
        return self._parse_select()

    def _parse_sqlc_drop(self) -> ast.Drop:
        first = self._curr
        self._advance()
        self._match_texts(("TEMPORARY",))
        word = self._curr.text.upper() if self._curr else ""
        if word not in ("STREAM", "TABLE", "VIEW"):
            self._error_at("Expected STREAM, TABLE or VIEW after DROP")
        kind_span = Span(self._curr.start, self._curr.end + 1)
        self._advance()
        if_exists = bool(self._match_text_seq("IF", "EXISTS"))
        name, name_span = self._parse_sqlc_name_spanned()
        cascade = bool(self._match_text_seq("CASCADE"))
        self._match_text_seq("RESTRICT")
        return ast.Drop(word, name, if_exists, cascade, kind_span=kind_span, name_span=name_span,
                        span=self._span_from(first))

    def _parse_sqlc_show(self) -> ast.Show:
        first = self._curr
        self._advance()
        word = self._curr.text.upper() if self._curr else ""
        if word not in ("STREAMS", "TABLES", "VIEWS"):
            self._error_at("Expected STREAMS, TABLES or VIEWS after SHOW")
        self._advance()
        return ast.Show(word, span=self._span_from(first))

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
                value = _Converter().expr(self._parse_assignment())
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
        if not self._match(TokenType.R_PAREN):
            self._error_at("Expected ')' to close TABLE(")
        if table is None:
            self._error_at(f"{kind} needs its input as its first argument: TABLE <name>", kind_token)
        if time_column is None:
            self._error_at(
                f"{kind} needs the time attribute column as DESCRIPTOR(<column>)", kind_token
            )
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

    # -- EMIT ------------------------------------------------------------------------

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
                    converted = _Converter().expr(node) if node is not None else None
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


# ------------------------------------------------------------------------------
# sqlglot tree -> compiler.ast


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


class ConversionError(Exception):
    def __init__(self, message: str, span: Span | None):
        super().__init__(message)
        self.span = span


def span_of(node: exp.Expression | None) -> Span | None:
    while node is not None:
        span = node.meta.get(_SPAN)
        if span is not None:
            return span
        start, end = node.meta.get("start"), node.meta.get("end")
        if start is not None and end is not None:
            return Span(start, end + 1)
        node = node.parent
    return None


class _Converter:
    """Turns sqlglot expressions into ``compiler.ast`` nodes, keeping spans."""

    def fail(self, message: str, node: exp.Expression | None) -> Any:
        raise ConversionError(message, span_of(node))

    def sp(self, node: exp.Expression) -> Span:
        return span_of(node) or Span(0, 0)

    # -- statements --------------------------------------------------------------

    def statement(self, node: exp.Expression) -> ast.Statement:
        if isinstance(node, _Node):
            return node.args["node"]
        if isinstance(node, exp.Insert):
            target = node.this
            columns: tuple[str, ...] = ()
            if isinstance(target, exp.Schema):
                columns = tuple(c.name for c in target.expressions)
                target = target.this
            return ast.Insert(
                self.table_name(target), self.query(node.expression), columns,
                target_span=self.sp(target.this if isinstance(target, exp.Table) else target),
                span=self.sp(node),
            )
        if isinstance(node, exp.Query):
            return ast.QueryStatement(self.query(node), span=self.sp(node))
        if isinstance(node, exp.Command):
            return self.fail(f"Unsupported statement: {node.this}", node)
        return self.fail(f"Unsupported statement: {node.key.upper()}", node)

    def table_name(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Table):
            return ".".join(p.name for p in node.parts)
        return node.name

    # -- queries ---------------------------------------------------------------------

    def query(self, node: exp.Expression) -> ast.Query:
        if isinstance(node, exp.Subquery) and not node.alias:
            inner = self.query(node.this)
            return inner
        ctes = tuple(
            ast.CTE(cte.alias, self.query(cte.this), span=self.sp(cte))
            for cte in (node.args.get("with_") or node.args.get("with") or exp.With()).expressions
        )
        emit = node.meta.get("sqlc_emit")
        order_by = self.order(node.args.get("order"))
        limit = self.limit(node)
        if isinstance(node, exp.SetOperation):
            if isinstance(node, exp.Union):
                op = "UNION" if node.args.get("distinct") else "UNION ALL"
            elif isinstance(node, exp.Intersect):
                op = "INTERSECT"
            else:
                op = "EXCEPT"
            return ast.SetOp(
                op,
                self.query(node.this),
                self.query(node.expression),
                order_by,
                limit,
                emit,
                ctes,
                op_span=node.meta.get("sqlc_op_span") or self.sp(node),
                span=self.sp(node),
            )
        if not isinstance(node, exp.Select):
            return self.fail(f"Expected a SELECT query, found {node.key.upper()}", node)
        relation = self.from_clause(node)
        match = node.args.get("match")
        if match is not None:
            relation = self.match_recognize(match, relation)
        group = node.args.get("group")
        return ast.Select(
            items=tuple(self.select_item(e) for e in node.expressions),
            from_=relation,
            where=self.expr(node.args["where"].this) if node.args.get("where") else None,
            group_by=self.group_by(group) if group else (),
            having=self.expr(node.args["having"].this) if node.args.get("having") else None,
            order_by=order_by,
            limit=limit,
            distinct=bool(node.args.get("distinct")),
            emit=emit,
            ctes=ctes,
            span=self.sp(node),
        )

    def limit(self, node: exp.Expression) -> int | None:
        limit = node.args.get("limit")
        if limit is None:
            return None
        value = limit.expression
        if not (isinstance(value, exp.Literal) and not value.is_string and value.is_int):
            return self.fail("LIMIT takes an integer literal", value)
        return int(value.this)

    def select_item(self, node: exp.Expression) -> ast.SelectItem:
        if isinstance(node, exp.Alias):
            return ast.SelectItem(self.expr(node.this), node.alias, span=self.sp(node))
        return ast.SelectItem(self.expr(node), None, span=self.sp(node))

    def from_clause(self, node: exp.Select) -> ast.Relation | None:
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is None:
            return None
        relation = self.relation(from_.this)
        for join in node.args.get("joins") or []:
            relation = self.join(relation, join)
        return relation

    def join(self, left: ast.Relation, join: exp.Join) -> ast.Join:
        side = (join.side or "").upper()
        kind = (join.kind or "").upper()
        if (join.method or "").upper() == "NATURAL":
            return self.fail("NATURAL JOIN is not supported; write JOIN ... ON or USING (...)",
                             join)
        if kind == "CROSS" or join.meta.get("sqlc_comma"):
            join_kind = "CROSS"
        elif side in ("LEFT", "RIGHT", "FULL"):
            join_kind = side
        else:
            join_kind = "INNER"
        on = join.args.get("on")
        using = tuple(ast.Column(u.name, span=self.sp(u)) for u in join.args.get("using") or [])
        return ast.Join(
            join_kind,
            left,
            self.relation(join.this),
            self.expr(on) if on is not None else None,
            using,
            span=self.sp(join),
        )

    def relation(self, node: exp.Expression) -> ast.Relation:
        if isinstance(node, _Node):
            return node.args["node"]
        if isinstance(node, exp.Table):
            if not isinstance(node.this, exp.Identifier):
                return self.fail("Unsupported table expression", node)
            version = node.args.get("version")
            system_time = None
            if version is not None:
                system_time = self.expr(version.expression)
            return ast.TableRef(
                self.table_name(node), node.alias or None, system_time, span=self.sp(node)
            )
        if isinstance(node, exp.Subquery):
            return ast.SubqueryRef(self.query(node.this), node.alias or None, span=self.sp(node))
        return self.fail(f"Unsupported FROM item: {node.sql()}", node)

    def match_recognize(self, node: exp.MatchRecognize, relation: ast.Relation | None
                        ) -> ast.MatchRecognize:
        if relation is None:
            return self.fail("MATCH_RECOGNIZE needs a FROM table", node)
        measures = []
        for measure in node.args.get("measures") or []:
            measures.append(self.select_item(measure.this))
        define = []
        for item in node.args.get("define") or []:
            name = item.args.get("alias")
            define.append(ast.Define(item.alias, self.expr(item.this),
                                     name_span=self.sp(name) if name else self.sp(item),
                                     span=self.sp(item)))
        pattern = node.args.get("pattern")
        rows = node.args.get("rows")
        after = node.args.get("after")
        alias = node.args.get("alias")
        return ast.MatchRecognize(
            input=relation,
            partition_by=tuple(self.expr(e) for e in node.args.get("partition_by") or []),
            order_by=self.order(node.args.get("order")),
            measures=tuple(measures),
            pattern=pattern.name if pattern is not None else "",
            define=tuple(define),
            after_match=after.name.removeprefix("AFTER MATCH ") if after is not None else None,
            rows_per_match=rows.name if rows is not None else None,
            alias=alias.name if alias is not None else None,
            span=self.sp(node),
        )

    def group_by(self, node: exp.Group) -> tuple[ast.GroupItem, ...]:
        items: list[ast.GroupItem] = []
        elements = list(node.expressions)
        for key in ("grouping_sets", "rollup", "cube"):
            elements.extend(node.args.get(key) or [])
        for element in elements:
            if isinstance(element, exp.GroupingSets):
                sets = tuple(self.grouping_set(s) for s in element.expressions)
                items.append(ast.GroupingSets(sets, span=self.sp(element)))
            elif isinstance(element, exp.Rollup):
                exprs = [self.expr(e) for e in element.expressions]
                sets = tuple(tuple(exprs[:i]) for i in range(len(exprs), -1, -1))
                items.append(ast.GroupingSets(sets, "ROLLUP", span=self.sp(element)))
            elif isinstance(element, exp.Cube):
                exprs = [self.expr(e) for e in element.expressions]
                n = len(exprs)
                sets = tuple(
                    tuple(exprs[i] for i in range(n) if mask & (1 << (n - 1 - i)))
                    for mask in range((1 << n) - 1, -1, -1)
                )
                items.append(ast.GroupingSets(sets, "CUBE", span=self.sp(element)))
            else:
                items.append(self.expr(element))
        return tuple(items)

    def grouping_set(self, node: exp.Expression) -> tuple[ast.Expr, ...]:
        if isinstance(node, exp.Tuple):
            return tuple(self.expr(e) for e in node.expressions)
        if isinstance(node, exp.Paren):
            return (self.expr(node.this),)
        return (self.expr(node),)

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
                    return self.fail(f"Unsupported type parameter {param.sql()}", node)
            elif isinstance(param, exp.ColumnDef):
                kind = param.args.get("kind")
                if kind is not None:
                    children.append(self.type_name(kind, span))
            else:
                return self.fail(f"Unsupported type {node.sql()}", node)
        return ast.TypeName(name, tuple(params), tuple(children), span=span)

    # -- expressions ---------------------------------------------------------------

    def expr(self, node: exp.Expression | None) -> ast.Expr:
        if node is None:
            return self.fail("Expected an expression", None)
        span = self.sp(node)
        if isinstance(node, _Node):
            return node.args["node"]
        if isinstance(node, exp.Paren):
            return self.expr(node.this)
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                return ast.Star(node.table or None, span=span)
            if node.args.get("db") or node.args.get("catalog"):
                return self.fail(f"Column reference with too many parts: {node.sql()}", node)
            return ast.Column(node.name, node.table or None, span=span)
        if isinstance(node, exp.Star):
            return ast.Star(span=span)
        if isinstance(node, exp.Identifier):
            return ast.Column(node.name, span=span)
        if isinstance(node, exp.Literal):
            if node.is_string:
                return ast.Literal(node.this, "string", span=span)
            text = node.this
            if re.fullmatch(r"\d+", text):
                return ast.Literal(int(text), "integer", span=span)
            return ast.Literal(float(text), "decimal", span=span)
        if isinstance(node, exp.Boolean):
            return ast.Literal(bool(node.this), "boolean", span=span)
        if isinstance(node, exp.Null):
            return ast.Literal(None, "null", span=span)
        if isinstance(node, exp.Interval):
            return self.interval(node)
        if isinstance(node, exp.Neg):
            inner = self.expr(node.this)
            if isinstance(inner, ast.Literal) and inner.kind in ("integer", "decimal"):
                return ast.Literal(-inner.value, inner.kind, span=span)  # type: ignore[operator]
            return ast.Unary("-", inner, span=span)
        if isinstance(node, exp.Not):
            inner_node = node.this
            if isinstance(inner_node, exp.Paren):
                inner_node = inner_node.this
            if isinstance(inner_node, exp.Is):
                converted = self.expr(inner_node)
                if isinstance(converted, (ast.IsNull, ast.IsBool)):
                    return type(converted)(
                        **{**converted.__dict__, "negated": not converted.negated}
                    )
            if isinstance(inner_node, (exp.In, exp.Between, exp.Like, exp.ILike)):
                converted = self.expr(inner_node)
                return type(converted)(**{**converted.__dict__, "negated": True})
            return ast.Unary("NOT", self.expr(node.this), span=span)
        op = _BINARY.get(type(node))
        if op is not None:
            return ast.Binary(op, self.expr(node.this), self.expr(node.expression), span=span)
        if isinstance(node, exp.Is):
            target = node.expression
            if isinstance(target, exp.Null):
                return ast.IsNull(self.expr(node.this), span=span)
            if isinstance(target, exp.Boolean):
                return ast.IsBool(self.expr(node.this), bool(target.this), span=span)
            return self.fail(f"Unsupported IS expression: {node.sql()}", node)
        if isinstance(node, exp.In):
            if node.args.get("query"):
                return self.fail("IN (subquery) is not supported yet", node)
            if not node.expressions:  # x IN (): a syntax error in SQL and in Flink
                return self.fail("Expected at least one value in IN (...)", node)
            return ast.InList(
                self.expr(node.this), tuple(self.expr(e) for e in node.expressions), span=span
            )
        if isinstance(node, exp.Between):
            return ast.Between(
                self.expr(node.this),
                self.expr(node.args["low"]),
                self.expr(node.args["high"]),
                span=span,
            )
        if isinstance(node, (exp.Like, exp.ILike)):
            return ast.Like(self.expr(node.this), self.expr(node.expression),
                            negated=bool(node.args.get("negate")), span=span)
        if isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
            name = "IS NOT DISTINCT FROM" if isinstance(node, exp.NullSafeEQ) else "IS DISTINCT FROM"
            return ast.Call(name, (self.expr(node.this), self.expr(node.expression)), span=span)
        if isinstance(node, exp.Trim):
            position = str(node.args.get("position") or "BOTH").upper()
            name = {"LEADING": "LTRIM", "TRAILING": "RTRIM"}.get(position, "TRIM")
            chars = node.args.get("expression")
            args = (self.expr(node.this),) + ((self.expr(chars),) if chars is not None else ())
            return ast.Call(name, args, span=span)
        if isinstance(node, exp.Escape):
            like = self.expr(node.this)
            if not isinstance(like, ast.Like):
                return self.fail("ESCAPE only follows LIKE", node)
            return ast.Like(like.operand, like.pattern, self.expr(node.expression), span=span)
        if isinstance(node, exp.Case):
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
        if isinstance(node, (exp.Cast, exp.TryCast)):
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
        if isinstance(node, exp.Extract):
            return ast.Extract(node.this.name.upper(), self.expr(node.expression), span=span)
        if isinstance(node, (exp.Window, exp.WithinGroup, exp.Filter)):
            # the call starts at its function name, not at OVER / WITHIN / FILTER
            span = self.sp(node.this).to(span)
        if isinstance(node, exp.Window):
            call = self.expr(node.this)
            if not isinstance(call, ast.Call):
                return self.fail("OVER must follow a function call", node)
            if node.args.get("alias"):
                return self.fail("Named windows are not supported; write the OVER (...) inline",
                                 node)
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
                return self.fail("WITHIN GROUP must follow a function call", node)
            return ast.Call(call.name, call.args, call.distinct, call.filter,
                            self.order(node.expression), span=span)
        if isinstance(node, exp.Filter):
            call = self.expr(node.this)
            if not isinstance(call, ast.Call):
                return self.fail("FILTER must follow an aggregate call", node)
            where = node.expression
            return ast.Call(call.name, call.args, call.distinct,
                            self.expr(where.this if isinstance(where, exp.Where) else where),
                            call.within_group, call.over, span=span)
        if isinstance(node, exp.Count):
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
        for cls, name in _NO_PAREN_FUNCTIONS.items():
            if isinstance(node, cls):
                arg = node.this
                return ast.Call(name, (self.expr(arg),) if arg is not None else (), span=span)
        if isinstance(node, exp.Anonymous):
            return self.call(node.name.upper(), node.expressions, node, span)
        if isinstance(node, exp.Exists):
            return self.fail("EXISTS (subquery) is not supported on streams yet; use a join",
                             node)
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
        if isinstance(node, exp.Dot):
            return self.fail(f"Unsupported field access {node.sql()}", node)
        return self.fail(f"Unsupported expression {node.sql()}", node)

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
            return self.fail("INTERVAL takes a quoted number, e.g. INTERVAL '5' MINUTE", node)
        to_unit = None
        if isinstance(unit, exp.IntervalSpan):
            unit_name = unit.this.name.upper()
            to_unit = INTERVAL_UNITS.get(unit.expression.name.upper(), unit.expression.name)
        elif unit is not None:
            unit_name = unit.name.upper()
        else:  # INTERVAL '5 minutes'
            parts = text.split()
            if len(parts) != 2:
                return self.fail(
                    f"INTERVAL '{text}' needs a unit, e.g. INTERVAL '5' MINUTE", node
                )
            text, unit_name = parts[0], parts[1].upper()
        normalized = INTERVAL_UNITS.get(unit_name)
        if normalized is None:
            return self.fail(
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
            return self.fail(f"Unsupported window frame bound {value}", spec)

        start = bound(spec.args.get("start"), spec.args.get("start_side"), 0)
        end_value = spec.args.get("end")
        end = (
            bound(end_value, spec.args.get("end_side"), 1)
            if end_value is not None
            else ast.FrameBound("CURRENT ROW", span=self.sp(spec))
        )
        return ast.Frame(unit, start, end, span=self.sp(spec))


# ------------------------------------------------------------------------------
# entry points


def _statement_chunks(all_tokens: list[Token]) -> list[tuple[list[Token], Token | None]]:
    """The tokens of each statement, with the ';' that ends it (None at the end of text)."""
    chunks: list[tuple[list[Token], Token | None]] = []
    current: list[Token] = []
    for token in all_tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append((current, token))
            current = []
        else:
            current.append(token)
    if current:
        chunks.append((current, None))
    return chunks


def _tokenize(source: Source, diagnostics: Diagnostics) -> list[Token]:
    """The file's tokens. Text that cannot be tokenized (a quote or comment that never
    closes) is reported once; the statements before it are still parsed."""
    try:
        return SqlcTokenizer(dialect=SqlcDialect).tokenize(source.text)
    except TokenError as error:
        problem = _unterminated(source.text)
        if problem is None:
            message = str(error).split(". Line ")[0]
            diagnostics.error("SqlSyntaxError", message, Span(0, 1))
            return []
        message, span = problem
        diagnostics.error("SqlSyntaxError", message, span)
    try:
        tokens = SqlcTokenizer(dialect=SqlcDialect).tokenize(source.text[: span.start])
    except TokenError:
        return []
    # the statement the unterminated text starts in is unreadable: drop its beginning too
    last_semicolon = max(
        (i for i, tok in enumerate(tokens) if tok.token_type == TokenType.SEMICOLON), default=-1
    )
    return tokens[: last_semicolon + 1]


def _unterminated(text: str) -> tuple[str, Span] | None:
    """A quote or ``/*`` comment that never closes: the message and where it opens."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return "Unterminated /* comment: it never ends with */", Span(i, i + 2)
            i = j + 2
        elif ch in "'`\"":
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                line_end = text.find("\n", i)
                return ("Unterminated string or quoted identifier",
                        Span(i, line_end if line_end > i else n))
            i = j + 1
        else:
            i += 1
    return None


def parse_script(source: Source, diagnostics: Diagnostics) -> ast.Script:
    """Parse every statement of a file; syntax errors are collected, one per statement."""
    statements: list[ast.Statement] = []
    for chunk, terminator in _statement_chunks(_tokenize(source, diagnostics)):
        parser = SqlcParser(error_level=ErrorLevel.IMMEDIATE, dialect=SqlcDialect)
        end = terminator.start if terminator is not None else chunk[-1].end + 1
        parser.sqlc_end_span = Span(end, end + 1)
        try:
            try:
                nodes = parser.parse(chunk, source.text)
            finally:
                for message, span in parser.sqlc_soft_errors:
                    diagnostics.error("SqlSyntaxError", message, span)
            for node in nodes:
                if node is not None:
                    statements.append(_Converter().statement(node))
        except ParseError as error:
            span = parser.sqlc_error_span or Span(chunk[0].start, chunk[-1].end + 1)
            message = _clean_parse_message(error)
            diagnostics.error("SqlSyntaxError", message, span)
        except ConversionError as error:
            span = error.span or Span(chunk[0].start, chunk[-1].end + 1)
            kind = "UnsupportedError" if "not supported" in str(error).lower() or str(
                error
            ).startswith("Unsupported") else "SqlSyntaxError"
            diagnostics.error(kind, str(error), span)
    return ast.Script(tuple(statements))


_OPERATOR_NAMES = {"GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=", "EQ": "=", "NEQ": "<>",
                   "Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "And": "AND", "Or": "OR"}


def _clean_parse_message(error: ParseError) -> str:
    """sqlglot's messages, phrased for a SQL user rather than a sqlglot developer."""
    if error.errors:
        description = error.errors[0].get("description") or str(error)
    else:
        description = str(error).split(". Line ")[0]
    missing = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]*\.(\w+)'>",
                       description)
    if missing:
        name = missing.group(2)
        operator = _OPERATOR_NAMES.get(name)
        if operator:
            return f"Incomplete expression: '{operator}' needs an operand on its right"
        return f"Incomplete {name.upper()} expression"
    description = re.sub(r" but got <Token token_type: TokenType.SENTINEL.*", " at end of statement",
                         description)
    description = re.sub(r"<Token token_type: TokenType\.\w+, text: ([^,]*),.*?>", r"'\1'",
                         description)
    if description == "Invalid expression / Unexpected token":
        description = "Unexpected token"
    return description.rstrip(".")


def parse_sql(text: str, path: str = "<sql>") -> ast.Script:
    """Parse SQL text; raises ``SqlSyntaxError`` with every syntax error found."""
    source = Source(path, text)
    diagnostics = Diagnostics(source)
    script = parse_script(source, diagnostics)
    diagnostics.raise_if_errors()
    return script

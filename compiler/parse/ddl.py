"""DDL and catalog statements, parsed straight into ``compiler.ast`` nodes:
``CREATE [OR REPLACE] [TEMPORARY] STREAM|TABLE|VIEW``, ``DROP``, ``SHOW``, and
the session options ``SET 'key' = 'value'`` / ``RESET ['key']``.

A source's column list holds physical columns (``name TYPE [NOT NULL]``),
computed columns (``name AS expr``), metadata columns (``METADATA [FROM 'key']
[VIRTUAL]``), ``WATERMARK FOR col AS expr``, ``PRIMARY KEY (...) [NOT]
ENFORCED`` (inline or as a constraint) and comments; ``WITH ('key' = 'value',
...)`` gives the connector properties. A ``${ENV}`` reference in a property
stays text here: the pipeline resolves it when it starts (runtime_lib/env.py),
so no secret reaches the generated module. ``LIKE base [(INCLUDING ALL
OVERWRITING OPTIONS ...)]`` after the properties bases a table on another (the
column list may then be left out); ``compiler/analyze/like.py`` merges them.
TEMPORARY is accepted and means what it means in Flink's SQL client: the
object lives as long as the file (or shell session) that creates it, which is
true of every object here.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from compiler import ast
from compiler.errors import Span
from compiler.parse.base import ParserBase
from compiler.parse.statements import StatementConverter


# what CREATE TABLE ... LIKE can include, exclude or overwrite (Flink)
LIKE_FEATURES = ("ALL", "CONSTRAINTS", "GENERATED", "METADATA", "OPTIONS", "PARTITIONS",
                 "WATERMARKS")


class DdlParser(ParserBase):
    """CREATE, DROP, SHOW, SET and RESET; ``SqlcParser._parse_statement`` dispatches here."""

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
        # CREATE TABLE t WITH (...) LIKE base: the column list may be left out
        listed = self._match(TokenType.L_PAREN)
        if not listed and not (self._curr and self._curr.token_type == TokenType.WITH
                               or self._curr and self._curr.text.upper() == "LIKE"):
            self._error_at(f"Expected '(' and the column list of {kind.lower()} {name}"
                           + (", or LIKE and the table it is based on" if kind == "TABLE"
                              else ""))
        columns: list[ast.ColumnDef] = []
        watermark: ast.WatermarkDef | None = None
        primary_key: ast.PrimaryKey | None = None
        if listed and self._match(TokenType.R_PAREN, advance=False) and self._index + 1 < len(
                self._tokens) and self._tokens[self._index + 1].text.upper() in ("WITH", "LIKE"):
            self._advance()  # CREATE TABLE t () LIKE base
            listed = False
        while listed:
            element_first = self._curr
            if self._match_text_seq("WATERMARK", "FOR"):
                column = self._parse_sqlc_column_ref()
                if not self._match(TokenType.ALIAS):
                    self._error_at("Expected AS and the watermark expression")
                expr = StatementConverter().expr(self._parse_assignment())
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
        partitioned_by: list[ast.Column] = []
        if (self._curr and self._curr.token_type == TokenType.PARTITION_BY
                and self._curr.text.upper().startswith("PARTITIONED")):
            self._advance()
            if not self._match(TokenType.L_PAREN, advance=False):
                self._error_at("Expected '(' and the partition columns after PARTITIONED BY")
            partitioned_by = self._parse_sqlc_column_list()
        properties = self._parse_sqlc_properties()
        like = self._parse_sqlc_like()
        if like is None and not columns:
            self._error_at(f"Expected the column list of {kind.lower()} {name}, or LIKE "
                           "and the table it is based on")
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
            like=like,
            partitioned_by=tuple(partitioned_by),
        )

    def _parse_sqlc_like(self) -> ast.LikeClause | None:
        """``LIKE base [( {INCLUDING|EXCLUDING|OVERWRITING} feature ... )]`` (Flink)."""
        if not (self._curr and self._curr.text.upper() == "LIKE"):
            return None
        first = self._curr
        self._advance()
        name, name_span = self._parse_sqlc_name_spanned()
        options: list[ast.LikeOption] = []
        if self._match(TokenType.L_PAREN):
            while not self._match(TokenType.R_PAREN):
                start = self._curr
                strategy = self._curr.text.upper() if self._curr else ""
                if strategy not in ("INCLUDING", "EXCLUDING", "OVERWRITING"):
                    self._error_at("Expected INCLUDING, EXCLUDING or OVERWRITING in the LIKE "
                                   "options")
                self._advance()
                feature = self._curr.text.upper() if self._curr else ""
                if feature not in LIKE_FEATURES:
                    self._error_at(f"Expected one of {', '.join(LIKE_FEATURES)} after "
                                   f"{strategy}")
                self._advance()
                options.append(ast.LikeOption(strategy, feature, span=self._span_from(start)))
                self._match(TokenType.COMMA)
        return ast.LikeClause(name, tuple(options), name_span=name_span, span=self._span_from(first))

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
            expr = StatementConverter().expr(self._parse_assignment())
            comment = self._parse_sqlc_string() if self._match(TokenType.COMMENT) else None
            return ast.ColumnDef(name, computed=expr, comment=comment,
                                 span=self._span_from(first)), None
        type_first = self._curr
        row = self._parse_sqlc_row_type()
        type_node = row or self._parse_types(check_func=False, schema=True,
                                             allow_identifiers=False)
        if isinstance(type_node, ast.TypeName):
            type_name = type_node
        elif isinstance(type_node, exp.DataType):
            type_name = StatementConverter().type_name(
                type_node, Span(type_first.start, self._prev.end + 1)
            )
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

    def _parse_sqlc_row_type(self) -> ast.TypeName | None:
        """Flink's ``ROW<name type, ...>`` or ``ROW(name type, ...)``, each field
        ``name type [NOT NULL] ['comment']``; None (nothing consumed) if the
        next tokens are not a ROW type."""
        first = self._curr
        if not (first and first.text.upper() == "ROW" and self._next
                and self._next.token_type in (TokenType.LT, TokenType.L_PAREN)):
            return None
        self._advance()
        close = TokenType.GT if self._curr.token_type == TokenType.LT else TokenType.R_PAREN
        self._advance()
        names: list[str] = []
        children: list[ast.TypeName] = []
        not_null: list[bool] = []
        while not self._match(close):
            if names and not self._match(TokenType.COMMA):
                self._error_at(f"Expected ',' or '{'>' if close == TokenType.GT else ')'}' "
                               "between the fields of a ROW type")
            name = self._parse_sqlc_identifier()
            if name.lower() in (n.lower() for n in names):
                self._soft_error(f"duplicate field '{name}' in a ROW type",
                                 Span(self._prev.start, self._prev.end + 1))
            type_first = self._curr
            child = self._parse_sqlc_row_type()
            if child is None:
                node = self._parse_types(check_func=False, schema=True,
                                         allow_identifiers=False)
                if isinstance(node, exp.DataType):
                    child = StatementConverter().type_name(
                        node, Span(type_first.start, self._prev.end + 1))
                elif type_first and type_first.token_type in (TokenType.VAR,
                                                              TokenType.IDENTIFIER):
                    # a name sqlglot does not know as a type: the analyzer reports it
                    self._advance()
                    child = ast.TypeName(type_first.text.upper(),
                                         span=Span(type_first.start, type_first.end + 1))
                else:
                    self._error_at(f"Expected a data type for field {name}", type_first)
            names.append(name)
            children.append(child)
            not_null.append(bool(self._match_text_seq("NOT", "NULL")))
            if self._curr and self._curr.token_type == TokenType.STRING:
                self._advance()  # the field's comment
        return ast.TypeName("ROW", (), tuple(children), tuple(names), tuple(not_null),
                            span=self._span_from(first))

    def _parse_sqlc_string(self) -> str:
        token = self._curr
        if not token or token.token_type != TokenType.STRING:
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
        query = StatementConverter().query(query_node)
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
        if word == "CREATE":  # SHOW CREATE TABLE|STREAM|VIEW name
            self._advance()
            if not self._curr or self._curr.text.upper() not in ("TABLE", "STREAM", "VIEW"):
                self._error_at("Expected TABLE, STREAM or VIEW after SHOW CREATE")
            self._advance()
            name, name_span = self._parse_sqlc_name_spanned()
            return ast.Show("CREATE", span=self._span_from(first), name=name,
                            name_span=name_span)
        if word not in ("STREAMS", "TABLES", "VIEWS", "FUNCTIONS"):
            self._error_at("Expected STREAMS, TABLES, VIEWS, FUNCTIONS or CREATE after SHOW")
        self._advance()
        return ast.Show(word, span=self._span_from(first))

    # -- SET / RESET ---------------------------------------------------------------

    def _parse_sqlc_set(self) -> ast.Set:
        """``SET 'key' = 'value'``; Flink 1.x's unquoted ``SET key.name = value``
        too; ``SET`` alone (list the options)."""
        first = self._curr
        self._advance()  # SET
        if not self._curr:
            return ast.Set(span=self._span_from(first))
        key, key_span = self._parse_sqlc_option_key("SET")
        if not self._match(TokenType.EQ):
            self._error_at(f"Expected '=' and a quoted value after SET '{key}'",
                           self._curr or self._prev)
        if not self._curr:
            self._error_at(f"Expected a quoted value after SET '{key}' =", self._prev)
        value_first = self._curr
        if value_first.token_type == TokenType.STRING:
            self._advance()
            value = value_first.text
            if self._curr:
                self._error_at(f"Expected the end of the SET statement after '{value}'")
        else:  # Flink 1.x: the rest of the statement, as written
            while self._curr:
                self._advance()
            value = self.sql[value_first.start : self._prev.end + 1]
        return ast.Set(key, value, key_span=key_span, value_span=self._span_from(value_first),
                       span=self._span_from(first))

    def _parse_sqlc_reset(self) -> ast.Reset:
        """``RESET 'key'``, ``RESET key.name``, or ``RESET`` alone (every option)."""
        first = self._curr
        self._advance()  # RESET
        if not self._curr:
            return ast.Reset(span=self._span_from(first))
        key, key_span = self._parse_sqlc_option_key("RESET")
        if self._curr:
            self._error_at(f"Expected the end of the RESET statement after '{key}'")
        return ast.Reset(key, key_span=key_span, span=self._span_from(first))

    def _parse_sqlc_option_key(self, statement: str) -> tuple[str, Span]:
        """A quoted key, or an unquoted one as written (``table.exec.mini-batch.enabled``
        is many tokens, keywords among them: the text they cover, without spaces)."""
        first = self._curr
        if first.token_type == TokenType.STRING:
            self._advance()
            return first.text, self._span_from(first)
        if first.token_type in (TokenType.EQ, TokenType.NUMBER):
            self._error_at(f"Expected a quoted key after {statement}, e.g. {statement} "
                           "'execution.checkpointing.interval'", first)
        self._advance()
        while (self._curr and self._curr.token_type not in (TokenType.EQ, TokenType.STRING)
               and self._curr.start == self._prev.end + 1):
            self._advance()
        return self.sql[first.start : self._prev.end + 1], self._span_from(first)

"""What every parsing method of the dialect relies on: errors reported at the
token they are about, and reading names and column references.

``ParserBase`` extends sqlglot's parser; ``DdlParser`` (compiler/parse/ddl.py)
and ``SqlcParser`` (compiler/parse/dialect.py) build on it.
"""

from __future__ import annotations

from typing import Any

from sqlglot.parser import Parser as _SqlglotParser
from sqlglot.tokens import Token, TokenType

from compiler import ast
from compiler.errors import Span
from compiler.parse.errors import _MISSING_CLOSER, _unexpected_message


class ParserBase(_SqlglotParser):
    """Where an error is reported (``sqlc_error_span``), and the token helpers."""

    sqlc_error_span: Span | None = None
    # where the statement ends: its ';', or just past its last token
    sqlc_end_span: Span | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # errors that do not stop the statement's parse: (message, span)
        self.sqlc_soft_errors: list[tuple[str, Span]] = []

    # -- errors ----------------------------------------------------------------

    def raise_error(self, message: str, token: Token | None = None) -> None:
        if message in _MISSING_CLOSER:
            # report a missing ')' or END where it is missing, not at the last good token
            token = self._curr or None
            if token is None and self.sqlc_error_span is None and self.sqlc_end_span:
                self.sqlc_error_span = self.sqlc_end_span
        elif message == "Invalid expression / Unexpected token":
            token = token or self._curr
            prev = self._tokens[self._index - 1] if self._index > 0 else None
            message = _unexpected_message(token, prev)
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

    # -- names -------------------------------------------------------------------

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
        if not token or token.token_type in (
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

    def _parse_sqlc_column_ref(self) -> ast.Column:
        token = self._curr
        name = self._parse_sqlc_identifier()
        return ast.Column(name, span=Span(token.start, token.end + 1))

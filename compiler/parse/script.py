"""The entry points: a file of statements -> ``compiler.ast.Script``.

The tokens are cut into statements at each ';', and each statement is parsed
on its own, so one syntax error does not hide the errors of the next.
"""

from __future__ import annotations

from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from compiler import ast
from compiler.errors import Diagnostics, Source, Span
from compiler.parse.dialect import SqlcDialect, SqlcParser, SqlcTokenizer
from compiler.parse.errors import ConversionError, _clean_parse_message, _unterminated
from compiler.parse.statements import StatementConverter


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
                    statements.append(StatementConverter().statement(node))
        except ParseError as error:
            span = parser.sqlc_error_span or Span(chunk[0].start, chunk[-1].end + 1)
            message = _clean_parse_message(error)
            diagnostics.error("SqlSyntaxError", message, span)
        except ConversionError as error:
            span = error.span or Span(chunk[0].start, chunk[-1].end + 1)
            diagnostics.error(error.kind, str(error), span)
    return ast.Script(tuple(statements))


def parse_sql(text: str, path: str = "<sql>") -> ast.Script:
    """Parse SQL text; raises ``SqlSyntaxError`` with every syntax error found."""
    source = Source(path, text)
    diagnostics = Diagnostics(source)
    script = parse_script(source, diagnostics)
    diagnostics.raise_if_errors()
    return script

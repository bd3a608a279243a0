"""The entry points: a file of statements -> ``compiler.ast.Script``.

The tokens are cut into statements at each ';', and each statement is parsed
on its own, so one syntax error does not hide the errors of the next.
"""

from __future__ import annotations

import re

from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from compiler import ast
from compiler.errors import Diagnostics, Source, Span
from compiler.parse.dialect import SqlcDialect, SqlcParser, SqlcTokenizer
from compiler.parse.errors import ConversionError, _clean_parse_message, _unterminated
from compiler.parse.statements import StatementConverter


# the tokens of one statement, and the ';' that ends it (None at the end of the text)
Chunk = tuple[list[Token], "Token | None"]


def _statement_chunks(all_tokens: list[Token]) -> list[Chunk]:
    """The tokens of each statement, with the ';' that ends it (None at the end of text)."""
    chunks: list[Chunk] = []
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


def _words(tokens: list[Token], n: int) -> list[str]:
    return [tok.text.upper() for tok in tokens[:n]]


def _statement_sets(chunks: list[Chunk], text: str, diagnostics: Diagnostics) -> list[Chunk]:
    """Flink's ``EXECUTE STATEMENT SET BEGIN INSERT ...; INSERT ...; END;`` and
    ``BEGIN STATEMENT SET; ... END;`` unwrapped: their INSERTs are statements of
    the file like any other, and all the queries of a file are compiled into one
    module that reads each source once (Flink: one job). Only INSERTs may stand
    in a set."""
    out: list[Chunk] = []
    opened: Span | None = None  # where the open set begins
    for tokens, terminator in chunks:
        if opened is None and _words(tokens, 3) == ["STATEMENT", "SET", "BEGIN"]:
            # EXECUTE STATEMENT SET BEGIN (EXECUTE is masked, see _tokenize)
            start = text.upper().rfind("EXECUTE", 0, tokens[0].start)
            opened, tokens = Span(start, tokens[2].end + 1), tokens[3:]
            if not tokens:
                continue
        elif opened is None and _words(tokens, 4) == ["BEGIN", "STATEMENT", "SET"]:
            opened = Span(tokens[0].start, tokens[2].end + 1)
            continue
        elif opened is not None and _words(tokens, 2) == ["END"]:
            opened = None
            continue
        if opened is not None and _words(tokens, 1) != ["INSERT"]:
            diagnostics.error("SqlSyntaxError", "a STATEMENT SET holds INSERT INTO statements "
                              f"only, not {tokens[0].text.upper()}",
                              Span(tokens[0].start, tokens[-1].end + 1))
            continue
        out.append((tokens, terminator))
    if opened is not None:
        diagnostics.error("SqlSyntaxError", "the STATEMENT SET is not closed: end it with END;",
                          opened)
    return out


# sqlglot reads EXECUTE as a command whose rest is one string: where it opens a
# statement set, it is blanked (the same length: positions stay)
_EXECUTE_SET = re.compile(r"((?:^|;)\s*)EXECUTE(?=\s+STATEMENT\s+SET\b)", re.IGNORECASE)


def _tokenize(source: Source, diagnostics: Diagnostics) -> list[Token]:
    """The file's tokens. Text that cannot be tokenized (a quote or comment that never
    closes) is reported once; the statements before it are still parsed."""
    text = _EXECUTE_SET.sub(lambda m: m.group(1) + " " * len("EXECUTE"), source.text)
    try:
        return SqlcTokenizer(dialect=SqlcDialect).tokenize(text)
    except TokenError as error:
        problem = _unterminated(source.text)
        if problem is None:
            message = str(error).split(". Line ")[0]
            diagnostics.error("SqlSyntaxError", message, Span(0, 1))
            return []
        message, span = problem
        diagnostics.error("SqlSyntaxError", message, span)
    try:
        tokens = SqlcTokenizer(dialect=SqlcDialect).tokenize(text[: span.start])
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
    chunks = _statement_sets(_statement_chunks(_tokenize(source, diagnostics)), source.text,
                             diagnostics)
    for chunk, terminator in chunks:
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

"""Parse errors: where they point and how they read.

The parser records the span of each node it builds in ``node.meta[_SPAN]``;
``span_of`` reads it back (or sqlglot's own token offsets) for the errors of
the conversion to ``compiler.ast``, which raises ``ConversionError``. The rest
phrases sqlglot's messages for a SQL user rather than a sqlglot developer.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

from compiler.errors import Span, SqlcError, did_you_mean

_SPAN = "sqlc_span"

# sqlglot's messages for a missing closing token
_MISSING_CLOSER = ("Expecting )", "Expected END after CASE")

# clause keywords a misspelling of which sqlglot would read as an alias
_CLAUSE_KEYWORDS = ["WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "FROM", "JOIN", "UNION",
                    "EMIT", "WINDOW", "SELECT", "INNER", "LEFT", "RIGHT", "FULL", "CROSS"]


class ConversionError(Exception):
    """What the conversion to ``compiler.ast`` refuses, with its kind: a
    ``SqlSyntaxError`` (the SQL is wrong) or an ``UnsupportedError`` (valid SQL
    that sqlc does not run yet)."""

    def __init__(self, kind: type[SqlcError], message: str, span: Span | None):
        super().__init__(message)
        self.kind = kind.kind
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


def _unexpected_message(token: Token, prev: Token | None) -> str:
    """Name the token sqlglot could not place, and guess why it is there."""
    if not token:
        return "Unexpected end of statement"
    text = token.text if token.token_type != TokenType.STRING else f"'{token.text}'"
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

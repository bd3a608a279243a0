"""MATCH_RECOGNIZE's PATTERN: its text parsed into ``logical.PatternTerm``, and
the patterns Flink refuses.

The grammar (the SQL standard's row pattern, as Flink documents it)::

    alternation := concat ('|' concat)*
    concat      := quantified+
    quantified  := primary [quantifier ['?']]      -- a trailing '?' is reluctant
    primary     := variable | '(' alternation ')'
    quantifier  := '*' | '+' | '?' | '{' n '}' | '{' n ',' '}' | '{' n ',' m '}' | '{' ',' m '}'

Positions are those of the SQL text, so an error points into the pattern.
``PERMUTE``, exclusion ``{- A -}`` and the anchors ``^ $`` are SQL-standard
syntax that Flink does not support; they are refused by name.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import NoReturn

from compiler import logical as lg
from compiler.analyze.scope import Abort
from compiler.errors import Diagnostics, Span

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z_0-9]*|\"[^\"]+\"|`[^`]+`)|(?P<number>\d+)"
    r"|(?P<op>\{-|-\}|[()|*+?{},^$]))"
)


class _PatternParser:
    def __init__(self, diag: Diagnostics, text: str, offset: int):
        self.diag, self.text, self.offset = diag, text, offset
        self.tokens: list[tuple[str, str, Span]] = []  # (kind, text, span)
        pos = 0
        while pos < len(text):
            if not text[pos:].strip():
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                start = pos + len(text[pos:]) - len(text[pos:].lstrip())
                self.error("SqlSyntaxError", f"unexpected '{text[start]}' in PATTERN",
                           self._span(start, start + 1))
            kind = m.lastgroup or "op"
            value = m.group(kind)
            self.tokens.append((kind, value, self._span(m.start(kind), m.end(kind))))
            pos = m.end()
        self.i = 0

    def _span(self, start: int, end: int) -> Span:
        return Span(self.offset + start, self.offset + end)

    def error(self, kind: str, message: str, span: Span) -> NoReturn:
        self.diag.error(kind, message, span)
        raise Abort

    def peek(self) -> tuple[str, str, Span] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, Span]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def end_span(self) -> Span:
        end = self.offset + len(self.text.rstrip())
        return Span(max(end - 1, self.offset), max(end, self.offset + 1))

    def parse(self) -> lg.PatternTerm:
        if not self.tokens:
            self.error("SqlSyntaxError", "PATTERN is empty; name at least one variable",
                       self.end_span())
        term = self.alternation()
        extra = self.peek()
        if extra is not None:
            self.error("SqlSyntaxError", f"unexpected '{extra[1]}' in PATTERN", extra[2])
        return term

    def alternation(self) -> lg.PatternTerm:
        options = [self.concat()]
        while (token := self.peek()) is not None and token[1] == "|":
            self.take()
            options.append(self.concat())
        if len(options) == 1:
            return options[0]
        return lg.PatternAlternation(tuple(options), span=options[0].span.to(options[-1].span))

    def concat(self) -> lg.PatternTerm:
        terms: list[lg.PatternTerm] = []
        while (token := self.peek()) is not None and token[1] not in ("|", ")"):
            term = self.quantified()
            # an unquantified group of a concatenation is the same concatenation
            terms.extend(term.terms if isinstance(term, lg.PatternConcat) else (term,))
        if not terms:
            token = self.peek()
            self.error("SqlSyntaxError", "expected a pattern variable",
                       token[2] if token else self.end_span())
        if len(terms) == 1:
            return terms[0]
        return lg.PatternConcat(tuple(terms), span=terms[0].span.to(terms[-1].span))

    def quantified(self) -> lg.PatternTerm:
        term = self.primary()
        token = self.peek()
        if token is None or token[1] not in ("*", "+", "?", "{"):
            return term
        first = self.take()
        if first[1] == "*":
            low, high = 0, None
        elif first[1] == "+":
            low, high = 1, None
        elif first[1] == "?":
            low, high = 0, 1
        else:
            low, high = self.braces(first[2])
        last = self.tokens[self.i - 1][2]
        greedy = True
        if (token := self.peek()) is not None and token[1] == "?":
            self.take()
            greedy, last = False, token[2]
        return lg.PatternQuantified(term, low, high, greedy, span=term.span.to(last))

    def braces(self, open_span: Span) -> tuple[int, int | None]:
        """``{n}``, ``{n,}``, ``{n,m}``, ``{,m}`` after the ``{``."""
        def number() -> int | None:
            token = self.peek()
            if token is not None and token[0] == "number":
                self.take()
                return int(token[1])
            return None

        low = number()
        high: int | None
        if (token := self.peek()) is not None and token[1] == ",":
            self.take()
            high = number()
        else:
            high = low
        close = self.peek()
        if close is None or close[1] != "}":
            self.error("SqlSyntaxError", "expected '}' to close the quantifier",
                       close[2] if close else self.end_span())
        self.take()
        span = open_span.to(close[2])
        if low is None and high is None:
            self.error("SqlSyntaxError", "a quantifier {n,m} needs a number", span)
        low = low or 0
        if high is not None and high == 0:
            self.error("BindError", "a quantifier must allow at least one row ({0} and {,0} "
                       "match nothing)", span)
        if high is not None and low > high:
            self.error("BindError", f"quantifier {{{low},{high}}}: the minimum is larger than "
                       "the maximum", span)
        return low, high

    def primary(self) -> lg.PatternTerm:
        kind, text, span = self.take()
        if kind == "name" and text.upper() == "PERMUTE":
            self.error("UnsupportedError", "PERMUTE in PATTERN is not supported (Flink does "
                       "not support it)", span)
        if kind == "name":
            name = text[1:-1] if text[0] in "\"`" else text
            return lg.PatternVariable(name, span=span)
        if text == "(":
            inner = self.alternation()
            close = self.peek()
            if close is None or close[1] != ")":
                self.error("SqlSyntaxError", "expected ')' in PATTERN",
                           close[2] if close else self.end_span())
            self.take()
            return inner
        if text == "{-":
            self.error("UnsupportedError", "exclusion {- ... -} in PATTERN is not supported "
                       "(Flink: it only means something with ALL ROWS PER MATCH)", span)
        if text in ("^", "$"):
            self.error("UnsupportedError", f"the anchor {text} in PATTERN is not supported "
                       "(Flink: partitions of a stream have no start or end)", span)
        if kind == "number":
            self.error("SqlSyntaxError", f"expected a pattern variable, found {text}", span)
        self.error("SqlSyntaxError", f"expected a pattern variable before '{text}'", span)


def parse_pattern(diag: Diagnostics, text: str, span: Span) -> lg.PatternTerm:
    """The PATTERN's text (at ``span`` of the source) as a PatternTerm; a
    positioned SqlSyntaxError (and Abort) when it does not parse."""
    return _PatternParser(diag, text, span.start).parse()


def flink_refusals(term: lg.PatternTerm) -> list[tuple[str, Span]]:
    """What Flink refuses in a well-formed pattern, as UnsupportedError
    (message, span) pairs."""
    problems: list[tuple[str, Span]] = []

    def visit(t: lg.PatternTerm) -> None:
        if isinstance(t, lg.PatternAlternation):
            for option in t.options:
                visit(option)
        elif isinstance(t, lg.PatternQuantified):
            if not t.greedy and t.min == 0 and t.max == 1:
                problems.append(("the reluctant optional quantifier (A?? or A{0,1}?) is not "
                                 "supported (Flink supports only the greedy A?)", t.span))
            visit(t.term)
        elif isinstance(t, lg.PatternConcat):
            for part in t.terms:
                visit(part)

    visit(term)
    # a variable written twice (``A B | A C``, ``A B A``) runs, one state per occurrence,
    # though Flink refuses it ("Pattern variables must be unique"), as it refuses alternation
    if _can_be_empty(term):
        problems.append(("this PATTERN can match no rows at all (every variable is optional); "
                         "Flink needs at least one variable that must match", term.span))
    for last in _last_elements(term):
        if isinstance(last, lg.PatternQuantified) and last.greedy and last.min != last.max:
            # the reluctant A?? is refused too: only the single variable is left
            reluctant = ("" if (last.min, last.max) == (0, 1)
                         else f"make it reluctant ({lg.pattern_sql(last)}?) or ")
            problems.append(("Flink does not allow a greedy quantifier on the last element of "
                             f"a pattern; {reluctant}end with a single variable", last.span))
    return problems


def _last_elements(term: lg.PatternTerm) -> list[lg.PatternTerm]:
    """The elements a match can end with: the last of a concatenation, each
    option's of an alternation (a quantified group is one element)."""
    if isinstance(term, lg.PatternConcat):
        return _last_elements(term.terms[-1])
    if isinstance(term, lg.PatternAlternation):
        return [last for option in term.options for last in _last_elements(option)]
    return [term]


def _can_be_empty(term: lg.PatternTerm) -> bool:
    if isinstance(term, lg.PatternVariable):
        return False
    if isinstance(term, lg.PatternQuantified):
        return term.min == 0 or _can_be_empty(term.term)
    if isinstance(term, lg.PatternConcat):
        return all(_can_be_empty(t) for t in term.terms)
    return any(_can_be_empty(o) for o in term.options)


def spelled_as_first(term: lg.PatternTerm, names: dict[str, str] | None = None) -> lg.PatternTerm:
    """``term`` with each variable spelled as where it first appears (``a B A``
    is ``a B a``): a variable written twice is one variable, whatever its case."""
    names = {} if names is None else names
    if isinstance(term, lg.PatternVariable):
        name = names.setdefault(term.name.upper(), term.name)
        return term if name == term.name else replace(term, name=name)
    if isinstance(term, lg.PatternQuantified):
        inner = spelled_as_first(term.term, names)
        return term if inner is term.term else replace(term, term=inner)
    if isinstance(term, lg.PatternConcat):
        parts = tuple(spelled_as_first(t, names) for t in term.terms)
        return term if parts == term.terms else replace(term, terms=parts)
    options = tuple(spelled_as_first(o, names) for o in term.options)
    return term if options == term.options else replace(term, options=options)


def mandatory(term: lg.PatternTerm) -> set[str]:
    """Variables (upper case) every match of the pattern has a row of."""
    if isinstance(term, lg.PatternVariable):
        return {term.name.upper()}
    if isinstance(term, lg.PatternQuantified):
        return mandatory(term.term) if term.min > 0 else set()
    if isinstance(term, lg.PatternConcat):
        return set().union(*(mandatory(t) for t in term.terms))
    options = [mandatory(o) for o in term.options]
    return set.intersection(*options) if options else set()

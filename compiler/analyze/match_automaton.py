"""MATCH_RECOGNIZE's PATTERN compiled to an automaton, at compile time.

The automaton has one state per occurrence of a variable (a bounded
quantifier ``B{2,3}`` is unrolled into three occurrences of B): being in a
state means "the last row was matched as that variable". Each state, and the
start, lists its next steps *in order of preference*: a state number (match
the next row as that state's variable and go there) or ``ACCEPT`` (the match
is complete with the rows so far). Greedy quantifiers put "one more" before
"go on", reluctant ones after; alternation lists its options left to right.
That order is the order a backtracking matcher tries them, so the runtime,
which follows all steps at once, keeps the match a backtracking matcher would
find first (the SQL standard's "preferred" match, as Flink's).

>>> from compiler.analyze.match_pattern import parse_pattern
>>> from compiler.errors import Diagnostics, Source, Span
>>> def auto(text):
...     diag = Diagnostics(Source("q.sql", text))
...     return build_automaton(parse_pattern(diag, text, Span(0, len(text))))
>>> a = auto("A B+ C")
>>> a.start, a.states
((0,), (('A', (1,)), ('B', (1, 2)), ('C', (-1,))))
>>> auto("A B{1,2}? C").states
(('A', (1,)), ('B', (2, 3)), ('C', (-1,)), ('B', (2,)))
>>> auto("A{2,} B*? C").states
(('A', (1,)), ('A', (1, 2, 3)), ('C', (-1,)), ('B', (2, 3)))
>>> auto("(A | B) C?").states
(('A', (2, -1)), ('B', (2, -1)), ('C', (-1,)))
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler import logical as lg

ACCEPT = -1


@dataclass(frozen=True)
class Automaton:
    """``start``: the steps of a match's first row; ``states[i]`` = (variable,
    steps after a row matched as it). Steps are state numbers or ACCEPT."""

    start: tuple[int, ...]
    states: tuple[tuple[str, tuple[int, ...]], ...]


class _Builder:
    """Continuation-passing construction: ``build(term, after)`` gives the
    steps that enter ``term`` and, once it is matched, go on with ``after``.
    A step list may hold a ``_Loop`` (the steps of an unbounded quantifier,
    filled in once known); ``flatten`` resolves them."""

    def __init__(self) -> None:
        self.states: list[tuple[str, list]] = []

    def build(self, term: lg.PatternTerm, after: list) -> list:
        if isinstance(term, lg.PatternVariable):
            self.states.append((term.name, after))
            return [len(self.states) - 1]
        if isinstance(term, lg.PatternConcat):
            for part in reversed(term.terms):
                after = self.build(part, after)
            return after
        if isinstance(term, lg.PatternAlternation):
            return [step for option in term.options for step in self.build(option, after)]
        return self.quantified(term, after)

    def quantified(self, term: lg.PatternQuantified, after: list) -> list:
        if term.max is None:
            loop = _Loop()
            body = self.build(term.term, [loop])
            loop.steps = body + after if term.greedy else after + body
            # B{n,}: n - 1 rows as B, then the looping B (entered by its body: once at least)
            rest: list = body if term.min else [loop]
            for _ in range(max(term.min - 1, 0)):
                rest = self.build(term.term, rest)
            return rest
        rest = after
        for _ in range(term.max - term.min):  # the optional repetitions, innermost first
            body = self.build(term.term, rest)
            rest = body + after if term.greedy else after + body
        for _ in range(term.min):
            rest = self.build(term.term, rest)
        return rest


class _Loop:
    def __init__(self) -> None:
        self.steps: list = []


def _flatten(steps: list, seen: frozenset[int] = frozenset()) -> tuple[int, ...]:
    """Steps with loops resolved, each state once (its first, preferred place);
    a loop already being resolved adds nothing (an empty repetition)."""
    out: list[int] = []
    for step in steps:
        if isinstance(step, _Loop):
            if id(step) in seen:
                continue
            found = _flatten(step.steps, seen | {id(step)})
        else:
            found = (step,)
        out.extend(s for s in found if s not in out)
    return tuple(out)


def build_automaton(pattern: lg.PatternTerm) -> Automaton:
    """The automaton of ``pattern``; an empty match (ACCEPT before any row)
    is not a match (Flink's), so the start never accepts."""
    builder = _Builder()
    start = tuple(s for s in _flatten(builder.build(pattern, [ACCEPT])) if s != ACCEPT)
    steps = [_flatten(after) for _, after in builder.states]
    # number the states in the order a match reaches them (A of ``A B+ C`` first)
    order: list[int] = []
    todo = list(start)
    while todo:
        state = todo.pop(0)
        if state != ACCEPT and state not in order:
            order.append(state)
            todo.extend(steps[state])
    number = {old: new for new, old in enumerate(order)} | {ACCEPT: ACCEPT}
    states = tuple((builder.states[old][0], tuple(number[s] for s in steps[old])) for old in order)
    return Automaton(tuple(number[s] for s in start), states)


def steps_sql(automaton: Automaton, steps: tuple[int, ...]) -> str:
    """``B | C | ACCEPT``: steps named by their variables, for comments."""
    return " | ".join("ACCEPT" if s == ACCEPT else automaton.states[s][0] for s in steps)

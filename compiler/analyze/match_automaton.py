"""MATCH_RECOGNIZE's PATTERN compiled to an automaton, at compile time.

The automaton has one state per occurrence of a variable (a bounded
quantifier ``B{2,3}`` is unrolled into three occurrences of B): being in a
state means "the last row was matched as that variable". Each state, and the
start, lists its next steps in order of preference: a ``Step`` to a state
(match the next row as that state's variable and go there) or to ``ACCEPT``
(the match is complete with the rows so far). Greedy quantifiers put "one
more" before "go on", reluctant ones after; alternation lists its options
left to right.

Matching follows Flink's CEP (``NFACompiler``), not a backtracking matcher:
every path is followed at once and a match is complete as soon as any path
accepts (the shortest match from its first row; paths that accept on the
same row are taken in order of preference). What makes a quantifier greedy
is then a guard: a greedy ``A+``, ``A*``, ``A{n,}`` or ``A{n,m}`` (n < m)
leaves A only on a row that A's DEFINE rejects, so ``A+ C`` never tries C on
a row A could take. The guard is the step's ``unless``: the variables whose
DEFINE, evaluated as if the row were matched as them, must not hold. Flink
puts it on every way out of the quantifier: after its last repetition too
(``A{1,2} C`` matches C only on a row that is not an A), and on skipping it
(``X A* C``). ``A?`` and ``A{n}`` have no guard (Flink's greedy applies to
neither); a quantified group, which Flink refuses, is guarded by the
variables its first row can be. A guarded ACCEPT is decided on the row just
matched, as Flink decides the end of a match on the row that completes it
(``A+ B*?`` never ends after an A, whose row A's DEFINE just took).

>>> from compiler.analyze.match_pattern import parse_pattern
>>> from compiler.errors import Diagnostics, Source, Span
>>> def auto(text):
...     diag = Diagnostics(Source("q.sql", text))
...     return describe(build_automaton(parse_pattern(diag, text, Span(0, len(text)))))
>>> print(auto("A B+ C"))
start -> A
0 A -> B
1 B -> B | C unless B
2 C -> ACCEPT
>>> print(auto("A B{1,2}? C"))
start -> A
0 A -> B
1 B -> C | B
2 C -> ACCEPT
3 B -> C
>>> print(auto("A{2,} B*? C"))
start -> A
0 A -> A
1 A -> A | C unless A | B unless A
2 C -> ACCEPT
3 B -> C | B
>>> print(auto("(A | B) C?"))
start -> A | B
0 A -> C | ACCEPT
1 B -> C | ACCEPT
2 C -> ACCEPT
>>> print(auto("A* B{1,2} C"))
start -> A | B unless A
0 A -> A | B unless A
1 B -> B | C unless B
2 B -> C unless B
3 C -> ACCEPT
"""

from __future__ import annotations

from typing import NamedTuple

from compiler import logical as lg
from compiler.frozen import frozen_dataclass

ACCEPT = -1


class Step(NamedTuple):
    """Match the next row as ``state`` (or accept: ACCEPT), unless the row
    passes the DEFINE of one of the variables ``unless``."""

    state: int
    unless: tuple[str, ...] = ()


@frozen_dataclass
class Automaton:
    """``start``: the steps of a match's first row; ``states[i]`` = (variable,
    steps after a row matched as it)."""

    start: tuple[Step, ...]
    states: tuple[tuple[str, tuple[Step, ...]], ...]


def greedy_guard(term: lg.PatternQuantified) -> bool:
    """Whether leaving ``term`` is guarded: Flink's greedy applies to loops and
    to ``{n,m}`` with n < m, not to ``?`` (``{0,1}``) nor ``{n}``."""
    return term.greedy and term.min != term.max and (term.min, term.max) != (0, 1)


def first_variables(term: lg.PatternTerm) -> tuple[str, ...]:
    """The variables the first row of ``term`` can be matched as, in pattern order."""
    if isinstance(term, lg.PatternVariable):
        return (term.name,)
    if isinstance(term, lg.PatternQuantified):
        return first_variables(term.term)
    found: list[str] = []
    parts = term.options if isinstance(term, lg.PatternAlternation) else term.terms
    for part in parts:
        found.extend(v for v in first_variables(part) if v not in found)
        if isinstance(term, lg.PatternConcat) and not _can_be_empty(part):
            break
    return tuple(found)


def _can_be_empty(term: lg.PatternTerm) -> bool:
    if isinstance(term, lg.PatternVariable):
        return False
    if isinstance(term, lg.PatternQuantified):
        return term.min == 0 or _can_be_empty(term.term)
    if isinstance(term, lg.PatternConcat):
        return all(_can_be_empty(t) for t in term.terms)
    return any(_can_be_empty(o) for o in term.options)


class _Builder:
    """Continuation-passing construction: ``build(term, after)`` gives the
    steps that enter ``term`` and, once it is matched, go on with ``after``.
    A step list may hold a ``_Loop`` (the steps of an unbounded quantifier,
    filled in once known) and a ``_Guard`` (steps taken only on a row the
    guard's variables reject); ``_flatten`` resolves them."""

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
        # every way out of a greedy quantifier is guarded, its last repetition's too
        leave = [_Guard(first_variables(term.term), after)] if greedy_guard(term) else after
        if term.max is None:
            loop = _Loop()
            body = self.build(term.term, [loop])
            loop.steps = body + leave if term.greedy else leave + body
            # B{n,}: n - 1 rows as B, then the looping B (entered by its body: once at least)
            rest: list = body if term.min else [loop]
            for _ in range(max(term.min - 1, 0)):
                rest = self.build(term.term, rest)
            return rest
        rest = leave
        for _ in range(term.max - term.min):  # the optional repetitions, innermost first
            body = self.build(term.term, rest)
            rest = body + leave if term.greedy else leave + body
        for _ in range(term.min):
            rest = self.build(term.term, rest)
        return rest


class _Loop:
    def __init__(self) -> None:
        self.steps: list = []


class _Guard:
    def __init__(self, unless: tuple[str, ...], steps: list) -> None:
        self.unless, self.steps = unless, steps


def _flatten(steps: list, seen: frozenset[int] = frozenset(),
             unless: tuple[str, ...] = ()) -> list[Step]:
    """Steps with loops and guards resolved. A state reached again is left out
    where an earlier, preferred way to it is guarded by no more; a loop
    already being resolved adds nothing (an empty repetition)."""
    out: list[Step] = []

    def add(step: Step) -> None:
        if not any(s.state == step.state and set(s.unless) <= set(step.unless) for s in out):
            out.append(step)

    for step in steps:
        if isinstance(step, _Loop):
            if id(step) in seen:
                continue
            found = _flatten(step.steps, seen | {id(step)}, unless)
        elif isinstance(step, _Guard):
            more = unless + tuple(v for v in step.unless if v not in unless)
            found = _flatten(step.steps, seen, more)
        else:
            found = [Step(step, unless)]
        for s in found:
            add(s)
    return out


def build_automaton(pattern: lg.PatternTerm) -> Automaton:
    """The automaton of ``pattern``; an empty match (ACCEPT before any row)
    is not a match (Flink's), so the start never accepts."""
    builder = _Builder()
    start = [s for s in _flatten(builder.build(pattern, [ACCEPT])) if s.state != ACCEPT]
    steps = [_flatten(after) for _, after in builder.states]
    # number the states in the order a match reaches them (A of ``A B+ C`` first)
    order: list[int] = []
    todo = [s.state for s in start]
    while todo:
        state = todo.pop(0)
        if state != ACCEPT and state not in order:
            order.append(state)
            todo.extend(s.state for s in steps[state])
    number = {old: new for new, old in enumerate(order)} | {ACCEPT: ACCEPT}

    def renumbered(found: list[Step]) -> tuple[Step, ...]:
        return tuple(Step(number[s.state], s.unless) for s in found)

    states = tuple((builder.states[old][0], renumbered(steps[old])) for old in order)
    return Automaton(renumbered(start), states)


def steps_sql(automaton: Automaton, steps: tuple[Step, ...]) -> str:
    """``B | C unless B | ACCEPT``: steps named by their variables, for comments."""
    def one(step: Step) -> str:
        name = "ACCEPT" if step.state == ACCEPT else automaton.states[step.state][0]
        return f"{name} unless {', '.join(step.unless)}" if step.unless else name

    return " | ".join(one(s) for s in steps)


def describe(automaton: Automaton) -> str:
    """The automaton, a state a line (for doctests and EXPLAIN-like reading)."""
    lines = [f"start -> {steps_sql(automaton, automaton.start)}"]
    lines += [f"{i} {variable} -> {steps_sql(automaton, steps)}"
              for i, (variable, steps) in enumerate(automaton.states)]
    return "\n".join(lines)

"""What an operator family's emitter provides, and the checks families share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.errors import Diagnostic
from compiler.physical import Exec, GroupAggregateExec, WindowAggregateExec, walk

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator

# (generator, operator, the input whose rows arrive, their variable, indent) -> code
Push = Callable[["Generator", Exec, Exec, str, str], list[str]]


def no_problems(e: Exec) -> list[Diagnostic]:
    return []


@dataclass(frozen=True)
class Emitter:
    """How one physical operator becomes code.

    ``push`` is the code that hands the rows of one input (in a variable) to the
    operator; for a stateful operator, ``declare`` writes its state into
    ``__init__`` and the ``on_<name>`` method its output rows leave by."""

    name: str  # the base of the names generated for it (attribute, function)
    push: Push | None = None  # None: nothing pushes into it (a source)
    declare: Callable[[Generator, Exec], None] | None = None  # None: stateless
    problems: Callable[[Exec], list[Diagnostic]] = no_problems  # what does not run yet
    inline: bool = False  # its rows stay in the variable, and go on up the plan (Calc)
    fires: bool = False  # it emits when watermarks pass: ``advance`` drives it


def updating_input(e: Exec) -> bool:
    """An input of ``e`` retracts rows (a regular outer join, an aggregation)."""
    return any(lg.changelog(child.logical) != "I" for child in e.inputs)


def over_aggregation(e: Exec) -> bool:
    """An aggregation runs somewhere below ``e``."""
    return any(isinstance(x, (WindowAggregateExec, GroupAggregateExec))
               for child in e.inputs for x in walk(child))


def over_updating_problem(e: Exec) -> list[Diagnostic]:
    if not updating_input(e):
        return []
    return [Diagnostic(
        "UnsupportedError", f"{e.name} over an updating input (a regular outer "
        "join or an aggregation) does not run yet", e.span)]


def over_aggregation_problem(e: Exec) -> list[Diagnostic]:
    if not over_aggregation(e):
        return []
    return [Diagnostic(
        "UnsupportedError", f"{e.name} over an aggregation does not run yet", e.span)]

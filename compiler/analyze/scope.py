"""What analysis works with: the names visible from a relation (``Scope``), a
relation being analyzed (``Bound``), an expression already computed below
(``Ref``), and ``Abort``, which stops one statement or clause after its error
is reported (``fail`` reports and aborts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from compiler import logical as lg
from compiler.errors import Diagnostics, Span
from compiler.frozen import frozen_dataclass
from compiler.types import SqlType


class Abort(Exception):
    """Stops analysis of one statement (or one SELECT item) after an error."""


def fail(diag: Diagnostics, kind: str, message: str, span: Span, hint: str | None = None
         ) -> NoReturn:
    """Report an error and abort the statement (or SELECT item) being analyzed."""
    diag.error(kind, message, span, hint=hint)
    raise Abort


@frozen_dataclass
class ScopeField:
    qualifier: str | None
    name: str
    type: SqlType
    index: int
    label: str | None = None  # the plan's (unique) field name, when it differs from name
    path: tuple[str, ...] = ()  # a ROW column's field read into this column (bid, price)

    @property
    def ref_name(self) -> str:
        return self.label or self.name


@dataclass
class Scope:
    fields: list[ScopeField]

    @staticmethod
    def of(schema: lg.Schema, qualifier: str | None) -> Scope:
        return Scope([ScopeField(qualifier, f.name, f.type, i, path=f.path)
                      for i, f in enumerate(schema)])

    def concat(self, other: Scope) -> Scope:
        offset = len(self.fields)
        return Scope(
            self.fields
            + [ScopeField(f.qualifier, f.name, f.type, f.index + offset, f.label, f.path)
               for f in other.fields]
        )

    def find(self, name: str, qualifier: str | None) -> list[ScopeField]:
        lname = name.lower()
        lq = qualifier.lower() if qualifier else None
        return [
            f
            for f in self.fields
            if f.name.lower() == lname and (lq is None or (f.qualifier or "").lower() == lq)
        ]

    def qualifiers(self) -> set[str]:
        return {f.qualifier.lower() for f in self.fields if f.qualifier}


@dataclass
class Bound:
    """A relation during analysis: its plan, the names visible from it, its time columns."""

    plan: lg.LogicalNode
    scope: Scope
    window: lg.WindowTVF | None = None  # the TVF whose window columns are in scope


@frozen_dataclass
class Ref:
    """An expression already computed below: column ``index`` of the current scope."""

    index: int
    name: str
    span: Span = field(default=Span(0, 0), compare=False)

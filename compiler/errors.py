"""Source positions and the one error hierarchy of the compiler.

Every diagnostic points at a span of the SQL text and renders as::

    examples/q.sql:3:5: error: BindError: unknown column 'latncy_ms'; did you mean 'latency_ms'?
        AVG(latncy_ms) AS avg_latency,
            ^^^^^^^^^

Stages collect diagnostics and raise one ``SqlcError`` carrying all of them, so
a user sees every problem in the file at once.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right
from dataclasses import dataclass, field

from compiler.frozen import frozen_dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` in a Source's text."""

    start: int
    end: int

    def to(self, other: Span) -> Span:
        return Span(min(self.start, other.start), max(self.end, other.end))


NO_SPAN = Span(0, 0)


@frozen_dataclass
class Source:
    path: str
    text: str
    _line_starts: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        starts, newline = [0], self.text.find("\n")
        while newline >= 0:  # str.find, not a look at each character: a catalog is read per compile
            starts.append(newline + 1)
            newline = self.text.find("\n", newline + 1)
        object.__setattr__(self, "_line_starts", tuple(starts))

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        line = bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start : end if end >= 0 else len(self.text)]

    def fragment(self, span: Span) -> str:
        return self.text[span.start : span.end]


@frozen_dataclass
class Diagnostic:
    kind: str  # SqlSyntaxError | BindError | UnsupportedError | InternalCompilerError
    message: str
    span: Span
    severity: str = "error"  # error | warning
    hint: str | None = None

    def render(self, source: Source) -> str:
        line, col = source.line_col(self.span.start)
        text = source.line_text(line)
        end_line, end_col = source.line_col(max(self.span.end - 1, self.span.start))
        width = (end_col - col + 1) if end_line == line else len(text) - col + 1
        kind = "" if self.severity == "warning" else f"{self.kind}: "
        head = f"{source.path}:{line}:{col}: {self.severity}: {kind}{self.message}"
        caret = " " * (col - 1) + "^" * max(width, 1)
        lines = [head, f"    {text}", f"    {caret}"]
        if self.hint:
            lines.append(f"    hint: {self.hint}")
        return "\n".join(lines)

    def to_json(self, source: Source) -> dict:
        line, col = source.line_col(self.span.start)
        end_line, end_col = source.line_col(self.span.end)
        return {
            "path": source.path,
            "line": line,
            "col": col,
            "end_line": end_line,
            "end_col": end_col,
            "severity": self.severity,
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
        }


class SqlcError(Exception):
    """Raised by a compile stage with every diagnostic it found."""

    kind = "SqlcError"

    def __init__(self, diagnostics: list[Diagnostic], source: Source | None = None):
        self.diagnostics = diagnostics
        self.source = source
        super().__init__("\n".join(d.message for d in diagnostics))

    def render(self) -> str:
        if self.source is None:
            return "\n".join(f"error: {d.kind}: {d.message}" for d in self.diagnostics)
        return "\n".join(d.render(self.source) for d in self.diagnostics)

    def to_json(self) -> str:
        assert self.source is not None
        import json  # only for --json: a compile that succeeds does not need it

        return json.dumps([d.to_json(self.source) for d in self.diagnostics], indent=2)


class SqlSyntaxError(SqlcError):
    kind = "SqlSyntaxError"


class BindError(SqlcError):
    """Names and types: unknown column, wrong argument type, invalid GROUP BY."""

    kind = "BindError"


class UnsupportedError(SqlcError):
    """Valid SQL that sqlc does not run yet."""

    kind = "UnsupportedError"


class InternalCompilerError(SqlcError):
    kind = "InternalCompilerError"


class SqlFileError(Exception):
    """A SQL file (a query or a catalog) that cannot be read: missing, a
    directory, not UTF-8. A user error, reported in one line."""


class TestFileError(Exception):
    """A test file that cannot be used (compiler/testing/files.py): message,
    exit code 2."""

    __test__ = False  # not a pytest class


class ManagerError(Exception):
    """A request the query manager (compiler/manager/) refuses (unknown query,
    bad name, wrong state): ``status`` is the HTTP status it answers with.
    (Here, with the other user errors, so that the CLI names them without
    importing the manager or the test runner.)"""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def did_you_mean(name: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """A suggestion for a misspelt name, or None."""
    matches = difflib.get_close_matches(name.lower(), [c.lower() for c in candidates], n=1)
    if not matches:
        return None
    by_lower = {c.lower(): c for c in candidates}
    return by_lower[matches[0]]


class Diagnostics:
    """Collects diagnostics during one stage; ``raise_if_errors`` ends the stage."""

    def __init__(self, source: Source):
        self.source = source
        self.items: list[Diagnostic] = []

    def error(self, kind: str, message: str, span: Span, hint: str | None = None) -> None:
        self.items.append(Diagnostic(kind, message, span, "error", hint))

    def warning(self, message: str, span: Span, hint: str | None = None) -> None:
        self.items.append(Diagnostic("Warning", message, span, "warning", hint))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def raise_if_errors(self) -> None:
        errors = self.errors
        if not errors:
            return
        classes = {c.kind: c for c in (SqlSyntaxError, BindError, UnsupportedError)}
        cls = classes.get(errors[0].kind, SqlcError)
        # the same error found twice (a CTE read twice is checked twice) is shown once
        unique = list(dict.fromkeys(errors))
        raise cls(sorted(unique, key=lambda d: d.span.start), self.source)

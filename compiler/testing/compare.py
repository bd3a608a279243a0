"""Expected against observed: a changelog folded into final rows, rows
matched with a float tolerance (in order or as a multiset), and a diff table
a reviewer reads (``-`` expected but not produced, ``+`` produced but not
expected).

>>> fold([{"op": "+I", "k": "a", "n": 1}, {"op": "-U", "k": "a", "n": 1},
...       {"op": "+U", "k": "a", "n": 2}])
[{'k': 'a', 'n': 2}]
>>> same(0.30000000000000004, 0.3, 1e-9), same("2025-11-10 10:00:00.000",
...     dt.datetime(2025, 11, 10, 10), 0)
(True, True)
"""

from __future__ import annotations

import datetime as dt
import math

from compiler.testing.files import Case
from compiler.testing.runner import Observed, epoch_ms, timestamp_text


def fold(changelog: list[dict]) -> list[dict]:
    """The final rows of a changelog: +I/+U add a row, -U/-D take one back."""
    rows: list[dict] = []
    for entry in changelog:
        op = entry.get("op")
        row = {k: v for k, v in entry.items() if k != "op"}
        if op in ("-U", "-D"):
            if row in rows:
                rows.remove(row)
            continue
        rows.append(row)
    return rows


def same(actual, expected, tolerance: float) -> bool:
    """One value: numbers within the tolerance, timestamps by instant (a
    timestamp against an integer: its epoch milliseconds)."""
    if isinstance(expected, dt.datetime | dt.date) and isinstance(actual, int):
        return epoch_ms(expected) == actual
    if isinstance(expected, dt.datetime | dt.date) and isinstance(actual, str):
        try:
            parsed = dt.datetime.fromisoformat(actual)
        except ValueError:
            return False
        if not isinstance(expected, dt.datetime):
            return parsed == dt.datetime(expected.year, expected.month, expected.day)
        if expected.tzinfo is not None:
            expected = expected.astimezone(dt.UTC).replace(tzinfo=None)
        return parsed == expected
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if isinstance(expected, float) and math.isnan(expected):
            return isinstance(actual, float) and math.isnan(actual)
        return math.isclose(actual, expected, rel_tol=tolerance, abs_tol=tolerance)
    return actual == expected


def row_matches(actual: dict, expected: dict, tolerance: float, subset: bool = False) -> bool:
    if not subset and set(actual) != set(expected):
        return False
    return all(k in actual and same(actual[k], v, tolerance) for k, v in expected.items())


def compare(case: Case, observed: Observed) -> list[str]:
    """The failures of one run: each a heading and, for rows, a diff table."""
    failures = []
    if "changelog" in case.expect:
        failures += _rows("changelog", observed.changelog, case.expect["changelog"], case)
    if "rows" in case.expect:
        failures += _rows("rows", fold(observed.changelog), case.expect["rows"], case)
    for key in ("late_rows", "dead_letters"):
        if key in case.expect:
            failures += _side(key, getattr(observed, key), case.expect[key], case.tolerance)
    return failures


def _rows(what: str, actual: list[dict], expected: list[dict], case: Case) -> list[str]:
    if case.ordered:
        marks = _ordered_marks(actual, expected, case.tolerance)
    else:
        marks = _unordered_marks(actual, expected, case.tolerance)
    if all(mark == " " for mark, _ in marks):
        return []
    missing = sum(mark == "-" for mark, _ in marks)
    extra = sum(mark == "+" for mark, _ in marks)
    heading = (f"{what} differ: {missing} expected but not produced (-), "
               f"{extra} produced but not expected (+)")
    return [heading + "\n" + diff_table(marks)]


def _unordered_marks(actual, expected, tolerance) -> list[tuple[str, dict]]:
    left = list(actual)
    marks = []
    for row in expected:
        found = next((i for i, a in enumerate(left) if row_matches(a, row, tolerance)), None)
        if found is None:
            marks.append(("-", row))
        else:
            marks.append((" ", left.pop(found)))
    return marks + [("+", row) for row in left]


def _ordered_marks(actual, expected, tolerance) -> list[tuple[str, dict]]:
    marks = []
    for i in range(max(len(actual), len(expected))):
        a = actual[i] if i < len(actual) else None
        e = expected[i] if i < len(expected) else None
        if a is not None and e is not None and row_matches(a, e, tolerance):
            marks.append((" ", a))
            continue
        if e is not None:
            marks.append(("-", e))
        if a is not None:
            marks.append(("+", a))
    return marks


def _side(what: str, actual: list[dict], expected, tolerance: float) -> list[str]:
    """Late rows or dead letters: a count, or rows compared on the columns given."""
    if isinstance(expected, int):
        if len(actual) == expected:
            return []
        table = "\n" + diff_table([("+", r) for r in actual]) if actual else ""
        return [f"{what}: expected {expected}, got {len(actual)}{table}"]
    left = list(actual)
    marks = []
    for row in expected:
        found = next((i for i, a in enumerate(left)
                      if row_matches(a, row, tolerance, subset=True)), None)
        marks.append(("-", row) if found is None else (" ", left.pop(found)))
    marks += [("+", row) for row in left]
    if all(mark == " " for mark, _ in marks):
        return []
    return [f"{what} differ\n" + diff_table(marks)]


def diff_table(marks: list[tuple[str, dict]]) -> str:
    """An aligned table, one row per line, headed by the column names."""
    columns: list[str] = []
    for _, row in marks:
        columns += [k for k in row if k not in columns]
    cells = [[_cell(row.get(c, "")) if c in row else "" for c in columns] for _, row in marks]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(mark: str, values: list[str]) -> str:
        return ("  " + mark + " " + "  ".join(v.ljust(w) for v, w in zip(values, widths))).rstrip()

    return "\n".join([line(" ", columns), *(line(m, c) for (m, _), c in zip(marks, cells))])


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime | dt.date):
        return timestamp_text(value)
    if isinstance(value, str):
        return value if len(value) <= 40 else value[:37] + "..."
    return repr(value) if isinstance(value, float) else str(value)

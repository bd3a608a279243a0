"""Values written in SQL text: literals as typed constants, interval literals in
milliseconds, timestamp and date literals, and the durations of properties.
(Durations in messages are written by ``explain.format_ms``, as in EXPLAIN.)"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from compiler import ast
from compiler import logical as lg
from compiler import types as t
from compiler.analyze.scope import fail
from compiler.errors import Diagnostics

UNIT_MS = {
    "MILLISECOND": 1,
    "SECOND": 1000,
    "MINUTE": 60_000,
    "HOUR": 3_600_000,
    "DAY": 86_400_000,
    "WEEK": 7 * 86_400_000,
}


def interval_ms(node: ast.Interval, diagnostics: Diagnostics, what: str = "interval") -> int:
    """Milliseconds of a day-time interval literal; errors go to diagnostics."""
    text = node.text.strip()
    if node.to_unit is not None:
        match = re.fullmatch(r"(-?)(\d+):(\d+)(?::(\d+(?:\.\d+)?))?", text)
        if not match or node.unit not in ("HOUR", "MINUTE", "DAY"):
            fail(diagnostics, "BindError", f"cannot read interval '{text}'", node.span)
        sign = -1 if match.group(1) else 1
        parts = [float(p) for p in match.groups()[1:] if p is not None]
        units = {"DAY": [86_400_000, 3_600_000, 60_000], "HOUR": [3_600_000, 60_000, 1000],
                 "MINUTE": [60_000, 1000, 1]}[node.unit]
        return sign * int(round(sum(p * u for p, u in zip(parts, units))))
    if node.unit in ("MONTH", "YEAR"):
        fail(diagnostics, 
            "UnsupportedError",
            f"{what} in {node.unit}S has no fixed length; use DAY, HOUR, MINUTE or SECOND",
            node.span,
        )
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        fail(diagnostics, 
            "BindError",
            f"interval literal '{text}' is not a number",
            node.span,
            hint="write e.g. INTERVAL '5' MINUTE",
        )
    value = float(text) * UNIT_MS[node.unit]
    if value != int(value):
        fail(diagnostics, "BindError", f"interval '{text}' {node.unit} is not whole milliseconds",
                          node.span)
    return int(value)


def parse_timestamp_literal(text: str) -> int | None:
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text.strip(), fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return int(moment.timestamp() * 1000)
    return None


def parse_date_literal(text: str) -> int | None:
    """Days since the epoch of ``YYYY-MM-DD``, or None."""
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(day.timestamp()) // 86_400

def constant(node: ast.Literal, diag: Diagnostics) -> lg.Const:
    """A literal as a constant of its type; a timestamp or date literal is read now."""
    kind, value, span = node.kind, node.value, node.span
    if kind == "string":
        return lg.Const(value, t.VARCHAR.with_nullable(False), span=span)
    if kind == "integer":
        typ = t.INT if -(2**31) <= value < 2**31 else t.BIGINT  # type: ignore[operator]
        return lg.Const(value, typ.with_nullable(False), span=span)
    if kind == "decimal":
        if math.isinf(value):  # type: ignore[arg-type]
            fail(diag, "BindError", f"the number {diag.source.fragment(span)} is "
                            "out of range for DOUBLE", span)
        return lg.Const(value, t.DOUBLE.with_nullable(False), span=span)
    if kind == "boolean":
        return lg.Const(value, t.BOOLEAN.with_nullable(False), span=span)
    if kind == "null":
        return lg.Const(None, t.NULL, span=span)
    if kind in ("timestamp", "timestamp_ltz"):
        ms = parse_timestamp_literal(str(value))
        if ms is None:
            fail(diag, "BindError", f"cannot read timestamp '{value}'; write "
                            "'YYYY-MM-DD HH:MM:SS[.fff]'", span)
        return lg.Const(ms, t.TIMESTAMP.with_nullable(False), span=span)
    if kind == "date":
        ms = parse_timestamp_literal(str(value))
        if ms is None:
            fail(diag, "BindError", f"cannot read date '{value}'", span)
        return lg.Const(ms // 86_400_000, t.DATE.with_nullable(False), span=span)
    if kind == "keyword":
        return lg.Const(value, t.VARCHAR.with_nullable(False), span=span)
    fail(diag, "UnsupportedError", f"{kind} literals are not supported", span)


def duration_ms(text: str) -> int | None:
    """A property duration ('5 s', '10 min'), read as the runtime reads it."""
    from runtime_lib.durations import duration_ms as read_duration

    try:
        return read_duration(text)
    except ValueError:
        return None

"""What a join's condition says, on bound expressions (no diagnostics): its
equality keys, the time bounds that make it an interval join; and whether a
plan holds a regular join (which loses time attributes)."""

from __future__ import annotations

from compiler import logical as lg

LOST_TIME_HINT = (
    "a regular join does not keep time attributes (as in Flink); bound the join in time, "
    "e.g. AND b.event_time BETWEEN a.event_time AND a.event_time + INTERVAL '1' HOUR, to "
    "make it an interval join that keeps them"
)


def has_regular_join(plan: lg.LogicalNode) -> bool:
    if (isinstance(plan, lg.Join) and plan.interval is None and not plan.lookup
            and plan.temporal is None):
        return True
    return any(has_regular_join(i) for i in plan.inputs())


def is_half_bound(c: lg.BoundExpr, width: int, rowtimes: set[int]) -> bool:
    """One side of an interval bound: ``r.t >= l.t - INTERVAL ...``."""
    if not (isinstance(c, lg.Call) and c.fn in ("<", "<=", ">", ">=")):
        return False
    a, b = _time_offset(c.args[0], rowtimes), _time_offset(c.args[1], rowtimes)
    return a is not None and b is not None and (a[0] < width) != (b[0] < width)


def equi_keys(condition: lg.BoundExpr | None, width: int) -> tuple[tuple[int, int], ...]:
    keys = []
    for c in lg.conjuncts(condition):
        if isinstance(c, lg.Call) and c.fn == "=":
            a, b = c.args
            if isinstance(a, lg.ColumnRef) and isinstance(b, lg.ColumnRef):
                if a.index < width <= b.index:
                    keys.append((a.index, b.index - width))
                elif b.index < width <= a.index:
                    keys.append((b.index, a.index - width))
    return tuple(keys)


def _time_offset(expr: lg.BoundExpr, rowtimes: set[int]) -> tuple[int, int] | None:
    """``col`` -> (col, 0); ``col +/- INTERVAL`` -> (col, +/-ms), for rowtime columns."""
    if isinstance(expr, lg.ColumnRef) and expr.index in rowtimes:
        return expr.index, 0
    if (isinstance(expr, lg.Call) and expr.fn in ("+", "-")
            and isinstance(expr.args[0], lg.ColumnRef)
            and expr.args[0].index in rowtimes
            and isinstance(expr.args[1], lg.Const) and expr.args[1].type.name == "INTERVAL"):
        sign = 1 if expr.fn == "+" else -1
        return expr.args[0].index, sign * int(expr.args[1].value)  # type: ignore[arg-type]
    return None


def rowtime_columns(join: lg.Join) -> set[int]:
    """Positions of the join inputs' event-time attributes in the join's row."""
    fields = join.left.schema + join.right.schema
    return {i for i, f in enumerate(fields) if f.type.time_attribute == "ROWTIME"}


def interval_bounds(condition: lg.BoundExpr | None, width: int, rowtimes: set[int]
                     ) -> tuple[int, int, int, int] | None:
    """Time bounds of an interval join: (left time, right time, lower, upper) meaning
    ``left.t + lower <= right.t <= left.t + upper``."""
    lower: int | None = None
    upper: int | None = None
    pair: tuple[int, int] | None = None
    for c in lg.conjuncts(condition):
        if not isinstance(c, lg.Call):
            continue
        comparisons = []
        if c.fn == "BETWEEN":
            comparisons = [(">=", c.args[0], c.args[1]), ("<=", c.args[0], c.args[2])]
        elif c.fn in ("<", "<=", ">", ">="):
            comparisons = [(c.fn, c.args[0], c.args[1])]
        for op, a, b in comparisons:
            ta, tb = _time_offset(a, rowtimes), _time_offset(b, rowtimes)
            if ta is None or tb is None:
                continue
            (ia, oa), (ib, ob) = ta, tb
            # normalize to right.t (op) left.t + offset
            if ia >= width > ib:
                r, l_, offset = ia - width, ib, ob - oa
            elif ib >= width > ia:
                r, l_, offset = ib - width, ia, oa - ob
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
            else:
                continue
            if pair is not None and pair != (l_, r):
                continue
            pair = (l_, r)
            if op in (">", ">="):
                value = offset + (1 if op == ">" else 0)
                lower = value if lower is None else max(lower, value)
            else:
                value = offset - (1 if op == "<" else 0)
                upper = value if upper is None else min(upper, value)
    if pair is None or lower is None or upper is None:
        return None
    return pair[0], pair[1], lower, upper


def _same_windows(a: lg.WindowTVF | None, b: lg.WindowTVF | None) -> bool:
    return (a is not None and b is not None and a.kind == b.kind and a.kind != "SESSION"
            and (a.size_ms, a.slide_ms, a.step_ms, a.offset_ms)
            == (b.size_ms, b.slide_ms, b.step_ms, b.offset_ms))


def window_join_bounds(join: lg.Join) -> tuple[int, int, int, int] | None:
    """Flink's window join: both sides are rows of the same TUMBLE, HOP or
    CUMULATE windows, joined on window_start and window_end (and keys). It runs
    as an interval join on window_end with bounds 0..0: a pair matches within
    its window, and each side's rows are freed (outer rows NULL-padded) when the
    watermark passes the window's end."""
    if join.lookup or not _same_windows(lg.window_below(join.left),
                                        lg.window_below(join.right)):
        return None
    names = {(join.left.schema[li].name, join.right.schema[ri].name): (li, ri)
             for li, ri in join.equi_keys}
    if ("window_start", "window_start") not in names or ("window_end", "window_end") not in names:
        return None
    left_end, right_end = names[("window_end", "window_end")]
    return left_end, right_end, 0, 0

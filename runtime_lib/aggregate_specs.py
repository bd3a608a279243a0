"""Aggregate calls (``Agg``), their result kinds, and reference implementations
(plain Python over one group's values, for the tests); see the package
docstring for what each function computes.
"""

# ruff: noqa: PLR0124  (x != x is the NaN test)

from __future__ import annotations

import math
from dataclasses import dataclass

VARIANCE_FUNCS = {"stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"}
FUNCS = {
    "count_star", "count", "sum", "avg", "min", "max", "first_value", "last_value", "corr",
    "percentile_cont", "percentile_disc", "approx_percentile", "listagg",
} | VARIANCE_FUNCS
NUMERIC = {"i", "f"}
# aggregates that can take a row back (over a changelog input: -D/-U rows;
# MIN/MAX keep a count per distinct value for it, given ``updating_input``)
# (not CORR: whether a side is constant, its NULL case, does not survive the
# rounding of taking rows back)
RETRACTABLE = {"count_star", "count", "sum", "avg", "min", "max", "listagg"} | VARIANCE_FUNCS


@dataclass(frozen=True)
class Agg:
    """One aggregate call. ``arg``/``arg2`` index the operator's argument
    columns, ``filter`` its FILTER masks; ``param`` is the percentile fraction,
    ``separator`` LISTAGG's (None: ',')."""

    func: str
    arg: int | None = None
    arg2: int | None = None
    param: float | None = None
    filter: int | None = None
    distinct: bool = False
    alpha: float = 0.01  # approx_percentile relative accuracy
    sketch_buckets: int = 1024  # approx_percentile buckets per sign
    separator: str | None = None  # listagg only

    def __post_init__(self):
        if self.func not in FUNCS:
            raise ValueError(f"unknown aggregate {self.func!r}")
        if (self.func == "count_star") != (self.arg is None):
            raise ValueError(f"{self.func}: wrong number of arguments")
        if (self.func == "corr") != (self.arg2 is not None):
            raise ValueError(f"{self.func}: wrong number of arguments")
        if self.distinct and self.func != "count":
            raise ValueError("DISTINCT is supported for COUNT only")
        pct = self.func in ("percentile_cont", "percentile_disc", "approx_percentile")
        if pct != (self.param is not None):
            raise ValueError(f"{self.func}: percentile fraction required exactly for percentiles")
        if pct and not 0.0 <= float(self.param) <= 1.0:
            raise ValueError(f"{self.func}: fraction {self.param} not in [0, 1]")
        if self.separator is not None and self.func != "listagg":
            raise ValueError(f"{self.func}: only LISTAGG takes a separator")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError("alpha must be in (0, 1)")


def accumulator_key(agg: Agg, position: int) -> tuple:
    """What the state of ``agg`` (at ``position`` among an operator's aggregates)
    is shared by: aggregates with the same key read one accumulator (SUM and
    AVG of one argument share the sum and the count; each COUNT(DISTINCT) has
    its own set)."""
    f, arg, filter_ = agg.func, agg.arg, agg.filter
    if f == "count_star":
        return ("count_star", filter_)
    if f == "count":
        return ("distinct", arg, filter_, position) if agg.distinct else ("count", arg, filter_)
    if f in ("sum", "avg"):
        return ("sum", arg, filter_)
    if f in VARIANCE_FUNCS:
        return ("moments", arg, filter_)
    if f == "corr":
        return ("corr", arg, agg.arg2, filter_)
    if f in ("percentile_cont", "percentile_disc"):
        return ("pct", arg, filter_)
    if f == "approx_percentile":
        return ("approx", arg, filter_, agg.alpha, agg.sketch_buckets)
    return (f, arg, filter_)  # min, max, first_value, last_value


#: how an accumulator is named after its key's first element
_ACCUMULATOR_LABELS = {"count_star": "COUNT", "distinct": "COUNT(DISTINCT", "pct": "VALUES",
                       "moments": "MOMENTS", "approx": "SKETCH"}


def accumulator_names(aggs: list[Agg], arg_names: list[str] | None = None,
                      filter_names: list[str] | None = None) -> list[str]:
    """The stable name of each aggregate's accumulator: what a checkpoint
    stores it under, so that an edit adding, removing or reordering
    aggregates restores the accumulators that stay (``arg_names``,
    ``filter_names``: the SQL of the argument columns and FILTER masks; by
    default ``arg0``, ``filter0``...). Aggregates sharing a state share its
    name; two states that would get one name are told apart by ``#2``.

    >>> accumulator_names([Agg("count_star"), Agg("avg", arg=0), Agg("sum", arg=0),
    ...                    Agg("count", arg=0, distinct=True, filter=0)], ["cost"], ["ok"])
    ['COUNT(*)', 'SUM(cost)', 'SUM(cost)', 'COUNT(DISTINCT cost) FILTER (WHERE ok)']
    """
    def arg(i: int | None) -> str:
        return arg_names[i] if arg_names is not None else f"arg{i}"

    names, by_key, taken = [], {}, set()
    for position, agg in enumerate(aggs):
        key = accumulator_key(agg, position)
        if key not in by_key:
            label = _ACCUMULATOR_LABELS.get(key[0], key[0].upper())
            args = "*" if agg.func == "count_star" else ", ".join(
                arg(i) for i in (agg.arg, agg.arg2) if i is not None)
            if key[0] == "approx":
                args += f", alpha={agg.alpha}, buckets={agg.sketch_buckets}"
            name = f"{label}({args})" if key[0] != "distinct" else f"{label} {args})"
            if agg.filter is not None:
                name += " FILTER (WHERE " + (filter_names[agg.filter] if filter_names is not None
                                            else f"filter{agg.filter}") + ")"
            base, copy = name, 1
            while name in taken:
                copy += 1
                name = f"{base}#{copy}"
            taken.add(name)
            by_key[key] = name
        names.append(by_key[key])
    return names


def result_kind(agg: Agg, arg_kinds: list[str]) -> str:
    """Column kind of the result ('b', 'i', 'f', 'O'); raises for bad input types."""
    f = agg.func
    if f in ("count_star", "count"):
        return "i"
    kind = arg_kinds[agg.arg]
    if f in ("min", "max", "first_value", "last_value"):
        return kind
    if f == "listagg":
        if kind != "O":
            raise TypeError(f"LISTAGG needs a string argument, got kind {kind!r}")
        return "O"
    if kind not in NUMERIC or (f == "corr" and arg_kinds[agg.arg2] not in NUMERIC):
        raise TypeError(f"{f.upper()} needs a numeric argument, got kind {kind!r}")
    if f in ("sum", "percentile_disc"):
        return kind
    return "f"


# ---------------------------------------------------------------------------
# Reference implementations: plain Python over the values of one group, in
# arrival order (None = NULL). Tests use them where DuckDB has no equivalent.
# ---------------------------------------------------------------------------


def reference_aggregate(agg: Agg, values: list, values2: list | None = None, mask: list | None = None):
    """The aggregate of one group's rows, the slow and obvious way."""
    rows = list(range(len(values)))
    if mask is not None:
        rows = [i for i in rows if mask[i]]
    if agg.func == "count_star":
        return len(rows)
    xs = [values[i] for i in rows if values[i] is not None and (values2 is None or values2[i] is not None)]
    ys = [values2[i] for i in rows if values[i] is not None and values2[i] is not None] if values2 else None
    f = agg.func
    if f == "count":
        if agg.distinct:
            return len({0.0 if x == 0 else ("nan" if x != x else x) for x in xs})
        return len(xs)
    if not xs:
        return None
    if f == "sum":
        return sum(xs)
    if f == "avg":
        return sum(xs) / len(xs)
    if f == "min":
        return min(xs, key=lambda v: (v != v, v) if isinstance(v, float) else v)
    if f == "max":
        return max(xs, key=lambda v: (v != v, v) if isinstance(v, float) else v)
    if f == "first_value":
        return xs[0]
    if f == "last_value":
        return xs[-1]
    if f == "listagg":
        return (agg.separator if agg.separator is not None else ",").join(xs)
    if f in VARIANCE_FUNCS:
        n = len(xs)
        mean = sum(xs) / n
        m2 = sum((x - mean) ** 2 for x in xs)
        pop = f in ("stddev_pop", "var_pop")
        if not pop and n < 2:
            return None
        v = m2 / n if pop else m2 / (n - 1)
        return math.sqrt(v) if f.startswith("stddev") else v
    if f == "corr":
        n = len(xs)
        mx, my = sum(xs) / n, sum(ys) / n
        sxx = sum((x - mx) ** 2 for x in xs)
        syy = sum((y - my) ** 2 for y in ys)
        if n < 2 or sxx == 0 or syy == 0:
            return None
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)
    s = sorted(xs, key=lambda v: (v != v, v))
    if f == "percentile_cont":
        pos = agg.param * (len(s) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return float(s[lo] + (pos - lo) * (s[hi] - s[lo])) if hi != lo else float(s[lo])
    if f == "percentile_disc":
        return s[max(math.ceil(agg.param * len(s)) - 1, 0)]
    if f == "approx_percentile":
        s = [x for x in s if x == x]
        return float(s[math.floor(agg.param * (len(s) - 1))]) if s else None
    raise AssertionError(f)

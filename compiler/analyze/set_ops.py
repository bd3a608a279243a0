"""INTERSECT and EXCEPT of two queries, as Flink runs them on streams: an
updating result kept in state (Flink's GroupAggregate over the union of both
sides, each row tagged with the side it came from).

Each row of the left side counts 1 in ``left_rows``, each row of the right
side 1 in ``right_rows``; grouped by every column (a NULL is one value, as
set operations compare rows), a row is in ``a INTERSECT b`` while both
counts are positive and in ``a EXCEPT b`` while only the left one is. As the
counts change the row comes and goes (+I, -U/+U, -D): a row of ``a EXCEPT b``
is taken back when its first copy arrives in b.

    SELECT k FROM a INTERSECT SELECT k FROM b
    Calc: select=[k], where=[(left_rows > 0) AND (right_rows > 0)]
      Aggregate: group=[k], aggs=[SUM(left_rows), SUM(right_rows)]
        Union: all
          Calc: select=[k, 1 AS left_rows, 0 AS right_rows]
            Scan: a
          Calc: select=[k, 0 AS left_rows, 1 AS right_rows]
            Scan: b
"""

from __future__ import annotations

from compiler import logical as lg
from compiler import types as t
from compiler.analyze.syntax import unique_names
from compiler.errors import Span


def intersect_except(left: lg.LogicalNode, right: lg.LogicalNode, op: str, span: Span
                     ) -> lg.LogicalNode:
    """``left INTERSECT right`` or ``left EXCEPT right`` (distinct), both
    sides checked to have the same number of columns of compatible types."""
    names = [f.name for f in left.schema]
    left_rows, right_rows = unique_names(names + ["left_rows", "right_rows"])[len(names):]

    def tagged(side: lg.LogicalNode, tags: tuple[int, int]) -> lg.LogicalNode:
        columns = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(side.schema))
        counts = tuple(lg.Const(n, t.INT.with_nullable(False), span=span) for n in tags)
        return lg.Project(side, columns + counts,
                          (*(f.name for f in side.schema), left_rows, right_rows), span=span)

    union = lg.Union((tagged(left, (1, 0)), tagged(right, (0, 1))), span=span)
    schema = union.schema
    width = len(names)
    keys = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(schema[:width]))
    total = t.BIGINT.with_nullable(True)
    sums = tuple(lg.AggCall("SUM", (lg.ColumnRef(width + j, schema[width + j].name,
                                                 schema[width + j].type),), total, span=span)
                 for j in range(2))
    counted = lg.Aggregate(union, keys, tuple(names), sums, (left_rows, right_rows), span=span)
    zero = lg.Const(0, t.BIGINT.with_nullable(False), span=span)
    boolean = t.BOOLEAN.with_nullable(True)
    lefts = lg.ColumnRef(width, left_rows, total)
    rights = lg.ColumnRef(width + 1, right_rows, total)
    condition = lg.conjoin([
        lg.Call(">", (lefts, zero), boolean, span=span),
        lg.Call(">" if op == "INTERSECT" else "=", (rights, zero), boolean, span=span),
    ])
    assert condition is not None
    kept = lg.Filter(counted, condition, span=span)
    return lg.Project(kept, keys, tuple(names), span=span)

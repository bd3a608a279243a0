"""rewrite_topn: ``ROW_NUMBER() OVER (PARTITION BY p ORDER BY o)`` filtered by
``rn <= N`` is a Top-N, which keeps N rows per partition instead of numbering
every row of an unbounded stream.

Before::

    Filter: condition=[(row_number_over <= 5)]
      Over: over=[ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY sum_cost DESC) AS row_number_over]
        Aggregate: group=[model_id, window_start, window_end, window_time], ...

After::

    TopN: partition_by=[window_start], order_by=[sum_cost DESC], limit=[5], rank=[row_number_over]
      Aggregate: group=[model_id, window_start, window_end, window_time], ...

RANK and DENSE_RANK filtered the same way are Top-Ns too (ties share a rank).
When the partition holds the window (its end, or its start for TUMBLE and HOP)
and the rows are a window TVF's or a window aggregate's, the Top-N is final
per window (Flink's window Top-N).
"""

from __future__ import annotations

from dataclasses import replace

from compiler import logical as lg

RANKINGS = ("ROW_NUMBER", "RANK", "DENSE_RANK")


def _limit(predicate: lg.BoundExpr, column: int) -> int | None:
    """N when the predicate is rn <= N, rn < N+1 or rn = 1 on ``column``."""
    if not (isinstance(predicate, lg.Call) and len(predicate.args) == 2):
        return None
    a, b = predicate.args
    fn = predicate.fn
    if isinstance(b, lg.ColumnRef) and isinstance(a, lg.Const):
        a, b = b, a
        fn = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "=": "="}.get(fn, fn)
    if not (isinstance(a, lg.ColumnRef) and a.index == column and isinstance(b, lg.Const)
            and isinstance(b.value, int)):
        return None
    if fn == "<=":
        return b.value
    if fn == "<":
        return b.value - 1
    if fn == "=" and b.value == 1:
        return 1
    return None


def _rewrite(node: lg.LogicalNode) -> lg.LogicalNode:
    if not (isinstance(node, lg.Filter) and isinstance(node.input, lg.Over)):
        return node
    over = node.input
    if len(over.calls) != 1 or over.calls[0].fn not in RANKINGS:
        return node
    column = len(over.input.schema)
    limit = _limit(node.predicate, column)
    if limit is None or limit < 1:
        return node
    call = over.calls[0]
    return lg.TopN(
        over.input,
        call.partition_by,
        call.order_by,
        limit,
        over.names[0],
        window=_per_window(over.input, call.partition_by),
        span=replace(node).span,
        fn=call.fn,
    )


def _per_window(below: lg.LogicalNode, partition_by: tuple[lg.BoundExpr, ...]) -> bool:
    """The partition holds the window: its window_end, or its window_start
    where that fixes the end (TUMBLE, HOP; CUMULATE windows share starts)."""
    tvf = lg.window_below(below)
    if tvf is None or tvf.kind == "SESSION":
        return False
    names = {below.schema[p.index].name for p in partition_by if isinstance(p, lg.ColumnRef)}
    return "window_end" in names or ("window_start" in names and tvf.kind in ("TUMBLE", "HOP"))


def rewrite_topn(plan: lg.LogicalNode) -> lg.LogicalNode:
    return lg.transform_up(plan, _rewrite)

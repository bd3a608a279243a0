"""prune_columns: carry only the columns a query needs, down to the source, so
the decoder never materializes fields nobody reads (``prompt_text`` is the
largest field of an LLM request and most queries never look at it).

Before::

    Project: select=[model_id, latency_ms]
      Scan: source=[llm_requests], fields=[request_id, ..., prompt_text, event_time]

After::

    Project: select=[model_id, latency_ms]
      Scan: source=[llm_requests], fields=[model_id, timestamp_ms, latency_ms, event_time]

The watermark's column is always kept: event time drives every stateful
operator. Each node is rebuilt over its pruned input with column positions
renumbered; a node's own output columns are only dropped by projections.

A regular or interval join stores the rows of both inputs, and an OVER the
rows of its input, so each input carries only the columns the operator or
what is above it reads: where an input keeps more (a scan keeps what its
event time is computed from, a join its keys, a window aggregate its window
columns), a Calc selects them. Before::

    Join: type=[LEFT], condition=[(request_id = f_request_id)]
      ...
      Scan: source=[user_feedback], fields=[request_id, rating, timestamp_ms, event_time]

After::

    Join: type=[LEFT], condition=[(request_id = f_request_id)]
      ...
      Calc: select=[request_id, rating]
        Scan: source=[user_feedback], fields=[request_id, rating, timestamp_ms, event_time]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from compiler import logical as lg

Mapping = dict[int, int]


def _keep(width: int, required: set[int]) -> tuple[list[int], Mapping]:
    kept = sorted(i for i in required if i < width)
    return kept, {old: new for new, old in enumerate(kept)}


def _scan(node: lg.Scan, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    needed = set(required)
    if node.watermark is not None:
        needed.add(node.watermark.column)
        needed |= lg.referenced(node.watermark.expr)
    computed = dict(node.computed)
    while True:  # computed columns pull in the columns they are computed from
        extra = set()
        for i in needed:
            if i in computed:
                extra |= lg.referenced(computed[i])
        if extra <= needed:
            break
        needed |= extra
    kept, mapping = _keep(len(node.schema), needed)
    if len(kept) == len(node.schema):
        return node, mapping
    watermark = node.watermark
    if watermark is not None:
        watermark = replace(
            watermark,
            column=mapping[watermark.column],
            expr=lg.remap(watermark.expr, mapping) if watermark.expr is not None else None,
        )
    pruned = replace(
        node,
        schema=tuple(node.schema[i] for i in kept),
        physical=tuple(mapping[i] for i in node.physical if i in mapping),
        computed=tuple((mapping[i], lg.remap(e, mapping)) for i, e in node.computed
                       if i in mapping),
        rows=None if node.rows is None else tuple(tuple(row[i] for i in kept)
                                                  for row in node.rows),
        metadata=tuple((mapping[i], k) for i, k in node.metadata if i in mapping),
        watermark=watermark,
    )
    return pruned, mapping


def _remap(expr: lg.BoundExpr, mapping: Mapping, schema: lg.Schema) -> lg.BoundExpr:
    """``lg.remap``, with each column reference named as ``schema`` (the pruned
    input) now names it: a join names the right side's clashing columns after
    what the left side has (``f_request_id`` becomes ``request_id`` once the left
    side no longer carries a ``request_id``), so pruning can rename them."""
    return _renamed(lg.remap(expr, mapping), schema)


def _renamed(expr: lg.BoundExpr, schema: lg.Schema) -> lg.BoundExpr:
    if isinstance(expr, lg.ColumnRef):
        name = schema[expr.index].name
        return expr if expr.name == name else replace(expr, name=name)
    if isinstance(expr, lg.Const):
        return expr
    args = tuple(_renamed(a, schema) for a in expr.args)
    return expr if args == expr.args else replace(expr, args=args)


def _narrow(child: lg.LogicalNode, mapping: Mapping,
            needed: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    """``child`` (pruned, positions ``mapping``) with only the ``needed`` columns.
    A scan keeps the columns its event time is computed from and a join its
    keys, whether read above or not; a join that stores its input rows should
    not store those, so a Calc selects what is read."""
    kept = sorted(mapping[i] for i in needed)
    if len(kept) == len(child.schema):
        return child, mapping
    schema = child.schema
    calc = lg.Calc(child, tuple(lg.ColumnRef(i, schema[i].name, schema[i].type) for i in kept),
                   tuple(schema[i].name for i in kept), None, span=child.span)
    position = {old: new for new, old in enumerate(kept)}
    return calc, {i: position[mapping[i]] for i in needed}


def _find_tvf(node: lg.LogicalNode) -> lg.WindowTVF | None:
    while True:
        if isinstance(node, lg.WindowTVF):
            return node
        if isinstance(node, (lg.Filter, lg.Calc, lg.Project)):
            node = node.input
            continue
        return None


def prune(node: lg.LogicalNode, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    """``node`` rebuilt to produce at least ``required``; old -> new positions.
    An equal rebuilt node is replaced by the original: unchanged plans stay the
    same objects."""
    pruned, mapping = _prune(node, required)
    return (node if pruned == node else pruned), mapping


def _prune_scan(node: lg.Scan, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    return _scan(node, required)


def _prune_sink(node: lg.Sink, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    child, mapping = prune(node.input, set(range(len(node.schema))))
    return replace(node, input=child), mapping


def _prune_calc(node: lg.Project | lg.Calc, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    kept, mapping = _keep(len(node.schema), required)
    exprs = [node.exprs[i] for i in kept]
    needed = set().union(*(lg.referenced(e) for e in exprs)) if exprs else set()
    condition = node.condition if isinstance(node, lg.Calc) else None
    needed |= lg.referenced(condition)
    child, child_map = prune(node.input, needed)
    changes = dict(
        input=child,
        exprs=tuple(_remap(e, child_map, child.schema) for e in exprs),
        names=tuple(node.names[i] for i in kept),
    )
    if isinstance(node, lg.Calc) and condition is not None:
        changes["condition"] = _remap(condition, child_map, child.schema)
    return replace(node, **changes), mapping


def _prune_filter(node: lg.Filter, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    child, mapping = prune(node.input, required | lg.referenced(node.predicate))
    predicate = _remap(node.predicate, mapping, child.schema)
    return replace(node, input=child, predicate=predicate), mapping


def _prune_window_tvf(node: lg.WindowTVF, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    inner_width = len(node.input.schema)
    needed = {i for i in required if i < inner_width} | {node.time_column}
    needed |= set(node.partition_by)
    child, child_map = prune(node.input, needed)
    new_width = len(child.schema)
    tvf = replace(
        node,
        input=child,
        time_column=child_map[node.time_column],
        partition_by=tuple(child_map[i] for i in node.partition_by),
    )
    mapping = dict(child_map)
    for k in range(3):
        mapping[inner_width + k] = new_width + k
    return tvf, mapping


def _prune_aggregate(node: lg.Aggregate, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    needed: set[int] = set()
    for e in node.keys:
        needed |= lg.referenced(e)
    for a in node.aggs:
        needed |= lg.referenced(a)
    child, child_map = prune(node.input, needed)
    window = _find_tvf(child) if node.window is not None else None
    aggregate = replace(
        node,
        input=child,
        keys=tuple(_remap(e, child_map, child.schema) for e in node.keys),
        aggs=tuple(
            replace(a, args=tuple(_remap(x, child_map, child.schema) for x in a.args),
                    filter=(_remap(a.filter, child_map, child.schema)
                            if a.filter is not None else None))
            for a in node.aggs
        ),
        window=window,
    )
    return aggregate, {i: i for i in range(len(node.schema))}


def _prune_join(node: lg.Join, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    left_width = len(node.left.schema)
    needed = set(required) | lg.referenced(node.condition)
    for li, ri in node.equi_keys:
        needed |= {li, ri + left_width}
    if node.interval is not None:
        lt, rt, _, _ = node.interval
        needed |= {lt, rt + left_width}
    if node.temporal is not None:
        lt, rt = node.temporal
        needed |= {lt, rt + left_width}
    left_needed = {i for i in needed if i < left_width}
    right_needed = {i - left_width for i in needed if i >= left_width}
    left, left_map = prune(node.left, left_needed)
    right, right_map = prune(node.right, right_needed)
    if not node.lookup:  # a regular or interval join keeps its input rows: only what is read
        left, left_map = _narrow(left, left_map, left_needed)
        right, right_map = _narrow(right, right_map, right_needed)
    new_left = len(left.schema)
    mapping = dict(left_map)
    for old, new in right_map.items():
        mapping[old + left_width] = new + new_left
    interval = node.interval
    if interval is not None:
        lt, rt, lo, hi = interval
        interval = (left_map[lt], right_map[rt], lo, hi)
    temporal = node.temporal
    if temporal is not None:
        temporal = (left_map[temporal[0]], right_map[temporal[1]])
    join = replace(
        node,
        left=left,
        right=right,
        equi_keys=tuple((left_map[li], right_map[ri]) for li, ri in node.equi_keys),
        interval=interval,
        temporal=temporal,
    )
    if node.condition is not None:  # over the join's own (renamed) columns
        join = replace(join, condition=_remap(node.condition, mapping, join.schema))
    return join, mapping


def _prune_over(node: lg.Over, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    inner_width = len(node.input.schema)
    needed = {i for i in required if i < inner_width}
    for c in node.calls:
        needed |= lg.referenced(c)
    child, child_map = prune(node.input, needed)
    # it holds its input rows until the watermark passes them: only what is read
    child, child_map = _narrow(child, child_map, needed)
    new_width = len(child.schema)

    def remap_call(c: lg.OverCall) -> lg.OverCall:
        return replace(
            c,
            args=tuple(_remap(a, child_map, child.schema) for a in c.args),
            partition_by=tuple(_remap(p, child_map, child.schema) for p in c.partition_by),
            order_by=tuple(replace(k, expr=_remap(k.expr, child_map, child.schema))
                           for k in c.order_by),
        )

    over = replace(node, input=child, calls=tuple(remap_call(c) for c in node.calls))
    mapping = dict(child_map)
    for k in range(len(node.calls)):
        mapping[inner_width + k] = new_width + k
    return over, mapping


def _prune_rank_or_sort(node: lg.TopN | lg.Sort, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    inner_width = len(node.input.schema)
    keys = node.order_by if isinstance(node, lg.TopN) else node.keys
    needed = {i for i in required if i < inner_width}
    for k in keys:
        needed |= lg.referenced(k.expr)
    if isinstance(node, lg.TopN):
        for p in node.partition_by:
            needed |= lg.referenced(p)
    child, child_map = prune(node.input, needed)
    new_keys = tuple(replace(k, expr=_remap(k.expr, child_map, child.schema)) for k in keys)
    mapping = dict(child_map)
    if isinstance(node, lg.TopN):
        pruned = replace(node, input=child, order_by=new_keys,
                         partition_by=tuple(_remap(p, child_map, child.schema)
                                            for p in node.partition_by))
        if node.rank_name is not None:
            mapping[inner_width] = len(child.schema)
        return pruned, mapping
    return replace(node, input=child, keys=new_keys), mapping


def _prune_limit(node: lg.Limit, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    child, mapping = prune(node.input, required)
    return replace(node, input=child), mapping


def _keep_inputs(node: lg.LogicalNode, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    """Match, Union: keep their whole input (their columns are matched by position)."""
    children = tuple(prune(c, set(range(len(c.schema))))[0] for c in node.inputs())
    return lg.with_inputs(node, children), {i: i for i in range(len(node.schema))}


# each logical node class -> how it is pruned; any other node keeps its whole input
_PRUNERS: dict[type, Callable[..., tuple[lg.LogicalNode, Mapping]]] = {
    lg.Scan: _prune_scan,
    lg.Sink: _prune_sink,
    lg.Project: _prune_calc,
    lg.Calc: _prune_calc,
    lg.Filter: _prune_filter,
    lg.WindowTVF: _prune_window_tvf,
    lg.Aggregate: _prune_aggregate,
    lg.Join: _prune_join,
    lg.Over: _prune_over,
    lg.TopN: _prune_rank_or_sort,
    lg.Sort: _prune_rank_or_sort,
    lg.Limit: _prune_limit,
}


def _prune(node: lg.LogicalNode, required: set[int]) -> tuple[lg.LogicalNode, Mapping]:
    return _PRUNERS.get(type(node), _keep_inputs)(node, required)


def prune_columns(plan: lg.LogicalNode) -> lg.LogicalNode:
    pruned, _ = prune(plan, set(range(len(plan.schema))))
    return pruned

"""push_filters: move filter conditions as close to the source as they can go,
so fewer rows reach projections, joins and windows.

Before::

    Filter: condition=[(latency_ms > 1000)]
      Project: select=[model_id, latency_ms]
        Scan: source=[llm_requests]

After::

    Project: select=[model_id, latency_ms]
      Filter: condition=[(latency_ms > 1000)]
        Scan: source=[llm_requests]

A condition passes through a Project (rewritten over the Project's inputs), a
Filter (merged), a WindowTVF (unless it reads a window column), the side of a
join it reads (never into the NULL-padded side of an outer join), and a
non-windowed Aggregate when it only reads grouping keys. Conditions with
non-deterministic calls (CURRENT_TIMESTAMP) stay where they are.
"""

from __future__ import annotations

from dataclasses import replace

from compiler import logical as lg


def _filter(node: lg.LogicalNode, parts: list[lg.BoundExpr], span) -> lg.LogicalNode:
    predicate = lg.conjoin(parts)
    return node if predicate is None else lg.Filter(node, predicate, span=span)


def _push(node: lg.Filter) -> lg.LogicalNode:
    child = node.input
    parts = lg.conjuncts(node.predicate)
    movable = [p for p in parts if lg.is_deterministic(p)]
    fixed = [p for p in parts if not lg.is_deterministic(p)]
    if not movable:
        return node
    if isinstance(child, lg.Filter):
        return _push(lg.Filter(child.input, lg.conjoin(lg.conjuncts(child.predicate) + parts),
                               span=node.span))  # type: ignore[arg-type]
    if isinstance(child, lg.Project):
        inlined = [lg.substitute(p, child.exprs) for p in movable]
        below = _push_or_wrap(child.input, inlined, node.span)
        return _filter(replace(child, input=below), fixed, node.span)
    if isinstance(child, lg.WindowTVF):
        width = len(child.input.schema)
        down = [p for p in movable if max(lg.referenced(p), default=-1) < width]
        if not down:
            return node
        keep = [p for p in movable if p not in down] + fixed
        return _filter(replace(child, input=_push_or_wrap(child.input, down, node.span)),
                       keep, node.span)
    if isinstance(child, lg.Join):
        width = len(child.left.schema)
        left_parts, right_parts, keep = [], [], list(fixed)
        for p in movable:
            refs = lg.referenced(p)
            if refs and max(refs) < width and child.kind in ("INNER", "LEFT", "CROSS"):
                left_parts.append(p)
            elif refs and min(refs) >= width and child.kind in ("INNER", "RIGHT", "CROSS") \
                    and not child.lookup and child.temporal is None:
                # (a filter on a versioned table's rows would make an older version valid)
                right_parts.append(lg.remap(p, {i: i - width for i in refs}))
            else:
                keep.append(p)
        if not left_parts and not right_parts:
            return node
        left = _push_or_wrap(child.left, left_parts, node.span) if left_parts else child.left
        right = _push_or_wrap(child.right, right_parts, node.span) if right_parts else child.right
        return _filter(replace(child, left=left, right=right), keep, node.span)
    if isinstance(child, lg.Aggregate) and child.window is None and child.grouping_sets is None:
        key_count = len(child.keys)
        down, keep = [], list(fixed)
        for p in movable:
            if lg.referenced(p) and max(lg.referenced(p)) < key_count:
                down.append(lg.substitute(p, child.keys))
            else:
                keep.append(p)
        if not down:
            return node
        return _filter(replace(child, input=_push_or_wrap(child.input, down, node.span)),
                       keep, node.span)
    if isinstance(child, lg.Union):
        inputs = tuple(_push_or_wrap(i, movable, node.span) for i in child.inputs_)
        return _filter(replace(child, inputs_=inputs), fixed, node.span)
    return node


def _push_or_wrap(node: lg.LogicalNode, parts: list[lg.BoundExpr], span) -> lg.LogicalNode:
    """``node`` filtered by ``parts``, pushed further down where possible."""
    return _push(lg.Filter(node, lg.conjoin(parts), span=span))  # type: ignore[arg-type]


def push_filters(plan: lg.LogicalNode) -> lg.LogicalNode:
    def visit(node: lg.LogicalNode) -> lg.LogicalNode:
        return _push(node) if isinstance(node, lg.Filter) else node

    return lg.transform_up(plan, visit)

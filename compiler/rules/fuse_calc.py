"""fuse_calc: fuse adjacent filters and projections into one Calc (Flink's Calc),
so each micro-batch is filtered and projected in one vectorized step.

Before::

    Project: select=[model_id, latency_ms]
      Filter: condition=[(latency_ms > 1000)]
        Scan: source=[llm_requests]

After::

    Calc: select=[model_id, latency_ms], where=[(latency_ms > 1000)]
      Scan: source=[llm_requests]

A projection over a projection is inlined; a filter over a projection becomes
the Calc's condition rewritten over the projection's inputs.
"""

from __future__ import annotations

from dataclasses import replace

from compiler import logical as lg


def _identity(node: lg.LogicalNode) -> tuple[tuple[lg.BoundExpr, ...], tuple[str, ...]]:
    schema = node.schema
    return (tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(schema)),
            tuple(f.name for f in schema))


def _fuse(node: lg.LogicalNode) -> lg.LogicalNode:
    if isinstance(node, lg.Filter):
        exprs, names = _identity(node.input)
        calc = lg.Calc(node.input, exprs, names, node.predicate, span=node.span)
        return _merge(calc)
    if isinstance(node, lg.Project):
        return _merge(lg.Calc(node.input, node.exprs, node.names, None, span=node.span))
    return node


def _merge(calc: lg.Calc) -> lg.Calc:
    """A Calc over a Calc is one Calc: inline the inner projection."""
    inner = calc.input
    if not isinstance(inner, lg.Calc):
        return calc
    if not all(lg.is_deterministic(e) for e in inner.exprs):
        return calc
    exprs = tuple(lg.substitute(e, inner.exprs) for e in calc.exprs)
    condition = calc.condition
    if condition is not None:
        condition = lg.substitute(condition, inner.exprs)
    return replace(calc, input=inner.input, exprs=exprs,
                   condition=lg.conjoin([c for c in (inner.condition, condition) if c is not None]))


def fuse_calc(plan: lg.LogicalNode) -> lg.LogicalNode:
    return lg.transform_up(plan, _fuse)

"""Optimizer rules: each a pure function ``plan -> plan`` that preserves meaning.

``RULES`` is the one place the order is decided. ``optimize`` checks after every
rule that the plan's output schema did not change (a rule may never change what
a query returns) and can record the plan after each rule for EXPLAIN VERBOSE.
"""

from __future__ import annotations

from typing import Callable

from compiler import logical as lg
from compiler.errors import Diagnostic, InternalCompilerError
from compiler.rules.fold_constants import fold_constants
from compiler.rules.fuse_calc import fuse_calc
from compiler.rules.prune_columns import prune_columns
from compiler.rules.push_filters import push_filters
from compiler.rules.rewrite_topn import rewrite_topn

Rule = Callable[[lg.LogicalNode], lg.LogicalNode]

RULES: list[Rule] = [
    fold_constants,  # first: later rules see simpler predicates (TRUE filters vanish)
    push_filters,  # before rewrite_topn: moves `rn <= N` down onto the Over it tests
    rewrite_topn,
    fuse_calc,  # fuses the Filter/Project pairs the rules above leave
    prune_columns,  # last: after pushdown and fusion, each Calc keeps only what is read
]


def optimize(
    plan: lg.LogicalNode, trace: list[tuple[str, lg.LogicalNode]] | None = None
) -> lg.LogicalNode:
    for rule in RULES:
        before = plan.schema
        plan = rule(plan)
        if [(f.name, f.type.name) for f in plan.schema] != [(f.name, f.type.name) for f in before]:
            raise InternalCompilerError(
                [Diagnostic("InternalCompilerError",
                            f"rule {rule.__name__} changed the output schema",
                            plan.span if hasattr(plan, "span") else None)]  # type: ignore[arg-type]
            )
        if trace is not None:
            trace.append((rule.__name__, plan))
    return plan


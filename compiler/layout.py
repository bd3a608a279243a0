"""The state layout of a stateful physical operator: what its checkpointed
state means (its key columns and their types, accumulators, window, frame,
join bound, buffered row columns), as a small dict of strings that the
generated module carries (``Query.state_layout``) and every checkpoint
records. ``runtime_lib.layout.compare`` decides from two layouts whether
state carries over an edit of the query.

Only what shapes the state is in it: a changed projection or a filter after
the operator leaves its layout as it was. ``input`` (the filter in front of
the operator) and ``emit`` are recorded because a change there keeps the
state usable but changes what it holds or when it fires (a caveat).
"""

from __future__ import annotations

from compiler import logical as lg
from compiler import physical as ph
from compiler.explain import format_ms, window_text
from compiler.logical import expr_sql


def state_layout(e: ph.Exec, line: int, output: str = "") -> dict:
    """The layout of one stateful operator (``line``: where it is in the SQL;
    ``output``: the WHERE/HAVING of the stateless steps after it, see
    ``output_filters``)."""
    from compiler.codegen.emit.aggregates import accumulators  # (codegen imports this module)
    from compiler.codegen.emit.base import updating_input

    layout: dict = {"operator": e.name, "line": line}
    node = e.logical
    if isinstance(node, lg.Aggregate):
        layout["keys"] = [f"{n} {k.type}" for n, k in zip(node.key_names, node.keys)]
        if node.grouping_sets is not None:
            layout["grouping_sets"] = [[node.key_names[i] for i in s] for s in node.grouping_sets]
        layout["aggs"] = [expr_sql(a) for a in node.aggs]
        layout["agg_names"] = list(node.agg_names)
        # what each aggregate's state is checkpointed under (aggregates that stay
        # keep their state when others are added or removed)
        layout["accumulators"] = accumulators(e)
        # over an updating input MIN/MAX keep a count per distinct value (other state)
        layout["changes_in"] = "updating (-U/-D take rows back)" if updating_input(e) else (
            "insert-only")
        if node.window is not None:
            layout["window"] = window_text(node.window)
            layout["emit"] = node.emit + (f" WITH DELAY {format_ms(node.emit_delay_ms)}"
                                          if node.emit_delay_ms else "")
    elif isinstance(node, lg.Join):
        layout["join"] = node.kind
        layout["condition"] = expr_sql(node.condition) if node.condition is not None else ""
        if node.interval is not None:
            _, _, lo, hi = node.interval
            layout["bounds"] = f"{format_ms(lo)} .. {format_ms(hi)}"
        if node.temporal is not None:
            lt, rt = node.temporal
            layout["keys"] = [f"{node.right.schema[ri].name} {node.right.schema[ri].type}"
                              for _, ri in node.equi_keys]
            layout["as_of"] = node.left.schema[lt].name
            layout["version_time"] = node.right.schema[rt].name
        if not node.lookup:  # a lookup join's state is a cache of the table
            layout["rows"] = [_columns(node.left.schema), _columns(node.right.schema)]
        if isinstance(e, ph.JoinExec):
            ttl = [lg.state_ttl_ms(side) for side in (node.left, node.right)]
            layout["ttl"] = [format_ms(t) if t is not None else "none" for t in ttl]
    elif isinstance(node, lg.Over):
        layout["over"] = [expr_sql(c) for c in node.calls]
        layout["rows"] = _columns(node.input.schema)
    elif isinstance(node, lg.Sort):
        layout["order_by"] = [expr_sql(k.expr) for k in node.keys]
        layout["rows"] = _columns(node.input.schema)
    elif isinstance(node, lg.Limit):  # the state is a count of the rows seen
        layout["limit"] = ("unlimited" if node.count is None else str(node.count)) + (f" OFFSET {node.offset}" if node.offset else "")
    else:
        layout["state"] = e.state  # an operator this module does not describe yet
    condition = _input_filter(e)
    if condition:
        layout["input"] = condition
    if output and lg.changelog(node) != "I":
        layout["output"] = output
    return layout


def output_filters(roots: list[ph.Exec]) -> dict[int, str]:
    """``{id(exec): condition}``: the WHERE/HAVING of the stateless steps
    between each operator and the next operator or sink above it. Behind an
    updating operator such a condition decides which of its changes go on,
    so an edit of it can leave rows emitted before it unretracted."""
    found: dict[int, str] = {}

    def visit(e: ph.Exec, above: list[str]) -> None:
        if isinstance(e, ph.CalcExec):
            condition = getattr(e.logical, "condition", None) or getattr(
                e.logical, "predicate", None)
            for child in e.inputs:
                visit(child, above + ([expr_sql(condition)] if condition is not None else []))
            return
        if above:
            found[id(e)] = " AND ".join(reversed(above))
        for child in e.inputs:
            visit(child, [])

    for root in roots:
        visit(root, [])
    return found


def _columns(schema: lg.Schema) -> str:
    return ", ".join(f"{f.name} {f.type}" for f in schema)


def _input_filter(e: ph.Exec) -> str:
    """The WHERE of the stateless steps in front of ``e``, if any."""
    conditions = []
    for child in e.inputs:
        while isinstance(child, ph.CalcExec):
            node = child.logical
            condition = getattr(node, "condition", None) or getattr(node, "predicate", None)
            if condition is not None:
                conditions.append(expr_sql(condition))
            child = child.inputs[0]
    return " AND ".join(conditions)


def layout_of_module(text: str) -> dict | None:
    """The ``STATE_LAYOUT`` of a generated module's text ({} for a stateless
    query; None when the text is not a module of this sqlc)."""
    import ast

    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "STATE_LAYOUT"):
            return ast.literal_eval(node.value)
        if isinstance(node, ast.ClassDef) and node.name == "Query":
            return {}  # no layout before the class: stateless
    return None


def sql_of_module(text: str) -> str:
    """The SQL a generated module was compiled from (its docstring opens with
    it, comments included), or "" for text that is not a module."""
    import ast

    try:
        doc = ast.get_docstring(ast.parse(text), clean=False) or ""
    except SyntaxError:
        return ""
    return doc.split("\nPhysical plan:\n")[0]

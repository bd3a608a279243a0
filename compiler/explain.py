"""EXPLAIN text: one node per line, ``Name: key=[value], ...``, two-space indents.

Keys appear in a fixed order per node; the text is a golden test artifact, so
it must not depend on anything but the plan.
"""

from __future__ import annotations

from compiler import logical as lg
from compiler.logical import expr_sql


def format_ms(ms: int | None) -> str:
    if ms is None:
        return "none"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


def _named(exprs, names) -> str:
    parts = []
    for expr, name in zip(exprs, names):
        text = expr_sql(expr)
        parts.append(text if text == name else f"{text} AS {name}")
    return ", ".join(parts)


def window_text(tvf: lg.WindowTVF) -> str:
    time = tvf.input.schema[tvf.time_column].name
    args = [f"time_col=[{time}]"]
    if tvf.kind == "TUMBLE":
        args.append(f"size=[{format_ms(tvf.size_ms)}]")
    elif tvf.kind == "HOP":
        args += [f"slide=[{format_ms(tvf.slide_ms)}]", f"size=[{format_ms(tvf.size_ms)}]"]
    elif tvf.kind == "CUMULATE":
        args += [f"step=[{format_ms(tvf.step_ms)}]", f"max_size=[{format_ms(tvf.size_ms)}]"]
    else:
        args.append(f"gap=[{format_ms(tvf.gap_ms)}]")
        if tvf.partition_by:
            keys = ", ".join(tvf.input.schema[i].name for i in tvf.partition_by)
            args.append(f"partition_by=[{keys}]")
    if tvf.offset_ms:
        args.append(f"offset=[{format_ms(tvf.offset_ms)}]")
    return f"{tvf.kind}({', '.join(args)})"


def logical_attrs(node: lg.LogicalNode) -> list[tuple[str, str]]:
    if isinstance(node, lg.Scan):
        attrs = [("source", node.source), ("fields", ", ".join(f.name for f in node.schema))]
        if node.physical != tuple(range(len(node.schema))):
            attrs.append(("read", ", ".join(node.schema[i].name for i in node.physical)))
        if node.watermark is not None:
            wm = node.watermark
            column = node.schema[wm.column].name
            delay = (f"{column} - {format_ms(wm.bound_ms)}" if wm.bound_ms
                     else column if wm.bound_ms == 0 else expr_sql(wm.expr))  # type: ignore[arg-type]
            attrs.append(("watermark", delay))
        if node.rows is not None:
            attrs.append(("rows", str(len(node.rows))))
        return attrs
    if isinstance(node, lg.Filter):
        return [("condition", expr_sql(node.predicate))]
    if isinstance(node, lg.Project):
        return [("select", _named(node.exprs, node.names))]
    if isinstance(node, lg.Calc):
        attrs = [("select", _named(node.exprs, node.names))]
        if node.condition is not None:
            attrs.append(("where", expr_sql(node.condition)))
        return attrs
    if isinstance(node, lg.WindowTVF):
        return [("window", window_text(node))]
    if isinstance(node, lg.Aggregate):
        attrs = [("group", ", ".join(node.key_names))]
        if node.grouping_sets is not None:
            sets = ", ".join(
                "(" + ", ".join(node.key_names[i] for i in s) + ")" for s in node.grouping_sets
            )
            attrs.append(("grouping_sets", sets))
        attrs.append(("aggs", _named(node.aggs, node.agg_names)))
        if node.window is not None:
            attrs.append(("window", window_text(node.window)))
            emit = node.emit
            if node.emit_delay_ms:
                emit += f" WITH DELAY {format_ms(node.emit_delay_ms)}"
            attrs.append(("emit", emit))
        elif node.emit == "CHANGES":
            attrs.append(("emit", "CHANGES"))
        return attrs
    if isinstance(node, lg.Join):
        attrs = [("type", node.kind)]
        if node.condition is not None:
            attrs.append(("condition", expr_sql(node.condition)))
        if node.interval is not None:
            lt, rt, lo, hi = node.interval
            names = node.schema
            left = names[lt].name
            right = names[len(node.left.schema) + rt].name

            def plus(ms: int) -> str:
                return "" if ms == 0 else f" - {format_ms(-ms)}" if ms < 0 else f" + {format_ms(ms)}"

            attrs.append(("interval", f"{left}{plus(lo)} <= {right} <= {left}{plus(hi)}"))
        if node.temporal is not None:
            lt, rt = node.temporal
            schema = node.schema
            versions = schema[len(node.left.schema) + rt].name
            latest = ", each key's latest" if node.latest_only else ""
            attrs.append(("as_of", f"{schema[lt].name} (versions by {versions}{latest})"))
        if node.lookup:
            attrs.append(("lookup", "true"))
        return attrs
    if isinstance(node, lg.Over):
        return [("over", _named(node.calls, node.names))]
    if isinstance(node, lg.TopN):
        attrs = []
        if node.partition_by:
            attrs.append(("partition_by", ", ".join(expr_sql(p) for p in node.partition_by)))
        attrs.append(("order_by", ", ".join(
            expr_sql(k.expr) + (" DESC" if k.descending else "") for k in node.order_by)))
        attrs.append(("limit", str(node.limit)))
        if node.rank_name:
            attrs.append(("rank", node.rank_name))
        if node.fn != "ROW_NUMBER":
            attrs.append(("function", node.fn))
        return attrs
    if isinstance(node, lg.Match):
        attrs = [
            ("partition_by", ", ".join(expr_sql(p) for p in node.partition_by)),
            ("order_by", ", ".join(expr_sql(k.expr) for k in node.order_by)),
            ("pattern", lg.pattern_sql(node.pattern)),
        ]
        if node.within_ms is not None:
            attrs.append(("within", format_ms(node.within_ms)))
        attrs += [
            ("define", ", ".join(f"{v} AS {expr_sql(c)}" for v, c in node.defines)),
            ("measures", ", ".join(f"{expr_sql(e)} AS {n}" for n, e in node.measures)),
            ("after_match", node.after_match),
        ]
        return attrs
    if isinstance(node, lg.Union):
        return [("all", "false" if node.distinct else "true")]
    if isinstance(node, lg.Unnest):
        attrs = [("unnest", expr_sql(node.expr)), ("as", ", ".join(node.names))]
        return attrs + ([("outer", "true")] if node.outer else [])
    if isinstance(node, lg.Sort):
        return [("order_by", ", ".join(
            expr_sql(k.expr) + (" DESC" if k.descending else "") for k in node.keys))]
    if isinstance(node, lg.Limit):
        return [("limit", "unlimited" if node.count is None else str(node.count))] + (
            [("offset", str(node.offset))] if node.offset else [])
    if isinstance(node, lg.Sink):
        attrs = [("target", node.target or "output"),
                 ("fields", ", ".join(f.name for f in node.schema))]
        if node.primary_key and dict(node.properties).get("connector") in lg.PRIMARY_KEY_SINKS:
            attrs.append(("key", ", ".join(node.primary_key)))
        return attrs
    raise TypeError(f"no EXPLAIN format for {type(node).__name__}")


def explain_logical(node: lg.LogicalNode, changelog: bool = True) -> str:
    lines: list[str] = []

    def visit(n: lg.LogicalNode, depth: int) -> None:
        attrs = logical_attrs(n)
        if changelog:
            attrs.append(("changelog", lg.changelog(n)))
        body = ", ".join(f"{k}=[{v}]" for k, v in attrs)
        lines.append(f"{'  ' * depth}{type(n).__name__}: {body}")
        for child in n.inputs():
            visit(child, depth + 1)

    visit(node, 0)
    return "\n".join(lines)

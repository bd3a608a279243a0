"""``sqlc explain --format dot|mermaid|svg``: the physical plan as a graph, rows
flowing upwards from the sources to the sink. A node is an operator with its
main attributes and its state; an edge carries the changelog of the rows on it
(``I`` append-only, ``I,UB,UA,D`` updating). DOT renders with Graphviz
(``dot -Tsvg``); Mermaid renders in GitHub and GitLab markdown as it is; SVG
is drawn by sqlc (``plan_svg``), for a picture without Graphviz.

>>> print(escape_dot('say "hi"'))
say \\"hi\\"
"""

from __future__ import annotations

from compiler.physical import Exec, physical_attrs

#: the attributes a node shows (others are in the text EXPLAIN)
SHOWN = ("source", "connector", "window", "group", "aggs", "type", "interval", "over",
         "order_by", "select", "where", "target", "watermark")
WIDTH = 60


def _lines(e: Exec) -> list[str]:
    lines = [e.name]
    for key, value in physical_attrs(e):
        if key in SHOWN:
            lines.append(f"{key}: {_short(value)}")
    if e.state:
        lines.append(f"state: {_short(e.state)}")
    return lines


def _short(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def _numbered(roots: list[Exec]) -> tuple[list[tuple[str, Exec]], list[tuple[str, str, str]]]:
    """Nodes (id, operator) and edges (from id, to id, changelog), in plan order."""
    nodes: list[tuple[str, Exec]] = []
    edges: list[tuple[str, str, str]] = []

    def visit(e: Exec) -> str:
        ident = f"n{len(nodes)}"
        nodes.append((ident, e))
        for child in e.inputs:
            edges.append((visit(child), ident, child.changelog))
        return ident

    for root in roots:
        visit(root)
    return nodes, edges


def escape_dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(roots: list[Exec]) -> str:
    nodes, edges = _numbered(roots)
    out = ["digraph plan {", "  rankdir=BT;",
           '  node [shape=box, fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=9];']
    for ident, e in nodes:
        label = "\\l".join(escape_dot(line) for line in _lines(e)) + "\\l"
        style = ', style="rounded,filled", fillcolor="#eef3ff"' if e.state else ""
        out.append(f'  {ident} [label="{label}"{style}];')
    for source, target, changelog in edges:
        out.append(f'  {source} -> {target} [label="{changelog}"];')
    out.append("}")
    return "\n".join(out)


def _escape_mermaid(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def to_mermaid(roots: list[Exec]) -> str:
    nodes, edges = _numbered(roots)
    out = ["flowchart BT"]
    for ident, e in nodes:
        label = "<br/>".join(_escape_mermaid(line) for line in _lines(e))
        shape = ('(["', '"])') if e.state else ('["', '"]')
        out.append(f"  {ident}{shape[0]}{label}{shape[1]}")
    for source, target, changelog in edges:
        out.append(f"  {source} -->|{changelog}| {target}")
    return "\n".join(out)


def to_svg(roots: list[Exec]) -> str:
    """SVG drawn by sqlc itself (``plan_svg``: no Graphviz binary needed)."""
    from compiler.plan_svg import to_svg as draw

    return draw(roots)


FORMATS = {"dot": to_dot, "mermaid": to_mermaid, "svg": to_svg}

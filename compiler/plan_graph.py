"""``sqlc explain --format dot|mermaid|svg|png``: the physical plan as a graph, rows
flowing upwards from the sources to the sink. A node is an operator with its
main attributes and its state; an edge carries the changelog of the rows on it
(``I`` append-only, ``I,UB,UA,D`` updating). DOT renders with Graphviz
(``dot -Tsvg``); Mermaid renders in GitHub and GitLab markdown as it is; SVG
is laid out here (a tree, the sink on top) for the status page of ``sqlc
serve``, which has no Graphviz and fetches nothing; PNG is that SVG rendered
by resvg (the ``resvg-py`` wheel bundles it: no system binary), imported only
when a PNG is asked for.

>>> print(escape_dot('say "hi"'))
say \\"hi\\"
"""

from __future__ import annotations

from html import escape

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


#: SVG geometry (px): monospace text, so a label's width is its longest line
CHAR_W, LINE_H, PAD, GAP_X, GAP_Y = 6.6, 14, 6, 18, 36


def to_svg(roots: list[Exec]) -> str:
    """The plan as a self-contained SVG: each operator a box (rounded and
    tinted when it keeps state) above its inputs, edges labelled with their
    changelog. Subtrees sit side by side, a parent centred over its inputs."""
    nodes, edges = _numbered(roots)
    lines = {ident: _lines(e) for ident, e in nodes}
    size = {ident: (max(len(t) for t in ls) * CHAR_W + 2 * PAD, len(ls) * LINE_H + 2 * PAD)
            for ident, ls in lines.items()}
    inputs: dict[str, list[str]] = {ident: [] for ident, _ in nodes}
    for source, target, _ in edges:
        inputs[target].append(source)
    depth: dict[str, int] = {}
    for root in (ident for ident, _ in nodes if not any(s == ident for s, _, _ in edges)):
        _depths(root, 0, inputs, depth)
    tops = [0.0]
    for level in range(max(depth.values()) + 1):
        tallest = max(size[i][1] for i, d in depth.items() if d == level)
        tops.append(tops[-1] + tallest + GAP_Y)
    centre: dict[str, float] = {}
    width = 0.0
    for ident in (i for i, d in depth.items() if d == 0):
        width = _place(ident, width, inputs, size, centre) + GAP_X
    height = tops[-1] - GAP_Y
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="plan" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="-1 -1 {width + 2:.0f} {height + 2:.0f}" '
            'font-family="monospace" font-size="11">'),
           ('<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
            'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker>'
            '</defs>')]
    for source, target, changelog in edges:
        x1, y1 = centre[source], tops[depth[source]]
        x2, y2 = centre[target], tops[depth[target]] + size[target][1]
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                   'stroke="#555" marker-end="url(#arrow)"/>')
        out.append(f'<text class="changelog" x="{(x1 + x2) / 2 + 4:.1f}" '
                   f'y="{(y1 + y2) / 2 + 4:.1f}" fill="#555">{escape(changelog)}</text>')
    for ident, e in nodes:
        w, h = size[ident]
        x, y = centre[ident] - w / 2, tops[depth[ident]]
        fill, rx = ("#eef3ff", 8) if e.state else ("#ffffff", 0)
        out.append(f'<g class="operator"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
                   f'height="{h:.1f}" rx="{rx}" fill="{fill}" stroke="#333"/>')
        for n, text in enumerate(lines[ident]):
            weight = ' font-weight="bold"' if n == 0 else ""
            out.append(f'<text x="{x + PAD:.1f}" y="{y + PAD + (n + 0.8) * LINE_H:.1f}"'
                       f"{weight}>{escape(text)}</text>")
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _depths(ident: str, level: int, inputs: dict, depth: dict) -> None:
    depth[ident] = level
    for child in inputs[ident]:
        _depths(child, level + 1, inputs, depth)


def _place(ident: str, left: float, inputs: dict, size: dict, centre: dict) -> float:
    """Lay out the subtree of ``ident`` from ``left``, its inputs side by side
    below it and it centred over them; returns the subtree's right edge."""
    right = left
    for n, child in enumerate(inputs[ident]):
        right = _place(child, right + (GAP_X if n else 0), inputs, size, centre)
    own = size[ident][0]
    if right - left < own:  # narrower than this box: centre the inputs under it
        shift = (own - (right - left)) / 2
        for below in _subtree(ident, inputs)[1:]:
            centre[below] += shift
        right = left + own
    centre[ident] = (left + right) / 2
    return right


def _subtree(ident: str, inputs: dict) -> list[str]:
    out = [ident]
    for child in inputs[ident]:
        out.extend(_subtree(child, inputs))
    return out


def to_png(roots: list[Exec]) -> bytes:
    """The SVG of ``to_svg`` rendered to PNG bytes, at the SVG's size in
    pixels, on white (a transparent plan is unreadable on a dark viewer).
    Raises ``MissingRenderer`` without the ``resvg-py`` package."""
    try:
        import resvg_py
    except ImportError:
        raise MissingRenderer("--format png renders with the resvg-py package, which is not "
                              "installed: pip install 'sqlc-streaming[pictures]' (or use "
                              "--format svg)") from None
    return bytes(resvg_py.svg_to_bytes(svg_string=to_svg(roots), background="#ffffff"))


class MissingRenderer(Exception):
    """A picture format whose optional renderer is not installed."""


FORMATS = {"dot": to_dot, "mermaid": to_mermaid, "svg": to_svg, "png": to_png}

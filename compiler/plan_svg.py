"""``sqlc explain --format svg``: the physical plan drawn as SVG by sqlc
itself, no Graphviz needed. The same graph as ``--format dot``
(``plan_graph``): one box per operator (shaded where it holds state), rows
flowing up from the sources to the sink, each edge labelled with the
changelog of its rows. The layout is a tree's: a node one level above its
inputs, centred over them; leaves side by side in plan order.

>>> svg = to_svg([])
>>> svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from compiler.physical import Exec
from compiler.plan_graph import _lines

CHAR_W, LINE_H, PAD, GAP_X, GAP_Y = 6.6, 14, 8, 28, 46
FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="11"'


@dataclass
class _Box:
    exec: Exec
    lines: list[str]
    level: int
    inputs: list[_Box] = field(default_factory=list)
    x: float = 0.0  # centre
    y: float = 0.0  # top

    @property
    def width(self) -> float:
        return max(len(line) for line in self.lines) * CHAR_W + 2 * PAD

    @property
    def height(self) -> float:
        return len(self.lines) * LINE_H + PAD


def _boxes(e: Exec, level: int, out: list[_Box]) -> _Box:
    box = _Box(e, _lines(e), level)
    out.append(box)
    box.inputs = [_boxes(child, level + 1, out) for child in e.inputs]
    return box


def _place(box: _Box, left: float) -> float:
    """Centre ``box`` over its inputs, its leaves from ``left`` on; returns the
    right edge of what it took."""
    if not box.inputs:
        box.x = left + box.width / 2
        return left + box.width
    right = left
    for child in box.inputs:
        right = _place(child, right) + GAP_X
    right -= GAP_X
    box.x = (box.inputs[0].x + box.inputs[-1].x) / 2
    dx = max(0.0, left - (box.x - box.width / 2))
    if dx:  # wider than its inputs: move them all right
        _shift(box, dx)
    return max(right + dx, box.x + box.width / 2)


def _shift(box: _Box, dx: float) -> None:
    box.x += dx
    for child in box.inputs:
        _shift(child, dx)


def to_svg(roots: list[Exec]) -> str:
    boxes: list[_Box] = []
    right = 0.0
    for root in roots:
        right = _place(_boxes(root, 0, boxes), right) + GAP_X
    levels = max((b.level for b in boxes), default=0) + 1
    row_h = [max((b.height for b in boxes if b.level == i), default=0.0) for i in range(levels)]
    tops = [sum(row_h[:i]) + GAP_Y * i + PAD for i in range(levels)]
    for b in boxes:
        b.y = tops[b.level]
    width, height = max(right, 1.0) + PAD, tops[-1] + row_h[-1] + PAD
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}">']
    for b in boxes:
        for child in b.inputs:
            out.append(_edge(child, b))
    for b in boxes:
        out.append(_node(b))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _edge(child: _Box, parent: _Box) -> str:
    x1, y1, x2, y2 = child.x, child.y, parent.x, parent.y + parent.height
    label = escape(child.exec.changelog)
    return (f'<g class="edge"><line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="#555" marker-end="none"/><text x="{(x1 + x2) / 2 + 4:.1f}" '
            f'y="{(y1 + y2) / 2:.1f}" {FONT} fill="#555">{label}</text></g>')


def _node(b: _Box) -> str:
    left = b.x - b.width / 2
    fill = "#eef3ff" if b.exec.state else "#ffffff"
    text = "".join(
        f'<text x="{left + PAD:.1f}" y="{b.y + PAD + LINE_H * (i + 0.7):.1f}" {FONT}'
        + (' font-weight="bold"' if i == 0 else "") + f">{escape(line)}</text>"
        for i, line in enumerate(b.lines))
    return (f'<g class="node"><rect x="{left:.1f}" y="{b.y:.1f}" width="{b.width:.1f}" '
            f'height="{b.height:.1f}" rx="{6 if b.exec.state else 0}" fill="{fill}" '
            f'stroke="#333"/>{text}</g>')

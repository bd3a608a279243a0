"""``sqlc explain --format dot|mermaid|svg`` (compiler/plan_graph.py): one
node per physical operator, edges from input to consumer labelled with the
changelog of the rows on them, labels escaped; the SVG laid out with no box
overlapping another and every input below its consumer."""

from __future__ import annotations

import doctest
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from compiler import plan_graph
from compiler.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CATALOG = ["--catalog", str(EXAMPLES / "catalog.sql")]


def explain(capsys, path: Path, fmt: str) -> str:
    capsys.readouterr()
    assert main(["explain", str(path), "--format", fmt, *CATALOG]) == 0
    return capsys.readouterr().out


def text_operators(capsys, path: Path) -> list[str]:
    capsys.readouterr()
    assert main(["explain", str(path), *CATALOG]) == 0
    physical = capsys.readouterr().out.split("== Physical Plan ==")[1]
    return re.findall(r"^\s*(\w+Exec):", physical, re.MULTILINE)


def test_dot_has_every_operator_and_changelog_edges(capsys) -> None:
    path = EXAMPLES / "q13_ab_test.sql"
    dot = explain(capsys, path, "dot")
    assert dot.startswith("digraph plan {") and dot.rstrip().endswith("}")
    nodes = dict(re.findall(r'^  (n\d+) \[label="(\w+Exec)', dot, re.MULTILINE))
    edges = re.findall(r'^  (n\d+) -> (n\d+) \[label="([A-Z,]+)"\];', dot, re.MULTILINE)
    assert sorted(nodes.values()) == sorted(text_operators(capsys, path))
    assert len(edges) == len(nodes) - 1  # a tree: every node but the sink feeds one
    by_kind = {(nodes[a], nodes[b]): changelog for a, b, changelog in edges}
    assert by_kind[("JoinExec", "WindowAggregateExec")] == "I,UB,UA,D"  # a LEFT JOIN updates
    assert by_kind[("WindowAggregateExec", "CalcExec")] == "I"


def test_mermaid_has_the_same_graph(capsys) -> None:
    path = EXAMPLES / "q07_user_journey_feedback.sql"
    text = explain(capsys, path, "mermaid")
    assert text.startswith("flowchart BT\n")
    nodes = re.findall(r'^  n\d+\(?\["(\w+Exec)', text, re.MULTILINE)
    assert sorted(nodes) == sorted(text_operators(capsys, path))
    assert len(re.findall(r"^  n\d+ -->\|[A-Z,]+\| n\d+$", text, re.MULTILINE)) == len(nodes) - 1
    assert '"' not in text.replace('["', "").replace('"]', "")  # quotes in labels escaped


def test_labels_are_escaped(tmp_path: Path, capsys) -> None:
    query = tmp_path / "q.sql"
    query.write_text("SELECT model_id FROM llm_requests WHERE model_id = 'say \"hi\"';\n")
    dot = explain(capsys, query, "dot")
    assert 'say \\"hi\\"' in dot
    mermaid = explain(capsys, query, "mermaid")
    assert "say #quot;hi#quot;" in mermaid
    svg = ET.fromstring(explain(capsys, query, "svg"))  # well-formed: & < > " escaped
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert any(t and "say \"hi\"" in t for t in texts)


def test_svg_lays_the_tree_out_without_overlaps(capsys) -> None:
    path = EXAMPLES / "q13_ab_test.sql"
    svg = ET.fromstring(explain(capsys, path, "svg"))
    ns = "{http://www.w3.org/2000/svg}"
    boxes = []
    for group in svg.iter(f"{ns}g"):
        rect = group.find(f"{ns}rect")
        x, y, w, h = (float(rect.get(k)) for k in ("x", "y", "width", "height"))
        boxes.append((group.find(f"{ns}text").text, x, y, w, h))
    assert sorted(b[0] for b in boxes) == sorted(text_operators(capsys, path))
    width, height = float(svg.get("width")), float(svg.get("height"))
    for n, (_, x, y, w, h) in enumerate(boxes):
        assert 0 <= x and x + w <= width + 0.5 and 0 <= y and y + h <= height + 0.5
        for _, x2, y2, w2, h2 in boxes[n + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    lines = list(svg.iter(f"{ns}line"))
    assert len(lines) == len(boxes) - 1
    for line in lines:  # from an input's top up to its consumer's bottom
        assert float(line.get("y1")) > float(line.get("y2"))
    by_name = {b[0]: b for b in boxes}
    assert by_name["SinkExec"][2] == 0  # the sink on top, the sources at the bottom
    assert by_name["SourceExec"][2] == max(b[2] for b in boxes)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(plan_graph)
    assert result.attempted and not result.failed


def test_png_is_the_svg_rendered_at_its_size(tmp_path: Path, capsys) -> None:
    """--format png: a PNG (magic, IHDR) as wide and as high as the SVG says,
    written with -o; without -o to a terminal it is refused (exit 2)."""
    import struct

    path = EXAMPLES / "q13_ab_test.sql"
    svg = ET.fromstring(explain(capsys, path, "svg"))
    out = tmp_path / "plan.png"
    capsys.readouterr()
    assert main(["explain", str(path), "--format", "png", "-o", str(out), *CATALOG]) == 0
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (int(svg.get("width")), int(svg.get("height")))
    assert width > 100 and height > 100
    # not a blank canvas: the boxes' strokes and text are drawn on the white
    assert len(png) > 5_000


def test_png_to_a_terminal_is_refused(monkeypatch, capsys) -> None:
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    code = main(["explain", str(EXAMPLES / "q01_request_rate.sql"), "--format", "png",
                 *CATALOG])
    assert code == 2
    assert "--format png is binary" in capsys.readouterr().err


def test_png_without_resvg_says_what_to_install(monkeypatch, capsys) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "resvg_py", None)  # import fails as if not installed
    code = main(["explain", str(EXAMPLES / "q01_request_rate.sql"), "--format", "png", "-o",
                 "/dev/null", *CATALOG])
    assert code == 2
    err = capsys.readouterr().err
    assert "resvg-py" in err and "Traceback" not in err

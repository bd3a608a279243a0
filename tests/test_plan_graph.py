"""``sqlc explain --format dot|mermaid`` (compiler/plan_graph.py): one node
per physical operator, edges from input to consumer labelled with the
changelog of the rows on them, labels escaped."""

from __future__ import annotations

import doctest
import re
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


def test_docstring_examples_run() -> None:
    result = doctest.testmod(plan_graph)
    assert result.attempted and not result.failed


def test_svg_is_drawn_without_graphviz(capsys) -> None:
    """``--format svg``: well-formed SVG with a box per operator, an edge per
    input labelled with its changelog, and no two boxes overlapping."""
    import xml.etree.ElementTree as ET

    path = EXAMPLES / "q13_ab_test.sql"
    svg = explain(capsys, path, "svg")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    nodes = root.findall(f"{ns}g[@class='node']")
    edges = root.findall(f"{ns}g[@class='edge']")
    names = [n.find(f"{ns}text").text for n in nodes]
    assert sorted(names) == sorted(text_operators(capsys, path))
    assert len(edges) == len(nodes) - 1
    assert sorted(e.find(f"{ns}text").text for e in edges) == sorted(
        re.findall(r'\[label="([A-Z,]+)"\];', explain(capsys, path, "dot")))
    boxes = [tuple(float(n.find(f"{ns}rect").get(k)) for k in ("x", "y", "width", "height"))
             for n in nodes]
    for i, (x, y, w, h) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y, (x, y, x2, y2)


def test_svg_escapes_labels(tmp_path: Path, capsys) -> None:
    import xml.etree.ElementTree as ET

    query = tmp_path / "q.sql"
    query.write_text("SELECT model_id FROM llm_requests WHERE model_id = '<b>&\"x\"';\n")
    svg = explain(capsys, query, "svg")
    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert any("<b>&" in (t or "") for t in texts) and "<b>" not in svg

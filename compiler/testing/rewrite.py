"""``sqlc test --update``: rewrite only the ``expect:`` block of each case in
the test file's text, so that its comments, key order, flow rows and blank
lines stay as the author wrote them (a comment inside an ``expect`` block is
replaced with it: that block is what --update records).

>>> text = '''# a comment
... tests:
...   - name: one   # why
...     given: {s: [{k: 1}]}
...     expect:
...       rows:
...         - {k: 2}
...     # after the block
...   - name: two
...     given: {s: []}
... '''
>>> print(rewrite_expects(text, [{"rows": [{"k": 1}]}, {"rows": []}]), end="")
# a comment
tests:
  - name: one   # why
    given: {s: [{k: 1}]}
    expect:
      rows:
        - {k: 1}
    # after the block
  - name: two
    given: {s: []}
    expect:
      rows: []
"""

from __future__ import annotations

import yaml


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, as the test files write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):  # noqa: ARG002
        return super().increase_indent(flow, False)


def _block(expect: dict, indent: int) -> list[str]:
    text = yaml.dump({"expect": expect}, Dumper=_Dumper, sort_keys=False,
                     default_flow_style=None, width=1000, allow_unicode=True)
    return [" " * indent + line for line in text.splitlines()]


def _last_line(node: yaml.Node) -> int:
    """The 0-based line where ``node``'s own text ends (not the comments or
    blank lines after it, which a block node's end mark includes)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style \
            and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    end = node.end_mark
    return end.line if end.column > 0 else end.line - 1


def rewrite_expects(text: str, expects: list[dict | None]) -> str:
    """``text`` with each case's ``expect`` replaced by ``expects[i]`` (added
    at the end of a case that has none; None: left as it is)."""
    root = yaml.compose(text)
    tests = next(v for k, v in root.value if k.value == "tests")
    lines = text.splitlines()
    edits = []  # (first line, last line, new lines), applied from the bottom up
    for case, expect in zip(tests.value, expects, strict=True):
        if expect is None:
            continue
        found = [(k, v) for k, v in case.value if k.value == "expect"]
        if found:
            key, value = found[0]
            edits.append((key.start_mark.line, _last_line(value),
                          _block(expect, key.start_mark.column)))
        else:
            end = _last_line(case)
            edits.append((end + 1, end, _block(expect, case.value[0][0].start_mark.column)))
    for first, last, new in sorted(edits, reverse=True):
        lines[first:last + 1] = new
    return "\n".join(lines) + "\n"

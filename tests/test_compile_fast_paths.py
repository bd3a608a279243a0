"""The compile's fast paths give what the simple definitions they stand in for
give (hypothesis): ``_printable``'s whole-string check, ``Source``'s line starts
found by ``str.find``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from compiler.codegen.text import _printable, comment, docstring_safe
from compiler.errors import Source

_TEXT = st.text(alphabet=st.sampled_from("ab \n\t\r\x00\x1b\u2028\u00a0\u200b\"\\é"), max_size=30)


def _printable_per_char(text: str, keep: str = "") -> str:
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


@given(text=_TEXT | st.text(max_size=30), keep=st.sampled_from(["", "\n\t", "\n"]))
def test_printable_is_the_per_character_escape(text, keep):
    assert _printable(text, keep) == _printable_per_char(text, keep)


@given(text=_TEXT)
def test_comment_and_docstring_have_no_control_character(text):
    assert comment(text).isprintable()
    assert docstring_safe(text).replace("\n", "").replace("\t", "").isprintable()


@given(text=_TEXT | st.text(max_size=30))
def test_line_starts_are_after_each_newline(text):
    source = Source("q.sql", text)
    assert source._line_starts == tuple([0] + [i + 1 for i, c in enumerate(text) if c == "\n"])
    for offset in range(len(text) + 1):
        line, column = source.line_col(offset)
        assert text.count("\n", 0, offset) == line - 1
        assert column == offset - (text.rfind("\n", 0, offset) + 1) + 1

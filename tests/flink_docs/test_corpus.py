"""Every query of the Flink-documentation corpus (tests/flink_docs/pages/),
compiled and run end to end on the page's rows at batch sizes 1, 7 and
65,536, and compared with the page's result (or DuckDB's on the same rows).
A query sqlc refuses is a strict xfail naming why: when support lands, the
test fails until the page's entry says what it returns. A query whose SQL the
page itself gets wrong must be refused with a positioned error that says so.
The README beside this file counts them per page."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import SqlcError
from tests.flink_docs.corpus import (
    BATCH_SIZES,
    Doc,
    Page,
    compile_doc,
    docs_table,
    expected_rows,
    run_compiled,
)
from tests.flink_docs.pages import ALL_PAGES


def cases():
    for page in ALL_PAGES:
        for doc in page.docs:
            marks = []
            if doc.refused is not None and not doc.refused.docs_bug:
                marks.append(pytest.mark.xfail(strict=True, raises=doc.refused.error,
                                               reason=doc.refused.why))
            if doc.wrong is not None:
                marks.append(pytest.mark.xfail(strict=True, raises=AssertionError,
                                               reason=doc.wrong))
            yield pytest.param(page, doc, id=f"{page.name}.{doc.name}", marks=marks)


class UnexpectedRefusal(Exception):
    """sqlc refused a query the corpus expects to run."""


def compiled_or_refused(page: Page, doc: Doc, folder: Path):
    """The compiled query; a refusal re-raised after checking that it is the
    one the corpus lists (another error fails the test, even an expected xfail)."""
    try:
        compiled = compile_doc(page, doc, folder)
    except SqlcError as error:
        text = error.render()
        if doc.refused is None:  # not an AssertionError: a `wrong` xfail must have run
            raise UnexpectedRefusal(text) from error
        assert isinstance(error, doc.refused.error), text
        assert doc.refused.words in text, text
        assert f"{doc.name}.sql:" in text, f"not positioned:\n{text}"
        raise
    assert doc.refused is None or not doc.refused.docs_bug, "the page's wrong SQL compiled"
    return compiled


@pytest.mark.parametrize(("page", "doc"), list(cases()))
def test_documented_query(page: Page, doc: Doc, tmp_path: Path) -> None:
    if doc.refused is not None and doc.refused.docs_bug:
        with pytest.raises(doc.refused.error):
            compiled_or_refused(page, doc, tmp_path)
        return
    compiled = compiled_or_refused(page, doc, tmp_path)
    want = expected_rows(page, doc)
    assert want or doc.hand == [], "an oracle without rows compares nothing"
    columns = docs_table(doc.expected).columns if doc.project and doc.expected else None
    for size in BATCH_SIZES:
        got = run_compiled(compiled.module or "", page, tmp_path, size, columns)
        assert got == want, f"batch size {size}: sqlc {sorted(got.items(), key=str)}"


def test_the_readme_counts_the_corpus_as_it_is() -> None:
    """README.md's tables are the corpus's (rewrite: python -m tests.flink_docs.report)."""
    from tests.flink_docs.report import README, current

    text = README.read_text(encoding="utf-8")
    assert text == current(text)

"""The README's tables, computed from the corpus (pages/): one table per page,
a row per query with what it came to, and the totals. ``test_corpus`` checks
that README.md holds exactly this; after changing a page, rewrite it with
``PYTHONPATH=. python -m tests.flink_docs.report``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.flink_docs.corpus import Doc, Page, status_of
from tests.flink_docs.pages import ALL_PAGES

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- corpus tables: begin -->", "<!-- corpus tables: end -->"
ORDER = ("runs & matches", "docs' SQL is wrong (refused, as by Flink)", "refused", "wrong")


def _detail(doc: Doc) -> str:
    if doc.wrong:
        return doc.wrong
    if doc.refused is not None:
        return doc.refused.why
    return f"vs {doc.oracle}" + (f"; {doc.note}" if doc.note else "")


def _page_table(page: Page) -> list[str]:
    lines = [f"### `{page.name}`", "", f"[{page.url}]({page.url}); rows: {page.inputs_from}", "",
             "| query | result | against / why |", "|---|---|---|"]
    for doc in page.docs:
        lines.append(f"| `{doc.name}` | {status_of(doc)} | {_detail(doc)} |")
    return [*lines, ""]


def tables() -> str:
    counts = Counter(status_of(doc) for page in ALL_PAGES for doc in page.docs)
    total = sum(counts.values())
    oracles = Counter(doc.oracle for page in ALL_PAGES for doc in page.docs
                      if status_of(doc) == ORDER[0])
    lines = [f"**{total} queries from {len(ALL_PAGES)} examples**: "
             + ", ".join(f"{counts[k]} {k}" for k in ORDER) + ". Of those that run and match, "
             + ", ".join(f"{n} against {oracle}" for oracle, n in sorted(oracles.items()))
             + ".", ""]
    for page in ALL_PAGES:
        lines += _page_table(page)
    return "\n".join([BEGIN, "", *lines, END])


def current(text: str) -> str:
    """``text`` with the part between the markers replaced by ``tables()``."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + tables() + tail


if __name__ == "__main__":
    README.write_text(current(README.read_text(encoding="utf-8")), encoding="utf-8")

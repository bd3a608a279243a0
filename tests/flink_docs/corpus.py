"""The machinery of the Flink-documentation corpus (tests/flink_docs/pages/):
a page's tables, the rows the page shows, its queries; each query compiled,
run end to end on files and compared with what the page says it returns (or
with DuckDB on the same rows where the page shows no result).

Tables are written as the docs print them (the SQL client's ``+---+`` boxes),
parsed by ``docs_table``: ``(NULL)`` and ``null`` are NULL, ``08:05`` in a
timestamp is ``08:05:00.000`` (the pages' own footnote), numbers compare as
numbers (``11.00`` is 11.0)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from compiler.errors import Source, SqlcError

TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d)(:\d\d)?(\.\d{1,3})?$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
DD_MON_YY = re.compile(r"^\d\d-[A-Za-z]{3}-\d\d \d\d:\d\d:\d\d$")
BATCH_SIZES = (1, 7, 65_536)


@dataclass(frozen=True)
class Refusal:
    """sqlc does not run the query: the error class, words of its message, and
    why (the README's reason column). ``docs_bug`` marks a refusal that is
    right because the page's SQL itself is wrong (Flink refuses it as well):
    such a query passes. Every other refusal is a strict xfail."""

    error: type[SqlcError]
    words: str
    why: str
    docs_bug: bool = False


@dataclass(frozen=True)
class Doc:
    """One query of a page. ``expected`` is the page's result table, verbatim;
    without one the oracle is DuckDB running ``duckdb`` (a translation where
    DuckDB cannot parse the query as written), or ``hand`` rows computed by
    hand and explained in ``note``."""

    name: str
    sql: str
    expected: str | None = None
    duckdb: str | None = None
    hand: list[tuple] | None = None
    refused: Refusal | None = None
    wrong: str | None = None  # a known wrong result: strict xfail naming the bug
    project: bool = False  # compare only the columns the page's table shows
    hand_from_page: bool = False  # ``hand`` holds values the page's text gives ("E.g.")
    note: str = ""

    @property
    def oracle(self) -> str:
        if self.expected is not None:
            return "the page's result"
        if self.hand is not None:
            return "the page's values" if self.hand_from_page else "rows computed by hand"
        return "DuckDB"


@dataclass(frozen=True)
class Page:
    """A documentation page (or one example of it with its own rows): the
    tables as the page declares them, the page's input rows per table, the
    DuckDB tables for the same rows."""

    name: str
    url: str
    ddl: str
    inputs: dict[str, str]  # table -> the page's rows as it prints them
    docs: list[Doc]
    duck_ddl: str = ""
    changes: str = ""  # what was replaced to run offline, and why
    inputs_from: str = "the page"


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple]


def cell(text: str):
    """One cell of a docs table as a value."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":  # a quoted string stays one
        text = text[1:-1]
        if DD_MON_YY.match(text):  # the MATCH_RECOGNIZE page's '01-Apr-11 10:00:00'
            return datetime.strptime(text, "%d-%b-%y %H:%M:%S").strftime("%Y-%m-%d %H:%M:%S")
        return text
    if text in ("(NULL)", "null", "NULL"):
        return None
    if NUMBER.match(text):
        return float(text) if "." in text else int(text)
    if text.startswith("[") and text.endswith("]"):
        return [cell(v) for v in text[1:-1].split(",")] if text[1:-1].strip() else []
    if DD_MON_YY.match(text):  # the MATCH_RECOGNIZE page's results: 01-APR-11 10:00:04
        return datetime.strptime(text, "%d-%b-%y %H:%M:%S").strftime("%Y-%m-%d %H:%M:%S")
    return text


def docs_table(text: str) -> Table:
    """The rows of a table as the pages print them: the SQL client's boxes
    (``| a | b |``), or columns underlined with ``=====`` (the joins and
    MATCH_RECOGNIZE pages), each column as wide as its underline."""
    lines = [ln for ln in text.strip("\n").splitlines() if ln.strip()]
    if not any(ln.strip().startswith("|") for ln in lines):
        return _underlined(lines)
    boxed = [ln.strip() for ln in lines if ln.strip().startswith("|")]
    split = [[c.strip() for c in ln.strip("|").split("|")] for ln in boxed]
    return Table(split[0], [tuple(cell(c) for c in row) for row in split[1:]])


def _underlined(lines: list[str]) -> Table:
    rule = lines[1]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]
    bounds = [(start, spans[i + 1][0] if i + 1 < len(spans) else None)
              for i, (start, _) in enumerate(spans)]
    bounds[0] = (0, bounds[0][1])

    def cut(line: str) -> list[str]:
        return [line[a:b].strip() for a, b in bounds]

    return Table(cut(lines[0]), [tuple(cell(c) for c in cut(ln)) for ln in lines[2:]])


def norm(value):
    """A value of either side, comparable: numbers as rounded floats,
    timestamps in sqlc's rendering ``YYYY-MM-DD HH:MM:SS.fff``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 6)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, str):
        match = TIMESTAMP.match(value)
        if match:
            day, hm, sec, frac = match.groups()
            return f"{day} {hm}{sec or ':00'}.{(frac or '.0')[1:].ljust(3, '0')}"
    if isinstance(value, list):
        return tuple(norm(v) for v in value)
    return value


def rows_of(table: Table) -> Counter:
    return Counter(tuple(norm(v) for v in row) for row in table.rows)


def applied(rows: list[dict]) -> Counter:
    """The final table of a changelog (+I/+U add a row, -U/-D take it back)."""
    table: Counter = Counter()
    for row in rows:
        op = row.pop("_op", "+I")
        table[tuple(norm(v) for v in row.values())] += 1 if op in ("+I", "+U") else -1
    return +table


def input_records(table: Table) -> list[dict]:
    """A docs table as JSON records (in the page's order: arrival order)."""
    return [dict(zip(table.columns, (norm(v) if isinstance(v, str) else v for v in row)))
            for row in table.rows]


def compile_doc(page: Page, doc: Doc, folder: Path):
    """The query compiled against the page's tables (raises SqlcError)."""
    from compiler.driver import compile_source

    catalog = folder / f"{page.name}.sql"
    catalog.write_text(page.ddl, encoding="utf-8")
    return compile_source(Source(f"{doc.name}.sql", doc.sql.rstrip().rstrip(";") + ";\n"),
                          [str(catalog)])


def run_compiled(module: str, page: Page, folder: Path, batch_size: int,
                 columns: list[str] | None = None) -> Counter:
    """Run a generated module on the page's rows (files, read in batches of
    ``batch_size``) with ``sqlc test``'s runner, which writes every output,
    INSERT INTO targets too, to files; the final rows."""
    from compiler.testing.files import Case, Input
    from compiler.testing.runner import load_query, run_case

    path = folder / "query.py"
    path.write_text(module, encoding="utf-8")
    query = load_query(path)
    reads = {s.name.lower() for s in query.sources} | {t.lower() for t in query.tables}
    given = {}
    for name, text in page.inputs.items():
        if name.lower() not in reads:  # e.g. a query over an inline VALUES table
            continue
        data = folder / f"{name}.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in input_records(docs_table(text))),
                        encoding="utf-8")
        given[name] = Input(path=data)
    case = Case(page.name, 0, given, {})
    observed = run_case(query, case, batch_size, f"{page.name}")
    rows = [{"_op": r.pop("op"), **r} if "op" in r else r for r in observed.changelog]
    if columns:
        rows = [{k: row[k] for k in ["_op", *columns] if k in row} for row in rows]
    return applied(rows)


def duckdb_rows(page: Page, sql: str) -> Counter:
    """DuckDB's result of ``sql`` over the same rows."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for statement in page.duck_ddl.split(";"):
        if statement.strip():
            con.execute(statement)
    for name, text in page.inputs.items():
        table = docs_table(text)
        marks = ", ".join("?" for _ in table.columns)
        con.executemany(f'INSERT INTO "{name}" ({", ".join(table.columns)}) VALUES ({marks})',
                        [tuple(r.values()) for r in input_records(table)])
    return Counter(tuple(norm(v) for v in row)
                   for row in con.execute(sql.replace("`", '"')).fetchall())


def expected_rows(page: Page, doc: Doc) -> Counter:
    if doc.expected is not None:
        return rows_of(docs_table(doc.expected))
    if doc.hand is not None:
        return Counter(tuple(norm(v) for v in row) for row in doc.hand)
    return duckdb_rows(page, doc.duckdb or doc.sql)


@dataclass
class Outcome:
    """What a query came to, for the README's table."""

    page: str
    doc: str
    status: str  # runs & matches | refused | docs' SQL is wrong | wrong
    detail: str = ""
    extra: dict = field(default_factory=dict)


def status_of(doc: Doc) -> str:
    if doc.wrong:
        return "wrong"
    if doc.refused is None:
        return "runs & matches"
    return "docs' SQL is wrong (refused, as by Flink)" if doc.refused.docs_bug else "refused"

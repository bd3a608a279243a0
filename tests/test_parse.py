"""The parse package on its own: the kind of each refusal of the conversion to
``compiler.ast`` (said where it is raised, not guessed from the message), the
docstring examples, and that no other module imports sqlglot.

Positions and messages as users see them are the corpus of tests/test_errors.py.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import compiler.parse
from compiler.errors import Diagnostics, Source

ROOT = Path(__file__).resolve().parent.parent
S, U = "SqlSyntaxError", "UnsupportedError"

# Every refusal the converter can reach from SQL text, with its kind.
CONVERSION_REFUSALS = [
    ("SELECT CAST(a AS VARCHAR(MAX)) FROM t", U, "Unsupported type parameter MAX"),
    ("CREATE STREAM s (ts TIMESTAMP(3), WATERMARK FOR ts AS)", S, "Expected an expression"),
    ("SELECT a FROM t WHERE a IS 3", U, "Unsupported IS expression: a IS 3"),
    ("SELECT a FROM t WHERE a IN ()", S, "Expected at least one value in IN (...)"),
    ("SELECT SUM(a) OVER v FROM t WINDOW w AS (ORDER BY ts)", S, "unknown window v"),
    ("SELECT SUM(a) OVER (w ROWS 2 PRECEDING) FROM t WINDOW w AS (ORDER BY ts)", U,
     "refining a named window"),
    ("SELECT (SELECT SUM(a) OVER w FROM u) FROM t WINDOW w AS (ORDER BY ts)", S,
     "unknown window w"),
    ("SELECT INTERVAL a MINUTE FROM t", S, "INTERVAL takes a quoted number"),
    ("SELECT INTERVAL '5' FROM t", S, "INTERVAL '5' needs a unit"),
    ("SELECT INTERVAL '5' FORTNIGHT FROM t", S, "Unknown interval unit FORTNIGHT"),
    ("UPDATE t SET a = 1", U, "Unsupported statement: UPDATE"),
    ("USE db", U, "Unsupported statement: USE"),
    ("SELECT a FROM t LIMIT 'x'", S, "LIMIT takes an integer literal"),
    ("SELECT a FROM t NATURAL JOIN u", U, "NATURAL JOIN is not supported"),
    ("SELECT a FROM t.u.v.w", U, "Unsupported table expression"),
    ("SELECT * MATCH_RECOGNIZE (ORDER BY ts MEASURES A.x AS y PATTERN (A) DEFINE A AS TRUE)",
     S, "MATCH_RECOGNIZE needs a FROM table"),
    # the user's text in a message does not change its kind (it once did: the
    # kind was read off the message, and this name made it an UnsupportedError)
    ('SELECT a FROM t WHERE "not supported" IN ()', S, "Expected at least one value in IN"),
]


def diagnostics_of(sql: str) -> list[tuple[str, str]]:
    source = Source("q.sql", sql)
    diagnostics = Diagnostics(source)
    compiler.parse.parse_script(source, diagnostics)
    return [(d.kind, d.message) for d in diagnostics.items]


@pytest.mark.parametrize(("sql", "kind", "message"), CONVERSION_REFUSALS,
                         ids=[m for _, _, m in CONVERSION_REFUSALS])
def test_conversion_refusal_has_its_kind(sql: str, kind: str, message: str) -> None:
    [(got_kind, got_message)] = diagnostics_of(sql)
    assert got_message.startswith(message)
    assert got_kind == kind


PARSE_MODULES = ["compiler.parse"] + [
    f"compiler.parse.{m.name}" for m in pkgutil.iter_modules(compiler.parse.__path__)
]


@pytest.mark.parametrize("name", PARSE_MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_only_the_parse_package_imports_sqlglot() -> None:
    importers = []
    for path in sorted([*ROOT.glob("compiler/**/*.py"), *ROOT.glob("runtime_lib/**/*.py")]):
        if path.parent == ROOT / "compiler" / "parse":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(n.split(".")[0] == "sqlglot" for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []


# A file cut off anywhere (an editor saving half a statement, a truncated paste)
# is a positioned error, never an internal one: every prefix that ends at a word
# boundary of these files is parsed and analyzed.
TRUNCATED_FILES = ["catalog.sql", "q13_ab_test.sql", "q20_multi_stream_join.sql",
                   "fr_adv_001_match_recognize.sql", "q10_multi_dim_aggregation.sql"]


@pytest.mark.parametrize("name", TRUNCATED_FILES)
def test_a_file_cut_off_anywhere_is_a_user_error(name: str) -> None:
    from compiler.driver import analyze_source, load_catalog
    from compiler.errors import SqlcError

    text = (ROOT / "examples" / name).read_text(encoding="utf-8")
    text = "\n".join(line.split("--", 1)[0] for line in text.splitlines())  # cut code only
    cuts = sorted({i for i, ch in enumerate(text) if ch in " \n(,"} | {len(text)})
    catalog_paths = [] if name == "catalog.sql" else [ROOT / "examples" / "catalog.sql"]
    crashed = []
    for cut in cuts:
        try:
            analyze_source(Source("cut.sql", text[:cut]), load_catalog(catalog_paths))
        except SqlcError:
            pass
        except Exception as error:  # an internal error: the bug this test is for
            crashed.append((text[max(0, cut - 30):cut], f"{type(error).__name__}: {error}"))
    assert crashed == []

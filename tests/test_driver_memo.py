"""The driver's memo of parsed files (``compiler.driver._parse``): a file
already parsed without any diagnostic is not parsed again, a changed text or
a parse that reported something is, the module compiled is the same, and the
trees it shares between compiles cannot be changed (frozen nodes over
tuples and scalars all the way down)."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path

import pytest

from compiler import driver
from compiler.driver import compile_source, read_source
from compiler.errors import Diagnostics, Source, Span, SqlcError

ROOT = Path(__file__).resolve().parent.parent
CATALOG = [str(ROOT / "examples" / "catalog.sql")]
QUERY = ROOT / "examples" / "fr_dql_003_tumble.sql"


@pytest.fixture
def parses(monkeypatch):
    """The paths parse_script really parses, in order, from an empty memo."""
    seen: list[str] = []
    real = driver.parse_script

    def counting(source, diagnostics):
        seen.append(source.path)
        return real(source, diagnostics)

    monkeypatch.setattr(driver, "parse_script", counting)
    monkeypatch.setattr(driver, "_PARSED", {})
    monkeypatch.setattr(driver, "_CATALOGS", {})  # the analyzed catalogs' memo, below
    return seen


def test_a_file_parsed_cleanly_is_parsed_once(parses):
    first = compile_source(read_source(QUERY), CATALOG).module
    assert sorted(parses) == sorted([CATALOG[0], str(QUERY)])
    second = compile_source(read_source(QUERY), CATALOG).module
    assert second == first
    assert len(parses) == 2  # nothing parsed again


def test_a_changed_text_is_parsed_again(parses):
    source = read_source(QUERY)
    compile_source(source, CATALOG)
    changed = Source(source.path, source.text.replace("INTERVAL '5' MINUTES", "INTERVAL '10' MINUTES"))
    assert changed.text != source.text
    compile_source(changed, CATALOG)
    assert parses.count(str(QUERY)) == 2


def test_a_parse_that_reported_is_not_kept(parses):
    broken = Source("broken.sql", "SELECT FROM WHERE;")
    for _ in range(2):
        with pytest.raises(SqlcError):
            compile_source(broken, CATALOG)
    assert parses.count("broken.sql") == 2
    assert ("broken.sql", broken.text) not in driver._PARSED


def test_the_memo_keeps_the_most_recent_files(parses, monkeypatch):
    monkeypatch.setattr(driver, "_PARSED_KEPT", 2)
    for n in range(4):
        driver._parse(Source(f"q{n}.sql", f"SELECT {n};"), Diagnostics(Source("x", "")))
    assert [path for path, _ in driver._PARSED] == ["q2.sql", "q3.sql"]


SCALARS = (str, int, float, bool, type(None), Span, enum.Enum)


def immutable(value) -> bool:
    if isinstance(value, SCALARS):
        return True
    if isinstance(value, tuple):
        return all(immutable(v) for v in value)
    if dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen:
        return all(immutable(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


@pytest.mark.parametrize("sql", sorted((ROOT / "examples").glob("*.sql")), ids=lambda p: p.stem)
def test_parsed_trees_are_immutable(sql):
    script = driver.parse_script(read_source(sql), Diagnostics(read_source(sql)))
    assert script.statements and immutable(script)


# the memo of analyzed catalogs (``compiler.driver.load_catalog``)


@pytest.fixture
def catalog_analyses(monkeypatch):
    """The catalog files really analyzed, in order, from an empty memo."""
    seen: list[str] = []
    real = driver.analyze_source

    def counting(source, catalog):
        seen.append(Path(source.path).name)
        return real(source, catalog)

    monkeypatch.setattr(driver, "analyze_source", counting)
    monkeypatch.setattr(driver, "_CATALOGS", {})
    return seen


def test_a_catalog_is_analyzed_once_and_each_compile_gets_its_own_copy(catalog_analyses):
    view = read_source(ROOT / "examples" / "fr_ddl_003_create_view.sql")
    first = compile_source(view, CATALOG)
    assert first.analysis.catalog.get("high_cost_requests") is not None  # the query's CREATE VIEW
    second = compile_source(view, CATALOG)  # would be "already exists" in a shared catalog
    assert second.module == first.module
    assert catalog_analyses.count("catalog.sql") == 1
    fresh = driver.load_catalog(CATALOG)
    assert fresh.get("high_cost_requests") is None and fresh is not driver.load_catalog(CATALOG)
    assert [o.name for o in fresh.objects()] == [o.name for o in first.analysis.catalog.objects()
                                                if o.name != "high_cost_requests"]


def test_a_changed_catalog_is_analyzed_again(catalog_analyses, tmp_path):
    catalog = tmp_path / "catalog.sql"
    text = (ROOT / "examples" / "catalog.sql").read_text(encoding="utf-8")
    catalog.write_text(text, encoding="utf-8")
    query = read_source(QUERY)
    before = compile_source(query, [str(catalog)]).module
    catalog.write_text(text + "\nSET 'pipeline.name' = 'renamed';\n", encoding="utf-8")
    after = compile_source(query, [str(catalog)])
    assert catalog_analyses.count("catalog.sql") == 2
    assert after.analysis.catalog.settings.items() != driver.Catalog().settings.items()
    assert after.module != before


def test_a_catalog_with_an_error_is_not_kept(catalog_analyses, tmp_path):
    catalog = tmp_path / "catalog.sql"
    catalog.write_text("CREATE STREAM s (a INT) WITH ('connector' = 'nope');\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(SqlcError):
            driver.load_catalog([str(catalog)])
    assert catalog_analyses.count("catalog.sql") == 2 and not driver._CATALOGS


def test_the_copy_of_a_catalog_keeps_its_set_options_apart():
    catalog = driver.load_catalog(CATALOG)
    copy = catalog.copy()
    query = Source("q.sql", "SET 'pipeline.name' = 'mine';")
    driver.analyze_source(query, copy)
    assert copy.settings.items() != catalog.settings.items()
    assert catalog.settings.items() == driver.load_catalog(CATALOG).settings.items()

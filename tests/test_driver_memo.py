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

"""Generated modules are black's output, whichever formatter produced them:
ruff's formatter (used when installed, for speed) must give black's bytes on
every example module's unformatted text."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from compiler.codegen import module
from compiler.driver import compile_source, read_source
from compiler.errors import SqlcError

ROOT = Path(__file__).resolve().parent.parent


def _unformatted_modules(monkeypatch) -> list[str]:
    texts: list[str] = []
    monkeypatch.setenv("SQLC_NO_CACHE", "1")
    monkeypatch.setattr(module, "format_python", lambda text: texts.append(text) or text)
    for sql in sorted((ROOT / "examples").glob("*.sql")):
        if sql.name != "catalog.sql":
            try:
                compile_source(read_source(sql), [str(ROOT / "examples" / "catalog.sql")])
            except SqlcError:
                pass  # valid SQL that does not run yet
    return texts


def test_ruff_formats_every_example_as_black_does(monkeypatch):
    ruff = module._ruff()
    if ruff is None:
        pytest.skip("ruff is not installed here: black formats (the reference)")
    texts = _unformatted_modules(monkeypatch)
    assert len(texts) > 20
    for text in texts:
        assert module.ruff_format(text, ruff[0]) == module.black_format(text)


def test_the_scripts_directory_is_sysconfigs():
    assert module._scripts_dir() == Path(sysconfig.get_path("scripts"))


def test_black_is_used_when_asked(monkeypatch):
    monkeypatch.setenv("SQLC_FORMATTER", "black")
    monkeypatch.setenv("SQLC_NO_CACHE", "1")
    module._ruff.cache_clear()
    try:
        assert module._ruff() is None
        assert module.format_python("x  =  1\n") == "x = 1\n"
    finally:
        module._ruff.cache_clear()


def test_the_compiled_template_cache_gives_the_same_module(monkeypatch, tmp_path):
    """jinja2's bytecode cache (beside the formatter's) is written on the first
    compile and read on the next, and the module is the same with and without."""
    query = read_source(ROOT / "examples" / "fr_dql_003_tumble.sql")
    catalogs = [str(ROOT / "examples" / "catalog.sql")]
    monkeypatch.setenv("SQLC_NO_CACHE", "1")
    # jinja2 renders only a template edited since its precompiled function
    monkeypatch.setattr(module, "_precompiled_is_current", lambda: False)
    module._template.cache_clear()
    try:
        uncached = compile_source(query, catalogs).module
        monkeypatch.delenv("SQLC_NO_CACHE")
        monkeypatch.setenv("SQLC_CACHE_DIR", str(tmp_path))
        for _ in range(2):  # written, then read
            module._template.cache_clear()
            assert compile_source(query, catalogs).module == uncached
        assert len(list((tmp_path / "templates").glob("*.cache"))) == 1
    finally:
        module._template.cache_clear()

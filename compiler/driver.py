"""Runs the compile stages in order; the CLI and the tests enter here.

    parse -> analyze (catalog + logical plan) -> rules -> physical -> codegen

Each stage raises ``SqlcError`` with all the diagnostics it found, positioned
in the file they belong to (a catalog file or the query file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compiler.analyze import AnalyzedScript, Analyzer
from compiler.ast import Script
from compiler.catalog import Catalog
from compiler.errors import Diagnostic, Diagnostics, Source, Span, SqlFileError
from compiler.parse import parse_script


@dataclass
class Analysis:
    source: Source
    script: AnalyzedScript
    catalog: Catalog
    warnings: list[Diagnostic] = field(default_factory=list)
    catalog_sources: list[Source] = field(default_factory=list)


def read_source(path: str | Path) -> Source:
    """A SQL file's text; SqlFileError when it cannot be read (the CLI prints one
    line and exits 2)."""
    path = Path(path)
    try:
        return Source(str(path), path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SqlFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise SqlFileError(f"{path} is a directory, not a SQL file") from None
    except UnicodeDecodeError:
        raise SqlFileError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise SqlFileError(f"cannot read {path}: {error.strerror}") from None


def analyze_source(source: Source, catalog: Catalog) -> tuple[AnalyzedScript, Diagnostics]:
    """Parse and analyze one file against (and into) ``catalog``."""
    diagnostics = Diagnostics(source)
    script = _parse(source, diagnostics)
    analyzed = Analyzer(catalog, diagnostics).script(script)
    diagnostics.raise_if_errors()
    return analyzed, diagnostics


_PARSED: dict[tuple[str, str], Script] = {}  # (path, text) -> tree, the most recent few
_PARSED_KEPT = 64


def _parse(source: Source, diagnostics: Diagnostics) -> Script:
    """``parse_script``, memoized by the file's path and text: a process that
    compiles many queries (``sqlc serve``, ``compile`` of a project, tests)
    reads the same catalog file for each of them, and its parse was about a
    third of a warm compile. Only a parse that reported nothing is kept: it
    is then a function of the text alone, and its tree is immutable (frozen
    nodes over tuples, tests/test_driver_memo.py), so it can be shared."""
    key = (source.path, source.text)
    script = _PARSED.get(key)
    if script is not None:
        return script
    reported = len(diagnostics.items)
    script = parse_script(source, diagnostics)
    if len(diagnostics.items) == reported:
        if len(_PARSED) >= _PARSED_KEPT:
            _PARSED.pop(next(iter(_PARSED)))  # the oldest
        _PARSED[key] = script
    return script


def load_catalog(paths: list[str | Path], catalog: Catalog | None = None) -> Catalog:
    if catalog is not None:
        for path in paths:
            analyze_source(read_source(path), catalog)
        return catalog
    sources = [read_source(path) for path in paths]
    key = tuple((source.path, source.text) for source in sources)
    loaded = _CATALOGS.get(key)
    if loaded is None:
        loaded = Catalog()
        for source in sources:
            analyze_source(source, loaded)
        if len(_CATALOGS) >= _CATALOGS_KEPT:
            _CATALOGS.pop(next(iter(_CATALOGS)))  # the oldest
        _CATALOGS[key] = loaded
    return loaded.copy()


# (path, text) of each catalog file -> the catalog they make, the most recent few:
# a process compiling many queries (sqlc serve, a project's compile, tests)
# analyzed the same catalog files for each of them, a third of a warm compile.
# Each caller gets a copy (the query's own CREATE and SET statements change it);
# a catalog whose analysis failed raised and is not kept. The analysis of a
# catalog file is a function of the texts alone (tests/test_driver_memo.py).
_CATALOGS: dict[tuple[tuple[str, str], ...], Catalog] = {}
_CATALOGS_KEPT = 16


def _same_file(path: str | Path, other: str) -> bool:
    try:
        return Path(path).resolve() == Path(other).resolve()
    except OSError:
        return False


def analyze(source: Source, catalog_paths: list[str | Path] = ()) -> Analysis:  # type: ignore[assignment]
    # a catalog file given as the query (`sqlc vet examples/*.sql`) is read once
    catalog = load_catalog([p for p in catalog_paths if not _same_file(p, source.path)])
    script, diagnostics = analyze_source(source, catalog)
    return Analysis(source, script, catalog, diagnostics.warnings)


@dataclass
class Compiled:
    analysis: Analysis
    logical: list  # optimized logical plans, one per query
    physical: list  # Exec roots
    module: str | None  # generated Python source (None for EXPLAIN-only)
    traces: list = field(default_factory=list)  # per query: [(rule name, plan)]


def plan(analysis: Analysis, verbose: bool = False) -> Compiled:
    from compiler.physical import plan_physical
    from compiler.rules import optimize

    logical, physical, traces = [], [], []
    for query in analysis.script.queries:
        trace: list = []
        optimized = optimize(query.plan, trace if verbose else None)
        logical.append(optimized)
        physical.append(plan_physical(optimized))
        traces.append(trace)
    return Compiled(analysis, logical, physical, None, traces)


def compile_source(source: Source, catalog_paths: list[str | Path] = (),  # type: ignore[assignment]
                   display_path: str | None = None) -> Compiled:
    """SQL text to a generated module (the whole pipeline of DESIGN.md)."""
    from compiler.codegen import render_module
    from compiler.errors import Diagnostic, SqlcError

    analysis = analyze(source, catalog_paths)
    compiled = plan(analysis)
    if not compiled.physical:
        raise SqlcError(
            [Diagnostic("BindError", "the file has no query (SELECT or INSERT) to compile",
                        Span(0, max(len(source.text), 1)))],
            source,
        )
    compiled.module = render_module(source, compiled.physical, display_path or source.path,
                                    settings=analysis.catalog.settings.for_module())
    return compiled

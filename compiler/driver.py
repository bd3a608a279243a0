"""Runs the compile stages in order; the CLI and the tests enter here.

    parse -> analyze (catalog + logical plan) -> rules -> physical -> codegen

Each stage raises ``SqlcError`` with all the diagnostics it found, positioned
in the file they belong to (a catalog file or the query file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compiler.analyze import AnalyzedScript, Analyzer
from compiler.catalog import Catalog
from compiler.errors import Diagnostic, Diagnostics, Source
from compiler.parse import parse_script


@dataclass
class Analysis:
    source: Source
    script: AnalyzedScript
    catalog: Catalog
    warnings: list[Diagnostic] = field(default_factory=list)
    catalog_sources: list[Source] = field(default_factory=list)


def read_source(path: str | Path) -> Source:
    path = Path(path)
    return Source(str(path), path.read_text(encoding="utf-8"))


def analyze_source(source: Source, catalog: Catalog) -> tuple[AnalyzedScript, Diagnostics]:
    """Parse and analyze one file against (and into) ``catalog``."""
    diagnostics = Diagnostics(source)
    script = parse_script(source, diagnostics)
    analyzed = Analyzer(catalog, diagnostics).script(script)
    diagnostics.raise_if_errors()
    return analyzed, diagnostics


def load_catalog(paths: list[str | Path], catalog: Catalog | None = None) -> Catalog:
    catalog = catalog or Catalog()
    for path in paths:
        analyze_source(read_source(path), catalog)
    return catalog


def analyze(source: Source, catalog_paths: list[str | Path] = ()) -> Analysis:  # type: ignore[assignment]
    catalog = load_catalog(list(catalog_paths))
    script, diagnostics = analyze_source(source, catalog)
    return Analysis(source, script, catalog, diagnostics.warnings)

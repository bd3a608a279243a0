"""Analyze: resolve names and types against the catalog and build the logical plan.

The names other stages use; the modules of this package say where each part of
a statement is decided (see ``analyzer.py``).
"""

from compiler.analyze.analyzer import AnalyzedQuery, AnalyzedScript, Analyzer
from compiler.analyze.scope import Abort

__all__ = ["Abort", "AnalyzedQuery", "AnalyzedScript", "Analyzer"]

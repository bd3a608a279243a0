"""Analyze: resolve names and types against the catalog and build the logical plan.

The names other stages use; the modules of this package say where each part of
a statement is decided (see ``analyzer.py``).
"""

from compiler.analyze.analyzer import AnalyzedQuery, AnalyzedScript, Analyzer, _Abort

__all__ = ["AnalyzedQuery", "AnalyzedScript", "Analyzer", "_Abort"]

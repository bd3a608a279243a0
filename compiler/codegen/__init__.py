"""Codegen: physical plans -> one black-formatted Python module.

Python decides every name, expression and comment; ``templates/module.py.j2``
only lays them out. Identifiers and literals from the SQL reach the module
only through ``repr()`` (string keys, literal values) or through
``identifier`` (operator and source names, reduced to ``[a-z0-9_]``), and
comments are flattened to one line, so no SQL text can become code
(``text.py`` holds those channels).

The package, top-down:

* ``module.py``: ``render_module``, the template, the imports, black;
* ``generator.py``: walks the plan and pushes each source's rows from operator
  to operator (``Generator.chain``), dispatching to ``emit.EMITTERS``;
* ``emit/``: one module per operator family (sources and Calc, aggregates,
  joins, sort, sink), and the dict from Exec class to emitter;
* ``expressions.py``: ``ExprEmitter``, bound expressions -> Python;
* ``runtime.py``: ``RUNTIME_IMPORTS``, every runtime symbol generated code names.
"""

from __future__ import annotations

from compiler.codegen.module import render_module

__all__ = ["render_module"]

"""``CREATE TABLE t (...) WITH (...) LIKE base [(options)]`` as Flink has it: the
new table is ``base``'s definition merged with its own, feature by feature.

Physical columns of ``base`` always come first, then the new table's columns.
The like options say, per feature, whether ``base``'s part is INCLUDED (a
clash with the new table's part is an error), EXCLUDED, or OVERWRITTEN by the
new table's part of the same name: CONSTRAINTS (the primary key), GENERATED
(computed columns), METADATA (metadata columns), OPTIONS (the WITH
properties), WATERMARKS, PARTITIONS (the PARTITIONED BY columns of a
filesystem table). ``INCLUDING ALL`` / ``EXCLUDING ALL``
set every feature first, the others then change one; without options a LIKE
is ``INCLUDING ALL OVERWRITING OPTIONS`` (Flink's default).

The merge is on the parsed definitions (the catalog keeps each source's), so
the merged statement is then checked as if written out; what it inherits is
positioned at ``LIKE base``, where the user wrote it.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace

from compiler import ast
from compiler.catalog import Catalog, SourceDef
from compiler.errors import Diagnostics, Span

FEATURES = ("CONSTRAINTS", "GENERATED", "METADATA", "OPTIONS", "PARTITIONS", "WATERMARKS")
# Flink's defaults (MergeTableLikeUtil): options are overwritten, the rest included
DEFAULTS = {**{f: "INCLUDING" for f in FEATURES}, "OPTIONS": "OVERWRITING"}


def merge(catalog: Catalog, stmt: ast.CreateSource, diag: Diagnostics
          ) -> ast.CreateSource | None:
    """``stmt`` with its LIKE resolved, or None when an error was reported."""
    assert stmt.like is not None
    like = stmt.like
    base = catalog.get(like.name)
    if not isinstance(base, SourceDef) or base.definition is None:
        what = (f"'{like.name}' is a view; LIKE takes a table" if base is not None
                else f"unknown table '{like.name}' after LIKE"
                + (f"; did you mean '{catalog.suggest(like.name)}'?"
                   if catalog.suggest(like.name) else ""))
        diag.error("BindError", what, like.name_span)
        return None
    strategies = _strategies(like, diag)
    if strategies is None:
        return None
    errors_before = len(diag.errors)
    inherited = _respan(base.definition, like.span)
    if inherited.watermark is not None and base.watermark is not None:
        inherited = replace(inherited, watermark=replace(inherited.watermark,
                                                         text=base.watermark.text))
    new_names = {c.name.lower(): c for c in stmt.columns}
    columns: list[ast.ColumnDef] = []
    for col in inherited.columns:
        feature = ("GENERATED" if col.computed is not None
                   else "METADATA" if col.metadata_key is not None else None)
        strategy = strategies[feature] if feature else "INCLUDING"
        if strategy == "EXCLUDING":
            continue
        mine = new_names.get(col.name.lower())
        if mine is not None:
            if feature is None or strategy == "INCLUDING":
                diag.error("BindError",
                           f"column '{mine.name}' is also a column of '{base.name}'"
                           + (f"; write OVERWRITING {feature} to replace it" if feature
                              else ""),
                           mine.span)
            continue  # OVERWRITING: the new table's column, in its place below
        columns.append(col)
    columns.extend(stmt.columns)
    watermark = _pick(stmt.watermark, inherited.watermark, strategies["WATERMARKS"],
                      "a WATERMARK", "WATERMARKS", base.name, diag)
    primary_key = _pick(stmt.primary_key, inherited.primary_key, strategies["CONSTRAINTS"],
                        "a PRIMARY KEY", "CONSTRAINTS", base.name, diag)
    partitioned_by = stmt.partitioned_by
    if inherited.partitioned_by and strategies["PARTITIONS"] != "EXCLUDING":
        if stmt.partitioned_by and strategies["PARTITIONS"] == "INCLUDING":
            diag.error("BindError", f"'{base.name}' is PARTITIONED BY too; with INCLUDING "
                       "PARTITIONS the new table may not repartition it",
                       stmt.partitioned_by[0].span,
                       hint="write OVERWRITING PARTITIONS to replace them")
        elif not stmt.partitioned_by:
            partitioned_by = inherited.partitioned_by
    kept: list[ast.Property] = []  # the base's options first, then the new table's
    if strategies["OPTIONS"] != "EXCLUDING":
        mine_keys = {p.key: p for p in stmt.properties}
        for prop in inherited.properties:
            if prop.key not in mine_keys:
                kept.append(prop)
            elif strategies["OPTIONS"] == "INCLUDING":
                diag.error("BindError",
                           f"'{base.name}' sets the option '{prop.key}' too; with INCLUDING "
                           "OPTIONS they may not repeat",
                           mine_keys[prop.key].span,
                           hint="write OVERWRITING OPTIONS (the default) to replace it")
    if len(diag.errors) > errors_before:
        return None
    return replace(stmt, columns=tuple(columns), watermark=watermark, primary_key=primary_key,
                   properties=tuple(kept) + stmt.properties, like=None,
                   partitioned_by=partitioned_by)


def _strategies(like: ast.LikeClause, diag: Diagnostics) -> dict[str, str] | None:
    result = dict(DEFAULTS)
    for option in like.options:  # ALL first, whatever its place
        if option.feature == "ALL":
            if option.strategy == "OVERWRITING":
                diag.error("BindError", "OVERWRITING ALL is not a LIKE option; write "
                           "INCLUDING ALL or EXCLUDING ALL", option.span)
                return None
            result = {f: option.strategy for f in FEATURES}
    for option in like.options:
        if option.feature == "ALL":
            continue
        if option.strategy == "OVERWRITING" and option.feature in ("CONSTRAINTS", "PARTITIONS"):
            diag.error("BindError", f"OVERWRITING {option.feature} is not a LIKE option "
                       "(Flink): write INCLUDING or EXCLUDING", option.span)
            return None
        result[option.feature] = option.strategy
    return result


def _pick(mine, theirs, strategy: str, what: str, feature: str, base: str,
          diag: Diagnostics):
    """The new table's part or the base's, by ``strategy``."""
    if theirs is None or strategy == "EXCLUDING":
        return mine
    if mine is None:
        return theirs
    if strategy == "INCLUDING":
        diag.error("BindError", f"'{base}' has {what} too",
                   mine.span, hint=f"write EXCLUDING {feature} to keep only this one"
                   + (", or OVERWRITING " + feature if feature != "CONSTRAINTS" else ""))
    return mine


def _respan(node, span: Span):
    """``node`` with every span set to ``span`` (what a table inherits is
    positioned where LIKE names it)."""
    if isinstance(node, tuple):
        return tuple(_respan(n, span) for n in node)
    if not is_dataclass(node) or isinstance(node, type):
        return node
    changes = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, Span):
            changes[f.name] = span
        elif isinstance(value, tuple) or (is_dataclass(value) and not isinstance(value, type)):
            changes[f.name] = _respan(value, span)
    return replace(node, **changes)

"""CREATE TABLE and CREATE STREAM: a source's columns typed (physical and metadata
columns first, computed columns over them), its watermark and primary key
checked, the definition added to the catalog; and ``scan``, the plan node that
reads a source in a query."""

from __future__ import annotations

import re
from dataclasses import replace

from compiler import ast
from compiler import logical as lg
from compiler import types as t
from compiler.analyze import like
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.literals import duration_ms, interval_ms
from compiler.analyze.scope import Abort, Scope, fail
from compiler.analyze.syntax import iter_ast
from compiler.analyze.type_names import type_of
from compiler.catalog import (
    Catalog,
    CatalogColumn,
    SourceDef,
    Watermark,
    check_changelog_table,
    check_properties,
)
from compiler.errors import Diagnostics, Span, did_you_mean

KAFKA_METADATA = {
    "timestamp": t.TIMESTAMP_LTZ,
    "partition": t.INT,
    "offset": t.BIGINT,
    "topic": t.VARCHAR,
    "timestamp-type": t.VARCHAR,
    "leader-epoch": t.INT,
}


# characters a physical column's name may not contain (see _column_names)
_UNREADABLE_NAME = re.compile(r'["\\\x00-\x1f]')


def create_source(binder: ExpressionBinder, catalog: Catalog, stmt: ast.CreateSource) -> None:
    """Check the definition and add it to ``catalog``; nothing is added when an
    error was reported."""
    diag = binder.diag
    errors_before = len(diag.errors)
    if stmt.like is not None:
        merged = like.merge(catalog, stmt, diag)
        if merged is None:
            return
        stmt = merged
    check_properties(stmt.kind, stmt.name, stmt.properties, stmt.name_span, diag)
    check_changelog_table(stmt, diag)
    connector = next((p.value for p in stmt.properties if p.key == "connector"), "")
    if connector == "upsert-kafka" and stmt.primary_key is None:
        prop = next(p for p in stmt.properties if p.key == "connector")
        diag.error(
            "BindError",
            "connector 'upsert-kafka' needs a PRIMARY KEY (the message key that rows "
            "are upserted by)",
            prop.span,
            hint="declare e.g. PRIMARY KEY (id) NOT ENFORCED",
        )
    seen = _column_names(stmt, diag)
    # physical and metadata columns first: computed columns are typed over them
    columns = _stored_columns(stmt, connector, diag)
    _check_row_columns(stmt, columns, diag)
    columns = {**columns, **_computed_columns(binder, stmt, seen, columns)}
    ordered = [columns[c.name.lower()] for c in stmt.columns if c.name.lower() in columns]
    watermark = None
    if stmt.watermark is not None:
        watermark = _watermark(binder, stmt, ordered)
        if watermark is not None:
            ordered = [
                replace(c, type=replace(c.type, time_attribute="ROWTIME"))
                if c.name.lower() == watermark.column.lower()
                else c
                for c in ordered
            ]
    primary_key: tuple[str, ...] = ()
    if stmt.primary_key is not None:
        primary_key = _primary_key(stmt, stmt.primary_key, columns, diag)
        # key columns are NOT NULL, as in Flink
        ordered = [
            replace(c, type=c.type.with_nullable(False)) if c.name in primary_key else c
            for c in ordered
        ]
    partition_keys = _partition_keys(stmt, columns, connector, diag)
    if len(diag.errors) > errors_before:
        return
    definition = SourceDef(
        kind=stmt.kind,
        name=stmt.name,
        columns=tuple(ordered),
        watermark=watermark,
        primary_key=primary_key,
        properties={p.key: p.value for p in stmt.properties},
        span=stmt.span,
        property_spans={p.key: p.span for p in stmt.properties},
        origin=diag.source.path,
        partition_keys=partition_keys,
        definition=stmt,
        text=diag.source.fragment(stmt.span),
    )
    catalog.add(definition, stmt.if_not_exists, diag, stmt.name_span)


def _column_names(stmt: ast.CreateSource, diag: Diagnostics) -> dict[str, ast.ColumnDef]:
    """The columns by lower-case name; duplicates and names no record field can
    have are reported."""
    seen: dict[str, ast.ColumnDef] = {}
    for col in stmt.columns:
        if col.name.lower() in seen:
            diag.error("BindError", f"duplicate column '{col.name}'", col.span)
        seen[col.name.lower()] = col
        if col.computed is None and col.metadata_key is None and _UNREADABLE_NAME.search(
            col.name
        ):
            # the JSON decoder maps record keys to fields by name (msgspec), and
            # refuses these characters in a key it looks up
            diag.error(
                "UnsupportedError",
                f"column name {col.name!r} contains a double quote, a backslash or a "
                "control character; sqlc cannot read such a field from a record",
                col.span,
                hint="rename the field upstream, or read it under another name",
            )
    return seen


def _stored_columns(stmt: ast.CreateSource, connector: str, diag: Diagnostics
                    ) -> dict[str, CatalogColumn]:
    """The physical and metadata columns by lower-case name (those whose type
    could be read)."""
    columns: dict[str, CatalogColumn] = {}
    for col in stmt.columns:
        if col.computed is not None:
            continue
        assert col.type is not None
        typ = type_of(col.type, diag)
        if typ is None:
            continue
        if col.metadata_key is not None:
            _check_metadata_key(col, connector, diag)
        columns[col.name.lower()] = CatalogColumn(
            col.name, typ.with_nullable(not col.not_null), None, col.metadata_key,
            col.comment, col.span,
        )
    return columns


def _check_row_columns(stmt: ast.CreateSource, columns: dict[str, CatalogColumn],
                       diag: Diagnostics) -> None:
    """ROW columns are read from JSON objects: other formats and the lookup
    stores have none (a sink-only connector may declare them)."""
    props = {p.key: p.value for p in stmt.properties}
    connector = props.get("connector", "")
    fmt = props.get("value.format", props.get("format", "json"))
    keys = [*(stmt.primary_key.columns if stmt.primary_key else ()), *stmt.partitioned_by]
    for key in keys:
        col = columns.get(key.name.lower())
        if col is not None and col.type.is_row:
            diag.error("UnsupportedError", f"column {col.name} is a ROW: it cannot be a key "
                       "(PRIMARY KEY, PARTITIONED BY)", key.span)
    if connector in ("print", "blackhole"):
        return
    reads = (f"format '{fmt}'" if connector in ("kafka", "upsert-kafka", "file", "filesystem")
             else f"connector '{connector}'")
    for col in stmt.columns:
        typ = columns.get(col.name.lower())
        if typ is None or not typ.type.is_row or typ.kind != "physical":
            continue
        names = list(typ.type.fields)
        if fmt != "json" or not reads.startswith("format"):
            diag.error("UnsupportedError",
                       f"column {col.name} is a ROW: sqlc reads ROW columns from JSON "
                       f"objects, and {reads} has none", col.type.span if col.type
                       else col.span,
                       hint=f"declare its fields as columns of their own "
                       f"({', '.join(names)}), or read the table as 'json'")
        clash = [t.leaf_name(path) for path, _ in t.row_leaves(col.name, typ.type)
                 if t.leaf_name(path).lower() in columns]
        if clash:
            diag.error("UnsupportedError",
                       f"the field {clash[0]} of ROW column {col.name} has the name of the "
                       f"column {clash[0]}: sqlc reads the field into a column of that name",
                       col.span, hint="rename the column")


def _check_metadata_key(col: ast.ColumnDef, connector: str, diag: Diagnostics) -> None:
    key = col.metadata_key or col.name
    if connector in ("kafka", "upsert-kafka") and key not in KAFKA_METADATA:
        suggestion = did_you_mean(key, list(KAFKA_METADATA))
        diag.error(
            "BindError",
            f"unknown Kafka metadata key '{key}'"
            + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            col.metadata_span,
            hint="available: " + ", ".join(KAFKA_METADATA),
        )
    elif connector not in ("kafka", "upsert-kafka"):
        diag.error(
            "UnsupportedError",
            f"connector '{connector}' has no metadata columns",
            col.span,
        )


def _computed_columns(binder: ExpressionBinder, stmt: ast.CreateSource,
                      seen: dict[str, ast.ColumnDef], stored: dict[str, CatalogColumn]
                      ) -> dict[str, CatalogColumn]:
    """The computed columns by lower-case name, each typed over the stored columns
    (a computed column may not use another)."""
    base_schema = tuple(f for _, f in scan_fields(tuple(stored.values())))
    scope = Scope.of(base_schema, stmt.name)
    columns: dict[str, CatalogColumn] = {}
    for col in stmt.columns:
        if col.computed is None:
            continue
        try:
            for node in iter_ast(col.computed):
                if isinstance(node, ast.Column) and node.name.lower() in seen and seen[
                    node.name.lower()
                ].computed is not None and (node.table is None
                                            or node.table.lower() == stmt.name.lower()):
                    fail(binder.diag, 
                        "BindError",
                        f"computed column '{col.name}' refers to computed column "
                        f"'{node.name}'; computed columns may only use physical and "
                        "metadata columns",
                        node.span,
                    )
            bound = binder.expr(col.computed, scope, "a computed column")
        except Abort:
            continue
        columns[col.name.lower()] = CatalogColumn(
            col.name, bound.type, col.computed, None, col.comment, col.span
        )
    return columns


def _partition_keys(stmt: ast.CreateSource, columns: dict[str, CatalogColumn],
                    connector: str, diag: Diagnostics) -> tuple[str, ...]:
    """The PARTITIONED BY columns, as the columns spell them: physical columns
    of a filesystem table, each a directory level (``dt=2025-01-01/``)."""
    if not stmt.partitioned_by:
        return ()
    if connector not in ("filesystem", "file"):
        diag.error("BindError", f"PARTITIONED BY is for the filesystem connector; connector "
                   f"'{connector}' writes no partition directories", stmt.partitioned_by[0].span)
        return ()
    names: list[str] = []
    for written in stmt.partitioned_by:
        col = columns.get(written.name.lower())
        if col is None or col.kind != "physical":
            diag.error("BindError", f"partition column '{written.name}' is not a physical "
                       f"column of {stmt.name}", written.span)
        elif col.name in names:
            diag.error("BindError", f"partition column '{written.name}' is listed twice",
                       written.span)
        elif col.name[:1] in ("_", "."):
            # a directory '_p=...' or '.p=...' is a hidden file to Flink's and Hive's readers
            diag.error("BindError", f"partition column '{written.name}' starts with "
                       f"'{col.name[0]}': readers of the table skip such directories as hidden",
                       written.span, hint="rename the column")
        else:
            names.append(col.name)
    physical = [c for c in columns.values() if c.kind == "physical"]
    if names and len(names) == len(physical):
        diag.error("BindError", f"{stmt.name} is partitioned by all its columns: its files "
                   "would hold no field", stmt.partitioned_by[0].span)
    return tuple(names)


def _primary_key(stmt: ast.CreateSource, key: ast.PrimaryKey,
                 columns: dict[str, CatalogColumn], diag: Diagnostics) -> tuple[str, ...]:
    """The key's column names, as the columns spell them."""
    names = []
    for written in key.columns:
        col = columns.get(written.name.lower())
        if col is None:
            diag.error(
                "BindError",
                f"primary key column '{written.name}' is not a column of {stmt.name}",
                written.span,
            )
            continue
        names.append(col.name)
    if key.enforced:  # written ENFORCED; nothing written is NOT ENFORCED
        diag.error(
            "UnsupportedError",
            "sqlc cannot enforce a primary key; declare it NOT ENFORCED (as Flink "
            "requires)",
            key.span,
            hint="a key sqlc trusts the data to keep: PRIMARY KEY (...) NOT ENFORCED, "
            "or PRIMARY KEY alone",
        )
    return tuple(names)


def _watermark(binder: ExpressionBinder, stmt: ast.CreateSource, columns: list[CatalogColumn]
               ) -> Watermark | None:
    assert stmt.watermark is not None
    diag = binder.diag
    wm = stmt.watermark
    target = next((c for c in columns if c.name.lower() == wm.column.name.lower()), None)
    if target is None:
        suggestion = did_you_mean(wm.column.name, [c.name for c in columns])
        diag.error(
            "BindError",
            f"watermark column '{wm.column.name}' is not a column of {stmt.name}"
            + (f"; did you mean '{suggestion}'?" if suggestion else ""),
            wm.column.span,
        )
        return None
    if not target.type.is_timestamp:
        diag.error(
            "BindError",
            f"watermark column '{target.name}' is {target.type.sql()}; it must be "
            "TIMESTAMP(3) or TIMESTAMP_LTZ(3)",
            wm.column.span,
            hint=f"add a computed column, e.g. event_time AS TO_TIMESTAMP({target.name})",
        )
        return None
    scope = Scope.of(tuple(f for _, f in scan_fields(tuple(columns))), stmt.name)
    try:
        bound = binder.expr(wm.expr, scope, "a watermark")
    except Abort:
        return None
    if not bound.type.is_timestamp:
        diag.error(
            "BindError",
            f"the watermark expression is {bound.type.sql()}; it must be a timestamp",
            wm.expr.span,
        )
        return None
    bound_ms: int | None = None
    expr = wm.expr
    if isinstance(expr, ast.Column) and expr.name.lower() == target.name.lower():
        bound_ms = 0
    elif (
        isinstance(expr, ast.Binary)
        and expr.op == "-"
        and isinstance(expr.left, ast.Column)
        and expr.left.name.lower() == target.name.lower()
        and isinstance(expr.right, ast.Interval)
    ):
        bound_ms = interval_ms(expr.right, diag)
        if bound_ms < 0:
            diag.error("BindError", "the watermark delay must not be negative",
                       expr.right.span)
            return None
    text = wm.text or diag.source.fragment(wm.expr.span)
    return Watermark(target.name, wm.expr, bound_ms, text)


def scan(binder: ExpressionBinder, source: SourceDef, rel: ast.TableRef) -> lg.Scan:
    """The Scan of a source, its computed columns and watermark bound again over
    its columns."""
    flat = scan_fields(source.columns)
    schema = tuple(f for _, f in flat)
    columns = [source.columns[c] for c, _ in flat]  # the catalog column of each field
    scope = Scope.of(schema, source.name)
    computed = []
    for i, col in enumerate(columns):
        if col.computed is not None:
            computed.append((i, binder.expr(col.computed, scope, "a computed column")))
    watermark = None
    if source.watermark is not None:
        index = next(
            i for i, c in enumerate(columns)
            if c.name.lower() == source.watermark.column.lower()
        )
        custom = None
        if source.watermark.bound_ms is None:
            custom = binder.expr(source.watermark.expr, scope, "a watermark")
        idle = source.properties.get("scan.watermark.idle-timeout")
        watermark = lg.WatermarkSpec(index, source.watermark.bound_ms, custom,
                                     duration_ms(idle) if idle else None)
    return lg.Scan(
        source=source.name,
        kind=source.kind,
        schema=schema,
        physical=tuple(i for i, c in enumerate(columns) if c.kind == "physical"),
        computed=tuple(computed),
        metadata=tuple(
            (i, c.metadata_key or c.name)
            for i, c in enumerate(columns)
            if c.kind == "metadata"
        ),
        watermark=watermark,
        properties=tuple(sorted(source.properties.items())),
        alias=rel.alias,
        span=rel.span,
    )


def scan_fields(columns: tuple[CatalogColumn, ...]) -> list[tuple[int, lg.Field]]:
    """The columns a scan of a source has, each with the index of its catalog
    column: a physical ROW column is its scalar fields, each a column named by
    its path (``bid.price``), read from the nested object (analyze/fields.py)."""
    out: list[tuple[int, lg.Field]] = []
    for i, c in enumerate(columns):
        if c.type.is_row and c.kind == "physical":
            out += [(i, lg.Field(t.leaf_name(path), typ, path))
                    for path, typ in t.row_leaves(c.name, c.type)]
        else:
            out.append((i, lg.Field(c.name, c.type)))
    return out


def values_scan(binder: ExpressionBinder, rel: ast.Values, name: str) -> lg.Scan:
    """``(VALUES (...), (...)) AS t(a, b)``: a bounded source of constant rows
    (Flink's Values, insert-only, read once), named ``name`` in the module.

    Each column has the type all its rows widen to, as in Flink (INT and
    BIGINT give BIGINT, INT and DOUBLE give DOUBLE, strings of any length
    VARCHAR), NOT NULL unless a row holds a NULL; every cell is cast to it.
    Columns without names are ``EXPR$0``, ``EXPR$1``... (Flink's)."""
    diag = binder.diag
    width = len(rel.rows[0])
    for row in rel.rows[1:]:
        if len(row) != width:
            fail(diag, "BindError", f"VALUES rows have {width} and {len(row)} values; "
                 "every row needs the same number", _row_span(row, rel))
    if rel.columns and len(rel.columns) != width:
        fail(diag, "BindError", f"{rel.alias} names {len(rel.columns)} columns but its VALUES "
             f"rows have {width}", rel.span)
    names = rel.columns or tuple(f"EXPR${i}" for i in range(width))
    empty = Scope([])
    failed = False
    rows: list[list[lg.BoundExpr]] = []
    for row in rel.rows:
        bound = []
        for cell in row:
            try:
                bound.append(binder.expr(cell, empty, "VALUES"))
            except Abort:
                failed = True
        rows.append(bound)
    if failed:
        raise Abort
    schema = tuple(lg.Field(n, _column_type(diag, n, [r[i] for r in rows], rel))
                   for i, n in enumerate(names))
    cast_rows = tuple(tuple(_cast_to(cell, f.type) for cell, f in zip(row, schema))
                      for row in rows)
    return lg.Scan(
        source=name, kind="TABLE", schema=schema, physical=tuple(range(width)),
        computed=(), metadata=(), watermark=None, properties=(("connector", "values"),),
        alias=rel.alias, span=rel.span, rows=cast_rows,
    )


def _row_span(row: tuple[ast.Expr, ...], rel: ast.Values) -> Span:
    return Span(row[0].span.start, row[-1].span.end) if row else rel.span


def _column_type(diag: Diagnostics, name: str, cells: list[lg.BoundExpr], rel: ast.Values
                 ) -> t.SqlType:
    common = cells[0].type
    for cell in cells[1:]:
        wider = t.common_type(common, cell.type)
        if wider is None:
            fail(diag, "BindError", f"VALUES column '{name}' is {common.sql()} in one row and "
                 f"{cell.type.sql()} in another", cell.span)
        common = wider
    if common.is_null:
        fail(diag, "BindError", f"VALUES column '{name}' is NULL in every row, which gives it "
             "no type", cells[0].span, hint="write CAST(NULL AS INT) (or the type meant) "
             "in one row, as Flink requires")
    if any(c.type.name in ("ARRAY", "MAP", "ROW", "INTERVAL") for c in cells):
        fail(diag, "UnsupportedError", f"VALUES column '{name}' is {common.sql()}: a VALUES "
             "table holds numbers, strings, booleans, dates and timestamps only",
             cells[0].span)
    return common.plain().with_nullable(any(c.type.nullable for c in cells))


def _cast_to(cell: lg.BoundExpr, typ: t.SqlType) -> lg.BoundExpr:
    if cell.type.sql() == typ.sql() or cell.type.is_null and isinstance(cell, lg.Const):
        return cell if not cell.type.is_null else lg.Const(None, typ, span=cell.span)
    return lg.Call("CAST", (cell,), typ.with_nullable(cell.type.nullable), span=cell.span)

"""Joins: which kind a join is (lookup, interval or regular), its condition and
keys, ``FOR SYSTEM_TIME AS OF``, and a time bound written in WHERE that makes a
join an interval join. What a condition says (equi keys, time bounds) is read
by the pure functions of ``join_conditions.py``."""

from __future__ import annotations

import re
from dataclasses import replace

from compiler import ast, functions
from compiler import logical as lg
from compiler import types as t
from compiler.analyze.expressions import ExpressionBinder
from compiler.analyze.join_conditions import (
    equi_keys,
    interval_bounds,
    is_half_bound,
    rowtime_columns,
    window_join_bounds,
)
from compiler.analyze.scope import Bound, Scope, ScopeField, fail
from compiler.analyze.syntax import iter_ast
from compiler.catalog import LOOKUP_STORES, Catalog, SourceDef, ViewDef
from compiler.errors import Diagnostics, Source, Span


def join(binder: ExpressionBinder, catalog: Catalog, rel: ast.Join, left: Bound, right: Bound
         ) -> Bound:
    """The join of two bound relations: a lookup join when the right side is a
    lookup table, an interval join when the condition bounds the two sides' event
    times, a regular join otherwise."""
    diag = binder.diag
    overlap = left.scope.qualifiers() & right.scope.qualifiers()
    if overlap:
        fail(diag, 
            "BindError",
            f"both sides of the join are called '{sorted(overlap)[0]}'; give one an alias",
            rel.span,
        )
    scope = left.scope.concat(right.scope)
    width = len(left.scope.fields)
    # the join's output names are unique (request_id, f_request_id): label the scope
    qualifiers = tuple(re.sub(r"[^0-9A-Za-z_]", "_", f.qualifier or "") for f in right.scope.fields)
    provisional = lg.Join(left.plan, right.plan, rel.kind, None, right_qualifiers=qualifiers)
    scope = Scope([
        replace(f, label=out.name if out.name != f.name else None)
        for f, out in zip(scope.fields, provisional.schema)
    ])
    condition = _condition(binder, rel, left.scope, right.scope, scope)
    lookup = False
    temporal: tuple[int, int] | None = None
    view_keys: tuple[int, ...] = ()  # a versioned view's key columns (its PARTITION BY)
    right_rel = rel.right
    obj: object = None
    if isinstance(right_rel, ast.TableRef):
        obj = catalog.get(right_rel.name)
        # a lookup join where the query says so, or the table is no stream (Flink)
        lookup = isinstance(obj, SourceDef) and obj.kind == "TABLE" and (
            right_rel.system_time is not None or not obj.is_stream)
        if right_rel.system_time is not None and isinstance(obj, ViewDef) and binder.expr(
                right_rel.system_time, left.scope, "FOR SYSTEM_TIME AS OF"
        ).type.time_attribute == "ROWTIME":
            # a versioned view: its versions are the rows of the history it dedups
            _no_changelog_history(diag, catalog, right_rel, obj, right.plan)
            history, view_keys = _versioned_view(diag, right_rel, obj, right.plan)
            right = Bound(history, right.scope, right.window)
            temporal = _event_time_join(binder, rel, right_rel, obj.name, left, right)
        elif right_rel.system_time is not None:
            temporal = _system_time(binder, rel, right_rel, obj, lookup, left, right)
            lookup = lookup and temporal is None
            if temporal is not None and isinstance(obj, SourceDef):
                right = Bound(_changelog_versions(diag, obj, right.plan),
                              right.scope, right.window)
    left_plan = left.plan
    if lookup:
        # ON MOD(b.auction, 10000) = s.key: the key computed before the lookup
        left_plan, condition, width = _key_expressions(left.plan, right.plan, condition, width,
                                                       rel.span)
    equi = equi_keys(condition, width)
    if lookup:
        assert isinstance(right_rel, ast.TableRef) and isinstance(obj, SourceDef)
        equi = _lookup_keys(diag, rel, right_rel, obj, left.scope, equi)
    if temporal is not None:
        assert isinstance(right_rel, ast.TableRef) and isinstance(obj, (SourceDef, ViewDef))
        if isinstance(obj, SourceDef):
            names = [f.name.lower() for f in right.plan.schema]
            view_keys = tuple(names.index(k.lower()) for k in obj.primary_key
                              if k.lower() in names)
            if len(view_keys) != len(obj.primary_key):
                view_keys = ()
        key_names = obj.primary_key if isinstance(obj, SourceDef) else tuple(
            right.plan.schema[i].name for i in view_keys)
        equi = _versioned_keys(diag, rel, right_rel, obj.name, key_names, view_keys, left.scope,
                               equi)
    node = lg.Join(left_plan, right.plan, rel.kind, condition, equi, None, lookup,
                   span=rel.span, right_qualifiers=qualifiers, temporal=temporal,
                   latest_only=isinstance(obj, ViewDef) and temporal is not None)
    if not lookup and temporal is None:
        node = replace(node, interval=interval_bounds(condition, width, rowtime_columns(node))
                       or window_join_bounds(node))
        _warn_unbounded_state(diag, node, rel)
    plan: lg.LogicalNode = node
    if left_plan is not left.plan:  # the computed keys are not columns of the join
        added = width - len(left.scope.fields)
        kept = [i for i in range(len(node.schema))
                if not len(left.scope.fields) <= i < width]
        plan = lg.Project(node, tuple(lg.ColumnRef(i, node.schema[i].name, node.schema[i].type)
                                      for i in kept),
                          tuple(f.name for f in provisional.schema), span=rel.span)
        assert len(kept) == len(node.schema) - added
    out_scope = Scope(
        [
            ScopeField(f.qualifier, f.name, out.type, f.index,
                       out.name if out.name != f.name else None)
            for f, out in zip(scope.fields, plan.schema)
        ]
    )
    window = left.window or right.window
    return Bound(plan, out_scope, window)


def _key_expressions(left: lg.LogicalNode, right: lg.LogicalNode,
                     condition: lg.BoundExpr | None, width: int, span: Span
                     ) -> tuple[lg.LogicalNode, lg.BoundExpr | None, int]:
    """A lookup by an expression of the stream's columns (``ON MOD(b.auction,
    10000) = s.key``, Nexmark q13): each such expression becomes a column
    computed before the join (a Calc under it, named after the table's key
    column, e.g. ``lookup_key``), and the condition compares that column. Returns
    the join's left input, its condition and the left input's new width
    (unchanged when the condition has no such equality)."""
    parts = lg.conjuncts(condition)
    exprs: list[lg.BoundExpr] = []
    names: list[str] = []
    taken = {f.name.lower() for f in left.schema + right.schema}
    for c in parts:
        if not (isinstance(c, lg.Call) and c.fn == "="):
            continue
        for side, other in ((c.args[0], c.args[1]), (c.args[1], c.args[0])):
            refs = lg.referenced(side)
            if (isinstance(other, lg.ColumnRef) and other.index >= width
                    and not isinstance(side, lg.ColumnRef) and refs and max(refs) < width
                    and lg.is_deterministic(side) and side not in exprs):
                exprs.append(side)
                name = base = f"lookup_{right.schema[other.index - width].name}"
                n = 1
                while name.lower() in taken:
                    name, n = f"{base}{n}", n + 1
                taken.add(name.lower())
                names.append(name)
    if not exprs:
        return left, condition, width
    added = len(exprs)
    shift = {i: (i if i < width else i + added) for i in range(width + len(right.schema))}

    def rewrite(expr: lg.BoundExpr) -> lg.BoundExpr:
        if expr in exprs:
            k = exprs.index(expr)
            return lg.ColumnRef(width + k, names[k], expr.type)
        if isinstance(expr, lg.ColumnRef):
            return lg.remap(expr, shift)
        if isinstance(expr, lg.Call):
            return replace(expr, args=tuple(rewrite(a) for a in expr.args))
        return expr

    passed = tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(left.schema))
    calc = lg.Project(left, passed + tuple(exprs), tuple(f.name for f in left.schema)
                      + tuple(names), span=span)
    new = lg.conjoin([rewrite(c) if isinstance(c, lg.Call) and c.fn == "=" else lg.remap(c, shift)
                      for c in parts])
    return calc, new, width + added


def _condition(binder: ExpressionBinder, rel: ast.Join, left: Scope, right: Scope,
               scope: Scope) -> lg.BoundExpr | None:
    """The bound USING or ON condition over the join's row (None for a CROSS JOIN)."""
    if rel.using:
        width = len(left.fields)
        parts = []
        for column in rel.using:
            name = column.name
            lf, rf = left.find(name, None), right.find(name, None)
            if not lf or not rf:
                fail(binder.diag, "BindError", f"USING column '{name}' is not on both sides",
                                  column.span)
            # USING (k) is ON l.k = r.k: comparable types, NULL-able where a side is
            lcol = lg.ColumnRef(lf[0].index, lf[0].ref_name, lf[0].type)
            rcol = binder.coerce_for_compare(lcol, lg.ColumnRef(
                rf[0].index + width, scope.fields[rf[0].index + width].ref_name, rf[0].type),
                column)
            nullable = lcol.type.nullable or rcol.type.nullable
            parts.append(lg.Call("=", (lcol, rcol), t.BOOLEAN.with_nullable(nullable)))
        return lg.conjoin(parts)
    if rel.on is not None:
        binder.no_aggregates(rel.on, "a join condition")
        bound = binder.expr(rel.on, scope, "a join condition")
        binder.require_boolean(bound, rel.on, "The join condition")
        return bound
    if rel.kind != "CROSS":
        fail(binder.diag, "BindError", f"{_join_keyword(rel, binder.diag.source)} needs an ON "
                          "condition", rel.span, hint="write CROSS JOIN for every pair of rows")
    return None


def _lookup_keys(diag: Diagnostics, rel: ast.Join, table_rel: ast.TableRef, table: SourceDef,
                 left: Scope, equi: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The equi keys a lookup join looks ``table`` up by: its whole primary key
    when it has one (other equalities are checked after the lookup)."""
    left_name = next((f.qualifier for f in left.fields if f.qualifier), "s")
    if rel.kind in ("RIGHT", "FULL"):
        fail(diag, 
            "UnsupportedError",
            f"{rel.kind} JOIN with lookup table '{table_rel.name}' (a lookup join keeps "
            "every stream row: use INNER or LEFT JOIN)",
            rel.span,
        )
    if table.connector in ("kafka", "upsert-kafka") and not table.primary_key:
        fail(diag, 
            "BindError",
            f"Kafka table '{table.name}' has no PRIMARY KEY: a lookup join reads a Kafka "
            "topic as a changelog, kept by key",
            table_rel.span,
            hint=f"declare the key in CREATE TABLE {table.name}, e.g. PRIMARY KEY (id) "
            "NOT ENFORCED",
        )
    right_keys = {r for _, r in equi}
    key_cols = [i for i, c in enumerate(table.columns) if c.name in table.primary_key]
    if not equi:
        key = (table.primary_key or (table.columns[0].name if table.columns else "id",))[0]
        fail(diag, 
            "BindError",
            f"a join with lookup table '{table.name}' needs an equality on its key, e.g. "
            # a comma join takes its condition from WHERE
            + ("WHERE" if rel.kind == "CROSS" else "ON")
            + f" {left_name}.{key} = {table_rel.alias or table.name}.{key}",
            rel.span,
            hint="the table's side of the equality is one of its columns; the stream's "
                 f"side may be an expression of its columns, e.g. MOD({left_name}."
                 f"{left.fields[0].name if left.fields else 'id'}, 10) = "
                 f"{table_rel.alias or table.name}.{key}",
        )
    if key_cols and not set(key_cols) <= right_keys:
        fail(diag, 
            "BindError",
            f"the join with lookup table '{table.name}' must use its whole primary key ("
            + ", ".join(table.primary_key) + ")",
            rel.span,
        )
    if key_cols:  # looked up by the primary key; other equalities are checked after
        equi = tuple(next(p for p in equi if p[1] == k) for k in key_cols)
    return equi


def _warn_unbounded_state(diag: Diagnostics, node: lg.Join, rel: ast.Join) -> None:
    """A regular join keeps the rows of an input without a 'state.ttl' for ever."""
    forever = [side for side, child in (("left", node.left), ("right", node.right))
               if lg.state_ttl_ms(child) is None]
    if node.interval is None and forever:
        which = "both inputs" if len(forever) == 2 else f"its {forever[0]} input"
        diag.warning(
            f"this join has no time bound: it keeps every row of {which} in state "
            "for ever (a regular join)",
            rel.span,
            hint="bound it in time, e.g. AND b.event_time BETWEEN a.event_time AND "
            "a.event_time + INTERVAL '1' HOUR, to make it an interval join whose state "
            "the watermark frees, or set 'state.ttl' (e.g. '1 h') on the streams",
        )


def _join_keyword(rel: ast.Join, source: Source) -> str:
    """The join as written (``JOIN``, ``LEFT OUTER JOIN``), for messages."""
    written = re.match(r"\s*((?:(?:INNER|LEFT|RIGHT|FULL|OUTER)\s+)*JOIN)\b",
                       source.fragment(rel.span), re.IGNORECASE)
    return " ".join(written.group(1).upper().split()) if written else f"{rel.kind} JOIN"


def _system_time(binder: ExpressionBinder, rel: ast.Join, table_rel: ast.TableRef, obj: object,
                 lookup: bool, left: Bound, right: Bound) -> tuple[int, int] | None:
    """``JOIN t FOR SYSTEM_TIME AS OF s.time``: a lookup join when the time is
    the stream's processing time or ``t`` a lookup store; Flink's event-time
    temporal join when ``t`` is a versioned table (a PRIMARY KEY and a
    WATERMARK) and the time is the stream's event-time attribute. Returns the
    temporal join's (left event time, right version time), or None."""
    assert table_rel.system_time is not None
    diag = binder.diag
    as_of = table_rel.system_time
    if not lookup:
        what = f"a {obj.kind.lower()}" if isinstance(obj, (SourceDef, ViewDef)) else "a query"
        fail(diag, 
            "BindError",
            f"FOR SYSTEM_TIME AS OF reads a lookup table (CREATE TABLE); '{table_rel.name}' is "
            f"{what}",
            table_rel.span,
            hint="join two streams with a time bound instead, e.g. ON ... AND b.event_time "
            "BETWEEN a.event_time AND a.event_time + INTERVAL '1' MINUTE",
        )
    time = binder.expr(as_of, left.scope, "FOR SYSTEM_TIME AS OF")
    written = diag.source.fragment(as_of.span)
    if time.type.time_attribute is None:
        fail(diag, 
            "BindError",
            "FOR SYSTEM_TIME AS OF takes a time attribute of the stream, but "
            f"'{written}' is {time.type.sql()}",
            as_of.span,
            hint="use the stream's event-time column (the one its WATERMARK is on) for the "
            "version valid at each row's time, or a processing-time column (proc_time AS "
            "PROCTIME()) for the current row",
        )
    if time.type.time_attribute != "ROWTIME":
        return None  # a processing-time lookup join: the current row
    assert isinstance(obj, SourceDef)
    if obj.watermark is None or obj.connector in LOOKUP_STORES:
        # a lookup store (PostgreSQL, Redis, a file) has only its current rows
        diag.warning(
            f"'{table_rel.name}' has no versions (no WATERMARK): the join reads its current "
            "row for each stream row, whatever the stream row's event time",
            as_of.span,
            hint="write FOR SYSTEM_TIME AS OF a processing-time column (proc_time AS "
            "PROCTIME()), as Flink requires for a lookup join",
        )
        return None
    # an event-time temporal join: the version valid at the stream row's time
    if not obj.primary_key:
        fail(diag, 
            "BindError",
            f"an event-time temporal join needs a versioned table, but '{obj.name}' has no "
            "PRIMARY KEY (the key its rows are versions of)",
            table_rel.span,
            hint=f"declare it in CREATE TABLE {obj.name}, e.g. PRIMARY KEY ("
            f"{obj.columns[0].name if obj.columns else 'id'}) NOT ENFORCED",
        )
    return _event_time_join(binder, rel, table_rel, obj.name, left, right)


def _changelog_versions(diag: Diagnostics, table: SourceDef, plan: lg.LogicalNode
                        ) -> lg.LogicalNode:
    """The versions of an event-time temporal join with a changelog table
    (upsert-kafka, a keyed Kafka topic, 'changelog.op-field'): its scan read
    as a stream of changes by its primary key, each upsert a version of its
    key from its time on, each delete (a tombstone) the end of the key's
    versions. Other tables' scans are returned unchanged."""
    if not table.is_changelog or not isinstance(plan, lg.Scan):
        return plan
    # (only Kafka and file connectors know 'changelog.op-field', the catalog checks)
    assert table.connector in ("kafka", "upsert-kafka", "file", "filesystem"), table.connector
    if "state.ttl" in table.properties:
        diag.warning(
            f"'state.ttl' of '{table.name}' does not apply here: an event-time temporal join "
            "frees its versions by the watermark (each key keeps the version valid at it)",
            table.property_spans.get("state.ttl", table.span),
            hint="remove 'state.ttl', or keep it for the lookup joins that read the table",
        )
    return replace(plan, changelog_key=table.primary_key,
                   op_field=table.properties.get("changelog.op-field"))


def _event_time_join(binder: ExpressionBinder, rel: ast.Join, table_rel: ast.TableRef,
                     name: str, left: Bound, right: Bound) -> tuple[int, int]:
    """Flink's event-time temporal join with the versioned table (or view)
    ``name``: INNER or LEFT, AS OF the stream's event-time attribute, the
    versions' time their one event-time attribute. Returns (left event time,
    right version time)."""
    assert table_rel.system_time is not None
    diag = binder.diag
    as_of = table_rel.system_time
    time = binder.expr(as_of, left.scope, "FOR SYSTEM_TIME AS OF")
    written = diag.source.fragment(as_of.span)
    if rel.kind not in ("INNER", "LEFT"):
        fail(diag, 
            "UnsupportedError",
            f"{_join_keyword(rel, diag.source)} with versioned table '{name}': an "
            "event-time temporal join is INNER or LEFT (as in Flink)",
            rel.span,
            hint="write JOIN or LEFT JOIN: each stream row joins the version valid at its time",
        )
    rowtimes = [f.index for f in left.scope.fields if f.type.time_attribute == "ROWTIME"]
    if not isinstance(time, lg.ColumnRef) or time.index not in rowtimes:
        fail(diag, 
            "BindError",
            f"FOR SYSTEM_TIME AS OF '{written}': an event-time temporal join is AS OF the "
            "stream's event-time attribute",
            as_of.span,
            hint="write AS OF the stream's column its WATERMARK is on, e.g. "
            + (f"AS OF {left.scope.fields[rowtimes[0]].qualifier or 's'}."
               f"{left.scope.fields[rowtimes[0]].name}" if rowtimes else "AS OF o.order_time"),
        )
    versions = [i for i, f in enumerate(right.plan.schema) if f.type.time_attribute == "ROWTIME"]
    if len(versions) != 1:
        fail(diag, 
            "UnsupportedError",
            f"versioned table '{name}' has no single event-time attribute for its "
            "versions' time",
            table_rel.span,
        )
    return time.index, versions[0]


def _versioned_keys(diag: Diagnostics, rel: ast.Join, table_rel: ast.TableRef, name: str,
                    key_names: tuple[str, ...], key_cols: tuple[int, ...], left: Scope,
                    equi: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The keys of an event-time temporal join: the versioned table's whole
    primary key (``key_cols`` of the right input; a versioned view's PARTITION
    BY), each compared with a column of the stream (Flink requires it; other
    equalities are checked on the version found)."""
    found = {ri for _, ri in equi}
    if not key_cols or not set(key_cols) <= found:
        alias = table_rel.alias or name
        stream = next((f.qualifier for f in left.fields if f.qualifier), "s")
        fail(diag, 
            "BindError",
            f"an event-time temporal join with '{name}' needs an equality on its whole "
            "primary key (" + ", ".join(key_names) + ") in ON, e.g. ON "
            + " AND ".join(f"{stream}.{k} = {alias}.{k}" for k in key_names),
            rel.span,
            hint="each stream row joins the version of the key it names",
        )
    return tuple(next(p for p in equi if p[1] == k) for k in key_cols)


def _no_changelog_history(diag: Diagnostics, catalog: Catalog, table_rel: ast.TableRef,
                          view: ViewDef, plan: lg.LogicalNode) -> None:
    """A versioned view reads an append-only history: one over a table read as
    a changelog (its rows upserts and deletes of their key, not versions) is
    refused; the table itself is the versioned table."""
    stack = [plan]
    while stack:
        node = stack.pop()
        stack.extend(node.inputs())
        table = catalog.get(node.source) if isinstance(node, lg.Scan) else None
        if isinstance(table, SourceDef) and table.is_changelog:
            fail(diag, "UnsupportedError",
                 f"an event-time temporal join with view '{view.name}' over '{table.name}', a "
                 f"table read as a changelog (connector '{table.connector}'), does not run: "
                 "its rows are upserts and deletes of their key, not an append-only history",
                 table_rel.span,
                 hint=f"join '{table.name}' itself FOR SYSTEM_TIME AS OF: with its PRIMARY KEY "
                      "and WATERMARK it is a versioned table")


def _versioned_view(diag: Diagnostics, table_rel: ast.TableRef, view: ViewDef,
                    plan: lg.LogicalNode) -> tuple[lg.LogicalNode, tuple[int, ...]]:
    """A versioned view (Flink's "Versioned Tables"): the last row per key of an
    append-only history, ``SELECT ... FROM (SELECT *, ROW_NUMBER() OVER
    (PARTITION BY k ORDER BY rowtime DESC) AS rn FROM history) WHERE rn = 1``.
    Its primary key is the PARTITION BY, its versions' time the ORDER BY: each
    row of the history is a version of its key, so the temporal join reads the
    history itself (the view's plan with the ROW_NUMBER filter taken out, rn
    the constant 1) and keeps the version valid at each stream row's time.
    Returns that plan (the view's schema) and the key columns in it; anything
    else is refused."""
    found = _history(plan)
    if found is not None:
        history, roles = found
        columns = {i: r for i, r in roles.items() if isinstance(i, int)}
        keys = sorted((r, i) for i, r in columns.items() if isinstance(r, int))
        times = [i for i, r in columns.items() if r == "time"]
        if (roles.get("filtered") and times and len({r for r, _ in keys}) == roles["partitions"][0]
                and history.schema[times[0]].type.time_attribute == "ROWTIME"):
            first = {r: i for r, i in reversed(keys)}  # a key column kept twice: the first
            return history, tuple(first[r] for r in sorted(first))
    fail(diag, 
        "UnsupportedError",
        f"an event-time temporal join with view '{view.name}': only a versioned view joins "
        "AS OF an event time, the last row per key of an append-only stream, with its key and "
        "event time among its columns",
        table_rel.span,
        hint="define it as Flink does: SELECT ... FROM (SELECT *, ROW_NUMBER() OVER (PARTITION "
        "BY key ORDER BY event_time DESC) AS rn FROM history) WHERE rn = 1",
    )


# the roles of a column on the way up from the dedup: its position in the
# PARTITION BY (an int), "time" (the ORDER BY), "rn" (the row number); and
# under the key "filtered" whether ``rn = 1`` was passed, under "partitions"
# the PARTITION BY's length (as a 1-tuple)
_Roles = dict


def _history(node: lg.LogicalNode) -> tuple[lg.LogicalNode, _Roles] | None:
    """``node`` (Projects over ``rn = 1`` over Projects over the ROW_NUMBER Over)
    with the Over and its filter replaced by the Over's input and a constant
    rn, and each output column's role; None for any other shape."""
    if isinstance(node, lg.Over):
        if len(node.calls) != 1 or lg.changelog(node.input) != "I":
            return None
        call = node.calls[0]
        if (call.fn != "ROW_NUMBER" or not call.partition_by or len(call.order_by) != 1
                or not all(isinstance(p, lg.ColumnRef) for p in call.partition_by)):
            return None
        order = call.order_by[0]
        if (not order.descending or not isinstance(order.expr, lg.ColumnRef)
                or order.expr.type.time_attribute != "ROWTIME"):
            return None
        width = len(node.input.schema)
        history = lg.Project(
            node.input,
            tuple(lg.ColumnRef(i, f.name, f.type) for i, f in enumerate(node.input.schema))
            + (lg.Const(1, call.type),),
            tuple(f.name for f in node.input.schema) + (node.names[0],),
            span=node.span,
        )
        roles: _Roles = {order.expr.index: "time", width: "rn",
                         "partitions": (len(call.partition_by),)}
        for pos, p in enumerate(call.partition_by):
            assert isinstance(p, lg.ColumnRef)
            if p.index in roles:
                return None
            roles[p.index] = pos
        return history, roles
    if isinstance(node, lg.Project):
        found = _history(node.input)
        if found is None:
            return None
        below, roles = found
        rn = next((i for i, r in roles.items() if r == "rn"), None)
        out: _Roles = {k: v for k, v in roles.items() if isinstance(k, str)}
        for i, e in enumerate(node.exprs):
            if isinstance(e, lg.ColumnRef) and e.index in roles:
                out[i] = roles[e.index]
            elif rn is not None and rn in lg.referenced(e):
                return None  # a value computed from the row number
        return replace(node, input=below), out
    if isinstance(node, lg.Filter):
        found = _history(node.input)
        if found is None:
            return None
        below, roles = found
        rn = next((i for i, r in roles.items() if r == "rn"), None)
        pred = node.predicate
        if roles.get("filtered") or rn is None or not (
                isinstance(pred, lg.Call) and pred.fn == "=" and len(pred.args) == 2
                and {type(a) for a in pred.args} == {lg.ColumnRef, lg.Const}):
            return None  # a filter after the dedup drops versions, not history rows
        col = next(a for a in pred.args if isinstance(a, lg.ColumnRef))
        const = next(a for a in pred.args if isinstance(a, lg.Const))
        if col.index != rn or type(const.value) is not int or const.value != 1:
            return None
        return below, {**roles, "filtered": True}
    return None


def time_bounds_into_join(diag: Diagnostics, bound: Bound, predicate: lg.BoundExpr,
                          where: ast.Expr) -> tuple[Bound, lg.BoundExpr | None]:
    """A time bound between the two sides of a join written in WHERE (spec
    FR-JOIN-002, Query 7) makes it an interval join, as Flink's planner does.
    On an outer join such a WHERE also drops the NULL-padded rows, so the
    join is inner; the user is warned, since that is rarely what they meant."""
    join = bound.plan
    if (not isinstance(join, lg.Join) or join.interval is not None or join.lookup
            or join.temporal is not None):
        return bound, predicate
    width = len(join.left.schema)
    rowtimes = rowtime_columns(join)
    parts = lg.conjuncts(predicate)
    timing = [c for c in parts
              if interval_bounds(c, width, rowtimes) is not None
              or is_half_bound(c, width, rowtimes)]
    combined = lg.conjoin(([join.condition] if join.condition is not None else []) + timing)
    interval = interval_bounds(combined, width, rowtimes)
    if interval is None:
        return bound, predicate
    kind = join.kind
    if kind != "INNER":
        diag.warning(
            f"this WHERE condition discards the NULL-padded rows of the {kind} JOIN, so "
            "it runs as an INNER interval join",
            where.span,
            hint="move the time bound into the ON clause to keep unmatched rows",
        )
        kind = "INNER"
    new_join = replace(join, kind=kind, condition=combined, interval=interval)
    rest = [c for c in parts if c not in timing]
    out = Scope.of(new_join.schema, None)
    scope = Scope([replace(f, type=o.type) for f, o in zip(bound.scope.fields, out.fields)])
    return Bound(new_join, scope, bound.window), lg.conjoin(rest)


# ------------------------------------------------------------------ comma joins


def comma_spine(rel: ast.Relation) -> list[ast.Join]:
    """The joins of a FROM item's left spine (``FROM a, b, c`` is
    ``(a CROSS b) CROSS c``), bottom first, down to the first join whose left
    side an outer join pads with NULLs (RIGHT, FULL) or that is no join; empty
    when none of them is a comma or CROSS join."""
    spine: list[ast.Join] = []
    node = rel
    while isinstance(node, ast.Join) and node.kind in ("INNER", "CROSS", "LEFT"):
        spine.append(node)
        node = node.left
    if not any(j.kind == "CROSS" for j in spine) or any(
            isinstance(j.right, ast.Unnest) for j in spine):
        return []  # an UNNEST reads its left side's row: it is no comma join
    return spine[::-1]


def where_into_comma_joins(spine: list[ast.Join], scopes: list[Scope], where: ast.Expr
                           ) -> tuple[list[ast.Join], ast.Expr | None]:
    """``FROM o, s WHERE o.id = s.order_id AND o.t BETWEEN s.t - ... AND s.t``
    is ``FROM o JOIN s ON o.id = s.order_id AND o.t BETWEEN ...``, as in Flink's
    planner: each conjunct of WHERE that reads two of the spine's relations
    becomes part of the ON condition of the comma (or CROSS, or INNER) join
    where its last relation enters, so that the join is planned exactly as
    written with ON (lookup keys, interval bounds, equi keys). ``scopes`` are
    the spine's relations in order (the leftmost first). Conjuncts of one
    relation, with a subquery, an aggregate or a name that is unknown or
    ambiguous stay in WHERE (which reports what is wrong with them). Returns
    the spine's joins rewritten and what is left of WHERE."""
    full = scopes[0]
    starts = [0]
    for scope in scopes[1:]:
        starts.append(len(full.fields))
        full = full.concat(scope)

    def relation_of(index: int) -> int:
        return max(i for i, start in enumerate(starts) if start <= index)

    moved: dict[int, list[ast.Expr]] = {}
    rest: list[ast.Expr] = []
    for part in ast_conjuncts(where):
        which = _relations_read(part, full, relation_of)
        target = max(which) if which and len(which) >= 2 else None
        join = spine[target - 1] if target is not None else None
        if join is None or join.kind not in ("CROSS", "INNER") or join.using:
            rest.append(part)
            continue
        moved.setdefault(target, []).append(part)  # type: ignore[arg-type]
    rewritten = []
    for k, join in enumerate(spine, 1):
        parts = moved.get(k)
        if parts:
            on = ast_conjoin(([join.on] if join.on is not None else []) + parts)
            join = replace(join, kind="INNER", on=on)
        rewritten.append(join)
    return rewritten, (ast_conjoin(rest) if rest else None)


def _relations_read(expr: ast.Expr, scope: Scope, relation_of) -> set[int] | None:
    """The spine relations whose columns ``expr`` reads; None when it cannot
    move into a join (a subquery, an aggregate, an OVER call, a name that
    resolves to no column or to several)."""
    found: set[int] = set()
    for node in iter_ast(expr, into_subqueries=True):
        if isinstance(node, ast.ScalarSubquery) or (
                isinstance(node, ast.Call) and (node.over is not None
                                                or node.name in functions.AGGREGATES)):
            return None
        if isinstance(node, ast.Column):
            fields = scope.find(node.name, node.table)
            if len(fields) != 1:
                return None
            found.add(relation_of(fields[0].index))
    return found


def ast_conjuncts(expr: ast.Expr) -> list[ast.Expr]:
    if isinstance(expr, ast.Binary) and expr.op == "AND":
        return ast_conjuncts(expr.left) + ast_conjuncts(expr.right)
    return [expr]


def ast_conjoin(parts: list[ast.Expr]) -> ast.Expr:
    out = parts[0]
    for part in parts[1:]:
        out = ast.Binary("AND", out, part, span=Span(out.span.start, part.span.end))
    return out

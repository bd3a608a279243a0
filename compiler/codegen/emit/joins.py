"""Joins: interval joins (IntervalJoin, bounded in event time), regular joins
(Join, every row kept or for 'state.ttl'), event-time temporal joins
(TemporalJoin, a stream with the versions of a versioned table, fired by the
watermark) and lookup joins (LookupJoin against a table opened in
``__init__``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from compiler import logical as lg
from compiler.codegen.emit.base import (
    KINDS_NOTE,
    Emitter,
    over_aggregation_problem,
    over_updating_problem,
    source_below,
    with_note,
)
from compiler.codegen.expressions import ExprEmitter
from compiler.codegen.text import comment, docstring_safe, field_call, identifier
from compiler.errors import Diagnostic
from compiler.physical import Exec, IntervalJoinExec, JoinExec, TemporalJoinExec

if TYPE_CHECKING:
    from compiler.codegen.generator import Generator


def _key_problems(e: IntervalJoinExec | JoinExec | TemporalJoinExec) -> list[Diagnostic]:
    node = e.logical
    found = []
    if not node.equi_keys:
        found.append(Diagnostic(
            "UnsupportedError", "an interval join needs an equality between the "
            "two sides (ON a.k = b.k)", e.span))
    for li, ri in node.equi_keys:
        if node.left.schema[li].type.storage != node.right.schema[ri].type.storage:
            found.append(Diagnostic(
                "UnsupportedError", "join keys of different types "
                f"({node.left.schema[li].type.sql()} and "
                f"{node.right.schema[ri].type.sql()}) do not run yet; CAST one "
                "side", e.span))
    return found


def interval_join_problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, IntervalJoinExec)
    return over_updating_problem(e) + _key_problems(e) + over_aggregation_problem(e)


def join_problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, JoinExec)
    return _key_problems(e)


def lookup_join_problems(e: Exec) -> list[Diagnostic]:
    table = e.inputs[1].logical
    if not isinstance(table, lg.Scan) or table.computed or table.metadata:
        return [Diagnostic(
            "UnsupportedError", "a lookup table with computed or metadata "
            "columns does not run yet", e.span)]
    return []


# -- interval and regular joins -------------------------------------------------


def declare_join(g: Generator, e: Exec) -> None:
    """An IntervalJoin, or a regular Join: the same shape without time."""
    m = g.m
    node = e.logical
    assert isinstance(node, lg.Join)
    regular = node.interval is None
    name, lines = _declaration_start(g, e, "Join" if regular else "IntervalJoin")
    if not regular:
        lower, upper = node.interval[2:]  # type: ignore[index]
        lines += [f"    lower_ms={lower},", f"    upper_ms={upper},"]
    lines += _columns_and_residual(g, name, node)
    if regular and lg.changelog(node) == "I":
        lines.append("    insert_only=True,  # an INNER join of insert-only inputs")
    ttl = (lg.state_ttl_ms(node.left), lg.state_ttl_ms(node.right)) if regular else (None, None)
    if ttl != (None, None):
        lines.append(f"    state_ttl_ms={ttl!r},  # (left, right): the streams' 'state.ttl'")
    lines.append(")")
    if not regular:
        _keep_watermarks(g)
    m.state.extend(lines)
    g.stateful_operator(e, name, f"Rows emitted by {e.name} {name}.")


def _declaration_start(g: Generator, e: Exec, cls: str) -> tuple[str, list[str]]:
    """A join's name, and the first lines of its constructor: kind and key kinds."""
    node = e.logical
    assert isinstance(node, lg.Join)
    name = g.name_of(e)
    g.m.span_entry(name, e.span)
    key_kinds = [node.left.schema[li].type.storage for li, _ in node.equi_keys]
    return name, [
        f"# {e.name} ({g.m.where(e.span)}): {comment(e.state)}",
        f"self.{name} = {cls}(",
        f"    kind={node.kind!r},",
        f"    {KINDS_NOTE}",
        with_note(f"    key_kinds={key_kinds!r},", _key_pairs(node)),
    ]


def _columns_and_residual(g: Generator, name: str, node: lg.Join) -> list[str]:
    """The constructor's names and storage kinds of both sides' columns, and the
    residual condition's function if the ON has more than the key equalities."""
    width = len(node.left.schema)
    lines = [
        f"    left_names={[f.name for f in node.schema[:width]]!r},",
        f"    right_names={[f.name for f in node.schema[width:]]!r},",
        with_note(f"    left_kinds={[f.type.storage for f in node.left.schema]!r},",
                  "one per left name"),
        with_note(f"    right_kinds={[f.type.storage for f in node.right.schema]!r},",
                  "one per right name"),
    ]
    residual_fn = _residual_function(g, name, node)
    if residual_fn:
        lines.append(f"    residual={residual_fn},")
    return lines


def _keep_watermarks(g: Generator) -> None:
    """The latest watermark per source, which a watermark-fired join reads."""
    if not any(line.startswith("self.watermarks") for line in g.m.state):
        g.m.state.append("self.watermarks: dict[str, int] = {}  # the latest, per source")


def _side_keys(e: Exec, child: Exec, var: str) -> tuple[int, str]:
    """Which side ``child`` is (0 left, 1 right), and its key columns as code."""
    node = e.logical
    assert isinstance(node, lg.Join)
    side = 0 if e.inputs[0] is child else 1
    schema = child.schema
    emitter = ExprEmitter(schema, var)
    keys = ", ".join(emitter.column(lg.ColumnRef(pair[side], schema[pair[side]].name,
                                                 schema[pair[side]].type))
                     for pair in node.equi_keys)
    return side, keys


def _key_pairs(join: lg.Join) -> str:
    """The key equalities as the join's output names them: ``request_id = f_request_id``."""
    width = len(join.left.schema)
    return ", ".join(f"{join.schema[li].name} = {join.schema[ri + width].name}"
                     for li, ri in join.equi_keys)


def push_join(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    node = e.logical
    assert isinstance(node, lg.Join)
    name = g.name_of(e)
    schema = child.schema
    side, keys = _side_keys(e, child, var)
    which = ("left", "right")[side]
    if node.interval is None:
        return [
            f"{indent}# {e.name} ({g.m.where(e.span)}): the {which} side",
            f"{indent}self.on_{name}(self.{name}.process_{which}([{keys}], {var}))",
        ]
    time_index = node.interval[side]
    other_wm = g.watermark_of(e.inputs[1 - side], latest=True)
    return [
        f"{indent}# {e.name} ({g.m.where(e.span)}): the {which} side",
        f"{indent}joined, late = self.{name}.process_{which}(",
        f"{indent}    [{keys}],",
        f"{indent}    {var}[{schema[time_index].name!r}].values,",
        f"{indent}    {var},",
        f"{indent}    # the join's watermark is the lower of its two inputs'",
        f"{indent}    watermark_before=np.minimum({var}.row_watermarks(), {other_wm}),",
        f"{indent})",
        (f"{indent}self.late({name!r}, {var}.take(late), \"it came behind the join's "
         "watermark: joined with the rows still buffered only\", dropped=False)"),
        f"{indent}self.on_{name}(joined)",
    ]


# -- event-time temporal joins ----------------------------------------------------


def changelog_versions(join: lg.Join) -> bool:
    """Whether the temporal join's versions are a changelog table's changes
    (upserts and tombstones by key), not an append-only stream of versions."""
    node = join.right
    while not isinstance(node, lg.Scan) and len(node.inputs()) == 1:
        node = node.inputs()[0]
    return isinstance(node, lg.Scan) and bool(node.changelog_key)


def temporal_join_problems(e: Exec) -> list[Diagnostic]:
    assert isinstance(e, TemporalJoinExec)
    node = e.logical
    assert isinstance(node, lg.Join)
    if changelog_versions(node) and lg.changelog(e.inputs[0].logical) == "I":
        return _key_problems(e)  # the versions' changes are what the join reads
    return over_updating_problem(e) + _key_problems(e)


def declare_temporal_join(g: Generator, e: Exec) -> None:
    """A TemporalJoin: the stream's rows (left) wait for the watermark, the
    versioned table's rows (right) are its versions, by key and time."""
    node = e.logical
    assert isinstance(node, lg.Join) and node.temporal is not None
    name, lines = _declaration_start(g, e, "TemporalJoin")
    lines += _columns_and_residual(g, name, node)
    if node.latest_only:
        lines.append(with_note("    latest_only=True,", "a versioned view: each key's latest row"))
    if changelog_versions(node):
        lines.append(with_note("    changelog=True,", "versions from a changelog: upserts, tombstones"))
    lines.append(")")
    _keep_watermarks(g)
    g.m.state.extend(lines)
    g.stateful_operator(e, name, f"Rows emitted by {e.name} {name}.")


def push_temporal_join(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    node = e.logical
    assert isinstance(node, lg.Join) and node.temporal is not None
    name = g.name_of(e)
    schema = child.schema
    side, keys = _side_keys(e, child, var)
    time = schema[node.temporal[side]].name
    if side == 1 and changelog_versions(node):
        return [
            f"{indent}# {e.name} ({g.m.where(e.span)}): changes, by key and {comment(time)}; a",
            f"{indent}# tombstone without its own {comment(time)} takes its key's previous row's",
            f"{indent}self.{name}.process_right([{keys}], {var}[{time!r}], {var})",
        ]
    if side == 1:
        return [
            f"{indent}# {e.name} ({g.m.where(e.span)}): versions, by key and {comment(time)}",
            f"{indent}self.{name}.process_right([{keys}], {var}[{time!r}].values, {var})",
        ]
    other_wm = g.watermark_of(e.inputs[1], latest=True)
    return [
        (f"{indent}# {e.name} ({g.m.where(e.span)}): stream rows, held until the watermark "
         f"passes {comment(time)}"),
        f"{indent}joined, late = self.{name}.process_left(",
        f"{indent}    [{keys}],",
        f"{indent}    {var}[{time!r}].values,",
        f"{indent}    {var},",
        f"{indent}    # the join's watermark is the lower of its two inputs'",
        f"{indent}    watermark_before=np.minimum({var}.row_watermarks(), {other_wm}),",
        f"{indent})",
        (f"{indent}self.late({name!r}, {var}.take(late), \"it came behind the join's "
         "watermark\")"),
        f"{indent}self.on_{name}(joined)",
    ]


# -- lookup joins ---------------------------------------------------------------


def _lookup_key_order(join: lg.Join) -> list[int]:
    """The table's key columns (positions in its schema) in primary-key order,
    or in the ON clause's order when the table declares no key."""
    return [ri for _, ri in join.equi_keys]


def _lookup_keys(join: lg.Join, stream_schema: lg.Schema) -> list[lg.BoundExpr]:
    order = _lookup_key_order(join)
    pairs = sorted(join.equi_keys, key=lambda p: order.index(p[1]))
    return [lg.ColumnRef(li, stream_schema[li].name, stream_schema[li].type) for li, _ in pairs]


def declare_lookup_join(g: Generator, e: Exec) -> None:
    m = g.m
    node = e.logical
    assert isinstance(node, lg.Join)
    name = g.name_of(e)
    m.span_entry(name, e.span)
    table = e.inputs[1].logical
    assert isinstance(table, lg.Scan)
    width = len(node.left.schema)
    table_attr = m.unique(identifier(table.source))
    m.tables.append(repr(table.source))
    fields = ", ".join(field_call(f) for f in table.schema)
    key = tuple(table.schema[ri].name for ri in _lookup_key_order(node))
    residual_fn = _residual_function(g, name, node)
    key_kinds = [node.left.schema[li].type.storage for li, _ in
                 sorted(node.equi_keys, key=lambda p: _lookup_key_order(node).index(p[1]))]
    lines = [
        f"# {e.name} ({m.where(e.span)}): the table {comment(table.source)}, {comment(e.state)}",
        f"self.{table_attr} = open_lookup_table(",
        f"    {table.source!r},",
        f"    fields=({fields},),",
        f"    key={key!r},",
        f"    properties={dict(table.properties)!r},",
        f"    path=ctx.inputs.get({table.source!r}),",
        ")",
        f"self.{name} = LookupJoin(",
        f"    kind={node.kind!r},",
        f"    table=self.{table_attr},",
        f"    {KINDS_NOTE}",
        with_note(f"    key_kinds={key_kinds!r},", ", ".join(
            node.left.schema[li].name for li, _ in sorted(
                node.equi_keys, key=lambda p: _lookup_key_order(node).index(p[1])))),
        f"    table_names={[f.name for f in node.schema[width:]]!r},",
    ]
    if residual_fn:
        lines.append(f"    residual={residual_fn},")
    lines.append(")")
    m.state.extend(lines)
    g.stateful_operator(e, name, f"Rows emitted by {e.name} {name}.")


def push_lookup_join(g: Generator, e: Exec, child: Exec, var: str, indent: str) -> list[str]:
    name = g.name_of(e)
    node = e.logical
    assert isinstance(node, lg.Join)
    emitter = ExprEmitter(child.schema, var)
    keys = ", ".join(emitter.column(k) for k in _lookup_keys(node, child.schema))
    return [
        (f"{indent}# {e.name} ({g.m.where(e.span)}): {node.kind} JOIN "
         f"{comment(e.inputs[1].logical.source)}"),  # type: ignore[union-attr]
        f"{indent}self.on_{name}(self.{name}.process([{keys}], {var}))",
    ]


# -- the ON condition -----------------------------------------------------------


def _residual(join: lg.Join) -> lg.BoundExpr | None:
    """The ON condition without the key equalities and the time bounds, which the
    join operator evaluates itself."""
    if join.condition is None:
        return None
    width = len(join.left.schema)
    keys = {(li, ri + width) for li, ri in join.equi_keys}
    lt, rt = (join.interval[0], join.interval[1] + width) if join.interval else (-1, -1)
    rest = []
    for c in lg.conjuncts(join.condition):
        refs = lg.referenced(c)
        if isinstance(c, lg.Call) and c.fn == "=" and len(c.args) == 2 and all(
                isinstance(a, lg.ColumnRef) for a in c.args):
            pair = tuple(sorted(a.index for a in c.args))  # type: ignore[union-attr]
            if pair in keys:
                continue
        if refs and refs <= {lt, rt} and len(refs) == 2:
            continue  # a time bound
        rest.append(c)
    return lg.conjoin(rest)


def _residual_function(g: Generator, name: str, join: lg.Join) -> str | None:
    """The function of the rest of the ON condition over joined rows, if any rest."""
    residual = _residual(join)
    if residual is None:
        return None
    fn = g.m.unique(f"residual_{name}")
    g.m.functions.append(
        f"def {fn}(batch: Batch):\n"
        f'    """The rest of the ON condition: '
        f'{docstring_safe(comment(lg.expr_sql(residual)))}"""\n'
        f"    return {ExprEmitter(join.schema).mask(residual)}"
    )
    return fn


def _named_after_right(base: str) -> Callable[[Generator, Exec], str]:
    """A join is named after the stream or table it brings in (its right side):
    ``interval_join_error_events``, ``lookup_join_model_configs``."""

    def naming(g: Generator, e: Exec) -> str:
        source = source_below(e.inputs[1])
        return f"{base}_{identifier(source)}" if source is not None else base

    return naming


INTERVAL_JOIN = Emitter("interval_join", push=push_join, declare=declare_join,
                        problems=interval_join_problems, fires=True,
                        naming=_named_after_right("interval_join"))
JOIN = Emitter("join", push=push_join, declare=declare_join, problems=join_problems,
               naming=_named_after_right("join"))
TEMPORAL_JOIN = Emitter("temporal_join", push=push_temporal_join, declare=declare_temporal_join,
                        problems=temporal_join_problems, fires=True,
                        naming=_named_after_right("temporal_join"))
LOOKUP_JOIN = Emitter("lookup_join", push=push_lookup_join, declare=declare_lookup_join,
                      problems=lookup_join_problems, naming=_named_after_right("lookup_join"))

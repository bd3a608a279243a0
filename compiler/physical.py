"""Physical plan: streaming operators, each stating its state and time behaviour.

``plan_physical`` maps the optimized logical plan one node at a time, fusing a
window TVF into the window aggregate that consumes it (Flink's window-aggregate
fusion). Every operator says what it keeps (``state``), what makes it emit
(``fires``) and its changelog; EXPLAIN prints all three.

Each operator is its own class (``SourceExec``, ``WindowAggregateExec``, ...)
over a small shared base; code that treats operators differently (EXPLAIN,
codegen) dispatches on the class, and EXPLAIN names an operator by its class.
"""

from __future__ import annotations

from dataclasses import field
from typing import ClassVar

from compiler import logical as lg
from compiler.errors import NO_SPAN, Span
from compiler.explain import format_ms, logical_attrs, window_text
from compiler.frozen import frozen_dataclass


@frozen_dataclass
class Exec:
    """One physical operator over the logical node it implements."""

    logical: lg.LogicalNode
    inputs: tuple[Exec, ...] = ()
    state: str = ""
    fires: str = ""
    span: Span = field(default=NO_SPAN, compare=False)

    # the logical nodes the operator implements: any other is refused when built
    implements: ClassVar[tuple[type, ...]] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.logical, self.implements):
            raise TypeError(f"{self.name} cannot implement {type(self.logical).__name__}")

    @property
    def name(self) -> str:
        """The operator's name in EXPLAIN and in generated comments: its class's."""
        return type(self).__name__

    @property
    def schema(self) -> lg.Schema:
        return self.logical.schema

    @property
    def changelog(self) -> str:
        return lg.changelog(self.logical)


@frozen_dataclass
class SourceExec(Exec):
    """Reads a stream (or the rows of a lookup table) and tracks its watermark."""

    logical: lg.Scan
    implements = (lg.Scan,)


@frozen_dataclass
class CalcExec(Exec):
    """A filter and a projection fused: stateless, vectorized over a batch."""

    logical: lg.Calc | lg.Filter | lg.Project
    implements = (lg.Calc, lg.Filter, lg.Project)


@frozen_dataclass
class WindowAggregateExec(Exec):
    """A GROUP BY over a window TVF, fused with it; fires on the watermark."""

    logical: lg.Aggregate
    implements = (lg.Aggregate,)


@frozen_dataclass
class GroupAggregateExec(Exec):
    """A GROUP BY without a window: an updating result."""

    logical: lg.Aggregate
    implements = (lg.Aggregate,)


@frozen_dataclass
class IntervalJoinExec(Exec):
    """A join of two streams with an event-time bound between their rows."""

    logical: lg.Join
    implements = (lg.Join,)


@frozen_dataclass
class TemporalJoinExec(Exec):
    """Flink's event-time temporal join: each stream row (the left input) is
    held until the watermark passes its time, then joined with the version of
    the versioned table (the right input) valid at that time."""

    logical: lg.Join
    implements = (lg.Join,)


@frozen_dataclass
class JoinExec(Exec):
    """A regular join of two streams: rows kept for ever, or for 'state.ttl'."""

    logical: lg.Join
    implements = (lg.Join,)


@frozen_dataclass
class LookupJoinExec(Exec):
    """A stream joined with a lookup table (its second input)."""

    logical: lg.Join
    implements = (lg.Join,)


@frozen_dataclass
class TemporalSortExec(Exec):
    """ORDER BY a time attribute: rows held until the watermark passes them."""

    logical: lg.Sort
    implements = (lg.Sort,)


@frozen_dataclass
class SinkExec(Exec):
    """Where the result goes: the command line's output, or a catalog sink."""

    logical: lg.Sink
    implements = (lg.Sink,)


@frozen_dataclass
class OverAggregateExec(Exec):
    """OVER aggregates sharing PARTITION BY and ORDER BY: each row, once the
    watermark passes it, with an aggregate over its frame."""

    logical: lg.Over
    implements = (lg.Over,)


# -- operators that compile and EXPLAIN but do not run yet ------------------------


@frozen_dataclass
class RankExec(Exec):
    """Top-N per partition (ROW_NUMBER() OVER ... <= n): an updating result."""

    logical: lg.TopN
    implements = (lg.TopN,)


@frozen_dataclass
class WindowRankExec(Exec):
    """Top-N per window: the rows of each window, ranked once it is complete."""

    logical: lg.TopN
    implements = (lg.TopN,)


@frozen_dataclass
class DeduplicateExec(Exec):
    """ROW_NUMBER() = 1 per key by event time: the first row (once the
    watermark passes it, insert-only) or the last (an updating result)."""

    logical: lg.TopN
    implements = (lg.TopN,)


@frozen_dataclass
class MatchExec(Exec):
    """MATCH_RECOGNIZE: a pattern over the rows of each partition."""

    logical: lg.Match
    implements = (lg.Match,)


@frozen_dataclass
class CorrelateExec(Exec):
    """UNNEST: each row once per element of an ARRAY or entry of a MAP (Flink's
    Correlate); stateless."""

    logical: lg.Unnest
    implements = (lg.Unnest,)


@frozen_dataclass
class UnionExec(Exec):
    """UNION ALL of its inputs."""

    logical: lg.Union
    implements = (lg.Union,)


@frozen_dataclass
class LimitExec(Exec):
    """LIMIT n on an append-only stream: the first n rows that arrive, then none."""

    logical: lg.Limit
    implements = (lg.Limit,)


@frozen_dataclass
class WindowTableFunctionExec(Exec):
    """A window TVF that no aggregation consumes: assigns each row its windows."""

    logical: lg.WindowTVF
    implements = (lg.WindowTVF,)


@frozen_dataclass
class SessionWindowRowsExec(Exec):
    """A SESSION window TVF that no aggregation consumes: rows held in their
    sessions until the watermark closes them, then given their bounds."""

    logical: lg.WindowTVF
    implements = (lg.WindowTVF,)


def _lookup_state(table: lg.LogicalNode) -> str:
    """What a lookup join keeps of its table: a cache of an external store, or
    the whole table when it is fed by its changes (a Kafka topic, a file of
    changes)."""
    props = dict(table.properties) if isinstance(table, lg.Scan) else {}
    if props.get("connector") in ("kafka", "upsert-kafka") or "changelog.op-field" in props:
        ttl = props.get("state.ttl")
        return ("table rows by key, kept from its changes"
                + (f", each dropped {ttl} after its last change" if ttl else ""))
    return "LRU cache of table rows by key"


def _frame_text(call: lg.OverCall) -> str:
    """What of a partition one OVER call keeps."""
    frame = call.frame
    if call.fn == "LEAD":
        assert frame is not None and frame.start is not None
        return f"each row until {frame.start} later rows are released"
    if frame is None or frame.start is None:
        return "running values"
    if frame.unit == "ROWS":
        return f"the last {frame.start + 1} rows"
    return f"the rows of the last {format_ms(frame.start)}"


def _session_order(node: lg.Over) -> bool:
    """Ordered by the window_start of a SESSION window aggregate's rows: they
    enter as their sessions fire (codegen checks the partition)."""
    tvf = lg.window_below(node.input)
    order = node.calls[0].order_by
    return (tvf is not None and tvf.kind == "SESSION" and bool(order)
            and isinstance(order[0].expr, lg.ColumnRef) and order[0].expr.name == "window_start")


def _over_state(node: lg.Over) -> str:
    frames = ", ".join(dict.fromkeys(_frame_text(c) for c in node.calls))
    if _session_order(node):
        return f"per key {frames}"
    return f"rows until the watermark passes them, then per key {frames}"


def _over_fires(node: lg.Over) -> str:
    if _session_order(node):
        return "each row as its session fires (a key's sessions fire in start order)"
    return "each row once the watermark passes its time, in event-time order"


def _window_state(agg: lg.Aggregate) -> tuple[str, str]:
    assert agg.window is not None
    window = agg.window
    delay = f" + {format_ms(agg.emit_delay_ms)}" if agg.emit_delay_ms else ""
    if window.kind == "SESSION":
        state = "per key: open sessions and their accumulators; freed when a session fires"
        fires = f"session end{delay} <= watermark"
    elif window.kind == "HOP":
        panes = (window.size_ms or 0) // (window.slide_ms or 1)
        state = (f"per key and {format_ms(window.slide_ms)} pane: accumulators, shared by "
                 f"{panes} windows; freed when the last window using a pane fires")
        fires = f"window_end - 1 ms{delay} <= watermark"
    else:
        state = "per key and window: accumulators; freed when the window fires"
        fires = f"window_end - 1 ms{delay} <= watermark"
    if agg.emit == "CHANGES":
        fires = "every micro-batch that changes a window (retracting the previous row); " \
                f"final when {fires}"
    return state, fires


def selects_only(node: lg.LogicalNode) -> bool:
    """A projection that keeps some of its input's columns, by their names, and
    filters nothing: what reads its output by name can read its input instead."""
    if not isinstance(node, (lg.Calc, lg.Project)) or getattr(node, "condition", None) is not None:
        return False
    schema = node.input.schema
    return all(isinstance(e, lg.ColumnRef) and name == schema[e.index].name
               for e, name in zip(node.exprs, node.names))


def plan_physical(node: lg.LogicalNode) -> Exec:
    """The physical operator tree of an optimized logical plan."""
    span = getattr(node, "span", NO_SPAN)
    if isinstance(node, lg.Scan):
        state = "watermark per partition" if node.watermark is not None else ""
        return SourceExec(node, (), state, "", span)
    if isinstance(node, (lg.Calc, lg.Filter, lg.Project)):
        return CalcExec(node, (plan_physical(node.input),), span=span)
    if isinstance(node, lg.Aggregate):
        if node.window is not None:
            tvf = node.window
            # the TVF is fused into the aggregate: assign windows while aggregating
            below = node.input
            if below is tvf:
                child = plan_physical(tvf.input)
            else:
                child = plan_physical(below)
            state, fires = _window_state(node)
            return WindowAggregateExec(node, (child,), state, fires, span)
        ttl = lg.state_ttl_ms(node.input)
        kept = ("kept until the key is retracted (no TTL)" if ttl is None
                else f"a key is forgotten {format_ms(ttl)} after its last row ('state.ttl')")
        return GroupAggregateExec(node, (plan_physical(node.input),), f"per key: accumulators, {kept}",
                                  "every micro-batch that changes a key", span)
    if isinstance(node, lg.WindowTVF) and node.kind == "SESSION":
        return SessionWindowRowsExec(node, (plan_physical(node.input),),
                                     "rows of each open session, per partition",
                                     "a session's rows when the watermark passes its end", span)
    if isinstance(node, lg.WindowTVF):
        return WindowTableFunctionExec(node, (plan_physical(node.input),), "", "", span)
    if isinstance(node, lg.Join):
        children = (plan_physical(node.left), plan_physical(node.right))
        if node.lookup:
            return LookupJoinExec(node, children, _lookup_state(node.right), "per input row",
                                  span)
        if node.temporal is not None:
            return TemporalJoinExec(
                node, children,
                "stream rows until the watermark passes them; the versions they can join",
                "each stream row once the watermark passes its time", span)
        if node.interval is not None:
            _, _, lo, hi = node.interval
            return IntervalJoinExec(
                node, children,
                f"rows of each side, freed once the watermark passes their bound "
                f"({format_ms(lo)} .. {format_ms(hi)})",
                "per matching pair; unmatched outer rows when the watermark passes the bound",
                span,
            )
        ttl = [lg.state_ttl_ms(side) for side in (node.left, node.right)]
        if ttl == [None, None]:
            state = "all rows of both sides (no TTL)"
        else:
            kept = ["for ever" if t is None else f"{format_ms(t)} after its last write" for t in ttl]
            state = f"all rows of both sides: left kept {kept[0]}, right {kept[1]} ('state.ttl')"
        return JoinExec(node, children, state, "per matching pair, retracting NULL-padded rows",
                        span)
    if isinstance(node, lg.Over):
        return OverAggregateExec(node, (plan_physical(node.input),), _over_state(node),
                                 _over_fires(node), span)
    if isinstance(node, lg.TopN) and lg.dedup_keep(node) is not None:
        ttl = lg.state_ttl_ms(node.input)
        kept = ("no TTL" if ttl is None
                else f"a key is forgotten {format_ms(ttl)} after its last row ('state.ttl')")
        if lg.dedup_keep(node) == "first":
            return DeduplicateExec(node, (plan_physical(node.input),),
                                   "per key: its first row until the watermark passes it, then "
                                   f"that the key was seen ({kept})",
                                   "each key's first row once the watermark passes its time", span)
        return DeduplicateExec(node, (plan_physical(node.input),),
                               f"per key: its last row ({kept})", "every micro-batch that "
                               "brings a key a row at the same or a later time", span)
    if isinstance(node, lg.TopN):
        rank = WindowRankExec if node.window else RankExec
        state = (f"per window and partition: the top {node.limit} rows; freed when the "
                 "window fires"
                 if node.window else f"per partition: the top {node.limit} rows"
                 if lg.changelog(node.input) == "I" else
                 "per partition: every row not taken back (a retraction lets the next one in)")
        fires = "window_end - 1 ms <= watermark" if node.window else ""
        return rank(node, (plan_physical(node.input),), state, fires, span)
    if isinstance(node, lg.Match):
        return MatchExec(node, (plan_physical(node.input),),
                         "per partition: rows of partial matches, freed by the watermark",
                         "per completed match", span)
    if isinstance(node, lg.Unnest):
        return CorrelateExec(node, (plan_physical(node.input),), span=span)
    if isinstance(node, lg.Union):
        return UnionExec(node, tuple(plan_physical(i) for i in node.inputs_), span=span)
    if isinstance(node, lg.Sort):
        return TemporalSortExec(node, (plan_physical(node.input),),
                                "rows until the watermark passes their time",
                                "rows in event-time order", span)
    if isinstance(node, lg.Limit):
        return LimitExec(node, (plan_physical(node.input),),
                         (f"the number of rows seen; the first {node.count} go on"
                          if node.count is not None else "the number of rows seen; all go on")
                         + (f" after {node.offset}" if node.offset else ""), "", span)
    if isinstance(node, lg.Sink):
        # a sink picks its columns by name: a Calc that only selects them is no step
        below = node.input.input if selects_only(node.input) else node.input  # type: ignore
        return SinkExec(node, (plan_physical(below),), span=span)
    raise TypeError(f"no physical operator for {type(node).__name__}")


def physical_attrs(exec_: Exec) -> list[tuple[str, str]]:
    node = exec_.logical
    if isinstance(exec_, WindowAggregateExec):
        assert exec_.logical.window is not None
        attrs = [("window", window_text(exec_.logical.window))]
        attrs += [a for a in logical_attrs(node) if a[0] != "window"]
    else:
        attrs = logical_attrs(node)
    if isinstance(exec_, DeduplicateExec):
        keep = lg.dedup_keep(exec_.logical)  # type: ignore[arg-type]
        attrs.insert(0, ("keep", "FirstRow" if keep == "first" else "LastRow"))
    if isinstance(node, lg.Scan):
        connector = dict(node.properties).get("connector", "")
        attrs.insert(1, ("connector", connector))
    if exec_.state:
        attrs.append(("state", exec_.state))
    if exec_.fires:
        attrs.append(("fires", exec_.fires))
    attrs.append(("changelog", exec_.changelog))
    return attrs


def explain_physical(root: Exec) -> str:
    lines: list[str] = []

    def visit(e: Exec, depth: int) -> None:
        body = ", ".join(f"{k}=[{v}]" for k, v in physical_attrs(e))
        lines.append(f"{'  ' * depth}{e.name}: {body}")
        for child in e.inputs:
            visit(child, depth + 1)

    visit(root, 0)
    return "\n".join(lines)


def walk(root: Exec):
    yield root
    for child in root.inputs:
        yield from walk(child)

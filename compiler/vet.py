"""``sqlc vet``: lint rules for streaming mistakes that compile and run but
hurt in production. Each rule has an id, a positioned warning (``file:line:col``
with the fragment underlined) and a hint; a query file opts out of a rule with
a comment line ``-- sqlc-vet: ignore SV001`` (ids or names, comma-separated).

=====  ====================  ===================================================
SV001  unbounded-state       a regular join, or a GROUP BY without a window,
                             whose inputs set no ``'state.ttl'``: state grows
                             with the number of keys for ever
SV002  global-session        a SESSION window without PARTITION BY, grouped by
                             a key: one key's events keep every key's session open
SV003  processing-time-window  a window over PROCTIME() where the source has
                             an event-time watermark: results depend on when
                             the pipeline runs
SV004  select-star-sink      ``INSERT INTO ... SELECT *``: a new column upstream
                             changes what the sink receives
SV005  lookup-without-cache  a lookup join against an external store without
                             ``'lookup.cache.max-rows'``: one query per row
SV006  no-idle-timeout       a Kafka source with a watermark and no
                             ``'scan.watermark.idle-timeout'`` feeding a window,
                             interval join, OVER or ORDER BY: an empty
                             partition holds them all back
=====  ====================  ===================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compiler import ast
from compiler import logical as lg
from compiler import physical as ph
from compiler.errors import Diagnostic, Source, Span


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    hint: str


RULES = {r.id: r for r in (
    Rule("SV001", "unbounded-state",
         "set 'state.ttl' on the streams (e.g. '1 d'), or bound the join in time / window "
         "the GROUP BY so the watermark frees the state"),
    Rule("SV002", "global-session",
         "SESSION(TABLE t PARTITION BY key, ...) gives each key its own sessions"),
    Rule("SV003", "processing-time-window",
         "window over the event-time column (DESCRIPTOR(event_time)) for results that do "
         "not depend on when the pipeline runs"),
    Rule("SV004", "select-star-sink", "list the columns the sink expects"),
    Rule("SV005", "lookup-without-cache",
         "set 'lookup.cache.max-rows' (and 'lookup.cache.ttl') on the table"),
    Rule("SV006", "no-idle-timeout",
         "set 'scan.watermark.idle-timeout' (e.g. '30 s') if the topic has several partitions"),
)}

_TIMED = (ph.WindowAggregateExec, ph.IntervalJoinExec, ph.OverAggregateExec,
          ph.TemporalSortExec, ph.TemporalJoinExec)
_IGNORE = re.compile(r"--\s*sqlc-vet:\s*ignore\s+([\w\-, ]+)", re.IGNORECASE)


def ignored(source: Source) -> set[str]:
    """The rule ids a file opts out of (by id or name)."""
    names = {r.name: r.id for r in RULES.values()}
    out = set()
    for match in _IGNORE.finditer(source.text):
        for item in re.split(r"[,\s]+", match.group(1).strip()):
            out.add(names.get(item.lower(), item.upper()))
    return out


def vet(source: Source, queries: list, roots: list[ph.Exec]) -> list[Diagnostic]:
    """The warnings of a compiled file (``queries``: the analyzed queries,
    ``roots``: their physical plans), in source order, opt-outs removed."""
    found: list[tuple[str, str, Span]] = []
    for query, root in zip(queries, roots):
        found += _star_into_sink(query)
        # an idle partition matters only where the watermark fires something
        timed = any(isinstance(e, _TIMED) for e in ph.walk(root))
        for e in ph.walk(root):
            found += [f for f in _check(e) if timed or f[0] != "SV006"]
    skip = ignored(source)
    seen = set()
    out = []
    for rule_id, message, span in sorted(found, key=lambda f: (f[2].start, f[0])):
        if rule_id in skip or (rule_id, span.start, message) in seen:
            continue
        seen.add((rule_id, span.start, message))
        rule = RULES[rule_id]
        out.append(Diagnostic(rule_id, f"{rule_id} {rule.name}: {message}", span,
                              severity="warning", hint=rule.hint))
    return out


def _check(e: ph.Exec) -> list[tuple[str, str, Span]]:
    node = e.logical
    if isinstance(e, ph.JoinExec):
        ttl = [lg.state_ttl_ms(side) for side in (node.left, node.right)]
        if None in ttl:
            return [("SV001", "this regular join keeps every row of "
                     + ("both inputs" if ttl == [None, None] else "one input")
                     + " in state for ever", e.span)]
    if isinstance(e, ph.GroupAggregateExec) and lg.state_ttl_ms(node.input) is None:
        return [("SV001", ("this GROUP BY without a window keeps every key's accumulators "
                 "for ever"), e.span)]
    if isinstance(e, ph.WindowAggregateExec):
        return _window(e)
    if isinstance(e, ph.LookupJoinExec):
        table = node.right
        props = dict(table.properties) if isinstance(table, lg.Scan) else {}
        store = props.get("connector") not in ("kafka", "upsert-kafka", "file", "filesystem")
        if store and "changelog.op-field" not in props and int(
                props.get("lookup.cache.max-rows", "0") or 0) == 0:
            return [("SV005", (f"each row of the stream queries {props.get('connector')} "
                     f"table {table.source} (no lookup cache)"), e.span)]
    if isinstance(e, ph.SourceExec) and node.watermark is not None:
        props = dict(node.properties)
        if props.get("connector") == "kafka" and "scan.watermark.idle-timeout" not in props:
            return [("SV006", (f"Kafka source {node.source} has a watermark but no idle "
                     "timeout"), e.span)]
    return []


def _window(e: ph.WindowAggregateExec) -> list[tuple[str, str, Span]]:
    node = e.logical
    window = node.window
    assert window is not None
    out = []
    window_columns = {"window_start", "window_end", "window_time"}
    keys = [n for n in node.key_names if n not in window_columns]
    if window.kind == "SESSION" and not window.partition_by and keys:
        out.append(("SV002", (f"a global SESSION window grouped by {', '.join(keys)}: the "
                    "sessions are over all keys' events"), e.span))
    time = window.input.schema[window.time_column]
    if time.type.time_attribute == "PROCTIME" and any(
            isinstance(s, ph.SourceExec) and s.logical.watermark is not None
            for s in ph.walk(e)):
        out.append(("SV003", (f"the window is over processing time ({time.name}) although "
                    "the source has event time"), e.span))
    return out


def _star_into_sink(query) -> list[tuple[str, str, Span]]:
    statement = query.statement
    if not isinstance(statement, ast.Insert):
        return []
    select = statement.query
    while isinstance(select, ast.SetOp):
        select = select.left
    stars = [item for item in select.items if isinstance(item.expr, ast.Star)]
    return [("SV004", f"INSERT INTO {statement.target} SELECT *", item.span or statement.span)
            for item in stars]
